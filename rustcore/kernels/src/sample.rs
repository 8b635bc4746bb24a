//! The sample types a sweep may hold. Kernels are generic over them so float32 data is
//! read as float32 (half the memory traffic) while every derived quantity is float64.

use std::ops::{Add, Mul, Sub};

use crate::stream::LaneMap;

/// A raw sample: `f32` or `f64`. Comparisons (minimum, maximum) happen in the sample's
/// own type; arithmetic that produces a measure happens in `f64`.
pub trait Sample:
    Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Into<f64>
    + Send
    + Sync
    + 'static
{
    const ZERO: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
    /// Round a float64 result back to the sample type (filters write their input dtype).
    fn from_f64(v: f64) -> Self;
    /// The neighbouring representable values.
    fn next_up(self) -> Self;
    fn next_down(self) -> Self;
    /// (sum of `xs`, minimum and maximum of `xs[from..]`) in one pass, with AVX2 when
    /// the CPU has it.
    fn sum_min_max(xs: &[Self], from: usize) -> (Self, Self, Self);

    /// The eight lane accumulators of a lane sum over the whole blocks of 8 in `xs`
    /// (see [`crate::stream::lane_sums_f32`]).
    #[inline(always)]
    fn lane_sums(xs: &[Self], map: LaneMap) -> [f64; 8] {
        let mut acc = [0.0f64; 8];
        for c in xs.chunks_exact(8) {
            // Widen the block first, then map: the compiler keeps both steps in vectors.
            let mut v = [0.0f64; 8];
            for j in 0..8 {
                v[j] = c[j].into();
            }
            for j in 0..8 {
                acc[j] += map.apply(v[j]);
            }
        }
        acc
    }

    /// Filter tiles: samples `t0..t0 + buf.len()` of `rows` rows (row r starts at
    /// `input[r * len]`) into `buf[t][r]` as f64, the layout where one SIMD step
    /// advances every row.
    #[inline(always)]
    fn rows_to_lanes<const N: usize>(
        input: &[Self],
        len: usize,
        t0: usize,
        rows: usize,
        buf: &mut [[f64; N]],
    ) {
        copy_rows_to_lanes(input, len, t0, rows, buf, 0)
    }

    /// The inverse of [`Sample::rows_to_lanes`], rounding to the sample type.
    #[inline(always)]
    fn lanes_to_rows<const N: usize>(
        buf: &[[f64; N]],
        rows: usize,
        output: &mut [Self],
        len: usize,
        t0: usize,
    ) {
        copy_lanes_to_rows(buf, rows, output, len, t0, 0)
    }
}

/// [`Sample::rows_to_lanes`] from sample `skip` of the tile on, one row at a time.
#[inline(always)]
fn copy_rows_to_lanes<T: Sample, const N: usize>(
    input: &[T],
    len: usize,
    t0: usize,
    rows: usize,
    buf: &mut [[f64; N]],
    skip: usize,
) {
    let n = buf.len();
    for l in 0..rows {
        let row = &input[l * len + t0 + skip..l * len + t0 + n];
        for (v, &x) in buf[skip..].iter_mut().zip(row) {
            v[l] = x.into();
        }
    }
}

/// [`Sample::lanes_to_rows`] from sample `skip` of the tile on.
#[inline(always)]
fn copy_lanes_to_rows<T: Sample, const N: usize>(
    buf: &[[f64; N]],
    rows: usize,
    output: &mut [T],
    len: usize,
    t0: usize,
    skip: usize,
) {
    let n = buf.len();
    for l in 0..rows {
        let row = &mut output[l * len + t0 + skip..l * len + t0 + n];
        for (y, v) in row.iter_mut().zip(&buf[skip..]) {
            *y = T::from_f64(v[l]);
        }
    }
}

/// Portable form of [`Sample::sum_min_max`] (no prefetch): lane arrays the compiler
/// vectorises for the baseline target.
#[inline(always)]
fn sum_min_max_lanes<T: Sample>(xs: &[T], from: usize) -> (T, T, T) {
    const L: usize = 16;
    let (pre, window) = xs.split_at(from.min(xs.len()));
    let mut sum = [T::ZERO; L];
    let mut chunks = pre.chunks_exact(L);
    for c in &mut chunks {
        for j in 0..L {
            sum[j] = sum[j] + c[j];
        }
    }
    let mut total = T::ZERO;
    for &v in chunks.remainder() {
        total = total + v;
    }
    let mut lo = [T::INFINITY; L];
    let mut hi = [T::NEG_INFINITY; L];
    let mut chunks = window.chunks_exact(L);
    for c in &mut chunks {
        for j in 0..L {
            let v = c[j];
            sum[j] = sum[j] + v;
            lo[j] = if v < lo[j] { v } else { lo[j] };
            hi[j] = if v > hi[j] { v } else { hi[j] };
        }
    }
    let (mut m, mut big) = (T::INFINITY, T::NEG_INFINITY);
    for &v in chunks.remainder().iter().chain(lo.iter()) {
        m = if v < m { v } else { m };
    }
    for &v in chunks.remainder().iter().chain(hi.iter()) {
        big = if v > big { v } else { big };
    }
    for &v in chunks.remainder().iter().chain(sum.iter()) {
        total = total + v;
    }
    (total, m, big)
}

impl Sample for f32 {
    #[inline(always)]
    fn lane_sums(xs: &[Self], map: LaneMap) -> [f64; 8] {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { crate::stream::lane_sums_f32(xs, map) };
        }
        let mut acc = [0.0f64; 8];
        for c in xs.chunks_exact(8) {
            for j in 0..8 {
                acc[j] += map.apply(c[j] as f64);
            }
        }
        acc
    }
    #[inline(always)]
    fn rows_to_lanes<const N: usize>(
        input: &[Self],
        len: usize,
        t0: usize,
        rows: usize,
        buf: &mut [[f64; N]],
    ) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if rows == N && N.is_multiple_of(8) && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 checked just above; a full group of N rows of `len` samples.
            done = unsafe { crate::stream::rows_to_lanes_f32(input, len, t0, buf) };
        }
        copy_rows_to_lanes(input, len, t0, rows, buf, done)
    }
    #[inline(always)]
    fn lanes_to_rows<const N: usize>(
        buf: &[[f64; N]],
        rows: usize,
        output: &mut [Self],
        len: usize,
        t0: usize,
    ) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if rows == N && N.is_multiple_of(8) && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 checked just above; a full group of N rows of `len` samples.
            done = unsafe { crate::stream::lanes_to_rows_f32(buf, output, len, t0) };
        }
        copy_lanes_to_rows(buf, rows, output, len, t0, done)
    }
    const ZERO: Self = 0.0;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    #[inline(always)]
    fn next_up(self) -> Self {
        f32::next_up(self)
    }
    #[inline(always)]
    fn next_down(self) -> Self {
        f32::next_down(self)
    }
    #[inline(always)]
    fn sum_min_max(xs: &[Self], from: usize) -> (Self, Self, Self) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { crate::stream::sum_min_max_f32(xs, from) };
        }
        sum_min_max_lanes(xs, from)
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Sample for f64 {
    const ZERO: Self = 0.0;
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    #[inline(always)]
    fn next_up(self) -> Self {
        f64::next_up(self)
    }
    #[inline(always)]
    fn next_down(self) -> Self {
        f64::next_down(self)
    }
    #[inline(always)]
    fn sum_min_max(xs: &[Self], from: usize) -> (Self, Self, Self) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { crate::stream::sum_min_max_f64(xs, from) };
        }
        sum_min_max_lanes(xs, from)
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}
