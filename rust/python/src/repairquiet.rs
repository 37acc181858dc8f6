//! `repair_quiet_run`: the repair loop's quiet pass over stored bytes.
//!
//! A repair pass (`servicecidr.controllers.repair`) checks each key in order, and a
//! check may write (a repair), which can change what the next key's check finds. So
//! the Python loop asks, from where it is: how many of the next keys would its checks
//! certainly leave alone, reading the store as it is now (`servicecidr_fastpath`'s
//! `service_is_quiet` / `address_is_quiet`)? It skips those (their bookkeeping only),
//! runs its own check on the first that is not quiet, and asks again after it.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use servicecidr_core::{Cidr, Family, Ip};
use servicecidr_fastpath::{address_is_quiet, service_is_quiet};

use crate::store::Store;

/// The index of the first key of `keys[start:]` (Service keys when `kind` is
/// `"Service"`, IPAddress names when it is `"IPAddress"`) whose repair check is not
/// certainly a no-op in `store` as it is now, or `len(keys)` when all are. A key with
/// no stored object is quiet (the pass skips it). `ranges` are the usable ServiceCIDR
/// ranges as (IP version, network address as int, prefix length).
#[pyfunction]
#[pyo3(signature = (store, kind, keys, start, ranges))]
pub fn repair_quiet_run(
    store: &Bound<'_, Store>,
    kind: &str,
    keys: &Bound<'_, PyList>,
    start: usize,
    ranges: Vec<(u8, u128, u8)>,
) -> PyResult<usize> {
    let ranges = ranges
        .into_iter()
        .map(|(version, network, len)| {
            let family = match version {
                4 => Family::V4,
                6 => Family::V6,
                _ => return None,
            };
            Cidr::new(Ip::new(family, network), len)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| PyValueError::new_err("a range is not a prefix"))?;
    let store = store.borrow();
    let (Some(service_kind), Some(address_kind)) =
        (store.kind_index("Service"), store.kind_index("IPAddress"))
    else {
        return Err(PyValueError::new_err(
            "the store holds no Services or no IPAddresses",
        ));
    };
    let services = kind == "Service";
    if !services && kind != "IPAddress" {
        return Err(PyValueError::new_err(format!(
            "the repair loop checks Services and IPAddresses, not {kind:?}"
        )));
    }
    let address = |key: &str| store.blob(address_kind, key).map(|s| s.bytes(key));
    let service = |key: &str| store.blob(service_kind, key).map(|s| s.bytes(key));
    let mut i = start;
    while i < keys.len() {
        let item = keys.get_item(i)?;
        let Ok(key) = item.cast_exact::<PyString>() else {
            return Ok(i);
        };
        let Ok(key) = key.to_str() else {
            return Ok(i);
        };
        let quiet = if services {
            service(key).is_none_or(|blob| service_is_quiet(&blob, &ranges, address))
        } else {
            address(key).is_none_or(|blob| address_is_quiet(&blob, service))
        };
        if !quiet {
            return Ok(i);
        }
        i += 1;
    }
    Ok(i)
}
