//! Bindings beyond single-CMAP measurement: averaging, IIR filtering, series (F-waves,
//! H-reflex, repetitive stimulation, two sites, recruitment) and needle EMG.
//! Definitions live in rustcore.pyi.

use kernels::average::{average_rows, Averager, RejectRule};
use kernels::emg::{self, MuapParams};
use kernels::filter::{self, Mode};
use kernels::series::{self, WindowRule};
use kernels::{CmapParams, Sample, TimeAxis};
use numpy::ndarray::{Array2, Ix1, Ix2, IxDyn};
use numpy::{
    Element, IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arrays::{row_major, SampleArray};
use crate::{control_of, guarded, plan, Cancelled, Progress};

macro_rules! dispatch {
    ($arr:expr, |$a:ident| $body:expr) => {
        match $arr {
            SampleArray::F32($a) => $body,
            SampleArray::F64($a) => $body,
        }
    };
}

fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

fn check_rate(sample_rate: f64) -> PyResult<()> {
    if sample_rate.is_finite() && sample_rate > 0.0 {
        Ok(())
    } else {
        Err(value_error("sample_rate must be a finite number > 0 (Hz)"))
    }
}

fn axis(sample_rate: f64, t0: f64) -> PyResult<TimeAxis> {
    check_rate(sample_rate)?;
    if !t0.is_finite() {
        return Err(value_error("t0 must be finite (s)"));
    }
    Ok(TimeAxis { sample_rate, t0 })
}

fn to_f64<T: Sample>(xs: &[T]) -> Vec<f64> {
    xs.iter().map(|&v| v.into()).collect()
}

/// A 1-D float array of any float dtype as f64 values.
fn vector(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<f64>> {
    let arr = SampleArray::<Ix1>::extract(obj, name, 1, "a 1-D array")?;
    Ok(dispatch!(&arr, |a| to_f64(&row_major(a))))
}

// --- averaging ----------------------------------------------------------------------

fn reject_rule(
    len: usize,
    ax: TimeAxis,
    baseline_end: f64,
    reject_from: Option<f64>,
    max_p2p: f64,
    max_noise: f64,
) -> PyResult<RejectRule> {
    if max_p2p.is_nan() || max_noise.is_nan() || max_p2p < 0.0 || max_noise < 0.0 {
        return Err(value_error(
            "max_p2p and max_noise must be >= 0 (inf disables)",
        ));
    }
    let baseline_len = ax.count_before(len, baseline_end);
    if max_noise.is_finite() && baseline_len < 2 {
        return Err(value_error(
            "max_noise needs at least 2 baseline samples (t < baseline_end)",
        ));
    }
    Ok(RejectRule {
        baseline_len,
        p2p_start: reject_from.map_or(0, |t| ax.count_before(len, t)),
        max_p2p,
        max_noise,
    })
}

/// Average the accepted rows of a block. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (sweeps, sample_rate, t0, *, baseline_end=0.0, reject_from=None,
                    max_p2p=f64::INFINITY, max_noise=f64::INFINITY))]
#[allow(clippy::too_many_arguments)]
fn average_sweeps<'py>(
    py: Python<'py>,
    sweeps: &Bound<'py, PyAny>,
    sample_rate: f64,
    t0: f64,
    baseline_end: f64,
    reject_from: Option<f64>,
    max_p2p: f64,
    max_noise: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let arr = SampleArray::<Ix2>::extract(sweeps, "sweeps", 2, "one sweep per row")?;
    let shape = arr.shape();
    let ax = axis(sample_rate, t0)?;
    let rule = reject_rule(shape[1], ax, baseline_end, reject_from, max_p2p, max_noise)?;
    if shape[1] == 0 {
        return Err(value_error("sweeps must hold samples"));
    }
    let (mean, mask) = dispatch!(&arr, |a| {
        let s = row_major(a);
        py.detach(|| guarded(|| average_rows(&s, shape[1], rule)))?
    });
    let n_acc = mask.iter().filter(|&&m| m).count();
    let d = PyDict::new(py);
    d.set_item("mean", PyArray1::from_vec(py, mean))?;
    d.set_item("n_accepted", n_acc)?;
    d.set_item("n_rejected", mask.len() - n_acc)?;
    d.set_item("accepted", PyArray1::from_vec(py, mask))?;
    Ok(d)
}

/// A running average that sweeps join one at a time. See rustcore.pyi.
#[pyclass(module = "rustcore")]
pub struct RunningAverage {
    avg: Averager,
}

#[pymethods]
impl RunningAverage {
    #[new]
    #[pyo3(signature = (length, sample_rate, t0, *, baseline_end=0.0, reject_from=None,
                        max_p2p=f64::INFINITY, max_noise=f64::INFINITY))]
    fn new(
        length: usize,
        sample_rate: f64,
        t0: f64,
        baseline_end: f64,
        reject_from: Option<f64>,
        max_p2p: f64,
        max_noise: f64,
    ) -> PyResult<Self> {
        if length == 0 {
            return Err(value_error("length must be >= 1"));
        }
        let ax = axis(sample_rate, t0)?;
        let rule = reject_rule(length, ax, baseline_end, reject_from, max_p2p, max_noise)?;
        Ok(Self {
            avg: Averager::new(length, rule),
        })
    }

    /// Add one sweep; True when accepted into the average.
    fn add(&mut self, sweep: &Bound<'_, PyAny>) -> PyResult<bool> {
        let arr = SampleArray::<Ix1>::extract(sweep, "sweep", 1, "one sweep")?;
        if arr.shape()[0] != self.avg.len() {
            return Err(value_error(format!(
                "sweep has {} samples, the average {}",
                arr.shape()[0],
                self.avg.len()
            )));
        }
        let avg = &mut self.avg;
        dispatch!(&arr, |a| guarded(|| avg.add(&row_major(a))))
    }

    #[getter]
    fn mean<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.avg.mean())
    }
    #[getter]
    fn n_accepted(&self) -> usize {
        self.avg.accepted
    }
    #[getter]
    fn n_rejected(&self) -> usize {
        self.avg.rejected
    }
    fn reset(&mut self) {
        self.avg.reset();
    }
}

// --- filtering ----------------------------------------------------------------------

fn filtered<'py, T: Sample + Element>(
    py: Python<'py>,
    a: &numpy::PyReadonlyArray<'py, T, IxDyn>,
    sections: &[filter::Section],
    mode: Mode,
    progress: Option<&Progress>,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = a.shape().to_vec();
    let len = *shape.last().unwrap();
    let samples = row_major(a);
    let mut out = vec![T::ZERO; samples.len()];
    huge_pages(&mut out);
    if !samples.is_empty() {
        let ctl = control_of(progress);
        py.detach(|| {
            guarded(|| filter::filter_rows(sections, mode, &samples, &mut out, len, &ctl))
        })?
        .map_err(|_| Cancelled::new_err("sos_filter was cancelled"))?;
    }
    let arr = out.into_pyarray(py);
    Ok(arr.reshape(shape)?.into_any())
}

/// Ask Linux to back a fresh output buffer with 2 MB pages: its first writes then fault
/// 512x less often (zeroing 4 KB pages on first touch cost more than a 4-section
/// filter). A hint only; elsewhere, or if refused, nothing changes.
fn huge_pages<T>(buf: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
        }
        const MADV_HUGEPAGE: i32 = 14;
        const PAGE: usize = 4096;
        let start = buf.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(buf);
        let first = start.next_multiple_of(PAGE);
        if end >= first + (2 << 20) {
            // SAFETY: the range lies inside `buf`, page-aligned; MADV_HUGEPAGE changes no
            // contents and the return value (an unsupported hint) is ignored.
            unsafe { madvise(first as *mut _, (end - first) / PAGE * PAGE, MADV_HUGEPAGE) };
        }
    }
}

/// Apply an SOS cascade along the last axis. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (x, sos, *, zero_phase=false, padlen=None, progress=None))]
fn sos_filter<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    sos: PyReadonlyArray2<'py, f64>,
    zero_phase: bool,
    padlen: Option<usize>,
    progress: Option<&Progress>,
) -> PyResult<Bound<'py, PyAny>> {
    if sos.shape()[1] != 6 {
        return Err(value_error("sos must have shape (n_sections, 6)"));
    }
    let sections = filter::sections_from_sos(&row_major(&sos)).map_err(value_error)?;
    let ndim = x
        .getattr("ndim")
        .map_err(|_| pyo3::exceptions::PyTypeError::new_err("x must be a NumPy array"))?
        .extract::<usize>()?;
    if ndim != 1 && ndim != 2 {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "x must be 1-D (one sweep) or 2-D (one sweep per row), got {ndim}-D"
        )));
    }
    let arr = SampleArray::<IxDyn>::extract(x, "x", ndim, "one sweep or one sweep per row")?;
    let len = *arr.shape().last().unwrap();
    let mode = if zero_phase {
        let padlen = padlen.unwrap_or_else(|| filter::default_padlen(&sections));
        if len <= padlen {
            return Err(value_error(format!(
                "zero-phase filtering needs more than padlen = {padlen} samples per sweep, got {len}"
            )));
        }
        Mode::ZeroPhase { padlen }
    } else {
        Mode::Forward
    };
    dispatch!(&arr, |a| filtered(py, a, &sections, mode, progress))
}

// --- series -------------------------------------------------------------------------

fn window_rule(
    len: usize,
    ax: TimeAxis,
    baseline_end: f64,
    window: (f64, f64),
    k: f64,
    min_amplitude: f64,
) -> PyResult<WindowRule> {
    let baseline_len = ax.count_before(len, baseline_end);
    if baseline_len < kernels::sweep::MIN_BASELINE_SAMPLES {
        return Err(value_error(format!(
            "need at least {} pre-stimulus samples (t < baseline_end), found {baseline_len}",
            kernels::sweep::MIN_BASELINE_SAMPLES
        )));
    }
    let (start, end) = (
        ax.count_before(len, window.0),
        ax.count_before(len, window.1),
    );
    if window.0.partial_cmp(&window.1) != Some(std::cmp::Ordering::Less) || start >= end {
        return Err(value_error(format!(
            "window {window:?} s holds no samples of this sweep"
        )));
    }
    if !(k.is_finite() && k >= 0.0 && min_amplitude.is_finite() && min_amplitude >= 0.0) {
        return Err(value_error("k and min_amplitude must be finite and >= 0"));
    }
    Ok(WindowRule {
        axis: ax,
        baseline_len,
        start,
        end,
        k,
        min_amplitude,
    })
}

/// F-waves over a series of sweeps. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (sweeps, sample_rate, t0, *, window, baseline_end=0.0, k=5.0,
                    min_amplitude=20e-6))]
#[allow(clippy::too_many_arguments)]
fn f_waves<'py>(
    py: Python<'py>,
    sweeps: &Bound<'py, PyAny>,
    sample_rate: f64,
    t0: f64,
    window: (f64, f64),
    baseline_end: f64,
    k: f64,
    min_amplitude: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let arr = SampleArray::<Ix2>::extract(sweeps, "sweeps", 2, "one sweep per row")?;
    let len = arr.shape()[1];
    let rule = window_rule(
        len,
        axis(sample_rate, t0)?,
        baseline_end,
        window,
        k,
        min_amplitude,
    )?;
    let f = dispatch!(&arr, |a| {
        let s = row_major(a);
        py.detach(|| guarded(|| series::f_waves(&s, len, &rule)))?
    });
    let d = PyDict::new(py);
    d.set_item("latency", PyArray1::from_vec(py, f.latency))?;
    d.set_item("amplitude", PyArray1::from_vec(py, f.amplitude))?;
    d.set_item("present", PyArray1::from_vec(py, f.present))?;
    d.set_item("min_latency", f.min_latency)?;
    d.set_item("mean_latency", f.mean_latency)?;
    d.set_item("max_latency", f.max_latency)?;
    d.set_item("persistence", f.persistence)?;
    d.set_item("chronodispersion", f.chronodispersion)?;
    Ok(d)
}

/// H-reflex: M and H responses per sweep. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (sweeps, sample_rate, t0, *, m_window, h_window, baseline_end=0.0,
                    k=5.0, min_amplitude=20e-6))]
#[allow(clippy::too_many_arguments)]
fn h_reflex<'py>(
    py: Python<'py>,
    sweeps: &Bound<'py, PyAny>,
    sample_rate: f64,
    t0: f64,
    m_window: (f64, f64),
    h_window: (f64, f64),
    baseline_end: f64,
    k: f64,
    min_amplitude: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let arr = SampleArray::<Ix2>::extract(sweeps, "sweeps", 2, "one sweep per row")?;
    let len = arr.shape()[1];
    let ax = axis(sample_rate, t0)?;
    let mr = window_rule(len, ax, baseline_end, m_window, k, min_amplitude)?;
    let hr = window_rule(len, ax, baseline_end, h_window, k, min_amplitude)?;
    let (m, h) = dispatch!(&arr, |a| {
        let s = row_major(a);
        py.detach(|| {
            guarded(|| {
                let m: Vec<_> = s
                    .chunks_exact(len)
                    .map(|r| series::window_response(r, &mr))
                    .collect();
                let h: Vec<_> = s
                    .chunks_exact(len)
                    .map(|r| series::window_response(r, &hr))
                    .collect();
                (m, h)
            })
        })?
    });
    let m_amp: Vec<f64> = m.iter().map(|r| r.amplitude).collect();
    let h_amp: Vec<f64> = h.iter().map(|r| r.amplitude).collect();
    let ratio: Vec<f64> = m_amp.iter().zip(&h_amp).map(|(m, h)| h / m).collect();
    let nanmax = |xs: &[f64]| {
        xs.iter()
            .copied()
            .filter(|v| !v.is_nan())
            .fold(f64::NAN, f64::max)
    };
    let (h_max, m_max) = (nanmax(&h_amp), nanmax(&m_amp));
    let h_max_latency = h
        .iter()
        .filter(|r| r.present && r.amplitude == h_max)
        .map(|r| r.latency)
        .next()
        .unwrap_or(f64::NAN);
    let d = PyDict::new(py);
    d.set_item(
        "m_latency",
        PyArray1::from_vec(py, m.iter().map(|r| r.latency).collect()),
    )?;
    d.set_item("m_amplitude", PyArray1::from_vec(py, m_amp))?;
    d.set_item(
        "h_latency",
        PyArray1::from_vec(py, h.iter().map(|r| r.latency).collect()),
    )?;
    d.set_item("h_amplitude", PyArray1::from_vec(py, h_amp))?;
    d.set_item(
        "h_present",
        PyArray1::from_vec(py, h.iter().map(|r| r.present).collect()),
    )?;
    d.set_item("h_m_ratio", PyArray1::from_vec(py, ratio))?;
    d.set_item("h_max", h_max)?;
    d.set_item("h_max_latency", h_max_latency)?;
    d.set_item("m_max", m_max)?;
    d.set_item("h_max_m_max", h_max / m_max)?;
    Ok(d)
}

fn cmap_params(
    search_start: f64,
    baseline_end: f64,
    onset_k: f64,
    onset_frac: f64,
    min_snr: f64,
) -> CmapParams {
    CmapParams {
        search_start,
        baseline_end,
        onset_k,
        onset_frac,
        min_snr,
    }
}

/// Repetitive nerve stimulation: one response per row. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (sweeps, sample_rate, t0, *, search_start=0.001, baseline_end=0.0,
                    onset_k=4.0, onset_frac=0.01, min_snr=3.0))]
#[allow(clippy::too_many_arguments)]
fn repetitive_stimulation<'py>(
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
    let arr = SampleArray::<Ix2>::extract(sweeps, "sweeps", 2, "one response per row")?;
    let p = cmap_params(search_start, baseline_end, onset_k, onset_frac, min_snr);
    let pl = plan(arr.shape()[1], sample_rate, t0, p)?;
    let c = dispatch!(&arr, |a| {
        let s = row_major(a);
        py.detach(|| guarded(|| kernels::measure_rows(&s, &pl)))?
    });
    let r = series::rns(&c.neg_amplitude, &c.neg_area);
    let d = PyDict::new(py);
    d.set_item("amplitude", PyArray1::from_vec(py, c.neg_amplitude))?;
    d.set_item("area", PyArray1::from_vec(py, c.neg_area))?;
    d.set_item("flags", PyArray1::from_vec(py, c.flags))?;
    d.set_item(
        "amplitude_change",
        PyArray1::from_vec(py, r.amplitude_change),
    )?;
    d.set_item("area_change", PyArray1::from_vec(py, r.area_change))?;
    d.set_item("decrement_4th", r.decrement_4th)?;
    d.set_item("decrement_5th", r.decrement_5th)?;
    d.set_item("max_decrement", r.max_decrement)?;
    Ok(d)
}

/// Velocity, block and dispersion between a distal and a proximal site. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (distal, proximal, sample_rate, t0, distance, *, search_start=0.001,
                    baseline_end=0.0, onset_k=4.0, onset_frac=0.01, min_snr=3.0))]
#[allow(clippy::too_many_arguments)]
fn compare_sites<'py>(
    py: Python<'py>,
    distal: &Bound<'py, PyAny>,
    proximal: &Bound<'py, PyAny>,
    sample_rate: f64,
    t0: f64,
    distance: f64,
    search_start: f64,
    baseline_end: f64,
    onset_k: f64,
    onset_frac: f64,
    min_snr: f64,
) -> PyResult<Bound<'py, PyDict>> {
    if !(distance.is_finite() && distance > 0.0) {
        return Err(value_error("distance must be a finite number > 0 (m)"));
    }
    let p = cmap_params(search_start, baseline_end, onset_k, onset_frac, min_snr);
    let mut ms = Vec::new();
    for (obj, name) in [(distal, "distal"), (proximal, "proximal")] {
        let arr = SampleArray::<Ix1>::extract(obj, name, 1, "one sweep")?;
        let pl = plan(arr.shape()[0], sample_rate, t0, p)?;
        ms.push(dispatch!(&arr, |a| guarded(|| kernels::measure_one(
            &row_major(a),
            &pl
        ))?));
    }
    let c = series::compare_sites(&ms[0], &ms[1], distance);
    let d = PyDict::new(py);
    d.set_item("velocity", c.velocity)?;
    d.set_item("latency_difference", c.latency_difference)?;
    d.set_item("amplitude_drop", c.amplitude_drop)?;
    d.set_item("area_drop", c.area_drop)?;
    d.set_item("duration_increase", c.duration_increase)?;
    d.set_item("total_duration_increase", c.total_duration_increase)?;
    d.set_item("distal_flags", ms[0].flags)?;
    d.set_item("proximal_flags", ms[1].flags)?;
    d.set_item("acceptable", ms[0].acceptable() && ms[1].acceptable())?;
    Ok(d)
}

/// Stimulus–response curve and supramaximal plateau. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (intensity, response, *, tolerance=0.1, threshold_fraction=0.1))]
fn recruitment_curve<'py>(
    py: Python<'py>,
    intensity: &Bound<'py, PyAny>,
    response: &Bound<'py, PyAny>,
    tolerance: f64,
    threshold_fraction: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let (i, r) = (
        vector(intensity, "intensity")?,
        vector(response, "response")?,
    );
    if i.len() != r.len() {
        return Err(value_error("intensity and response differ in length"));
    }
    if !((0.0..1.0).contains(&tolerance) && (0.0..=1.0).contains(&threshold_fraction)) {
        return Err(value_error(
            "tolerance must lie in [0, 1) and threshold_fraction in [0, 1]",
        ));
    }
    let c = guarded(|| series::recruitment(&i, &r, tolerance, threshold_fraction))?;
    let d = PyDict::new(py);
    d.set_item("levels", PyArray1::from_vec(py, c.levels))?;
    d.set_item("level_mean", PyArray1::from_vec(py, c.level_mean))?;
    d.set_item(
        "level_count",
        PyArray1::from_vec(py, c.level_count.iter().map(|&n| n as i64).collect()),
    )?;
    d.set_item("max_response", c.max_response)?;
    d.set_item("plateau_found", c.plateau_found)?;
    d.set_item("plateau_start", c.plateau_start)?;
    d.set_item("plateau_amplitude", c.plateau_amplitude)?;
    d.set_item("threshold", c.threshold)?;
    d.set_item("half_max_intensity", c.half_max_intensity)?;
    Ok(d)
}

// --- needle EMG ---------------------------------------------------------------------

fn detection<T: Sample>(raw: &[T], detect: Option<&[f64]>) -> PyResult<Vec<f64>> {
    match detect {
        Some(d) if d.len() != raw.len() => Err(value_error("detect must match signal in length")),
        Some(d) => Ok(d.to_vec()),
        None => Ok(emg::central_difference(raw)),
    }
}

/// Decompose a needle EMG record into motor units. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (signal, sample_rate, *, detect=None, threshold_k=5.0, dead_time=0.002,
                    half_window=0.0125, match_half_window=0.003, match_tolerance=0.3,
                    min_count=3, duration_fraction=0.05, turn_amplitude=20e-6))]
#[allow(clippy::too_many_arguments)]
fn decompose_emg<'py>(
    py: Python<'py>,
    signal: &Bound<'py, PyAny>,
    sample_rate: f64,
    detect: Option<&Bound<'py, PyAny>>,
    threshold_k: f64,
    dead_time: f64,
    half_window: f64,
    match_half_window: f64,
    match_tolerance: f64,
    min_count: usize,
    duration_fraction: f64,
    turn_amplitude: f64,
) -> PyResult<Bound<'py, PyDict>> {
    check_rate(sample_rate)?;
    let positive = [
        threshold_k,
        dead_time,
        half_window,
        match_half_window,
        match_tolerance,
    ];
    if positive.iter().any(|v| !(v.is_finite() && *v > 0.0))
        || !(duration_fraction.is_finite() && (0.0..1.0).contains(&duration_fraction))
        || !(turn_amplitude.is_finite() && turn_amplitude >= 0.0)
    {
        return Err(value_error(
            "threshold_k, dead_time, half_window, match_half_window and match_tolerance must \
             be > 0; duration_fraction in [0, 1); turn_amplitude >= 0",
        ));
    }
    let p = MuapParams {
        sample_rate,
        threshold_k,
        dead_time,
        half_window,
        match_half_window,
        match_tolerance,
        min_count: min_count.max(1),
        duration_fraction,
        turn_amplitude,
        ..MuapParams::default()
    };
    let det = detect.map(|d| vector(d, "detect")).transpose()?;
    let arr = SampleArray::<Ix1>::extract(signal, "signal", 1, "one channel")?;
    let dec = dispatch!(&arr, |a| {
        let s = row_major(a);
        let det = detection(&s, det.as_deref())?;
        py.detach(|| guarded(|| emg::decompose(&s, &det, &p)))?
    });
    let n = dec.units.len();
    let width = dec.before + dec.after + 1;
    let mut templates = Vec::with_capacity(n * width);
    let firing_times = PyList::empty(py);
    let col =
        |f: &dyn Fn(&emg::MotorUnit) -> f64| -> Vec<f64> { dec.units.iter().map(f).collect() };
    for u in &dec.units {
        templates.extend_from_slice(&u.template);
        let t: Vec<f64> = u.firings.iter().map(|&i| i as f64 / sample_rate).collect();
        firing_times.append(PyArray1::from_vec(py, t))?;
    }
    let d = PyDict::new(py);
    d.set_item("n_units", n)?;
    d.set_item("noise", dec.noise)?;
    d.set_item("threshold", dec.threshold)?;
    d.set_item(
        "event_times",
        PyArray1::from_vec(
            py,
            dec.events.iter().map(|&i| i as f64 / sample_rate).collect(),
        ),
    )?;
    d.set_item("event_unit", PyArray1::from_vec(py, dec.event_unit.clone()))?;
    d.set_item(
        "templates",
        Array2::from_shape_vec((n, width), templates)
            .expect("templates are n × width")
            .into_pyarray(py),
    )?;
    d.set_item("template_t0", -(dec.before as f64) / sample_rate)?;
    d.set_item("firing_times", firing_times)?;
    d.set_item(
        "count",
        PyArray1::from_vec(
            py,
            dec.units.iter().map(|u| u.firings.len() as i64).collect(),
        ),
    )?;
    d.set_item(
        "amplitude",
        PyArray1::from_vec(py, col(&|u| u.measures.amplitude)),
    )?;
    d.set_item(
        "duration",
        PyArray1::from_vec(py, col(&|u| u.measures.duration)),
    )?;
    d.set_item(
        "phases",
        PyArray1::from_vec(
            py,
            dec.units.iter().map(|u| u.measures.phases as i64).collect(),
        ),
    )?;
    d.set_item(
        "turns",
        PyArray1::from_vec(
            py,
            dec.units.iter().map(|u| u.measures.turns as i64).collect(),
        ),
    )?;
    d.set_item("area", PyArray1::from_vec(py, col(&|u| u.measures.area)))?;
    d.set_item(
        "firing_rate",
        PyArray1::from_vec(py, col(&|u| u.firing_rate)),
    )?;
    d.set_item("recruitment_frequency", dec.recruitment_frequency)?;
    Ok(d)
}

/// Spontaneous activity at rest. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (signal, sample_rate, *, detect=None, threshold_k=5.0, dead_time=0.002))]
fn spontaneous_activity<'py>(
    py: Python<'py>,
    signal: &Bound<'py, PyAny>,
    sample_rate: f64,
    detect: Option<&Bound<'py, PyAny>>,
    threshold_k: f64,
    dead_time: f64,
) -> PyResult<Bound<'py, PyDict>> {
    check_rate(sample_rate)?;
    if !(threshold_k > 0.0 && dead_time > 0.0 && threshold_k.is_finite() && dead_time.is_finite()) {
        return Err(value_error(
            "threshold_k and dead_time must be finite and > 0",
        ));
    }
    let p = MuapParams {
        sample_rate,
        threshold_k,
        dead_time,
        ..MuapParams::default()
    };
    let det = detect.map(|d| vector(d, "detect")).transpose()?;
    let arr = SampleArray::<Ix1>::extract(signal, "signal", 1, "one channel")?;
    let (sp, secs) = dispatch!(&arr, |a| {
        let s = row_major(a);
        let det = detection(&s, det.as_deref())?;
        let secs = s.len() as f64 / sample_rate;
        (
            py.detach(|| guarded(|| emg::spontaneous(&s, &det, &p)))?,
            secs,
        )
    });
    let count = |k: u8| sp.kind.iter().filter(|&&x| x == k).count();
    let (fib, psw) = (count(emg::FIBRILLATION), count(emg::POSITIVE_SHARP_WAVE));
    let d = PyDict::new(py);
    d.set_item(
        "event_times",
        PyArray1::from_vec(
            py,
            sp.events.iter().map(|&i| i as f64 / sample_rate).collect(),
        ),
    )?;
    d.set_item("kind", PyArray1::from_vec(py, sp.kind.clone()))?;
    d.set_item("duration", PyArray1::from_vec(py, sp.duration.clone()))?;
    d.set_item("amplitude", PyArray1::from_vec(py, sp.amplitude.clone()))?;
    d.set_item("n_fibrillations", fib)?;
    d.set_item("n_positive_sharp_waves", psw)?;
    d.set_item("fibrillation_rate", fib as f64 / secs)?;
    d.set_item("positive_sharp_wave_rate", psw as f64 / secs)?;
    d.set_item("noise", sp.noise)?;
    Ok(d)
}

/// Interference pattern: turns per second and mean amplitude. See rustcore.pyi.
#[pyfunction]
#[pyo3(signature = (signal, sample_rate, *, turn_amplitude=100e-6, epoch=0.5))]
fn interference_pattern<'py>(
    py: Python<'py>,
    signal: &Bound<'py, PyAny>,
    sample_rate: f64,
    turn_amplitude: f64,
    epoch: f64,
) -> PyResult<Bound<'py, PyDict>> {
    check_rate(sample_rate)?;
    if !(turn_amplitude > 0.0 && turn_amplitude.is_finite() && epoch > 0.0 && epoch.is_finite()) {
        return Err(value_error(
            "turn_amplitude and epoch must be finite and > 0",
        ));
    }
    let arr = SampleArray::<Ix1>::extract(signal, "signal", 1, "one channel")?;
    let ep = ((epoch * sample_rate).round() as usize).max(1);
    let r = dispatch!(&arr, |a| {
        let s = row_major(a);
        py.detach(|| guarded(|| emg::interference(&s, sample_rate, turn_amplitude, ep)))?
    });
    let d = PyDict::new(py);
    d.set_item("turns_per_second", r.turns_per_second)?;
    d.set_item("mean_amplitude", r.mean_amplitude)?;
    d.set_item(
        "epoch_turns_per_second",
        PyArray1::from_vec(py, r.epoch_turns_per_second),
    )?;
    d.set_item(
        "epoch_mean_amplitude",
        PyArray1::from_vec(py, r.epoch_mean_amplitude),
    )?;
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(average_sweeps, m)?)?;
    m.add_class::<RunningAverage>()?;
    m.add_function(wrap_pyfunction!(sos_filter, m)?)?;
    m.add_function(wrap_pyfunction!(f_waves, m)?)?;
    m.add_function(wrap_pyfunction!(h_reflex, m)?)?;
    m.add_function(wrap_pyfunction!(repetitive_stimulation, m)?)?;
    m.add_function(wrap_pyfunction!(compare_sites, m)?)?;
    m.add_function(wrap_pyfunction!(recruitment_curve, m)?)?;
    m.add_function(wrap_pyfunction!(decompose_emg, m)?)?;
    m.add_function(wrap_pyfunction!(spontaneous_activity, m)?)?;
    m.add_function(wrap_pyfunction!(interference_pattern, m)?)?;
    Ok(())
}
