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
  ``p2p_amplitude = max - min``; ``pos_amplitude = max - baseline``; ``pos_peak_latency``
  its time. NaN when the negative peak is the last sample.
- onset: detected by a threshold, placed where the response leaves the baseline.
  Threshold ``thr = max(onset_k * noise, onset_frac * neg_amplitude)``: walking back from
  the negative peak, the last sample ``j`` (not before the search start) whose deviation is
  below ``thr``; the deviation crosses ``thr`` at ``t_thr`` (linear interpolation between
  ``j`` and ``j + 1``). A response that never crosses ``thr`` has no onset. The crossing
  reads late by the time the response takes to rise to ``thr``, so from ``j`` the search
  walks back along the deflection to the last sample ``i`` whose deviation is within the
  band ``band = min(max(1.5 * noise, thr / 4), thr / 2)`` (no further back than ``j`` lies
  before the negative peak, and not before the search start), takes the band crossing
  ``t_band`` between ``i`` and ``i + 1``, and extrapolates the rising edge, the line through
  ``(t_band, band)`` and ``(t_thr, thr)``, back to deviation 0:
  ``onset = max(t_band - band * (t_thr - t_band) / (thr - band), t(search start))``
  (``t_band`` itself when ``band == 0``). Without a band sample within that reach the
  onset is ``t_thr``. Seconds, sub-sample.
- return to baseline: the first sample after the negative peak whose deviation is
  ``<= 0``, interpolated linearly to the zero crossing. ``neg_duration = return - onset``.
- ``neg_area``: integral of the deviation from onset to return (V·s) on its linear
  interpolant between samples (trapezoidal on the samples; the partial first and last
  intervals are exact trapezoids from the interpolant's value at the onset and to 0 at the
  return). ``engine.remeasure`` uses the same definition for a moved onset marker.
- total duration and area: when the positive peak lies at or after the return and rises
  at least ``thr`` above the baseline, the response ends where the signal first comes
  back to the baseline after the positive peak (interpolated); ``total_duration = end -
  onset`` and ``total_area = neg_area +`` the trapezoidal integral of ``|deviation|``
  from the return to the end (NaN when it never comes back). Without such a positive
  phase the totals equal the negative-phase values.
- SNAPs (antidromic, negative first) use the same definitions: onset latency
  ``onset``, peak latency ``neg_peak_latency``, baseline-to-peak amplitude
  ``neg_amplitude``, peak-to-peak amplitude ``p2p_amplitude``. For a positive-first
  (orthodromic) SNAP pass ``-sweep``.

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
to C order first (``measure_batch`` copies one chunk of rows at a time, so its memory
stays a few MB above the input); pass C-contiguous arrays to avoid the copy.

Bad parameters (non-finite or non-positive ``sample_rate``, ``onset_frac`` outside [0, 1],
negative ``onset_k`` or ``min_snr``, fewer than 8 baseline samples, an empty search
window) raise ``ValueError``. A failure inside a kernel raises ``RustcoreError`` (an
``Exception``), never a ``BaseException``.
"""

from typing import Final, TypedDict, TypeVar

import numpy as np
import numpy.typing as npt

_Samples = TypeVar("_Samples", npt.NDArray[np.float32], npt.NDArray[np.float64])

__version__: Final[str]

FLAG_LOW_SNR: Final[int]
FLAG_ONSET_AT_WINDOW_START: Final[int]
FLAG_NO_RETURN: Final[int]
FLAG_NON_FINITE: Final[int]
FLAG_NO_ONSET: Final[int]

class RustcoreError(Exception):
    """An internal failure inside a kernel (a bug, not bad input)."""

class Cancelled(Exception):
    """A long batch stopped early because its ``Progress`` was cancelled."""

class Progress:
    """Progress and cancellation of one long call (``measure_batch``, ``sos_filter``).

    Create one, pass it as ``progress=``, poll it from another thread (plain atomics: no
    callback ever runs on a worker), call ``cancel()`` to stop the call at its next chunk.
    """

    def __init__(self) -> None: ...
    def cancel(self) -> None: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def done(self) -> int:
        """Units (rows) finished so far."""
    @property
    def total(self) -> int:
        """Units the running call will do (0 before it starts)."""
    @property
    def fraction(self) -> float:
        """``done / total`` (0.0 before a call starts)."""

class SweepMeasures(TypedDict):
    """Measures of one sweep (SI). NaN where not measurable; ``flags`` says why."""

    baseline: float  # V
    noise: float  # V
    onset: float  # s
    neg_peak_latency: float  # s
    neg_amplitude: float  # V
    pos_peak_latency: float  # s
    pos_amplitude: float  # V
    p2p_amplitude: float  # V
    neg_duration: float  # s
    neg_area: float  # V·s
    total_duration: float  # s
    total_area: float  # V·s
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
    pos_amplitude: npt.NDArray[np.float64]
    p2p_amplitude: npt.NDArray[np.float64]
    neg_duration: npt.NDArray[np.float64]
    neg_area: npt.NDArray[np.float64]
    total_duration: npt.NDArray[np.float64]
    total_area: npt.NDArray[np.float64]
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
    progress: Progress | None = None,
) -> BatchMeasures:
    """Measure every row of a 2-D array (one sweep per row) into columns.

    Row ``r`` gives exactly what ``measure_sweep(sweeps[r], ...)`` gives. Rows run in
    parallel on ``batch_threads()`` workers with the GIL released. With ``progress``,
    rows done are counted there and ``progress.cancel()`` (from another thread) stops
    the batch, which then raises ``Cancelled``.
    """

def batch_threads() -> int:
    """Worker threads of ``measure_batch``: all cores but one (kept for the UI), at least 1."""

# --- averaging ------------------------------------------------------------------------
#
# Rejection rule (the same for both forms): a sweep is rejected when it holds a non-finite
# sample, when max - min over the samples with t >= reject_from (default: every sample)
# exceeds ``max_p2p`` volts, or when the population SD of its baseline samples
# (t < baseline_end) exceeds ``max_noise`` volts. ``inf`` disables a test. Sums in float64.

class AverageResult(TypedDict):
    mean: npt.NDArray[np.float64]  # V, NaN everywhere when nothing was accepted
    accepted: npt.NDArray[np.bool_]  # per row
    n_accepted: int
    n_rejected: int

def average_sweeps(
    sweeps: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    t0: float,
    *,
    baseline_end: float = 0.0,
    reject_from: float | None = None,
    max_p2p: float = ...,
    max_noise: float = ...,
) -> AverageResult:
    """Average the accepted rows of a 2-D block (final average)."""

class RunningAverage:
    """A running average that sweeps join one at a time (live display)."""

    def __init__(
        self,
        length: int,
        sample_rate: float,
        t0: float,
        *,
        baseline_end: float = 0.0,
        reject_from: float | None = None,
        max_p2p: float = ...,
        max_noise: float = ...,
    ) -> None: ...
    def add(self, sweep: npt.NDArray[np.float32] | npt.NDArray[np.float64]) -> bool:
        """Add one sweep; True when it was accepted into the average."""
    @property
    def mean(self) -> npt.NDArray[np.float64]: ...
    @property
    def n_accepted(self) -> int: ...
    @property
    def n_rejected(self) -> int: ...
    def reset(self) -> None: ...

# --- IIR filtering --------------------------------------------------------------------

def sos_filter(
    x: _Samples,
    sos: npt.NDArray[np.float64],
    *,
    zero_phase: bool = False,
    padlen: int | None = None,
    progress: Progress | None = None,
) -> _Samples:
    """Filter along the last axis of a 1-D sweep or a 2-D block (one sweep per row) with
    second-order sections ``sos`` of shape (n, 6), rows ``[b0, b1, b2, a0, a1, a2]`` as
    ``scipy.signal.butter(..., output="sos")`` gives (a notch: ``scipy.signal.tf2sos(
    *scipy.signal.iirnotch(f0, Q, fs))``). Each section is divided by its a0.

    ``zero_phase=False``: ``scipy.signal.sosfilt(sos, x)`` (zero initial state).
    ``zero_phase=True``: ``scipy.signal.sosfiltfilt(sos, x, padlen=padlen)``: odd
    extension of ``padlen`` samples at both ends (SciPy's default when None), steady-state
    initial conditions scaled by the first sample of each pass, forward then backward;
    every sweep must be longer than ``padlen`` (``ValueError``).

    Arithmetic is float64 in SciPy's order (transposed direct form II); the result has the
    input's dtype and shape, bit for bit the float64 recursion rounded to that dtype. 32
    sweeps are filtered side by side in SIMD lanes, groups of them in parallel with the GIL
    released.
    """

# --- series ---------------------------------------------------------------------------
#
# Late responses (F-wave, H-reflex, M-wave in a window): per sweep, baseline and noise are
# the mean and population SD of the samples with t < baseline_end (>= 8 required). Inside
# ``window = (start, end)`` (s, samples with start <= t < end) the response is *present*
# when max - min reaches ``min_amplitude`` (V) and |x - baseline| reaches ``k * noise``;
# its latency is the first such sample, interpolated linearly to the threshold crossing.
# Absent responses have latency NaN. ``amplitude`` is max - min in the window.

class FWaveResult(TypedDict):
    latency: npt.NDArray[np.float64]  # s per sweep, NaN without an F-wave
    amplitude: npt.NDArray[np.float64]  # V peak-to-peak in the window
    present: npt.NDArray[np.bool_]
    min_latency: float  # s
    mean_latency: float  # s
    max_latency: float  # s
    persistence: float  # % of sweeps with an F-wave
    chronodispersion: float  # s, max - min latency

def f_waves(
    sweeps: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    t0: float,
    *,
    window: tuple[float, float],
    baseline_end: float = 0.0,
    k: float = 5.0,
    min_amplitude: float = 20e-6,
) -> FWaveResult:
    """F-waves over a series (typically 10-20 sweeps). ``window`` must start after the
    M-wave has returned to baseline (excluding it)."""

class HReflexResult(TypedDict):
    m_latency: npt.NDArray[np.float64]
    m_amplitude: npt.NDArray[np.float64]
    h_latency: npt.NDArray[np.float64]
    h_amplitude: npt.NDArray[np.float64]
    h_present: npt.NDArray[np.bool_]
    h_m_ratio: npt.NDArray[np.float64]
    h_max: float  # V, largest H amplitude
    h_max_latency: float  # s, latency of that sweep's H (NaN if it is not present)
    m_max: float
    h_max_m_max: float

def h_reflex(
    sweeps: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    t0: float,
    *,
    m_window: tuple[float, float],
    h_window: tuple[float, float],
    baseline_end: float = 0.0,
    k: float = 5.0,
    min_amplitude: float = 20e-6,
) -> HReflexResult:
    """M-wave and H-reflex per sweep (the late-response rule in each window)."""

class RnsResult(TypedDict):
    amplitude: npt.NDArray[np.float64]  # V, neg_amplitude of each response
    area: npt.NDArray[np.float64]  # V·s, neg_area
    flags: npt.NDArray[np.uint32]
    amplitude_change: npt.NDArray[np.float64]  # % vs the first (negative = decrement)
    area_change: npt.NDArray[np.float64]
    decrement_4th: float  # % (first - 4th) / first, NaN with < 4 responses
    decrement_5th: float
    max_decrement: float  # largest decrement over responses 2..n

def repetitive_stimulation(
    sweeps: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    t0: float,
    *,
    search_start: float = 0.001,
    baseline_end: float = 0.0,
    onset_k: float = 4.0,
    onset_frac: float = 0.01,
    min_snr: float = 3.0,
) -> RnsResult:
    """Repetitive nerve stimulation, one response per row, each measured as a CMAP."""

class SiteComparison(TypedDict):
    velocity: float  # m/s = distance / (proximal onset - distal onset); NaN if <= 0
    latency_difference: float  # s
    amplitude_drop: float  # % (1 - proximal/distal) of neg_amplitude (conduction block)
    area_drop: float  # % of neg_area
    duration_increase: float  # % (proximal/distal - 1) of neg_duration (dispersion)
    total_duration_increase: float  # % of total_duration
    distal_flags: int
    proximal_flags: int
    acceptable: bool  # both sweeps acceptable

def compare_sites(
    distal: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    proximal: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    t0: float,
    distance: float,
    *,
    search_start: float = 0.001,
    baseline_end: float = 0.0,
    onset_k: float = 4.0,
    onset_frac: float = 0.01,
    min_snr: float = 3.0,
) -> SiteComparison:
    """Motor conduction velocity, block and temporal dispersion over one segment
    (``distance`` in metres), both sweeps measured with ``measure_sweep``."""

class RecruitmentResult(TypedDict):
    levels: npt.NDArray[np.float64]  # distinct intensities, ascending
    level_mean: npt.NDArray[np.float64]  # mean response per level
    level_count: npt.NDArray[np.int64]
    max_response: float  # largest level mean
    plateau_found: bool  # >= 2 top levels within tolerance of the maximum
    plateau_start: float  # lowest intensity of the plateau (first supramaximal level)
    plateau_amplitude: float  # mean of every response on the plateau
    threshold: float  # lowest level whose mean reaches threshold_fraction × maximum
    half_max_intensity: float  # intensity at half the maximum (linear between levels)

def recruitment_curve(
    intensity: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    response: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    *,
    tolerance: float = 0.1,
    threshold_fraction: float = 0.1,
) -> RecruitmentResult:
    """Stimulus-response (recruitment) curve: the plateau is the run of highest levels
    whose means all lie within ``tolerance`` (fraction) of the largest mean. Non-finite
    pairs are ignored."""

# --- needle EMG -----------------------------------------------------------------------
#
# Detection runs on ``detect`` (a filtered copy of the signal, same length; e.g.
# ``sos_filter(x, butter(2, [500, 5000], "bandpass", fs=fs, output="sos"), zero_phase=True)``)
# or, when None, on the central difference x[i+1] - x[i-1]. Threshold: ``threshold_k`` ×
# the robust SD (median |detect| / 0.6745). Super-threshold samples closer than
# ``dead_time`` form one event, placed at the largest |x - local median| inside it.

class Decomposition(TypedDict):
    n_units: int
    noise: float  # robust SD of the detection signal
    threshold: float
    event_times: npt.NDArray[np.float64]  # s, every detected event
    event_unit: npt.NDArray[np.int64]  # unit index of each event, -1 unassigned
    templates: npt.NDArray[np.float64]  # (n_units, width) V, mean waveform
    template_t0: float  # s, time of templates[:, 0] relative to the aligned peak
    firing_times: list[npt.NDArray[np.float64]]  # s, per unit
    count: npt.NDArray[np.int64]  # firings per unit
    amplitude: npt.NDArray[np.float64]  # V peak-to-peak
    duration: npt.NDArray[np.float64]  # s
    phases: npt.NDArray[np.int64]  # baseline crossings + 1
    turns: npt.NDArray[np.int64]  # direction changes of >= turn_amplitude each side
    area: npt.NDArray[np.float64]  # V·s, integral of |template - baseline| over duration
    firing_rate: npt.NDArray[np.float64]  # Hz, 1 / median ISI (ISIs <= 0.5 s)
    recruitment_frequency: float  # Hz, first unit's rate when the second one starts

def decompose_emg(
    signal: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    *,
    detect: npt.NDArray[np.float64] | None = None,
    threshold_k: float = 5.0,
    dead_time: float = 0.002,
    half_window: float = 0.0125,
    match_half_window: float = 0.003,
    match_tolerance: float = 0.3,
    min_count: int = 3,
    duration_fraction: float = 0.05,
    turn_amplitude: float = 20e-6,
) -> Decomposition:
    """MUAP detection and template clustering into motor units.

    Waveforms (``half_window`` either side of the aligned peak, minus their median) are
    clustered greedily: a waveform joins the nearest running-mean template when the
    residual energy over ±``match_half_window`` is below ``match_tolerance`` × the larger
    energy, else it starts a new cluster. Clusters with fewer than ``min_count`` members
    are dropped, near-duplicates merged, and every event is reassigned to its nearest
    kept template. Per unit (on the mean template): baseline = mean of the outer 2 ms;
    duration from the first to the last sample whose |deviation| exceeds max(
    ``duration_fraction`` × peak-to-peak, 3 × edge SD), walking out from the peak until
    1 ms stays below; phases = baseline crossings (hysteresis half that threshold) + 1.
    Units are ordered by their first firing.
    """

class SpontaneousResult(TypedDict):
    event_times: npt.NDArray[np.float64]
    kind: npt.NDArray[np.uint8]  # 0 other, 1 fibrillation potential, 2 positive sharp wave
    duration: npt.NDArray[np.float64]
    amplitude: npt.NDArray[np.float64]
    n_fibrillations: int
    n_positive_sharp_waves: int
    fibrillation_rate: float  # per second of record
    positive_sharp_wave_rate: float
    noise: float

def spontaneous_activity(
    signal: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    *,
    detect: npt.NDArray[np.float64] | None = None,
    threshold_k: float = 5.0,
    dead_time: float = 0.002,
) -> SpontaneousResult:
    """Spontaneous potentials in a record at rest (positive = positive voltage).
    Fibrillation potential: initial positive phase, duration 0.5-5 ms. Positive sharp
    wave: initial positive phase peaking within 3 ms, then a negative phase at least twice
    as long, total duration > 3 ms, positive peak >= 1.5 × the negative peak (tested
    first). Duration: walking out from the main peak while |x - median| exceeds
    max(10 % of peak-to-peak, 3 × robust noise), stopping after 1 ms below."""

class InterferenceResult(TypedDict):
    turns_per_second: float
    mean_amplitude: float  # V, mean excursion between consecutive turns
    epoch_turns_per_second: npt.NDArray[np.float64]
    epoch_mean_amplitude: npt.NDArray[np.float64]

def interference_pattern(
    signal: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sample_rate: float,
    *,
    turn_amplitude: float = 100e-6,
    epoch: float = 0.5,
) -> InterferenceResult:
    """Interference pattern (Willison): a turn is a direction change with at least
    ``turn_amplitude`` on each side; overall and per ``epoch`` seconds."""
