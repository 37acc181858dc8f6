//! The replay fast path: frames, CRCs and event records of a log segment, applied to
//! the Python store in one call.
//!
//! Opening a state directory replays every event after the snapshot. Decoding each record
//! into Python `Event`/`Write` objects and applying them one by one costs about 6 µs an
//! event; this loop reads the records in place and writes the stored objects straight
//! into the store's per-kind dicts, marking the allocators on the way.
//!
//! It handles only what needs no Python decision: a current-version record, whole and
//! CRC-valid, in sequence, that the record rules accept in full (`record.rs`: every field
//! and every stored object as the readers will read it), whose writes touch neither
//! ServiceCIDRs (they reshape the allocators) nor Services with node ports. On anything
//! else it stops *before* the record and says so; the Python reader then takes that one
//! record (and, for a damaged one, refuses it with the exact error), and calls back in
//! after it.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use servicecidr_core::Ip;

use crate::msgpack::Reader;
use crate::record::RecordRules;
use crate::CidrAllocator;

/// The event record layout this fast path reads (events/model.py SCHEMA_VERSION).
const SCHEMA_VERSION: u64 = 1;
const RECORD_HEADER: usize = 8;
const MAX_RECORD: usize = 1 << 30;
const OP_PUT: u64 = 0;
const OP_DELETE: u64 = 1;

/// Why a call returned.
const END_OF_DATA: u8 = 0;
const NEEDS_PYTHON: u8 = 1;
const STOPPED: u8 = 2;
const BATCH_DONE: u8 = 3;

struct WriteRef<'a> {
    op: u64,
    kind: &'a str,
    key: &'a str,
    rv: u64,
    blob: Option<&'a [u8]>,
}

struct EventRef<'a> {
    seq: u64,
    ts: f64,
    writes: Vec<WriteRef<'a>>,
}

/// The parts of a current-version record that replay needs; None for anything else.
fn parse_event(payload: &[u8]) -> Option<EventRef<'_>> {
    let mut r = Reader::new(payload);
    if r.array_len()? != 10 || r.uint()? != SCHEMA_VERSION {
        return None;
    }
    let seq = r.uint()?;
    let ts = r.float()?;
    r.str()?; // verb
    r.str()?; // actor
    r.str()?; // kind
    r.nil_or_str()?; // namespace
    r.str()?; // name
    let n = r.array_len()?;
    let mut writes = Vec::with_capacity(n.min(16));
    for _ in 0..n {
        if r.array_len()? != 5 {
            return None;
        }
        let op = r.uint()?;
        let kind = r.str()?;
        let key = r.str()?;
        let rv = r.uint()?;
        let blob = r.bin_or_nil()?;
        writes.push(WriteRef {
            op,
            kind,
            key,
            rv,
            blob,
        });
    }
    r.skip(0)?; // extra
    r.at_end().then_some(EventRef { seq, ts, writes })
}

/// `b"odePort" in blob`, the test `_apply` uses for "this Service may hold node ports".
fn has_node_port(blob: &[u8]) -> bool {
    memchr::memmem::find(blob, b"odePort").is_some()
}

/// What one call did: where it stopped and what the replay state is now.
#[pyclass(frozen, module = "servicecidr._core", name = "ReplayProgress", get_all)]
pub struct ReplayProgress {
    /// Offset of the first record not consumed.
    offset: usize,
    /// Records read (CRC-checked and in sequence), applied or not.
    records: u64,
    /// Records applied (seq >= start_seq and before the stop point).
    applied: u64,
    /// Seq of the last record read (0 when none was).
    last_seq: u64,
    /// Seq the next record must have.
    expect_seq: u64,
    /// Timestamp of the last record applied, and the largest of them (NaN when none).
    last_ts: f64,
    max_ts: f64,
    /// The highest resourceVersion written (0 when nothing was).
    revision: u64,
    /// 0: end of data; 1: the record at `offset` needs the Python reader; 2: the record
    /// before `offset` is past stop_seq/stop_ts (read, not applied); 3: max_events applied.
    status: u8,
}

pub(crate) fn slice_of(buf: &PyBuffer<u8>) -> PyResult<&[u8]> {
    if !buf.is_c_contiguous() {
        return Err(PyValueError::new_err("replay needs a contiguous buffer"));
    }
    // SAFETY: the buffer stays exported (and the memory alive and unchanged: log
    // segments are mapped read-only) for as long as `buf` lives, which outlives the slice.
    Ok(unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.len_bytes()) })
}

/// Applies the records of `data` from `offset` (see the module doc).
///
/// `buckets` maps kind -> the store's dict for it; `allocators` are every allocator of
/// the MetaAllocator (a mark or unmark is a no-op on one that does not hold the
/// address); `node_port_services` is the NodePort tracker's Service-key dict.
#[pyfunction]
#[pyo3(signature = (data, offset, expect_seq, start_seq, stop_seq, stop_ts, buckets, allocators, node_port_services, max_events, rules))]
#[allow(clippy::too_many_arguments)]
pub fn replay_records(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    offset: usize,
    expect_seq: u64,
    start_seq: u64,
    stop_seq: Option<u64>,
    stop_ts: Option<f64>,
    buckets: &Bound<'_, PyDict>,
    allocators: Vec<Bound<'_, CidrAllocator>>,
    node_port_services: &Bound<'_, PyDict>,
    max_events: u64,
    rules: &Bound<'_, RecordRules>,
) -> PyResult<ReplayProgress> {
    let rules = rules.get();
    let buffer = PyBuffer::<u8>::get(data)?;
    let bytes = slice_of(&buffer)?;
    let mut kinds: Vec<(String, Bound<'_, PyDict>)> = Vec::new();
    for (k, v) in buckets.iter() {
        kinds.push((k.extract()?, v.cast_into::<PyDict>()?));
    }
    let bucket_of = |kind: &str| kinds.iter().find(|(k, _)| k == kind).map(|(_, d)| d);
    // Usually empty: then no key needs looking up in it.
    let node_port_services = (!node_port_services.is_empty()).then_some(node_port_services);
    let mut p = ReplayProgress {
        offset,
        records: 0,
        applied: 0,
        last_seq: 0,
        expect_seq,
        last_ts: f64::NAN,
        max_ts: f64::NAN,
        revision: 0,
        status: END_OF_DATA,
    };
    let end = bytes.len();
    loop {
        let off = p.offset;
        if off >= end {
            p.status = END_OF_DATA;
            break;
        }
        if p.applied >= max_events {
            p.status = BATCH_DONE;
            break;
        }
        p.status = NEEDS_PYTHON;
        let Some(head) = bytes.get(off..off + RECORD_HEADER) else {
            break;
        };
        let length = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let stop = off + RECORD_HEADER + length;
        if length == 0 || length > MAX_RECORD || stop > end {
            break;
        }
        let payload = &bytes[off + RECORD_HEADER..stop];
        if ::crc32c::crc32c(payload) != crc {
            break;
        }
        if rules.check_record(payload).is_err() {
            break; // the Python reader refuses it, with the reason
        }
        let Some(ev) = parse_event(payload) else {
            break;
        };
        if ev.seq != p.expect_seq {
            break;
        }
        if ev.seq >= start_seq {
            if stop_seq.is_some_and(|s| ev.seq > s) || stop_ts.is_some_and(|t| ev.ts > t) {
                p.records += 1;
                p.last_seq = ev.seq;
                p.expect_seq += 1;
                p.offset = stop;
                p.status = STOPPED;
                break;
            }
            if !apply_event(py, &ev, &bucket_of, &allocators, node_port_services, &mut p)? {
                break;
            }
            p.applied += 1;
            p.last_ts = ev.ts;
            if p.max_ts.is_nan() || ev.ts > p.max_ts {
                p.max_ts = ev.ts;
            }
        }
        p.records += 1;
        p.last_seq = ev.seq;
        p.expect_seq += 1;
        p.offset = stop;
    }
    Ok(p)
}

/// Applies one event's writes; false (and nothing changed) when it needs Python.
fn apply_event<'py, 'k>(
    py: Python<'py>,
    ev: &EventRef<'_>,
    bucket_of: &impl Fn(&str) -> Option<&'k Bound<'py, PyDict>>,
    allocators: &[Bound<'py, CidrAllocator>],
    node_port_services: Option<&Bound<'py, PyDict>>,
    p: &mut ReplayProgress,
) -> PyResult<bool>
where
    'py: 'k,
{
    for w in &ev.writes {
        if w.kind == "ServiceCIDR" || bucket_of(w.kind).is_none() {
            return Ok(false);
        }
        match w.op {
            OP_PUT => {
                let Some(blob) = w.blob else {
                    return Ok(false);
                };
                if w.kind == "Service"
                    && (has_node_port(blob) || tracked(node_port_services, w.key)?)
                {
                    return Ok(false);
                }
            }
            OP_DELETE => {
                if w.kind == "Service" && tracked(node_port_services, w.key)? {
                    return Ok(false);
                }
            }
            _ => return Ok(false),
        }
    }
    for w in &ev.writes {
        let Some(bucket) = bucket_of(w.kind) else {
            return Ok(false); // checked above
        };
        let key = PyString::new(py, w.key);
        let is_ip = w.kind == "IPAddress";
        if w.op == OP_PUT {
            let blob = PyBytes::new(py, w.blob.unwrap_or_default());
            // _apply marks only a new IPAddress: a stored one need not be marked (two
            // spellings of one address, written with Cluster.store, share one bit)
            let before = bucket.len(); // (the size tells a new key without a lookup)
            bucket.set_item(&key, blob)?;
            if is_ip && bucket.len() > before {
                mark_all(allocators, w.key, true);
            }
        } else {
            let old = bucket.get_item(&key)?;
            if old.is_some() {
                bucket.del_item(&key)?;
                if is_ip {
                    mark_all(allocators, w.key, false);
                }
            }
        }
        if w.rv > p.revision {
            p.revision = w.rv;
        }
    }
    Ok(true)
}

fn tracked(node_port_services: Option<&Bound<'_, PyDict>>, key: &str) -> PyResult<bool> {
    node_port_services.map_or(Ok(false), |d| d.contains(key))
}

fn mark_all(allocators: &[Bound<'_, CidrAllocator>], ip: &str, mark: bool) {
    let Ok(ip) = Ip::parse(ip) else {
        return; // what CidrAllocator.mark does with a malformed address: nothing
    };
    for a in allocators {
        let mut state = a.get().lock();
        if mark {
            state.mark(ip);
        } else {
            state.release(ip);
        }
    }
}

/// CRC32C (Castagnoli) of a bytes-like object, continuing from `crc` (0 to start).
#[pyfunction]
#[pyo3(name = "crc32c", signature = (data, crc = 0))]
pub fn crc32c_of(data: &Bound<'_, PyAny>, crc: u32) -> PyResult<u32> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(::crc32c::crc32c_append(crc, b.as_bytes()));
    }
    let buffer = PyBuffer::<u8>::get(data)?;
    Ok(::crc32c::crc32c_append(crc, slice_of(&buffer)?))
}
