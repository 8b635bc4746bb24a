//! Measures of one CMAP sweep: baseline and noise, negative and positive peaks, onset,
//! return to baseline, negative-peak duration and area (definitions in rustcore.pyi).
//!
//! Memory is read once per sweep; the later passes (peak positions, onset walk-back,
//! return, area) touch the same few kilobytes while they are still in cache.

use crate::flags;
use crate::lanes;
use crate::sample::Sample;
use crate::sweep::SweepPlan;

/// Everything measured on one sweep, in SI units. NaN marks a value that could not be
/// measured; `flags` says why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CmapMeasures {
    /// Mean of the pre-stimulus samples (V).
    pub baseline: f64,
    /// Their population standard deviation (V).
    pub noise: f64,
    /// Negative takeoff (s), sub-sample.
    pub onset: f64,
    pub neg_peak_latency: f64,
    /// Baseline minus the negative peak (V, positive for a negative peak).
    pub neg_amplitude: f64,
    pub pos_peak_latency: f64,
    /// Positive peak (after the negative one) minus the baseline (V).
    pub pos_amplitude: f64,
    /// Positive peak (after the negative one) minus the negative peak (V).
    pub p2p_amplitude: f64,
    /// Onset to return to baseline (s).
    pub neg_duration: f64,
    /// Integral of (baseline − x) from onset to return (V·s).
    pub neg_area: f64,
    /// Onset to the end of the response: the return to baseline after the positive
    /// phase, or after the negative one when there is no positive phase (s).
    pub total_duration: f64,
    /// Integral of |baseline − x| from onset to the end of the response (V·s).
    pub total_area: f64,
    pub flags: u32,
}

impl CmapMeasures {
    /// Nothing measurable: every value NaN, the given flags set.
    pub fn unmeasured(flags: u32) -> Self {
        Self {
            baseline: f64::NAN,
            noise: f64::NAN,
            onset: f64::NAN,
            neg_peak_latency: f64::NAN,
            neg_amplitude: f64::NAN,
            pos_peak_latency: f64::NAN,
            pos_amplitude: f64::NAN,
            p2p_amplitude: f64::NAN,
            neg_duration: f64::NAN,
            neg_area: f64::NAN,
            total_duration: f64::NAN,
            total_area: f64::NAN,
            flags,
        }
    }

    pub fn acceptable(&self) -> bool {
        self.flags == 0
    }
}

/// Measure one sweep laid out as `plan` says. `sweep.len()` must equal `plan.len`.
///
/// `inline(always)` so the body is compiled inside the CPU-feature-specific callers in
/// `batch` (AVX2 or baseline) rather than once for the baseline target.
#[inline(always)]
pub fn measure<T: Sample>(sweep: &[T], plan: &SweepPlan) -> CmapMeasures {
    assert_eq!(
        sweep.len(),
        plan.len,
        "sweep length does not match its plan"
    );
    // One pass from memory: finiteness of the whole sweep, minimum and maximum of the
    // search window. Everything after this touches cached data.
    let window = &sweep[plan.window_start..];
    let (finite, neg, window_max) = lanes::stream_min_max(sweep, plan.window_start);
    if !finite {
        return CmapMeasures::unmeasured(flags::NON_FINITE);
    }
    let axis = plan.axis;
    let p = plan.params;
    let mut m = CmapMeasures::unmeasured(0);

    let pre = &sweep[..plan.baseline_len];
    let baseline = lanes::lane_sum(pre) / pre.len() as f64;
    let noise = (lanes::lane_sum_sq_dev(pre, baseline) / pre.len() as f64).sqrt();
    m.baseline = baseline;
    m.noise = noise;
    let dev = |i: usize| baseline - sweep[i].into();

    // Negative peak: first minimum of the search window.
    let i_neg = plan.window_start + lanes::first_equal(window, neg).expect("minimum is present");
    let amplitude = baseline - neg.into();
    m.neg_peak_latency = axis.time(i_neg);
    m.neg_amplitude = amplitude;
    if amplitude < p.min_snr * noise {
        m.flags |= flags::LOW_SNR;
    }

    // Positive peak: first maximum after the negative peak. Usually the window maximum
    // lies after the negative peak; only otherwise is the tail scanned again.
    let after = &sweep[i_neg + 1..];
    let mut i_pos = None;
    if !after.is_empty() {
        let (pos, at) = match lanes::first_equal(after, window_max) {
            Some(at) => (window_max, at),
            None => {
                let pos = lanes::max(after);
                (
                    pos,
                    lanes::first_equal(after, pos).expect("maximum is present"),
                )
            }
        };
        let i = i_neg + 1 + at;
        i_pos = Some(i);
        m.pos_peak_latency = axis.time(i);
        m.pos_amplitude = pos.into() - baseline;
        m.p2p_amplitude = pos.into() - neg.into();
    }

    if amplitude <= 0.0 {
        // Nothing dips below the baseline: no takeoff, no return to look for.
        m.flags |= flags::NO_ONSET;
        return m;
    }

    // Onset. Detection: walking back from the peak, the last sample whose deviation is
    // under the threshold (the response must cross k × noise to exist). Location: from
    // there, back along the deflection to where it leaves the baseline (see `takeoff`).
    let threshold = (p.onset_k * noise).max(p.onset_frac * amplitude);
    let mut onset_at = None; // (threshold-crossing sample, onset time)
    if amplitude < threshold {
        m.flags |= flags::NO_ONSET;
    } else {
        let below = |v: f64| baseline - v < threshold;
        let span = &sweep[plan.window_start..i_neg];
        let last = match lanes::cutoff::<T>(baseline - threshold, below) {
            Some(c) => lanes::last_at_least(span, c),
            None => lanes::last_where(span, below),
        };
        match last {
            Some(j) => {
                let j = plan.window_start + j;
                let onset = takeoff(sweep, baseline, noise, plan, threshold, j, i_neg);
                onset_at = Some((j, onset));
            }
            None => m.flags |= flags::ONSET_AT_WINDOW_START,
        }
    }

    // Return to baseline: first sample after the peak with deviation <= 0, interpolated.
    let mut return_at = None; // (index of the first sample at or past baseline, time)
                              // dev <= 0 ⇔ x >= baseline (the sign of a rounded difference is exact).
    let returned = |v: f64| baseline - v <= 0.0;
    let tail = &sweep[i_neg + 1..];
    let first = match lanes::cutoff::<T>(baseline, returned) {
        Some(c) => lanes::first_cut(tail, c, false),
        None => lanes::first_where(tail, returned),
    };
    match first {
        Some(k) => {
            let k = i_neg + 1 + k;
            let (d0, d1) = (dev(k - 1), dev(k));
            let frac = d0 / (d0 - d1);
            return_at = Some((k, axis.time(k - 1) + frac / axis.sample_rate));
        }
        None => m.flags |= flags::NO_RETURN,
    }

    if let Some((_, onset)) = onset_at {
        m.onset = onset;
    }
    if let (Some((j, onset)), Some((k, ret))) = (onset_at, return_at) {
        m.neg_duration = ret - onset;
        m.neg_area = negative_area(sweep, baseline, plan, (j, onset), (k, ret));
        // The positive phase counts when its peak clears the onset threshold.
        match i_pos {
            Some(ip) if ip >= k && -dev(ip) >= threshold && dev(ip) < 0.0 => {
                let tail = &sweep[ip + 1..];
                let above = |v: f64| baseline - v < 0.0;
                let back = match lanes::cutoff::<T>(baseline, above) {
                    Some(c) => lanes::first_cut(tail, c, true),
                    None => lanes::first_where(tail, |v| !above(v)),
                };
                if let Some(e) = back.map(|e| ip + 1 + e) {
                    let (d0, d1) = (dev(e - 1), dev(e));
                    let end = axis.time(e - 1) + d0 / (d0 - d1) / axis.sample_rate;
                    m.total_duration = end - onset;
                    m.total_area = m.neg_area + abs_area(sweep, baseline, plan, (k, ret), (e, end));
                }
            }
            _ => {
                m.total_duration = m.neg_duration;
                m.total_area = m.neg_area;
            }
        }
    }
    m
}

/// Trapezoidal integral of |deviation| over the polyline (t_a, 0), samples a..b−1,
/// (t_b, 0): the stretch between the negative return and the end of the response.
#[inline(always)]
fn abs_area<T: Sample>(
    sweep: &[T],
    baseline: f64,
    plan: &SweepPlan,
    (a, t_a): (usize, f64),
    (b, t_b): (usize, f64),
) -> f64 {
    let axis = plan.axis;
    let dev = |i: usize| (baseline - sweep[i].into()).abs();
    // Interior: trapezoids on the uniform grid = (sum - half the end samples) × dt,
    // summed in lanes (no per-sample division).
    let inner = lanes::lane_sum_map_abs(&sweep[a..b], baseline);
    let body = (inner - 0.5 * (dev(a) + dev(b - 1))) / axis.sample_rate;
    0.5 * dev(a) * (axis.time(a) - t_a) + body + 0.5 * dev(b - 1) * (t_b - axis.time(b - 1))
}

/// Band of the takeoff walk, in multiples of the baseline noise SD: Gaussian noise lies
/// above 1.5 SD in 6.7 % of samples, so a walk back through baseline rarely strays more
/// than a sample before the response, while the band stays well under the threshold.
pub const TAKEOFF_BAND_K: f64 = 1.5;

/// Where the deflection detected at the threshold crossing (`dev(j) < threshold <=
/// dev(j + 1)`) leaves the baseline. The threshold crossing reads late by the time the
/// response takes to rise to k × noise; clinical onset is the first departure from the
/// baseline. So:
///
/// 1. walk back from `j` along the deflection to the last sample whose deviation is
///    within the baseline band `band = min(max(1.5 × noise, threshold / 4), threshold / 2)`
///    and interpolate where the deviation crosses `band`;
/// 2. extrapolate the rising edge, the line through that band crossing and the threshold
///    crossing, back to the baseline (deviation 0): the onset, never before the search
///    start.
///
/// The band is near the noise at low SNR (the walk gets close to the baseline) and a
/// quarter of the threshold at high SNR, where both points lie low on a steep edge and
/// the extrapolation lands within a fraction of a sample of the takeoff (on the synthetic
/// CMAPs of benchmarks/accuracy_table.py: median 9 µs at SNR 100, 118 µs at SNR 10,
/// against 52 and 622 µs for the crossing). Costs: a noise sample above the band just
/// before the takeoff moves the onset about a sample early (6.7 % of sweeps at high SNR),
/// and a convex toe (a dispersed SNAP) still reads a little late.
/// The walk is bounded: no longer before the crossing than the crossing lies before the
/// peak (`i_neg`), so a stretch of baseline offset (hum, an artefact tail) cannot carry
/// the onset far ahead of the response; without a band sample within that bound the
/// onset is the threshold crossing itself. With no noise and no threshold (k = 0 and
/// frac = 0) the onset is where the deviation first leaves zero.
#[inline(always)]
fn takeoff<T: Sample>(
    sweep: &[T],
    baseline: f64,
    noise: f64,
    plan: &SweepPlan,
    threshold: f64,
    j: usize,
    i_neg: usize,
) -> f64 {
    let axis = plan.axis;
    let dev = |i: usize| baseline - sweep[i].into();
    // Where the deviation crosses `level` between samples i and i + 1 (it rises there).
    let cross = |i: usize, level: f64| {
        let (d0, d1) = (dev(i), dev(i + 1));
        axis.time(i) + ((level - d0) / (d1 - d0)) / axis.sample_rate
    };
    let at_threshold = cross(j, threshold);
    let band = (TAKEOFF_BAND_K * noise)
        .max(0.25 * threshold)
        .min(0.5 * threshold);
    let earliest = plan.window_start.max((2 * j).saturating_sub(i_neg));
    match (earliest..=j).rev().find(|&i| dev(i) <= band) {
        Some(i) => {
            let at_band = cross(i, band);
            let time = if band > 0.0 {
                at_band - band * (at_threshold - at_band) / (threshold - band)
            } else {
                at_band
            };
            time.max(axis.time(plan.window_start))
        }
        None => at_threshold,
    }
}

/// Trapezoidal area of the deviation's linear interpolant between the onset and the
/// return, both fractional (the definition `engine.remeasure` uses for moved markers).
/// The onset lies on segment `q` (at most `j`, the threshold-crossing sample; the
/// interpolant there is the threshold for a plain crossing, near 0 at a takeoff); the
/// partial end segments are exact trapezoids: dev(onset) → dev(q+1), dev(k−1) → 0.
#[inline(always)]
fn negative_area<T: Sample>(
    sweep: &[T],
    baseline: f64,
    plan: &SweepPlan,
    (j, onset): (usize, f64),
    (k, ret): (usize, f64),
) -> f64 {
    let axis = plan.axis;
    let dt = 1.0 / axis.sample_rate;
    let dev = |i: usize| baseline - sweep[i].into();
    let pos = (onset - axis.t0) * axis.sample_rate;
    let q = (pos.floor().max(0.0) as usize).min(j);
    let frac = pos - q as f64;
    let at_onset = dev(q) * (1.0 - frac) + dev(q + 1) * frac;
    // q+1 <= j+1 <= peak <= k-1.
    let (first, last) = (q + 1, k - 1);
    let head = 0.5 * (at_onset + dev(first)) * (axis.time(first) - onset);
    let tail = 0.5 * dev(last) * (ret - axis.time(last));
    let inner = lanes::lane_sum_dev(&sweep[first..=last], baseline);
    let body = (inner - 0.5 * (dev(first) + dev(last))) * dt;
    head + body + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{CmapParams, TimeAxis};

    fn plan(len: usize) -> SweepPlan {
        SweepPlan::new(
            len,
            TimeAxis {
                sample_rate: 1000.0,
                t0: -0.010,
            },
            CmapParams::default(),
        )
        .unwrap()
    }

    #[test]
    fn triangle_is_measured_exactly() {
        // 10 baseline zeros at t = -10..-1 ms, then a triangle dipping to -4 V.
        let mut x = vec![0.0f64; 40];
        let shape = [-1.0, -2.0, -3.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 0.5];
        x[15..25].copy_from_slice(&shape); // sample 15 is t = 5 ms
        let plan = plan(40);
        let m = measure(&x, &plan);
        assert_eq!(m.baseline, 0.0);
        assert_eq!(m.noise, 0.0);
        assert_eq!(m.neg_amplitude, 4.0);
        assert!((m.neg_peak_latency - 0.008).abs() < 1e-12);
        assert!((m.pos_peak_latency - 0.013).abs() < 1e-12);
        assert_eq!(m.p2p_amplitude, 5.0);
        // The threshold 0.04 V is crossed between 4 and 5 ms; walking back, the deviation
        // is back at the baseline at sample 14 (4 ms): the takeoff, not the crossing.
        assert!((m.onset - 0.004).abs() < 1e-12, "{}", m.onset);
        // Returns to 0 exactly at sample 22 (12 ms).
        assert!((m.neg_duration - 0.008).abs() < 1e-12);
        // The whole triangle: 4 V × 8 ms / 2.
        assert!((m.neg_area - 0.016).abs() < 1e-12, "{}", m.neg_area);
        assert!(m.acceptable());
    }

    #[test]
    fn non_finite_sweep_is_unmeasured() {
        let mut x = vec![0.0f32; 40];
        x[30] = f32::NAN;
        let m = measure(&x, &plan(40));
        assert_eq!(m.flags, flags::NON_FINITE);
        assert!(m.baseline.is_nan() && m.onset.is_nan());
    }

    #[test]
    fn flat_sweep_has_no_onset() {
        let x = vec![1.0f32; 40];
        let m = measure(&x, &plan(40));
        assert_eq!(m.neg_amplitude, 0.0);
        assert_ne!(m.flags & flags::NO_ONSET, 0);
        assert!(m.onset.is_nan() && m.neg_area.is_nan());
    }

    #[test]
    fn lobe_cut_by_the_window_start_or_sweep_end_is_flagged() {
        let mut x = vec![0.0f64; 40];
        x[10..].iter_mut().for_each(|v| *v = -1.0); // starts at t = 0, never returns
        let m = measure(&x, &plan(40));
        assert_eq!(m.flags, flags::ONSET_AT_WINDOW_START | flags::NO_RETURN);
        assert!(m.onset.is_nan() && m.neg_duration.is_nan() && m.neg_area.is_nan());
        assert_eq!(m.neg_amplitude, 1.0);
    }

    #[test]
    fn onset_is_reported_even_without_a_return() {
        let mut x = vec![0.0f64; 40];
        x[20..].iter_mut().for_each(|v| *v = -1.0); // leaves the baseline after 9 ms
        let m = measure(&x, &plan(40));
        assert_eq!(m.flags, flags::NO_RETURN);
        assert!((m.onset - 0.009).abs() < 1e-12, "{}", m.onset);
        assert!(m.neg_duration.is_nan() && m.neg_area.is_nan());
    }
}
