"""One recorded sweep: raw scope codes plus everything needed to turn them into volts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StimulusInfo:
    current_mA: float
    pulse_width_ms: float


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
