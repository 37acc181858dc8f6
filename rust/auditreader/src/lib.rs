//! Reading a kube-apiserver audit log (JSON lines, plain or gzip) on a worker thread.
//!
//! A worker thread reads the file, parses each line and classifies it; the importer (in
//! Python, through `servicecidr._core.AuditLineReader`) takes the results in batches
//! while it applies the previous ones, so reading and applying share two cores. For each line the worker decides one of:
//!
//! * **fast**: a successful Service or IPAddress write whose responseObject is complete
//!   (uid, creationTimestamp, resourceVersion) and surely decodes (the field types of
//!   Python's schema, handed over as a [`Schema`]; no float, no integer beyond int64, no
//!   nesting or size beyond the bounds a stored object has). The worker does what the importer's
//!   Python would do with it — the Record fields, the object normalised as the store
//!   keeps it and encoded as msgpack, the ClusterIPs (Service) or the parentRef
//!   (IPAddress) the checks need — and keeps the line for the rare case the importer
//!   still wants the parsed event;
//! * **skip**: a read, another stage, a resource servicecidr does not model, a failed
//!   request, a dry run — the reason and detail exactly as `auditlog.event_record` words
//!   them;
//! * **slow**: anything else (another shape, a malformed line, an odd field): the line
//!   goes to the Python reader unchanged, which decides as it always has.
//!
//! The worker only ever answers when it is sure to answer as the Python reader would;
//! otherwise the line is slow. tests/test_audit_reader.py compares the two line by line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use servicecidr_core::Error;

mod batch;
mod json;
mod schema;

pub use batch::{Batch, FastRef, ItemRef, PayloadRef};
use json::{truthy, Obj, J};
pub use schema::Schema;
use servicecidr_codec::msgpack as mp;

const ACTOR_ANNOTATION: &str = "servicecidr.io/actor";
const RAW_WRITE_ANNOTATION: &str = "servicecidr.io/raw-storage-write";
const TRUNCATED_ANNOTATION: &str = "audit.k8s.io/truncated";
const MANAGED_BY_LABEL: &str = "ipaddress.kubernetes.io/managed-by";
const MANAGED_BY: &str = "ipallocator.k8s.io";

/// (apiGroup, resource) -> Kind, as auditlog.RESOURCES.
const RESOURCES: &[(&str, &str, &str)] = &[
    ("", "services", "Service"),
    ("networking.k8s.io", "servicecidrs", "ServiceCIDR"),
    ("networking.k8s.io", "ipaddresses", "IPAddress"),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("events.k8s.io", "events", "Event"),
    ("", "namespaces", "Namespace"),
];

fn is_write_verb(verb: &str) -> bool {
    matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    )
}

/// What the worker made of one line.
pub enum Item {
    Fast(Box<FastRecord>),
    Skip {
        line: u64,
        reason: &'static str,
        detail: String,
    },
    Slow {
        line: u64,
        text: Vec<u8>,
    },
    /// The file could not be read on (the message says why).
    Error {
        line: u64,
        message: String,
    },
}

pub enum Payload {
    Put {
        rv: u64,
        blob: Vec<u8>,
        /// Service: its ClusterIPs (canonical). IPAddress: [parent key] or [].
        ips: Vec<String>,
        parent: Option<String>,
        managed: bool,
    },
    Delete {
        rv: Option<u64>,
    },
}

pub struct FastRecord {
    pub line: u64,
    pub ts: f64,
    pub received: Option<f64>,
    pub verb: String,
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub name: String,
    pub code: i64,
    pub user: String,
    pub actor: String,
    pub audit_id: String,
    pub level: String,
    pub raw: bool,
    pub payload: Payload,
    pub text: Vec<u8>,
}

// ------------------------------------------------------------------ small JSON helpers

/// `d.get(key)` when the value is a string or absent/null: Ok(None) for absent or null,
/// Err(()) for another type (the line is then slow).
fn opt_str<'i>(d: Obj<'_, 'i>, key: &str) -> Result<Option<&'i str>, ()> {
    match d.get(key) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v.str().map(Some).ok_or(()),
    }
}

/// `d.get(key) or ""` for a string-or-absent value.
fn str_or_empty<'i>(d: Obj<'_, 'i>, key: &str) -> Result<&'i str, ()> {
    opt_str(d, key).map(|s| s.unwrap_or(""))
}

fn obj<'t, 'i>(v: Option<J<'t, 'i>>) -> Option<Obj<'t, 'i>> {
    v.and_then(J::obj)
}

/// observed._rv_int: an int, or a string of digits; Ok(None) where Python finds none.
/// Err(()) where Python finds one this cannot hold (a negative or huge int, digits
/// beyond ASCII, a number beyond int64): the line is then slow.
fn rv_int(meta: Obj<'_, '_>) -> Result<Option<u64>, ()> {
    let Some(v) = meta.get("resourceVersion") else {
        return Ok(None);
    };
    if let Some(s) = v.str() {
        if !s.is_ascii() {
            return Err(()); // str.isdigit() knows more digits than ASCII's
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        return match s.parse::<u64>() {
            Ok(u) if i64::try_from(u).is_ok() => Ok(Some(u)),
            _ => Err(()), // beyond an etcd revision: Python refuses the record
        };
    }
    match v.u64() {
        Some(u) if i64::try_from(u).is_ok() => Ok(Some(u)),
        Some(_) => Err(()),
        None if v.i64().is_some() => Err(()), // a negative int: Python refuses it
        None => Ok(None),
    }
}

/// Python's `str.strip()`: Rust's whitespace plus the separators U+001C..U+001F, which
/// Python counts as whitespace too.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// auditlog.parse_time for the RFC 3339 forms Kubernetes writes (`Z` or `±HH:MM`, up to
/// six fraction digits): seconds since the epoch, rounded as Python's
/// `datetime.timestamp()` rounds. None for anything else (the line is then slow).
pub fn parse_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0')))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
        return None;
    }
    if sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        let digits = end - start;
        if digits == 0 || digits > 6 {
            return None;
        }
        micros = num(start..end)? * 10i64.pow((6 - digits) as u32);
        i = end;
    }
    let offset = match b.get(i)? {
        b'Z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
    let total_us = secs.checked_mul(1_000_000)?.checked_add(micros)?;
    // Python: total microseconds / 10**6, one correctly rounded division; exact here
    // too while the total fits in 2^53.
    if total_us.unsigned_abs() >= 1 << 53 {
        return None;
    }
    Some(total_us as f64 / 1e6)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ------------------------------------------------------------------ msgpack encoding

/// msgpack-python's `packb(value, use_bin_type=True)` of what `json.loads` gives. None
/// where the two could differ: a float (simd-json and Python may round a long mantissa
/// apart), an object with a repeated key; and for an integer beyond int64.
pub fn pack(v: J<'_, '_>, out: &mut Vec<u8>) -> Option<()> {
    use simd_json::{Node, StaticNode};
    match v.nodes().first()? {
        Node::Static(StaticNode::Null) => mp::nil(out),
        Node::Static(StaticNode::Bool(b)) => mp::boolean(*b, out),
        Node::Static(StaticNode::I64(i)) => mp::int(*i, out),
        // beyond int64: not a value a stored object holds (Python refuses it)
        Node::Static(StaticNode::U64(u)) if i64::try_from(*u).is_err() => return None,
        Node::Static(StaticNode::U64(u)) => mp::uint(*u, out),
        Node::Static(StaticNode::F64(_)) => return None,
        Node::String(s) => mp::str(s, out)?,
        Node::Array { .. } => {
            let a = v.arr()?;
            mp::array_len(a.len(), out)?;
            for x in a.iter() {
                pack(x, out)?;
            }
        }
        Node::Object { .. } => {
            let o = v.obj()?;
            if o.has_repeated_key() {
                return None;
            }
            mp::map_len(o.len(), out)?;
            for (k, x) in o.iter() {
                mp::str(k, out)?;
                pack(x, out)?;
            }
        }
    }
    Some(())
}

// ------------------------------------------------------------------ classification

/// auditlog._ref_text for an objectRef of strings; None when a field has another type.
fn ref_text(r: Obj<'_, '_>) -> Option<String> {
    let mut res = match opt_str(r, "resource").ok()? {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "?".to_string(),
    };
    let sub = str_or_empty(r, "subresource").ok()?;
    if !sub.is_empty() {
        res.push('/');
        res.push_str(sub);
    }
    let ns = opt_str(r, "namespace").ok()?;
    let name = str_or_empty(r, "name").ok()?;
    Some(match ns {
        Some(ns) if !ns.is_empty() => format!("{res} {ns}/{name}"),
        _ => py_rstrip(&format!("{res} {name}")).to_string(),
    })
}

/// auditlog._group_from: old events may lack objectRef.apiGroup (and the core group
/// never has one); the URI or apiVersion tells it.
fn group_from(ev: Obj<'_, '_>, r: Obj<'_, '_>, resource: &str) -> Option<String> {
    let uri = str_or_empty(ev, "requestURI").ok()?;
    if let Some(rest) = uri.strip_prefix("/apis/") {
        return Some(rest.split('/').next().unwrap_or("").to_string());
    }
    if uri.starts_with("/api/") {
        return Some(String::new());
    }
    let api = str_or_empty(r, "apiVersion").ok()?;
    if let Some((g, _)) = api.split_once('/') {
        return Some(g.to_string());
    }
    Some(
        RESOURCES
            .iter()
            .find(|(_, res, _)| *res == resource && *res != "events")
            .map_or("", |(g, _, _)| *g)
            .to_string(),
    )
}

fn skip(line: u64, reason: &'static str, detail: String) -> Option<Item> {
    Some(Item::Skip {
        line,
        reason,
        detail,
    })
}

/// What a line is, for the bounds of the objects it may carry.
#[derive(Clone, Copy)]
struct Shape<'s> {
    schema: Option<&'s Schema>,
    /// nesting of the whole line
    depth: usize,
    /// bytes of the whole line
    len: usize,
}

/// auditlog.event_record for the cases decided here; None: the line is slow.
fn classify(ev: Obj<'_, '_>, line: u64, fast: bool, shape: Shape<'_>) -> Option<Item> {
    let verb = ev.get("verb")?.str()?.to_string();
    if !["stage", "auditID", "objectRef", "requestURI"]
        .iter()
        .any(|k| ev.contains(k))
    {
        return None;
    }
    let status_is_obj = obj(ev.get("responseStatus")).is_some();
    let stage = match ev.get("stage") {
        None if status_is_obj => "ResponseComplete".to_string(),
        Some(v) if v.is_null() && status_is_obj => "ResponseComplete".to_string(),
        Some(v) => v.str()?.to_string(),
        None => return None,
    };
    if stage != "ResponseComplete" {
        if stage == "Panic" {
            return None;
        }
        if !is_write_verb(&verb) {
            return skip(line, "read-only", verb);
        }
        return skip(line, "stage", stage);
    }
    if !is_write_verb(&verb) {
        let code = obj(ev.get("responseStatus")).and_then(|s| s.get("code"));
        let detail = match code {
            None => verb,
            Some(c) if c.is_null() || c.i64() == Some(0) => verb,
            Some(c) => format!("{verb} ({})", c.i64()?),
        };
        return skip(line, "read-only", detail);
    }
    let r = obj(ev.get("objectRef"))?;
    let resource = opt_str(r, "resource").ok()??;
    let group = match opt_str(r, "apiGroup").ok()? {
        Some(g) => g.to_string(),
        None => group_from(ev, r, resource)?,
    };
    let group = group.as_str();
    let sub = str_or_empty(r, "subresource").ok()?;
    let kind = RESOURCES
        .iter()
        .find(|(g, res, _)| *g == group && *res == resource)
        .map(|(_, _, k)| *k);
    if kind.is_none() || !(sub.is_empty() || sub == "status") {
        let what = if sub.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}/{sub}")
        };
        let detail = if group.is_empty() {
            what
        } else {
            format!("{what}.{group}")
        };
        return skip(line, "not-modeled", detail);
    }
    let kind = kind?;
    let status = obj(ev.get("responseStatus"))?;
    let code = status.get("code")?.i64()?;
    if !(200..300).contains(&code) {
        let reason = match (
            opt_str(status, "reason").ok()?,
            opt_str(status, "status").ok()?,
        ) {
            (Some(r), _) if !r.is_empty() => r,
            (_, Some(s)) if !s.is_empty() => s,
            _ => "",
        };
        let text = format!("{code} {reason} {verb} {}", ref_text(r)?);
        return skip(line, "failed", py_strip(&text).to_string());
    }
    let uri = str_or_empty(ev, "requestURI").ok()?;
    if uri.contains("dryRun=") {
        return skip(line, "dry-run", format!("{verb} {}", ref_text(r)?));
    }
    if !fast || verb == "deletecollection" || !sub.is_empty() {
        return None;
    }
    if kind != "Service" && kind != "IPAddress" {
        return None;
    }
    fast_record(ev, r, line, verb, kind, code, shape)
}

fn fast_record(
    ev: Obj<'_, '_>,
    r: Obj<'_, '_>,
    line: u64,
    verb: String,
    kind: &'static str,
    code: i64,
    shape: Shape<'_>,
) -> Option<Item> {
    let name = str_or_empty(r, "name").ok()?.to_string();
    let ref_ns = opt_str(r, "namespace").ok()?.filter(|s| !s.is_empty());
    // Names the Python reader would complete from the body, and odd namespaces, go slow.
    let namespace = match (kind, ref_ns) {
        ("Service", Some(ns)) => Some(ns.to_string()),
        ("IPAddress", None) => None,
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    let ann = match ev.get("annotations") {
        None => None,
        Some(v) if v.is_null() => None,
        Some(v) => Some(v.obj()?),
    };
    let ann_str = |k: &str| -> Result<Option<&str>, ()> { ann.map_or(Ok(None), |a| opt_str(a, k)) };
    if ann_str(TRUNCATED_ANNOTATION).ok()? == Some("true") {
        return None;
    }
    let raw = ann_str(RAW_WRITE_ANNOTATION).ok()? == Some("true");
    let actor_ann = ann_str(ACTOR_ANNOTATION).ok()?.map(str::to_string);
    let level = str_or_empty(ev, "level").ok()?.to_string();
    let ts = parse_time(opt_str(ev, "stageTimestamp").ok()??)?;
    let received = match opt_str(ev, "requestReceivedTimestamp").ok()? {
        None => None,
        Some(s) => Some(parse_time(s)?),
    };
    let mut user = match obj(ev.get("user")) {
        Some(u) => match u.get("username") {
            None => String::new(),
            Some(v) => v.str()?.to_string(),
        },
        None => String::new(),
    };
    if let Some(imp) = obj(ev.get("impersonatedUser")) {
        match imp.get("username") {
            Some(v) if v.truthy() => user = v.str()?.to_string(),
            None => {}
            Some(v) if v.is_null() || v.str().is_some() => {}
            Some(_) => return None,
        }
    }
    let actor = match actor_ann {
        Some(a) if !a.is_empty() => a,
        _ => user.clone(),
    };
    let audit_id = str_or_empty(ev, "auditID").ok()?.to_string();
    let response = match ev.get("responseObject") {
        None => None,
        Some(v) if v.is_null() => None,
        Some(v) => {
            let o = v.obj()?;
            match o.get("kind") {
                Some(k) if k.str() == Some("Status") => None,
                _ => Some(o),
            }
        }
    };
    let payload = if verb == "delete" {
        let rv = match response {
            None => None,
            Some(body) => match obj(body.get("metadata")) {
                Some(meta) => {
                    if truthy(meta.get("deletionTimestamp")) && truthy(meta.get("finalizers")) {
                        return None; // Terminating: the Python reader puts it
                    }
                    rv_int(meta).ok()?
                }
                None => None,
            },
        };
        Payload::Delete { rv }
    } else {
        put_payload(response?, kind, namespace.as_deref(), &name, shape)?
    };
    Some(Item::Fast(Box::new(FastRecord {
        line,
        ts,
        received,
        verb,
        kind,
        namespace,
        name,
        code,
        user,
        actor,
        audit_id,
        level,
        raw,
        payload,
        text: Vec::new(),
    })))
}

/// observed._normalize + encode_object, and the facts the checks read, for a new object:
/// the body is packed as Python would pack the normalised dict (apiVersion and kind set,
/// managedFields and selfLink dropped, name and namespace set, resourceVersion in its
/// canonical decimal form), keys in the dict's order.
fn put_payload(
    body: Obj<'_, '_>,
    kind: &'static str,
    namespace: Option<&str>,
    name: &str,
    shape: Shape<'_>,
) -> Option<Payload> {
    let (api_version, namespaced) = match kind {
        "Service" => ("v1", true),
        _ => ("networking.k8s.io/v1", false),
    };
    if body.has_repeated_key() {
        return None;
    }
    // Stored as recorded, so decoding it must give it back unchanged (else Python names
    // the problem, or stores the decoded form). The object nests less than the line and
    // its JSON (normalised: names and versions set) is at most twice the line's and some.
    let schema = shape.schema?;
    if shape.depth > schema.max_depth
        || shape.len.saturating_mul(2).saturating_add(1024) > schema.max_bytes
        || !schema.canonical(kind, body)
    {
        return None;
    }
    let meta = obj(body.get("metadata"))?;
    if meta.has_repeated_key() || truthy(meta.get("deletionTimestamp")) {
        return None;
    }
    let present = |k: &str| meta.get(k).and_then(J::str).is_some_and(|s| !s.is_empty());
    if !present("uid") || !present("creationTimestamp") {
        return None;
    }
    let rv = rv_int(meta).ok()??;
    let rv_text = rv.to_string();
    let managed = obj(meta.get("labels"))
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .and_then(J::str)
        == Some(MANAGED_BY);
    let (ips, parent) = if kind == "Service" {
        (cluster_ips(body)?, None)
    } else {
        (Vec::new(), parent_of(body)?)
    };

    // metadata, as the normalised dict holds it
    let mut meta_out = Vec::with_capacity(256);
    let mut n = 0usize;
    let (mut saw_name, mut saw_ns) = (false, false);
    for (k, v) in meta.iter() {
        match k {
            "managedFields" | "selfLink" => continue,
            "name" => {
                saw_name = true;
                mp::str(k, &mut meta_out)?;
                mp::str(name, &mut meta_out)?;
            }
            "namespace" if !namespaced => continue,
            "namespace" => {
                saw_ns = true;
                mp::str(k, &mut meta_out)?;
                mp::str(namespace?, &mut meta_out)?;
            }
            "resourceVersion" => {
                mp::str(k, &mut meta_out)?;
                mp::str(&rv_text, &mut meta_out)?;
            }
            _ => {
                mp::str(k, &mut meta_out)?;
                pack(v, &mut meta_out)?;
            }
        }
        n += 1;
    }
    if !saw_name {
        mp::str("name", &mut meta_out)?;
        mp::str(name, &mut meta_out)?;
        n += 1;
    }
    if namespaced && !saw_ns {
        mp::str("namespace", &mut meta_out)?;
        mp::str(namespace?, &mut meta_out)?;
        n += 1;
    }

    let mut blob = Vec::with_capacity(512);
    let (mut saw_api, mut saw_kind) = (false, false);
    mp::map_len(
        body.len()
            + usize::from(!body.contains("apiVersion"))
            + usize::from(!body.contains("kind")),
        &mut blob,
    )?;
    for (k, v) in body.iter() {
        mp::str(k, &mut blob)?;
        match k {
            "apiVersion" => {
                saw_api = true;
                mp::str(api_version, &mut blob)?;
            }
            "kind" => {
                saw_kind = true;
                mp::str(kind, &mut blob)?;
            }
            "metadata" => {
                mp::map_len(n, &mut blob)?;
                blob.extend_from_slice(&meta_out);
            }
            _ => pack(v, &mut blob)?,
        }
    }
    if !saw_api {
        mp::str("apiVersion", &mut blob)?;
        mp::str(api_version, &mut blob)?;
    }
    if !saw_kind {
        mp::str("kind", &mut blob)?;
        mp::str(kind, &mut blob)?;
    }
    Some(Payload::Put {
        rv,
        blob,
        ips,
        parent,
        managed,
    })
}

/// observed._cluster_ips.
fn cluster_ips(o: Obj<'_, '_>) -> Option<Vec<String>> {
    let spec = match o.get("spec") {
        None => return Some(Vec::new()),
        Some(v) if v.is_null() => return Some(Vec::new()),
        Some(v) => v.obj()?,
    };
    if spec.get("type").and_then(J::str) == Some("ExternalName") {
        return Some(Vec::new());
    }
    let ips = spec.get("clusterIPs");
    let list: Vec<J<'_, '_>> = match ips.map(|v| (v, v.arr())) {
        Some((_, Some(a))) if !a.is_empty() => a.iter().collect(),
        None | Some((_, Some(_))) => single_ip(spec)?,
        Some((v, None)) if v.is_null() => single_ip(spec)?,
        Some(_) => return None,
    };
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        let s = v.str()?;
        if !s.is_empty() && s != "None" {
            out.push(match Error::parse_ip(s) {
                Ok(ip) => ip.to_string(),
                Err(_) => s.to_string(),
            });
        }
    }
    Some(out)
}

fn single_ip<'t, 'i>(spec: Obj<'t, 'i>) -> Option<Vec<J<'t, 'i>>> {
    match spec.get("clusterIP") {
        None => Some(Vec::new()),
        Some(v) if v.is_null() => Some(Vec::new()),
        Some(v) => {
            let s = v.str()?;
            Some(if s.is_empty() { Vec::new() } else { vec![v] })
        }
    }
}

/// observed._parent: the Service key an IPAddress's parentRef names.
fn parent_of(o: Obj<'_, '_>) -> Option<Option<String>> {
    let spec = match o.get("spec") {
        None => return Some(None),
        Some(v) if !v.truthy() => return Some(None),
        Some(v) => v.obj()?,
    };
    let Some(r) = obj(spec.get("parentRef")) else {
        return Some(None);
    };
    if r.get("resource").and_then(J::str) != Some("services") || truthy(r.get("group")) {
        return Some(None);
    }
    let ns = match r.get("namespace") {
        Some(v) if v.truthy() => v.str()?,
        _ => "default",
    };
    let name = match r.get("name") {
        None => "",
        Some(v) => v.str()?,
    };
    Some(Some(format!("{ns}/{name}")))
}

/// Reads lines one at a time, reusing simd-json's buffers and tape between them (a fresh
/// set per line cost three allocations and a copy of the line).
/// Without a [`Schema`] no put is prepared (nothing could be sure to decode).
pub struct LineParser {
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
    scratch: Vec<u8>,
    schema: Option<Arc<Schema>>,
}

impl Default for LineParser {
    fn default() -> Self {
        LineParser::new(None)
    }
}

impl LineParser {
    pub fn new(schema: Option<Arc<Schema>>) -> Self {
        LineParser {
            buffers: simd_json::Buffers::new(4096),
            tape: None,
            scratch: Vec::with_capacity(4096),
            schema,
        }
    }
}

impl LineParser {
    /// One line: fast, skip, or None (slow: for the Python reader).
    pub fn read_line(&mut self, text: &[u8], line: u64, fast: bool) -> Option<Item> {
        let LineParser {
            buffers,
            tape: slot,
            scratch,
            schema,
        } = self;
        scratch.clear();
        scratch.extend_from_slice(text);
        if has_high_surrogate_escape(text) {
            return None; // simd-json reads a lone one as NUL, json.loads keeps it
        }
        let mut tape = slot.take().unwrap_or_else(simd_json::Tape::null).reset();
        let item = match simd_json::fill_tape(scratch, buffers, &mut tape) {
            Ok(()) => {
                let shape = Shape {
                    schema: schema.as_deref(),
                    depth: json::depth(&tape.0),
                    len: text.len(),
                };
                // Deep nesting is the Python reader's to judge (json.loads may give up on it)
                if shape.depth > MAX_DEPTH {
                    None
                } else {
                    J::root(&tape.0)
                        .and_then(J::obj)
                        .filter(|ev| ev.get("kind").and_then(J::str) == Some("Event"))
                        .and_then(|ev| classify(ev, line, fast, shape))
                }
            }
            Err(_) => None,
        };
        *slot = Some(tape.reset());
        let mut item = item?;
        if let Item::Fast(rec) = &mut item {
            rec.text = text.to_vec();
        }
        Some(item)
    }
}

/// Deeper documents go to the Python reader (whose json.loads recursion limit is about
/// 1,000 levels); the packer's recursion stays shallow too.
const MAX_DEPTH: usize = 200;

/// Whether the line holds an escape `\\uD800`..`\\uDBFF` (a high surrogate).
fn has_high_surrogate_escape(text: &[u8]) -> bool {
    memchr::memmem::find_iter(text, b"\\u").any(|i| {
        matches!(text.get(i + 2), Some(b'd' | b'D'))
            && matches!(
                text.get(i + 3),
                Some(b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
            )
    })
}

// ------------------------------------------------------------------ the worker

struct Counting<R> {
    inner: R,
    done: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub fn open(path: &str, done: Arc<AtomicU64>) -> std::io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    let mut counted = BufReader::with_capacity(1 << 20, Counting { inner: file, done });
    let gz = counted.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(counted),
        ))
    } else {
        Box::new(counted)
    })
}

pub fn work(
    mut input: Box<dyn BufRead + Send>,
    tx: SyncSender<Batch>,
    fast: bool,
    batch: usize,
    schema: Option<Arc<Schema>>,
) {
    let mut line = 0u64;
    let mut buf = Vec::with_capacity(4096);
    let mut parser = LineParser::new(schema);
    let mut out = Batch::with_capacity(batch * 1024);
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                out.push(&Item::Error {
                    line,
                    message: e.to_string(),
                });
                break;
            }
        }
        line += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue; // the Python reader drops a blank line too
        }
        let item = parser.read_line(&buf, line, fast);
        let slow = item.is_none();
        match item {
            Some(item) => out.push(&item),
            None => out.push(&Item::Slow {
                line,
                text: buf.clone(),
            }),
        }
        // a slow line may turn the rest of the file into a JSON stream: hand it over now
        if out.len() >= batch || slow {
            let full = std::mem::replace(&mut out, Batch::with_capacity(batch * 1024));
            if tx.send(full).is_err() {
                return; // the reader was closed
            }
        }
    }
    if !out.is_empty() {
        let _ = tx.send(out);
    }
}

/// An audit event the tests read: a Service create, with a leading zero in its
/// resourceVersion and managedFields to drop.
#[cfg(test)]
const SERVICE_CREATE: &[u8] = br#"{"kind":"Event","verb":"create","stage":"ResponseComplete","auditID":"x","requestURI":"/api/v1/namespaces/d/services","objectRef":{"resource":"services","namespace":"d","name":"s"},"responseStatus":{"code":201},"stageTimestamp":"2025-01-01T00:00:00Z","responseObject":{"kind":"Service","metadata":{"name":"s","uid":"u","resourceVersion":"05","creationTimestamp":"2025-01-01T00:00:00Z","managedFields":[]},"spec":{"clusterIPs":["10.0.0.1","fd00::1"]}}}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_and_resource_versions_as_python() {
        assert_eq!(py_strip("\u{1f} a b\u{1c}\n"), "a b");
        assert_eq!(py_rstrip(" a \u{1d}"), " a");
        let rv = |text: &str| {
            let mut b = text.as_bytes().to_vec();
            let tape = simd_json::to_tape(&mut b).unwrap();
            rv_int(J::root(&tape.0).unwrap().obj().unwrap())
        };
        assert_eq!(rv(r#"{"resourceVersion":"007"}"#), Ok(Some(7)));
        assert_eq!(rv(r#"{"resourceVersion":12}"#), Ok(Some(12)));
        assert_eq!(rv(r#"{"resourceVersion":"x1"}"#), Ok(None));
        assert_eq!(rv(r#"{"resourceVersion":true}"#), Ok(None));
        assert_eq!(rv(r#"{}"#), Ok(None));
        assert_eq!(rv(r#"{"resourceVersion":-5}"#), Err(()));
        assert_eq!(rv(r#"{"resourceVersion":"99999999999999999999"}"#), Err(()));
        assert_eq!(rv("{\"resourceVersion\":\"\u{0661}\"}"), Err(()));
    }

    #[test]
    fn times_match_python() {
        // datetime.fromisoformat("2025-01-01T00:00:00.000001+00:00").timestamp()
        assert_eq!(
            parse_time("2025-01-01T00:00:00.000001Z"),
            Some(1_735_689_600.000_001)
        );
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Some(0.0));
        assert_eq!(parse_time("2024-02-29T12:00:00Z"), Some(1_709_208_000.0));
        assert_eq!(parse_time("2023-02-29T12:00:00Z"), None);
        assert_eq!(parse_time("2025-01-01 00:00:00Z"), None);
        assert_eq!(parse_time("2025-01-01T00:00:00.1234567Z"), None);
    }

    fn packed(text: &str) -> Option<Vec<u8>> {
        let mut b = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut b).unwrap();
        let mut out = Vec::new();
        pack(J::root(&tape.0).unwrap(), &mut out).map(|()| out)
    }

    #[test]
    fn packs_like_msgpack_python() {
        assert_eq!(
            packed(r#"{"a": [1, -1, 300, -200, null, true, "x"]}"#).unwrap(),
            [
                0x81, 0xa1, b'a', 0x97, 0x01, 0xff, 0xcd, 0x01, 0x2c, 0xd1, 0xff, 0x38, 0xc0, 0xc3,
                0xa1, b'x'
            ]
        );
        assert_eq!(
            packed(r#"{"f": 1.5}"#),
            None,
            "floats go to the Python reader"
        );
        assert_eq!(packed(r#"{"a": 1, "a": 2}"#), None, "so do repeated keys");
    }

    #[test]
    fn a_service_create_is_fast_and_a_get_is_skipped() {
        let line = SERVICE_CREATE;
        assert!(
            LineParser::default().read_line(line, 1, true).is_none(),
            "without a schema no put is sure to decode"
        );
        let mut parser = LineParser::new(Some(schema::untyped()));
        let Some(Item::Fast(rec)) = parser.read_line(line, 1, true) else {
            panic!("not fast");
        };
        let Payload::Put { rv, ips, .. } = &rec.payload else {
            panic!("not a put");
        };
        assert_eq!(
            (*rv, ips.as_slice()),
            (
                5,
                ["10.0.0.1".to_string(), "fd00::1".to_string()].as_slice()
            )
        );
        let get = br#"{"kind":"Event","verb":"get","stage":"ResponseComplete","responseStatus":{"code":200}}"#;
        let Some(Item::Skip { reason, detail, .. }) = parser.read_line(get, 2, true) else {
            panic!("not a skip");
        };
        assert_eq!((reason, detail.as_str()), ("read-only", "get (200)"));
        assert!(parser.read_line(b"{not json", 3, true).is_none());
        let lone = br#"{"kind":"Event","verb":"get","stage":"ResponseComplete","user":{"username":"a\ud800"},"responseStatus":{"code":200}}"#;
        assert!(
            parser.read_line(lone, 5, true).is_none(),
            "a lone surrogate is Python's"
        );
        let deep = format!(
            r#"{{"kind":"Event","verb":"get","stage":"ResponseComplete","x":{}1{},"responseStatus":{{"code":200}}}}"#,
            "[".repeat(300),
            "]".repeat(300)
        );
        assert!(
            parser.read_line(deep.as_bytes(), 6, true).is_none(),
            "deep nesting is Python's"
        );
        assert!(parser.read_line(b"[1, 2]", 4, true).is_none());
    }
}
