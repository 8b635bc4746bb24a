//! The sample types a sweep may hold. Kernels are generic over them so float32 data is
//! read as float32 (half the memory traffic) while every derived quantity is float64.

use std::ops::{Add, Mul, Sub};

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
}

impl Sample for f32 {
    const ZERO: Self = 0.0;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
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
    fn from_f64(v: f64) -> Self {
        v
    }
}
