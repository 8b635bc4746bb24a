"""Bench instruments: VISA transport, one driver per family, bench profiles, and the
simulated bench with its virtual subjects (`instruments.sim`).

Entry point for the engine: `instruments.bench.open_bench`. Only
`instruments.transport` imports PyVISA.
"""
