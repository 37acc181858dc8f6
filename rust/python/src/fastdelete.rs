//! `ServiceFastDelete`: one call per common Service delete.
//!
//! The full path (`servicecidr.registry.service.delete`) reads the stored Service,
//! admits the delete, removes the Service, then releases each ClusterIP as the
//! allocator does: an IPAddress delete of its own for each address stored under its
//! canonical name that some allocator of its family contains. All of it in one
//! journal entry (verb `delete`, the Service's revision first, then each IPAddress's),
//! and the request answers with the Service as it was stored.
//!
//! This call does the same in Rust when nothing about the delete needs Python: the
//! engine turns it on only when no sink wants the entry as an object, writes are
//! accepted and the recorder is one the store stands in for (see
//! `Engine._refresh_fast`); here each call checks that no admission policy is bound
//! (then admission says nothing to any request) and that the stored Service goes at
//! once and names its addresses plainly (`servicecidr_fastpath::released_addresses`).
//! Whatever it cannot answer exactly — a missing Service, finalizers, a name or
//! namespace that is not text, an address that does not parse — it leaves alone
//! *before* changing anything (it returns None) and the full path runs, so every error
//! is the full path's own.

use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};
use servicecidr_codec::record::{RecordRef, WriteRef, OP_DELETE};
use servicecidr_core::Ip;
use servicecidr_fastpath::released_addresses;

use crate::pyvalue::{self, Strings};
use crate::store::{apply_error, reported_to_py, Reported, Store};
use crate::CidrAllocator;

/// The one-call Service delete (see the module doc).
#[pyclass(module = "servicecidr._core", name = "ServiceFastDelete")]
pub struct ServiceFastDelete {
    store: Py<Store>,
    service_kind: usize,
    address_kind: usize,
    binding_kind: Option<usize>,
    /// Every allocator of the MetaAllocator, ready or not (a release goes through any
    /// that contains the address).
    allocators: Vec<Py<CidrAllocator>>,
    /// `decode_object`: the Service as the delete returns it, from its stored bytes
    /// (for what `pyvalue::decode` leaves to Python).
    decode: Py<PyAny>,
    strings: Strings,
    /// None: the store's journal records each entry; Some(count): the store keeps no
    /// journal and `count(ts)` is told of each entry.
    count: Option<Py<PyAny>>,
    upkeep: Py<PyAny>,
    /// How many Services this path has deleted (what the differential tests look at to
    /// know it ran).
    deleted: u64,
}

impl ServiceFastDelete {
    /// Whether some allocator of the address's family contains it (`can_release`).
    fn can_release(&self, ip: Ip) -> bool {
        self.allocators.iter().any(|a| {
            let state = a.get().lock();
            state.family() == ip.family() && state.contains(ip)
        })
    }

    /// One delete; None when the full path must take it (nothing changed).
    fn delete_one<'py>(
        &mut self,
        name: &Bound<'py, PyAny>,
        namespace: &Bound<'py, PyAny>,
        actor: &Bound<'py, PyAny>,
        clock: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = name.py();
        // `namespace or "default"`, for text only; a str that is not UTF-8 (a lone
        // surrogate) names no stored object: the full path says so.
        let (Ok(name), Ok(actor)) = (
            name.cast_exact::<PyString>(),
            actor.cast_exact::<PyString>(),
        ) else {
            return Ok(None);
        };
        let (Ok(name_text), Ok(actor)) = (name.to_str(), actor.to_str()) else {
            return Ok(None);
        };
        let ns = if namespace.is_none() {
            "default"
        } else {
            let Ok(s) = namespace.cast_exact::<PyString>() else {
                return Ok(None);
            };
            match s.to_str() {
                Ok("") => "default",
                Ok(s) => s,
                Err(_) => return Ok(None),
            }
        };
        if name_text.is_empty() {
            return Ok(None);
        }
        let key = format!("{ns}/{name_text}");
        // What the delete writes, read while the store is borrowed: the Service's bytes,
        // then each released IPAddress's key and bytes (clones of the stored handles).
        let (service, addresses) = {
            let store = self.store.bind(py).borrow();
            if self.binding_kind.is_some_and(|k| store.count_of(k) > 0)
                || (self.count.is_none() && store.next_seq().is_none())
            {
                return Ok(None);
            }
            let Some(service) = store.blob(self.service_kind, &key).cloned() else {
                return Ok(None);
            };
            let bytes = service.bytes(&key);
            let Some(ips) = released_addresses(&bytes) else {
                return Ok(None);
            };
            let mut addresses: Vec<(String, Vec<u8>)> = Vec::with_capacity(ips.len());
            for text in ips {
                let Ok(ip) = Ip::parse(text) else {
                    return Ok(None);
                };
                let canonical = ip.to_string();
                // The full path would read the same IPAddress twice (and write its
                // delete twice): too odd to mirror.
                if addresses.iter().any(|(k, _)| *k == canonical) {
                    return Ok(None);
                }
                if let Some(stored) = store.blob(self.address_kind, &canonical) {
                    if self.can_release(ip) {
                        let blob = stored.bytes(&canonical).into_owned();
                        addresses.push((canonical, blob));
                    }
                }
            }
            (bytes.into_owned(), addresses)
        };
        let ts: f64 = clock.call_method0(intern!(py, "now"))?.extract()?;
        if !ts.is_finite() {
            return Ok(None);
        }
        // The answer first: nothing is changed if making it fails.
        let obj = match pyvalue::decode(py, &service, &mut self.strings)? {
            Some(obj) => obj,
            None => self.decode.bind(py).call1((PyBytes::new(py, &service),))?,
        };
        let mut store = self.store.bind(py).borrow_mut();
        let revision = store.current_revision();
        let mut writes: Vec<WriteRef<'_>> = Vec::with_capacity(1 + addresses.len());
        writes.push(WriteRef {
            op: OP_DELETE,
            kind: "Service",
            key: &key,
            rv: revision + 1,
            blob: Some(&service),
        });
        for (n, (ip, blob)) in addresses.iter().enumerate() {
            writes.push(WriteRef {
                op: OP_DELETE,
                kind: "IPAddress",
                key: ip,
                rv: revision + 2 + n as u64,
                blob: Some(blob),
            });
        }
        // Every blob is one the store holds (it passed the object rules when stored).
        let mut reported = Reported::default();
        let result = match &self.count {
            None => {
                let rec = RecordRef {
                    seq: store.next_seq().unwrap_or(1),
                    ts,
                    verb: "delete",
                    actor,
                    kind: "Service",
                    namespace: Some(ns),
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
            return Err(apply_error(py, &e));
        }
        // Recorded and applied: from here on the delete has happened.
        self.deleted += 1;
        if let Some(count) = &self.count {
            count.bind(py).call1((ts,))?;
        }
        if let Some(touched) = reported_to_py(py, reported)? {
            self.upkeep.bind(py).call1(touched)?;
        }
        Ok(Some(obj))
    }
}

#[pymethods]
impl ServiceFastDelete {
    /// A fast delete over `store` (which must hold Services and IPAddresses).
    /// `decode(blob)` is a stored object as a fresh dict; `upkeep(reshaped, node_ports)`
    /// is told what an apply reports (as the engine's upkeep).
    #[new]
    fn new(store: Bound<'_, Store>, decode: Py<PyAny>, upkeep: Py<PyAny>) -> PyResult<Self> {
        let (service_kind, address_kind, binding_kind) = {
            let s = store.borrow();
            let (Some(service), Some(address)) =
                (s.kind_index("Service"), s.kind_index("IPAddress"))
            else {
                return Err(PyRuntimeError::new_err(
                    "the store holds no Services or no IPAddresses",
                ));
            };
            (
                service,
                address,
                s.kind_index("ValidatingAdmissionPolicyBinding"),
            )
        };
        Ok(ServiceFastDelete {
            store: store.unbind(),
            service_kind,
            address_kind,
            binding_kind,
            allocators: Vec::new(),
            decode,
            strings: Strings::default(),
            count: None,
            upkeep,
            deleted: 0,
        })
    }

    /// The garbage collector's view of what this holds: `upkeep` is a bound method of
    /// the engine that holds this, so the two make a cycle only the collector can free.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.store)?;
        visit.call(&self.decode)?;
        visit.call(&self.upkeep)?;
        visit.call(&self.count)?;
        for allocator in &self.allocators {
            visit.call(allocator)?;
        }
        Ok(())
    }

    /// Drops what could hold the cycle (the engine clears the rest).
    fn __clear__(&mut self) {
        self.count = None;
        self.allocators.clear();
    }

    /// Every allocator of the MetaAllocator, ready or not (its `can_release` reads them
    /// all); set again whenever they change.
    fn set_allocators(&mut self, allocators: Vec<Py<CidrAllocator>>) {
        self.allocators = allocators;
    }

    /// How entries are recorded: None, in the store's journal; a callable, the store keeps
    /// none and `count(ts)` is told of each entry (a counting recorder).
    #[pyo3(signature = (count))]
    fn set_counting(&mut self, count: Option<Py<PyAny>>) {
        self.count = count;
    }

    /// Deletes the Service `namespace/name` (namespace None or "": `default`) when
    /// nothing about it is unusual: returns the Service as it was stored, or None with
    /// nothing changed (the full path must take it). The entry is made by `actor`, at
    /// `clock.now()`.
    #[pyo3(signature = (name, namespace, actor, clock))]
    fn delete<'py>(
        &mut self,
        name: &Bound<'py, PyAny>,
        namespace: &Bound<'py, PyAny>,
        actor: &Bound<'py, PyAny>,
        clock: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.delete_one(name, namespace, actor, clock)
    }

    /// `delete` of each `(kind, name, namespace)` of `keys[start:]` whose kind is
    /// `"Service"`, in order, appending each Service to `out`, until one must take the
    /// full path; returns its index (`len(keys)` when all were deleted).
    #[pyo3(signature = (keys, start, actor, clock, out))]
    fn delete_many<'py>(
        &mut self,
        keys: &Bound<'py, PyList>,
        start: usize,
        actor: &Bound<'py, PyAny>,
        clock: &Bound<'py, PyAny>,
        out: &Bound<'py, PyList>,
    ) -> PyResult<usize> {
        let mut i = start;
        while i < keys.len() {
            let item = keys.get_item(i)?;
            let Ok(key) = item.cast_exact::<PyTuple>() else {
                return Ok(i);
            };
            if key.len() != 3
                || !key
                    .get_item(0)?
                    .cast_exact::<PyString>()
                    .is_ok_and(|k| k.to_str().is_ok_and(|k| k == "Service"))
            {
                return Ok(i);
            }
            match self.delete_one(&key.get_item(1)?, &key.get_item(2)?, actor, clock)? {
                Some(o) => out.append(o)?,
                None => return Ok(i),
            }
            i += 1;
        }
        Ok(i)
    }

    /// How many Services this path has deleted.
    #[getter]
    fn deleted(&self) -> u64 {
        self.deleted
    }
}
