"""One recorded sweep: raw scope codes plus everything needed to turn them into volts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StimulusInfo:
    """What produced a sweep. Trains: `train_index` (0-based) and `rate_hz` of the train.
    Continuous (needle) captures: current 0."""

    current_mA: float
    pulse_width_ms: float
    train_index: int = 0
    rate_hz: float | None = None


@dataclass(frozen=True, eq=False)
class Sweep:
    """Sample i lies at t0 + i / sample_rate seconds after the stimulus.

    Volts at the electrodes = codes × scale + offset (the amplifier gain is already
    divided out of `scale` and `offset`). The raw codes are kept so storage can save
    exactly what the instrument sent.
    """

    codes: np.ndarray
    scale: float
    offset: float
    sample_rate: float
    t0: float
    stimulus: StimulusInfo

    @property
    def dtype(self) -> np.dtype:
        return self.codes.dtype

    def volts(self) -> np.ndarray:
        return self.codes.astype(np.float64) * self.scale + self.offset

    def times(self) -> np.ndarray:
        return self.t0 + np.arange(self.codes.size) / self.sample_rate


def average_volts(sweeps: list[Sweep]) -> np.ndarray:
    """Point-by-point mean in volts of sweeps with the same timebase (SNAP averaging)."""
    if not sweeps:
        raise ValueError("nothing to average")
    first = sweeps[0]
    for s in sweeps[1:]:
        if s.codes.size != first.codes.size or s.sample_rate != first.sample_rate or (
                s.t0 != first.t0):
            raise ValueError("sweeps to average must share points, sample rate and t0")
    return np.mean([s.volts() for s in sweeps], axis=0)
