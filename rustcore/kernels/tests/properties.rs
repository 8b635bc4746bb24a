//! Property tests of the CMAP kernel: orderings and signs that must hold for any sweep,
//! and recovery of a known onset from a synthetic CMAP.

use kernels::{flags, measure_one, measure_rows, CmapParams, SweepPlan, TimeAxis};
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
