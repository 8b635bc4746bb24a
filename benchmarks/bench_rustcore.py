"""Benchmark of rustcore against issue 4's targets, every ratio measured in one run
(times vary ~2x between runs on a shared machine; compare ratios, not times):

- batch CMAP measurement vs one read pass over the same array (target <= 1.5x) and vs a
  chunked NumPy implementation carried here (target >= 15x); single-sweep call (<= 5 us);
- IIR filtering vs scipy.signal.sosfilt / sosfiltfilt per core (target >= 3x), notch too;
- MUAP decomposition of 60 s of 20 kHz needle EMG (target <= 0.5 s);
- peak resident memory of a batch against its input, each case in a fresh process
  (target <= 1.2x).

    .venv/bin/python benchmarks/bench_rustcore.py [--n 100000] [--len 2000] [--repeat 5]

Not a test: it prints a table and checks only that NumPy and rustcore agree.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import rustcore

SAMPLE_RATE = 20_000.0  # Hz
T0 = -0.010  # s: 10 ms of pre-stimulus baseline
SEARCH_START = 0.001
ONSET_K = 4.0
ONSET_FRAC = 0.01
TAKEOFF_BAND_K = 1.5  # rustcore's takeoff band, × noise SD (rustcore.pyi)


def synthetic_block(n_rows: int, length: int, seed: int = 0) -> np.ndarray:
    """Biphasic CMAPs (negative half-sine, then a longer positive lobe) with onsets
    spread over 3–5 ms and 5 µV Gaussian noise, float32 volts."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(length) / SAMPLE_RATE
    templates = []
    for onset in np.linspace(0.003, 0.005, 64):
        u = t - onset
        neg = np.where((u >= 0) & (u < 5e-3), -5e-3 * np.sin(np.pi * u / 5e-3), 0.0)
        v = u - 5e-3
        pos = np.where((v >= 0) & (v < 10e-3), 2e-3 * np.sin(np.pi * v / 10e-3), 0.0)
        templates.append(neg + pos)
    block = rng.standard_normal((n_rows, length), dtype=np.float32)
    block *= np.float32(5e-6)
    block += np.asarray(templates, dtype=np.float32)[np.arange(n_rows) % 64]
    return block


def fill_block(shape: tuple[int, int], dtype: str, order: str, seed: int = 0) -> np.ndarray:
    """synthetic_block written into a preallocated array 1024 rows at a time, so making
    the input costs no whole-size temporaries (the memory probe measures the kernel)."""
    block = np.empty(shape, dtype=dtype, order=order)
    for r0 in range(0, shape[0], 1024):
        rows = min(1024, shape[0] - r0)
        block[r0 : r0 + rows] = synthetic_block(rows, shape[1], seed + r0)
    return block


def numpy_measure(block: np.ndarray, chunk_rows: int = 2048) -> dict[str, np.ndarray]:
    """Chunked, vectorised NumPy version of the same measures (baseline, noise, negative
    and positive peaks, interpolated onset and return, trapezoidal area), without flags.
    Chunks keep the float64 temporaries in cache-sized pieces."""
    n_rows, length = block.shape
    t = T0 + np.arange(length) / SAMPLE_RATE
    n_base = int(np.count_nonzero(t < 0.0))
    start = int(np.count_nonzero(t < SEARCH_START))
    idx = np.arange(length)
    keys = ("onset", "neg_amplitude", "p2p_amplitude", "neg_duration", "neg_area")
    out = {k: np.full(n_rows, np.nan) for k in keys}
    dt = 1.0 / SAMPLE_RATE
    for r0 in range(0, n_rows, chunk_rows):
        x = block[r0 : r0 + chunk_rows]
        rows = np.arange(x.shape[0])
        pre = x[:, :n_base]
        base = pre.mean(axis=1, dtype=np.float64)
        noise = pre.std(axis=1, dtype=np.float64)
        i_neg = start + x[:, start:].argmin(axis=1)
        neg = x[rows, i_neg].astype(np.float64)
        amp = base - neg
        later = idx > i_neg[:, None]
        i_pos = np.where(later, x, -np.inf).argmax(axis=1)
        p2p = x[rows, i_pos] - neg
        dev = base[:, None] - x  # float64
        thr = np.maximum(ONSET_K * noise, ONSET_FRAC * amp)
        below = (dev < thr[:, None]) & (idx >= start) & (idx < i_neg[:, None])
        has_on = below.any(axis=1)
        j = length - 1 - below[:, ::-1].argmax(axis=1)
        j1 = np.minimum(j + 1, length - 1)
        d0, d1 = dev[rows, j], dev[rows, j1]
        t_thr = t[j] + (thr - d0) / (d1 - d0) * dt
        # Takeoff (rustcore.pyi): last sample within the band before the crossing, then
        # the edge through the band and threshold crossings extrapolated to the baseline.
        band = np.minimum(np.maximum(TAKEOFF_BAND_K * noise, 0.25 * thr), 0.5 * thr)
        earliest = np.maximum(start, 2 * j - i_neg)
        in_band = (dev <= band[:, None]) & (idx >= earliest[:, None]) & (idx <= j[:, None])
        has_band = in_band.any(axis=1)
        i = np.where(has_band, length - 1 - in_band[:, ::-1].argmax(axis=1), j)
        b0, b1 = dev[rows, i], dev[rows, np.minimum(i + 1, length - 1)]
        t_band = t[i] + (band - b0) / (b1 - b0) * dt
        takeoff = np.maximum(t_band - band * (t_thr - t_band) / (thr - band), t[start])
        onset = np.where(has_band, takeoff, t_thr)
        # Area on the deviation's interpolant from the onset's segment q (at most j).
        pos = (onset - T0) * SAMPLE_RATE
        q = np.minimum(np.maximum(np.floor(pos), 0).astype(np.int64), j)
        frac = pos - q
        level = dev[rows, q] * (1 - frac) + dev[rows, np.minimum(q + 1, length - 1)] * frac
        j = q
        j1 = np.minimum(j + 1, length - 1)
        d1 = dev[rows, j1]
        back = (dev <= 0) & later
        has_ret = back.any(axis=1)
        k = np.maximum(back.argmax(axis=1), 1)
        e0, e1 = dev[rows, k - 1], dev[rows, k]
        ret = t[k - 1] + e0 / (e0 - e1) * dt
        csum = np.cumsum(dev, axis=1)
        inner = csum[rows, k - 1] - csum[rows, j]  # dev[j+1 ..= k-1]
        body = (inner - 0.5 * (d1 + e0)) * dt
        area = 0.5 * (level + d1) * (t[j1] - onset) + body + 0.5 * e0 * (ret - t[k - 1])
        ok = has_on & has_ret & (amp > 0)
        sl = slice(r0, r0 + x.shape[0])
        out["onset"][sl] = np.where(has_on, onset, np.nan)
        out["neg_amplitude"][sl] = amp
        out["p2p_amplitude"][sl] = p2p
        out["neg_duration"][sl] = np.where(ok, ret - onset, np.nan)
        out["neg_area"][sl] = np.where(ok, area, np.nan)
    return out


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median process CPU time (all threads, user + system): on a shared machine wall
    time mostly measures the neighbours."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def peak_rss() -> int:
    """Peak resident bytes of this process: ru_maxrss, and VmHWM where Linux has it
    (ru_maxrss survives exec, so a child started from a big parent would inherit the
    parent's peak; VmHWM belongs to the new image)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    try:
        status = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return peak
    hwm = [int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")]
    return min(peak, hwm[0]) if hwm else peak


def rss_case(case: str, n_rows: int, length: int) -> None:
    """Child process: build the input, measure it, print input bytes and peak RSS."""
    dtype, order = {
        "float32": ("float32", "C"),
        "float64": ("float64", "C"),
        "fortran": ("float32", "F"),
    }[case]
    block = fill_block((n_rows, length), dtype, order)
    cols = rustcore.measure_batch(block, SAMPLE_RATE, T0, search_start=SEARCH_START)
    assert int(cols["acceptable"].sum()) == n_rows
    print(block.nbytes, peak_rss())


def memory_ratios(n_rows: int, length: int) -> list[tuple[str, int, int]]:
    out = []
    for case in ("float32", "fortran", "float64"):
        args = [sys.executable, __file__, "--rss-case", case]
        args += ["--n", str(n_rows), "--len", str(length)]
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        nbytes, peak = map(int, done.stdout.split())
        out.append((case, nbytes, peak))
    return out


def synthetic_emg(fs: float, secs: float, seed: int = 0) -> np.ndarray:
    """Three motor units (biphasic MUAPs of 0.2-1 mV) firing at 8-13 Hz with 10% jitter
    in 5 uV noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 5e-6, int(fs * secs))
    half = int(0.012 * fs)
    u = np.arange(-half, half) / fs
    for amp, width, isi in ((200e-6, 0.6e-3, 0.08), (500e-6, 0.9e-3, 0.1), (1e-3, 1.3e-3, 0.125)):
        shape = -amp * (1 - (u / width) ** 2) * np.exp(-0.5 * (u / width) ** 2)
        t = rng.uniform(0.02, 0.1)
        while t < secs - 0.05:
            c = int(t * fs)
            x[c - half : c + half] += shape
            t += isi * rng.uniform(0.9, 1.1)
    return x


def bench_batch(n_rows: int, length: int, repeat: int) -> None:
    block = fill_block((n_rows, length), "float32", "C")
    kw = {"search_start": SEARCH_START, "onset_k": ONSET_K, "onset_frac": ONSET_FRAC}

    def batch() -> dict:
        return rustcore.measure_batch(block, SAMPLE_RATE, T0, **kw)

    # Interleave the floor and the kernel so both see the same machine load.
    floor_t, rust_t = [], []
    for _ in range(repeat):
        floor_t.append(median_time(lambda: np.sum(block), 1))
        rust_t.append(median_time(batch, 1))
    floor, rust = statistics.median(floor_t), statistics.median(rust_t)
    numpy_runs = max(1, min(repeat, 3))
    numpy_t = median_time(lambda: numpy_measure(block), numpy_runs)

    cols, ref = batch(), numpy_measure(block)
    both = np.isfinite(cols["onset"]) & np.isfinite(ref["onset"])
    onset_gap = float(np.max(np.abs(cols["onset"][both] - ref["onset"][both]), initial=0.0))
    area_gap = float(np.nanmax(np.abs(cols["neg_area"] / ref["neg_area"] - 1.0), initial=0.0))

    sweep = np.ascontiguousarray(block[0])
    one_rust = per_call_us(lambda: rustcore.measure_sweep(sweep, SAMPLE_RATE, T0, **kw), 5000)
    one_numpy = per_call_us(lambda: numpy_measure(block[:1]), 500)

    gb = block.nbytes / 1e9
    print(
        f"rustcore {rustcore.__version__}: {n_rows} x {length} float32 sweeps ({gb:.2f} GB); "
        f"batch threads {rustcore.batch_threads()} of {os.cpu_count()} CPUs; median of "
        f"{repeat} (NumPy of {numpy_runs}); times are process CPU time (all threads)"
    )
    rows = [
        ("one read pass (np.sum)", floor),
        ("rustcore.measure_batch", rust),
        ("chunked NumPy, same measures", numpy_t),
    ]
    print(f"{'probe':<32}{'time':>12}{'x read pass':>14}{'GB/s':>8}")
    for name, secs in rows:
        print(f"{name:<32}{secs * 1e3:>9.1f} ms{secs / floor:>14.2f}{gb / secs:>8.1f}")
    print(f"{'batch / read pass':<32}{rust / floor:>12.2f}   (target <= 1.5)")
    print(f"{'NumPy / rustcore batch':<32}{numpy_t / rust:>12.1f}   (target >= 15)")
    print(f"{'single sweep, rustcore':<32}{one_rust:>9.2f} µs   (target <= 5)")
    print(f"{'single sweep, NumPy':<32}{one_numpy:>9.2f} µs")
    print(
        f"agreement: max |onset difference| {onset_gap:.2g} s over {int(both.sum())} "
        f"sweeps; max relative area difference {area_gap:.2g}; "
        f"{int(cols['acceptable'].sum())} of {n_rows} acceptable"
    )


def bench_filters(n_rows: int, length: int, repeat: int) -> None:
    """SciPy filters on one core; process CPU time makes rustcore's ratio per core
    whatever its thread count."""
    import scipy.signal as ss  # here: the memory probe's child processes never load SciPy

    x = fill_block((n_rows, length), "float32", "C", seed=1)
    band = ss.butter(4, [20, 2000], "bandpass", fs=SAMPLE_RATE, output="sos")
    notch = ss.tf2sos(*ss.iirnotch(50.0, 30.0, fs=SAMPLE_RATE))
    print(f"filtering {n_rows} x {length} float32 sweeps (CPU time, so ratios are per core)")
    print(f"{'filter':<36}{'SciPy':>10}{'rustcore':>11}{'per core':>10}")
    filters = [
        ("band-pass 4 sections, forward", "sosfilt", band, False),
        ("band-pass 4 sections, zero-phase", "sosfiltfilt", band, True),
        ("50 Hz notch, forward", "sosfilt", notch, False),
        ("50 Hz notch, zero-phase", "sosfiltfilt", notch, True),
    ]
    for name, scipy_name, sos, zero_phase in filters:
        scipy_fn = getattr(ss, scipy_name)
        scipy_t = median_time(lambda f=scipy_fn, s=sos: f(s, x), max(1, min(repeat, 3)))
        rust_f = median_time(
            lambda s=sos, z=zero_phase: rustcore.sos_filter(x, s, zero_phase=z), repeat
        )
        print(
            f"{name:<36}{scipy_t * 1e3:>7.0f} ms{rust_f * 1e3:>8.0f} ms"
            f"{scipy_t / rust_f:>9.1f}x   (target >= 3)"
        )
    gap = float(np.max(np.abs(rustcore.sos_filter(x, band) - ss.sosfilt(band, x))))
    print(f"agreement: max |rustcore - sosfilt| {gap:.2g} V on float32 sweeps")


def bench_decomposition(repeat: int) -> None:
    emg = synthetic_emg(20_000.0, 60.0)
    secs = median_time(lambda: rustcore.decompose_emg(emg, 20_000.0), repeat)
    units = rustcore.decompose_emg(emg, 20_000.0)["n_units"]
    print(
        f"{'MUAP decomposition, 60 s at 20 kHz':<36}{secs * 1e3:>7.0f} ms   "
        f"({units} units found, 3 simulated; target <= 500 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="sweeps (rows)")
    parser.add_argument("--len", type=int, default=2000, help="samples per sweep")
    parser.add_argument("--repeat", type=int, default=5, help="runs per probe (median)")
    parser.add_argument("--rss-case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_case:
        rss_case(args.rss_case, args.n, args.len)
        return
    # Memory first, while this parent process is still small.
    memory = memory_ratios(args.n, args.len)
    bench_batch(args.n, args.len, args.repeat)
    bench_filters(min(args.n, 20_000), args.len, args.repeat)
    bench_decomposition(args.repeat)
    print("peak resident memory of measure_batch, each case in a fresh process:")
    for case, nbytes, peak in memory:
        print(
            f"  {case:<10} input {nbytes / 1e6:>6.0f} MB  peak RSS {peak / 1e6:>6.0f} MB  "
            f"ratio {peak / nbytes:.2f}   (target <= 1.2)"
        )


if __name__ == "__main__":
    main()
