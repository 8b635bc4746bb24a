"""Manual marker positions on a stored sweep: pure arithmetic, no widgets.

Markers move on the sample grid (t = t0 + i / sample_rate). A moved marker is stored
with `tui.data.StorageSource.save_marker_edit`, which re-measures the trace
(`engine.remeasure`) and writes the edit, the revised values and an audit event.
"""

from __future__ import annotations

import math

import numpy as np

MARKERS = ("onset", "peak")
MARKER_NAMES = {"onset": "onset", "peak": "neg peak"}


def move_on_grid(t: float | None, step: int, n: int, sample_rate: float, t0: float,
                 fallback: float | None = None) -> float:
    """Time of the sample `step` samples from t (snapped to the grid), clipped to the sweep."""
    start = t if t is not None and math.isfinite(t) else fallback
    if start is None or not math.isfinite(start):
        start = t0
    index = round((start - t0) * sample_rate) + step
    index = int(np.clip(index, 0, max(0, n - 1)))
    return t0 + index / sample_rate


def value_at(volts: np.ndarray, t: float, sample_rate: float, t0: float) -> float | None:
    """The signal (V) at time t, interpolated between samples; None off the sweep."""
    n = int(volts.shape[0])
    if n == 0 or not math.isfinite(t):
        return None
    pos = (t - t0) * sample_rate
    if pos < 0 or pos > n - 1:
        return None
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    value = float(volts[lo]) * (1 - frac) + float(volts[hi]) * frac
    return value if math.isfinite(value) else None
