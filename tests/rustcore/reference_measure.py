"""NumPy reference for rustcore.measure_sweep, written from the definitions in
rustcore.pyi for clarity rather than speed. Tests compare the kernel against it."""

from __future__ import annotations

import math

import numpy as np

FLAG_LOW_SNR = 1
FLAG_ONSET_AT_WINDOW_START = 2
FLAG_NO_RETURN = 4
FLAG_NON_FINITE = 8
FLAG_NO_ONSET = 16
TAKEOFF_BAND_K = 1.5  # the kernel's takeoff band, × noise SD

FLOAT_KEYS = (
    "baseline",
    "noise",
    "onset",
    "neg_peak_latency",
    "neg_amplitude",
    "pos_peak_latency",
    "pos_amplitude",
    "p2p_amplitude",
    "neg_duration",
    "neg_area",
    "total_duration",
    "total_area",
)


def lane_sum(values: np.ndarray) -> float:
    """Sum in the kernel's order: 8 sequential lanes (j, j+8, ...) combined pairwise."""
    lanes = [float(np.cumsum(np.concatenate(([0.0], values[j::8])))[-1]) for j in range(8)]
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + (
        (lanes[4] + lanes[5]) + (lanes[6] + lanes[7])
    )


def measure_reference(
    sweep: np.ndarray,
    sample_rate: float,
    t0: float,
    *,
    search_start: float = 0.001,
    baseline_end: float = 0.0,
    onset_k: float = 4.0,
    onset_frac: float = 0.01,
    min_snr: float = 3.0,
) -> dict[str, float | int | bool]:
    x = np.asarray(sweep)  # peaks are found in the sample dtype, like the kernel
    n = x.size
    t = t0 + np.arange(n) / sample_rate
    n_base = int(np.count_nonzero(t < baseline_end))
    if n_base < 8:
        raise ValueError("need at least 8 pre-stimulus samples (t < baseline_end)")
    start = int(np.count_nonzero(t < search_start))
    if start >= n:
        raise ValueError("search window is empty")

    out: dict[str, float | int | bool] = dict.fromkeys(FLOAT_KEYS, math.nan)
    out["flags"] = 0
    if not np.all(np.isfinite(x)):
        out["flags"] = FLAG_NON_FINITE
        out["acceptable"] = False
        return out

    xf = x.astype(np.float64)
    pre = xf[:n_base]
    baseline = lane_sum(pre) / n_base
    d = pre - baseline
    noise = math.sqrt(lane_sum(d * d) / n_base)
    dev = baseline - xf
    flags = 0

    i_neg = start + int(np.argmin(x[start:]))
    amp = baseline - xf[i_neg]
    out.update(baseline=baseline, noise=noise, neg_amplitude=amp, neg_peak_latency=t[i_neg])
    if amp < min_snr * noise:
        flags |= FLAG_LOW_SNR
    i_pos = None
    if i_neg + 1 < n:
        i_pos = i_neg + 1 + int(np.argmax(x[i_neg + 1 :]))
        out.update(
            pos_peak_latency=t[i_pos],
            pos_amplitude=xf[i_pos] - baseline,
            p2p_amplitude=xf[i_pos] - xf[i_neg],
        )

    if amp <= 0:
        flags |= FLAG_NO_ONSET
    else:
        thr = max(onset_k * noise, onset_frac * amp)
        onset = None
        if amp < thr:
            flags |= FLAG_NO_ONSET
        else:
            below = np.nonzero(dev[start:i_neg] < thr)[0]
            if below.size:
                j = start + int(below[-1])
                t_thr = t[j] + (thr - dev[j]) / (dev[j + 1] - dev[j]) / sample_rate
                # Takeoff: walking back from the crossing (no further than it lies before
                # the peak) to the last sample within the band, then the line through the
                # band and threshold crossings extrapolated to the baseline.
                band = min(max(TAKEOFF_BAND_K * noise, 0.25 * thr), 0.5 * thr)
                earliest = max(start, 2 * j - i_neg)
                back = np.nonzero(dev[earliest : j + 1] <= band)[0]
                if back.size:
                    i = earliest + int(back[-1])
                    t_band = t[i] + (band - dev[i]) / (dev[i + 1] - dev[i]) / sample_rate
                    t_on = t_band
                    if band > 0:
                        t_on = t_band - band * (t_thr - t_band) / (thr - band)
                    onset = (j, max(t_on, t[start]))
                else:  # no band sample within the bound: the crossing itself
                    onset = (j, t_thr)
                out["onset"] = onset[1]
            else:
                flags |= FLAG_ONSET_AT_WINDOW_START
        back = np.nonzero(dev[i_neg + 1 :] <= 0)[0]
        ret = None
        if back.size:
            k = i_neg + 1 + int(back[0])
            frac = dev[k - 1] / (dev[k - 1] - dev[k])
            ret = (k, t[k - 1] + frac / sample_rate)
        else:
            flags |= FLAG_NO_RETURN
        if onset is not None and ret is not None:
            (j, t_on), (k, t_ret) = onset, ret
            # The deviation's linear interpolant from the onset (on segment q, at most
            # the crossing sample j) through the samples to 0 at the return.
            pos = (t_on - t0) * sample_rate
            q = min(max(math.floor(pos), 0), j)
            at_onset = dev[q] * (1 - (pos - q)) + dev[q + 1] * (pos - q)
            times = np.concatenate(([t_on], t[q + 1 : k], [t_ret]))
            values = np.concatenate(([at_onset], dev[q + 1 : k], [0.0]))
            neg_area = np.trapezoid(values, times)
            out.update(neg_duration=t_ret - t_on, neg_area=neg_area)
            # Total: through the positive phase when its peak clears the threshold.
            out.update(total_duration=t_ret - t_on, total_area=neg_area)
            if i_pos is not None and i_pos >= k and -dev[i_pos] >= thr and dev[i_pos] < 0:
                out.update(total_duration=math.nan, total_area=math.nan)
                ends = np.nonzero(dev[i_pos + 1 :] >= 0)[0]
                if ends.size:
                    e = i_pos + 1 + int(ends[0])
                    t_end = t[e - 1] + dev[e - 1] / (dev[e - 1] - dev[e]) / sample_rate
                    times = np.concatenate(([t_ret], t[k:e], [t_end]))
                    values = np.concatenate(([0.0], np.abs(dev[k:e]), [0.0]))
                    out.update(
                        total_duration=t_end - t_on,
                        total_area=neg_area + np.trapezoid(values, times),
                    )

    out = {key: float(v) if key in FLOAT_KEYS else v for key, v in out.items()}
    out["flags"] = flags
    out["acceptable"] = flags == 0
    return out


def synthetic_cmap(
    n: int,
    sample_rate: float,
    t0: float,
    *,
    onset: float,
    amplitude: float,
    duration: float,
    noise_sd: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A biphasic CMAP: a negative half-sine lobe of `amplitude` volts from `onset` for
    `duration`, then a positive lobe 0.4× as high and twice as long, plus Gaussian noise."""
    t = t0 + np.arange(n) / sample_rate
    u = t - onset
    neg = np.where((u >= 0) & (u < duration), -amplitude * np.sin(np.pi * u / duration), 0.0)
    v = u - duration
    pos = np.where(
        (v >= 0) & (v < 2 * duration), 0.4 * amplitude * np.sin(np.pi * v / (2 * duration)), 0.0
    )
    x = neg + pos
    if noise_sd:
        x = x + (rng or np.random.default_rng(0)).normal(0.0, noise_sd, n)
    return x
