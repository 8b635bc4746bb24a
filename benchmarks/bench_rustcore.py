"""Benchmark of rustcore's CMAP kernels against the memory floor and a chunked NumPy
implementation, all measured in one run (times vary ~2x between runs; compare ratios).

    .venv/bin/python benchmarks/bench_rustcore.py [--n 100000] [--len 2000] [--repeat 5]

Not a test: it prints a table and checks only that NumPy and rustcore agree on onsets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

import rustcore

SAMPLE_RATE = 20_000.0  # Hz
T0 = -0.010  # s: 10 ms of pre-stimulus baseline
SEARCH_START = 0.001
ONSET_K = 4.0
ONSET_FRAC = 0.01


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
        onset = t[j] + (thr - d0) / (d1 - d0) * dt
        back = (dev <= 0) & later
        has_ret = back.any(axis=1)
        k = np.maximum(back.argmax(axis=1), 1)
        e0, e1 = dev[rows, k - 1], dev[rows, k]
        ret = t[k - 1] + e0 / (e0 - e1) * dt
        csum = np.cumsum(dev, axis=1)
        inner = csum[rows, k - 1] - csum[rows, j]  # dev[j+1 ..= k-1]
        body = (inner - 0.5 * (d1 + e0)) * dt
        area = 0.5 * (thr + d1) * (t[j1] - onset) + body + 0.5 * e0 * (ret - t[k - 1])
        ok = has_on & has_ret & (amp > 0)
        sl = slice(r0, r0 + x.shape[0])
        out["onset"][sl] = np.where(has_on, onset, np.nan)
        out["neg_amplitude"][sl] = amp
        out["p2p_amplitude"][sl] = p2p
        out["neg_duration"][sl] = np.where(ok, ret - onset, np.nan)
        out["neg_area"][sl] = np.where(ok, area, np.nan)
    return out


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="sweeps (rows)")
    parser.add_argument("--len", type=int, default=2000, help="samples per sweep")
    parser.add_argument("--repeat", type=int, default=5, help="runs per probe (median)")
    args = parser.parse_args()

    block = synthetic_block(args.n, args.len)
    kw = {"search_start": SEARCH_START, "onset_k": ONSET_K, "onset_frac": ONSET_FRAC}

    def batch() -> dict:
        return rustcore.measure_batch(block, SAMPLE_RATE, T0, **kw)

    floor = median_time(lambda: np.sum(block), args.repeat)
    rust = median_time(batch, args.repeat)
    numpy_runs = max(1, min(args.repeat, 3))
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
        f"rustcore {rustcore.__version__}: {args.n} x {args.len} float32 sweeps ({gb:.2f} GB); "
        f"batch threads {rustcore.batch_threads()} of {os.cpu_count()} CPUs; "
        f"median of {args.repeat} (NumPy of {numpy_runs})"
    )
    rows = [
        ("one read pass (np.sum)", floor),
        ("rustcore.measure_batch", rust),
        ("chunked NumPy, same measures", numpy_t),
    ]
    print(f"{'probe':<32}{'time':>12}{'x read pass':>14}{'GB/s':>8}")
    for name, secs in rows:
        print(f"{name:<32}{secs * 1e3:>9.1f} ms{secs / floor:>14.2f}{gb / secs:>8.1f}")
    print(f"{'NumPy / rustcore batch':<32}{numpy_t / rust:>26.1f}")
    print(f"{'single sweep, rustcore':<32}{one_rust:>9.2f} µs")
    print(f"{'single sweep, NumPy':<32}{one_numpy:>9.2f} µs")
    print(
        f"agreement: max |onset difference| {onset_gap:.2g} s over {int(both.sum())} "
        f"sweeps; max relative area difference {area_gap:.2g}; "
        f"{int(cols['acceptable'].sum())} of {args.n} acceptable"
    )


if __name__ == "__main__":
    main()
