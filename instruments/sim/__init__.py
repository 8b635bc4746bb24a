"""The simulated bench: real SCPI over loopback sockets, and virtual subjects."""

from instruments.sim.bench import SimBench
from instruments.sim.signal_chain import SimSettings

__all__ = ["SimBench", "SimSettings"]
