//! The Python module `rustcore`: a thin binding over the `kernels` crate. It checks
//! arrays, releases the GIL around the kernels, turns panics into `RustcoreError` and
//! returns batch results as NumPy columns. Definitions live in rustcore.pyi.

mod arrays;

mod extra;

use std::sync::Arc;

use kernels::{flags, CmapColumns, CmapMeasures, CmapParams, Control, Sample, SweepPlan, TimeAxis};
use numpy::ndarray::{s, ArrayViewMut2, Ix1, Ix2};
use numpy::PyArray1;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use arrays::{row_major, SampleArray};

pyo3::create_exception!(
    rustcore,
    RustcoreError,
    PyException,
    "An internal failure inside a rustcore kernel (a bug, not bad input)."
);

pyo3::create_exception!(
    rustcore,
    Cancelled,
    PyException,
    "A long batch stopped early because its Progress was cancelled."
);

/// Progress and cancellation of a long batch: pass it as `progress=`, poll it from
/// another thread, call `cancel()` to stop the batch (which then raises `Cancelled`).
#[pyclass(frozen, module = "rustcore")]
pub struct Progress {
    pub(crate) ctl: Arc<Control>,
}

#[pymethods]
impl Progress {
    #[new]
    fn new() -> Self {
        Self {
            ctl: Arc::new(Control::default()),
        }
    }
    /// Ask the running batch to stop at its next chunk.
    fn cancel(&self) {
        self.ctl.cancel();
    }
    #[getter]
    fn cancelled(&self) -> bool {
        self.ctl.is_cancelled()
    }
    /// Units (rows) done so far.
    #[getter]
    fn done(&self) -> u64 {
        self.ctl.done()
    }
    /// Units the running batch will do (0 before it starts).
    #[getter]
    fn total(&self) -> u64 {
        self.ctl.total()
    }
    /// done / total in [0, 1] (0 before a batch starts).
    #[getter]
    fn fraction(&self) -> f64 {
        let t = self.ctl.total();
        if t == 0 {
            0.0
        } else {
            self.ctl.done() as f64 / t as f64
        }
    }
}

pub(crate) fn control_of(p: Option<&Progress>) -> Arc<Control> {
    p.map_or_else(|| Arc::new(Control::default()), |p| p.ctl.clone())
}

/// Single sweeps at least this long are measured with the GIL released.
const DETACH_MIN_SAMPLES: usize = 1 << 14;

pub(crate) fn plan(
    len: usize,
    sample_rate: f64,
    t0: f64,
    params: CmapParams,
) -> PyResult<SweepPlan> {
    SweepPlan::new(len, TimeAxis { sample_rate, t0 }, params)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> PyResult<R> {
    kernels::guard::catch_panic(f).map_err(RustcoreError::new_err)
}

fn measure_one<T: Sample + numpy::Element>(
    py: Python<'_>,
    a: &numpy::PyReadonlyArray1<'_, T>,
    plan: &SweepPlan,
) -> PyResult<CmapMeasures> {
    let samples = row_major(a);
    if samples.len() >= DETACH_MIN_SAMPLES {
        py.detach(|| guarded(|| kernels::measure_one(&samples, plan)))
    } else {
        guarded(|| kernels::measure_one(&samples, plan))
    }
}

/// Measure one CMAP sweep. See rustcore.pyi for the definitions.
#[pyfunction]
#[pyo3(signature = (sweep, sample_rate, t0, *, search_start=0.001, baseline_end=0.0,
                    onset_k=4.0, onset_frac=0.01, min_snr=3.0))]
#[allow(clippy::too_many_arguments)] // mirrors the Python keywords
fn measure_sweep<'py>(
    py: Python<'py>,
    sweep: &Bound<'py, PyAny>,
    sample_rate: f64,
    t0: f64,
    search_start: f64,
    baseline_end: f64,
    onset_k: f64,
    onset_frac: f64,
    min_snr: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let params = CmapParams {
        search_start,
        baseline_end,
        onset_k,
        onset_frac,
        min_snr,
    };
    let arr =
        SampleArray::<Ix1>::extract(sweep, "sweep", 1, "one sweep; use measure_batch for 2-D")?;
    let plan = plan(arr.shape()[0], sample_rate, t0, params)?;
    let m = match &arr {
        SampleArray::F32(a) => measure_one(py, a, &plan)?,
        SampleArray::F64(a) => measure_one(py, a, &plan)?,
    };
    let d = PyDict::new(py);
    d.set_item("baseline", m.baseline)?;
    d.set_item("noise", m.noise)?;
    d.set_item("onset", m.onset)?;
    d.set_item("neg_peak_latency", m.neg_peak_latency)?;
    d.set_item("neg_amplitude", m.neg_amplitude)?;
    d.set_item("pos_peak_latency", m.pos_peak_latency)?;
    d.set_item("pos_amplitude", m.pos_amplitude)?;
    d.set_item("p2p_amplitude", m.p2p_amplitude)?;
    d.set_item("neg_duration", m.neg_duration)?;
    d.set_item("neg_area", m.neg_area)?;
    d.set_item("total_duration", m.total_duration)?;
    d.set_item("total_area", m.total_area)?;
    d.set_item("flags", m.flags)?;
    d.set_item("acceptable", m.acceptable())?;
    Ok(d)
}

fn measure_rows<T: Sample + numpy::Element>(
    py: Python<'_>,
    a: &numpy::PyReadonlyArray2<'_, T>,
    plan: &SweepPlan,
    ctl: &Control,
) -> PyResult<CmapColumns> {
    let view = a.as_array();
    let measured = match view.as_slice() {
        Some(samples) => py.detach(|| guarded(|| kernels::measure_rows_ctl(samples, plan, ctl)))?,
        // Strided or Fortran-ordered: copy in and measure one chunk of rows at a time,
        // so memory stays one chunk above the input rather than doubling it.
        None => py.detach(|| {
            guarded(|| {
                kernels::measure_rows_by_chunk(view.nrows(), plan, ctl, |first, buf| {
                    let rows = buf.len() / plan.len;
                    let mut dst = ArrayViewMut2::from_shape((rows, plan.len), buf)
                        .expect("the chunk holds whole rows");
                    dst.assign(&view.slice(s![first..first + rows, ..]));
                })
            })
        })?,
    };
    measured.map_err(|_| Cancelled::new_err("measure_batch was cancelled"))
}

/// Measure every row of a 2-D block of sweeps into columns. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (sweeps, sample_rate, t0, *, search_start=0.001, baseline_end=0.0,
                    onset_k=4.0, onset_frac=0.01, min_snr=3.0, progress=None))]
#[allow(clippy::too_many_arguments)] // mirrors the Python keywords
fn measure_batch<'py>(
    py: Python<'py>,
    sweeps: &Bound<'py, PyAny>,
    sample_rate: f64,
    t0: f64,
    search_start: f64,
    baseline_end: f64,
    onset_k: f64,
    onset_frac: f64,
    min_snr: f64,
    progress: Option<&Progress>,
) -> PyResult<Bound<'py, PyDict>> {
    let params = CmapParams {
        search_start,
        baseline_end,
        onset_k,
        onset_frac,
        min_snr,
    };
    let ctl = control_of(progress);
    let arr = SampleArray::<Ix2>::extract(
        sweeps,
        "sweeps",
        2,
        "one sweep per row; use measure_sweep for 1-D",
    )?;
    let plan = plan(arr.shape()[1], sample_rate, t0, params)?;
    let c = match &arr {
        SampleArray::F32(a) => measure_rows(py, a, &plan, &ctl)?,
        SampleArray::F64(a) => measure_rows(py, a, &plan, &ctl)?,
    };
    let d = PyDict::new(py);
    d.set_item("baseline", PyArray1::from_vec(py, c.baseline))?;
    d.set_item("noise", PyArray1::from_vec(py, c.noise))?;
    d.set_item("onset", PyArray1::from_vec(py, c.onset))?;
    d.set_item(
        "neg_peak_latency",
        PyArray1::from_vec(py, c.neg_peak_latency),
    )?;
    d.set_item("neg_amplitude", PyArray1::from_vec(py, c.neg_amplitude))?;
    d.set_item(
        "pos_peak_latency",
        PyArray1::from_vec(py, c.pos_peak_latency),
    )?;
    d.set_item("pos_amplitude", PyArray1::from_vec(py, c.pos_amplitude))?;
    d.set_item("p2p_amplitude", PyArray1::from_vec(py, c.p2p_amplitude))?;
    d.set_item("neg_duration", PyArray1::from_vec(py, c.neg_duration))?;
    d.set_item("neg_area", PyArray1::from_vec(py, c.neg_area))?;
    d.set_item("total_duration", PyArray1::from_vec(py, c.total_duration))?;
    d.set_item("total_area", PyArray1::from_vec(py, c.total_area))?;
    d.set_item("flags", PyArray1::from_vec(py, c.flags))?;
    d.set_item("acceptable", PyArray1::from_vec(py, c.acceptable))?;
    Ok(d)
}

/// Worker threads measure_batch uses: all cores but one, at least one.
#[pyfunction]
fn batch_threads() -> usize {
    kernels::batch::pool_size()
}

#[pymodule]
fn rustcore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("RustcoreError", m.py().get_type::<RustcoreError>())?;
    m.add("Cancelled", m.py().get_type::<Cancelled>())?;
    m.add_class::<Progress>()?;
    extra::register(m)?;
    for (name, bit) in flags::ALL {
        m.add(name, bit)?;
    }
    m.add_function(wrap_pyfunction!(measure_sweep, m)?)?;
    m.add_function(wrap_pyfunction!(measure_batch, m)?)?;
    m.add_function(wrap_pyfunction!(batch_threads, m)?)?;
    Ok(())
}
