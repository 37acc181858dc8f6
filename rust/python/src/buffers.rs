//! Borrowing the bytes of Python buffers (bytes, memoryviews, mapped files).

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The bytes of a contiguous buffer, for as long as the buffer is held.
pub(crate) fn slice_of(buf: &PyBuffer<u8>) -> PyResult<&[u8]> {
    if !buf.is_c_contiguous() {
        return Err(PyValueError::new_err("a contiguous buffer is needed"));
    }
    // SAFETY: PyBuffer keeps the buffer exported, so the memory stays alive, for as
    // long as `buf` lives, which outlives the returned slice (its lifetime is `buf`'s).
    // The exporters handed to us (bytes, read-only mappings of log segments and
    // snapshots) never change their bytes while exported. PyO3 offers no safe borrowed
    // view of a buffer's bytes; copying them (to_vec) would cost a full copy of a
    // multi-GB mapped log.
    Ok(unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.len_bytes()) })
}
