"""The simulated bench fixture: what an engineer plugs in to validate the bench.

In place of a subject the fixture offers one of:

- ``load``: a test resistor across the stimulator output, with a scope probe across it
  (scope channel 2, not through the amplifier): volts = current × resistance;
- ``delay``: a delay line that returns a pulse to the amplifier a known time after the
  stimulus (latency timing of the whole chain, onset kernel included);
- ``calibrator``: the amplifier's calibration square wave of known amplitude (gain);
- ``shorted``: the amplifier inputs shorted together (its own noise floor);
- ``dummy``: dummy electrodes, which pick up mains and noise as a recording would.

Tests inject miscalibrations (`MISCALIBRATIONS`) so that a bench check can be seen to
fail. Nothing here is a reference value: the nominal properties come from the bench-check
protocol that connects the fixture; the defaults below only describe the simulated
hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from instruments.sim.scpi_instrument import Command
from instruments.sim.scpi_syntax import ScpiError, number, quoted, string
from instruments.sim.signal_chain import SimSettings, interference

MODES = ("load", "delay", "calibrator", "shorted", "dummy")
PROBE_CHANNEL = 2  # the scope probe across the test load
AMPLIFIER_CHANNEL = 1  # the amplifier output (electrodes × gain)
# The simulated amplifier's own input noise with shorted inputs (no electrode noise); the
# profile's noise_uV_rms describes a recording with electrodes on skin.
SHORTED_NOISE_UV_RMS = 1.5
PROBE_NOISE_V_RMS = 2e-3  # scope front-end noise on the probe channel

# name → (neutral value, lower, upper): what a test may put out of calibration
MISCALIBRATIONS: dict[str, tuple[float, float, float]] = {
    "current_scale": (1.0, 0.1, 10.0),  # delivered current / requested
    "width_offset_ms": (0.0, -0.5, 1.0),  # delivered pulse width − requested
    "gain_scale": (1.0, 0.1, 10.0),  # true amplifier gain / the profile's gain
    "delay_offset_ms": (0.0, -5.0, 50.0),  # true delay − the delay line's nominal
    "noise_uV_rms": (SHORTED_NOISE_UV_RMS, 0.0, 1000.0),  # shorted-input noise
    "hum_uV": (-1.0, 0.0, 10_000.0),  # mains pickup amplitude (−1: the profile's)
}


@dataclass
class BenchFixture:
    """State of the simulated fixture; `scope_volts` is what the scope channels see."""

    mode: str = ""  # "" = not connected (the virtual subject is on the bench)
    params: dict[str, float] = field(default_factory=dict)
    miscal: dict[str, float] = field(
        default_factory=lambda: {k: v[0] for k, v in MISCALIBRATIONS.items()})

    @property
    def connected(self) -> bool:
        return bool(self.mode)

    def connect(self, mode: str, params: dict[str, float]) -> None:
        if mode not in MODES:
            raise ValueError(f"fixture mode {mode!r}; known: {', '.join(MODES)}")
        self.mode, self.params = mode, dict(params)

    def disconnect(self) -> None:
        self.mode, self.params = "", {}

    def scope_volts(self, channel: int, t: np.ndarray, current_mA: float,
                    pulse_width_ms: float, settings: SimSettings,
                    rng: np.random.Generator) -> np.ndarray:
        """Volts at scope `channel` at times `t` (s after the stimulus; 0 mA: free run)."""
        m = self.miscal
        current = current_mA * m["current_scale"]
        width = max(0.0, (pulse_width_ms + m["width_offset_ms"]) * 1e-3)
        if channel == PROBE_CHANNEL:
            if self.mode != "load":
                return rng.normal(0.0, PROBE_NOISE_V_RMS, t.shape)
            volts = np.where((t >= 0.0) & (t < width), current * 1e-3 * self.params["ohm"], 0.0)
            return volts + rng.normal(0.0, PROBE_NOISE_V_RMS, t.shape)
        if channel != AMPLIFIER_CHANNEL:
            return np.zeros_like(t)
        electrodes = rng.normal(0.0, m["noise_uV_rms"] * 1e-6, t.shape)
        if self.mode == "delay" and current:
            start = (self.params["delay_ms"] + m["delay_offset_ms"]) * 1e-3
            electrodes -= np.where((t >= start) & (t < start + max(width, 1e-5)),
                                   self.params["amplitude_uV"] * 1e-6, 0.0)
        elif self.mode == "calibrator":
            phase = rng.uniform(0.0, 1.0)
            high = ((t * self.params["hz"] + phase) % 1.0) < 0.5
            electrodes += np.where(high, 0.5, -0.5) * self.params["amplitude_uV"] * 1e-6
        elif self.mode == "dummy":
            hum = settings.hum_uV if m["hum_uV"] < 0 else m["hum_uV"]
            electrodes = interference(t, replace(settings, hum_uV=hum), rng)
        return electrodes * settings.amplifier_gain * m["gain_scale"]


# mode → its parameters, in the order the connect command takes them: (name, min, max)
PARAMETERS: dict[str, tuple[tuple[str, float, float], ...]] = {
    "load": (("ohm", 1.0, 1e6),),
    "delay": (("delay_ms", 0.0, 500.0), ("amplitude_uV", 1.0, 1e6)),
    "calibrator": (("amplitude_uV", 1.0, 1e6), ("hz", 0.1, 10_000.0)),
    "shorted": (),
    "dummy": (),
}

Handler = Callable[[list[str], list[int]], None]


def fixture_commands(fixture: BenchFixture) -> list[Command]:
    """SCPI for the subject link: `FIXTure:CONNect "mode"[,params]`, `FIXTure:DISConnect`,
    `FIXTure:MISCal "name",value`, `FIXTure:MISCal:CLEar`, `FIXTure:CONNect?`."""

    def connect(p: list[str], s: list[int]) -> None:
        if not p:
            raise ScpiError(-109)
        mode = string(p[0]).lower()
        if mode not in PARAMETERS:
            raise ScpiError(-224, f"fixture mode {mode}")
        spec = PARAMETERS[mode]
        if len(p) - 1 != len(spec):
            raise ScpiError(-109 if len(p) - 1 < len(spec) else -108)
        fixture.connect(mode, {name: number(raw, minimum=lo, maximum=hi)
                               for (name, lo, hi), raw in zip(spec, p[1:], strict=True)})

    def miscalibrate(p: list[str], s: list[int]) -> None:
        if len(p) != 2:
            raise ScpiError(-109 if len(p) < 2 else -108)
        name = string(p[0])
        if name not in MISCALIBRATIONS:
            raise ScpiError(-224, f"miscalibration {name}")
        _, lo, hi = MISCALIBRATIONS[name]
        fixture.miscal[name] = number(p[1], minimum=lo, maximum=hi)

    def clear(p: list[str], s: list[int]) -> None:
        fixture.miscal = {k: v[0] for k, v in MISCALIBRATIONS.items()}

    return [
        Command("FIXTure:CONNect", connect, lambda p, s: quoted(fixture.mode)),
        Command("FIXTure:DISConnect", lambda p, s: fixture.disconnect()),
        Command("FIXTure:MISCal", miscalibrate),
        Command("FIXTure:MISCal:CLEar", clear),
    ]
