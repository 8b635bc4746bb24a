//! Property tests of the CMAP kernel: orderings and signs that must hold for any sweep,
//! recovery of a known onset from a synthetic CMAP; and the SIMD helpers (cutoff searches,
//! the streaming pass) against plain scalar definitions.

use kernels::{flags, lanes, measure_one, measure_rows, CmapParams, SweepPlan, TimeAxis};
use proptest::prelude::*;

const FS: f64 = 10_000.0;
const T0: f64 = -0.005;
const LEN: usize = 300; // -5 ms .. 25 ms

fn plan(params: CmapParams) -> SweepPlan {
    SweepPlan::new(
        LEN,
        TimeAxis {
            sample_rate: FS,
            t0: T0,
        },
        params,
    )
    .unwrap()
}

/// Noise-free biphasic CMAP: a negative half-sine lobe of `amp` volts starting at `onset`
/// and lasting `dur`, then a positive lobe half as high and twice as long.
fn synthetic_cmap(onset: f64, amp: f64, dur: f64, noise: &[f64]) -> Vec<f64> {
    (0..LEN)
        .map(|i| {
            let t = T0 + i as f64 / FS;
            let u = t - onset;
            let shape = if (0.0..dur).contains(&u) {
                -amp * (std::f64::consts::PI * u / dur).sin()
            } else if (dur..3.0 * dur).contains(&(u)) {
                0.5 * amp * (std::f64::consts::PI * (u - dur) / (2.0 * dur)).sin()
            } else {
                0.0
            };
            shape + noise[i % noise.len()]
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn orderings_and_signs_hold_for_any_sweep(
        xs in prop::collection::vec(-1.0f64..1.0, LEN),
        onset_k in 0.0f64..8.0,
        onset_frac in 0.0f64..0.5,
    ) {
        let params = CmapParams { onset_k, onset_frac, ..CmapParams::default() };
        let plan = plan(params);
        let m = measure_one(&xs, &plan);
        prop_assert_eq!(m.flags & flags::NON_FINITE, 0);
        prop_assert!(m.noise >= 0.0);
        prop_assert!(m.neg_peak_latency >= params.search_start);
        if m.pos_peak_latency.is_finite() {
            prop_assert!(m.pos_peak_latency > m.neg_peak_latency);
            prop_assert!(m.p2p_amplitude >= 0.0);
        }
        if m.onset.is_finite() {
            prop_assert!(m.onset >= T0 + plan.window_start as f64 / FS);
            prop_assert!(m.onset <= m.neg_peak_latency);
        } else {
            prop_assert_ne!(m.flags & (flags::NO_ONSET | flags::ONSET_AT_WINDOW_START), 0);
        }
        if m.neg_duration.is_finite() {
            prop_assert!(m.onset.is_finite());
            let ret = m.onset + m.neg_duration;
            prop_assert!(m.neg_peak_latency <= ret + 1e-15, "{:?}", m);
            prop_assert!(m.neg_duration > 0.0);
            prop_assert!(m.neg_area > 0.0);
            // The lobe lies between the baseline and the peak, so its area is bounded.
            prop_assert!(m.neg_area <= m.neg_amplitude * m.neg_duration * (1.0 + 1e-12));
        } else {
            prop_assert!(m.neg_area.is_nan());
            prop_assert_ne!(m.flags & (flags::NO_ONSET | flags::ONSET_AT_WINDOW_START | flags::NO_RETURN), 0);
        }
        prop_assert_eq!(m.acceptable(), m.flags == 0);
    }

    #[test]
    fn float32_and_float64_agree_exactly_on_the_same_values(
        xs in prop::collection::vec(-1.0f32..1.0, LEN),
    ) {
        let plan = plan(CmapParams::default());
        let wide: Vec<f64> = xs.iter().map(|&v| v as f64).collect();
        let a = measure_one(&xs, &plan);
        let b = measure_one(&wide, &plan);
        // Identical values give identical orderings and identical f64 arithmetic.
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn known_onset_is_recovered_within_a_sample(
        onset in 0.002f64..0.010,
        amp in 1e-3f64..10e-3,
        dur in 2e-3f64..6e-3,
        noise in prop::collection::vec(-1e-6f64..1e-6, 37),
    ) {
        let xs = synthetic_cmap(onset, amp, dur, &noise);
        let m = measure_one(&xs, &plan(CmapParams::default()));
        prop_assert_eq!(m.flags, 0, "{:?}", m);
        prop_assert!((m.onset - onset).abs() <= 1.0 / FS, "onset {} vs {}", m.onset, onset);
        prop_assert!((m.neg_peak_latency - (onset + dur / 2.0)).abs() <= 1.0 / FS);
        prop_assert!((m.neg_amplitude - amp).abs() <= 0.02 * amp);
        prop_assert!((m.neg_duration - dur).abs() <= 2.0 / FS);
        // Half-sine area 2·amp·dur/π.
        let area = 2.0 * amp * dur / std::f64::consts::PI;
        prop_assert!((m.neg_area - area).abs() <= 0.03 * area, "area {} vs {}", m.neg_area, area);
    }

    #[test]
    fn a_non_finite_sample_anywhere_leaves_the_sweep_unmeasured(
        at in 0usize..LEN,
        bad in prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
    ) {
        let mut xs = synthetic_cmap(0.004, 5e-3, 4e-3, &[0.0]);
        xs[at] = bad;
        let m = measure_one(&xs, &plan(CmapParams::default()));
        prop_assert_eq!(m.flags, flags::NON_FINITE);
        prop_assert!(m.baseline.is_nan() && m.neg_amplitude.is_nan());
    }
}

#[test]
fn batch_rows_match_single_sweeps_on_synthetic_cmaps() {
    let plan = plan(CmapParams::default());
    let mut block = Vec::new();
    for r in 0..1000 {
        let noise: Vec<f64> = (0..31)
            .map(|i| (((i * 131 + r * 17) % 97) as f64 - 48.0) * 2e-7)
            .collect();
        block.extend(synthetic_cmap(0.003 + r as f64 * 4e-6, 5e-3, 4e-3, &noise));
    }
    let cols = measure_rows(&block, &plan);
    for (r, sweep) in block.chunks_exact(LEN).enumerate() {
        let m = measure_one(sweep, &plan);
        assert_eq!(cols.onset[r], m.onset);
        assert_eq!(cols.neg_area[r], m.neg_area);
        assert_eq!(cols.flags[r], m.flags);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// The searches compare samples with a cutoff in their own type; that must equal the
    /// f64 test on the deviation for every sample (the reference's definition).
    #[test]
    fn cutoffs_equal_the_f64_deviation_tests(
        baseline in -1e-2f64..1e-2,
        threshold in 0.0f64..1e-3,
        xs in prop::collection::vec(-2e-2f32..2e-2, 1..200),
        near in prop::collection::vec(-40i32..40, 1..50),
    ) {
        let below = |v: f64| baseline - v < threshold;
        let returned = |v: f64| baseline - v <= 0.0;
        let above = |v: f64| baseline - v < 0.0;
        let c_on: f32 = lanes::cutoff(baseline - threshold, below).unwrap();
        let c_ret: f32 = lanes::cutoff(baseline, returned).unwrap();
        let c_end: f32 = lanes::cutoff(baseline, above).unwrap();
        // Random samples plus samples a few ulps either side of each cutoff.
        let mut all = xs.clone();
        for &c in &[c_on, c_ret, c_end] {
            all.extend(near.iter().map(|&k| f32::from_bits(c.to_bits().wrapping_add_signed(k))));
        }
        for &x in &all {
            let v = x as f64;
            prop_assert_eq!(below(v), x >= c_on, "onset test at {}", x);
            prop_assert_eq!(returned(v), x >= c_ret, "return test at {}", x);
            prop_assert_eq!(above(v), x >= c_end, "end test at {}", x);
        }
        prop_assert_eq!(lanes::last_at_least(&all, c_on), all.iter().rposition(|&x| below(x as f64)));
        prop_assert_eq!(lanes::first_cut(&all, c_ret, false), all.iter().position(|&x| returned(x as f64)));
        prop_assert_eq!(lanes::first_cut(&all, c_end, true), all.iter().position(|&x| !above(x as f64)));
    }

    /// The AVX2 pass (sum for finiteness, window minimum and maximum) equals a scalar
    /// scan, with NaN or ±inf anywhere and any window start.
    #[test]
    fn stream_pass_equals_a_scalar_scan(
        xs in prop::collection::vec(-1.0f64..1.0, 1..300),
        from_frac in 0.0f64..1.0,
        bad in prop::option::of((0usize..300, 0usize..3)),
    ) {
        let mut xs = xs;
        if let Some((at, kind)) = bad {
            let at = at % xs.len();
            xs[at] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][kind];
        }
        let from = ((xs.len() as f64 * from_frac) as usize).min(xs.len() - 1);
        let x32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        let finite = xs.iter().all(|v| v.is_finite());
        let (f64_ok, lo, hi) = lanes::stream_min_max(&xs, from);
        let (f32_ok, lo32, hi32) = lanes::stream_min_max(&x32, from);
        prop_assert_eq!(f64_ok, finite);
        prop_assert_eq!(f32_ok, finite);
        if finite {
            let w = &xs[from..];
            prop_assert_eq!(lo, w.iter().copied().fold(f64::INFINITY, f64::min));
            prop_assert_eq!(hi, w.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            let w = &x32[from..];
            prop_assert_eq!(lo32, w.iter().copied().fold(f32::INFINITY, f32::min));
            prop_assert_eq!(hi32, w.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        }
    }
}
