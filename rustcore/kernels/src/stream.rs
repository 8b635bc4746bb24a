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

/// Transpose eight rows of eight f32 samples (row r in `v[r]`) into eight vectors of
/// one sample each across the rows (its own inverse).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose8(v: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(v[0], v[1]);
    let t1 = _mm256_unpackhi_ps(v[0], v[1]);
    let t2 = _mm256_unpacklo_ps(v[2], v[3]);
    let t3 = _mm256_unpackhi_ps(v[2], v[3]);
    let t4 = _mm256_unpacklo_ps(v[4], v[5]);
    let t5 = _mm256_unpackhi_ps(v[4], v[5]);
    let t6 = _mm256_unpacklo_ps(v[6], v[7]);
    let t7 = _mm256_unpackhi_ps(v[6], v[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

/// Rows `8g..8g+8` of a group of `N` rows (row r = `input[r * len + t0 ..]`), samples
/// `t0..t0 + buf.len()` rounded down to a multiple of 8, into `buf[t][r]` as f64.
/// Returns how many samples per row it moved; the caller copies the rest.
///
/// # Safety
/// The CPU must support AVX2; `input` must hold `N` rows of `len` samples and
/// `t0 + buf.len() <= len`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn rows_to_lanes_f32<const N: usize>(
    input: &[f32],
    len: usize,
    t0: usize,
    buf: &mut [[f64; N]],
) -> usize {
    let n = buf.len() / 8 * 8;
    assert!(N.is_multiple_of(8) && input.len() >= N * len && t0 + buf.len() <= len);
    let p = input.as_ptr();
    for g in 0..N / 8 {
        let mut t = 0;
        while t < n {
            let mut v = [_mm256_setzero_ps(); 8];
            for (r, vr) in v.iter_mut().enumerate() {
                *vr = _mm256_loadu_ps(p.add((8 * g + r) * len + t0 + t));
            }
            for (k, o) in transpose8(v).into_iter().enumerate() {
                let dst = buf[t + k][8 * g..].as_mut_ptr();
                _mm256_storeu_pd(dst, _mm256_cvtps_pd(_mm256_castps256_ps128(o)));
                _mm256_storeu_pd(dst.add(4), _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(o)));
            }
            t += 8;
        }
    }
    n
}

/// The inverse of [`rows_to_lanes_f32`]: `buf[t][r]` rounded to f32 into row r of
/// `output` at `t0 + t`. Returns how many samples per row it moved.
///
/// # Safety
/// As for [`rows_to_lanes_f32`], with `output` in place of `input`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn lanes_to_rows_f32<const N: usize>(
    buf: &[[f64; N]],
    output: &mut [f32],
    len: usize,
    t0: usize,
) -> usize {
    let n = buf.len() / 8 * 8;
    assert!(N.is_multiple_of(8) && output.len() >= N * len && t0 + buf.len() <= len);
    let p = output.as_mut_ptr();
    for g in 0..N / 8 {
        let mut t = 0;
        while t < n {
            let mut v = [_mm256_setzero_ps(); 8];
            for (k, vk) in v.iter_mut().enumerate() {
                let src = buf[t + k][8 * g..].as_ptr();
                let lo = _mm256_cvtpd_ps(_mm256_loadu_pd(src));
                let hi = _mm256_cvtpd_ps(_mm256_loadu_pd(src.add(4)));
                *vk = _mm256_set_m128(hi, lo);
            }
            for (r, row) in transpose8(v).into_iter().enumerate() {
                _mm256_storeu_ps(p.add((8 * g + r) * len + t0 + t), row);
            }
            t += 8;
        }
    }
    n
}

/// What a lane sum adds up for each sample x (as f64).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LaneMap {
    Value,
    /// (x − mean)²
    SqDev(f64),
    /// baseline − x
    Dev(f64),
    /// |baseline − x|
    AbsDev(f64),
}

impl LaneMap {
    #[inline(always)]
    pub fn apply(self, v: f64) -> f64 {
        match self {
            LaneMap::Value => v,
            LaneMap::SqDev(mean) => {
                let d = v - mean;
                d * d
            }
            LaneMap::Dev(b) => b - v,
            LaneMap::AbsDev(b) => (b - v).abs(),
        }
    }
}

/// The eight lane accumulators of a lane sum over `xs` (whole blocks of 8 only: the
/// caller adds the remainder), lane j taking samples j, j+8, … in order, each mapped
/// exactly as [`LaneMap::apply`] does (no fused operations), so the result is bit for
/// bit the scalar one.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn lane_sums_f32(xs: &[f32], map: LaneMap) -> [f64; 8] {
    match map {
        LaneMap::Value => lane_sums_f32_k::<0>(xs, 0.0),
        LaneMap::SqDev(c) => lane_sums_f32_k::<1>(xs, c),
        LaneMap::Dev(c) => lane_sums_f32_k::<2>(xs, c),
        LaneMap::AbsDev(c) => lane_sums_f32_k::<3>(xs, c),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn lane_sums_f32_k<const K: u8>(xs: &[f32], c: f64) -> [f64; 8] {
    let cv = _mm256_set1_pd(c);
    let sign = _mm256_set1_pd(-0.0);
    let map = |a: __m256d| match K {
        0 => a,
        1 => {
            let d = _mm256_sub_pd(a, cv);
            _mm256_mul_pd(d, d)
        }
        2 => _mm256_sub_pd(cv, a),
        _ => _mm256_andnot_pd(sign, _mm256_sub_pd(cv, a)),
    };
    let (mut lo, mut hi) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let p = xs.as_ptr();
    let n = xs.len() / 8 * 8;
    let mut i = 0;
    while i < n {
        let v = _mm256_loadu_ps(p.add(i));
        lo = _mm256_add_pd(lo, map(_mm256_cvtps_pd(_mm256_castps256_ps128(v))));
        hi = _mm256_add_pd(hi, map(_mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v))));
        i += 8;
    }
    let mut acc = [0.0f64; 8];
    _mm256_storeu_pd(acc.as_mut_ptr(), lo);
    _mm256_storeu_pd(acc.as_mut_ptr().add(4), hi);
    acc
}
