"""rustcore beyond single-CMAP measurement: filtering against SciPy, averaging, series
(F-wave, H-reflex, RNS, two sites, recruitment), needle EMG on synthetic records with
known truth, progress and cancellation.

Tolerances: filtering matches SciPy to 1e-9 relative to the signal scale in float64 (same
recursion and operation order); indices and counts exactly; latencies to a sample."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rustcore
from tests.rustcore.reference_measure import synthetic_cmap

FS = 20_000.0
T0 = -0.005


# --- filtering --------------------------------------------------------------------------


@st.composite
def designs(draw: st.DrawFn) -> np.ndarray:
    kind = draw(st.sampled_from(["low", "high", "band", "notch"]))
    if kind == "notch":
        f0 = draw(st.floats(20, 2000))
        return ss.tf2sos(*ss.iirnotch(f0, draw(st.floats(5, 40)), fs=FS))
    order = draw(st.integers(1, 5))
    lo = draw(st.floats(5, 3000))
    if kind == "band":
        return ss.butter(order, [lo, lo * draw(st.floats(1.5, 3))], "bandpass", fs=FS, output="sos")
    return ss.butter(order, lo, "lowpass" if kind == "low" else "highpass", fs=FS, output="sos")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sos=designs(), rows=st.integers(1, 20), n=st.integers(40, 600), seed=st.integers(0, 99))
def test_sos_filter_matches_scipy_forward_and_zero_phase(sos, rows, n, seed) -> None:
    x = np.random.default_rng(seed).normal(0, 1e-3, (rows, n))
    scale = np.abs(x).max()
    got = rustcore.sos_filter(x, sos)
    np.testing.assert_allclose(got, ss.sosfilt(sos, x, axis=-1), rtol=0, atol=1e-9 * scale)
    padlen = 3 * (2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum()))
    if n > padlen:
        want = ss.sosfiltfilt(sos, x, axis=-1)
        got = rustcore.sos_filter(x, sos, zero_phase=True)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * scale)
        one = rustcore.sos_filter(x[0], sos, zero_phase=True)
        np.testing.assert_allclose(one, want[0], rtol=0, atol=1e-9 * scale)


def test_sos_filter_keeps_dtype_and_shape_and_rejects_bad_input() -> None:
    sos = ss.butter(4, 1000, fs=FS, output="sos")
    x = np.random.default_rng(1).normal(0, 1, (9, 500)).astype(np.float32)
    y = rustcore.sos_filter(x, sos, zero_phase=True)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, ss.sosfiltfilt(sos, x.astype(np.float64)), atol=1e-5)
    with pytest.raises(ValueError, match="padlen"):
        rustcore.sos_filter(x[:, :15], sos, zero_phase=True)
    with pytest.raises(ValueError, match="n_sections, 6"):
        rustcore.sos_filter(x, np.ones((2, 5)))
    with pytest.raises(TypeError):
        rustcore.sos_filter(x[None], sos)
    # A notch removes its own frequency.
    t = np.arange(40_000) / FS
    hum = np.sin(2 * np.pi * 50 * t)
    clean = rustcore.sos_filter(hum, ss.tf2sos(*ss.iirnotch(50, 10, fs=FS)), zero_phase=True)
    assert np.abs(clean[10_000:30_000]).max() < 0.02


# --- progress and cancellation ------------------------------------------------------------


def test_progress_counts_rows_and_cancel_raises() -> None:
    block = np.zeros((3000, 400), np.float32)
    p = rustcore.Progress()
    assert p.fraction == 0.0
    rustcore.measure_batch(block, FS, T0, progress=p)
    assert (p.done, p.total, p.fraction) == (3000, 3000, 1.0)
    p.cancel()
    with pytest.raises(rustcore.Cancelled):
        rustcore.measure_batch(block, FS, T0, progress=p)
    with pytest.raises(rustcore.Cancelled):
        rustcore.sos_filter(block, ss.butter(2, 100, fs=FS, output="sos"), progress=p)


def test_cancel_from_another_thread_stops_a_long_filter() -> None:
    block = np.zeros((4000, 20_000), np.float32)
    p = rustcore.Progress()
    timer = threading.Timer(0.02, p.cancel)
    timer.start()
    with pytest.raises(rustcore.Cancelled):
        rustcore.sos_filter(block, ss.butter(8, 100, fs=FS, output="sos"), progress=p)
    timer.join()
    assert p.done < p.total


# --- averaging ----------------------------------------------------------------------------


def reference_average(x, fs, t0, baseline_end, reject_from, max_p2p, max_noise):
    t = t0 + np.arange(x.shape[1]) / fs
    base = x[:, t < baseline_end].astype(np.float64)
    seg = x[:, t >= reject_from] if reject_from is not None else x
    p2p = seg.max(axis=1).astype(np.float64) - seg.min(axis=1)
    ok = np.isfinite(x).all(axis=1)
    ok &= ~(p2p > max_p2p)
    if np.isfinite(max_noise):
        ok &= ~(base.std(axis=1) > max_noise)
    mean = x[ok].astype(np.float64).mean(axis=0) if ok.any() else np.full(x.shape[1], np.nan)
    return mean, ok


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 30),
    seed=st.integers(0, 999),
    max_p2p=st.floats(1e-4, 1e-2),
    max_noise=st.floats(1e-6, 1e-4),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_average_matches_reference_and_running_form(rows, seed, max_p2p, max_noise, dtype):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, rng.uniform(1e-6, 5e-5, (rows, 1)), (rows, 300))
    x += rng.uniform(0, 5e-3, (rows, 1)) * np.sin(np.linspace(0, 9, 300))
    x = x.astype(dtype)
    if rows > 2:
        x[1, 7] = np.nan
    kw = dict(baseline_end=0.0, reject_from=0.001, max_p2p=max_p2p, max_noise=max_noise)
    got = rustcore.average_sweeps(x, FS, T0, **kw)
    mean, ok = reference_average(x, FS, T0, **kw)
    np.testing.assert_array_equal(got["accepted"], ok)
    assert got["n_accepted"] == ok.sum() and got["n_rejected"] == rows - ok.sum()
    np.testing.assert_allclose(got["mean"], mean, rtol=1e-12, atol=1e-18)
    run = rustcore.RunningAverage(300, FS, T0, **kw)
    verdicts = [run.add(row) for row in x]
    assert verdicts == list(ok)
    np.testing.assert_array_equal(run.mean, got["mean"])


def test_averaging_lifts_a_buried_response() -> None:
    rng = np.random.default_rng(3)
    clean = synthetic_cmap(1000, FS, T0, onset=0.004, amplitude=20e-6, duration=1.5e-3)
    noisy = clean + rng.normal(0, 20e-6, (256, 1000))
    noisy[::16, 500] += 5e-3  # artefacts
    avg = rustcore.average_sweeps(noisy, FS, T0, max_p2p=1e-3)
    assert avg["n_accepted"] == 240
    m = rustcore.measure_sweep(avg["mean"], FS, T0)
    assert m["acceptable"], m
    assert abs(m["onset"] - 0.004) < 2e-4
    assert m["neg_amplitude"] == pytest.approx(20e-6, rel=0.15)


# --- series -------------------------------------------------------------------------------


def late_response(n, t, latency, amplitude):
    u = t - latency
    return np.where((u >= 0) & (u < 2e-3), amplitude * np.sin(np.pi * u / 1e-3), 0.0)


def test_f_waves_recover_latencies_persistence_and_dispersion() -> None:
    rng = np.random.default_rng(7)
    n = 1200  # -5 .. 55 ms
    t = T0 + np.arange(n) / FS
    truth = rng.uniform(0.028, 0.032, 16)
    present = np.ones(16, bool)
    present[[3, 9]] = False
    sweeps = np.array(
        [
            synthetic_cmap(n, FS, T0, onset=0.003, amplitude=5e-3, duration=4e-3)
            + (late_response(n, t, lat, 200e-6) if p else 0.0)
            + rng.normal(0, 2e-6, n)
            for lat, p in zip(truth, present, strict=True)
        ]
    )
    f = rustcore.f_waves(sweeps, FS, T0, window=(0.020, 0.050))
    np.testing.assert_array_equal(f["present"], present)
    assert np.isnan(f["latency"][~present]).all()
    assert np.abs(f["latency"][present] - truth[present]).max() < 1.5 / FS
    assert f["persistence"] == pytest.approx(100 * 14 / 16)
    assert f["min_latency"] == pytest.approx(truth[present].min(), abs=1.5 / FS)
    assert f["chronodispersion"] == pytest.approx(np.ptp(truth[present]), abs=3 / FS)
    with pytest.raises(ValueError, match="window"):
        rustcore.f_waves(sweeps, FS, T0, window=(0.08, 0.09))


def test_h_reflex_and_repetitive_stimulation() -> None:
    n = 1200
    t = T0 + np.arange(n) / FS
    m = synthetic_cmap(n, FS, T0, onset=0.004, amplitude=1e-3, duration=4e-3)
    sweeps = np.array([m * s + late_response(n, t, 0.030, h) for s, h in [(0.2, 4e-4), (1, 1e-3)]])
    sweeps += np.random.default_rng(0).normal(0, 1e-6, sweeps.shape)
    h = rustcore.h_reflex(sweeps, FS, T0, m_window=(0.002, 0.020), h_window=(0.025, 0.045))
    assert abs(h["h_latency"][0] - 0.030) < 2 / FS
    assert h["h_max"] == pytest.approx(2e-3, rel=0.02)
    assert h["h_max_m_max"] == pytest.approx(2e-3 / (1.4e-3), rel=0.05)

    scales = np.array([1.0, 0.92, 0.87, 0.84, 0.85, 0.88])
    rns = rustcore.repetitive_stimulation(np.outer(scales, m), FS, T0)
    assert rns["decrement_4th"] == pytest.approx(16.0, abs=1e-6)
    assert rns["decrement_5th"] == pytest.approx(15.0, abs=1e-6)
    np.testing.assert_allclose(rns["area_change"], 100 * (scales - 1), atol=1e-6)


def test_compare_sites_gives_velocity_block_and_dispersion() -> None:
    n = 1000
    distal = synthetic_cmap(n, FS, T0, onset=0.0035, amplitude=8e-3, duration=5e-3)
    proximal = synthetic_cmap(n, FS, T0, onset=0.0085, amplitude=4e-3, duration=7e-3)
    c = rustcore.compare_sites(distal, proximal, FS, T0, 0.25)
    assert c["velocity"] == pytest.approx(50.0, rel=0.01)
    assert c["amplitude_drop"] == pytest.approx(50.0, abs=0.5)
    assert c["duration_increase"] == pytest.approx(40.0, abs=2.0)
    assert c["area_drop"] == pytest.approx(100 * (1 - 4 * 7 / (8 * 5)), abs=1.5)
    assert c["acceptable"]


def test_recruitment_curve_plateau() -> None:
    i = np.repeat(np.arange(1.0, 11.0), 3)
    r = 10e-3 / (1 + np.exp(-(i - 4) * 2.0))
    c = rustcore.recruitment_curve(i, r, tolerance=0.05)
    assert c["plateau_found"]
    assert c["plateau_start"] == 6.0
    assert c["half_max_intensity"] == pytest.approx(4.0, abs=0.05)
    rising = rustcore.recruitment_curve(i[:12], r[:12], tolerance=0.05)
    assert not rising["plateau_found"]


# --- needle EMG ---------------------------------------------------------------------------


def synthetic_emg(fs, secs, units, noise=3e-6, seed=0):
    """Units: (shape function of time from its peak, mean ISI s). Firing with 10% jitter."""
    rng = np.random.default_rng(seed)
    n = int(fs * secs)
    x = rng.normal(0, noise, n)
    truth = []
    half = int(0.012 * fs)
    for shape, isi in units:
        times, t = [], rng.uniform(0.02, 0.1)
        while t < secs - 0.05:
            c = int(t * fs)
            u = np.arange(-half, half) / fs
            x[c - half : c + half] += shape(u)
            times.append(c / fs)
            t += isi * rng.uniform(0.9, 1.1)
        truth.append(np.array(times))
    return x, truth


def muap(amp, width, skew=0.3):
    return lambda u: (
        -amp
        * (1 - (u / width) ** 2)
        * np.exp(-0.5 * (u / width) ** 2)
        * (1 + skew * np.tanh(u / width))
    )


def test_decomposition_separates_units_and_measures_them() -> None:
    units = [(muap(300e-6, 0.7e-3), 0.09), (muap(900e-6, 1.2e-3, -0.3), 0.13)]
    x, truth = synthetic_emg(FS, 10.0, units)
    d = rustcore.decompose_emg(x, FS)
    assert d["n_units"] == 2, d["count"]
    order = np.argsort(d["amplitude"])
    for k, want in zip(order, truth, strict=True):
        got = d["firing_times"][k]
        hits = np.min(np.abs(got[:, None] - want[None, :]), axis=0) < 1e-3
        assert hits.mean() > 0.85
    small, big = order
    assert d["amplitude"][big] > 2.5 * d["amplitude"][small]
    assert d["duration"][big] > d["duration"][small]
    assert 1 / d["firing_rate"][small] == pytest.approx(0.09, rel=0.1)
    assert d["templates"].shape == (2, 2 * int(0.0125 * FS) + 1)
    assert (d["phases"] >= 2).all() and (d["area"] > 0).all()


def test_spontaneous_activity_classifies_fibrillations_and_sharp_waves() -> None:
    def fib(u):
        v = u + 0.5e-3  # initial positive phase, 2 ms in all
        return np.where((v >= 0) & (v < 2e-3), 100e-6 * np.sin(2 * np.pi * v / 2e-3), 0.0)

    def psw(u):
        rise = np.where((u >= -1e-3) & (u < 0), 200e-6 * (u + 1e-3) / 1e-3, 0.0)
        fall = np.where((u >= 0) & (u < 0.5e-3), 200e-6 - 260e-6 * u / 0.5e-3, 0.0)
        tail = np.where((u >= 0.5e-3) & (u < 12e-3), -60e-6 * np.exp(-(u - 0.5e-3) / 6e-3), 0.0)
        return rise + fall + tail

    x, truth = synthetic_emg(FS, 6.0, [(fib, 0.2), (psw, 0.35)], noise=2e-6, seed=4)
    s = rustcore.spontaneous_activity(x, FS)
    assert s["n_fibrillations"] >= 0.8 * len(truth[0])
    assert s["n_positive_sharp_waves"] >= 0.8 * len(truth[1])
    assert s["n_fibrillations"] + s["n_positive_sharp_waves"] <= len(truth[0]) + len(truth[1])


def test_interference_pattern_turns() -> None:
    t = np.arange(20_000) / FS
    x = 300e-6 * np.sin(2 * np.pi * 100 * t)  # 200 turns/s of 600 µV
    r = rustcore.interference_pattern(x, FS, turn_amplitude=100e-6, epoch=0.25)
    assert r["turns_per_second"] == pytest.approx(200, abs=2)
    assert r["mean_amplitude"] == pytest.approx(600e-6, rel=0.01)
    assert len(r["epoch_turns_per_second"]) == 4
    quiet = rustcore.interference_pattern(x * 0.1, FS)
    assert quiet["turns_per_second"] == 0
