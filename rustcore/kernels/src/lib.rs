//! edxbench measurement kernels, free of Python so `cargo test` runs them directly.
//! The PyO3 binding in `rustcore/src` is a thin layer over [`batch`] and [`cmap`].

pub mod batch;
pub mod cmap;
pub mod flags;
pub mod guard;
pub mod lanes;
pub mod sample;
pub mod sweep;

pub use batch::{measure_one, measure_rows, CmapColumns};
pub use cmap::CmapMeasures;
pub use sample::Sample;
pub use sweep::{CmapParams, PlanError, SweepPlan, TimeAxis};
