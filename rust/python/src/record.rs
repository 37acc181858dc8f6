//! What a log record and a stored object must be for servicecidr to read them back.
//!
//! One walk over the msgpack bytes, used by every reader (the replay fast path, the
//! Python reader, the snapshot loader) and by the writer before it appends, so the log
//! never takes a record its readers refuse and every reader refuses the same records.
//! The rules are about bytes and shapes (docs/FORMAT.md): an event is the 10-element
//! array of the current schema; a stored object is a JSON object — a map with string
//! keys holding only JSON values (nil, bool, int, finite float, UTF-8 string, array,
//! map) — whose `kind` is its write's kind, whose `metadata.name` (and, for namespaced
//! kinds, `metadata.namespace`) spell its key, and whose `spec` and `status` are maps.
//! What the kinds are, which are namespaced and how deep an object may nest come from
//! Python (`events/model.py`).

use std::collections::HashMap;

use pyo3::prelude::*;

use crate::msgpack::Reader;

type Check = Result<(), String>;

/// The rules, built once from Python's facts (see the module doc).
#[pyclass(frozen, module = "servicecidr._core", name = "RecordRules")]
pub struct RecordRules {
    // a handful of kinds: a scan beats hashing
    namespaced: Vec<(String, bool)>,
    max_depth: u32,
    schema_version: u64,
}

#[pymethods]
impl RecordRules {
    #[new]
    fn py_new(kinds: HashMap<String, bool>, max_depth: u32, schema_version: u64) -> Self {
        let mut namespaced: Vec<(String, bool)> = kinds.into_iter().collect();
        namespaced.sort();
        RecordRules {
            namespaced,
            max_depth,
            schema_version,
        }
    }

    /// Why `payload` is not a readable event record of the current schema (None: it is).
    fn record(&self, payload: &[u8]) -> Option<String> {
        self.check_record(payload).err()
    }

    /// Why `blob` is not a readable stored object of `kind` under `key` (None: it is).
    fn object(&self, kind: &str, key: &str, blob: &[u8]) -> Option<String> {
        self.check_object(kind, key, blob).err()
    }
}

fn at(r: &Reader<'_>, what: &str) -> String {
    format!("{what} at byte {}", r.pos())
}

fn end(r: &Reader<'_>) -> Check {
    if r.at_end() {
        Ok(())
    } else {
        Err(at(r, "trailing bytes"))
    }
}

/// The next value's first byte, without consuming it.
fn peek(r: &Reader<'_>) -> Option<u8> {
    let mut probe = Reader::new(r.rest());
    probe.byte()
}

impl RecordRules {
    /// Whether `kind` is one the store has.
    pub fn knows(&self, kind: &str) -> bool {
        self.namespaced_kind(kind).is_some()
    }

    fn namespaced_kind(&self, kind: &str) -> Option<bool> {
        self.namespaced
            .iter()
            .find(|(k, _)| k == kind)
            .map(|&(_, ns)| ns)
    }

    /// See [`RecordRules::record`].
    pub fn check_record(&self, payload: &[u8]) -> Check {
        let mut r = Reader::new(payload);
        if r.array_len() != Some(10) {
            return Err("the record is not an event (an array of 10 fields)".into());
        }
        let p = r.pos();
        match r.uint() {
            Some(v) if v == self.schema_version => {}
            Some(v) => {
                return Err(format!(
                    "event schema version {v}, not {}",
                    self.schema_version
                ))
            }
            None => return Err(format!("the schema version is not an integer at byte {p}")),
        }
        let p = r.pos();
        if !matches!(r.uint(), Some(s) if s >= 1) {
            return Err(format!("seq is not a positive integer at byte {p}"));
        }
        let p = r.pos();
        if !number(&mut r).is_some_and(f64::is_finite) {
            return Err(format!("ts is not a finite number at byte {p}"));
        }
        for field in ["verb", "actor", "kind"] {
            let p = r.pos();
            r.str()
                .ok_or_else(|| format!("{field} is not a string at byte {p}"))?;
        }
        let p = r.pos();
        r.nil_or_str()
            .ok_or_else(|| format!("namespace is neither nil nor a string at byte {p}"))?;
        let p = r.pos();
        r.str()
            .ok_or_else(|| format!("name is not a string at byte {p}"))?;
        let p = r.pos();
        let n = r
            .array_len()
            .ok_or_else(|| format!("writes is not an array at byte {p}"))?;
        for i in 0..n {
            self.check_write(&mut r, i)?;
        }
        let p = r.pos();
        match peek(&r) {
            Some(0xc0) => {
                r.byte();
            }
            Some(0x80..=0x8f | 0xde | 0xdf) => self
                .json_value(&mut r, 0)
                .map_err(|e| format!("extra: {e}"))?,
            _ => return Err(format!("extra is neither nil nor a map at byte {p}")),
        }
        end(&r)
    }

    fn check_write(&self, r: &mut Reader<'_>, i: usize) -> Check {
        let p = r.pos();
        let shape = || format!("write {i} is not [op, kind, key, rv, blob] at byte {p}");
        if r.array_len() != Some(5) {
            return Err(shape());
        }
        let op = r.uint().ok_or_else(shape)?;
        if op > 1 {
            return Err(format!("write {i}: unknown op {op} (0 put, 1 delete)"));
        }
        let kind = r.str().ok_or_else(shape)?;
        if !self.knows(kind) {
            return Err(format!("write {i}: unknown kind {kind:?}"));
        }
        let key = r.str().ok_or_else(shape)?;
        r.uint().ok_or_else(shape)?;
        let blob = r.bin_or_nil().ok_or_else(shape)?;
        match blob {
            Some(blob) => self
                .check_object(kind, key, blob)
                .map_err(|e| format!("write {i} ({kind} {key}): {e} (in the object)")),
            None if op == 0 => Err(format!(
                "write {i}: a put of {kind} {key} without an object"
            )),
            None => Ok(()),
        }
    }

    /// See [`RecordRules::object`].
    pub fn check_object(&self, kind: &str, key: &str, blob: &[u8]) -> Check {
        let namespaced = self
            .namespaced_kind(kind)
            .ok_or_else(|| format!("unknown kind {kind:?}"))?;
        let mut r = Reader::new(blob);
        let n = r
            .map_len()
            .ok_or("the stored object is not a map (a JSON object)")?;
        let mut obj_kind: Option<&str> = None;
        let mut api_version = false;
        let mut meta: Option<(Option<&str>, Option<&str>)> = None;
        for _ in 0..n {
            let field = r
                .str()
                .ok_or_else(|| at(&r, "an object key is not a string"))?;
            match field {
                "kind" => obj_kind = Some(r.str().ok_or_else(|| at(&r, "kind is not a string"))?),
                "apiVersion" => {
                    r.str()
                        .ok_or_else(|| at(&r, "apiVersion is not a string"))?;
                    api_version = true;
                }
                "metadata" => meta = Some(self.metadata(&mut r)?),
                "spec" | "status" => {
                    if !matches!(peek(&r), Some(0x80..=0x8f | 0xde | 0xdf)) {
                        return Err(at(&r, &format!("{field} is not a map")));
                    }
                    self.json_value(&mut r, 1)?;
                }
                _ => self.json_value(&mut r, 1)?,
            }
        }
        end(&r)?;
        if obj_kind != Some(kind) {
            return Err(format!(
                "the object's kind is {}, not {kind:?}",
                obj_kind.map_or("missing".to_string(), |k| format!("{k:?}"))
            ));
        }
        if !api_version {
            return Err("the object has no apiVersion".into());
        }
        let (name, ns) = meta.ok_or("the object has no metadata")?;
        let name = name.ok_or("the object has no metadata.name")?;
        let (key_ns, key_name) = match key.split_once('/') {
            Some((ns, name)) if namespaced => (Some(ns), name),
            _ => (None, key),
        };
        if namespaced && (key_ns.is_none() || ns != key_ns) {
            return Err(format!(
                "metadata.namespace {} does not match the key {key:?}",
                ns.map_or("(missing)".to_string(), |n| format!("{n:?}"))
            ));
        }
        if name != key_name {
            return Err(format!(
                "metadata.name {name:?} does not match the key {key:?}"
            ));
        }
        Ok(())
    }

    /// `metadata`: a map; returns its `name` and `namespace` (strings when present).
    fn metadata<'a>(
        &self,
        r: &mut Reader<'a>,
    ) -> Result<(Option<&'a str>, Option<&'a str>), String> {
        let n = r.map_len().ok_or_else(|| at(r, "metadata is not a map"))?;
        let (mut name, mut ns) = (None, None);
        for _ in 0..n {
            let field = r
                .str()
                .ok_or_else(|| at(r, "a metadata key is not a string"))?;
            match field {
                "name" => {
                    name = Some(
                        r.str()
                            .ok_or_else(|| at(r, "metadata.name is not a string"))?,
                    )
                }
                "namespace" => {
                    ns = Some(
                        r.str()
                            .ok_or_else(|| at(r, "metadata.namespace is not a string"))?,
                    )
                }
                _ => self.json_value(r, 2)?,
            }
        }
        Ok((name, ns))
    }

    /// One JSON value (at nesting `depth`), or why it is not one.
    fn json_value(&self, r: &mut Reader<'_>, depth: u32) -> Check {
        self.json(r, depth).map_err(|Bad(what, at)| {
            if what == TOO_DEEP {
                format!("nested deeper than {} levels at byte {at}", self.max_depth)
            } else {
                format!("{what} at byte {at}")
            }
        })
    }

    /// The walk behind [`Self::json_value`]; its failure is two words, so the hot path
    /// moves no strings.
    fn json(&self, r: &mut Reader<'_>, depth: u32) -> Result<(), Bad> {
        let start = r.pos();
        if depth > self.max_depth {
            return Err(Bad(TOO_DEEP, start));
        }
        let truncated = Bad("truncated value", start);
        let b = r.byte().ok_or(truncated)?;
        let (items, pairs) = match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => return Ok(()),
            0xcc | 0xd0 => return r.take(1).map(|_| ()).ok_or(truncated),
            0xcd | 0xd1 => return r.take(2).map(|_| ()).ok_or(truncated),
            0xce | 0xd2 => return r.take(4).map(|_| ()).ok_or(truncated),
            0xcf | 0xd3 => return r.take(8).map(|_| ()).ok_or(truncated),
            0xca => {
                let v = r.be(4).ok_or(truncated)?;
                return finite(f64::from(f32::from_bits(v as u32)), start);
            }
            0xcb => return finite(f64::from_bits(r.be(8).ok_or(truncated)?), start),
            0xa0..=0xbf => return utf8(r, usize::from(b & 0x1f), start),
            0xd9..=0xdb => {
                let n = r.be(1 << (b - 0xd9)).ok_or(truncated)? as usize;
                return utf8(r, n, start);
            }
            0x90..=0x9f => (usize::from(b & 0x0f), 0),
            0xdc => (r.be(2).ok_or(truncated)? as usize, 0),
            0xdd => (r.be(4).ok_or(truncated)? as usize, 0),
            0x80..=0x8f => (0, usize::from(b & 0x0f)),
            0xde => (0, r.be(2).ok_or(truncated)? as usize),
            0xdf => (0, r.be(4).ok_or(truncated)? as usize),
            0xc4..=0xc6 => return Err(Bad("bytes (msgpack bin: not JSON)", start)),
            _ => return Err(Bad("a msgpack extension type (not JSON)", start)),
        };
        for _ in 0..items {
            self.json(r, depth + 1)?;
        }
        for _ in 0..pairs {
            let at = r.pos();
            r.str().ok_or(Bad("a map key that is not a string", at))?;
            self.json(r, depth + 1)?;
        }
        Ok(())
    }
}

/// Why a value is not JSON: what, and the offset where it starts.
#[derive(Clone, Copy)]
struct Bad(&'static str, usize);

const TOO_DEEP: &str = "nested too deep";

/// An int or float, as f64 (what the Python reader accepts for `ts`).
fn number(r: &mut Reader<'_>) -> Option<f64> {
    match peek(r)? {
        0xca | 0xcb => r.float(),
        0xe0..=0xff | 0xd0..=0xd3 => r.int().map(|v| v as f64),
        _ => r.uint().map(|v| v as f64),
    }
}

fn finite(v: f64, start: usize) -> Result<(), Bad> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Bad("a float that is not finite (not JSON)", start))
    }
}

fn utf8(r: &mut Reader<'_>, n: usize, start: usize) -> Result<(), Bad> {
    if r.rest().len() < n {
        return Err(Bad("truncated string", start));
    }
    r.text(n)
        .map(|_| ())
        .ok_or(Bad("a string that is not UTF-8", start))
}
