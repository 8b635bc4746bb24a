//! Lane-wise reductions over a slice of samples.
//!
//! Each helper keeps a fixed array of independent accumulators so the compiler turns the
//! loop into SIMD without reassociating floating-point operations. That keeps the results
//! exactly reproducible: the order in which values are combined is part of the contract
//! (the NumPy reference in tests/rustcore replays it for the baseline sums).

use crate::sample::Sample;
use crate::stream::LaneMap;

/// Width of the comparison lanes (two AVX2 registers of f32, four of f64).
const LANES: usize = 16;
/// Width of the f64 accumulators for baseline sums. Fixed: the reference replays it.
pub const SUM_LANES: usize = 8;

/// True when every sample is finite. `x * 0` is ±0 for finite x and NaN for NaN or ±inf,
/// and a NaN survives any sum. (Multiply and add run on different FP pipes, so this is
/// cheaper than `x - x`.)
#[inline(always)]
pub fn all_finite<T: Sample>(xs: &[T]) -> bool {
    let mut acc = [T::ZERO; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for j in 0..LANES {
            acc[j] = acc[j] + c[j] * T::ZERO;
        }
    }
    let mut total = T::ZERO;
    for &v in chunks.remainder() {
        total = total + v * T::ZERO;
    }
    for v in acc {
        total = total + v;
    }
    total == T::ZERO
}

/// One pass over a whole sweep, in memory order: (every sample finite, minimum and
/// maximum of `xs[from..]`).
///
/// Finiteness rides on a plain sum: a NaN or ±inf anywhere makes the sum non-finite,
/// and a finite sum proves every term finite. Only a non-finite sum (which huge finite
/// values can also give) is checked again exactly.
#[inline(always)]
pub fn stream_min_max<T: Sample>(xs: &[T], from: usize) -> (bool, T, T) {
    let (total, m, big) = T::sum_min_max(xs, from);
    let total: f64 = total.into();
    let finite = total.is_finite() || all_finite(xs);
    (finite, m, big)
}

/// One fused pass: (every sample finite, minimum, maximum). The finiteness test rides on
/// the same loads as the comparisons.
#[inline(always)]
pub fn finite_min_max<T: Sample>(xs: &[T]) -> (bool, T, T) {
    stream_min_max(xs, 0)
}

/// First index whose sample (as f64) satisfies `pred`, testing a block of lanes at a
/// time (the test vectorises; the position is then found within the hit block).
#[inline(always)]
pub fn first_where<T: Sample>(xs: &[T], pred: impl Fn(f64) -> bool) -> Option<usize> {
    let mut chunks = xs.chunks_exact(SUM_LANES);
    let mut base = 0;
    for c in &mut chunks {
        let mut hit = false;
        for &v in c {
            hit |= pred(v.into());
        }
        if hit {
            return c.iter().position(|&v| pred(v.into())).map(|i| base + i);
        }
        base += SUM_LANES;
    }
    chunks
        .remainder()
        .iter()
        .position(|&v| pred(v.into()))
        .map(|i| base + i)
}

/// Last index whose sample (as f64) satisfies `pred`, scanning back a block at a time.
#[inline(always)]
pub fn last_where<T: Sample>(xs: &[T], pred: impl Fn(f64) -> bool) -> Option<usize> {
    let mut chunks = xs.rchunks_exact(SUM_LANES);
    let mut end = xs.len();
    for c in &mut chunks {
        end -= SUM_LANES;
        let mut hit = false;
        for &v in c {
            hit |= pred(v.into());
        }
        if hit {
            return c.iter().rposition(|&v| pred(v.into())).map(|i| end + i);
        }
    }
    chunks.remainder().iter().rposition(|&v| pred(v.into()))
}

/// Smallest sample (the first of equals does not matter for the value). Empty → +inf.
#[inline(always)]
pub fn min<T: Sample>(xs: &[T]) -> T {
    let mut acc = [T::INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for j in 0..LANES {
            // Select form (not `if … { acc = … }`): compiles to a vector min.
            acc[j] = if c[j] < acc[j] { c[j] } else { acc[j] };
        }
    }
    let mut m = T::INFINITY;
    for &v in chunks.remainder().iter().chain(acc.iter()) {
        if v < m {
            m = v;
        }
    }
    m
}

/// Largest sample. Empty → -inf.
#[inline(always)]
pub fn max<T: Sample>(xs: &[T]) -> T {
    let mut acc = [T::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for j in 0..LANES {
            acc[j] = if c[j] > acc[j] { c[j] } else { acc[j] };
        }
    }
    let mut m = T::NEG_INFINITY;
    for &v in chunks.remainder().iter().chain(acc.iter()) {
        if v > m {
            m = v;
        }
    }
    m
}

/// The smallest sample value `c` with `pred(c)`, for a predicate that is false below
/// some value and true from it on (a comparison of an f64 expression that rounds
/// monotonically in the sample). Then `pred(x)` ⇔ `x >= c` for every sample x, so a
/// search tests samples in their own type. `guess` should lie within a few ulps; None
/// when the walk does not settle (the caller then tests in f64).
#[inline(always)]
pub fn cutoff<T: Sample>(guess: f64, pred: impl Fn(f64) -> bool) -> Option<T> {
    let mut v = T::from_f64(guess);
    for _ in 0..64 {
        if pred(v.into()) {
            let below = v.next_down();
            if below == v || !pred(below.into()) {
                return Some(v);
            }
            v = below;
        } else {
            v = v.next_up();
        }
    }
    None
}

/// Index of the first sample `>= c` (`below` false) or `< c` (`below` true).
#[inline(always)]
pub fn first_cut<T: Sample>(xs: &[T], c: T, below: bool) -> Option<usize> {
    let test = |v: T| (v >= c) != below;
    let mut chunks = xs.chunks_exact(LANES);
    let mut base = 0;
    for ch in &mut chunks {
        let mut hit = false;
        for &v in ch {
            hit |= test(v);
        }
        if hit {
            return ch.iter().position(|&v| test(v)).map(|i| base + i);
        }
        base += LANES;
    }
    chunks
        .remainder()
        .iter()
        .position(|&v| test(v))
        .map(|i| base + i)
}

/// Index of the last sample `>= c`.
#[inline(always)]
pub fn last_at_least<T: Sample>(xs: &[T], c: T) -> Option<usize> {
    let mut chunks = xs.rchunks_exact(LANES);
    let mut end = xs.len();
    for ch in &mut chunks {
        end -= LANES;
        let mut hit = false;
        for &v in ch {
            hit |= v >= c;
        }
        if hit {
            return ch.iter().rposition(|&v| v >= c).map(|i| end + i);
        }
    }
    chunks.remainder().iter().rposition(|&v| v >= c)
}

/// Index of the first sample equal to `target`, scanning a whole lane block at a time.
#[inline(always)]
pub fn first_equal<T: Sample>(xs: &[T], target: T) -> Option<usize> {
    let mut chunks = xs.chunks_exact(LANES);
    let mut base = 0;
    for c in &mut chunks {
        let mut hit = false;
        for &v in c {
            hit |= v == target;
        }
        if hit {
            return c.iter().position(|&v| v == target).map(|i| base + i);
        }
        base += LANES;
    }
    chunks
        .remainder()
        .iter()
        .position(|&v| v == target)
        .map(|i| base + i)
}

/// Sum in `SUM_LANES` f64 accumulators: lane j adds samples j, j+8, j+16, … in order, and
/// the lanes combine pairwise as ((0+1)+(2+3))+((4+5)+(6+7)).
#[inline(always)]
pub fn lane_sum<T: Sample>(xs: &[T]) -> f64 {
    lane_sum_map(xs, LaneMap::Value)
}

/// Sum of squared deviations from `mean`, with the same lane order as [`lane_sum`].
#[inline(always)]
pub fn lane_sum_sq_dev<T: Sample>(xs: &[T], mean: f64) -> f64 {
    lane_sum_map(xs, LaneMap::SqDev(mean))
}

/// Sum of deviations `baseline - x`, with the same lane order as [`lane_sum`].
#[inline(always)]
pub fn lane_sum_dev<T: Sample>(xs: &[T], baseline: f64) -> f64 {
    lane_sum_map(xs, LaneMap::Dev(baseline))
}

/// Sum of |baseline - x|, with the same lane order as [`lane_sum`].
#[inline(always)]
pub fn lane_sum_map_abs<T: Sample>(xs: &[T], baseline: f64) -> f64 {
    lane_sum_map(xs, LaneMap::AbsDev(baseline))
}

#[inline(always)]
fn lane_sum_map<T: Sample>(xs: &[T], map: LaneMap) -> f64 {
    let mut acc = T::lane_sums(xs, map);
    let whole = xs.len() / SUM_LANES * SUM_LANES;
    for (j, &v) in xs[whole..].iter().enumerate() {
        acc[j] += map.apply(v.into());
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_detects_nan_and_inf_anywhere() {
        let mut xs = vec![1.0f32; 37];
        assert!(all_finite(&xs));
        for i in [0, 15, 16, 36] {
            xs[i] = f32::NAN;
            assert!(!all_finite(&xs));
            xs[i] = f32::NEG_INFINITY;
            assert!(!all_finite(&xs));
            xs[i] = 1.0;
        }
        assert!(all_finite::<f64>(&[]));
    }

    #[test]
    fn min_max_and_first_equal_match_scalar() {
        let xs: Vec<f64> = (0..53).map(|i| ((i * 37) % 23) as f64 - 11.0).collect();
        let m = min(&xs);
        assert_eq!(m, -11.0);
        assert_eq!(max(&xs), 11.0);
        assert_eq!(first_equal(&xs, m), xs.iter().position(|&v| v == m));
        assert_eq!(first_equal(&xs, 99.0), None);
        assert_eq!(min::<f32>(&[]), f32::INFINITY);
    }

    #[test]
    fn stream_pass_matches_scalar_and_catches_non_finite() {
        let xs: Vec<f32> = (0..203).map(|i| ((i * 37) % 101) as f32 - 50.0).collect();
        for from in [0, 1, 31, 32, 33, 150, 202] {
            let (fin, lo, hi) = stream_min_max(&xs, from);
            assert!(fin);
            let w = &xs[from..];
            assert_eq!(lo, w.iter().copied().fold(f32::INFINITY, f32::min));
            assert_eq!(hi, w.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        }
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in [0, 40, 202] {
                let mut ys = xs.clone();
                ys[at] = bad;
                assert!(!finite_min_max(&ys).0, "{bad} at {at}");
            }
        }
        // Huge finite values overflow the sum but are still finite.
        assert!(finite_min_max(&[f32::MAX; 70]).0);
    }

    #[test]
    fn first_and_last_where_match_scalar() {
        let xs: Vec<f64> = (0..45).map(|i| ((i * 17) % 23) as f64).collect();
        for k in 0..25 {
            let p = |v: f64| v == k as f64;
            assert_eq!(first_where(&xs, p), xs.iter().position(|&v| p(v)));
            assert_eq!(last_where(&xs, p), xs.iter().rposition(|&v| p(v)));
        }
        assert_eq!(first_where::<f32>(&[], |_| true), None);
        assert_eq!(last_where::<f32>(&[], |_| true), None);
    }

    #[test]
    fn cutoff_turns_an_f64_test_into_a_sample_comparison() {
        for (b, thr) in [(0.0, 5e-5), (1.3e-4, 2.2e-5), (-3e-3, 1e-7), (0.1, 0.0)] {
            let below = |v: f64| b - v < thr;
            let c: f32 = cutoff(b - thr, below).unwrap();
            assert!(below(c as f64) && !below(c.next_down() as f64));
            let xs: Vec<f32> = (-300..300)
                .map(|i| c + i as f32 * c.abs().max(1e-30) * 1e-7)
                .collect();
            for &x in &xs {
                assert_eq!(below(x as f64), x >= c, "{b} {thr} {x}");
            }
            assert_eq!(
                first_cut(&xs, c, false),
                xs.iter().position(|&x| below(x as f64))
            );
            assert_eq!(
                first_cut(&xs, c, true),
                xs.iter().position(|&x| !below(x as f64))
            );
            assert_eq!(
                last_at_least(&xs, c),
                xs.iter().rposition(|&x| below(x as f64))
            );
        }
    }

    #[test]
    fn float32_lane_sums_equal_the_float64_ones_bit_for_bit() {
        let x32: Vec<f32> = (0..203)
            .map(|i| ((i * 7919) % 1013) as f32 * 1.37e-5 - 6e-3)
            .collect();
        let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        for n in [0, 7, 8, 9, 64, 203] {
            let (a, b) = (&x32[..n], &x64[..n]);
            assert_eq!(lane_sum(a).to_bits(), lane_sum(b).to_bits());
            assert_eq!(
                lane_sum_sq_dev(a, 1e-4).to_bits(),
                lane_sum_sq_dev(b, 1e-4).to_bits()
            );
            assert_eq!(
                lane_sum_dev(a, 2e-4).to_bits(),
                lane_sum_dev(b, 2e-4).to_bits()
            );
            assert_eq!(
                lane_sum_map_abs(a, 2e-4).to_bits(),
                lane_sum_map_abs(b, 2e-4).to_bits()
            );
        }
    }

    #[test]
    fn lane_sum_is_exact_on_integers() {
        let xs: Vec<f32> = (1..=21).map(|i| i as f32).collect();
        assert_eq!(lane_sum(&xs), 231.0);
        assert_eq!(lane_sum_sq_dev(&[1.0f64, 3.0], 2.0), 2.0);
    }
}
