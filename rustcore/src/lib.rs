//! The Python module `rustcore`: a thin binding over the `kernels` crate. It checks
//! arrays, releases the GIL around the kernels, turns panics into `RustcoreError` and
//! returns batch results as NumPy columns. Definitions live in rustcore.pyi.

mod arrays;

use kernels::{flags, CmapColumns, CmapMeasures, CmapParams, Sample, SweepPlan, TimeAxis};
use numpy::ndarray::{Ix1, Ix2};
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

/// Single sweeps at least this long are measured with the GIL released.
const DETACH_MIN_SAMPLES: usize = 1 << 14;

fn plan(len: usize, sample_rate: f64, t0: f64, params: CmapParams) -> PyResult<SweepPlan> {
    SweepPlan::new(len, TimeAxis { sample_rate, t0 }, params)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

fn guarded<R>(f: impl FnOnce() -> R) -> PyResult<R> {
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
    d.set_item("p2p_amplitude", m.p2p_amplitude)?;
    d.set_item("neg_duration", m.neg_duration)?;
    d.set_item("neg_area", m.neg_area)?;
    d.set_item("flags", m.flags)?;
    d.set_item("acceptable", m.acceptable())?;
    Ok(d)
}

fn measure_rows<T: Sample + numpy::Element>(
    py: Python<'_>,
    a: &numpy::PyReadonlyArray2<'_, T>,
    plan: &SweepPlan,
) -> PyResult<CmapColumns> {
    let samples = row_major(a);
    py.detach(|| guarded(|| kernels::measure_rows(&samples, plan)))
}

/// Measure every row of a 2-D block of sweeps into columns. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (sweeps, sample_rate, t0, *, search_start=0.001, baseline_end=0.0,
                    onset_k=4.0, onset_frac=0.01, min_snr=3.0))]
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
) -> PyResult<Bound<'py, PyDict>> {
    let params = CmapParams {
        search_start,
        baseline_end,
        onset_k,
        onset_frac,
        min_snr,
    };
    let arr = SampleArray::<Ix2>::extract(
        sweeps,
        "sweeps",
        2,
        "one sweep per row; use measure_sweep for 1-D",
    )?;
    let plan = plan(arr.shape()[1], sample_rate, t0, params)?;
    let c = match &arr {
        SampleArray::F32(a) => measure_rows(py, a, &plan)?,
        SampleArray::F64(a) => measure_rows(py, a, &plan)?,
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
    d.set_item("p2p_amplitude", PyArray1::from_vec(py, c.p2p_amplitude))?;
    d.set_item("neg_duration", PyArray1::from_vec(py, c.neg_duration))?;
    d.set_item("neg_area", PyArray1::from_vec(py, c.neg_area))?;
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
    for (name, bit) in flags::ALL {
        m.add(name, bit)?;
    }
    m.add_function(wrap_pyfunction!(measure_sweep, m)?)?;
    m.add_function(wrap_pyfunction!(measure_batch, m)?)?;
    m.add_function(wrap_pyfunction!(batch_threads, m)?)?;
    Ok(())
}
