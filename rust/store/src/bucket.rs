//! One kind's objects by key: a hash table for everything that names one key, and the
//! key order, which only ranges need, kept lazily.
//!
//! A tree ordered by key pays a dozen string comparisons (each a pointer chase to a
//! shared key) on every get, put and delete; a million objects are mostly put and
//! deleted by key (creates, deletes, log replay) and listed far more rarely. So a put of
//! a new key only notes its slot, a delete only notes the freed one, and the first range
//! after them merges those notes into the sorted order (one pass over the order, a sort
//! of the new keys only) and keeps the result for the ranges that follow.
//!
//! Objects live in slots (a key, and the object while the key is live); the table maps
//! a key's hash to its slot. A freed slot keeps its key until the order has dropped it,
//! so it is reused only after a merge.

use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};

use hashbrown::{hash_table, DefaultHashBuilder, HashTable};

use crate::Stored;

/// Deletes since the last merge that force one (with at least a quarter of the live
/// objects), so freed slots are reused even when nothing ever ranges.
#[cfg(not(test))]
const MIN_FREED_TO_COMPACT: usize = 1024;
/// (small, so the tests' few keys reach it)
#[cfg(test)]
const MIN_FREED_TO_COMPACT: usize = 3;

/// The table's hash of a key from the 32 bits kept: hashbrown picks the bucket from the
/// low bits and a tag from the top seven, so both come from the kept bits.
fn spread(h: u32) -> u64 {
    u64::from(h) * 0x1_0000_0001
}

/// A key's first 16 bytes as a number (zeros past its end): where two keys' heads
/// differ, they order as the keys do.
fn head(key: &str) -> u128 {
    let mut b = [0u8; 16];
    let n = key.len().min(16);
    b[..n].copy_from_slice(&key.as_bytes()[..n]);
    u128::from_be_bytes(b)
}

struct Slot {
    key: Arc<str>,
    /// None: freed (the key stays until a merge drops it from the order).
    stored: Option<Stored>,
}

/// The objects of one kind.
#[derive(Default)]
pub(crate) struct Bucket {
    slots: Vec<Slot>,
    /// The slot of each live key and 32 bits of its hash, by that hash: growing the
    /// table then rehashes without reading a key (each one a miss or two in the cache).
    index: HashTable<(u32, u32)>,
    hasher: DefaultHashBuilder,
    /// Live slots in key order as of the last merge, and slots freed since.
    order: Vec<u32>,
    /// Slots given to new keys since the last merge (some may be freed already).
    added: Vec<u32>,
    /// Slots freed since the last merge: still in `order` or `added`.
    freed: Vec<u32>,
    /// Slots free for a new key: in neither `order` nor `added`.
    free: Vec<u32>,
    /// The merged order, when a range needed it since the last change of keys.
    merged: OnceLock<Vec<u32>>,
    len: usize,
}

impl Bucket {
    fn key(&self, slot: u32) -> &str {
        &self.slots[slot as usize].key
    }

    /// A key's hash as the table keeps it (see `index`).
    fn hash(&self, key: &str) -> u32 {
        (self.hasher.hash_one(key) >> 32) as u32
    }

    fn find(&self, key: &str) -> Option<u32> {
        let h = self.hash(key);
        self.index
            .find(spread(h), |&(s, t)| {
                t == h && *self.slots[s as usize].key == *key
            })
            .map(|&(s, _)| s)
    }

    /// A bucket of `items`, whose keys are in strictly ascending order (a snapshot's):
    /// the order is theirs, so nothing is sorted or merged.
    pub(crate) fn from_sorted(items: Vec<(Arc<str>, Stored)>) -> Bucket {
        let mut b = Bucket::default();
        b.index.reserve(items.len(), |&(_, t)| spread(t));
        b.slots.reserve_exact(items.len());
        b.order.reserve_exact(items.len());
        for (key, stored) in items {
            let h = b.hash(&key);
            let s = u32::try_from(b.slots.len()).expect("at most 2^32 objects of a kind");
            b.index
                .insert_unique(spread(h), (s, h), |&(_, t)| spread(t));
            b.slots.push(Slot {
                key,
                stored: Some(stored),
            });
            b.order.push(s);
        }
        b.len = b.slots.len();
        b
    }

    /// How many objects are stored.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The object under a key.
    pub(crate) fn get(&self, key: &str) -> Option<&Stored> {
        self.slots[self.find(key)? as usize].stored.as_ref()
    }

    /// Stores `stored` under `key`: returns the key as the bucket shares it and what the
    /// key held before.
    pub(crate) fn put(&mut self, key: &str, stored: Stored) -> (Arc<str>, Option<Stored>) {
        // A merge a range made is taken up now (it still holds), not inside the entry.
        self.settle();
        let h = self.hash(key);
        let slots = &mut self.slots;
        let entry = self.index.entry(
            spread(h),
            |&(s, t)| t == h && *slots[s as usize].key == *key,
            |&(_, t)| spread(t),
        );
        let vacant = match entry {
            hash_table::Entry::Occupied(e) => {
                // A replaced object keeps its slot and its key: the order is unchanged.
                let slot = &mut slots[e.get().0 as usize];
                return (Arc::clone(&slot.key), slot.stored.replace(stored));
            }
            hash_table::Entry::Vacant(e) => e,
        };
        let key: Arc<str> = Arc::from(key);
        let slot = Slot {
            key: Arc::clone(&key),
            stored: Some(stored),
        };
        let s = match self.free.pop() {
            Some(s) => {
                slots[s as usize] = slot;
                s
            }
            None => {
                let s = u32::try_from(slots.len()).expect("at most 2^32 objects of a kind");
                slots.push(slot);
                s
            }
        };
        vacant.insert((s, h));
        self.added.push(s);
        self.len += 1;
        (key, None)
    }

    /// Removes a key: returns it as the bucket shared it and the object it held.
    pub(crate) fn remove(&mut self, key: &str) -> Option<(Arc<str>, Stored)> {
        let h = self.hash(key);
        let slots = &self.slots;
        let entry = self
            .index
            .find_entry(spread(h), |&(s, t)| {
                t == h && *slots[s as usize].key == *key
            })
            .ok()?;
        let ((s, _), _) = entry.remove();
        self.settle();
        let slot = &mut self.slots[s as usize];
        let old = (slot.stored.take()).expect("the table holds live slots only");
        let key = Arc::clone(&slot.key);
        self.freed.push(s);
        self.len -= 1;
        if self.freed.len() >= MIN_FREED_TO_COMPACT.max(self.len / 4) {
            self.merged = OnceLock::from(self.merge());
            self.settle();
        }
        Some((key, old))
    }

    /// Live slots in key order.
    fn ordered(&self) -> &[u32] {
        if self.added.is_empty() && self.freed.is_empty() {
            return &self.order;
        }
        self.merged.get_or_init(|| self.merge())
    }

    /// The order with the slots freed since the last merge dropped and the keys added
    /// since sorted in.
    fn merge(&self) -> Vec<u32> {
        let mut freed = vec![0u64; self.slots.len().div_ceil(64)];
        for &s in &self.freed {
            freed[s as usize / 64] |= 1 << (s % 64);
        }
        let live = |s: &u32| freed[*s as usize / 64] & (1 << (s % 64)) == 0;
        // Sorted by their first bytes, read once, and by the whole key only where those
        // tie: most keys are told apart without a pointer chase.
        let mut added: Vec<(u128, u32)> = (self.added.iter().copied())
            .filter(live)
            .map(|s| (head(self.key(s)), s))
            .collect();
        // Live keys are distinct, so the order of equal keys never matters.
        added.sort_unstable_by(|a, b| {
            (a.0.cmp(&b.0)).then_with(|| self.key(a.1).cmp(self.key(b.1)))
        });
        let mut out = Vec::with_capacity(self.len);
        let mut rest = &self.order[..];
        for (_, s) in added {
            let key = self.key(s);
            // A freed slot keeps its key, so the order is still sorted through it.
            let at = rest.partition_point(|&o| self.key(o) < key);
            out.extend(rest[..at].iter().copied().filter(live));
            out.push(s);
            rest = &rest[at..];
        }
        out.extend(rest.iter().copied().filter(live));
        debug_assert_eq!(out.len(), self.len);
        out
    }

    /// Takes up a merge made for a range before a change of keys: the merged order
    /// replaces the notes, and the slots it dropped become free.
    fn settle(&mut self) {
        let Some(merged) = self.merged.take() else {
            return;
        };
        self.order = merged;
        self.added.clear();
        self.free.append(&mut self.freed);
    }

    /// Objects in key order: those whose key starts with `prefix`, after the key `after`
    /// when given.
    pub(crate) fn range<'s>(
        &'s self,
        prefix: &'s str,
        after: Option<&'s str>,
    ) -> impl Iterator<Item = (&'s str, &'s Stored)> + 's {
        let order = self.ordered();
        let start = match after {
            Some(a) if a >= prefix => order.partition_point(|&s| self.key(s) <= a),
            _ => order.partition_point(|&s| self.key(s) < prefix),
        };
        order[start..]
            .iter()
            .map(move |&s| {
                let slot = &self.slots[s as usize];
                (&*slot.key, slot.stored.as_ref())
            })
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter_map(|(k, v)| Some((k, v?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Put(String, u8),
        Delete(String),
        Range(String, Option<String>),
    }

    /// Keys over a small alphabet, so puts hit earlier keys and prefixes and continue
    /// points fall on, between and around them; half of them long enough that their
    /// first 16 bytes tie (see `head`), a NUL among the letters (the head's padding).
    fn key() -> impl Strategy<Value = String> {
        let letters = prop_oneof![Just('a'), Just('b'), Just('/'), Just('\0')];
        (any::<bool>(), proptest::collection::vec(letters, 0..4)).prop_map(|(long, cs)| {
            let start = if long { "default/servic" } else { "" };
            start.chars().chain(cs).collect()
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (key(), any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
            3 => key().prop_map(Op::Delete),
            2 => (key(), proptest::option::of(key())).prop_map(|(p, a)| Op::Range(p, a)),
        ]
    }

    fn obj(v: u8) -> Stored {
        Stored::raw(&[0x81, 0xa1, b'v', v & 0x7f])
    }

    /// What `Bucket::range` should give: the model's keys from the start point on,
    /// while they carry the prefix.
    fn model_range(
        m: &BTreeMap<String, u8>,
        prefix: &str,
        after: Option<&str>,
    ) -> Vec<(String, u8)> {
        use std::ops::Bound;
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_owned()),
            _ => Bound::Included(prefix.to_owned()),
        };
        m.range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    #[test]
    fn merges_keep_order_through_deletes_and_reused_slots() {
        let mut b = Bucket::default();
        for k in ["c", "a", "b", "d"] {
            b.put(k, obj(1));
        }
        let keys = |b: &Bucket| {
            b.range("", None)
                .map(|(k, _)| k.to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&b), ["a", "b", "c", "d"]);
        // A key deleted and put again before any range is listed once.
        b.remove("b").unwrap();
        b.put("b", obj(2));
        b.remove("a").unwrap();
        b.put("aa", obj(3));
        assert_eq!(keys(&b), ["aa", "b", "c", "d"]);
        for k in ["aa", "b", "c"] {
            b.remove(k).unwrap();
        }
        // Enough deletes merged without a range: their slots are reused.
        assert!(!b.free.is_empty() && b.freed.is_empty());
        let slots = b.slots.len();
        b.put("e", obj(4));
        assert_eq!(b.slots.len(), slots);
        assert_eq!(keys(&b), ["d", "e"]);
        assert_eq!(b.remove("x").map(|(k, _)| k), None);
        assert_eq!((b.len(), b.get("e"), b.get("b")), (2, Some(&obj(4)), None));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Any interleaving of puts, deletes and ranges (prefix, continue point) gives
        /// what an ordered map gives.
        #[test]
        fn agrees_with_an_ordered_map(ops in proptest::collection::vec(op(), 1..300)) {
            let mut b = Bucket::default();
            let mut m: BTreeMap<String, u8> = BTreeMap::new();
            for op in &ops {
                match op {
                    Op::Put(k, v) => {
                        let (key, old) = b.put(k, obj(*v));
                        prop_assert_eq!(&*key, k.as_str());
                        prop_assert_eq!(old, m.insert(k.clone(), *v).map(obj));
                    }
                    Op::Delete(k) => {
                        let got = b.remove(k);
                        let want = m.remove(k);
                        prop_assert_eq!(got.as_ref().map(|(key, _)| &**key), want.map(|_| k.as_str()));
                        prop_assert_eq!(got.map(|(_, o)| o), want.map(obj));
                    }
                    Op::Range(prefix, after) => {
                        let got: Vec<(String, Stored)> = b
                            .range(prefix, after.as_deref())
                            .map(|(k, v)| (k.to_owned(), v.clone()))
                            .collect();
                        let want: Vec<(String, Stored)> = model_range(&m, prefix, after.as_deref())
                            .into_iter()
                            .map(|(k, v)| (k, obj(v)))
                            .collect();
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(b.len(), m.len());
            }
            for (k, v) in &m {
                prop_assert_eq!(b.get(k), Some(&obj(*v)));
            }
            let all: Vec<String> = b.range("", None).map(|(k, _)| k.to_owned()).collect();
            prop_assert_eq!(all, m.keys().cloned().collect::<Vec<_>>());
        }
    }
}
