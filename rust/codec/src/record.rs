//! The event log's record: one event, a msgpack array of ten values (docs/FORMAT.md,
//! "Event payload"):
//!
//! ```text
//! [schema, seq, ts, verb, actor, kind, namespace|nil, name,
//!  [[op, kind, key, rv, blob|nil], ...], extra|nil]
//! ```
//!
//! This is the one encoder and the one decoder of that layout: the Python package, the
//! batch encoder and replay all call them. Older schema versions are upcast by the
//! Python reader; [`decode`] reads only the current one.

use crate::msgpack::{self as mp, Reader};

/// The event layout written by this code.
pub const SCHEMA_VERSION: u64 = 1;
/// A write that stores an object.
pub const OP_PUT: u64 = 0;
/// A write that removes an object.
pub const OP_DELETE: u64 = 1;

/// One storage write of an event, borrowed from the bytes it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRef<'a> {
    /// [`OP_PUT`] or [`OP_DELETE`].
    pub op: u64,
    /// The object's kind (`Service`, `IPAddress`, ...).
    pub kind: &'a str,
    /// The storage key (`namespace/name` or `name`).
    pub key: &'a str,
    /// The store revision this write creates.
    pub rv: u64,
    /// The stored object (put), or its last stored form (delete; may be absent).
    pub blob: Option<&'a [u8]>,
}

/// One event record, borrowed from the bytes it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRef<'a> {
    /// Position in the log, from 1.
    pub seq: u64,
    /// Clock time of the decision, seconds since the epoch.
    pub ts: f64,
    /// `create`, `update`, `delete`, ...
    pub verb: &'a str,
    /// `user` or a controller's name.
    pub actor: &'a str,
    /// Kind of the object the request was about.
    pub kind: &'a str,
    /// Its namespace, if namespaced.
    pub namespace: Option<&'a str>,
    /// Its name.
    pub name: &'a str,
    /// The writes, in order.
    pub writes: Vec<WriteRef<'a>>,
    /// The `extra` value as msgpack bytes (`[0xc0]` for nil).
    pub extra: &'a [u8],
}

/// Why a record could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// A string or bytes value longer than msgpack can hold.
    TooLong,
    /// An op other than put and delete.
    BadOp(u64),
    /// `extra` is not exactly one msgpack value of the kinds JSON carries in a map.
    BadExtra,
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::TooLong => f.write_str("a value is too long for msgpack"),
            EncodeError::BadOp(op) => write!(f, "write op {op} is neither put (0) nor delete (1)"),
            EncodeError::BadExtra => f.write_str("extra is not one JSON map (or nil) in msgpack"),
        }
    }
}

impl std::error::Error for EncodeError {}

fn text(s: &str, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    mp::str(s, out).ok_or(EncodeError::TooLong)
}

/// Appends the payload of `rec` (not framed) to `out`. On error `out` may hold part of
/// it; callers encode into a scratch buffer.
pub fn encode(rec: &RecordRef<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(0x9a); // an array of 10
    mp::uint(SCHEMA_VERSION, out);
    mp::uint(rec.seq, out);
    mp::f64(rec.ts, out);
    text(rec.verb, out)?;
    text(rec.actor, out)?;
    text(rec.kind, out)?;
    match rec.namespace {
        Some(ns) => text(ns, out)?,
        None => mp::nil(out),
    }
    text(rec.name, out)?;
    mp::array_len(rec.writes.len(), out).ok_or(EncodeError::TooLong)?;
    for w in &rec.writes {
        if w.op != OP_PUT && w.op != OP_DELETE {
            return Err(EncodeError::BadOp(w.op));
        }
        out.push(0x95);
        mp::uint(w.op, out);
        text(w.kind, out)?;
        text(w.key, out)?;
        mp::uint(w.rv, out);
        match w.blob {
            Some(b) => mp::bin(b, out).ok_or(EncodeError::TooLong)?,
            None => mp::nil(out),
        }
    }
    let mut r = Reader::new(rec.extra);
    let extra_ok = match r.peek() {
        Some(0xc0) => r.byte().is_some(),
        Some(0x80..=0x8f | 0xde | 0xdf) => r.json(0, mp::MAX_DEPTH).is_ok(),
        _ => false,
    } && r.at_end();
    if !extra_ok {
        return Err(EncodeError::BadExtra);
    }
    out.extend_from_slice(rec.extra);
    Ok(())
}

/// Reads a current-version record laid out exactly as [`encode`] writes it (integers in
/// any msgpack encoding; a timestamp may be an integer). None for anything else: another
/// schema version, another shape, damage; the Python reader then upcasts it or words the
/// error.
pub fn decode(payload: &[u8]) -> Option<RecordRef<'_>> {
    let mut r = Reader::new(payload);
    if r.array_len()? != 10 || r.uint()? != SCHEMA_VERSION {
        return None;
    }
    let seq = r.uint().filter(|&s| s >= 1)?;
    let ts = match r.peek()? {
        0xca | 0xcb => r.float()?,
        0xe0..=0xff | 0xd0..=0xd3 => r.int()? as f64,
        _ => r.uint()? as f64,
    };
    if !ts.is_finite() {
        return None;
    }
    let verb = r.str()?;
    let actor = r.str()?;
    let kind = r.str()?;
    let namespace = r.nil_or_str()?;
    let name = r.str()?;
    let n = r.array_len()?;
    // (a count is only a promise: never reserve more than the bytes could hold)
    let mut writes = Vec::with_capacity(n.min(payload.len() / 6));
    for _ in 0..n {
        if r.array_len()? != 5 {
            return None;
        }
        let op = r.uint()?;
        if op != OP_PUT && op != OP_DELETE {
            return None;
        }
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
    let extra_at = r.pos();
    match r.peek()? {
        0xc0 => {
            r.byte();
        }
        0x80..=0x8f | 0xde | 0xdf => r.json(0, mp::MAX_DEPTH).ok()?,
        _ => return None,
    }
    let extra = &payload[extra_at..r.pos()];
    r.at_end().then_some(RecordRef {
        seq,
        ts,
        verb,
        actor,
        kind,
        namespace,
        name,
        writes,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample<'a>(extra: &'a [u8], blob: &'a [u8]) -> RecordRef<'a> {
        RecordRef {
            seq: 7,
            ts: 1_700_000_000.25,
            verb: "create",
            actor: "user",
            kind: "Service",
            namespace: Some("default"),
            name: "web",
            writes: vec![
                WriteRef {
                    op: OP_PUT,
                    kind: "IPAddress",
                    key: "10.96.0.7",
                    rv: 11,
                    blob: Some(blob),
                },
                WriteRef {
                    op: OP_DELETE,
                    kind: "Service",
                    key: "default/old",
                    rv: 12,
                    blob: None,
                },
            ],
            extra,
        }
    }

    #[test]
    fn a_record_reads_back() {
        let rec = sample(&[0xc0], &[0x80]);
        let mut out = Vec::new();
        encode(&rec, &mut out).unwrap();
        assert_eq!(decode(&out), Some(rec));
        // msgpack-python's packb of the same list (tests/test_journal_codec.py checks
        // this from Python): fixarray 10, schema 1, seq 7, a double
        assert_eq!(out[..4], [0x9a, 0x01, 0x07, 0xcb]);
    }

    #[test]
    fn anything_else_is_left_to_the_python_reader() {
        let rec = sample(&[0xc0], &[0x80]);
        let mut out = Vec::new();
        encode(&rec, &mut out).unwrap();
        let mut other_version = out.clone();
        other_version[1] = 0x02;
        assert_eq!(decode(&other_version), None);
        assert_eq!(decode(&out[..out.len() - 1]), None);
        let mut trailing = out.clone();
        trailing.push(0xc0);
        assert_eq!(decode(&trailing), None);
        let mut bad = sample(&[0xc0], &[]);
        bad.writes[0].op = 9;
        assert_eq!(encode(&bad, &mut Vec::new()), Err(EncodeError::BadOp(9)));
        assert_eq!(
            encode(&sample(&[0x01], &[]), &mut Vec::new()),
            Err(EncodeError::BadExtra)
        );
    }

    fn arb_text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-z0-9./-]{0,40}").unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn round_trip(
            seq in 1..=u64::MAX,
            ts in any::<f64>().prop_filter("a timestamp is finite", |t| t.is_finite()),
            verb in arb_text(), actor in arb_text(), kind in arb_text(),
            namespace in proptest::option::of(arb_text()), name in arb_text(),
            writes in proptest::collection::vec(
                (0u64..2, arb_text(), arb_text(), any::<u64>(),
                 proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300))),
                0..5),
            with_extra in any::<bool>(),
        ) {
            let extra: &[u8] = if with_extra { &[0x81, 0xa1, b'a', 0x01] } else { &[0xc0] };
            let rec = RecordRef {
                seq, ts, verb: &verb, actor: &actor, kind: &kind,
                namespace: namespace.as_deref(), name: &name,
                writes: writes.iter().map(|(op, k, key, rv, blob)| WriteRef {
                    op: *op, kind: k, key, rv: *rv, blob: blob.as_deref(),
                }).collect(),
                extra,
            };
            let mut out = Vec::new();
            encode(&rec, &mut out).unwrap();
            prop_assert_eq!(decode(&out), Some(rec));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }
    }
}
