//! Encoding a batch of events into log records (length, CRC32C, msgpack payload) in one
//! call: what an import's thousands of events cost in `encode_event` and `frame`, a
//! Python call each, done in a loop here. The bytes are exactly those: msgpack-python's
//! `packb(..., use_bin_type=True)` of the event list (tests/test_log.py compares).

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// The event layout `events/model.py` writes.
const SCHEMA_VERSION: u64 = 1;

fn len_header(
    n: usize,
    fix: u8,
    fix_max: usize,
    m16: u8,
    m32: u8,
    out: &mut Vec<u8>,
) -> PyResult<()> {
    if n < fix_max {
        out.push(fix | n as u8);
    } else if n < 1 << 16 {
        out.push(m16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        let n = u32::try_from(n).map_err(|_| PyTypeError::new_err("too long for msgpack"))?;
        out.push(m32);
        out.extend_from_slice(&n.to_be_bytes());
    }
    Ok(())
}

fn pack_str(s: &str, out: &mut Vec<u8>) -> PyResult<()> {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n < 1 << 8 {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else {
        len_header(n, 0, 0, 0xda, 0xdb, out)?;
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn pack_int(v: &Bound<'_, PyInt>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(u) = v.extract::<u64>() {
        pack_u64(u, out);
        return Ok(());
    }
    let i: i64 = v.extract()?; // beyond i64: msgpack-python refuses it too
    if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -(1 << 7) {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -(1 << 15) {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -(1 << 31) {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
    Ok(())
}

/// msgpack-python's packing of the JSON-like values events hold; TypeError for others.
fn pack(v: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: u32) -> PyResult<()> {
    if depth > 512 {
        return Err(PyTypeError::new_err("nested too deep"));
    }
    if v.is_none() {
        out.push(0xc0);
    } else if let Ok(s) = v.cast::<PyString>() {
        pack_str(s.to_str()?, out)?;
    } else if let Ok(b) = v.cast::<PyBool>() {
        out.push(if b.is_true() { 0xc3 } else { 0xc2 });
    } else if let Ok(i) = v.cast::<PyInt>() {
        pack_int(i, out)?;
    } else if let Ok(f) = v.cast::<PyFloat>() {
        out.push(0xcb);
        out.extend_from_slice(&f.value().to_be_bytes());
    } else if let Ok(b) = v.cast::<PyBytes>() {
        let b = b.as_bytes();
        if b.len() < 1 << 8 {
            out.extend_from_slice(&[0xc4, b.len() as u8]);
        } else {
            len_header(b.len(), 0, 0, 0xc5, 0xc6, out)?;
        }
        out.extend_from_slice(b);
    } else if let Ok(l) = v.cast::<PyList>() {
        len_header(l.len(), 0x90, 16, 0xdc, 0xdd, out)?;
        for x in l.iter() {
            pack(&x, out, depth + 1)?;
        }
    } else if let Ok(t) = v.cast::<PyTuple>() {
        len_header(t.len(), 0x90, 16, 0xdc, 0xdd, out)?;
        for x in t.iter() {
            pack(&x, out, depth + 1)?;
        }
    } else if let Ok(d) = v.cast::<PyDict>() {
        len_header(d.len(), 0x80, 16, 0xde, 0xdf, out)?;
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
        payload.push(SCHEMA_VERSION as u8);
        for name in names {
            pack(&ev.getattr(name)?, &mut payload, 1)?;
        }
        let writes = ev.getattr(writes_name)?;
        let writes = writes.cast::<PyList>()?;
        len_header(writes.len(), 0x90, 16, 0xdc, 0xdd, &mut payload)?;
        for w in writes.iter() {
            payload.push(0x95);
            for name in write_names {
                pack(&w.getattr(name)?, &mut payload, 2)?;
            }
        }
        pack(&ev.getattr(extra_name)?, &mut payload, 1)?;
        let len =
            u32::try_from(payload.len()).map_err(|_| PyTypeError::new_err("event too large"))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
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
    p.push(0x9a);
    p.push(SCHEMA_VERSION as u8);
    pack_u64(seq, &mut p);
    p.push(0xcb);
    p.extend_from_slice(&ts.to_be_bytes());
    for s in [
        Some("import"),
        Some(actor),
        Some(kind),
        namespace,
        Some(name),
    ] {
        match s {
            Some(s) => pack_str(s, &mut p)?,
            None => p.push(0xc0),
        }
    }
    p.push(0x91);
    p.push(0x95);
    pack_u64(op, &mut p);
    pack_str(kind, &mut p)?;
    pack_str(key, &mut p)?;
    pack_u64(rv, &mut p);
    match blob {
        Some(b) => {
            if b.len() < 1 << 8 {
                p.extend_from_slice(&[0xc4, b.len() as u8]);
            } else {
                len_header(b.len(), 0, 0, 0xc5, 0xc6, &mut p)?;
            }
            p.extend_from_slice(b);
        }
        None => p.push(0xc0),
    }
    p.push(if audit_id.is_empty() { 0x82 } else { 0x83 });
    pack_str("import", &mut p)?;
    pack_str(verb, &mut p)?;
    pack_str("at", &mut p)?;
    pack_str(at, &mut p)?;
    if !audit_id.is_empty() {
        pack_str("auditID", &mut p)?;
        pack_str(audit_id, &mut p)?;
    }
    let len = u32::try_from(p.len()).map_err(|_| PyTypeError::new_err("event too large"))?;
    let mut out = Vec::with_capacity(p.len() + 8);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&p).to_le_bytes());
    out.extend_from_slice(&p);
    Ok(PyBytes::new(py, &out))
}

fn pack_u64(u: u64, out: &mut Vec<u8>) {
    if u < 128 {
        out.push(u as u8);
    } else if u < 1 << 8 {
        out.extend_from_slice(&[0xcc, u as u8]);
    } else if u < 1 << 16 {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u < 1 << 32 {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}
