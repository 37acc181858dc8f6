//! The bytes servicecidr writes, defined once.
//!
//! * [`msgpack`]: msgpack exactly as msgpack-python's `packb(..., use_bin_type=True)`
//!   writes it, a reader for it, and the check that a stored object decodes as JSON
//!   would carry it.
//! * [`record`]: the event log's record layout (schema [`record::SCHEMA_VERSION`]): the
//!   one encoder and the one decoder, used by the batch encoder, replay and Python.
//! * [`frame`]: the length and CRC32C around each record.
//! * [`ipaddress`]: the compact form of the IPAddress objects the allocator writes,
//!   rebuilt byte for byte.
//!
//! Pure Rust, no Python: the extension crate only translates.

// One audited exception (Reader::str's ASCII fast path), allowed where it stands.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod frame;
pub mod ipaddress;
pub mod msgpack;
pub mod record;
