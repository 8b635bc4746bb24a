//! Signal averaging with artefact rejection: a running average that sweeps join one at a
//! time (live display), and the same rule applied to a whole block.
//!
//! A sweep is rejected when it holds a non-finite sample, when its peak-to-peak amplitude
//! over the samples from `reject_from` on exceeds `max_p2p`, or when the standard deviation
//! of its baseline samples exceeds `max_noise` (both in volts; infinity disables a test).

use crate::lanes;
use crate::sample::Sample;

/// Rejection rule, with sample indices already resolved from times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RejectRule {
    /// Samples [0, baseline_len) are the baseline (for the noise test).
    pub baseline_len: usize,
    /// Peak-to-peak is taken over samples [p2p_start, len).
    pub p2p_start: usize,
    pub max_p2p: f64,
    pub max_noise: f64,
}

impl RejectRule {
    /// Why (if at all) this sweep is rejected: `None` = accepted.
    #[inline]
    pub fn verdict<T: Sample>(&self, sweep: &[T]) -> Option<Rejection> {
        let (finite, lo, hi) = lanes::finite_min_max(&sweep[self.p2p_start.min(sweep.len())..]);
        if !finite || !lanes::all_finite(&sweep[..self.p2p_start.min(sweep.len())]) {
            return Some(Rejection::NonFinite);
        }
        if self.max_p2p.is_finite() && hi.into() - lo.into() > self.max_p2p {
            return Some(Rejection::PeakToPeak);
        }
        if self.max_noise.is_finite() && self.baseline_len >= 2 {
            let pre = &sweep[..self.baseline_len];
            let mean = lanes::lane_sum(pre) / pre.len() as f64;
            let sd = (lanes::lane_sum_sq_dev(pre, mean) / pre.len() as f64).sqrt();
            if sd > self.max_noise {
                return Some(Rejection::Noise);
            }
        }
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    NonFinite,
    PeakToPeak,
    Noise,
}

/// A running average of accepted sweeps, summed in float64.
#[derive(Clone, Debug)]
pub struct Averager {
    rule: RejectRule,
    sum: Vec<f64>,
    pub accepted: usize,
    pub rejected: usize,
}

impl Averager {
    pub fn new(len: usize, rule: RejectRule) -> Self {
        Self {
            rule,
            sum: vec![0.0; len],
            accepted: 0,
            rejected: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.sum.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sum.is_empty()
    }

    /// Add one sweep (length must match): true when accepted into the average.
    pub fn add<T: Sample>(&mut self, sweep: &[T]) -> bool {
        assert_eq!(
            sweep.len(),
            self.sum.len(),
            "sweep length does not match the average"
        );
        if self.rule.verdict(sweep).is_some() {
            self.rejected += 1;
            return false;
        }
        for (s, &v) in self.sum.iter_mut().zip(sweep) {
            *s += v.into();
        }
        self.accepted += 1;
        true
    }

    /// The current average (NaN everywhere while nothing has been accepted).
    pub fn mean(&self) -> Vec<f64> {
        let n = self.accepted as f64;
        self.sum
            .iter()
            .map(|&s| if self.accepted == 0 { f64::NAN } else { s / n })
            .collect()
    }

    pub fn reset(&mut self) {
        self.sum.iter_mut().for_each(|s| *s = 0.0);
        self.accepted = 0;
        self.rejected = 0;
    }
}

/// Average every accepted row of a row-major block: (mean, accepted mask).
pub fn average_rows<T: Sample>(
    samples: &[T],
    len: usize,
    rule: RejectRule,
) -> (Vec<f64>, Vec<bool>) {
    assert!(
        len > 0 && samples.len().is_multiple_of(len),
        "block is not a whole number of sweeps"
    );
    let mut avg = Averager::new(len, rule);
    let mask = samples.chunks_exact(len).map(|row| avg.add(row)).collect();
    (avg.mean(), mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(max_p2p: f64, max_noise: f64) -> RejectRule {
        RejectRule {
            baseline_len: 4,
            p2p_start: 4,
            max_p2p,
            max_noise,
        }
    }

    #[test]
    fn rejects_big_noisy_and_non_finite_sweeps() {
        let good = [0.0, 0.0, 0.0, 0.0, -1.0, 1.0];
        let big = [0.0, 0.0, 0.0, 0.0, -5.0, 5.0];
        let noisy = [1.0, -1.0, 1.0, -1.0, -1.0, 1.0];
        let nan = [0.0, 0.0, 0.0, 0.0, f64::NAN, 1.0];
        let block: Vec<f64> = [good, big, noisy, nan, good].concat();
        let (mean, mask) = average_rows(&block, 6, rule(3.0, 0.5));
        assert_eq!(mask, vec![true, false, false, false, true]);
        assert_eq!(mean, good.to_vec());
        let (_, mask) = average_rows(&block, 6, rule(f64::INFINITY, f64::INFINITY));
        assert_eq!(mask, vec![true, true, true, false, true]);
    }

    #[test]
    fn empty_average_is_nan() {
        let a = Averager::new(3, rule(1.0, 1.0));
        assert!(a.mean().iter().all(|v| v.is_nan()));
    }
}
