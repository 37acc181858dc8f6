//! How the store holds an object: its msgpack bytes, or, for the IPAddress objects of
//! the allocator's shape, their compact form ([`servicecidr_codec::ipaddress`]), about a
//! tenth of the size. Either way it reads back as the exact bytes that were written.

use std::borrow::Cow;
use std::sync::Arc;

use servicecidr_codec::ipaddress;

/// A stored object, shared between the store, its change feed and its journal.
///
/// The bytes it was made from come back from [`Stored::bytes`] given the key it is
/// stored under (a compact IPAddress does not keep its name: the key is the name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored(Arc<[u8]>);

impl Stored {
    /// An object's bytes held as they are.
    pub fn raw(bytes: &[u8]) -> Stored {
        Stored(Arc::from(bytes))
    }

    /// An object of a compactable kind (IPAddress): compact when it has the
    /// allocator's shape, else as it is. `compacted` tells which, for callers that
    /// skip the object rules when the shape (which keeps them) was recognised.
    pub fn new_compacting(key: &str, bytes: &[u8]) -> (Stored, bool) {
        match ipaddress::compact(key, bytes) {
            Some(c) => (Stored(Arc::from(c)), true),
            None => (Stored::raw(bytes), false),
        }
    }

    /// Whether this is a compact form.
    pub fn is_compact(&self) -> bool {
        // Objects held as they are start with a map header (the object rules).
        ipaddress::is_compact(&self.0)
    }

    /// The object's bytes, as written (`key`: the key it is stored under).
    pub fn bytes(&self, key: &str) -> Cow<'_, [u8]> {
        if self.is_compact() {
            let mut out = Vec::new();
            if ipaddress::rebuild(key, &self.0, &mut out) {
                return Cow::Owned(out);
            }
        }
        Cow::Borrowed(&self.0)
    }

    /// Appends the object's bytes to `out`.
    pub fn write_to(&self, key: &str, out: &mut Vec<u8>) {
        if !(self.is_compact() && ipaddress::rebuild(key, &self.0, out)) {
            out.extend_from_slice(&self.0);
        }
    }

    /// The length of the object's bytes.
    pub fn len(&self, key: &str) -> usize {
        match self.is_compact() {
            true => match ipaddress::rebuilt_len(key, &self.0) {
                0 => self.0.len(),
                n => n,
            },
            false => self.0.len(),
        }
    }

    /// Whether the object is empty (never, for an object the store took).
    pub fn is_empty(&self, key: &str) -> bool {
        self.len(key) == 0
    }

    /// The bytes held, when the object is held as it is (None: compact).
    pub fn as_raw(&self) -> Option<&[u8]> {
        (!self.is_compact()).then_some(&self.0)
    }

    /// Whether both hold the same object (under the same key).
    pub fn same(&self, other: &Stored) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }

    /// Whether both share one allocation.
    pub fn ptr_eq(&self, other: &Stored) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Bytes of memory it holds (its allocation's payload, not the allocator's rounding).
    pub fn held(&self) -> usize {
        self.0.len()
    }
}
