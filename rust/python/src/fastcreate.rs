//! `ServiceFastPath`: one call per common Service create.
//!
//! Python owns what a Service means (`servicecidr.registry.service_fast`): it runs the
//! first create of each *shape* of request (the body with its name left out) through
//! the full path, and, when that shape may take the fast path, hands over templates of
//! the objects it stored, with sentinel strings where a later create differs (see
//! `servicecidr_fastpath::Template`). A later create of a known shape is then one call
//! here: the name is checked, the key must be free, the addresses are allocated exactly
//! as the MetaAllocator would (the same random draws, in the same order), the Service,
//! its IPAddresses and the journal entry are encoded from the templates and committed
//! through the store's one apply, and the Service comes back as a fresh dict.
//!
//! Whatever this call cannot answer as the full path would — an unknown shape, a name
//! that is not a DNS-1035 label, a key that exists, a family without room, admission
//! bindings in the store, a Namespace other than the one the shape was learned in (the
//! NamespaceLifecycle check: missing or Terminating) — it leaves alone *before* drawing anything (it returns None)
//! and the full path runs, so every error is the full path's own.

use std::collections::HashMap;

use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};
use servicecidr_codec::msgpack as mp;
use servicecidr_codec::record::{RecordRef, WriteRef, OP_PUT};
use servicecidr_core::{Error, Ip, MAX_IP_TEXT_LEN};
use servicecidr_fastpath::{is_dns1035_label, uuid4_text, Template};

use crate::fxhash::FxBuild;
use crate::rng::MersenneTwister;
use crate::store::{apply_error, reported_to_py, Reported, Store};
use crate::{to_pyerr, CidrAllocator};
use servicecidr_store::Stored;

/// The slots of a template, in value order, and the sentinel strings that mark them.
const SLOTS: [&str; 6] = [
    "name",
    "uid",
    "creationTimestamp",
    "resourceVersion",
    "ip0",
    "ip1",
];
const SENTINELS: [&str; 6] = [
    "\u{0}servicecidr:name\u{0}",
    "\u{0}servicecidr:uid\u{0}",
    "\u{0}servicecidr:creationTimestamp\u{0}",
    "\u{0}servicecidr:resourceVersion\u{0}",
    "\u{0}servicecidr:ip0\u{0}",
    "\u{0}servicecidr:ip1\u{0}",
];
const NAME: usize = 0;
const UID: usize = 1;
const TS: usize = 2;
const RV: usize = 3;
const IP0: usize = 4;

/// At most this many shapes are remembered (then all are forgotten, as the memo does).
const MAX_SHAPES: usize = 4096;
/// Bodies whose shape key is longer take the full path (a large body is rare, and its
/// size limit is the full path's to judge).
const MAX_KEY_BYTES: usize = 64 << 10;
/// Marks where the name was left out of a shape key (a byte msgpack never uses).
const NAME_MARK: u8 = 0xc1;

const FAMILIES: [&str; 2] = ["IPv4", "IPv6"];

/// Shape keys are built here from request bodies (bounded: MAX_SHAPES), hashed with Fx.
type Shapes = HashMap<Box<[u8]>, Option<Shape>, FxBuild>;

/// How to build a fresh copy of a template object: copy the container (its immutable
/// leaves shared), then put a fresh copy of each nested container, and each slot's value,
/// in its place.
enum Plan {
    Dict(Py<PyDict>, Vec<(Py<PyAny>, Child)>),
    List(Py<PyList>, Vec<(usize, Child)>),
}

enum Child {
    Node(Plan),
    Slot(usize),
}

impl Plan {
    /// The plan of a template (a dict or a list), or None when it is neither.
    fn of(template: &Bound<'_, PyAny>, sentinels: &[Py<PyString>]) -> PyResult<Option<Plan>> {
        let child = |v: &Bound<'_, PyAny>| -> PyResult<Option<Child>> {
            if let Some(p) = Plan::of(v, sentinels)? {
                return Ok(Some(Child::Node(p)));
            }
            Ok(sentinels
                .iter()
                .position(|s| s.as_ptr() == v.as_ptr())
                .map(Child::Slot))
        };
        if let Ok(d) = template.cast_exact::<PyDict>() {
            let mut children = Vec::new();
            for (k, v) in d.iter() {
                if let Some(c) = child(&v)? {
                    children.push((k.unbind(), c));
                }
            }
            // A compact copy of its own: copying a dict without holes is one memcpy.
            return Ok(Some(Plan::Dict(d.copy()?.unbind(), children)));
        }
        if let Ok(l) = template.cast_exact::<PyList>() {
            let mut children = Vec::new();
            for (i, v) in l.iter().enumerate() {
                if let Some(c) = child(&v)? {
                    children.push((i, c));
                }
            }
            return Ok(Some(Plan::List(l.get_slice(0, l.len()).unbind(), children)));
        }
        Ok(None)
    }

    fn fill<'py>(
        &self,
        py: Python<'py>,
        values: &[Option<Bound<'py, PyString>>; 6],
    ) -> PyResult<Bound<'py, PyAny>> {
        let value = |c: &Child| -> PyResult<Bound<'py, PyAny>> {
            match c {
                Child::Node(p) => p.fill(py, values),
                Child::Slot(i) => values[*i]
                    .as_ref()
                    .map(|v| v.clone().into_any())
                    .ok_or_else(|| PyRuntimeError::new_err("a template slot has no value")),
            }
        };
        match self {
            Plan::Dict(d, children) => {
                let out = d.bind(py).copy()?;
                for (k, c) in children {
                    out.set_item(k.bind(py), value(c)?)?;
                }
                Ok(out.into_any())
            }
            Plan::List(l, children) => {
                let l = l.bind(py);
                let out = l.get_slice(0, l.len());
                for (i, c) in children {
                    out.set_item(*i, value(c)?)?;
                }
                Ok(out.into_any())
            }
        }
    }
}

/// What a known shape creates.
struct Shape {
    /// The Service's namespace and `namespace/` (its keys' prefix).
    namespace: String,
    /// The stored Namespace object when the shape was learned (a create in it was
    /// admitted then; the same bytes now admit it again). None: there was none.
    namespace_object: Option<Stored>,
    prefix: String,
    /// The family index (0: IPv4, 1: IPv6) of each allocated address, in clusterIPs order.
    families: Vec<usize>,
    /// The Service's stored bytes, and each IPAddress's (in clusterIPs order).
    service: Template,
    addresses: Vec<Template>,
    /// How to build the Service as a create returns it.
    object: Plan,
    warnings: Vec<Py<PyString>>,
}

/// The one-call Service create (see the module doc).
#[pyclass(module = "servicecidr._core", name = "ServiceFastPath")]
pub struct ServiceFastPath {
    store: Py<Store>,
    service_kind: usize,
    binding_kind: Option<usize>,
    namespace_kind: Option<usize>,
    /// Whether NamespaceLifecycle runs (a create needs its namespace as it was learned).
    lifecycle: bool,
    /// Shape key -> what it creates (None: a shape that always takes the full path).
    shapes: Shapes,
    /// The ready allocators of each family in the MetaAllocator's order (None: the
    /// family takes the full path).
    ready: [Option<Vec<Py<CidrAllocator>>>; 2],
    sentinels: Vec<Py<PyString>>,
    format_time: Py<PyAny>,
    time_cache: Option<(i64, Py<PyString>)>,
    /// None: the store's journal records each entry; Some(count): the store keeps no
    /// journal and `count(ts)` is told of each entry.
    count: Option<Py<PyAny>>,
    upkeep: Py<PyAny>,
    key: Vec<u8>,
    /// How many Services this path has created (what the differential tests look at to
    /// know it ran).
    created: u64,
}

/// Encodes a request body as its shape key: every value but `metadata.name`, whose
/// string is returned. None when the body holds anything but plain JSON values (exact
/// dicts with str keys, lists, str, int, float, bool, None), has no string name, or is
/// too large: such bodies take the full path.
fn shape_key<'py>(
    obj: &Bound<'py, PyAny>,
    namespace: &Bound<'py, PyAny>,
    out: &mut Vec<u8>,
) -> Option<Bound<'py, PyString>> {
    let d = obj.cast_exact::<PyDict>().ok()?;
    mp::map_len(d.len(), out)?;
    let mut name = None;
    for (k, v) in d.iter() {
        let k = k.cast_exact::<PyString>().ok()?;
        let ks = k.to_str().ok()?;
        mp::str(ks, out)?;
        if ks == "metadata" {
            let meta = v.cast_exact::<PyDict>().ok()?;
            mp::map_len(meta.len(), out)?;
            for (mk, mv) in meta.iter() {
                let mk = mk.cast_exact::<PyString>().ok()?;
                let mks = mk.to_str().ok()?;
                mp::str(mks, out)?;
                if mks == "name" {
                    let n = mv.cast_exact::<PyString>().ok()?;
                    n.to_str().ok()?;
                    out.push(NAME_MARK);
                    name = Some(n.clone());
                } else {
                    value(&mv, out, 2)?;
                }
            }
        } else {
            value(&v, out, 1)?;
        }
        if out.len() > MAX_KEY_BYTES {
            return None;
        }
    }
    if namespace.is_none() {
        mp::nil(out);
    } else {
        mp::str(namespace.cast_exact::<PyString>().ok()?.to_str().ok()?, out)?;
    }
    name
}

fn value(v: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: u32) -> Option<()> {
    if depth > mp::MAX_DEPTH {
        return None;
    }
    if let Ok(s) = v.cast_exact::<PyString>() {
        mp::str(s.to_str().ok()?, out)?;
    } else if let Ok(d) = v.cast_exact::<PyDict>() {
        mp::map_len(d.len(), out)?;
        for (k, x) in d.iter() {
            mp::str(k.cast_exact::<PyString>().ok()?.to_str().ok()?, out)?;
            value(&x, out, depth + 1)?;
        }
    } else if let Ok(l) = v.cast_exact::<PyList>() {
        mp::array_len(l.len(), out)?;
        for x in l.iter() {
            value(&x, out, depth + 1)?;
        }
    } else if let Ok(i) = v.cast_exact::<PyInt>() {
        match i.extract::<i64>() {
            Ok(i) => mp::int(i, out),
            Err(_) => mp::uint(i.extract::<u64>().ok()?, out),
        }
    } else if v.is_none() {
        mp::nil(out);
    } else if let Ok(b) = v.cast_exact::<PyBool>() {
        mp::boolean(b.is_true(), out);
    } else if let Ok(f) = v.cast_exact::<PyFloat>() {
        mp::f64(f.value(), out);
    } else {
        return None;
    }
    Some(())
}

/// `rng.getrandbits(128)`; drawn here when `rng` is the engine's `MersenneTwister`.
fn rng_bits(rng: &Bound<'_, PyAny>) -> PyResult<u128> {
    if let Ok(mt) = rng.cast::<MersenneTwister>() {
        return Ok(mt.borrow_mut().draw_bits(128));
    }
    rng.call_method1(intern!(rng.py(), "getrandbits"), (128,))?
        .extract()
}

/// The permutation `rng.shuffle` makes of a list of `n` items.
fn rng_order(rng: &Bound<'_, PyAny>, n: usize) -> PyResult<Vec<usize>> {
    if let Ok(mt) = rng.cast::<MersenneTwister>() {
        return Ok(mt.borrow_mut().shuffled(n));
    }
    let list = PyList::new(rng.py(), 0..n)?;
    rng.call_method1(intern!(rng.py(), "shuffle"), (&list,))?;
    list.extract()
}

fn ip_text(ip: Ip) -> String {
    let mut buf = [0u8; MAX_IP_TEXT_LEN];
    ip.format_into(&mut buf).to_owned()
}

impl ServiceFastPath {
    /// The time text of `ts` (cached per second, as the engine caches it).
    fn time_text<'py>(&mut self, py: Python<'py>, ts: f64) -> PyResult<Bound<'py, PyString>> {
        let second = ts as i64; // int(): toward zero
        if let Some((s, text)) = &self.time_cache {
            if *s == second {
                return Ok(text.bind(py).clone());
            }
        }
        let text = self
            .format_time
            .bind(py)
            .call1((second,))?
            .cast_into::<PyString>()?;
        self.time_cache = Some((second, text.clone().unbind()));
        Ok(text)
    }

    /// One create; None when the full path must take it (nothing drawn or changed).
    fn create_one<'py>(
        &mut self,
        obj: &Bound<'py, PyAny>,
        namespace: &Bound<'py, PyAny>,
        actor: &str,
        rng: &Bound<'py, PyAny>,
        clock: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyList>)>> {
        let py = obj.py();
        let mut key = std::mem::take(&mut self.key);
        key.clear();
        let name = shape_key(obj, namespace, &mut key);
        let shape = match &name {
            Some(_) => self.shapes.get(&key[..]),
            None => None,
        };
        self.key = key;
        let (Some(name), Some(Some(shape))) = (name, shape) else {
            return Ok(None);
        };
        let name_text = name.to_str()?;
        if !is_dns1035_label(name_text) {
            return Ok(None);
        }
        let service_key = format!("{}{name_text}", shape.prefix);
        {
            let store = self.store.bind(py).borrow();
            if self.binding_kind.is_some_and(|k| store.count_of(k) > 0)
                || (self.lifecycle && !self.namespace_as_learned(&store, shape))
                || store.blob(self.service_kind, &service_key).is_some()
                || (self.count.is_none() && store.next_seq().is_none())
            {
                return Ok(None);
            }
        }
        for &f in &shape.families {
            let Some(ready) = &self.ready[f] else {
                return Ok(None);
            };
            if !ready.iter().any(|a| a.get().lock().free() > 0) {
                return Ok(None);
            }
        }
        let ts: f64 = clock.call_method0(intern!(py, "now"))?.extract()?;
        if !ts.is_finite() {
            return Ok(None);
        }
        let ts_text = self.time_text(py, ts)?;
        let Some(Some(shape)) = self.shapes.get(&self.key[..]) else {
            return Ok(None); // (format_time cannot reach this object; kept for the borrow)
        };
        // The draws, in the full path's order: the Service's uid; the order of the
        // families (Go map order); per family, the order of its ready allocators; then
        // each IPAddress's uid, in allocation order.
        let uid = uuid4_text(rng_bits(rng)?);
        let k = shape.families.len();
        let order = if k > 1 {
            rng_order(rng, k)?
        } else {
            (0..k).collect()
        };
        let mut taken: Vec<(usize, Ip, &Py<CidrAllocator>)> = Vec::with_capacity(k);
        let rollback = |taken: &[(usize, Ip, &Py<CidrAllocator>)]| {
            for (_, ip, a) in taken {
                a.get().lock().release(*ip);
            }
        };
        for &pos in &order {
            let ready = self.ready[shape.families[pos]].as_deref().unwrap_or(&[]);
            let tries = match ready.len() {
                0 | 1 => Ok((0..ready.len()).collect()),
                n => rng_order(rng, n),
            };
            let tries = match tries {
                Ok(t) => t,
                Err(e) => {
                    rollback(&taken);
                    return Err(e);
                }
            };
            let mut got = None;
            for j in tries {
                let result = ready[j].get().lock().allocate_next();
                match result {
                    Ok(ip) => {
                        got = Some((ip, &ready[j]));
                        break;
                    }
                    Err(Error::RangeFull) => continue,
                    Err(e) => {
                        rollback(&taken);
                        return Err(to_pyerr(py, &e));
                    }
                }
            }
            let Some((ip, a)) = got else {
                rollback(&taken);
                return Err(PyRuntimeError::new_err(
                    "the Service fast path found no room after checking there was some",
                ));
            };
            taken.push((pos, ip, a));
        }
        let mut address_uids = Vec::with_capacity(k);
        for _ in 0..k {
            match rng_bits(rng) {
                Ok(bits) => address_uids.push(uuid4_text(bits)),
                Err(e) => {
                    rollback(&taken);
                    return Err(e);
                }
            }
        }
        // Encode: the IPAddresses (allocation order) take the next revisions, then the
        // Service.
        let mut ips = [String::new(), String::new()];
        for (pos, ip, _) in &taken {
            ips[*pos] = ip_text(*ip);
        }
        let ts_str = ts_text.to_str()?;
        let uid_str = std::str::from_utf8(&uid).unwrap_or_default();
        let mut store = self.store.bind(py).borrow_mut();
        let revision = store.current_revision();
        let mut address_blobs: Vec<(Vec<u8>, u64)> = Vec::with_capacity(k);
        for (n, (pos, _, _)) in taken.iter().enumerate() {
            let rv = revision + 1 + n as u64;
            let rv_text = rv.to_string();
            let auid = std::str::from_utf8(&address_uids[n]).unwrap_or_default();
            let mut blob = Vec::with_capacity(320);
            shape.addresses[*pos].render(
                &[name_text, auid, ts_str, &rv_text, &ips[*pos], ""],
                &mut blob,
            );
            address_blobs.push((blob, rv));
        }
        let service_rv = revision + 1 + k as u64;
        let rv_text = service_rv.to_string();
        let mut service_blob = Vec::with_capacity(512);
        shape.service.render(
            &[name_text, uid_str, ts_str, &rv_text, &ips[0], &ips[1]],
            &mut service_blob,
        );
        let mut writes: Vec<WriteRef<'_>> = taken
            .iter()
            .zip(&address_blobs)
            .map(|((pos, _, _), (blob, rv))| WriteRef {
                op: OP_PUT,
                kind: "IPAddress",
                key: &ips[*pos],
                rv: *rv,
                blob: Some(blob),
            })
            .collect();
        writes.push(WriteRef {
            op: OP_PUT,
            kind: "Service",
            key: &service_key,
            rv: service_rv,
            blob: Some(&service_blob),
        });
        // The templates' objects passed the store's object rules when the shape was
        // learned, and a create changes only strings that keep them (the name spells the
        // key): the store checks kinds and ops only.
        let mut reported = Reported::default();
        let result = match &self.count {
            None => {
                let rec = RecordRef {
                    seq: store.next_seq().unwrap_or(1),
                    ts,
                    verb: "create",
                    actor,
                    kind: "Service",
                    namespace: Some(&shape.namespace),
                    name: name_text,
                    writes,
                    extra: &[0xc0],
                };
                store.commit_checked(&rec, &mut reported)
            }
            Some(_) => store.apply_checked(&writes, &mut reported),
        };
        drop(store);
        if let Err(e) = result {
            rollback(&taken);
            return Err(apply_error(py, &e));
        }
        // Recorded and applied: from here on the create has happened.
        self.created += 1;
        let uid_py = PyString::new(py, uid_str);
        let rv_py = PyString::new(py, &rv_text);
        let ip_py = |i: usize| (i < k).then(|| PyString::new(py, &ips[i]));
        let values = [
            Some(name),
            Some(uid_py),
            Some(ts_text.clone()),
            Some(rv_py),
            ip_py(0),
            ip_py(1),
        ];
        let out = shape.object.fill(py, &values)?;
        let warnings = PyList::new(py, shape.warnings.iter().map(|w| w.bind(py)))?;
        if let Some(count) = &self.count {
            count.bind(py).call1((ts,))?;
        }
        if let Some(touched) = reported_to_py(py, reported)? {
            self.upkeep.bind(py).call1(touched)?;
        }
        Ok(Some((out, warnings)))
    }
}

#[pymethods]
impl ServiceFastPath {
    /// A fast path over `store` (which must hold Services and IPAddresses).
    /// `format_time(second)` is the creationTimestamp text of a second; `upkeep(reshaped,
    /// node_ports)` is told what an apply reports (as the engine's upkeep).
    #[new]
    fn new(store: Bound<'_, Store>, format_time: Py<PyAny>, upkeep: Py<PyAny>) -> PyResult<Self> {
        let py = store.py();
        let (service_kind, binding_kind, namespace_kind) = {
            let s = store.borrow();
            let (Some(service), Some(_)) = (s.kind_index("Service"), s.kind_index("IPAddress"))
            else {
                return Err(PyRuntimeError::new_err(
                    "the store holds no Services or no IPAddresses",
                ));
            };
            (
                service,
                s.kind_index("ValidatingAdmissionPolicyBinding"),
                s.kind_index("Namespace"),
            )
        };
        Ok(ServiceFastPath {
            store: store.unbind(),
            service_kind,
            binding_kind,
            namespace_kind,
            lifecycle: true,
            shapes: Shapes::default(),
            ready: [None, None],
            sentinels: SENTINELS
                .iter()
                .map(|s| PyString::new(py, s).unbind())
                .collect(),
            format_time,
            time_cache: None,
            count: None,
            upkeep,
            key: Vec::new(),
            created: 0,
        })
    }

    /// The garbage collector's view of what this holds: `upkeep` is a bound method of
    /// the engine that holds this, so the two make a cycle only the collector can free.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.store)?;
        visit.call(&self.format_time)?;
        visit.call(&self.upkeep)?;
        visit.call(&self.count)?;
        for family in self.ready.iter().flatten() {
            for allocator in family {
                visit.call(allocator)?;
            }
        }
        Ok(())
    }

    /// Drops what could hold the cycle (the engine clears the rest).
    fn __clear__(&mut self) {
        self.count = None;
        self.ready = [None, None];
        self.shapes.clear();
    }

    /// The sentinel strings (slot name -> str): a template holds these very objects
    /// where a create's own values go.
    #[getter]
    fn sentinels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (slot, s) in SLOTS.iter().zip(&self.sentinels) {
            d.set_item(slot, s.bind(py))?;
        }
        Ok(d)
    }

    /// The shape key of a request body and its name, or None when the body cannot take
    /// the fast path (see `create`).
    fn shape_key<'py>(
        &self,
        obj: &Bound<'py, PyAny>,
        namespace: &Bound<'py, PyAny>,
    ) -> Option<(Bound<'py, PyBytes>, Bound<'py, PyString>)> {
        let mut key = Vec::new();
        let name = shape_key(obj, namespace, &mut key)?;
        Some((PyBytes::new(obj.py(), &key), name))
    }

    /// Whether a shape is known (learned or refused); a shape learned in a Namespace
    /// that has changed since is not (it may be learned again).
    fn knows(&self, py: Python<'_>, key: &[u8]) -> bool {
        match self.shapes.get(key) {
            None => false,
            Some(None) => true,
            Some(Some(shape)) => {
                !self.lifecycle || self.namespace_as_learned(&self.store.bind(py).borrow(), shape)
            }
        }
    }

    /// Whether NamespaceLifecycle runs: a create then takes this path only while its
    /// Namespace is stored as it was when its shape was learned.
    fn set_lifecycle(&mut self, on: bool) {
        self.lifecycle = on;
    }

    /// Remembers a shape that always takes the full path.
    fn refuse(&mut self, key: &[u8]) {
        self.make_room();
        self.shapes.insert(Box::from(key), None);
    }

    /// Learns a shape from the create that stored it. `service` and `addresses` are the
    /// stored bytes with the sentinels in their slots (each IPAddress's: name, uid,
    /// creationTimestamp, resourceVersion and its address as `ip0`); `object` the
    /// Service as returned, likewise. `expect` holds, for the Service then each
    /// IPAddress, the bytes that create stored and the values of its slots: the templates
    /// must give those bytes back, or the shape is refused. Returns whether it was learned.
    #[allow(clippy::too_many_arguments)]
    fn learn(
        &mut self,
        key: &[u8],
        namespace: &str,
        families: Vec<String>,
        warnings: Vec<Py<PyString>>,
        object: &Bound<'_, PyAny>,
        service: &[u8],
        addresses: Vec<Vec<u8>>,
        expect: Vec<(Vec<u8>, Vec<String>)>,
    ) -> PyResult<bool> {
        let namespace_object = self.namespace_kind.and_then(|k| {
            self.store
                .bind(object.py())
                .borrow()
                .blob(k, namespace)
                .cloned()
        });
        let Some(object) = Plan::of(object, &self.sentinels)? else {
            self.refuse(key);
            return Ok(false);
        };
        let k = families.len();
        let fams: Option<Vec<usize>> = families
            .iter()
            .map(|f| FAMILIES.iter().position(|x| x == f))
            .collect();
        let learned = (|| {
            let fams = fams?;
            if k > 2 || addresses.len() != k || expect.len() != k + 1 {
                return None;
            }
            let service = Template::split(service, &SENTINELS[..IP0 + k]).ok()?;
            let addresses = addresses
                .iter()
                .map(|b| Template::split(b, &SENTINELS[..=IP0]).ok())
                .collect::<Option<Vec<_>>>()?;
            for (i, (blob, values)) in expect.iter().enumerate() {
                let vals: Vec<&str> = values.iter().map(String::as_str).collect();
                let template = if i == 0 { &service } else { &addresses[i - 1] };
                if vals.len() < template_slots(i, k) {
                    return None;
                }
                let mut out = Vec::with_capacity(blob.len());
                template.render(&vals, &mut out);
                if &out != blob {
                    return None;
                }
            }
            Some(Shape {
                namespace: namespace.to_owned(),
                namespace_object: None,
                prefix: format!("{namespace}/"),
                families: fams,
                service,
                addresses,
                object,
                warnings,
            })
        })();
        let learned = learned.map(|shape| Shape {
            namespace_object,
            ..shape
        });
        let ok = learned.is_some();
        self.make_room();
        self.shapes.insert(Box::from(key), learned);
        Ok(ok)
    }

    /// The ready allocators of each family, in the order the MetaAllocator tries them
    /// (None: that family takes the full path).
    #[pyo3(signature = (ipv4, ipv6))]
    fn set_ready(
        &mut self,
        ipv4: Option<Vec<Py<CidrAllocator>>>,
        ipv6: Option<Vec<Py<CidrAllocator>>>,
    ) {
        self.ready = [ipv4, ipv6];
    }

    /// How entries are recorded: None, in the store's journal; a callable, the store keeps
    /// none and `count(ts)` is told of each entry (a counting recorder).
    #[pyo3(signature = (count))]
    fn set_counting(&mut self, count: Option<Py<PyAny>>) {
        self.count = count;
    }

    /// Forgets every shape.
    fn clear(&mut self) {
        self.shapes.clear();
    }

    /// Creates the Service `obj` (a request body) when its shape is known and nothing
    /// about it is unusual: returns (the Service as stored, the warnings), or None with
    /// nothing drawn or changed (the full path must take it). The entry is made by
    /// `actor`, at `clock.now()`; `rng` is the engine's random stream of decisions (a
    /// `random.Random`, or the `MersenneTwister` of a `SeededRandom`, drawn from here).
    #[pyo3(signature = (obj, namespace, actor, rng, clock))]
    fn create<'py>(
        &mut self,
        obj: &Bound<'py, PyAny>,
        namespace: &Bound<'py, PyAny>,
        actor: &str,
        rng: &Bound<'py, PyAny>,
        clock: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        match self.create_one(obj, namespace, actor, rng, clock)? {
            Some((o, w)) => Ok(Some(PyTuple::new(obj.py(), [o.into_any(), w.into_any()])?)),
            None => Ok(None),
        }
    }

    /// `create` of `objs[start:]` in order, appending each Service to `out`, until one
    /// must take the full path; returns its index (`len(objs)` when all were created).
    #[pyo3(signature = (objs, start, namespace, actor, rng, clock, out))]
    #[allow(clippy::too_many_arguments)]
    fn create_many<'py>(
        &mut self,
        objs: &Bound<'py, PyList>,
        start: usize,
        namespace: &Bound<'py, PyAny>,
        actor: &str,
        rng: &Bound<'py, PyAny>,
        clock: &Bound<'py, PyAny>,
        out: &Bound<'py, PyList>,
    ) -> PyResult<usize> {
        let mut i = start;
        while i < objs.len() {
            let obj = objs.get_item(i)?;
            match self.create_one(&obj, namespace, actor, rng, clock)? {
                Some((o, _)) => out.append(o)?,
                None => return Ok(i),
            }
            i += 1;
        }
        Ok(i)
    }

    /// How many Services this path has created.
    #[getter]
    fn created(&self) -> u64 {
        self.created
    }

    fn __len__(&self) -> usize {
        self.shapes.len()
    }
}

impl ServiceFastPath {
    /// Whether the Namespace of `shape` is stored as it was when it was learned (and
    /// was stored then).
    fn namespace_as_learned(&self, store: &Store, shape: &Shape) -> bool {
        match (self.namespace_kind, &shape.namespace_object) {
            (Some(k), Some(learned)) => store
                .blob(k, &shape.namespace)
                .is_some_and(|now| now == learned),
            _ => false,
        }
    }

    fn make_room(&mut self) {
        if self.shapes.len() >= MAX_SHAPES {
            self.shapes.clear();
        }
    }
}

/// How many values template `i` of a shape with `k` addresses takes (0: the Service).
fn template_slots(i: usize, k: usize) -> usize {
    if i == 0 {
        IP0 + k
    } else {
        IP0 + 1
    }
}

// (NAME, UID, TS and RV are the value order the templates share; named for readers.)
const _: [usize; 4] = [NAME, UID, TS, RV];
