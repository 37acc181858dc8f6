//! Journal records: the Python face of `servicecidr-codec`'s record layout.
//!
//! Translation only: the layout (and its schema version) is the codec crate's. Here
//! Python objects become the codec's borrowed parts and back: a `Write` (or a 5-tuple),
//! an `Entry` (attributes seq, ts, verb, actor, kind, namespace, name, writes, extra),
//! and `extra`, a JSON-like Python value packed exactly as msgpack-python packs it.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use servicecidr_codec::frame;
use servicecidr_codec::msgpack as mp;
use servicecidr_codec::record::{self, RecordRef, WriteRef};

use crate::buffers::slice_of;
use crate::invalid_input_err;

fn too_long() -> PyErr {
    PyTypeError::new_err("a value too long for msgpack")
}

/// msgpack-python's packing of the JSON-like values an entry's `extra` holds; TypeError
/// for anything else (the caller then packs in Python, which words the error).
fn pack(v: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: u32) -> PyResult<()> {
    if depth > mp::MAX_DEPTH {
        return Err(PyTypeError::new_err("nested too deep"));
    }
    if v.is_none() {
        mp::nil(out);
    } else if let Ok(s) = v.cast::<PyString>() {
        mp::str(s.to_str()?, out).ok_or_else(too_long)?;
    } else if let Ok(b) = v.cast::<PyBool>() {
        mp::boolean(b.is_true(), out);
    } else if let Ok(i) = v.cast::<PyInt>() {
        match i.extract::<u64>() {
            Ok(u) => mp::uint(u, out),
            Err(_) => mp::int(i.extract()?, out), // beyond i64: msgpack-python refuses too
        }
    } else if let Ok(f) = v.cast::<PyFloat>() {
        mp::f64(f.value(), out);
    } else if let Ok(b) = v.cast::<PyBytes>() {
        mp::bin(b.as_bytes(), out).ok_or_else(too_long)?;
    } else if let Ok(l) = v.cast::<PyList>() {
        mp::array_len(l.len(), out).ok_or_else(too_long)?;
        for x in l.iter() {
            pack(&x, out, depth + 1)?;
        }
    } else if let Ok(t) = v.cast::<PyTuple>() {
        mp::array_len(t.len(), out).ok_or_else(too_long)?;
        for x in t.iter() {
            pack(&x, out, depth + 1)?;
        }
    } else if let Ok(d) = v.cast_exact::<PyDict>() {
        // (a dict subclass may order its items otherwise: msgpack-python's way is
        // .items(), and the Python encoder takes those)
        mp::map_len(d.len(), out).ok_or_else(too_long)?;
        for (k, x) in d.iter() {
            pack(&k, out, depth + 1)?;
            pack(&x, out, depth + 1)?;
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "cannot encode a {} in an entry",
            v.get_type().name()?
        )));
    }
    Ok(())
}

/// A Python write, held while the codec borrows its strings and bytes.
pub(crate) struct PyWrite<'py> {
    op: u64,
    kind: Bound<'py, PyString>,
    key: Bound<'py, PyString>,
    rv: u64,
    blob: Option<Bound<'py, PyBytes>>,
}

impl PyWrite<'_> {
    pub(crate) fn as_ref(&self) -> PyResult<WriteRef<'_>> {
        Ok(WriteRef {
            op: self.op,
            kind: self.kind.to_str()?,
            key: self.key.to_str()?,
            rv: self.rv,
            blob: self.blob.as_ref().map(|b| b.as_bytes()),
        })
    }
}

/// A `Write` (attributes op, kind, key, rv, blob) or an `(op, kind, key, rv, blob)` tuple.
pub(crate) fn extract_write<'py>(w: &Bound<'py, PyAny>) -> PyResult<PyWrite<'py>> {
    let py = w.py();
    let parts: [Bound<'py, PyAny>; 5] = if let Ok(t) = w.cast::<PyTuple>() {
        if t.len() != 5 {
            return Err(PyTypeError::new_err(
                "a write is (op, kind, key, rv, blob) or a Write",
            ));
        }
        [
            t.get_item(0)?,
            t.get_item(1)?,
            t.get_item(2)?,
            t.get_item(3)?,
            t.get_item(4)?,
        ]
    } else {
        [
            w.getattr(intern!(py, "op"))?,
            w.getattr(intern!(py, "kind"))?,
            w.getattr(intern!(py, "key"))?,
            w.getattr(intern!(py, "rv"))?,
            w.getattr(intern!(py, "blob"))?,
        ]
    };
    let [op, kind, key, rv, blob] = parts;
    Ok(PyWrite {
        op: op.extract()?,
        kind: kind.cast_into::<PyString>()?,
        key: key.cast_into::<PyString>()?,
        rv: rv.extract()?,
        blob: if blob.is_none() {
            None
        } else {
            Some(blob.cast_into::<PyBytes>()?)
        },
    })
}

/// Every write of an iterable, held.
pub(crate) fn extract_writes<'py>(writes: &Bound<'py, PyAny>) -> PyResult<Vec<PyWrite<'py>>> {
    let mut held = Vec::new();
    for w in writes.try_iter()? {
        held.push(extract_write(&w?)?);
    }
    Ok(held)
}

/// Encodes the parts of one entry as a framed record into `out`.
#[allow(clippy::too_many_arguments)]
fn frame_parts(
    py: Python<'_>,
    seq: u64,
    ts: f64,
    verb: &str,
    actor: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    writes: &[PyWrite<'_>],
    extra: &[u8],
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> PyResult<()> {
    let writes = writes
        .iter()
        .map(PyWrite::as_ref)
        .collect::<PyResult<Vec<_>>>()?;
    let rec = RecordRef {
        seq,
        ts,
        verb,
        actor,
        kind,
        namespace,
        name,
        writes,
        extra,
    };
    scratch.clear();
    record::encode(&rec, scratch)
        .map_err(|e| invalid_input_err(py, &format!("entry {seq}: {e}")))?;
    frame::frame(scratch, out)
        .ok_or_else(|| invalid_input_err(py, &format!("entry {seq} is too large for a record")))
}

/// The framed record of an entry given by its parts: `writes` as for `Store.apply`,
/// `extra` as msgpack bytes (None: nil). InvalidInputError when a part cannot be encoded.
#[pyfunction]
#[pyo3(signature = (seq, ts, verb, actor, kind, namespace, name, writes, extra))]
#[allow(clippy::too_many_arguments)]
pub fn encode_record<'py>(
    py: Python<'py>,
    seq: u64,
    ts: f64,
    verb: &str,
    actor: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    writes: &Bound<'py, PyAny>,
    extra: Option<&[u8]>,
) -> PyResult<Bound<'py, PyBytes>> {
    let held = extract_writes(writes)?;
    let mut scratch = Vec::with_capacity(512);
    let mut out = Vec::with_capacity(520);
    frame_parts(
        py,
        seq,
        ts,
        verb,
        actor,
        kind,
        namespace,
        name,
        &held,
        extra.unwrap_or(&[0xc0]),
        &mut scratch,
        &mut out,
    )?;
    Ok(PyBytes::new(py, &out))
}

/// The framed records of `entries` (`Entry` objects; an item that is `bytes` is a record
/// framed already and is copied as it is), concatenated: a batch of the log written in
/// one call. TypeError when an `extra` holds a value this packer does not take (the
/// caller then encodes in Python).
#[pyfunction]
pub fn frame_entries<'py>(
    py: Python<'py>,
    entries: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(entries.len() * 640);
    let mut scratch = Vec::with_capacity(1024);
    let mut extra = Vec::with_capacity(64);
    for e in entries.iter() {
        if let Ok(framed) = e.cast::<PyBytes>() {
            out.extend_from_slice(framed.as_bytes());
            continue;
        }
        let text = |name: &Bound<'py, PyString>| -> PyResult<Bound<'py, PyString>> {
            Ok(e.getattr(name)?.cast_into::<PyString>()?)
        };
        let verb = text(intern!(py, "verb"))?;
        let actor = text(intern!(py, "actor"))?;
        let kind = text(intern!(py, "kind"))?;
        let name = text(intern!(py, "name"))?;
        let namespace = e.getattr(intern!(py, "namespace"))?;
        let namespace = if namespace.is_none() {
            None
        } else {
            Some(namespace.cast_into::<PyString>()?)
        };
        let writes = extract_writes(&e.getattr(intern!(py, "writes"))?)?;
        extra.clear();
        pack(&e.getattr(intern!(py, "extra"))?, &mut extra, 0)?;
        frame_parts(
            py,
            e.getattr(intern!(py, "seq"))?.extract()?,
            e.getattr(intern!(py, "ts"))?.extract()?,
            verb.to_str()?,
            actor.to_str()?,
            kind.to_str()?,
            namespace.as_ref().map(|n| n.to_str()).transpose()?,
            name.to_str()?,
            &writes,
            &extra,
            &mut scratch,
            &mut out,
        )?;
    }
    Ok(PyBytes::new(py, &out))
}

/// Decodes a record payload of the current schema: `(seq, ts, verb, actor, kind,
/// namespace, name, [(op, kind, key, rv, blob), ...], extra_msgpack_or_None)`, or None
/// when it is anything else (the Python reader upcasts or words the error).
#[pyfunction]
pub fn decode_record<'py>(
    py: Python<'py>,
    payload: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let buffer = pyo3::buffer::PyBuffer::<u8>::get(payload)?;
    let bytes = slice_of(&buffer)?;
    let Some(rec) = record::decode(bytes) else {
        return Ok(None);
    };
    let writes = PyList::empty(py);
    for w in &rec.writes {
        writes.append((
            w.op,
            w.kind,
            w.key,
            w.rv,
            w.blob.map(|b| PyBytes::new(py, b)),
        ))?;
    }
    let extra = (rec.extra != [0xc0]).then(|| PyBytes::new(py, rec.extra));
    Ok(Some(PyTuple::new(
        py,
        [
            rec.seq.into_pyobject(py)?.into_any(),
            rec.ts.into_pyobject(py)?.into_any(),
            PyString::new(py, rec.verb).into_any(),
            PyString::new(py, rec.actor).into_any(),
            PyString::new(py, rec.kind).into_any(),
            rec.namespace.into_pyobject(py)?.into_any(),
            PyString::new(py, rec.name).into_any(),
            writes.into_any(),
            extra.into_pyobject(py)?.into_any(),
        ],
    )?))
}

/// The schema version of the records `encode_record` writes.
#[pyfunction]
pub fn record_schema_version() -> u64 {
    record::SCHEMA_VERSION
}

/// CRC32C (Castagnoli) of a bytes-like object, continuing from `crc` (0 to start).
#[pyfunction]
#[pyo3(name = "crc32c", signature = (data, crc = 0))]
pub fn crc32c_of(data: &Bound<'_, PyAny>, crc: u32) -> PyResult<u32> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(crc32c::crc32c_append(crc, b.as_bytes()));
    }
    let buffer = pyo3::buffer::PyBuffer::<u8>::get(data)?;
    Ok(crc32c::crc32c_append(crc, slice_of(&buffer)?))
}
