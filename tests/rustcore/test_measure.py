"""rustcore.measure_sweep / measure_batch against the NumPy reference, on synthetic CMAPs
and on arbitrary data, plus the input errors and the batch/dtype agreements.

Tolerances: sample-indexed values (peak latencies) and flags must match exactly;
baseline, noise and amplitudes to 1e-12 relative (the kernel sums in a fixed lane order
the reference replays, so in practice they are bit-identical); onset and duration to
1e-12 s; area to 1e-9 relative (a different summation order)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import rustcore
from tests.rustcore.reference_measure import FLOAT_KEYS, measure_reference, synthetic_cmap

FS = 20_000.0
T0 = -0.005
N = 1000  # -5 ms .. 45 ms

EXACT = ("neg_peak_latency", "pos_peak_latency")
TIGHT = ("baseline", "noise", "neg_amplitude", "pos_amplitude", "p2p_amplitude")
TIMES = ("onset", "neg_duration", "total_duration")


def assert_matches_reference(got: dict, want: dict) -> None:
    assert got["flags"] == want["flags"], (got, want)
    assert got["acceptable"] == want["acceptable"]
    assert set(got) == set(want)
    for key in FLOAT_KEYS:
        g, w = got[key], want[key]
        assert math.isnan(g) == math.isnan(w), (key, g, w)
        if math.isnan(w):
            continue
        if key in EXACT:
            assert g == w, key
        elif key in TIGHT:
            assert g == pytest.approx(w, rel=1e-12, abs=1e-300), key
        elif key in TIMES:
            assert g == pytest.approx(w, rel=0, abs=1e-12), key
        else:
            assert g == pytest.approx(w, rel=1e-9, abs=1e-300), key


def same_values(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


# --- synthetic CMAPs: known onset recovered --------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_known_onset_is_recovered_within_50_us(seed: int, dtype: type) -> None:
    rng = np.random.default_rng(seed)
    onset = rng.uniform(0.002, 0.008)
    x = synthetic_cmap(
        N, FS, T0, onset=onset, amplitude=5e-3, duration=5e-3, noise_sd=5e-6, rng=rng
    ).astype(dtype)
    m = rustcore.measure_sweep(x, FS, T0)
    assert m["flags"] == 0 and m["acceptable"] is True
    assert abs(m["onset"] - onset) < 0.05e-3
    assert m["neg_peak_latency"] == pytest.approx(onset + 2.5e-3, abs=0.1e-3)
    assert m["neg_amplitude"] == pytest.approx(5e-3, rel=0.01)
    assert m["p2p_amplitude"] == pytest.approx(7e-3, rel=0.01)
    assert m["pos_peak_latency"] == pytest.approx(onset + 10e-3, abs=0.3e-3)
    assert m["neg_duration"] == pytest.approx(5e-3, abs=0.1e-3)
    assert m["neg_area"] == pytest.approx(2 * 5e-3 * 5e-3 / math.pi, rel=0.02)
    assert_matches_reference(m, measure_reference(x, FS, T0))


def test_result_types_follow_the_stub() -> None:
    x = synthetic_cmap(N, FS, T0, onset=0.004, amplitude=5e-3, duration=5e-3)
    m = rustcore.measure_sweep(x, FS, T0)
    assert set(m) == {*FLOAT_KEYS, "flags", "acceptable"}
    assert all(type(m[k]) is float for k in FLOAT_KEYS)
    assert type(m["flags"]) is int and type(m["acceptable"]) is bool


def test_noise_drowned_response_is_flagged_low_snr() -> None:
    # The deepest of ~900 Gaussian noise samples already lies ~3.5 SD below the mean, so
    # a response lost in noise needs min_snr above that to be caught.
    rng = np.random.default_rng(7)
    x = synthetic_cmap(
        N, FS, T0, onset=0.004, amplitude=10e-6, duration=5e-3, noise_sd=10e-6, rng=rng
    )
    m = rustcore.measure_sweep(x, FS, T0, min_snr=5.0)
    assert m["flags"] & rustcore.FLAG_LOW_SNR
    assert m["acceptable"] is False
    assert_matches_reference(m, measure_reference(x, FS, T0, min_snr=5.0))


def test_onset_inside_the_artefact_window_is_flagged_not_invented() -> None:
    x = synthetic_cmap(N, FS, T0, onset=0.0005, amplitude=5e-3, duration=5e-3)
    m = rustcore.measure_sweep(x, FS, T0, search_start=0.001)
    assert m["flags"] == rustcore.FLAG_ONSET_AT_WINDOW_START
    assert math.isnan(m["onset"]) and math.isnan(m["neg_area"])
    assert m["neg_amplitude"] == pytest.approx(5e-3)


def test_response_cut_by_the_sweep_end_has_no_return() -> None:
    x = synthetic_cmap(N, FS, T0, onset=0.040, amplitude=5e-3, duration=10e-3)
    m = rustcore.measure_sweep(x, FS, T0)
    assert m["flags"] == rustcore.FLAG_NO_RETURN
    assert not math.isnan(m["onset"]) and math.isnan(m["neg_duration"])


# --- hypothesis cross-check against the reference --------------------------------------


@st.composite
def layouts(draw: st.DrawFn) -> tuple[int, float, float, dict]:
    sample_rate = draw(st.sampled_from([1_000.0, 4_000.0, 10_000.0, 19_200.0, 48_000.0]))
    n_base = draw(st.integers(8, 60))
    n = draw(st.integers(n_base + 2, n_base + 300))
    t0 = -n_base / sample_rate
    last = (n - n_base - 1) / sample_rate  # time of the last sample
    params = {
        "search_start": draw(st.floats(0.0, 0.999 * last)),
        "onset_k": draw(st.sampled_from([0.0, 2.0, 4.0, 5.5])),
        "onset_frac": draw(st.sampled_from([0.0, 0.01, 0.1, 0.5])),
        "min_snr": draw(st.sampled_from([0.0, 3.0, 10.0])),
    }
    return n, sample_rate, t0, params


# ±7.8 mV, exactly representable in float32 (hypothesis insists on that for width=32).
VOLTS = st.floats(-1 / 128, 1 / 128, width=32)
sample_dtypes = st.sampled_from([np.float32, np.float64])


@settings(max_examples=400, deadline=None)
@given(layout=layouts(), dtype=sample_dtypes, data=st.data())
def test_arbitrary_sweeps_match_reference(layout, dtype, data) -> None:
    n, fs, t0, params = layout
    x = data.draw(arrays(dtype, n, elements=VOLTS))
    assert_matches_reference(
        rustcore.measure_sweep(x, fs, t0, **params), measure_reference(x, fs, t0, **params)
    )


@settings(max_examples=300, deadline=None)
@given(layout=layouts(), dtype=sample_dtypes, data=st.data())
def test_quantised_sweeps_with_ties_match_reference(layout, dtype, data) -> None:
    """ADC-like codes: repeated values make ties in the peaks and exact threshold hits."""
    n, fs, t0, params = layout
    codes = data.draw(arrays(np.int16, n, elements=st.integers(-8, 8)))
    x = (codes * 0.25).astype(dtype)
    assert_matches_reference(
        rustcore.measure_sweep(x, fs, t0, **params), measure_reference(x, fs, t0, **params)
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    onset=st.floats(0.0, 0.02),
    amplitude=st.floats(1e-5, 2e-2),
    duration=st.floats(0.5e-3, 15e-3),
    noise_sd=st.sampled_from([0.0, 1e-6, 1e-5, 1e-4]),
    seed=st.integers(0, 2**32 - 1),
    dtype=sample_dtypes,
)
def test_synthetic_cmaps_match_reference(onset, amplitude, duration, noise_sd, seed, dtype):
    x = synthetic_cmap(
        N,
        FS,
        T0,
        onset=onset,
        amplitude=amplitude,
        duration=duration,
        noise_sd=noise_sd,
        rng=np.random.default_rng(seed),
    ).astype(dtype)
    assert_matches_reference(rustcore.measure_sweep(x, FS, T0), measure_reference(x, FS, T0))


# --- float32 vs float64, batch vs single ----------------------------------------------


@settings(max_examples=100, deadline=None)
@given(x=arrays(np.float32, N, elements=VOLTS))
def test_float32_and_the_same_values_as_float64_give_identical_results(x) -> None:
    a = rustcore.measure_sweep(x, FS, T0)
    b = rustcore.measure_sweep(x.astype(np.float64), FS, T0)
    assert all(same_values(a[k], b[k]) for k in FLOAT_KEYS)
    assert a["flags"] == b["flags"]


@pytest.mark.parametrize("seed", range(3))
def test_float32_rounding_changes_measures_only_at_float32_precision(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = synthetic_cmap(
        N, FS, T0, onset=0.004, amplitude=5e-3, duration=5e-3, noise_sd=5e-6, rng=rng
    )
    a = rustcore.measure_sweep(x, FS, T0)
    b = rustcore.measure_sweep(x.astype(np.float32), FS, T0)
    assert a["flags"] == b["flags"] == 0
    for key in ("baseline", "noise"):
        assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-9)
    for key in ("neg_amplitude", "p2p_amplitude", "neg_area"):
        assert b[key] == pytest.approx(a[key], rel=1e-5)
    for key in ("onset", "neg_duration", "neg_peak_latency", "pos_peak_latency"):
        assert b[key] == pytest.approx(a[key], abs=1e-6)


def check_batch_equals_rows(block: np.ndarray, fs: float, t0: float, **params) -> None:
    cols = rustcore.measure_batch(block, fs, t0, **params)
    assert set(cols) == {*FLOAT_KEYS, "flags", "acceptable"}
    for key in FLOAT_KEYS:
        assert cols[key].dtype == np.float64 and cols[key].shape == (block.shape[0],)
    assert cols["flags"].dtype == np.uint32 and cols["acceptable"].dtype == np.bool_
    for r, row in enumerate(block):
        one = rustcore.measure_sweep(row, fs, t0, **params)
        for key in FLOAT_KEYS:
            assert same_values(float(cols[key][r]), one[key]), (r, key)
        assert int(cols["flags"][r]) == one["flags"]
        assert bool(cols["acceptable"][r]) == one["acceptable"]


@settings(max_examples=60, deadline=None)
@given(layout=layouts(), dtype=sample_dtypes, rows=st.integers(0, 12), data=st.data())
def test_batch_rows_equal_single_sweeps(layout, dtype, rows, data) -> None:
    n, fs, t0, params = layout
    block = data.draw(arrays(dtype, (rows, n), elements=VOLTS))
    check_batch_equals_rows(block, fs, t0, **params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_batch_on_the_thread_pool_equals_single_sweeps(dtype: type) -> None:
    rng = np.random.default_rng(3)
    rows = 1500  # several tasks of the pool
    onsets = rng.uniform(0.002, 0.008, rows)
    block = np.stack(
        [
            synthetic_cmap(
                N, FS, T0, onset=o, amplitude=5e-3, duration=5e-3, noise_sd=2e-5, rng=rng
            )
            for o in onsets
        ]
    ).astype(dtype)
    block[5, 300] = np.nan
    check_batch_equals_rows(block, FS, T0)
    cols = rustcore.measure_batch(block, FS, T0)
    assert cols["flags"][5] == rustcore.FLAG_NON_FINITE
    good = np.arange(rows) != 5
    # SNR 250 at 20 kHz (50 µs a sample): the takeoff is unbiased (the old threshold
    # crossing read +24 µs here); a noise sample above the band just before the onset
    # moves it a sample early now and then, hence the looser tail.
    error = cols["onset"][good] - onsets[good]
    assert abs(np.median(error)) < 15e-6
    assert np.median(np.abs(error)) < 15e-6
    assert np.percentile(np.abs(error), 95) < 60e-6
    assert np.all(np.abs(error) < 200e-6)


# --- layouts, strides and errors ------------------------------------------------------


def test_strided_and_fortran_input_is_copied_and_measured_the_same() -> None:
    rng = np.random.default_rng(1)
    block = np.stack(
        [
            synthetic_cmap(
                N, FS, T0, onset=0.004, amplitude=5e-3, duration=5e-3, noise_sd=5e-6, rng=rng
            )
            for _ in range(4)
        ]
    )
    want = rustcore.measure_batch(block, FS, T0)
    got = rustcore.measure_batch(np.asfortranarray(block), FS, T0)
    assert all(np.array_equal(got[k], want[k], equal_nan=True) for k in FLOAT_KEYS)
    wide = np.repeat(block[0], 2)[::2]  # a strided view of the same values
    assert not wide.flags.c_contiguous
    assert rustcore.measure_sweep(wide, FS, T0)["onset"] == want["onset"][0]


def test_long_strided_batch_is_measured_chunk_by_chunk_the_same() -> None:
    """More rows than one copy chunk (1024 per worker): Fortran order and a strided view."""
    rng = np.random.default_rng(2)
    rows = 1024 * rustcore.batch_threads() + 300
    block = rng.normal(0.0, 1e-5, (rows, 64)).astype(np.float32)
    block[:, 44:54] -= np.float32(1e-3) * rng.uniform(0.5, 1.0, (rows, 1)).astype(np.float32)
    want = rustcore.measure_batch(block, FS, -0.001)
    wide = np.zeros((rows, 128), np.float32)
    wide[:, ::2] = block
    for layout in (np.asfortranarray(block), wide[:, ::2]):
        assert not layout.flags.c_contiguous
        got = rustcore.measure_batch(layout, FS, -0.001)
        assert all(np.array_equal(got[k], want[k], equal_nan=True) for k in FLOAT_KEYS)
        assert np.array_equal(got["flags"], want["flags"])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(N, dtype=np.int16),
        np.zeros(N, dtype=np.float16),
        np.zeros(N, dtype=np.complex128),
        np.zeros(N, dtype=">f8"),
    ],
    ids=["int16", "float16", "complex", "big-endian"],
)
def test_wrong_dtype_is_a_type_error(bad: np.ndarray) -> None:
    with pytest.raises(TypeError, match="float32 or float64"):
        rustcore.measure_sweep(bad, FS, T0)
    with pytest.raises(TypeError, match="float32 or float64"):
        rustcore.measure_batch(bad.reshape(1, -1), FS, T0)


def test_not_an_array_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="NumPy array"):
        rustcore.measure_sweep([0.0] * N, FS, T0)


def test_wrong_ndim_is_a_type_error_that_names_the_other_function() -> None:
    x = np.zeros(N)
    with pytest.raises(TypeError, match=r"1-D.*measure_batch"):
        rustcore.measure_sweep(x.reshape(1, -1), FS, T0)
    with pytest.raises(TypeError, match=r"2-D.*measure_sweep"):
        rustcore.measure_batch(x, FS, T0)
    with pytest.raises(TypeError, match="2-D"):
        rustcore.measure_batch(x.reshape(1, 1, -1), FS, T0)


def test_too_few_baseline_samples_is_a_value_error() -> None:
    x = np.zeros(N)
    msg = r"need at least 8 pre-stimulus samples \(t < baseline_end\)"
    with pytest.raises(ValueError, match=msg):
        rustcore.measure_sweep(x, FS, 0.0)
    with pytest.raises(ValueError, match=msg):
        rustcore.measure_sweep(x, FS, -7 / FS)
    with pytest.raises(ValueError, match=msg):
        rustcore.measure_batch(np.zeros((3, N), np.float32), FS, 0.0)
    with pytest.raises(ValueError, match=msg):
        rustcore.measure_batch(np.zeros((0, 0)), FS, T0)
    rustcore.measure_sweep(x, FS, -8 / FS)  # exactly 8 is enough


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0.0, T0), {}, "sample_rate"),
        ((math.nan, T0), {}, "sample_rate"),
        ((FS, math.inf), {}, "t0"),
        ((FS, T0), {"onset_frac": 1.5}, "onset_frac"),
        ((FS, T0), {"onset_k": -1.0}, "onset_k"),
        ((FS, T0), {"min_snr": math.nan}, "min_snr"),
        ((FS, T0), {"search_start": 1.0}, "search window is empty"),
    ],
)
def test_bad_parameters_are_value_errors(args, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        rustcore.measure_sweep(np.zeros(N), *args, **kwargs)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("where", [0, 50, 400, N - 1])
def test_non_finite_sample_is_flagged_and_nothing_is_measured(bad: float, where: int) -> None:
    x = synthetic_cmap(N, FS, T0, onset=0.004, amplitude=5e-3, duration=5e-3)
    x[where] = bad
    m = rustcore.measure_sweep(x, FS, T0)
    assert m["flags"] == rustcore.FLAG_NON_FINITE and m["acceptable"] is False
    assert all(math.isnan(m[k]) for k in FLOAT_KEYS)
    assert_matches_reference(m, measure_reference(x, FS, T0))


def test_empty_batch_gives_empty_columns() -> None:
    cols = rustcore.measure_batch(np.zeros((0, N), np.float32), FS, T0)
    assert all(len(v) == 0 for v in cols.values())
    assert cols["flags"].dtype == np.uint32


# --- module surface -------------------------------------------------------------------


def test_module_exports_version_flags_and_error_type() -> None:
    from tests.rustcore import reference_measure as ref

    assert isinstance(rustcore.__version__, str) and rustcore.__version__
    assert issubclass(rustcore.RustcoreError, Exception)
    flags = {name: getattr(rustcore, name) for name in dir(rustcore) if name.startswith("FLAG_")}
    assert flags == {name: getattr(ref, name) for name in dir(ref) if name.startswith("FLAG_")}
    assert len(set(flags.values())) == len(flags)
    assert all(v & (v - 1) == 0 for v in flags.values())  # one bit each
    assert rustcore.batch_threads() >= 1
