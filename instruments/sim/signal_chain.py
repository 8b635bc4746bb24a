"""What the scope sees besides the nerve: stimulus artefact, mains hum, amplifier noise.

All amplitudes are at the recording electrodes (input-referred); the amplifier
gain then scales everything into the scope input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SimSettings:
    amplifier_gain: float = 1000.0
    noise_uV_rms: float = 4.0
    hum_uV: float = 8.0
    mains_hz: float = 50.0
    artefact_uV_per_mA: float = 40.0
    artefact_tail_fraction: float = 0.3
    artefact_decay_ms: float = 0.25
    stimulator_mA_per_volt: float = 10.0
    stimulator_ceiling_mA: float = 100.0


def artefact(t: np.ndarray, current_mA: float, pulse_width_ms: float, s: SimSettings) -> np.ndarray:
    """Square artefact during the pulse, then an exponential tail (electrode polarisation)."""
    peak = s.artefact_uV_per_mA * 1e-6 * current_mA
    width = pulse_width_ms * 1e-3
    tau = max(s.artefact_decay_ms * 1e-3, 1e-7)
    out = np.zeros_like(t)
    during = (t >= 0.0) & (t < width)
    after = t >= width
    out[during] = peak
    out[after] = peak * s.artefact_tail_fraction * np.exp(-(t[after] - width) / tau)
    return out


def interference(t: np.ndarray, s: SimSettings, rng: np.random.Generator) -> np.ndarray:
    """Mains hum at a random phase (not locked to the stimulus) plus white noise."""
    phase = rng.uniform(0.0, 2.0 * np.pi)
    hum = s.hum_uV * 1e-6 * np.sin(2.0 * np.pi * s.mains_hz * t + phase)
    return hum + rng.normal(0.0, s.noise_uV_rms * 1e-6, t.shape)
