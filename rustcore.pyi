"""edxbench measurement core: compiled CMAP kernels (Rust, PyO3).

Sweep convention: sample ``i`` lies at ``t = t0 + i / sample_rate`` seconds, ``t = 0`` is
the stimulus and ``t0 < 0`` means pre-stimulus baseline was captured. Values are volts at
the recording electrodes. A CMAP is negative first: its negative peak is the minimum.
Everything is SI in and out (s, V, V·s, Hz).

Definitions (the same for ``measure_sweep`` and every row of ``measure_batch``):

- baseline: mean of the samples with ``t < baseline_end``; noise: their population
  standard deviation (ddof=0). At least 8 such samples are required (``ValueError``).
  Both are summed in float64 in 8 interleaved lanes (lane j takes samples j, j+8, …;
  lanes combine as ((0+1)+(2+3))+((4+5)+(6+7))), so the result is reproducible bit for bit.
- search window: the samples with ``t >= search_start`` (skips the stimulus artefact).
- deviation of a sample: ``baseline - x`` (positive below the baseline).
- negative peak: the first minimum in the search window. ``neg_amplitude = baseline - min``
  (positive for a negative peak); ``neg_peak_latency`` is its time.
- positive peak: the first maximum after the negative peak (to the end of the sweep);
  ``p2p_amplitude = max - min``; ``pos_peak_latency`` its time. NaN when the negative peak
  is the last sample.
- onset: threshold ``thr = max(onset_k * noise, onset_frac * neg_amplitude)``. Walking back
  from the negative peak, the last sample (not before the search start) whose deviation
  is below ``thr``; the onset is the linear interpolation between it and the next sample
  where the deviation crosses ``thr`` (sub-sample, seconds).
- return to baseline: the first sample after the negative peak whose deviation is
  ``<= 0``, interpolated linearly to the zero crossing. ``neg_duration = return - onset``.
- ``neg_area``: integral of the deviation from onset to return (V·s), trapezoidal on the
  samples; the partial first and last intervals are the exact trapezoids of the linear
  interpolant (deviation ``thr`` at the onset, 0 at the return).

Flags (bit set, ``flags == 0`` ⇔ ``acceptable``); a value that cannot be measured is NaN:

- ``FLAG_LOW_SNR``: ``neg_amplitude < min_snr * noise``. Values are still measured.
- ``FLAG_ONSET_AT_WINDOW_START``: the deviation never falls below ``thr`` between the
  search start and the peak: onset, duration and area are NaN.
- ``FLAG_NO_RETURN``: never back to baseline after the peak: duration and area NaN.
- ``FLAG_NON_FINITE``: the sweep holds NaN or ±inf anywhere: every value is NaN.
- ``FLAG_NO_ONSET``: the negative peak does not reach ``thr`` or is not below the baseline:
  onset, duration and area NaN (the return is not searched when the peak is at or above
  the baseline).

Input arrays must be NumPy arrays of native-endian float32 or float64 (``TypeError``
otherwise, also for the wrong number of dimensions). float32 is read as float32 and all
measures are computed in float64, so float32 data and the same values as float64 give
identical results. Non-contiguous (strided, Fortran-order) arrays are accepted and copied
to C order first; pass C-contiguous arrays to avoid the copy.

Bad parameters (non-finite or non-positive ``sample_rate``, ``onset_frac`` outside [0, 1],
negative ``onset_k`` or ``min_snr``, fewer than 8 baseline samples, an empty search
window) raise ``ValueError``. A failure inside a kernel raises ``RustcoreError`` (an
``Exception``), never a ``BaseException``.
"""

from typing import Final, TypedDict

import numpy as np
import numpy.typing as npt

__version__: Final[str]

FLAG_LOW_SNR: Final[int]
FLAG_ONSET_AT_WINDOW_START: Final[int]
FLAG_NO_RETURN: Final[int]
FLAG_NON_FINITE: Final[int]
FLAG_NO_ONSET: Final[int]

class RustcoreError(Exception):
    """An internal failure inside a kernel (a bug, not bad input)."""

class SweepMeasures(TypedDict):
    """Measures of one sweep (SI). NaN where not measurable; ``flags`` says why."""

    baseline: float  # V
    noise: float  # V
    onset: float  # s
    neg_peak_latency: float  # s
    neg_amplitude: float  # V
    pos_peak_latency: float  # s
    p2p_amplitude: float  # V
    neg_duration: float  # s
    neg_area: float  # V·s
    flags: int
    acceptable: bool

class BatchMeasures(TypedDict):
    """Column per measure, one entry per row: float64 arrays, uint32 flags, bool acceptable."""

    baseline: npt.NDArray[np.float64]
    noise: npt.NDArray[np.float64]
    onset: npt.NDArray[np.float64]
    neg_peak_latency: npt.NDArray[np.float64]
    neg_amplitude: npt.NDArray[np.float64]
    pos_peak_latency: npt.NDArray[np.float64]
    p2p_amplitude: npt.NDArray[np.float64]
    neg_duration: npt.NDArray[np.float64]
    neg_area: npt.NDArray[np.float64]
    flags: npt.NDArray[np.uint32]
    acceptable: npt.NDArray[np.bool_]

def measure_sweep(
    sweep: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    t0: float,
    *,
    search_start: float = 0.001,
    baseline_end: float = 0.0,
    onset_k: float = 4.0,
    onset_frac: float = 0.01,
    min_snr: float = 3.0,
) -> SweepMeasures:
    """Measure one CMAP sweep (1-D array) as defined in the module docstring."""

def measure_batch(
    sweeps: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    t0: float,
    *,
    search_start: float = 0.001,
    baseline_end: float = 0.0,
    onset_k: float = 4.0,
    onset_frac: float = 0.01,
    min_snr: float = 3.0,
) -> BatchMeasures:
    """Measure every row of a 2-D array (one sweep per row) into columns.

    Row ``r`` gives exactly what ``measure_sweep(sweeps[r], ...)`` gives. Rows run in
    parallel on ``batch_threads()`` workers with the GIL released.
    """

def batch_threads() -> int:
    """Worker threads of ``measure_batch``: all cores but one (kept for the UI), at least 1."""
