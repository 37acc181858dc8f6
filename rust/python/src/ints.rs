//! Addresses as integers: the batch calls' second form (`*_int`, `*_into`).
//!
//! Text costs about half of a batched call (parsing each str, making each new one); an
//! address's value is what the core holds anyway. A value is read in the allocator's
//! family (`int(ipaddress.ip_address(text))` of an address of that family), from a list
//! or tuple of ints, any iterable of them, or a buffer of unsigned 32- or 64-bit items
//! (`array('I')`, `array('Q')`, a memoryview, numpy), which makes no Python object per
//! address at all.

use pyo3::buffer::{ElementType, PyBuffer, PyUntypedBuffer};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyString, PyTuple};
use servicecidr_core::{Family, Ip};

use crate::invalid_input_err;

/// The largest value of an address of the family.
fn max_value(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

fn ip_of(py: Python<'_>, family: Family, value: u128) -> PyResult<Ip> {
    if value > max_value(family) {
        return Err(not_an_address(py, family, &value.to_string()));
    }
    Ok(Ip::new(family, value))
}

#[cold]
fn not_an_address(py: Python<'_>, family: Family, value: &str) -> PyErr {
    invalid_input_err(
        py,
        &format!(
            "{value} is not the value of an {} address (0 to 2^{} - 1)",
            family.as_str(),
            family.bits()
        ),
    )
}

fn item(family: Family, item: &Bound<'_, PyAny>) -> PyResult<Ip> {
    // Hot path: a small int fits u64 (PyLong_AsUnsignedLongLong, no error object). Only
    // an exact int: a subclass may be a bool.
    if let Ok(int) = item.cast_exact::<PyInt>() {
        if let Ok(v) = int.extract::<u64>() {
            return ip_of(item.py(), family, u128::from(v));
        }
    }
    item_slow(family, item)
}

#[cold]
fn item_slow(family: Family, item: &Bound<'_, PyAny>) -> PyResult<Ip> {
    let py = item.py();
    // bool is an int to Python, but never an address.
    if item.is_instance_of::<pyo3::types::PyBool>() || !item.is_instance_of::<PyInt>() {
        let name = item
            .get_type()
            .name()
            .map_or_else(|_| "?".to_owned(), |n| n.to_string());
        return Err(PyTypeError::new_err(format!(
            "expected an IP address as int, got {name}"
        )));
    }
    match item.extract::<u128>() {
        Ok(v) => ip_of(py, family, v),
        Err(_) => Err(not_an_address(py, family, &item.str()?.to_string_lossy())),
    }
}

/// The unsigned integer items of a buffer, when `obj` exports one of 32- or 64-bit
/// unsigned items; None when it exports no buffer or another item type.
fn buffer_values(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u64>>> {
    let Ok(buf) = PyUntypedBuffer::get(obj) else {
        return Ok(None);
    };
    let format = ElementType::from_format(buf.format());
    if buf.item_count() == 0 && matches!(format, ElementType::UnsignedInteger { bytes: 4 | 8 }) {
        // (an empty buffer's pointer need not be aligned for its items)
        return Ok(Some(Vec::new()));
    }
    Ok(match format {
        ElementType::UnsignedInteger { bytes: 8 } => Some(buf.into_typed::<u64>()?.to_vec(py)?),
        ElementType::UnsignedInteger { bytes: 4 } => Some(
            buf.into_typed::<u32>()?
                .to_vec(py)?
                .into_iter()
                .map(u64::from)
                .collect(),
        ),
        _ => None,
    })
}

/// Every address of `ips` (ints of the family, or a buffer of them), read before
/// anything is changed, so that a bad item leaves the allocator untouched.
pub(crate) fn parse(family: Family, ips: &Bound<'_, PyAny>) -> PyResult<Vec<Ip>> {
    let py = ips.py();
    if let Ok(list) = ips.cast::<PyList>() {
        return list.iter().map(|i| item(family, &i)).collect();
    }
    if let Ok(tuple) = ips.cast::<PyTuple>() {
        return tuple.iter().map(|i| item(family, &i)).collect();
    }
    if ips.is_instance_of::<PyString>() || ips.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(
            "expected an iterable of IP addresses as ints, got a single value",
        ));
    }
    if let Some(values) = buffer_values(py, ips)? {
        return values
            .into_iter()
            .map(|v| ip_of(py, family, u128::from(v)))
            .collect();
    }
    let mut out = Vec::new();
    for i in ips.try_iter()? {
        out.push(item(family, &i?)?);
    }
    Ok(out)
}

/// A new list of the addresses' values.
pub(crate) fn to_list<'py>(py: Python<'py>, ips: &[Ip]) -> PyResult<Bound<'py, PyList>> {
    match ips.first().map(|ip| ip.family()) {
        // An IPv4 value is a u32: the cheapest int Python makes.
        Some(Family::V4) => PyList::new(py, ips.iter().map(|ip| ip.value() as u32)),
        _ => PyList::new(py, ips.iter().map(|ip| ip.value())),
    }
}

/// Fills `out` (a writable buffer of unsigned 32- or 64-bit items) with as many
/// addresses as it has items, reserved by `allocate(n)`. Everything about `out` is
/// checked before anything is reserved; IPv6 values do not fit and are refused.
pub(crate) fn fill(
    py: Python<'_>,
    family: Family,
    out: &Bound<'_, PyAny>,
    allocate: impl FnOnce(u64) -> PyResult<Vec<Ip>>,
) -> PyResult<()> {
    let wrong = || {
        PyTypeError::new_err(
            "expected a writable C-contiguous buffer of unsigned 32- or 64-bit integers",
        )
    };
    if family != Family::V4 {
        return Err(invalid_input_err(
            py,
            "IPv6 addresses do not fit a buffer of 64-bit integers: use allocate_next_many_int",
        ));
    }
    let buf = PyUntypedBuffer::get(out).map_err(|_| wrong())?;
    if buf.readonly() || !buf.is_c_contiguous() {
        return Err(wrong());
    }
    let format = ElementType::from_format(buf.format());
    if buf.item_count() == 0 && matches!(format, ElementType::UnsignedInteger { bytes: 4 | 8 }) {
        // (an empty buffer's pointer need not be aligned for its items)
        allocate(0)?;
        return Ok(());
    }
    match format {
        ElementType::UnsignedInteger { bytes: 8 } => {
            let buf: PyBuffer<u64> = buf.into_typed()?;
            let ips = allocate(buf.item_count() as u64)?;
            let values: Vec<u64> = ips.iter().map(|ip| ip.value() as u64).collect();
            buf.copy_from_slice(py, &values)
        }
        ElementType::UnsignedInteger { bytes: 4 } => {
            let buf: PyBuffer<u32> = buf.into_typed()?;
            let ips = allocate(buf.item_count() as u64)?;
            let values: Vec<u32> = ips.iter().map(|ip| ip.value() as u32).collect();
            buf.copy_from_slice(py, &values)
        }
        _ => Err(wrong()),
    }
}
