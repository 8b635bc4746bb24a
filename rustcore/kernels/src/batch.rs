//! Many sweeps at once: rows measured in parallel straight into columns, on a pool that
//! leaves one core to the user interface, with the SIMD level picked at run time.

use std::sync::OnceLock;

use rayon::prelude::*;

use crate::cmap::{self, CmapMeasures};
use crate::control::{Cancelled, Control};
use crate::sample::Sample;
use crate::sweep::SweepPlan;

/// Batch results as columns, one entry per sweep (what the Python side hands to NumPy).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CmapColumns {
    pub baseline: Vec<f64>,
    pub noise: Vec<f64>,
    pub onset: Vec<f64>,
    pub neg_peak_latency: Vec<f64>,
    pub neg_amplitude: Vec<f64>,
    pub pos_peak_latency: Vec<f64>,
    pub pos_amplitude: Vec<f64>,
    pub p2p_amplitude: Vec<f64>,
    pub neg_duration: Vec<f64>,
    pub neg_area: Vec<f64>,
    pub total_duration: Vec<f64>,
    pub total_area: Vec<f64>,
    pub flags: Vec<u32>,
    pub acceptable: Vec<bool>,
}

/// One stretch of every column, written by one task.
struct ColumnsChunk<'a> {
    baseline: &'a mut [f64],
    noise: &'a mut [f64],
    onset: &'a mut [f64],
    neg_peak_latency: &'a mut [f64],
    neg_amplitude: &'a mut [f64],
    pos_peak_latency: &'a mut [f64],
    pos_amplitude: &'a mut [f64],
    p2p_amplitude: &'a mut [f64],
    neg_duration: &'a mut [f64],
    neg_area: &'a mut [f64],
    total_duration: &'a mut [f64],
    total_area: &'a mut [f64],
    flags: &'a mut [u32],
    acceptable: &'a mut [bool],
}

impl ColumnsChunk<'_> {
    #[inline(always)]
    fn set(&mut self, i: usize, m: &CmapMeasures) {
        self.baseline[i] = m.baseline;
        self.noise[i] = m.noise;
        self.onset[i] = m.onset;
        self.neg_peak_latency[i] = m.neg_peak_latency;
        self.neg_amplitude[i] = m.neg_amplitude;
        self.pos_peak_latency[i] = m.pos_peak_latency;
        self.pos_amplitude[i] = m.pos_amplitude;
        self.p2p_amplitude[i] = m.p2p_amplitude;
        self.neg_duration[i] = m.neg_duration;
        self.neg_area[i] = m.neg_area;
        self.total_duration[i] = m.total_duration;
        self.total_area[i] = m.total_area;
        self.flags[i] = m.flags;
        self.acceptable[i] = m.acceptable();
    }
}

impl CmapColumns {
    fn with_len(n: usize) -> Self {
        let f = || vec![f64::NAN; n];
        Self {
            baseline: f(),
            noise: f(),
            onset: f(),
            neg_peak_latency: f(),
            neg_amplitude: f(),
            pos_peak_latency: f(),
            pos_amplitude: f(),
            p2p_amplitude: f(),
            neg_duration: f(),
            neg_area: f(),
            total_duration: f(),
            total_area: f(),
            flags: vec![0; n],
            acceptable: vec![false; n],
        }
    }

    /// Split every column into stretches of `rows` entries, stretch by stretch.
    fn chunks_mut(&mut self, rows: usize) -> Vec<ColumnsChunk<'_>> {
        let baseline = self.baseline.chunks_mut(rows);
        let mut noise = self.noise.chunks_mut(rows);
        let mut onset = self.onset.chunks_mut(rows);
        let mut neg_peak_latency = self.neg_peak_latency.chunks_mut(rows);
        let mut neg_amplitude = self.neg_amplitude.chunks_mut(rows);
        let mut pos_peak_latency = self.pos_peak_latency.chunks_mut(rows);
        let mut pos_amplitude = self.pos_amplitude.chunks_mut(rows);
        let mut p2p_amplitude = self.p2p_amplitude.chunks_mut(rows);
        let mut neg_duration = self.neg_duration.chunks_mut(rows);
        let mut neg_area = self.neg_area.chunks_mut(rows);
        let mut total_duration = self.total_duration.chunks_mut(rows);
        let mut total_area = self.total_area.chunks_mut(rows);
        let mut flags = self.flags.chunks_mut(rows);
        let mut acceptable = self.acceptable.chunks_mut(rows);
        let mut out = Vec::new();
        for baseline in baseline {
            // All columns have the same length, so every iterator yields together.
            out.push(ColumnsChunk {
                baseline,
                noise: noise.next().unwrap(),
                onset: onset.next().unwrap(),
                neg_peak_latency: neg_peak_latency.next().unwrap(),
                neg_amplitude: neg_amplitude.next().unwrap(),
                pos_peak_latency: pos_peak_latency.next().unwrap(),
                pos_amplitude: pos_amplitude.next().unwrap(),
                p2p_amplitude: p2p_amplitude.next().unwrap(),
                neg_duration: neg_duration.next().unwrap(),
                neg_area: neg_area.next().unwrap(),
                total_duration: total_duration.next().unwrap(),
                total_area: total_area.next().unwrap(),
                flags: flags.next().unwrap(),
                acceptable: acceptable.next().unwrap(),
            });
        }
        out
    }
}

/// Sweeps per task: large enough to amortise scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 256;

/// Worker threads: all cores but one (the UI keeps one), at least one.
pub fn pool_size() -> usize {
    // Asked once: available_parallelism reads cgroup files on every call.
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_sub(1)
            .max(1)
    })
}

pub(crate) fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(pool_size())
            .thread_name(|i| format!("rustcore-{i}"))
            .build()
            .expect("rayon pool for rustcore")
    })
}

/// Measure one sweep with the best SIMD level this CPU offers.
pub fn measure_one<T: Sample>(sweep: &[T], plan: &SweepPlan) -> CmapMeasures {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { measure_one_avx2(sweep, plan) };
    }
    cmap::measure(sweep, plan)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn measure_one_avx2<T: Sample>(sweep: &[T], plan: &SweepPlan) -> CmapMeasures {
    cmap::measure(sweep, plan)
}

/// Measure a row-major block of sweeps (`plan.len` samples each) into columns.
pub fn measure_rows<T: Sample>(samples: &[T], plan: &SweepPlan) -> CmapColumns {
    measure_rows_ctl(samples, plan, &Control::default()).expect("no one cancels a private control")
}

/// [`measure_rows`] reporting progress (rows done) to `ctl` and stopping early, with
/// `Err(Cancelled)`, once `ctl` is cancelled.
pub fn measure_rows_ctl<T: Sample>(
    samples: &[T],
    plan: &SweepPlan,
    ctl: &Control,
) -> Result<CmapColumns, Cancelled> {
    assert!(plan.len > 0, "sweeps must hold samples");
    assert_eq!(
        samples.len() % plan.len,
        0,
        "block is not a whole number of sweeps"
    );
    let n_rows = samples.len() / plan.len;
    ctl.start(n_rows as u64);
    let mut columns = CmapColumns::with_len(n_rows);
    measure_tasks(samples, plan, ctl, columns.chunks_mut(ROWS_PER_TASK));
    ctl.check()?;
    Ok(columns)
}

/// Rows per chunk when a batch is copied in before measuring: four tasks per worker
/// (8 MB of float32 sweeps of 2000 samples on one worker), so peak memory stays one
/// small chunk above the input.
pub fn chunk_rows() -> usize {
    4 * ROWS_PER_TASK * pool_size()
}

/// Measure `n_rows` sweeps that are not one contiguous row-major block (strided,
/// Fortran-ordered or byte-swapped arrays, rows still to be read): `fill(first_row, buf)`
/// writes rows `first_row..` into `buf` (whole rows, row-major), one chunk of at most
/// [`chunk_rows`] rows at a time, and each chunk is measured before the next is copied.
pub fn measure_rows_by_chunk<T: Sample>(
    n_rows: usize,
    plan: &SweepPlan,
    ctl: &Control,
    mut fill: impl FnMut(usize, &mut [T]),
) -> Result<CmapColumns, Cancelled> {
    assert!(plan.len > 0, "sweeps must hold samples");
    ctl.start(n_rows as u64);
    let mut columns = CmapColumns::with_len(n_rows);
    let mut tasks = columns.chunks_mut(ROWS_PER_TASK).into_iter();
    let chunk = chunk_rows();
    let mut buf = vec![T::ZERO; chunk.min(n_rows) * plan.len];
    let mut first = 0;
    while first < n_rows && !ctl.is_cancelled() {
        let rows = chunk.min(n_rows - first);
        let chunk = &mut buf[..rows * plan.len];
        fill(first, chunk);
        let these: Vec<_> = tasks.by_ref().take(rows.div_ceil(ROWS_PER_TASK)).collect();
        measure_tasks(chunk, plan, ctl, these);
        first += rows;
    }
    ctl.check()?;
    Ok(columns)
}

/// Measure the rows of `samples` into `tasks` (stretches of [`ROWS_PER_TASK`] rows, in
/// order), in parallel on the pool.
fn measure_tasks<T: Sample>(
    samples: &[T],
    plan: &SweepPlan,
    ctl: &Control,
    tasks: Vec<ColumnsChunk<'_>>,
) {
    let run = |(rows, mut out): (&[T], ColumnsChunk<'_>)| {
        if !ctl.is_cancelled() {
            measure_chunk(rows, plan, &mut out);
            ctl.advance((rows.len() / plan.len) as u64);
        }
    };
    if tasks.len() <= 1 || pool_size() == 1 {
        // A lone worker thread would only add a hand-off: measure on the caller's thread.
        samples
            .chunks(ROWS_PER_TASK * plan.len)
            .zip(tasks)
            .for_each(run);
    } else {
        pool().install(|| {
            samples
                .par_chunks(ROWS_PER_TASK * plan.len)
                .zip(tasks.into_par_iter())
                .for_each(run)
        });
    }
}

fn measure_chunk<T: Sample>(rows: &[T], plan: &SweepPlan, out: &mut ColumnsChunk<'_>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { measure_chunk_avx2(rows, plan, out) };
    }
    measure_chunk_portable(rows, plan, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn measure_chunk_avx2<T: Sample>(rows: &[T], plan: &SweepPlan, out: &mut ColumnsChunk<'_>) {
    measure_chunk_portable(rows, plan, out)
}

#[inline(always)]
fn measure_chunk_portable<T: Sample>(rows: &[T], plan: &SweepPlan, out: &mut ColumnsChunk<'_>) {
    // Rows stream through in order and each is read in order, so the hardware prefetcher
    // keeps ahead (explicit prefetch of the next rows measured slower).
    for (i, sweep) in rows.chunks_exact(plan.len).enumerate() {
        out.set(i, &cmap::measure(sweep, plan));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{CmapParams, TimeAxis};

    #[test]
    fn batch_equals_row_by_row() {
        let len = 64;
        let plan = SweepPlan::new(
            len,
            TimeAxis {
                sample_rate: 1000.0,
                t0: -0.01,
            },
            CmapParams::default(),
        )
        .unwrap();
        let rows = 3 * ROWS_PER_TASK + 7;
        let samples: Vec<f32> = (0..rows * len)
            .map(|i| (((i * 7919) % 1013) as f32 - 506.0) * 1e-3)
            .collect();
        let cols = measure_rows(&samples, &plan);
        assert_eq!(cols.flags.len(), rows);
        for (r, sweep) in samples.chunks_exact(len).enumerate() {
            let m = measure_one(sweep, &plan);
            assert_eq!(cols.flags[r], m.flags);
            assert_eq!(cols.acceptable[r], m.acceptable());
            let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
            assert!(same(cols.onset[r], m.onset));
            assert!(same(cols.neg_area[r], m.neg_area));
            assert!(same(cols.p2p_amplitude[r], m.p2p_amplitude));
        }
    }

    #[test]
    fn chunked_batch_equals_the_contiguous_one() {
        let len = 40;
        let plan = SweepPlan::new(
            len,
            TimeAxis {
                sample_rate: 1000.0,
                t0: -0.01,
            },
            CmapParams::default(),
        )
        .unwrap();
        let rows = chunk_rows() + 3 * ROWS_PER_TASK + 5;
        let samples: Vec<f64> = (0..rows * len)
            .map(|i| (((i * 7919) % 1013) as f64 - 506.0) * 1e-3)
            .collect();
        let whole = measure_rows(&samples, &plan);
        let mut calls = 0;
        let chunked = measure_rows_by_chunk(rows, &plan, &Control::default(), |first, buf| {
            calls += 1;
            buf.copy_from_slice(&samples[first * len..first * len + buf.len()]);
        })
        .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(format!("{whole:?}"), format!("{chunked:?}"));
        let ctl = Control::default();
        ctl.cancel();
        assert_eq!(
            measure_rows_by_chunk(rows, &plan, &ctl, |_, _: &mut [f64]| panic!(
                "no chunk once cancelled"
            )),
            Err(Cancelled)
        );
    }

    #[test]
    fn empty_batch_gives_empty_columns() {
        let plan = SweepPlan::new(
            64,
            TimeAxis {
                sample_rate: 1000.0,
                t0: -0.01,
            },
            CmapParams::default(),
        )
        .unwrap();
        assert_eq!(measure_rows::<f64>(&[], &plan), CmapColumns::default());
    }

    #[test]
    fn pool_leaves_a_core_free() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(pool_size(), (cores - 1).max(1));
    }
}
