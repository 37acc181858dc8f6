//! `servicecidr._core`: the Python face of `servicecidr-core`.
//!
//! Translation only: Python strings in, parsed by the core; core results out, as
//! Python strings and ints; core errors out, as the exception classes of
//! `servicecidr.errors` (imported once, never defined here). The allocation state sits
//! behind a mutex that is held only while pure Rust runs, never while Python code can
//! run (iterating an argument, building result objects), so the object is safe to
//! share between threads and re-entrant calls cannot deadlock.

mod admission;
mod audit;
mod buffers;
mod errors;
mod fastcreate;
mod fastdelete;
mod fxhash;
mod ints;
mod pyvalue;
mod records;
mod repairquiet;
mod rng;
mod storable;
mod store;

use std::borrow::Cow;
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList, PyString, PyTuple, PyType};
use servicecidr_core::{Allocator, Error, Family, Ip, MAX_IP_TEXT_LEN};

use crate::errors::{invalid_input, Class};

/// Builds the Python exception for a core error.
fn to_pyerr(py: Python<'_>, err: &Error) -> PyErr {
    match err {
        Error::RangeFull => Class::RangeFull.new_err(py, &[]),
        Error::AlreadyAllocated { ip } => {
            match Class::AlreadyAllocated.instance(py, &[]) {
                Ok(value) => {
                    // Kubernetes' message does not say which address; batch callers need it.
                    if let Err(e) = value.setattr("ip", ip.to_string()) {
                        return e;
                    }
                    PyErr::from_value(value)
                }
                Err(e) => e,
            }
        }
        Error::NotInRange { ip, range } => {
            Class::NotInRange.new_err(py, &[&ip.to_string(), &range.to_string()])
        }
        _ => invalid_input(py, &err.to_string()),
    }
}

pub(crate) fn invalid_input_err(py: Python<'_>, message: &str) -> PyErr {
    invalid_input(py, message)
}

/// The canonical text of `ip` as a Python str.
fn ip_to_py(py: Python<'_>, ip: Ip) -> Bound<'_, PyString> {
    let mut buf = [0u8; MAX_IP_TEXT_LEN];
    PyString::new(py, ip.format_into(&mut buf))
}

/// A new list of the addresses' texts.
fn ips_to_list<'py>(py: Python<'py>, ips: &[Ip]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, ips.iter().map(|&ip| ip_to_py(py, ip)))
}

fn parse_ip_text(py: Python<'_>, text: &str) -> PyResult<Ip> {
    Error::parse_ip(text).map_err(|e| to_pyerr(py, &e))
}

/// The text of an address or range argument. A str that no UTF-8 can hold (a lone
/// surrogate) is read with U+FFFD in its place, as Go's JSON decoder reads one, so the
/// core's parse error names it; anything but a str is an InvalidInputError too.
fn text_arg<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, str>> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(s.to_string_lossy()),
        Err(_) => {
            let type_name = obj
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string());
            Err(invalid_input_err(
                obj.py(),
                &format!("{what} must be a string, not {type_name}"),
            ))
        }
    }
}

fn parse_ip_item(item: &Bound<'_, PyAny>) -> PyResult<Ip> {
    // Hot path of every batch: no error values are built unless something is wrong.
    if let Ok(s) = item.cast::<PyString>() {
        if let Ok(Ok(ip)) = s.to_str().map(Ip::parse) {
            return Ok(ip);
        }
    }
    parse_ip_item_slow(item)
}

#[cold]
fn parse_ip_item_slow(item: &Bound<'_, PyAny>) -> PyResult<Ip> {
    let py = item.py();
    let s = item.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected an IP address as str, got {}",
            item.get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string())
        ))
    })?;
    parse_ip_text(py, &s.to_string_lossy())
}

/// Parses every address of an iterable before anything is changed, so that a bad
/// element leaves the allocator untouched and no Python code runs under the lock.
fn parse_ip_iterable(ips: &Bound<'_, PyAny>) -> PyResult<Vec<Ip>> {
    if ips.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "expected an iterable of IP address strings, got a single str",
        ));
    }
    if let Ok(list) = ips.cast::<PyList>() {
        let mut out = Vec::with_capacity(list.len());
        for item in list.iter() {
            out.push(parse_ip_item(&item)?);
        }
        return Ok(out);
    }
    if let Ok(tuple) = ips.cast::<PyTuple>() {
        let mut out = Vec::with_capacity(tuple.len());
        for item in tuple.iter() {
            out.push(parse_ip_item(&item)?);
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for item in ips.try_iter()? {
        out.push(parse_ip_item(&item?)?);
    }
    Ok(out)
}

/// Seeds are reduced modulo 2^64, so any Python int (negative or huge) is accepted.
fn seed_from(seed: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    let Some(obj) = seed else {
        return Ok(None);
    };
    let int = obj
        .cast::<PyInt>()
        .map_err(|_| PyTypeError::new_err("seed must be an int or None"))?;
    Ok(Some(int.bitand(u64::MAX)?.extract::<u64>()?))
}

/// The most addresses one `allocate_next_many` call returns (2^24, a whole /8: about a
/// gigabyte of Python strings).
const MAX_BATCH: u64 = 1 << 24;

/// The allocation state of one Service CIDR, as kube-apiserver's ipallocator keeps it.
#[pyclass(frozen, module = "servicecidr._core", name = "CidrAllocator")]
struct CidrAllocator {
    state: Mutex<Allocator>,
    // Immutable facts, readable without the lock.
    cidr: String,
    family: Family,
    size: u64,
    offset: u64,
}

impl CidrAllocator {
    fn wrap(a: Allocator) -> Self {
        CidrAllocator {
            cidr: a.cidr().to_string(),
            family: a.family(),
            size: a.size(),
            offset: a.range_offset(),
            state: Mutex::new(a),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Allocator> {
        // The core never panics while holding the lock, so a poisoned state is intact.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The core's `allocate_next_many` behind the checks of the batch size, shared by
    /// the text and the integer forms of the call.
    fn next_many(&self, py: Python<'_>, n: i128) -> PyResult<Vec<Ip>> {
        if n < 0 {
            return Err(invalid_input_err(
                py,
                &format!("the number of addresses must not be negative, got {n}"),
            ));
        }
        let n = match u64::try_from(n) {
            Ok(n) => n,
            Err(_) => return Err(to_pyerr(py, &Error::RangeFull)),
        };
        if n > MAX_BATCH {
            // Refused before the core reserves room for them: more than this cannot be
            // returned as one list (about 70 bytes each), however many are free.
            if n > self.lock().free() {
                return Err(to_pyerr(py, &Error::RangeFull));
            }
            return Err(invalid_input_err(
                py,
                &format!(
                    "cannot allocate {n} addresses in one call: at most {MAX_BATCH} per call \
                     (call again for more)"
                ),
            ));
        }
        let result = self.lock().allocate_next_many(n);
        result.map_err(|e| to_pyerr(py, &e))
    }
}

#[pymethods]
impl CidrAllocator {
    #[new]
    #[pyo3(signature = (cidr, *, seed = None))]
    fn new(
        py: Python<'_>,
        cidr: &Bound<'_, PyAny>,
        seed: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let cidr = text_arg(cidr, "a CIDR")?;
        let seed = seed_from(seed)?;
        Allocator::new(&cidr, seed)
            .map(CidrAllocator::wrap)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Reserves `ip`; raises NotInRangeError or AlreadyAllocatedError.
    fn allocate(&self, py: Python<'_>, ip: &Bound<'_, PyAny>) -> PyResult<()> {
        let ip = parse_ip_text(py, &text_arg(ip, "an IP address")?)?;
        let result = self.lock().allocate(ip);
        result.map_err(|e| to_pyerr(py, &e))
    }

    /// Reserves a free address (upper band first) and returns it; raises RangeFullError.
    fn allocate_next<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        let result = self.lock().allocate_next();
        let ip = result.map_err(|e| to_pyerr(py, &e))?;
        Ok(ip_to_py(py, ip))
    }

    /// Frees `ip`; returns whether it was allocated (free or foreign: no-op, False).
    fn release(&self, py: Python<'_>, ip: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ip = parse_ip_text(py, &text_arg(ip, "an IP address")?)?;
        Ok(self.lock().release(ip))
    }

    /// Restarts the random sequence of `allocate_next` from `seed` (any int, mod 2^64).
    fn reseed(&self, seed: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Some(seed) = seed_from(Some(seed))? {
            self.lock().reseed(seed);
        }
        Ok(())
    }

    /// Reserves `ip` when it is a free usable address; returns whether it did. Never
    /// raises: a taken, foreign or malformed address is simply not marked.
    fn mark(&self, ip: &Bound<'_, PyAny>) -> bool {
        let Ok(text) = ip.cast::<PyString>().map(|s| s.to_string_lossy()) else {
            return false;
        };
        Ip::parse(&text).is_ok_and(|ip| self.lock().mark(ip))
    }

    /// Frees `ip` when it is allocated; returns whether it did. Never raises.
    fn unmark(&self, ip: &Bound<'_, PyAny>) -> bool {
        let Ok(text) = ip.cast::<PyString>().map(|s| s.to_string_lossy()) else {
            return false;
        };
        Ip::parse(&text).is_ok_and(|ip| self.lock().release(ip))
    }

    /// Whether `ip` is allocated.
    fn has(&self, py: Python<'_>, ip: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ip = parse_ip_text(py, &text_arg(ip, "an IP address")?)?;
        Ok(self.lock().has(ip))
    }

    /// Whether `ip` is one of the range's usable addresses.
    fn contains(&self, py: Python<'_>, ip: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ip = parse_ip_text(py, &text_arg(ip, "an IP address")?)?;
        Ok(self.lock().contains(ip))
    }

    /// Reserves all of `ips` or none of them.
    fn allocate_many(&self, py: Python<'_>, ips: &Bound<'_, PyAny>) -> PyResult<()> {
        let ips = parse_ip_iterable(ips)?;
        let result = self.lock().allocate_many(&ips);
        result.map_err(|(index, e)| {
            let err = to_pyerr(py, &e);
            let note = format!("item {index} of the batch: {}", ips[index]);
            // A note is a nicety; failing to attach one must not hide the error.
            let _ = err.value(py).call_method1("add_note", (note,));
            err
        })
    }

    /// Reserves `n` addresses, exactly as `n` calls of allocate_next would, or none.
    fn allocate_next_many<'py>(&self, py: Python<'py>, n: i128) -> PyResult<Bound<'py, PyList>> {
        let ips = self.next_many(py, n)?;
        ips_to_list(py, &ips)
    }

    /// Frees every address of `ips`; returns how many were allocated.
    fn release_many(&self, ips: &Bound<'_, PyAny>) -> PyResult<u64> {
        let ips = parse_ip_iterable(ips)?;
        let freed = self.lock().release_many(&ips);
        Ok(freed)
    }

    /// [`allocate_many`] of addresses given as integers (their values in the range's
    /// family, as `int(ipaddress.ip_address(text))`) or a buffer of them.
    fn allocate_many_int(&self, py: Python<'_>, ips: &Bound<'_, PyAny>) -> PyResult<()> {
        let ips = ints::parse(self.family, ips)?;
        let result = self.lock().allocate_many(&ips);
        result.map_err(|(index, e)| {
            let err = to_pyerr(py, &e);
            let note = format!("item {index} of the batch: {}", ips[index].value());
            // A note is a nicety; failing to attach one must not hide the error.
            let _ = err.value(py).call_method1("add_note", (note,));
            err
        })
    }

    /// [`allocate_next_many`] returning the addresses as integers.
    fn allocate_next_many_int<'py>(
        &self,
        py: Python<'py>,
        n: i128,
    ) -> PyResult<Bound<'py, PyList>> {
        let ips = self.next_many(py, n)?;
        ints::to_list(py, &ips)
    }

    /// [`allocate_next_many`] writing the addresses as integers into `out`, a writable
    /// buffer of unsigned 64-bit (or, for IPv4, 32-bit) items, one per item: no Python
    /// object per address at all. IPv6 addresses do not fit and are refused.
    fn allocate_next_many_into(&self, py: Python<'_>, out: &Bound<'_, PyAny>) -> PyResult<()> {
        ints::fill(py, self.family, out, |n| self.next_many(py, i128::from(n)))
    }

    /// [`release_many`] of addresses given as integers or a buffer of them.
    fn release_many_int(&self, ips: &Bound<'_, PyAny>) -> PyResult<u64> {
        let ips = ints::parse(self.family, ips)?;
        let freed = self.lock().release_many(&ips);
        Ok(freed)
    }

    /// Number of free usable addresses.
    #[getter]
    fn free(&self) -> u64 {
        self.lock().free()
    }

    /// Number of allocated addresses.
    #[getter]
    fn used(&self) -> u64 {
        self.lock().used()
    }

    /// Number of usable addresses.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// The range in canonical form.
    #[getter]
    fn cidr(&self) -> &str {
        &self.cidr
    }

    /// "IPv4" or "IPv6".
    #[getter]
    fn ip_family(&self) -> &'static str {
        self.family.as_str()
    }

    /// The KEP-3070 offset: size of the lower (static) band.
    #[getter]
    fn range_offset(&self) -> u64 {
        self.offset
    }

    fn __len__(&self) -> usize {
        // More than usize::MAX allocations cannot exist in memory.
        usize::try_from(self.lock().used()).unwrap_or(usize::MAX)
    }

    fn __contains__(&self, ip: &Bound<'_, PyAny>) -> bool {
        // `in` answers a question and never raises: anything that is not an address
        // string naming an allocated address is simply not in the set.
        let Ok(s) = ip.cast::<PyString>() else {
            return false;
        };
        let Ok(text) = s.to_str() else {
            return false;
        };
        match Ip::parse(text) {
            Ok(ip) => self.lock().has(ip),
            Err(_) => false,
        }
    }

    fn __iter__(&self) -> AllocatedIterator {
        let (first, indices) = {
            let a = self.lock();
            (a.address_at(0), a.allocated_indices())
        };
        AllocatedIterator {
            first: first.unwrap_or_else(|| Ip::new(self.family, 0)),
            indices: indices.into_iter(),
        }
    }

    fn __repr__(&self) -> String {
        let (used, free) = {
            let a = self.lock();
            (a.used(), a.free())
        };
        format!(
            "<CidrAllocator {} used={used} free={free} size={}>",
            self.cidr, self.size
        )
    }

    /// Versioned, checksummed bytes of the whole state, random generator included.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let data = self.lock().snapshot();
        PyBytes::new(py, &data)
    }

    /// Rebuilds an allocator from `snapshot()` bytes taken of the range `cidr`.
    #[classmethod]
    fn restore(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        cidr: &Bound<'_, PyAny>,
        data: &[u8],
    ) -> PyResult<Self> {
        Allocator::restore(&text_arg(cidr, "a CIDR")?, data)
            .map(CidrAllocator::wrap)
            .map_err(|e| to_pyerr(py, &e))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let restore = slf.get_type().getattr("restore")?;
        let this = slf.get();
        let data = this.snapshot(py);
        let args = PyTuple::new(
            py,
            [PyString::new(py, &this.cidr).into_any(), data.into_any()],
        )?;
        PyTuple::new(py, [restore, args.into_any()])
    }
}

/// Iterator over the addresses allocated when iteration began, in address order.
#[pyclass(module = "servicecidr._core", name = "AllocatedIterator")]
struct AllocatedIterator {
    first: Ip,
    indices: std::vec::IntoIter<u64>,
}

#[pymethods]
impl AllocatedIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        let Some(index) = self.indices.next() else {
            return Ok(None);
        };
        let ip = Ip::new(self.first.family(), self.first.value() + u128::from(index));
        Ok(Some(ip_to_py(py, ip)))
    }

    fn __length_hint__(&self) -> usize {
        self.indices.len()
    }
}

/// Parses an IP address strictly; returns (canonical text, "IPv4" | "IPv6").
#[pyfunction]
fn parse_ip(py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<(String, &'static str)> {
    let ip = parse_ip_text(py, &text_arg(text, "an IP address")?)?;
    Ok((ip.to_string(), ip.family().as_str()))
}

/// Parses a CIDR strictly; returns (canonical text, "IPv4" | "IPv6").
#[pyfunction]
fn parse_cidr(py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<(String, &'static str)> {
    let cidr = Error::parse_cidr(&text_arg(text, "a CIDR")?).map_err(|e| to_pyerr(py, &e))?;
    Ok((cidr.to_string(), cidr.family().as_str()))
}

/// Service IP range allocation, the Rust core of servicecidr.
#[pymodule]
mod _core {
    #[pymodule_export]
    use super::admission::{cel_eval, AdmissionInput, CompiledPolicy};
    #[pymodule_export]
    use super::audit::AuditLineReader;
    #[pymodule_export]
    use super::fastcreate::ServiceFastPath;
    #[pymodule_export]
    use super::fastdelete::ServiceFastDelete;
    #[pymodule_export]
    use super::records::{
        crc32c_of, decode_record, encode_record, frame_entries, record_schema_version,
    };
    #[pymodule_export]
    use super::repairquiet::repair_quiet_run;
    #[pymodule_export]
    use super::rng::MersenneTwister;
    #[pymodule_export]
    use super::storable::json_bound;
    #[pymodule_export]
    use super::store::{load_snapshot_store, replay_into, ReplayProgress, Store};
    #[pymodule_export]
    use super::{parse_cidr, parse_ip, AllocatedIterator, CidrAllocator};

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        // The deepest nesting the store (and so the log) takes; the write side's bound
        // (`servicecidr.api.storable.MAX_DEPTH`) must match it, which a test checks.
        m.add("MAX_OBJECT_DEPTH", servicecidr_codec::msgpack::MAX_DEPTH)
    }
}
