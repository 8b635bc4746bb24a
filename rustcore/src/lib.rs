//! edxbench measurement core (placeholder until the kernels land).
use pyo3::prelude::*;

#[pymodule]
fn rustcore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
