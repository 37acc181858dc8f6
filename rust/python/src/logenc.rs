//! Encoding a batch of events into log records (length, CRC32C, msgpack payload) in one
//! call: what an import's thousands of events cost in `encode_event` and `frame`, a
//! Python call each, done in a loop here. The bytes are exactly those: msgpack-python's
//! `packb(..., use_bin_type=True)` of the event list (tests/test_log_batch.py compares).

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use servicecidr_auditreader::msgpack as mp;

/// The event layout `journal/records.py` writes.
const SCHEMA_VERSION: u64 = 1;

fn too_long() -> PyErr {
    PyTypeError::new_err("a value too long for msgpack")
}

/// msgpack-python's packing of the JSON-like values events hold; TypeError for others.
fn pack(v: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: u32) -> PyResult<()> {
    if depth > 512 {
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
            "cannot encode a {} in an event",
            v.get_type().name()?
        )));
    }
    Ok(())
}

/// Appends `payload` framed: length and CRC32C (little-endian), then the bytes.
fn frame_into(payload: &[u8], out: &mut Vec<u8>) -> PyResult<()> {
    let len = u32::try_from(payload.len()).map_err(|_| PyTypeError::new_err("event too large"))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// The log records (framed) of `events`, concatenated; an item that is `bytes` is a record
/// framed already and is copied as it is. TypeError when an event holds a value this
/// encoder does not take (the caller then encodes in Python).
#[pyfunction]
pub fn encode_log_records<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(events.len() * 640);
    let mut payload = Vec::with_capacity(1024);
    let names = [
        intern!(py, "seq"),
        intern!(py, "ts"),
        intern!(py, "verb"),
        intern!(py, "actor"),
        intern!(py, "kind"),
        intern!(py, "namespace"),
        intern!(py, "name"),
    ];
    let write_names = [
        intern!(py, "op"),
        intern!(py, "kind"),
        intern!(py, "key"),
        intern!(py, "rv"),
        intern!(py, "blob"),
    ];
    let (writes_name, extra_name) = (intern!(py, "writes"), intern!(py, "extra"));
    for ev in events.iter() {
        if let Ok(framed) = ev.cast::<PyBytes>() {
            out.extend_from_slice(framed.as_bytes()); // framed already (frame_import_event)
            continue;
        }
        payload.clear();
        payload.push(0x9a); // an array of 10
        mp::uint(SCHEMA_VERSION, &mut payload);
        for name in names {
            pack(&ev.getattr(name)?, &mut payload, 1)?;
        }
        let writes = ev.getattr(writes_name)?;
        let writes = writes.cast::<PyList>()?;
        mp::array_len(writes.len(), &mut payload).ok_or_else(too_long)?;
        for w in writes.iter() {
            payload.push(0x95);
            for name in write_names {
                pack(&w.getattr(name)?, &mut payload, 2)?;
            }
        }
        pack(&ev.getattr(extra_name)?, &mut payload, 1)?;
        frame_into(&payload, &mut out)?;
    }
    Ok(PyBytes::new(py, &out))
}

/// The framed log record of an observed import's one-write event, built from its parts:
/// exactly `frame(encode_event(Event(seq, ts, "import", actor, kind, namespace, name,
/// [Write(op, kind, key, rv, blob)], {"import": verb, "at": at[, "auditID": audit_id]})))`
/// without the Event (the importer's hot path; tests/test_log_batch.py compares).
#[pyfunction]
#[pyo3(signature = (seq, ts, actor, kind, namespace, name, op, key, rv, blob, verb, at, audit_id))]
#[allow(clippy::too_many_arguments)]
pub fn frame_import_event<'py>(
    py: Python<'py>,
    seq: u64,
    ts: f64,
    actor: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    op: u64,
    key: &str,
    rv: u64,
    blob: Option<&[u8]>,
    verb: &str,
    at: &str,
    audit_id: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut p = Vec::with_capacity(blob.map_or(0, <[u8]>::len) + 256);
    let text = |s: &str, p: &mut Vec<u8>| mp::str(s, p).ok_or_else(too_long);
    p.push(0x9a);
    mp::uint(SCHEMA_VERSION, &mut p);
    mp::uint(seq, &mut p);
    mp::f64(ts, &mut p);
    for s in [
        Some("import"),
        Some(actor),
        Some(kind),
        namespace,
        Some(name),
    ] {
        match s {
            Some(s) => text(s, &mut p)?,
            None => mp::nil(&mut p),
        }
    }
    p.extend_from_slice(&[0x91, 0x95]); // [[op, kind, key, rv, blob]]
    mp::uint(op, &mut p);
    text(kind, &mut p)?;
    text(key, &mut p)?;
    mp::uint(rv, &mut p);
    match blob {
        Some(b) => mp::bin(b, &mut p).ok_or_else(too_long)?,
        None => mp::nil(&mut p),
    }
    mp::map_len(if audit_id.is_empty() { 2 } else { 3 }, &mut p).ok_or_else(too_long)?;
    for s in ["import", verb, "at", at] {
        text(s, &mut p)?;
    }
    if !audit_id.is_empty() {
        text("auditID", &mut p)?;
        text(audit_id, &mut p)?;
    }
    let mut out = Vec::with_capacity(p.len() + 8);
    frame_into(&p, &mut out)?;
    Ok(PyBytes::new(py, &out))
}
