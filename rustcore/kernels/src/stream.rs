//! The one pass over a sweep that reads it from memory, written with AVX2 intrinsics:
//! auto-vectorised, the same loop kept its twelve accumulators on the stack (masked
//! stores in the hot loop) once inlined into the batch loop, at 5x the read pass.
//!
//! Callers reach these through [`crate::sample::Sample::sum_min_max`], which picks the
//! intrinsics when the CPU has AVX2.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Sum of all samples, minimum and maximum of `xs[from..]` (±inf when empty), f32.
/// In memory order, so the hardware prefetcher streams the batch (software prefetch of
/// the next sweep, tried at 1 and 4 sweeps ahead, into L1 or L2, measured slower).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sum_min_max_f32(xs: &[f32], from: usize) -> (f32, f32, f32) {
    const W: usize = 32; // four registers of eight
    let n = xs.len();
    let from = from.min(n);
    let p = xs.as_ptr();
    let mut s = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    // SAFETY (loads): every block read lies inside xs (i + W <= from <= n, or <= n).
    while i + W <= from {
        for (k, acc) in s.iter_mut().enumerate() {
            *acc = _mm256_add_ps(*acc, _mm256_loadu_ps(p.add(i + 8 * k)));
        }
        i += W;
    }
    while i + 8 <= from {
        s[0] = _mm256_add_ps(s[0], _mm256_loadu_ps(p.add(i)));
        i += 8;
    }
    let mut total = 0.0f32;
    while i < from {
        total += *p.add(i);
        i += 1;
    }
    let mut lo = [_mm256_set1_ps(f32::INFINITY); 4];
    let mut hi = [_mm256_set1_ps(f32::NEG_INFINITY); 4];
    while i + W <= n {
        for k in 0..4 {
            let v = _mm256_loadu_ps(p.add(i + 8 * k));
            s[k] = _mm256_add_ps(s[k], v);
            // min_ps(v, lo) = v < lo ? v : lo, the scalar select below.
            lo[k] = _mm256_min_ps(v, lo[k]);
            hi[k] = _mm256_max_ps(v, hi[k]);
        }
        i += W;
    }
    while i + 8 <= n {
        let v = _mm256_loadu_ps(p.add(i));
        s[0] = _mm256_add_ps(s[0], v);
        lo[0] = _mm256_min_ps(v, lo[0]);
        hi[0] = _mm256_max_ps(v, hi[0]);
        i += 8;
    }
    let (mut m, mut big) = (f32::INFINITY, f32::NEG_INFINITY);
    while i < n {
        let v = *p.add(i);
        total += v;
        m = if v < m { v } else { m };
        big = if v > big { v } else { big };
        i += 1;
    }
    // Fold the four registers into one, then its eight lanes.
    let sum = _mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3]));
    let low = _mm256_min_ps(_mm256_min_ps(lo[0], lo[1]), _mm256_min_ps(lo[2], lo[3]));
    let high = _mm256_max_ps(_mm256_max_ps(hi[0], hi[1]), _mm256_max_ps(hi[2], hi[3]));
    let mut lanes = [0.0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
    total += lanes.iter().sum::<f32>();
    _mm256_storeu_ps(lanes.as_mut_ptr(), low);
    m = lanes.iter().fold(m, |a, &v| if v < a { v } else { a });
    _mm256_storeu_ps(lanes.as_mut_ptr(), high);
    big = lanes.iter().fold(big, |a, &v| if v > a { v } else { a });
    (total, m, big)
}

/// [`sum_min_max_f32`] for f64 samples (16 per block).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sum_min_max_f64(xs: &[f64], from: usize) -> (f64, f64, f64) {
    const W: usize = 16;
    let n = xs.len();
    let from = from.min(n);
    let p = xs.as_ptr();
    let mut s = [_mm256_setzero_pd(); 4];
    let mut i = 0;
    while i + W <= from {
        for (k, acc) in s.iter_mut().enumerate() {
            *acc = _mm256_add_pd(*acc, _mm256_loadu_pd(p.add(i + 4 * k)));
        }
        i += W;
    }
    while i + 4 <= from {
        s[0] = _mm256_add_pd(s[0], _mm256_loadu_pd(p.add(i)));
        i += 4;
    }
    let mut total = 0.0f64;
    while i < from {
        total += *p.add(i);
        i += 1;
    }
    let mut lo = [_mm256_set1_pd(f64::INFINITY); 4];
    let mut hi = [_mm256_set1_pd(f64::NEG_INFINITY); 4];
    while i + W <= n {
        for k in 0..4 {
            let v = _mm256_loadu_pd(p.add(i + 4 * k));
            s[k] = _mm256_add_pd(s[k], v);
            lo[k] = _mm256_min_pd(v, lo[k]);
            hi[k] = _mm256_max_pd(v, hi[k]);
        }
        i += W;
    }
    while i + 4 <= n {
        let v = _mm256_loadu_pd(p.add(i));
        s[0] = _mm256_add_pd(s[0], v);
        lo[0] = _mm256_min_pd(v, lo[0]);
        hi[0] = _mm256_max_pd(v, hi[0]);
        i += 4;
    }
    let (mut m, mut big) = (f64::INFINITY, f64::NEG_INFINITY);
    while i < n {
        let v = *p.add(i);
        total += v;
        m = if v < m { v } else { m };
        big = if v > big { v } else { big };
        i += 1;
    }
    let sum = _mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3]));
    let low = _mm256_min_pd(_mm256_min_pd(lo[0], lo[1]), _mm256_min_pd(lo[2], lo[3]));
    let high = _mm256_max_pd(_mm256_max_pd(hi[0], hi[1]), _mm256_max_pd(hi[2], hi[3]));
    let mut lanes = [0.0f64; 4];
    _mm256_storeu_pd(lanes.as_mut_ptr(), sum);
    total += lanes.iter().sum::<f64>();
    _mm256_storeu_pd(lanes.as_mut_ptr(), low);
    m = lanes.iter().fold(m, |a, &v| if v < a { v } else { a });
    _mm256_storeu_pd(lanes.as_mut_ptr(), high);
    big = lanes.iter().fold(big, |a, &v| if v > a { v } else { a });
    (total, m, big)
}
