//! Measures over series of sweeps: F-waves, H-reflex, repetitive nerve stimulation,
//! two-site comparisons (velocity, block, dispersion) and recruitment curves.

use crate::cmap::CmapMeasures;
use crate::lanes;
use crate::sample::Sample;
use crate::sweep::TimeAxis;

/// A late response inside a window: onset latency (first crossing of `k × noise` from the
/// baseline, interpolated) and peak-to-peak amplitude inside the window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowResponse {
    /// Onset (s); NaN when absent.
    pub latency: f64,
    /// Max − min inside the window (V), measured whether present or not.
    pub amplitude: f64,
    pub present: bool,
}

/// Where to look, in samples, and how to decide.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowRule {
    pub axis: TimeAxis,
    /// Samples [0, baseline_len) give baseline and noise.
    pub baseline_len: usize,
    /// Window [start, end).
    pub start: usize,
    pub end: usize,
    /// Onset threshold in multiples of the baseline noise.
    pub k: f64,
    /// A response is present when its peak-to-peak reaches this (V) and it crosses the
    /// threshold.
    pub min_amplitude: f64,
}

/// Baseline mean and population SD of the first `n` samples.
pub fn baseline_stats<T: Sample>(sweep: &[T], n: usize) -> (f64, f64) {
    let pre = &sweep[..n];
    let b = lanes::lane_sum(pre) / n as f64;
    (b, (lanes::lane_sum_sq_dev(pre, b) / n as f64).sqrt())
}

pub fn window_response<T: Sample>(sweep: &[T], rule: &WindowRule) -> WindowResponse {
    let nan = WindowResponse {
        latency: f64::NAN,
        amplitude: f64::NAN,
        present: false,
    };
    if !lanes::all_finite(sweep) || rule.start >= rule.end || rule.end > sweep.len() {
        return nan;
    }
    let (b, noise) = baseline_stats(sweep, rule.baseline_len);
    let w = &sweep[rule.start..rule.end];
    let amplitude = lanes::max(w).into() - lanes::min(w).into();
    let thr = rule.k * noise;
    let dev = |i: usize| (sweep[i].into() - b).abs();
    let first = (rule.start..rule.end).find(|&i| dev(i) >= thr && dev(i) > 0.0);
    let present = amplitude >= rule.min_amplitude && first.is_some();
    let latency = match (present, first) {
        (true, Some(i)) if i > rule.start => {
            let (d0, d1) = (dev(i - 1), dev(i));
            rule.axis.time(i - 1) + (thr - d0) / (d1 - d0) / rule.axis.sample_rate
        }
        (true, Some(i)) => rule.axis.time(i),
        _ => f64::NAN,
    };
    WindowResponse {
        latency,
        amplitude,
        present,
    }
}

/// F-wave series summary.
#[derive(Clone, Debug, PartialEq)]
pub struct FWaves {
    pub latency: Vec<f64>,
    pub amplitude: Vec<f64>,
    pub present: Vec<bool>,
    pub min_latency: f64,
    pub mean_latency: f64,
    pub max_latency: f64,
    /// Percent of sweeps with an F-wave.
    pub persistence: f64,
    /// Max − min latency (s).
    pub chronodispersion: f64,
}

pub fn f_waves<T: Sample>(samples: &[T], len: usize, rule: &WindowRule) -> FWaves {
    let rs: Vec<WindowResponse> = samples
        .chunks_exact(len)
        .map(|s| window_response(s, rule))
        .collect();
    let lat: Vec<f64> = rs.iter().filter(|r| r.present).map(|r| r.latency).collect();
    let (mn, mx) = lat
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let n = lat.len();
    let none = n == 0;
    FWaves {
        latency: rs.iter().map(|r| r.latency).collect(),
        amplitude: rs.iter().map(|r| r.amplitude).collect(),
        present: rs.iter().map(|r| r.present).collect(),
        min_latency: if none { f64::NAN } else { mn },
        mean_latency: if none {
            f64::NAN
        } else {
            lat.iter().sum::<f64>() / n as f64
        },
        max_latency: if none { f64::NAN } else { mx },
        persistence: if rs.is_empty() {
            f64::NAN
        } else {
            100.0 * n as f64 / rs.len() as f64
        },
        chronodispersion: if none { f64::NAN } else { mx - mn },
    }
}

/// Repetitive nerve stimulation: per-response amplitude and area, change against the
/// first response (percent; negative = decrement).
#[derive(Clone, Debug, PartialEq)]
pub struct Rns {
    pub amplitude_change: Vec<f64>,
    pub area_change: Vec<f64>,
    /// (first − 4th) / first × 100; NaN with fewer than 4 responses. Positive = decrement.
    pub decrement_4th: f64,
    pub decrement_5th: f64,
    /// Largest decrement over responses 2..n (percent).
    pub max_decrement: f64,
}

pub fn rns(amplitude: &[f64], area: &[f64]) -> Rns {
    let change = |xs: &[f64]| -> Vec<f64> {
        let first = xs.first().copied().unwrap_or(f64::NAN);
        xs.iter().map(|&v| 100.0 * (v - first) / first).collect()
    };
    let a = change(amplitude);
    let dec = |i: usize| a.get(i).map_or(f64::NAN, |&c| -c);
    let max_decrement =
        a.iter()
            .skip(1)
            .map(|&c| -c)
            .fold(f64::NAN, |m: f64, v| if v.is_nan() { m } else { m.max(v) });
    Rns {
        amplitude_change: a.clone(),
        area_change: change(area),
        decrement_4th: dec(3),
        decrement_5th: dec(4),
        max_decrement,
    }
}

/// Comparison of a distal and a proximal stimulation site over one segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiteComparison {
    /// distance / (proximal onset − distal onset), m/s. NaN for a non-positive delay.
    pub velocity: f64,
    pub latency_difference: f64,
    /// (1 − proximal / distal) × 100 of the negative-peak amplitude and area.
    pub amplitude_drop: f64,
    pub area_drop: f64,
    /// (proximal / distal − 1) × 100 of the negative-peak duration (temporal dispersion).
    pub duration_increase: f64,
    /// The same for the total duration.
    pub total_duration_increase: f64,
}

pub fn compare_sites(
    distal: &CmapMeasures,
    proximal: &CmapMeasures,
    distance: f64,
) -> SiteComparison {
    let dl = proximal.onset - distal.onset;
    SiteComparison {
        velocity: if dl > 0.0 { distance / dl } else { f64::NAN },
        latency_difference: dl,
        amplitude_drop: 100.0 * (1.0 - proximal.neg_amplitude / distal.neg_amplitude),
        area_drop: 100.0 * (1.0 - proximal.neg_area / distal.neg_area),
        duration_increase: 100.0 * (proximal.neg_duration / distal.neg_duration - 1.0),
        total_duration_increase: 100.0 * (proximal.total_duration / distal.total_duration - 1.0),
    }
}

/// Stimulus–response curve reduced to its levels and the supramaximal plateau.
#[derive(Clone, Debug, PartialEq)]
pub struct Recruitment {
    /// Distinct stimulus intensities, ascending, and the mean response at each.
    pub levels: Vec<f64>,
    pub level_mean: Vec<f64>,
    pub level_count: Vec<usize>,
    /// Largest level mean.
    pub max_response: f64,
    /// True when at least two of the highest levels lie within `tolerance` of the maximum.
    pub plateau_found: bool,
    /// Lowest intensity of the plateau (the first supramaximal level); NaN if none.
    pub plateau_start: f64,
    /// Mean of every response on the plateau.
    pub plateau_amplitude: f64,
    /// Lowest intensity whose mean reaches `threshold_fraction` of the maximum.
    pub threshold: f64,
    /// Intensity at half the maximum, linearly interpolated between levels.
    pub half_max_intensity: f64,
}

pub fn recruitment(
    intensity: &[f64],
    response: &[f64],
    tolerance: f64,
    threshold_fraction: f64,
) -> Recruitment {
    let mut pairs: Vec<(f64, f64)> = intensity
        .iter()
        .zip(response)
        .filter(|(i, r)| i.is_finite() && r.is_finite())
        .map(|(&i, &r)| (i, r))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut levels, mut sums, mut counts) = (Vec::new(), Vec::<f64>::new(), Vec::<usize>::new());
    for (i, r) in pairs {
        if levels.last() == Some(&i) {
            *sums.last_mut().unwrap() += r;
            *counts.last_mut().unwrap() += 1;
        } else {
            levels.push(i);
            sums.push(r);
            counts.push(1);
        }
    }
    let means: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / c as f64)
        .collect();
    let max_response = means.iter().copied().fold(f64::NAN, f64::max);
    let mut out = Recruitment {
        levels: levels.clone(),
        level_mean: means.clone(),
        level_count: counts.clone(),
        max_response,
        plateau_found: false,
        plateau_start: f64::NAN,
        plateau_amplitude: f64::NAN,
        threshold: f64::NAN,
        half_max_intensity: f64::NAN,
    };
    if means.is_empty() || max_response.is_nan() || max_response <= 0.0 {
        return out;
    }
    // Plateau: the run of top levels that all lie within tolerance of the maximum.
    let floor = (1.0 - tolerance) * max_response;
    let mut start = means.len();
    while start > 0 && means[start - 1] >= floor {
        start -= 1;
    }
    if means.len() - start >= 2 {
        out.plateau_found = true;
        out.plateau_start = levels[start];
        let (s, c) = (start..means.len()).fold((0.0, 0), |(s, c), i| (s + sums[i], c + counts[i]));
        out.plateau_amplitude = s / c as f64;
    }
    if let Some(i) = means
        .iter()
        .position(|&m| m >= threshold_fraction * max_response)
    {
        out.threshold = levels[i];
    }
    let half = 0.5 * max_response;
    if let Some(i) = means.iter().position(|&m| m >= half) {
        out.half_max_intensity = if i == 0 {
            levels[0]
        } else {
            let (m0, m1) = (means[i - 1], means[i]);
            levels[i - 1] + (half - m0) / (m1 - m0) * (levels[i] - levels[i - 1])
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIS: TimeAxis = TimeAxis {
        sample_rate: 1000.0,
        t0: -0.01,
    };

    #[test]
    fn late_response_is_timed_at_its_threshold_crossing() {
        let mut x = vec![0.0f64; 100];
        for (i, v) in x.iter_mut().enumerate().take(10) {
            *v = if i % 2 == 0 { 1e-6 } else { -1e-6 };
        }
        x[60] = 2e-5; // t = 50 ms
        x[61] = 1e-4;
        x[62] = -1e-4;
        let rule = WindowRule {
            axis: AXIS,
            baseline_len: 10,
            start: 40,
            end: 100,
            k: 5.0,
            min_amplitude: 2e-5,
        };
        let r = window_response(&x, &rule);
        assert!(r.present);
        assert!((r.amplitude - 2e-4).abs() < 1e-18);
        // Threshold 5 µV crossed between 49 ms (0) and 50 ms (20 µV): a quarter of the way.
        assert!((r.latency - 0.04925).abs() < 1e-12, "{}", r.latency);
    }

    #[test]
    fn decrement_and_recruitment_plateau() {
        let r = rns(&[10.0, 9.0, 8.5, 8.0, 8.2], &[1.0, 1.0, 1.0, 1.0, 1.0]);
        assert!((r.decrement_4th - 20.0).abs() < 1e-12);
        assert!((r.decrement_5th - 18.0).abs() < 1e-12);
        assert!((r.max_decrement - 20.0).abs() < 1e-12);
        let rc = recruitment(
            &[1.0, 2.0, 3.0, 4.0, 5.0, 5.0],
            &[0.0, 2.0, 8.0, 9.8, 10.0, 10.0],
            0.05,
            0.1,
        );
        assert!(rc.plateau_found);
        assert_eq!(rc.plateau_start, 4.0);
        assert_eq!(rc.threshold, 2.0);
        assert!((rc.half_max_intensity - 2.5).abs() < 1e-12);
        assert!((rc.plateau_amplitude - 29.8 / 3.0).abs() < 1e-12);
    }
}
