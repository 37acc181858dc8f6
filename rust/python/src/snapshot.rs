//! Loading a snapshot's store: straight from the mapped file into presized dicts.
//!
//! A snapshot of 10^6 Services holds two million (key, blob) pairs. Decoding the body
//! with msgpack-python builds a list of keys and a list of blobs per kind, then
//! `dict(zip(...))` grows a dict through a dozen resizes; here each pair goes once from
//! the file into a dict sized for it. Everything else in the body is small and left to
//! msgpack-python: this returns where each top-level value lies.

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::msgpack::Reader;
use crate::record::RecordRules;

extern "C" {
    // CPython's dict constructor with room for `minused` items (3.8+, not in pyo3-ffi).
    fn _PyDict_NewPresized(minused: ffi::Py_ssize_t) -> *mut ffi::PyObject;
}

fn presized_dict(py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyDict>> {
    let n = ffi::Py_ssize_t::try_from(n)
        .map_err(|_| PyValueError::new_err("snapshot bucket too large"))?;
    // SAFETY: returns a new reference to a dict, or NULL with an exception set.
    unsafe {
        Bound::from_owned_ptr_or_err(py, _PyDict_NewPresized(n)).map(|d| d.cast_into_unchecked())
    }
}

fn bad(what: &str, at: usize) -> PyErr {
    PyValueError::new_err(format!("{what} at body byte {at}"))
}

/// Reads a snapshot body (a msgpack map). Returns `(store, ranges)`: `store` is a list
/// of `[kind, {key: blob}]` from the body's `store` entry, every blob checked against
/// `rules` (the objects the log would take); `ranges` maps every other top-level key to
/// the `(start, end)` of its value in `body`, for msgpack-python.
#[pyfunction]
pub fn read_snapshot_body<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyAny>,
    rules: &Bound<'py, RecordRules>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyDict>)> {
    let rules = rules.get();
    let buffer = pyo3::buffer::PyBuffer::<u8>::get(body)?;
    let bytes = crate::replay::slice_of(&buffer)?;
    let mut r = Reader::new(bytes);
    let mut store = PyList::empty(py);
    let ranges = PyDict::new(py);
    let n = r.map_len().ok_or_else(|| bad("the body is not a map", 0))?;
    let mut has_store = false;
    for _ in 0..n {
        let at = r.pos();
        let key = r
            .str()
            .ok_or_else(|| bad("a body key is not a string", at))?;
        if key == "store" {
            // a repeated key: the last one counts, as msgpack-python keeps it
            store = PyList::empty(py);
            read_store(py, &mut r, &store, rules)?;
            has_store = true;
        } else {
            let start = r.pos();
            r.skip(0)
                .ok_or_else(|| bad(&format!("malformed value of {key:?}"), start))?;
            ranges.set_item(key, (start, r.pos()))?;
        }
    }
    if !r.at_end() {
        return Err(bad("trailing bytes after the body", r.pos()));
    }
    if !has_store {
        return Err(bad("the body has no store", 0));
    }
    Ok((store, ranges))
}

fn read_store<'py>(
    py: Python<'py>,
    r: &mut Reader<'_>,
    out: &Bound<'py, PyList>,
    rules: &RecordRules,
) -> PyResult<()> {
    let at = r.pos();
    let kinds = r
        .array_len()
        .ok_or_else(|| bad("the store is not a list", at))?;
    for _ in 0..kinds {
        let at = r.pos();
        let shape = || bad("a store bucket is not [kind, [keys], [blobs]]", at);
        if r.array_len() != Some(3) {
            return Err(shape());
        }
        let kind = r.str().ok_or_else(shape)?;
        if !rules.knows(kind) {
            return Err(bad(&format!("unknown kind {kind:?}"), at));
        }
        let n = r.array_len().ok_or_else(shape)?;
        let mut keys = Vec::with_capacity(n.min(1 << 24));
        for _ in 0..n {
            let at = r.pos();
            keys.push(
                r.str()
                    .ok_or_else(|| bad("a store key is not a string", at))?,
            );
        }
        let at = r.pos();
        if r.array_len() != Some(n) {
            return Err(bad(
                &format!("the {kind} bucket has not as many blobs as keys ({n})"),
                at,
            ));
        }
        let bucket = presized_dict(py, n)?;
        for key in keys {
            let at = r.pos();
            let blob = r
                .bin_or_nil()
                .flatten()
                .ok_or_else(|| bad("a stored object is not bytes", at))?;
            rules.check_object(kind, key, blob).map_err(|e| {
                let what = format!("{kind} {key:?}: {e} (in the object); the object starts");
                bad(&what, at)
            })?;
            bucket.set_item(PyString::new(py, key), PyBytes::new(py, blob))?;
        }
        out.append((kind, bucket))?;
    }
    Ok(())
}
