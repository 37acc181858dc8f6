//! Bulk loading: a snapshot's objects into a store, as [`Store::apply`] of their puts
//! would leave it, without the work only a live change needs.
//!
//! A snapshot holds each kind's objects in key order (it was written from a
//! [`Store::range`]), so a kind's bucket is built in one pass from the sorted objects
//! instead of one hashed insert per object. Its objects are history no watcher
//! saw, so none of them goes through the change feed: the feed is forgotten, as
//! [`Store::truncate_feed`] does after a snapshot is loaded. Each object is made and
//! checked as [`Store::check`] does it (the same compaction, the same object rules) and
//! the observer is told of each, in order, as `apply` tells it: a differential test
//! below binds the two.

use std::sync::Arc;

use crate::bucket::Bucket;
use crate::{ApplyError, Observer, Store, Stored};

impl Store {
    /// Puts `objects` (key, msgpack bytes) of the kind with index `kind`, in order, as
    /// [`Store::apply`] of puts with revision 0 would, then forgets the feed
    /// ([`Store::truncate_feed`]): the store, the revision and what `observer` is told are
    /// those of that apply followed by `truncate_feed`.
    ///
    /// Objects in strictly ascending key order into an empty bucket (a snapshot's) are
    /// loaded in one pass; any others are put one by one. An error ([`ApplyError::BadObject`]
    /// with the object's index in `objects`, or [`ApplyError::UnknownKind`]) may leave
    /// some of the objects loaded: unlike `apply`, the store is then to be thrown away.
    pub fn load<'a>(
        &mut self,
        kind: usize,
        objects: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        observer: &mut impl Observer,
    ) -> Result<(), ApplyError> {
        let Some(kind_name) = self.kinds.get(kind).cloned() else {
            return Err(ApplyError::UnknownKind(format!("#{kind}")));
        };
        let objects = objects.into_iter();
        let mut items: Vec<(Arc<str>, Stored)> = Vec::with_capacity(objects.size_hint().0);
        // (compared as given: the keys' copies are scattered over the heap)
        let mut sorted = self.buckets[kind].len() == 0;
        let mut last: Option<&str> = None;
        for (index, (key, blob)) in objects.enumerate() {
            let stored = self
                .stored_form(kind, &kind_name, key, blob, true)
                .map_err(|why| ApplyError::BadObject {
                    index,
                    kind: kind_name.clone(),
                    key: key.to_owned(),
                    why,
                })?;
            sorted = sorted && last.is_none_or(|l| l < key);
            last = Some(key);
            items.push((Arc::from(key), stored));
        }
        let bucket = &mut self.buckets[kind];
        if sorted {
            for (key, stored) in &items {
                observer.changed(kind, key, None, Some(stored));
            }
            // (sorted already: the bucket takes their order as it is)
            *bucket = Bucket::from_sorted(items);
        } else {
            for (key, stored) in items {
                let (_, old) = bucket.put(&key, stored.clone());
                observer.changed(kind, &key, old.as_ref(), Some(&stored));
            }
        }
        self.truncate_feed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{WriteRef, OP_PUT};

    const KINDS: [(&str, bool); 2] = [("Service", true), ("IPAddress", false)];

    fn service(key: &str, text: &str) -> Vec<u8> {
        use servicecidr_codec::msgpack::{map_len, str};
        let (ns, name) = key.split_once('/').unwrap();
        let mut o = Vec::new();
        map_len(4, &mut o).unwrap();
        for (k, v) in [("kind", "Service"), ("apiVersion", "v1"), ("v", text)] {
            str(k, &mut o).unwrap();
            str(v, &mut o).unwrap();
        }
        str("metadata", &mut o).unwrap();
        map_len(2, &mut o).unwrap();
        for (k, v) in [("namespace", ns), ("name", name)] {
            str(k, &mut o).unwrap();
            str(v, &mut o).unwrap();
        }
        o
    }

    type Seen = Vec<(usize, String, Option<Vec<u8>>, Option<Vec<u8>>)>;

    #[derive(Default)]
    struct Log(Seen);

    impl Observer for Log {
        fn changed(&mut self, kind: usize, key: &str, old: Option<&Stored>, new: Option<&Stored>) {
            self.0.push((
                kind,
                key.to_owned(),
                old.map(|b| b.bytes(key).to_vec()),
                new.map(|b| b.bytes(key).to_vec()),
            ));
        }
    }

    /// What a store holds and answers: objects, revision, the feed's reach.
    fn state(s: &Store) -> (Vec<(String, Vec<u8>)>, u64, u64, usize) {
        let objects = s
            .range(0, "", None)
            .map(|(k, v)| (k.to_owned(), v.bytes(k).to_vec()))
            .collect();
        (objects, s.revision(), s.oldest_revision(), s.feed_len())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// `load` equals `apply` of the same puts followed by `truncate_feed`: the
        /// objects, the revision, the feed, and what the observer is told, in order;
        /// sorted or not, into an empty store or not, with a bad object or not.
        #[test]
        fn load_equals_apply_then_truncate(
            before in proptest::collection::vec((0u8..8, any::<u8>()), 0..4),
            objects in proptest::collection::vec((0u8..8, any::<u8>()), 0..40),
            sort in any::<bool>(),
            bad in proptest::option::of(0usize..40),
        ) {
            let mut objects: Vec<(String, Vec<u8>)> = objects
                .iter()
                .map(|(k, t)| {
                    let key = format!("ns/{k}");
                    let blob = service(&key, &t.to_string());
                    (key, blob)
                })
                .collect();
            if sort {
                objects.sort();
                objects.dedup_by(|a, b| a.0 == b.0);
            }
            if let Some(i) = bad.filter(|&i| i < objects.len()) {
                objects[i].1 = b"\x01".to_vec();
            }
            let mut loaded = Store::new(&KINDS, 100, 10);
            let mut applied = Store::new(&KINDS, 100, 10);
            for (i, (k, t)) in before.iter().enumerate() {
                let key = format!("ns/{k}");
                let blob = service(&key, &t.to_string());
                let w = [WriteRef { op: OP_PUT, kind: "Service", key: &key, rv: i as u64 + 1,
                                    blob: Some(&blob) }];
                loaded.apply(&w, &mut ()).unwrap();
                applied.apply(&w, &mut ()).unwrap();
            }
            let writes: Vec<WriteRef<'_>> = objects
                .iter()
                .map(|(k, b)| WriteRef { op: OP_PUT, kind: "Service", key: k, rv: 0,
                                         blob: Some(b) })
                .collect();
            let (mut seen_load, mut seen_apply) = (Log::default(), Log::default());
            let got = loaded.load(
                0,
                objects.iter().map(|(k, b)| (k.as_str(), b.as_slice())),
                &mut seen_load,
            );
            let want = applied.apply(&writes, &mut seen_apply);
            prop_assert_eq!(&got, &want);
            if want.is_ok() {
                applied.truncate_feed();
                prop_assert_eq!(state(&loaded), state(&applied));
                prop_assert_eq!(seen_load.0, seen_apply.0);
            }
        }
    }

    #[test]
    fn compact_ipaddresses_are_loaded_compact() {
        let mut s = Store::new(&KINDS, 100, 10);
        let ip = crate::tests::allocator_ip("10.0.0.1", 1, "a");
        s.load(1, [("10.0.0.1", ip.as_slice())], &mut ()).unwrap();
        let held = s.get(1, "10.0.0.1").unwrap();
        assert!(held.is_compact());
        assert_eq!(held.bytes("10.0.0.1"), &ip[..]);
        assert_eq!(
            s.load(7, [], &mut ()),
            Err(ApplyError::UnknownKind("#7".into()))
        );
    }
}
