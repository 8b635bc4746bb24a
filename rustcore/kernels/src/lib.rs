//! edxbench measurement kernels, free of Python so `cargo test` runs them directly.
//! The PyO3 binding in `rustcore/src` is a thin layer over these modules.

pub mod average;
pub mod batch;
pub mod cmap;
pub mod control;
pub mod emg;
pub mod filter;
pub mod flags;
pub mod guard;
pub mod lanes;
pub mod sample;
pub mod series;
pub mod stream;
pub mod sweep;

pub use batch::{measure_one, measure_rows, measure_rows_by_chunk, measure_rows_ctl, CmapColumns};
pub use cmap::CmapMeasures;
pub use control::{Cancelled, Control};
pub use sample::Sample;
pub use sweep::{CmapParams, PlanError, SweepPlan, TimeAxis};
