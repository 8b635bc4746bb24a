//! NumPy arrays in: exact dtype and ndim checks with messages that say what to pass, and
//! a contiguous copy of strided input (documented in rustcore.pyi).

use std::borrow::Cow;

use numpy::ndarray::Dimension;
use numpy::{dtype, Element, PyArray, PyArrayDescrMethods, PyReadonlyArray, PyUntypedArray};
use numpy::{PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// A float32 or float64 array, borrowed read-only for the duration of a call.
pub enum SampleArray<'py, D: Dimension> {
    F32(PyReadonlyArray<'py, f32, D>),
    F64(PyReadonlyArray<'py, f64, D>),
}

impl<'py, D: Dimension> SampleArray<'py, D> {
    /// Check `obj` is a NumPy array of `ndim` dimensions holding native float32/float64.
    pub fn extract(obj: &Bound<'py, PyAny>, name: &str, ndim: usize, hint: &str) -> PyResult<Self> {
        let py = obj.py();
        let Ok(untyped) = obj.cast::<PyUntypedArray>() else {
            let ty = obj.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "{name} must be a NumPy array of float32 or float64, got {ty}"
            )));
        };
        if untyped.ndim() != ndim {
            return Err(PyTypeError::new_err(format!(
                "{name} must be a {ndim}-D array ({hint}), got a {}-D array of shape {:?}",
                untyped.ndim(),
                untyped.shape()
            )));
        }
        let descr = untyped.dtype();
        if descr.is_equiv_to(&dtype::<f32>(py)) {
            Ok(Self::F32(readonly::<f32, D>(untyped)?))
        } else if descr.is_equiv_to(&dtype::<f64>(py)) {
            Ok(Self::F64(readonly::<f64, D>(untyped)?))
        } else {
            Err(PyTypeError::new_err(format!(
                "{name} must hold native-endian float32 or float64 samples (volts), got dtype \
                 {descr}; convert with np.asarray({name}, dtype=np.float64)"
            )))
        }
    }

    pub fn shape(&self) -> Vec<usize> {
        match self {
            Self::F32(a) => a.shape().to_vec(),
            Self::F64(a) => a.shape().to_vec(),
        }
    }
}

fn readonly<'py, T: Element, D: Dimension>(
    untyped: &Bound<'py, PyUntypedArray>,
) -> PyResult<PyReadonlyArray<'py, T, D>> {
    Ok(untyped.cast::<PyArray<T, D>>()?.try_readonly()?)
}

/// The samples in row-major order: borrowed when C-contiguous, copied otherwise.
/// (numpy's `as_slice` also accepts Fortran order, whose memory order is not row-major,
/// so ask ndarray, which only gives a slice for the standard layout.)
pub fn row_major<'a, T: Element + Copy, D: Dimension>(
    a: &'a PyReadonlyArray<'_, T, D>,
) -> Cow<'a, [T]> {
    let view = a.as_array();
    match view.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(view.iter().copied().collect()),
    }
}
