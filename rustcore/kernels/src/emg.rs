//! Needle EMG: motor unit potential (MUAP) detection on a filtered signal, template
//! clustering into motor units, per-unit MUAP measures and firing statistics;
//! spontaneous activity at rest (fibrillation potentials, positive sharp waves); and the
//! interference pattern (turns and amplitude) at strong effort.
//!
//! Conventions: volts, seconds; a *positive* deflection is a positive voltage (the EMG
//! display convention draws negative up; these kernels do not).

use crate::sample::Sample;

/// Robust SD of a signal: median(|x|) / 0.6745 (Quiroga et al. 2004), on every `step`-th
/// sample for speed on long records.
pub fn robust_sd(x: &[f64]) -> f64 {
    let step = (x.len() / 200_000).max(1);
    let mut a: Vec<f64> = x.iter().step_by(step).map(|v| v.abs()).collect();
    if a.is_empty() {
        return f64::NAN;
    }
    let mid = a.len() / 2;
    let (_, m, _) = a.select_nth_unstable_by(mid, |p, q| p.total_cmp(q));
    *m / 0.6745
}

/// Default detection signal: the central difference x[i+1] − x[i−1] (a zero-phase
/// high-pass that keeps the alignment of the peaks), 0 at both ends.
pub fn central_difference<T: Sample>(x: &[T]) -> Vec<f64> {
    let mut d = vec![0.0; x.len()];
    for i in 1..x.len().saturating_sub(1) {
        d[i] = x[i + 1].into() - x[i - 1].into();
    }
    d
}

/// Event detection: runs of |detect| ≥ threshold, where gaps shorter than `dead`
/// samples join one run. Each run gives (first, last) super-threshold sample.
pub fn detect_runs(detect: &[f64], threshold: f64, dead: usize) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, v) in detect.iter().enumerate() {
        if v.abs() >= threshold {
            match runs.last_mut() {
                Some(r) if i - r.1 <= dead => r.1 = i,
                _ => runs.push((i, i)),
            }
        }
    }
    runs
}

/// Event positions: the largest |detect| of each run.
pub fn detect_events(detect: &[f64], threshold: f64, dead: usize) -> Vec<usize> {
    detect_runs(detect, threshold, dead)
        .into_iter()
        .map(|(a, b)| {
            (a..=b)
                .max_by(|&p, &q| detect[p].abs().total_cmp(&detect[q].abs()))
                .unwrap_or(a)
        })
        .collect()
}

/// Decomposition parameters (SI).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MuapParams {
    pub sample_rate: f64,
    /// Detection threshold in robust SDs of the detection signal.
    pub threshold_k: f64,
    /// Minimum spacing of detected events (s).
    pub dead_time: f64,
    /// Template window: this long before and after the aligned peak (s).
    pub half_window: f64,
    /// Part of the window compared when clustering (± s around the peak).
    pub match_half_window: f64,
    /// Two waveforms are one unit when their residual energy over the matched part is
    /// below `match_tolerance` × the larger energy.
    pub match_tolerance: f64,
    /// Units with fewer firings are dropped (superpositions, noise).
    pub min_count: usize,
    /// MUAP duration threshold: max(duration_fraction × peak-to-peak, 3 × edge noise).
    pub duration_fraction: f64,
    /// A turn needs this much excursion on both sides (V).
    pub turn_amplitude: f64,
    /// At most this many candidate clusters are kept open.
    pub max_clusters: usize,
}

impl Default for MuapParams {
    fn default() -> Self {
        Self {
            sample_rate: 20_000.0,
            threshold_k: 5.0,
            dead_time: 0.002,
            half_window: 0.0125,
            match_half_window: 0.003,
            match_tolerance: 0.3,
            min_count: 3,
            duration_fraction: 0.05,
            turn_amplitude: 20e-6,
            max_clusters: 64,
        }
    }
}

/// Measures of one MUAP template (SI).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MuapMeasures {
    pub amplitude: f64,
    pub duration: f64,
    pub phases: u32,
    pub turns: u32,
    pub area: f64,
    /// Start and end of the potential, seconds from the aligned peak.
    pub start: f64,
    pub end: f64,
}

/// Measure a template (`peak` = index of the alignment point).
pub fn measure_muap(t: &[f64], peak: usize, p: &MuapParams) -> MuapMeasures {
    let fs = p.sample_rate;
    let edge = ((0.002 * fs) as usize).clamp(1, t.len() / 4);
    let edges: Vec<f64> = t[..edge]
        .iter()
        .chain(&t[t.len() - edge..])
        .copied()
        .collect();
    let base = edges.iter().sum::<f64>() / edges.len() as f64;
    let edge_sd =
        (edges.iter().map(|v| (v - base) * (v - base)).sum::<f64>() / edges.len() as f64).sqrt();
    let (lo, hi) = t
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let amplitude = hi - lo;
    let thr = (p.duration_fraction * amplitude).max(3.0 * edge_sd);
    let d = |i: usize| (t[i] - base).abs();
    // Walk out from the peak; the potential ends after 1 ms below the threshold.
    let gap = ((0.001 * fs) as usize).max(1);
    let walk = |forward: bool| -> usize {
        let mut last = peak;
        let mut quiet = 0;
        let mut i = peak;
        loop {
            if forward {
                if i + 1 >= t.len() {
                    break;
                }
                i += 1;
            } else {
                if i == 0 {
                    break;
                }
                i -= 1;
            }
            if d(i) > thr {
                last = i;
                quiet = 0;
            } else {
                quiet += 1;
                if quiet >= gap {
                    break;
                }
            }
        }
        last
    };
    let (s, e) = (walk(false), walk(true));
    // Phases: baseline crossings (with hysteresis thr/2) + 1.
    let h = 0.5 * thr;
    let mut sign = 0i8;
    let mut crossings = 0;
    for &v in &t[s..=e] {
        let x = v - base;
        let now = if x > h {
            1
        } else if x < -h {
            -1
        } else {
            0
        };
        if now != 0 {
            if sign != 0 && now != sign {
                crossings += 1;
            }
            sign = now;
        }
    }
    let turns = count_turns(&t[s..=e], p.turn_amplitude).0;
    let area = t[s..=e].iter().map(|v| (v - base).abs()).sum::<f64>() / fs;
    MuapMeasures {
        amplitude,
        duration: (e - s) as f64 / fs,
        phases: crossings + 1,
        turns: turns as u32,
        area,
        start: (s as f64 - peak as f64) / fs,
        end: (e as f64 - peak as f64) / fs,
    }
}

/// Turns: direction changes with at least `h` excursion on each side. Returns (count,
/// sum of amplitudes between consecutive turns).
pub fn count_turns<T: Sample>(x: &[T], h: f64) -> (usize, f64) {
    let Some(&first) = x.first() else {
        return (0, 0.0);
    };
    let first: f64 = first.into();
    let (mut hi, mut lo) = (first, first);
    let mut dir = 0i8; // +1 rising toward a maximum, -1 falling toward a minimum
    let mut last_turn = f64::NAN;
    let (mut n, mut sum) = (0usize, 0.0);
    for &v in x {
        let v: f64 = v.into();
        match dir {
            0 => {
                hi = hi.max(v);
                lo = lo.min(v);
                if hi - v >= h {
                    // Came down from hi: that maximum is the first extreme.
                    dir = -1;
                    last_turn = hi;
                    lo = v;
                } else if v - lo >= h {
                    dir = 1;
                    last_turn = lo;
                    hi = v;
                }
            }
            1 => {
                if v > hi {
                    hi = v;
                } else if hi - v >= h {
                    n += 1;
                    sum += (hi - last_turn).abs();
                    last_turn = hi;
                    dir = -1;
                    lo = v;
                }
            }
            _ => {
                if v < lo {
                    lo = v;
                } else if v - lo >= h {
                    n += 1;
                    sum += (last_turn - lo).abs();
                    last_turn = lo;
                    dir = 1;
                    hi = v;
                }
            }
        }
    }
    (n, sum)
}

/// One motor unit.
#[derive(Clone, Debug, PartialEq)]
pub struct MotorUnit {
    pub template: Vec<f64>,
    /// Sample indices of its firings (aligned peaks).
    pub firings: Vec<usize>,
    pub measures: MuapMeasures,
    /// 1 / median inter-spike interval over intervals ≤ 0.5 s (Hz); NaN with < 2 firings.
    pub firing_rate: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decomposition {
    pub noise: f64,
    pub threshold: f64,
    pub events: Vec<usize>,
    /// Unit of each event (index into `units`) or -1.
    pub event_unit: Vec<i64>,
    pub units: Vec<MotorUnit>,
    /// Samples before / after the aligned peak in every template.
    pub before: usize,
    pub after: usize,
    /// Firing rate of the first-recruited unit when the second one starts firing (Hz).
    pub recruitment_frequency: f64,
}

fn waveform<T: Sample>(raw: &[T], at: usize, before: usize, after: usize) -> Vec<f64> {
    let w: Vec<f64> = raw[at - before..=at + after]
        .iter()
        .map(|&v| v.into())
        .collect();
    let mut sorted = w.clone();
    let mid = sorted.len() / 2;
    let (_, med, _) = sorted.select_nth_unstable_by(mid, |p, q| p.total_cmp(q));
    let med = *med;
    w.into_iter().map(|v| v - med).collect()
}

/// The main spike of a run: the largest |raw − median of the run's neighbourhood| in
/// [from, to], a steadier landmark than the detection-signal peak.
fn align_on_peak<T: Sample>(raw: &[T], from: usize, to: usize) -> usize {
    let mid = (from + to) / 2;
    let half = (to - from) / 2 + 1;
    let w = waveform(raw, mid, 2 * half, 2 * half);
    let off = mid - 2 * half;
    (from..=to)
        .max_by(|&a, &b| w[a - off].abs().total_cmp(&w[b - off].abs()))
        .unwrap_or(mid)
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    let (mut r, mut ea, mut eb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        r += (x - y) * (x - y);
        ea += x * x;
        eb += y * y;
    }
    r / ea.max(eb).max(f64::MIN_POSITIVE)
}

pub fn firing_rate(firings: &[usize], fs: f64) -> f64 {
    let mut isi: Vec<f64> = firings
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / fs)
        .filter(|&d| d > 0.0 && d <= 0.5)
        .collect();
    if isi.is_empty() {
        return f64::NAN;
    }
    isi.sort_by(|a, b| a.total_cmp(b));
    let n = isi.len();
    let med = if n % 2 == 1 {
        isi[n / 2]
    } else {
        0.5 * (isi[n / 2 - 1] + isi[n / 2])
    };
    1.0 / med
}

/// Decompose a needle EMG record. `detect` is the detection signal (a high-passed copy of
/// `raw`, same length); waveforms are cut from `raw`.
pub fn decompose<T: Sample>(raw: &[T], detect: &[f64], p: &MuapParams) -> Decomposition {
    assert_eq!(
        raw.len(),
        detect.len(),
        "raw and detection signals differ in length"
    );
    let fs = p.sample_rate;
    let noise = robust_sd(detect);
    let threshold = p.threshold_k * noise;
    let before = (p.half_window * fs).round() as usize;
    let after = before;
    let align = ((0.001 * fs) as usize).max(1);
    let dead = ((p.dead_time * fs) as usize).max(1);
    let mut events: Vec<usize> = if noise > 0.0 && noise.is_finite() {
        detect_runs(detect, threshold, dead)
            .into_iter()
            .filter(|&(a, b)| a >= 2 * before + align && b + 2 * after + align < raw.len())
            .map(|(a, b)| align_on_peak(raw, a - align, b + align))
            .collect()
    } else {
        Vec::new()
    };
    events.dedup();
    let mh = ((p.match_half_window * fs).round() as usize).min(before);
    let core = before - mh..=before + mh;
    let waves: Vec<Vec<f64>> = events
        .iter()
        .map(|&i| waveform(raw, i, before, after))
        .collect();

    // Pass 1: greedy clustering on running means.
    let mut sums: Vec<Vec<f64>> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut means: Vec<Vec<f64>> = Vec::new();
    for w in &waves {
        let c = &w[core.clone()];
        let best = means
            .iter()
            .enumerate()
            .map(|(k, m)| (k, distance(c, m)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((k, d)) if d < p.match_tolerance => {
                sums[k].iter_mut().zip(w).for_each(|(s, v)| *s += v);
                counts[k] += 1;
                let n = counts[k] as f64;
                means[k] = sums[k][core.clone()].iter().map(|s| s / n).collect();
            }
            _ if means.len() < p.max_clusters => {
                sums.push(w.clone());
                counts.push(1);
                means.push(c.to_vec());
            }
            _ => {}
        }
    }
    // Keep clusters with enough members, then merge near-duplicates (largest first).
    let mut order: Vec<usize> = (0..means.len())
        .filter(|&k| counts[k] >= p.min_count)
        .collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
    let mut kept: Vec<Vec<f64>> = Vec::new();
    for k in order {
        if kept
            .iter()
            .all(|m| distance(&means[k], m) >= p.match_tolerance)
        {
            kept.push(means[k].clone());
        }
    }
    // Pass 2: every event to its nearest kept template.
    let mut event_unit = vec![-1i64; events.len()];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); kept.len()];
    for (e, w) in waves.iter().enumerate() {
        let c = &w[core.clone()];
        if let Some((k, d)) = kept
            .iter()
            .enumerate()
            .map(|(k, m)| (k, distance(c, m)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
        {
            if d < p.match_tolerance {
                members[k].push(e);
            }
        }
    }
    let mut units: Vec<MotorUnit> = Vec::new();
    for m in members.into_iter().filter(|m| m.len() >= p.min_count) {
        let width = before + after + 1;
        let mut template = vec![0.0; width];
        for &e in &m {
            template
                .iter_mut()
                .zip(&waves[e])
                .for_each(|(t, v)| *t += v);
        }
        let n = m.len() as f64;
        template.iter_mut().for_each(|t| *t /= n);
        let firings: Vec<usize> = m.iter().map(|&e| events[e]).collect();
        let measures = measure_muap(&template, before, p);
        units.push(MotorUnit {
            firing_rate: firing_rate(&firings, fs),
            template,
            firings,
            measures,
        });
    }
    units.sort_by_key(|u| u.firings[0]);
    for (k, u) in units.iter().enumerate() {
        for &f in &u.firings {
            if let Ok(e) = events.binary_search(&f) {
                event_unit[e] = k as i64;
            }
        }
    }
    let recruitment_frequency = if units.len() >= 2 {
        let t1 = units[1].firings[0];
        let f = &units[0].firings;
        f.windows(2)
            .find(|w| w[0] <= t1 && t1 <= w[1])
            .map(|w| (w[1] - w[0]) as f64 / fs)
            .filter(|&d| d > 0.0 && d <= 0.5)
            .map_or(f64::NAN, |d| 1.0 / d)
    } else {
        f64::NAN
    };
    Decomposition {
        noise,
        threshold,
        events,
        event_unit,
        units,
        before,
        after,
        recruitment_frequency,
    }
}

/// Kinds of spontaneous potentials.
pub const OTHER: u8 = 0;
pub const FIBRILLATION: u8 = 1;
pub const POSITIVE_SHARP_WAVE: u8 = 2;

#[derive(Clone, Debug, PartialEq)]
pub struct Spontaneous {
    pub events: Vec<usize>,
    pub kind: Vec<u8>,
    /// Duration (s) and peak-to-peak amplitude (V) of each event.
    pub duration: Vec<f64>,
    pub amplitude: Vec<f64>,
    pub noise: f64,
}

/// Detect and classify potentials in a record at rest. Fibrillation potential: initial
/// positive phase, duration 0.5–5 ms. Positive sharp wave: initial positive sharp phase
/// (reached within 3 ms of the onset) followed by a negative phase at least twice as long,
/// total duration > 3 ms, positive peak ≥ 1.5 × the negative one (tested first).
pub fn spontaneous<T: Sample>(raw: &[T], detect: &[f64], p: &MuapParams) -> Spontaneous {
    let fs = p.sample_rate;
    let noise = robust_sd(detect);
    let before = (0.010 * fs) as usize;
    let after = (0.030 * fs) as usize;
    let dead = ((p.dead_time * fs) as usize).max(1);
    let mut out = Spontaneous {
        events: Vec::new(),
        kind: Vec::new(),
        duration: Vec::new(),
        amplitude: Vec::new(),
        noise,
    };
    if !(noise > 0.0 && noise.is_finite()) {
        return out;
    }
    let raw_noise = {
        let r: Vec<f64> = raw.iter().map(|&v| v.into()).collect();
        let mut c = r.clone();
        let mid = c.len() / 2;
        let med = *c.select_nth_unstable_by(mid, |a, b| a.total_cmp(b)).1;
        let dev: Vec<f64> = r.iter().map(|v| v - med).collect();
        robust_sd(&dev)
    };
    for at in detect_events(detect, p.threshold_k * noise, dead) {
        if at < before || at + after >= raw.len() {
            continue;
        }
        let w = waveform(raw, at, before, after);
        let (lo, hi) = w
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let amp = hi - lo;
        let thr = (0.1 * amp).max(3.0 * raw_noise);
        // Extent: from the first to the last super-threshold sample near the event.
        let m = MuapParams {
            duration_fraction: thr / amp.max(f64::MIN_POSITIVE),
            ..*p
        };
        let mm = measure_muap(&w, before, &m);
        let (s, e) = (
            (before as f64 + mm.start * fs).round() as usize,
            (before as f64 + mm.end * fs).round() as usize,
        );
        let first_pos = w[s] > 0.0;
        let i_hi = (s..=e).max_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap_or(s);
        let i_lo = (s..=e).min_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap_or(s);
        let duration = mm.duration;
        let pos_time = (i_hi - s) as f64 / fs;
        let neg_len = (e.saturating_sub(i_hi)) as f64 / fs;
        let kind = if first_pos
            && duration > 0.003
            && pos_time <= 0.003
            && i_lo > i_hi
            && hi >= 1.5 * -lo
            && neg_len >= 2.0 * pos_time
        {
            POSITIVE_SHARP_WAVE
        } else if first_pos && (0.0005..=0.005).contains(&duration) {
            FIBRILLATION
        } else {
            OTHER
        };
        out.events.push(at);
        out.kind.push(kind);
        out.duration.push(duration);
        out.amplitude.push(amp);
    }
    out
}

/// Interference pattern: turns (≥ `h` excursion) per second and mean amplitude between
/// consecutive turns, overall and per epoch of `epoch` samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Interference {
    pub turns_per_second: f64,
    pub mean_amplitude: f64,
    pub epoch_turns_per_second: Vec<f64>,
    pub epoch_mean_amplitude: Vec<f64>,
}

pub fn interference<T: Sample>(x: &[T], fs: f64, h: f64, epoch: usize) -> Interference {
    let (n, sum) = count_turns(x, h);
    let secs = x.len() as f64 / fs;
    let per = |n: usize, s: f64, secs: f64| {
        (n as f64 / secs, if n > 0 { s / n as f64 } else { f64::NAN })
    };
    let (tps, amp) = per(n, sum, secs);
    let (mut et, mut ea) = (Vec::new(), Vec::new());
    if epoch > 0 {
        for c in x.chunks_exact(epoch) {
            let (n, s) = count_turns(c, h);
            let (a, b) = per(n, s, epoch as f64 / fs);
            et.push(a);
            ea.push(b);
        }
    }
    Interference {
        turns_per_second: tps,
        mean_amplitude: amp,
        epoch_turns_per_second: et,
        epoch_mean_amplitude: ea,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two units with distinct shapes firing regularly, plus a little deterministic noise.
    fn synthetic(fs: f64, secs: f64) -> (Vec<f64>, Vec<Vec<usize>>) {
        let n = (fs * secs) as usize;
        let mut x: Vec<f64> = (0..n)
            .map(|i| (((i * 7919) % 101) as f64 - 50.0) * 1e-8)
            .collect();
        let shapes: [fn(f64) -> f64; 2] = [
            |u| -400e-6 * (-(u / 1e-3).powi(2)).exp() * (1.0 - 2.0 * (u / 1e-3).powi(2)),
            |u| 900e-6 * (u / 2e-3) * (-(u / 2e-3).powi(2)).exp() * (1.0 + 0.4 * (u / 2e-3).tanh()),
        ];
        let periods = [0.083, 0.117];
        let mut truth = vec![Vec::new(), Vec::new()];
        for k in 0..2 {
            let mut t = 0.02 + 0.011 * k as f64;
            while t < secs - 0.02 {
                let c = (t * fs) as usize;
                truth[k].push(c);
                let half = (0.01 * fs) as usize;
                for (i, v) in x.iter_mut().enumerate().skip(c - half).take(2 * half) {
                    *v += shapes[k]((i as f64 - c as f64) / fs);
                }
                t += periods[k];
            }
        }
        (x, truth)
    }

    #[test]
    fn two_units_are_separated_with_their_rates() {
        let fs = 20_000.0;
        let (x, truth) = synthetic(fs, 5.0);
        let detect = central_difference(&x);
        let p = MuapParams {
            sample_rate: fs,
            ..MuapParams::default()
        };
        let d = decompose(&x, &detect, &p);
        assert_eq!(
            d.units.len(),
            2,
            "{:?}",
            d.units.iter().map(|u| u.firings.len()).collect::<Vec<_>>()
        );
        let mut rates: Vec<f64> = d.units.iter().map(|u| u.firing_rate).collect();
        rates.sort_by(|a, b| a.total_cmp(b));
        assert!((rates[0] - 1.0 / 0.117).abs() < 0.3, "{rates:?}");
        assert!((rates[1] - 1.0 / 0.083).abs() < 0.3, "{rates:?}");
        let total: usize = d.units.iter().map(|u| u.firings.len()).sum();
        let want: usize = truth.iter().map(|t| t.len()).sum();
        assert!(total as f64 >= 0.85 * want as f64, "{total} of {want}");
    }

    #[test]
    fn turns_need_the_excursion() {
        let x = [0.0, 1.0, 0.0, 1.0, 0.95, 1.0, 0.0];
        assert_eq!(count_turns(&x, 0.5).0, 3);
        assert_eq!(count_turns(&x, 2.0).0, 0);
    }
}
