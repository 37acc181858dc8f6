//! Stored objects as Python values, made in Rust: what `msgpack.unpackb(blob,
//! raw=False)` (the store's `decode_object`) gives, for the msgpack our writers write.
//!
//! The map keys and short strings of stored objects repeat from object to object
//! (`apiVersion`, `metadata`, `TCP`, `ClusterIP`...): they are made once and shared
//! (a str is immutable, so a shared one is the same value). Anything else msgpack
//! allows (extension types, map keys that are neither str nor bytes, text that is not
//! UTF-8, trailing bytes) is left to the caller, which decodes in Python (and so raises
//! Python's own error).

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use servicecidr_codec::msgpack::{Reader, MAX_DEPTH};

use crate::fxhash::FxBuild;

/// Strings at most this long are shared (names, keys, enum values).
const SHARED_MAX_LEN: usize = 32;
/// At most this many are kept (then all are forgotten: values that never repeat must
/// not pile up).
const SHARED_MAX: usize = 4096;

/// The shared strings of one decoder.
#[derive(Default)]
pub(crate) struct Strings(HashMap<Box<str>, Py<PyString>, FxBuild>);

impl Strings {
    fn get<'py>(&mut self, py: Python<'py>, s: &str) -> Bound<'py, PyString> {
        if s.len() > SHARED_MAX_LEN {
            return PyString::new(py, s);
        }
        if let Some(v) = self.0.get(s) {
            return v.bind(py).clone();
        }
        if self.0.len() >= SHARED_MAX {
            self.0.clear();
        }
        let v = PyString::new(py, s);
        self.0.insert(Box::from(s), v.clone().unbind());
        v
    }
}

/// The Python value of `blob`, or Ok(None) when it holds anything this decoder leaves
/// to Python (see the module doc).
pub(crate) fn decode<'py>(
    py: Python<'py>,
    blob: &[u8],
    strings: &mut Strings,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let mut r = Reader::new(blob);
    match value(py, &mut r, strings, 0)? {
        Some(v) if r.at_end() => Ok(Some(v)),
        _ => Ok(None),
    }
}

fn value<'py>(
    py: Python<'py>,
    r: &mut Reader<'_>,
    strings: &mut Strings,
    depth: u32,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if depth > MAX_DEPTH {
        return Ok(None);
    }
    let Some(b) = r.peek() else {
        return Ok(None);
    };
    let v = match b {
        0x00..=0x7f | 0xcc..=0xcf => match r.uint() {
            Some(u) => u.into_pyobject(py)?.into_any(),
            None => return Ok(None),
        },
        0xe0..=0xff | 0xd0..=0xd3 => match r.int() {
            Some(i) => i.into_pyobject(py)?.into_any(),
            None => return Ok(None),
        },
        0xc0 => {
            r.byte();
            py.None().into_bound(py)
        }
        0xc2 | 0xc3 => {
            r.byte();
            pyo3::types::PyBool::new(py, b == 0xc3)
                .to_owned()
                .into_any()
        }
        0xca | 0xcb => match r.float() {
            Some(f) => f.into_pyobject(py)?.into_any(),
            None => return Ok(None),
        },
        0xa0..=0xbf | 0xd9..=0xdb => match r.str() {
            Some(s) => strings.get(py, s).into_any(),
            None => return Ok(None),
        },
        0xc4..=0xc6 => match r.bin_or_nil() {
            Some(Some(bytes)) => PyBytes::new(py, bytes).into_any(),
            _ => return Ok(None),
        },
        0x90..=0x9f | 0xdc | 0xdd => {
            let Some(n) = r.array_len() else {
                return Ok(None);
            };
            let list = PyList::empty(py);
            for _ in 0..n {
                match value(py, r, strings, depth + 1)? {
                    Some(item) => list.append(item)?,
                    None => return Ok(None),
                }
            }
            list.into_any()
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let Some(n) = r.map_len() else {
                return Ok(None);
            };
            let dict = PyDict::new(py);
            for _ in 0..n {
                // strict_map_key: a key is a str or bytes
                let key = match r.peek() {
                    Some(0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6) => {
                        value(py, r, strings, depth + 1)?
                    }
                    _ => None,
                };
                let Some(key) = key else {
                    return Ok(None);
                };
                match value(py, r, strings, depth + 1)? {
                    Some(item) => dict.set_item(key, item)?,
                    None => return Ok(None),
                }
            }
            dict.into_any()
        }
        _ => return Ok(None), // extension types, and 0xc1 (never used)
    };
    Ok(Some(v))
}
