//! Lane-wise reductions over a slice of samples.
//!
//! Each helper keeps a fixed array of independent accumulators so the compiler turns the
//! loop into SIMD without reassociating floating-point operations. That keeps the results
//! exactly reproducible: the order in which values are combined is part of the contract
//! (the NumPy reference in tests/rustcore replays it for the baseline sums).

use crate::sample::Sample;

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

/// One fused pass: (every sample finite, minimum, maximum). The finiteness test rides on
/// the same loads as the comparisons, so the sweep is read from memory once.
#[inline(always)]
pub fn finite_min_max<T: Sample>(xs: &[T]) -> (bool, T, T) {
    let mut fin = [T::ZERO; LANES];
    let mut lo = [T::INFINITY; LANES];
    let mut hi = [T::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for j in 0..LANES {
            let v = c[j];
            fin[j] = fin[j] + v * T::ZERO;
            lo[j] = if v < lo[j] { v } else { lo[j] };
            hi[j] = if v > hi[j] { v } else { hi[j] };
        }
    }
    let mut total = T::ZERO;
    let (mut m, mut big) = (T::INFINITY, T::NEG_INFINITY);
    for &v in chunks.remainder() {
        total = total + v * T::ZERO;
        if v < m {
            m = v;
        }
        if v > big {
            big = v;
        }
    }
    for j in 0..LANES {
        total = total + fin[j];
        if lo[j] < m {
            m = lo[j];
        }
        if hi[j] > big {
            big = hi[j];
        }
    }
    (total == T::ZERO, m, big)
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
    lane_sum_map(xs, |v| v)
}

/// Sum of squared deviations from `mean`, with the same lane order as [`lane_sum`].
#[inline(always)]
pub fn lane_sum_sq_dev<T: Sample>(xs: &[T], mean: f64) -> f64 {
    lane_sum_map(xs, |v| {
        let d = v - mean;
        d * d
    })
}

/// Sum of deviations `baseline - x`, with the same lane order as [`lane_sum`].
#[inline(always)]
pub fn lane_sum_dev<T: Sample>(xs: &[T], baseline: f64) -> f64 {
    lane_sum_map(xs, |v| baseline - v)
}

/// Sum of |baseline - x|, with the same lane order as [`lane_sum`].
#[inline(always)]
pub fn lane_sum_map_abs<T: Sample>(xs: &[T], baseline: f64) -> f64 {
    lane_sum_map(xs, |v| (baseline - v).abs())
}

#[inline(always)]
fn lane_sum_map<T: Sample>(xs: &[T], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; SUM_LANES];
    let mut chunks = xs.chunks_exact(SUM_LANES);
    for c in &mut chunks {
        for j in 0..SUM_LANES {
            acc[j] += f(c[j].into());
        }
    }
    for (j, &v) in chunks.remainder().iter().enumerate() {
        acc[j] += f(v.into());
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
    fn lane_sum_is_exact_on_integers() {
        let xs: Vec<f32> = (1..=21).map(|i| i as f32).collect();
        assert_eq!(lane_sum(&xs), 231.0);
        assert_eq!(lane_sum_sq_dev(&[1.0f64, 3.0], 2.0), 2.0);
    }
}
