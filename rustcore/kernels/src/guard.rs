//! Panics must not cross into Python: PyO3 would raise PanicException, a BaseException
//! that `except Exception` (Textual workers) does not catch. The binding runs each kernel
//! through [`catch_panic`] and raises an ordinary exception with the message instead.

use std::panic::{self, AssertUnwindSafe};

/// Run `f`; a panic comes back as `Err(message)`.
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    // Kernels only read their inputs and build fresh outputs, so no broken state survives.
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".to_owned());
        format!("internal error in rustcore kernel: {msg}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_becomes_an_error_message() {
        assert_eq!(catch_panic(|| 3), Ok(3));
        let err = catch_panic(|| -> u8 { panic!("bad row {}", 7) }).unwrap_err();
        assert!(err.contains("bad row 7"), "{err}");
    }
}
