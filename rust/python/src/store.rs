//! `Store`: the Python face of `servicecidr-store`, and the two bulk loaders that feed
//! it without making Python objects (log replay and a snapshot's store).
//!
//! Every change reaches the store through `Store::apply` (the one apply). What a change
//! means for the allocators is bits and handled here: a new IPAddress key is marked in
//! every attached allocator, a removed one unmarked. What needs Python's judgement is
//! reported back: the ServiceCIDRs written (they reshape the MetaAllocator) and the
//! Services whose writes may hold node ports.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use servicecidr_codec::frame::{self, Read};
use servicecidr_codec::msgpack::Reader;
use servicecidr_codec::record::{self, RecordRef, WriteRef};
use servicecidr_core::Ip;
use servicecidr_store::{Observer, Store as CoreStore, Stored};

use crate::buffers::slice_of;
use crate::errors::Class;
use crate::records::{extract_writes, PyWrite};
use crate::{invalid_input_err, CidrAllocator};

/// The kinds whose changes the store itself acts on or reports.
const ADDRESS_KIND: &str = "IPAddress";
const RESHAPING_KIND: &str = "ServiceCIDR";
const PORT_HOLDING_KIND: &str = "Service";

/// Objects by kind and key, the revision and the change feed (servicecidr-store).
#[pyclass(module = "servicecidr._core", name = "Store")]
pub struct Store {
    inner: CoreStore,
    allocators: Vec<Py<CidrAllocator>>,
    address_kind: Option<usize>,
    reshaping_kind: Option<usize>,
    port_holding_kind: Option<usize>,
}

/// What an apply tells Python: the ServiceCIDR keys written and the Service keys whose
/// node ports may have changed, in the order written (repeats kept).
#[derive(Default)]
pub(crate) struct Reported {
    reshaped: Vec<String>,
    node_ports: Vec<String>,
}

struct StoreObserver<'a> {
    allocators: &'a [Py<CidrAllocator>],
    address_kind: Option<usize>,
    reshaping_kind: Option<usize>,
    port_holding_kind: Option<usize>,
    reported: &'a mut Reported,
}

impl Observer for StoreObserver<'_> {
    fn changed(&mut self, kind: usize, key: &str, old: Option<&Stored>, new: Option<&Stored>) {
        let kind = Some(kind);
        if kind == self.address_kind {
            // Only a new key marks (a stored one already holds its bit; two spellings of
            // one address written with Cluster.store share it) and only a removed key
            // unmarks: what the allocator bitmaps mirror is the set of IPAddress keys.
            let mark = match (old, new) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                _ => return,
            };
            if self.allocators.is_empty() {
                return; // (a snapshot's objects: its bitmaps are restored afterwards)
            }
            if let Ok(ip) = Ip::parse(key) {
                for a in self.allocators {
                    let mut state = a.get().lock();
                    if mark {
                        state.mark(ip);
                    } else {
                        state.release(ip);
                    }
                }
            }
        } else if kind == self.reshaping_kind {
            self.reported.reshaped.push(key.to_owned());
        } else if kind == self.port_holding_kind
            && (old.is_some_and(|b| may_hold_node_ports(&b.bytes(key)))
                || new.is_some_and(|b| may_hold_node_ports(&b.bytes(key))))
        {
            self.reported.node_ports.push(key.to_owned());
        }
    }
}

/// Whether a stored Service may hold node ports: it mentions `nodePort` or
/// `healthCheckNodePort` anywhere. A conservative filter (a label that mentions them
/// passes too): the Python index reads the object and decides.
fn may_hold_node_ports(blob: &[u8]) -> bool {
    // (built once: building a searcher costs about as much as searching a Service)
    static FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"odePort"));
    FINDER.find(blob).is_some()
}

pub(crate) fn apply_error(py: Python<'_>, e: &servicecidr_store::ApplyError) -> PyErr {
    let hint = match e {
        servicecidr_store::ApplyError::BadObject { .. } => {
            " (servicecidr cannot read back such an object; nothing was written)"
        }
        _ => "",
    };
    invalid_input_err(py, &format!("refused writes: {e}{hint}"))
}

fn expired_error(py: Python<'_>, rv: u64, oldest: u64) -> PyErr {
    // kube-apiserver's watch cache: errors.NewResourceExpired, 410 Gone.
    Class::Expired.new_err(py, &[&format!("too old resource version: {rv} ({oldest})")])
}

impl Store {
    fn kind(&self, kind: &str) -> PyResult<usize> {
        self.inner
            .kind_index(kind)
            .ok_or_else(|| PyValueError::new_err(format!("the store holds no kind {kind:?}")))
    }

    /// The index of a kind (None: the store does not hold it).
    pub(crate) fn kind_index(&self, kind: &str) -> Option<usize> {
        self.inner.kind_index(kind)
    }

    /// The object under a key.
    pub(crate) fn blob(&self, kind: usize, key: &str) -> Option<&Stored> {
        self.inner.get(kind, key)
    }

    /// How many objects of a kind are stored.
    pub(crate) fn count_of(&self, kind: usize) -> usize {
        self.inner.count(kind)
    }

    /// The largest resourceVersion written so far.
    pub(crate) fn current_revision(&self) -> u64 {
        self.inner.revision()
    }

    /// The seq the journal's next entry takes (None: the store keeps no journal).
    pub(crate) fn next_seq(&self) -> Option<u64> {
        self.inner.journal().map(|j| j.last_seq() + 1)
    }

    /// Records `rec` in the journal and applies its writes, in one step (the one apply),
    /// for writes known to pass the store's object rules.
    pub(crate) fn commit_checked(
        &mut self,
        rec: &RecordRef<'_>,
        reported: &mut Reported,
    ) -> Result<(), servicecidr_store::ApplyError> {
        let mut observer = StoreObserver {
            allocators: &self.allocators,
            address_kind: self.address_kind,
            reshaping_kind: self.reshaping_kind,
            port_holding_kind: self.port_holding_kind,
            reported,
        };
        self.inner.commit_checked(rec, &mut observer)
    }

    /// `apply` of writes known to pass the store's object rules.
    pub(crate) fn apply_checked(
        &mut self,
        writes: &[WriteRef<'_>],
        reported: &mut Reported,
    ) -> Result<(), servicecidr_store::ApplyError> {
        let prepared = self.inner.prepare_checked(writes)?;
        let mut observer = StoreObserver {
            allocators: &self.allocators,
            address_kind: self.address_kind,
            reshaping_kind: self.reshaping_kind,
            port_holding_kind: self.port_holding_kind,
            reported,
        };
        self.inner
            .apply_checked(writes, prepared, &mut observer, |_, _, _| {});
        Ok(())
    }

    /// Applies decoded writes (the one apply; see the module doc).
    fn apply_refs(
        &mut self,
        writes: &[WriteRef<'_>],
        reported: &mut Reported,
    ) -> Result<(), servicecidr_store::ApplyError> {
        let mut observer = StoreObserver {
            allocators: &self.allocators,
            address_kind: self.address_kind,
            reshaping_kind: self.reshaping_kind,
            port_holding_kind: self.port_holding_kind,
            reported,
        };
        self.inner.apply(writes, &mut observer)
    }
}

pub(crate) fn reported_to_py<'py>(
    py: Python<'py>,
    r: Reported,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    if r.reshaped.is_empty() && r.node_ports.is_empty() {
        return Ok(None);
    }
    Ok(Some(PyTuple::new(
        py,
        [
            PyList::new(py, r.reshaped)?.into_any(),
            PyList::new(py, r.node_ports)?.into_any(),
        ],
    )?))
}

#[pymethods]
impl Store {
    #[new]
    #[pyo3(signature = (kinds, max_depth, *, feed_capacity = 100_000, journal = false, first_seq = 1))]
    fn new(
        kinds: Vec<(String, bool)>,
        max_depth: u32,
        feed_capacity: usize,
        journal: bool,
        first_seq: u64,
    ) -> Self {
        let mut inner = CoreStore::new(&kinds, max_depth, feed_capacity);
        if journal {
            inner.keep_journal(first_seq);
        }
        Store {
            address_kind: inner.kind_index(ADDRESS_KIND),
            reshaping_kind: inner.kind_index(RESHAPING_KIND),
            port_holding_kind: inner.kind_index(PORT_HOLDING_KIND),
            inner,
            allocators: Vec::new(),
        }
    }

    /// The largest resourceVersion written so far.
    #[getter]
    fn revision(&self) -> u64 {
        self.inner.revision()
    }

    /// The oldest revision `changes_since` can answer from.
    #[getter]
    fn oldest_revision(&self) -> u64 {
        self.inner.oldest_revision()
    }

    /// The kinds this store holds.
    fn kinds(&self) -> Vec<String> {
        self.inner.kinds().to_vec()
    }

    /// The stored object, or None.
    fn get<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        key: &str,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let kind = self.kind(kind)?;
        Ok(self
            .inner
            .get(kind, key)
            .map(|b| PyBytes::new(py, &b.bytes(key))))
    }

    /// Whether an object is stored under the key.
    fn contains(&self, kind: &str, key: &str) -> PyResult<bool> {
        Ok(self.inner.get(self.kind(kind)?, key).is_some())
    }

    /// How many objects of a kind are stored.
    fn count(&self, kind: &str) -> PyResult<usize> {
        Ok(self.inner.count(self.kind(kind)?))
    }

    /// `(objects, compact, bytes)` of a kind: how many objects are stored, how many of
    /// them are held in the compact form (IPAddress objects of the allocator's shape),
    /// and the bytes their stored forms take (without the allocator's overheads).
    fn held(&self, kind: &str) -> PyResult<(usize, usize, usize)> {
        let kind = self.kind(kind)?;
        let (mut objects, mut compact, mut bytes) = (0, 0, 0);
        for (_, stored) in self.inner.range(kind, "", None) {
            objects += 1;
            compact += usize::from(stored.is_compact());
            bytes += stored.held();
        }
        Ok((objects, compact, bytes))
    }

    /// Keys of a kind in key order: those starting with `prefix`, after `after`, at most
    /// `limit`.
    #[pyo3(signature = (kind, prefix = "", after = None, limit = None))]
    fn keys(
        &self,
        kind: &str,
        prefix: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> PyResult<Vec<String>> {
        let kind = self.kind(kind)?;
        Ok(self
            .inner
            .range(kind, prefix, after)
            .take(limit.unwrap_or(usize::MAX))
            .map(|(k, _)| k.to_owned())
            .collect())
    }

    /// (key, object) pairs of a kind in key order, as `keys` selects them.
    #[pyo3(signature = (kind, prefix = "", after = None, limit = None))]
    fn items<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        prefix: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let kind = self.kind(kind)?;
        let out = PyList::empty(py);
        for (k, b) in self
            .inner
            .range(kind, prefix, after)
            .take(limit.unwrap_or(usize::MAX))
        {
            out.append((PyString::new(py, k), PyBytes::new(py, &b.bytes(k))))?;
        }
        Ok(out)
    }

    /// Applies writes (`Write` objects or `(op, kind, key, rv, blob)` tuples) in order:
    /// the one apply. Returns None, or `(servicecidr_keys, node_port_service_keys)` when
    /// writes need Python's index upkeep. Malformed writes raise InvalidInputError and
    /// change nothing. `checked=True` skips the checks `check` made already.
    #[pyo3(signature = (writes, *, checked = false))]
    fn apply<'py>(
        &mut self,
        py: Python<'py>,
        writes: &Bound<'py, PyAny>,
        checked: bool,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let held = extract_writes(writes)?;
        let refs = held
            .iter()
            .map(PyWrite::as_ref)
            .collect::<PyResult<Vec<_>>>()?;
        let mut reported = Reported::default();
        if checked {
            let prepared = self
                .inner
                .prepare_checked(&refs)
                .map_err(|e| apply_error(py, &e))?;
            let mut observer = StoreObserver {
                allocators: &self.allocators,
                address_kind: self.address_kind,
                reshaping_kind: self.reshaping_kind,
                port_holding_kind: self.port_holding_kind,
                reported: &mut reported,
            };
            self.inner
                .apply_checked(&refs, prepared, &mut observer, |_, _, _| {});
        } else {
            self.apply_refs(&refs, &mut reported)
                .map_err(|e| apply_error(py, &e))?;
        }
        reported_to_py(py, reported)
    }

    /// Checks writes as `apply` would, changing nothing (InvalidInputError when refused).
    fn check(&self, py: Python<'_>, writes: &Bound<'_, PyAny>) -> PyResult<()> {
        let held = extract_writes(writes)?;
        let refs = held
            .iter()
            .map(PyWrite::as_ref)
            .collect::<PyResult<Vec<_>>>()?;
        self.inner
            .check(&refs)
            .map(|_| ())
            .map_err(|e| apply_error(py, &e))
    }

    /// Records an entry in the store's journal and applies its writes, in one step (a
    /// store made with `journal=True`); returns what `apply` returns. Refused writes, or
    /// a seq that does not follow the journal's last, raise InvalidInputError and change
    /// nothing.
    #[pyo3(signature = (seq, ts, verb, actor, kind, namespace, name, writes, extra))]
    #[allow(clippy::too_many_arguments)]
    fn commit<'py>(
        &mut self,
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
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let held = extract_writes(writes)?;
        let refs = held
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
            writes: refs,
            extra: extra.unwrap_or(&[0xc0]),
        };
        let mut reported = Reported::default();
        let mut observer = StoreObserver {
            allocators: &self.allocators,
            address_kind: self.address_kind,
            reshaping_kind: self.reshaping_kind,
            port_holding_kind: self.port_holding_kind,
            reported: &mut reported,
        };
        self.inner
            .commit(&rec, &mut observer)
            .map_err(|e| apply_error(py, &e))?;
        reported_to_py(py, reported)
    }

    /// The seq of the journal's last entry (None: the store keeps no journal).
    #[getter]
    fn journal_last_seq(&self) -> Option<u64> {
        self.inner.journal().map(|j| j.last_seq())
    }

    /// The latest timestamp in the journal (-inf: none; None: no journal).
    #[getter]
    fn journal_max_ts(&self) -> Option<f64> {
        self.inner.journal().map(|j| j.max_ts())
    }

    /// The journal's entries with `after < seq <= upto`, as `decode_record` gives a
    /// record's parts.
    #[pyo3(signature = (after = 0, upto = None))]
    fn journal_read<'py>(
        &self,
        py: Python<'py>,
        after: u64,
        upto: Option<u64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let Some(j) = self.inner.journal() else {
            return Ok(out);
        };
        for (seq, e) in j.range(after, upto) {
            let writes = PyList::empty(py);
            for w in e.writes.iter() {
                writes.append((
                    w.op,
                    j.text(w.kind),
                    &*w.key,
                    w.rv,
                    w.blob.as_ref().map(|b| PyBytes::new(py, &b.bytes(&w.key))),
                ))?;
            }
            out.append(PyTuple::new(
                py,
                [
                    seq.into_pyobject(py)?.into_any(),
                    e.ts.into_pyobject(py)?.into_any(),
                    PyString::new(py, j.text(e.verb)).into_any(),
                    PyString::new(py, j.text(e.actor)).into_any(),
                    PyString::new(py, j.text(e.kind)).into_any(),
                    e.namespace.as_deref().into_pyobject(py)?.into_any(),
                    PyString::new(py, e.name()).into_any(),
                    writes.into_any(),
                    e.extra
                        .as_deref()
                        .map(|b| PyBytes::new(py, b))
                        .into_pyobject(py)?
                        .into_any(),
                ],
            )?)?;
        }
        Ok(out)
    }

    /// The changes after revision `rv`, oldest first, at most `limit`: tuples
    /// `(rv, type, kind, key, object)` with type ADDED, MODIFIED or DELETED (a deletion
    /// carries the last stored object). ExpiredError when the feed no longer reaches
    /// back to `rv`.
    #[pyo3(signature = (rv, limit = None))]
    fn changes_since<'py>(
        &self,
        py: Python<'py>,
        rv: u64,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let changes = self
            .inner
            .changes_since(rv)
            .map_err(|e| expired_error(py, rv, e.oldest))?;
        let out = PyList::empty(py);
        let kinds = self.inner.kinds();
        for c in changes.take(limit.unwrap_or(usize::MAX)) {
            out.append((
                c.rv,
                c.change.as_str(),
                kinds[c.kind].as_str(),
                &*c.key,
                PyBytes::new(py, &c.blob.bytes(&c.key)),
            ))?;
        }
        Ok(out)
    }

    /// Keeps `alloc` marked from the IPAddress keys from now on (every apply marks and
    /// unmarks it); with `mark_existing`, first marks every stored IPAddress it contains.
    #[pyo3(signature = (alloc, *, mark_existing = true))]
    fn attach_allocator(&mut self, alloc: Py<CidrAllocator>, mark_existing: bool) {
        if mark_existing {
            if let Some(kind) = self.address_kind {
                let mut state = alloc.get().lock();
                for (key, _) in self.inner.range(kind, "", None) {
                    if let Ok(ip) = Ip::parse(key) {
                        state.mark(ip);
                    }
                }
            }
        }
        self.allocators.push(alloc);
    }

    /// Stops marking `alloc`.
    fn detach_allocator(&mut self, alloc: &Bound<'_, CidrAllocator>) {
        self.allocators.retain(|a| !a.is(alloc));
    }

    /// Forgets the change feed (after loading a snapshot: its history is not in the feed).
    fn truncate_feed(&mut self) {
        self.inner.truncate_feed();
    }

    /// Raises the revision to at least `rv` (a snapshot records it).
    fn raise_revision(&mut self, rv: u64) {
        self.inner.raise_revision(rv);
    }

    fn __len__(&self) -> usize {
        (0..self.inner.kinds().len())
            .map(|k| self.inner.count(k))
            .sum()
    }
}

/// Why a `replay_into` call returned.
const END_OF_DATA: u8 = 0;
const NEEDS_PYTHON: u8 = 1;
const STOPPED: u8 = 2;
const BATCH_DONE: u8 = 3;
const RESHAPED: u8 = 4;

/// What one `replay_into` call did: where it stopped and what it applied.
#[pyclass(frozen, module = "servicecidr._core", name = "ReplayProgress", get_all)]
pub struct ReplayProgress {
    /// Offset of the first record not consumed.
    offset: usize,
    /// Offset of the last record consumed (where the record a status 4 names starts).
    record_offset: usize,
    /// Records read (whole, CRC-checked, in sequence), applied or not.
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
    /// 0: end of data; 1: the record at `offset` needs the Python reader; 2: the record
    /// before `offset` is past stop_seq/stop_ts (read, not applied); 3: max_events
    /// applied; 4: the last record applied wrote a ServiceCIDR (Python syncs, then calls
    /// again).
    status: u8,
    /// ServiceCIDR keys written by the records applied, in order.
    reshaped: Vec<String>,
    /// Service keys whose node ports may have changed.
    node_ports: Vec<String>,
}

/// Applies the log records of `data` from `offset` to `store`, through the one apply.
///
/// It takes a record only when it is whole, its CRC matches, it is in sequence and
/// [`record::decode`] reads it; anything else stops the loop *before* the record with
/// status 1, and the Python reader takes that one record (it upcasts older schema
/// versions and words every error), applies it through `Store.apply`, and calls again.
#[pyfunction]
#[pyo3(signature = (store, data, offset, expect_seq, start_seq, stop_seq, stop_ts, max_events))]
#[allow(clippy::too_many_arguments)]
pub fn replay_into(
    py: Python<'_>,
    store: &Bound<'_, Store>,
    data: &Bound<'_, PyAny>,
    offset: usize,
    expect_seq: u64,
    start_seq: u64,
    stop_seq: Option<u64>,
    stop_ts: Option<f64>,
    max_events: u64,
) -> PyResult<ReplayProgress> {
    let buffer = PyBuffer::<u8>::get(data)?;
    let bytes = slice_of(&buffer)?;
    let mut store = store.borrow_mut();
    let mut reported = Reported::default();
    let mut p = ReplayProgress {
        offset,
        record_offset: offset,
        records: 0,
        applied: 0,
        last_seq: 0,
        expect_seq,
        last_ts: f64::NAN,
        max_ts: f64::NAN,
        status: END_OF_DATA,
        reshaped: Vec::new(),
        node_ports: Vec::new(),
    };
    loop {
        if p.applied >= max_events {
            p.status = BATCH_DONE;
            break;
        }
        let (payload, next) = match frame::read(bytes, p.offset) {
            Read::End => {
                p.status = END_OF_DATA;
                break;
            }
            Read::Record { payload, next } => (payload, next),
            _ => {
                p.status = NEEDS_PYTHON;
                break;
            }
        };
        let Some(rec) = record::decode(payload).filter(|r| r.seq == p.expect_seq) else {
            p.status = NEEDS_PYTHON;
            break;
        };
        if rec.seq >= start_seq {
            if stop_seq.is_some_and(|s| rec.seq > s) || stop_ts.is_some_and(|t| rec.ts > t) {
                p.records += 1;
                p.last_seq = rec.seq;
                p.expect_seq += 1;
                p.offset = next;
                p.status = STOPPED;
                break;
            }
            let before = reported.reshaped.len();
            if store.apply_refs(&rec.writes, &mut reported).is_err() {
                // (nothing applied) the Python reader words the error
                p.status = NEEDS_PYTHON;
                break;
            }
            p.applied += 1;
            p.last_ts = rec.ts;
            if p.max_ts.is_nan() || rec.ts > p.max_ts {
                p.max_ts = rec.ts;
            }
            if reported.reshaped.len() > before {
                p.status = RESHAPED;
            }
        }
        p.records += 1;
        p.last_seq = rec.seq;
        p.expect_seq += 1;
        p.record_offset = p.offset;
        p.offset = next;
        if p.status == RESHAPED {
            break;
        }
    }
    let _ = py;
    p.reshaped = reported.reshaped;
    p.node_ports = reported.node_ports;
    Ok(p)
}

/// One bucket of a snapshot's store, read: the kind's index, its keys and objects, and
/// where its objects start (past the array's header).
struct Bucket<'a> {
    kind: usize,
    keys: Vec<&'a str>,
    blobs: Vec<&'a [u8]>,
    blobs_at: usize,
}

/// The buckets of a snapshot's store (`r` at its start, left past it), every key a
/// string and every object bytes; the error names the first that is not.
fn store_buckets<'a>(r: &mut Reader<'a>, store: &Store) -> PyResult<Vec<Bucket<'a>>> {
    let start = r.pos();
    let kinds = r
        .array_len()
        .ok_or_else(|| bad("the store is not a list", start))?;
    let mut buckets = Vec::new();
    for _ in 0..kinds {
        let at = r.pos();
        let shape = || bad("a store bucket is not [kind, [keys], [blobs]]", at);
        if r.array_len() != Some(3) {
            return Err(shape());
        }
        let kind_name = r.str().ok_or_else(shape)?;
        let Some(kind) = store.inner.kind_index(kind_name) else {
            return Err(bad(&format!("unknown kind {kind_name:?} in the store"), at));
        };
        let n = r.array_len().ok_or_else(shape)?;
        // (a count is only a promise: never reserve more than the bytes could hold)
        let room = n.min(r.remaining());
        let mut keys = Vec::with_capacity(room);
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
                &format!("the {kind_name} bucket has not as many blobs as keys ({n})"),
                at,
            ));
        }
        let blobs_at = r.pos();
        let mut blobs = Vec::with_capacity(room);
        for _ in 0..n {
            let at = r.pos();
            blobs.push(
                r.bin_or_nil()
                    .flatten()
                    .ok_or_else(|| bad("a stored object is not bytes", at))?,
            );
        }
        buckets.push(Bucket {
            kind,
            keys,
            blobs,
            blobs_at,
        });
    }
    Ok(buckets)
}

fn bad(what: &str, at: usize) -> PyErr {
    PyValueError::new_err(format!("{what} at body byte {at}"))
}

/// Loads a snapshot body (a msgpack map) into an empty `store`: its `store` entry (a list
/// of `[kind, [keys], [blobs]]`) goes in through `Store::load` (the puts' apply, the feed
/// forgotten); the revision is left to the caller. Returns `(ranges, servicecidr_keys, node_port_service_keys)`:
/// where every other top-level value lies in `body` (`{key: (start, end)}`, for
/// msgpack-python), and the keys whose indexes Python must rebuild.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn load_snapshot_store<'py>(
    py: Python<'py>,
    store: &Bound<'py, Store>,
    body: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyDict>, Vec<String>, Vec<String>)> {
    let buffer = PyBuffer::<u8>::get(body)?;
    let bytes = slice_of(&buffer)?;
    let mut r = Reader::new(bytes);
    let ranges = PyDict::new(py);
    // The store is read where it lies (one walk over the millions of objects, whose
    // headers are each a fresh cache line); one whose shape is wrong is named after
    // what is wrong with the body around it, as before the store is looked into.
    let mut store_section = None;
    let n = r.map_len().ok_or_else(|| bad("the body is not a map", 0))?;
    for _ in 0..n {
        let at = r.pos();
        let key = r
            .str()
            .ok_or_else(|| bad("a body key is not a string", at))?;
        let start = r.pos();
        if key == "store" {
            // a repeated key: the last counts, as in msgpack-python
            let got = store_buckets(&mut r, &store.borrow());
            if got.is_err() {
                r = r.at(start);
                r.skip()
                    .ok_or_else(|| bad(&format!("malformed value of {key:?}"), start))?;
            }
            store_section = Some(got);
            continue;
        }
        r.skip()
            .ok_or_else(|| bad(&format!("malformed value of {key:?}"), start))?;
        ranges.set_item(key, (start, r.pos()))?;
    }
    if !r.at_end() {
        return Err(bad("trailing bytes after the body", r.pos()));
    }
    let Some(buckets) = store_section else {
        return Err(bad("the body has no store", 0));
    };
    let buckets = buckets?;
    let mut guard = store.borrow_mut();
    let store = &mut *guard;
    let mut reported = Reported::default();
    for b in buckets {
        let mut observer = StoreObserver {
            allocators: &store.allocators,
            address_kind: store.address_kind,
            reshaping_kind: store.reshaping_kind,
            port_holding_kind: store.port_holding_kind,
            reported: &mut reported,
        };
        let objects = b.keys.iter().copied().zip(b.blobs.iter().copied());
        store
            .inner
            .load(b.kind, objects, &mut observer)
            .map_err(|e| match e {
                servicecidr_store::ApplyError::BadObject {
                    index,
                    kind,
                    key,
                    why,
                } => {
                    // where the object starts: past the blobs before it
                    let mut at = r.at(b.blobs_at);
                    for _ in 0..index {
                        at.bin_or_nil();
                    }
                    bad(&format!("the stored {kind} {key}: {why}"), at.pos())
                }
                other => PyValueError::new_err(format!("the snapshot's store: {other}")),
            })?;
    }
    Ok((ranges, reported.reshaped, reported.node_ports))
}
