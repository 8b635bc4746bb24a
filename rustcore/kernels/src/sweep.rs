//! Where things lie in a sweep: the time axis, the pre-stimulus baseline and the search
//! window. Everything here depends only on the sweep length and the parameters, so a
//! batch validates it once and every row shares it.

use std::fmt;

/// Measurement parameters (SI). Defaults match the Python keywords.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CmapParams {
    /// Search window starts at this time (s); skips the stimulus artefact.
    pub search_start: f64,
    /// Baseline = samples with t < baseline_end (s).
    pub baseline_end: f64,
    /// Onset threshold, in multiples of baseline noise.
    pub onset_k: f64,
    /// Onset threshold, as a fraction of the negative amplitude.
    pub onset_frac: f64,
    /// LOW_SNR when the negative amplitude is below min_snr × noise.
    pub min_snr: f64,
}

impl Default for CmapParams {
    fn default() -> Self {
        Self {
            search_start: 0.001,
            baseline_end: 0.0,
            onset_k: 4.0,
            onset_frac: 0.01,
            min_snr: 3.0,
        }
    }
}

/// Sample times: sample i lies at t0 + i / sample_rate seconds (0 = stimulus).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeAxis {
    pub sample_rate: f64,
    pub t0: f64,
}

impl TimeAxis {
    /// Time of sample `i`. Written exactly as `t0 + i / fs` so that a NumPy
    /// `t0 + np.arange(n) / fs` gives bit-identical times.
    #[inline(always)]
    pub fn time(&self, i: usize) -> f64 {
        self.t0 + i as f64 / self.sample_rate
    }

    /// Number of leading samples with t < `limit` (the time axis is monotonic).
    pub fn count_before(&self, n: usize, limit: f64) -> usize {
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.time(mid) < limit {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Minimum number of pre-stimulus samples for a baseline and its noise.
pub const MIN_BASELINE_SAMPLES: usize = 8;

/// A validated layout for sweeps of `len` samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SweepPlan {
    pub axis: TimeAxis,
    pub len: usize,
    /// Samples [0, baseline_len) form the baseline.
    pub baseline_len: usize,
    /// Samples [window_start, len) form the search window.
    pub window_start: usize,
    pub params: CmapParams,
}

/// Why a sweep layout or parameter set cannot be measured (a caller error).
#[derive(Clone, Debug, PartialEq)]
pub enum PlanError {
    BadParameter(String),
    TooFewBaselineSamples { found: usize },
    EmptySearchWindow,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::BadParameter(msg) => f.write_str(msg),
            PlanError::TooFewBaselineSamples { found } => write!(
                f,
                "need at least {MIN_BASELINE_SAMPLES} pre-stimulus samples (t < baseline_end), \
                 found {found}; record with t0 < 0 or raise baseline_end"
            ),
            PlanError::EmptySearchWindow => {
                f.write_str("search window is empty: no sample has t >= search_start")
            }
        }
    }
}

impl std::error::Error for PlanError {}

impl SweepPlan {
    pub fn new(len: usize, axis: TimeAxis, params: CmapParams) -> Result<Self, PlanError> {
        let bad = |msg: &str| Err(PlanError::BadParameter(msg.to_owned()));
        if !(axis.sample_rate.is_finite() && axis.sample_rate > 0.0) {
            return bad("sample_rate must be a finite number > 0 (Hz)");
        }
        if !axis.t0.is_finite() {
            return bad("t0 must be finite (s)");
        }
        if !params.search_start.is_finite() || !params.baseline_end.is_finite() {
            return bad("search_start and baseline_end must be finite (s)");
        }
        if !(params.onset_k.is_finite() && params.onset_k >= 0.0) {
            return bad("onset_k must be a finite number >= 0");
        }
        if !(params.onset_frac.is_finite() && (0.0..=1.0).contains(&params.onset_frac)) {
            return bad("onset_frac must lie in [0, 1]");
        }
        if !(params.min_snr.is_finite() && params.min_snr >= 0.0) {
            return bad("min_snr must be a finite number >= 0");
        }
        let baseline_len = axis.count_before(len, params.baseline_end);
        if baseline_len < MIN_BASELINE_SAMPLES {
            return Err(PlanError::TooFewBaselineSamples {
                found: baseline_len,
            });
        }
        let window_start = axis.count_before(len, params.search_start);
        if window_start >= len {
            return Err(PlanError::EmptySearchWindow);
        }
        Ok(Self {
            axis,
            len,
            baseline_len,
            window_start,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIS: TimeAxis = TimeAxis {
        sample_rate: 10_000.0,
        t0: -0.005,
    };

    #[test]
    fn layout_follows_the_time_axis() {
        let plan = SweepPlan::new(500, AXIS, CmapParams::default()).unwrap();
        assert_eq!(plan.baseline_len, 50); // t = -5 ms .. -0.1 ms
        assert_eq!(plan.window_start, 60); // t = 1 ms
        assert!(AXIS.time(plan.window_start) >= 0.001);
        assert!(AXIS.time(plan.window_start - 1) < 0.001);
    }

    #[test]
    fn too_few_baseline_samples_is_an_error_with_the_rule_in_it() {
        let axis = TimeAxis {
            sample_rate: 10_000.0,
            t0: -0.0005,
        };
        let err = SweepPlan::new(500, axis, CmapParams::default()).unwrap_err();
        assert_eq!(err, PlanError::TooFewBaselineSamples { found: 5 });
        assert!(err
            .to_string()
            .contains("need at least 8 pre-stimulus samples (t < baseline_end)"));
    }

    #[test]
    fn empty_window_and_bad_parameters_are_errors() {
        let p = CmapParams {
            search_start: 1.0,
            ..CmapParams::default()
        };
        assert_eq!(
            SweepPlan::new(500, AXIS, p),
            Err(PlanError::EmptySearchWindow)
        );
        let bad_rate = TimeAxis {
            sample_rate: 0.0,
            t0: 0.0,
        };
        assert!(matches!(
            SweepPlan::new(500, bad_rate, CmapParams::default()),
            Err(PlanError::BadParameter(_))
        ));
        let p = CmapParams {
            onset_frac: 1.5,
            ..CmapParams::default()
        };
        assert!(matches!(
            SweepPlan::new(500, AXIS, p),
            Err(PlanError::BadParameter(_))
        ));
    }
}
