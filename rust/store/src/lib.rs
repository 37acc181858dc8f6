//! servicecidr's object store: what etcd and kube-apiserver's watch cache are to a
//! cluster, as bits.
//!
//! Objects are msgpack blobs by kind and key (`namespace/name` or `name`), kept in key
//! order (lists come out as etcd returns them). Every change goes through
//! [`Store::apply`], the one apply: live commits and log replay call it; a snapshot's
//! objects, which are no change, go in through [`Store::load`] (bulk.rs), equal by test
//! to `apply` of their puts with the feed forgotten. It keeps the revision (the largest resourceVersion written) and a bounded
//! change feed: the changes since a revision, which is what controllers, watches and
//! importers read. What a change *means* (an IPAddress holds an address, a ServiceCIDR
//! reshapes the allocators) is told to an [`Observer`]; the store never interprets an
//! object. It only holds the IPAddress objects of the allocator's shape compactly
//! ([`Stored`]), and gives every object back as the bytes that were written.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bucket;
mod bulk;
mod journal;
mod rules;
mod stored;

use std::collections::VecDeque;
use std::sync::Arc;

use bucket::Bucket;

pub use journal::{Journal, JournalEntry, JournalWrite};
pub use rules::ObjectRules;
pub use servicecidr_codec::record::{RecordRef, WriteRef, OP_DELETE, OP_PUT};
pub use stored::Stored;

/// The kind whose objects are held compactly when they have the allocator's shape.
pub const COMPACT_KIND: &str = "IPAddress";

/// What a change did to its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// The key was new.
    Added,
    /// The key held an object before.
    Modified,
    /// The object was removed; the change carries its last stored form.
    Deleted,
}

impl ChangeType {
    /// The watch event type (`ADDED`, `MODIFIED`, `DELETED`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One change in the feed.
#[derive(Clone, Debug)]
pub struct Change {
    /// The store's revision right after the change.
    pub rv: u64,
    /// Index of the kind (see [`Store::kind_index`]).
    pub kind: usize,
    /// What happened.
    pub change: ChangeType,
    /// The key.
    pub key: Arc<str>,
    /// The object after the change (for a deletion, before it).
    pub blob: Stored,
}

/// Told about every change [`Store::apply`] makes, right after it is made.
pub trait Observer {
    /// `old` is what the key held before, `new` what it holds now (None: nothing).
    fn changed(&mut self, kind: usize, key: &str, old: Option<&Stored>, new: Option<&Stored>);
}

/// An observer that does nothing.
impl Observer for () {
    fn changed(&mut self, _: usize, _: &str, _: Option<&Stored>, _: Option<&Stored>) {}
}

/// A write [`Store::check`] accepted: its kind and the object as the store will hold it.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The index of the write's kind.
    pub kind: usize,
    /// The object it carries (a put's object, a delete's last stored form).
    pub stored: Option<Stored>,
}

/// Why writes were refused (before any of them was applied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// A kind the store was not built with.
    UnknownKind(String),
    /// A put without an object.
    PutWithoutBlob(String),
    /// An op other than put and delete.
    BadOp(u64),
    /// A put whose object breaks the object rules ([`ObjectRules`]): it could never be
    /// read back as an API object.
    BadObject {
        /// Which write.
        index: usize,
        /// Its kind and key.
        kind: String,
        /// (see `kind`)
        key: String,
        /// What is wrong.
        why: String,
    },
    /// A committed entry whose seq does not follow the journal's last one.
    OutOfSequence {
        /// The seq the journal expects.
        expected: u64,
        /// The seq given.
        got: u64,
    },
    /// A commit to a store that keeps no journal.
    NoJournal,
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyError::UnknownKind(k) => write!(f, "the store holds no kind {k:?}"),
            ApplyError::PutWithoutBlob(key) => write!(f, "a put of {key:?} carries no object"),
            ApplyError::BadOp(op) => write!(f, "write op {op} is neither put (0) nor delete (1)"),
            ApplyError::BadObject {
                index,
                kind,
                key,
                why,
            } => write!(f, "write {index} ({kind} {key}): {why} (in the object)"),
            ApplyError::OutOfSequence { expected, got } => {
                write!(
                    f,
                    "entry {got} does not follow the journal's last entry {}",
                    expected - 1
                )
            }
            ApplyError::NoJournal => f.write_str("this store keeps no journal"),
        }
    }
}

impl std::error::Error for ApplyError {}

/// The feed no longer holds the changes after this revision: they were trimmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expired {
    /// The oldest revision the feed can still answer from.
    pub oldest: u64,
}

/// Objects by kind and key, the revision, and the change feed.
pub struct Store {
    kinds: Vec<String>,
    rules: ObjectRules,
    // Keys are shared with the feed's changes (one allocation per key).
    buckets: Vec<Bucket>,
    compact_kind: Option<usize>,
    revision: u64,
    feed: VecDeque<Change>,
    feed_capacity: usize,
    /// Every change with `rv > floor` is in the feed.
    floor: u64,
    journal: Option<Journal>,
}

impl Store {
    /// An empty store for these kinds (name, namespaced), whose objects nest at most
    /// `max_depth` levels and whose feed keeps the last `feed_capacity` changes.
    pub fn new<S: AsRef<str>>(kinds: &[(S, bool)], max_depth: u32, feed_capacity: usize) -> Self {
        Store {
            compact_kind: kinds.iter().position(|(k, _)| k.as_ref() == COMPACT_KIND),
            rules: ObjectRules::new(kinds.iter().map(|(_, ns)| *ns).collect(), max_depth),
            kinds: kinds.iter().map(|(k, _)| k.as_ref().to_owned()).collect(),
            buckets: kinds.iter().map(|_| Bucket::default()).collect(),
            revision: 0,
            feed: VecDeque::new(),
            feed_capacity,
            floor: 0,
            journal: None,
        }
    }

    /// Keeps a journal from now on, whose first entry will be `first_seq`.
    pub fn keep_journal(&mut self, first_seq: u64) {
        self.journal = Some(Journal::new(first_seq));
    }

    /// The journal, when the store keeps one.
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Records `rec` in the journal and applies its writes, in one step: when the writes
    /// are refused (or the seq is out of sequence) nothing is recorded or applied.
    pub fn commit(
        &mut self,
        rec: &RecordRef<'_>,
        observer: &mut impl Observer,
    ) -> Result<(), ApplyError> {
        self.check_seq(rec.seq)?;
        let prepared = self.check(&rec.writes)?;
        self.commit_prepared(rec, prepared, observer)
    }

    fn check_seq(&self, seq: u64) -> Result<(), ApplyError> {
        let expected = match &self.journal {
            Some(j) => j.last_seq() + 1,
            None => return Err(ApplyError::NoJournal),
        };
        if seq != expected {
            return Err(ApplyError::OutOfSequence { expected, got: seq });
        }
        Ok(())
    }

    /// [`Store::commit`] of a record whose writes passed [`Store::check`] before: a caller
    /// that built the objects from ones the check accepted, changing only what cannot
    /// break their rules, need not walk them again (kinds, ops and the seq are checked).
    pub fn commit_checked(
        &mut self,
        rec: &RecordRef<'_>,
        observer: &mut impl Observer,
    ) -> Result<(), ApplyError> {
        self.check_seq(rec.seq)?;
        let prepared = self.prepare_checked(&rec.writes)?;
        self.commit_prepared(rec, prepared, observer)
    }

    fn commit_prepared(
        &mut self,
        rec: &RecordRef<'_>,
        prepared: Vec<Prepared>,
        observer: &mut impl Observer,
    ) -> Result<(), ApplyError> {
        // Out of the store while the writes apply, so each is recorded as it is made.
        let Some(mut journal) = self.journal.take() else {
            return Err(ApplyError::NoJournal); // checked above
        };
        let mut writes = Vec::with_capacity(rec.writes.len());
        self.apply_checked(&rec.writes, prepared, observer, |i, key, blob| {
            let w = &rec.writes[i];
            writes.push(JournalWrite {
                op: w.op as u8,
                kind: journal.word(w.kind),
                key,
                rv: w.rv,
                blob,
            });
        });
        let entry = JournalEntry::new(
            rec.ts,
            journal.word(rec.verb),
            journal.word(rec.actor),
            journal.word(rec.kind),
            rec.namespace.map(|ns| journal.namespace(ns)),
            rec.name,
            writes.into_boxed_slice(),
            (rec.extra != [0xc0]).then(|| Box::from(rec.extra)),
        );
        journal.push(entry);
        self.journal = Some(journal);
        Ok(())
    }

    /// The kinds, in index order.
    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// The index of a kind's name.
    pub fn kind_index(&self, kind: &str) -> Option<usize> {
        self.kinds.iter().position(|k| k == kind)
    }

    /// The largest resourceVersion written so far.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The object under a key (its bytes: [`Stored::bytes`] with the same key).
    pub fn get(&self, kind: usize, key: &str) -> Option<&Stored> {
        self.buckets.get(kind)?.get(key)
    }

    /// How many objects of a kind are stored.
    pub fn count(&self, kind: usize) -> usize {
        self.buckets.get(kind).map_or(0, Bucket::len)
    }

    /// Objects of a kind in key order: those whose key starts with `prefix`, after the key
    /// `after` when given (a list's continue point).
    pub fn range<'s>(
        &'s self,
        kind: usize,
        prefix: &'s str,
        after: Option<&'s str>,
    ) -> impl Iterator<Item = (&'s str, &'s Stored)> + 's {
        self.buckets
            .get(kind)
            .into_iter()
            .flat_map(move |b| b.range(prefix, after))
    }

    /// Checks writes as [`Store::apply`] would, changing nothing: every kind known, every
    /// op a put or a delete, every object a write carries within the [`ObjectRules`].
    /// Returns the writes prepared for [`Store::apply_checked`].
    pub fn check(&self, writes: &[WriteRef<'_>]) -> Result<Vec<Prepared>, ApplyError> {
        self.prepare(writes, true)
    }

    /// The writes prepared for [`Store::apply_checked`] without the object rules: for
    /// writes [`Store::check`] accepted before (only their kinds and ops are checked).
    pub fn prepare_checked(&self, writes: &[WriteRef<'_>]) -> Result<Vec<Prepared>, ApplyError> {
        self.prepare(writes, false)
    }

    fn prepare(&self, writes: &[WriteRef<'_>], rules: bool) -> Result<Vec<Prepared>, ApplyError> {
        let mut prepared = Vec::with_capacity(writes.len());
        for (index, w) in writes.iter().enumerate() {
            let kind = self
                .kind_index(w.kind)
                .ok_or_else(|| ApplyError::UnknownKind(w.kind.to_owned()))?;
            let stored = match (w.op, w.blob) {
                (OP_PUT, None) => return Err(ApplyError::PutWithoutBlob(w.key.to_owned())),
                // A delete's blob (the object's last stored form) is read back too.
                (OP_PUT | OP_DELETE, Some(blob)) => Some(
                    self.stored_form(kind, w.kind, w.key, blob, rules)
                        .map_err(|why| ApplyError::BadObject {
                            index,
                            kind: w.kind.to_owned(),
                            key: w.key.to_owned(),
                            why,
                        })?,
                ),
                (OP_DELETE, _) => None,
                (op, _) => return Err(ApplyError::BadOp(op)),
            };
            prepared.push(Prepared { kind, stored });
        }
        Ok(prepared)
    }

    /// An object as the store will hold it (compact when it can be), checked against
    /// the object rules when `rules` (Err: why it breaks them).
    fn stored_form(
        &self,
        kind: usize,
        kind_name: &str,
        key: &str,
        blob: &[u8],
        rules: bool,
    ) -> Result<Stored, String> {
        let (stored, compacted) = if Some(kind) == self.compact_kind {
            Stored::new_compacting(key, blob)
        } else {
            (Stored::raw(blob), false)
        };
        // The compact shape keeps every rule (ipaddress::compact) at the depth it nests
        // to; anything else is walked.
        if rules && !(compacted && self.rules.max_depth() >= 3) {
            self.rules.check(kind, kind_name, key, blob)?;
        }
        Ok(stored)
    }

    /// Applies writes in order: a put stores its object, a delete removes the key. The
    /// revision becomes the largest `rv` seen; each change goes to the feed and to
    /// `observer`. Every write is checked first (its kind, its op, its object decodes as
    /// an API object), so an error changes nothing.
    pub fn apply(
        &mut self,
        writes: &[WriteRef<'_>],
        observer: &mut impl Observer,
    ) -> Result<(), ApplyError> {
        let prepared = self.check(writes)?;
        self.apply_checked(writes, prepared, observer, |_, _, _| {});
        Ok(())
    }

    /// [`Store::apply`] of writes [`Store::check`] accepted (`prepared` is what it
    /// returned). `kept(i, key, object)` is told, for each write, the key and the object
    /// the store now shares (the one it removed, for a delete), so a journal can hold
    /// them without a copy.
    pub fn apply_checked(
        &mut self,
        writes: &[WriteRef<'_>],
        prepared: Vec<Prepared>,
        observer: &mut impl Observer,
        mut kept: impl FnMut(usize, Arc<str>, Option<Stored>),
    ) {
        for (i, (w, p)) in writes.iter().zip(prepared).enumerate() {
            let kind = p.kind;
            self.revision = self.revision.max(w.rv);
            let bucket = &mut self.buckets[kind];
            let (change, stored, key) = match p.stored {
                Some(stored) if w.op == OP_PUT => {
                    // A replaced entry keeps its own key, which the feed shares.
                    let (key, old) = bucket.put(w.key, stored.clone());
                    observer.changed(kind, w.key, old.as_ref(), Some(&stored));
                    kept(i, Arc::clone(&key), Some(stored.clone()));
                    let change = if old.is_some() {
                        ChangeType::Modified
                    } else {
                        ChangeType::Added
                    };
                    (change, stored, key)
                }
                last => {
                    let Some((key, old)) = bucket.remove(w.key) else {
                        kept(i, Arc::from(w.key), last);
                        continue;
                    };
                    observer.changed(kind, w.key, Some(&old), None);
                    // The write names the object it removes; share the store's copy of it.
                    let last = match last {
                        Some(l) if l.same(&old) => Some(old.clone()),
                        other => other,
                    };
                    kept(i, Arc::clone(&key), last);
                    (ChangeType::Deleted, old, key)
                }
            };
            self.push_change(Change {
                rv: self.revision,
                kind,
                change,
                key,
                blob: stored,
            });
        }
    }

    fn push_change(&mut self, change: Change) {
        if self.feed_capacity == 0 {
            self.floor = change.rv;
            return;
        }
        if self.feed.len() >= self.feed_capacity {
            if let Some(old) = self.feed.pop_front() {
                self.floor = old.rv;
            }
        }
        self.feed.push_back(change);
    }

    /// The changes after revision `rv`, oldest first; [`Expired`] when some of them were
    /// trimmed from the feed (the reader must list again, as a watch gets 410 Gone).
    pub fn changes_since(&self, rv: u64) -> Result<impl Iterator<Item = &Change> + '_, Expired> {
        if rv < self.floor {
            return Err(Expired { oldest: self.floor });
        }
        let start = self.feed.partition_point(|c| c.rv <= rv);
        Ok(self.feed.range(start..))
    }

    /// The oldest revision [`Store::changes_since`] can answer from.
    pub fn oldest_revision(&self) -> u64 {
        self.floor
    }

    /// Forgets the feed: what was before this point is history (after loading a
    /// snapshot, whose changes no feed ever held).
    pub fn truncate_feed(&mut self) {
        self.feed.clear();
        self.floor = self.revision;
    }

    /// Sets the revision (a snapshot records it; it may exceed every stored object's).
    pub fn raise_revision(&mut self, rv: u64) {
        self.revision = self.revision.max(rv);
    }

    /// How many changes the feed holds.
    pub fn feed_len(&self) -> usize {
        self.feed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KINDS: [(&str, bool); 2] = [("Service", true), ("IPAddress", false)];

    fn put<'a>(kind: &'a str, key: &'a str, rv: u64, blob: &'a [u8]) -> WriteRef<'a> {
        WriteRef {
            op: OP_PUT,
            kind,
            key,
            rv,
            blob: Some(blob),
        }
    }

    fn del<'a>(kind: &'a str, key: &'a str, rv: u64) -> WriteRef<'a> {
        WriteRef {
            op: OP_DELETE,
            kind,
            key,
            rv,
            blob: None,
        }
    }

    /// A stored object of `kind` under `key`, told apart by `{"v": text}`.
    fn obj(kind: &str, key: &str, text: &str) -> Vec<u8> {
        use servicecidr_codec::msgpack::{map_len, str};
        let mut o = Vec::new();
        map_len(4, &mut o).unwrap();
        for (k, v) in [("kind", kind), ("apiVersion", "v1"), ("v", text)] {
            str(k, &mut o).unwrap();
            str(v, &mut o).unwrap();
        }
        str("metadata", &mut o).unwrap();
        match key.split_once('/') {
            Some((ns, name)) => {
                map_len(2, &mut o).unwrap();
                for (k, v) in [("namespace", ns), ("name", name)] {
                    str(k, &mut o).unwrap();
                    str(v, &mut o).unwrap();
                }
            }
            None => {
                map_len(1, &mut o).unwrap();
                str("name", &mut o).unwrap();
                str(key, &mut o).unwrap();
            }
        }
        o
    }

    /// (kind, key, old object, new object) of each change an observer was told of.
    type Seen = (usize, String, Option<Vec<u8>>, Option<Vec<u8>>);

    #[derive(Default)]
    struct Log(Vec<Seen>);

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

    #[test]
    fn puts_deletes_the_revision_and_the_observer() {
        let mut s = Store::new(&KINDS, 100, 100);
        let mut log = Log::default();
        s.apply(
            &[
                put(
                    "IPAddress",
                    "10.0.0.1",
                    1,
                    &obj("IPAddress", "10.0.0.1", "ip"),
                ),
                put(
                    "Service",
                    "default/a",
                    2,
                    &obj("Service", "default/a", "a1"),
                ),
            ],
            &mut log,
        )
        .unwrap();
        s.apply(
            &[put(
                "Service",
                "default/a",
                3,
                &obj("Service", "default/a", "a2"),
            )],
            &mut log,
        )
        .unwrap();
        s.apply(&[del("IPAddress", "10.0.0.1", 4)], &mut log)
            .unwrap();
        // deleting what is not there changes nothing but the revision
        s.apply(&[del("IPAddress", "10.0.0.9", 5)], &mut log)
            .unwrap();
        assert_eq!(s.revision(), 5);
        assert_eq!(
            s.get(0, "default/a").map(|b| b.bytes("default/a").to_vec()),
            Some(obj("Service", "default/a", "a2"))
        );
        assert_eq!(s.count(1), 0);
        assert_eq!(
            log.0,
            vec![
                (
                    1,
                    "10.0.0.1".into(),
                    None,
                    Some(obj("IPAddress", "10.0.0.1", "ip"))
                ),
                (
                    0,
                    "default/a".into(),
                    None,
                    Some(obj("Service", "default/a", "a1"))
                ),
                (
                    0,
                    "default/a".into(),
                    Some(obj("Service", "default/a", "a1")),
                    Some(obj("Service", "default/a", "a2"))
                ),
                (
                    1,
                    "10.0.0.1".into(),
                    Some(obj("IPAddress", "10.0.0.1", "ip")),
                    None
                ),
            ]
        );
        let feed: Vec<_> = s
            .changes_since(1)
            .unwrap()
            .map(|c| (c.rv, c.change, &*c.key, c.blob.bytes(&c.key).to_vec()))
            .collect();
        assert_eq!(
            feed,
            vec![
                (
                    2,
                    ChangeType::Added,
                    "default/a",
                    obj("Service", "default/a", "a1")
                ),
                (
                    3,
                    ChangeType::Modified,
                    "default/a",
                    obj("Service", "default/a", "a2")
                ),
                (
                    4,
                    ChangeType::Deleted,
                    "10.0.0.1",
                    obj("IPAddress", "10.0.0.1", "ip")
                ),
            ]
        );
    }

    #[test]
    fn a_bad_write_changes_nothing() {
        let mut s = Store::new(&KINDS, 100, 10);
        let err = s
            .apply(
                &[
                    put("Service", "default/a", 1, &obj("Service", "default/a", "a")),
                    put("Pod", "x", 2, &obj("Pod", "x", "p")),
                ],
                &mut (),
            )
            .unwrap_err();
        assert_eq!(err, ApplyError::UnknownKind("Pod".into()));
        assert_eq!(
            s.apply(&[put("Service", "default/b", 3, b"\x01")], &mut ()),
            Err(ApplyError::BadObject {
                index: 0,
                kind: "Service".into(),
                key: "default/b".into(),
                why: "the stored object is not a map (a JSON object)".into()
            })
        );
        let bad_last_form = WriteRef {
            op: OP_DELETE,
            ..put("Service", "default/a", 3, b"\x01")
        };
        assert!(matches!(
            s.apply(&[bad_last_form], &mut ()),
            Err(ApplyError::BadObject { .. })
        ));
        let no_blob = WriteRef {
            blob: None,
            ..put("Service", "default/b", 3, b"")
        };
        assert!(matches!(
            s.apply(&[no_blob], &mut ()),
            Err(ApplyError::PutWithoutBlob(_))
        ));
        assert_eq!((s.revision(), s.count(0), s.feed_len()), (0, 0, 0));
    }

    #[test]
    fn ranges_follow_key_order_prefix_and_continue() {
        let mut s = Store::new(&KINDS, 100, 10);
        for (i, key) in ["b/x", "a/z", "a/y", "ab/q", "c/1"].iter().enumerate() {
            s.apply(
                &[put("Service", key, i as u64 + 1, &obj("Service", key, "o"))],
                &mut (),
            )
            .unwrap();
        }
        let keys = |prefix: &str, after: Option<&str>| -> Vec<String> {
            s.range(0, prefix, after)
                .map(|(k, _)| k.to_owned())
                .collect()
        };
        assert_eq!(keys("", None), ["a/y", "a/z", "ab/q", "b/x", "c/1"]);
        assert_eq!(keys("a/", None), ["a/y", "a/z"]);
        assert_eq!(keys("a/", Some("a/y")), ["a/z"]);
        assert_eq!(keys("", Some("ab/q")), ["b/x", "c/1"]);
        assert!(keys("d/", None).is_empty());
    }

    #[test]
    fn the_feed_is_bounded_and_says_when_it_cannot_answer() {
        let mut s = Store::new(&KINDS, 100, 3);
        for rv in 1..=5 {
            s.apply(
                &[put(
                    "Service",
                    "default/a",
                    rv,
                    &obj("Service", "default/a", "o"),
                )],
                &mut (),
            )
            .unwrap();
        }
        assert_eq!(s.oldest_revision(), 2);
        assert_eq!(s.changes_since(1).err(), Some(Expired { oldest: 2 }));
        let rvs: Vec<u64> = s.changes_since(2).unwrap().map(|c| c.rv).collect();
        assert_eq!(rvs, [3, 4, 5]);
        assert_eq!(s.changes_since(5).unwrap().count(), 0);
        s.truncate_feed();
        assert_eq!(s.changes_since(4).err(), Some(Expired { oldest: 5 }));
    }

    #[test]
    fn a_commit_records_and_applies_sharing_the_objects() {
        let mut s = Store::new(&KINDS, 100, 10);
        let blob = obj("Service", "default/a", "a");
        let rec = |seq: u64, writes: Vec<WriteRef<'static>>| RecordRef {
            seq,
            ts: seq as f64,
            verb: "create",
            actor: "user",
            kind: "Service",
            namespace: Some("default"),
            name: "a",
            writes,
            extra: &[0xc0],
        };
        assert_eq!(
            s.commit(&rec(1, vec![]), &mut ()),
            Err(ApplyError::NoJournal)
        );
        s.keep_journal(1);
        let b: &'static [u8] = Box::leak(blob.into_boxed_slice());
        s.commit(&rec(1, vec![put("Service", "default/a", 1, b)]), &mut ())
            .unwrap();
        // out of sequence, or refused writes: nothing recorded, nothing applied
        assert!(matches!(
            s.commit(&rec(3, vec![]), &mut ()),
            Err(ApplyError::OutOfSequence {
                expected: 2,
                got: 3
            })
        ));
        assert!(s
            .commit(
                &rec(2, vec![put("Service", "default/b", 2, b"\x01")]),
                &mut ()
            )
            .is_err());
        assert_eq!((s.count(0), s.revision()), (1, 1));
        let j = s.journal().unwrap();
        assert_eq!((j.len(), j.last_seq(), j.max_ts()), (1, 1, 1.0));
        let (seq, e) = j.range(0, None).next().unwrap();
        assert_eq!(
            (seq, j.text(e.verb), j.text(e.kind), e.name()),
            (1, "create", "Service", "a")
        );
        // the journal shares the stored object
        assert!(e.writes[0]
            .blob
            .as_ref()
            .unwrap()
            .ptr_eq(s.get(0, "default/a").unwrap()));
        s.commit(&rec(2, vec![del("Service", "default/a", 2)]), &mut ())
            .unwrap();
        let j = s.journal().unwrap();
        assert_eq!(j.range(1, None).len(), 1);
        assert_eq!(j.range(0, Some(1)).len(), 1);
        assert_eq!(j.range(5, None).len(), 0);
    }

    /// An IPAddress as the allocator writes it (registry/service.py).
    pub(crate) fn allocator_ip(ip: &str, rv: u64, parent: &str) -> Vec<u8> {
        use servicecidr_codec::msgpack::{map_len, str};
        let mut o = Vec::new();
        let s = |t: &str, o: &mut Vec<u8>| str(t, o).unwrap();
        map_len(4, &mut o).unwrap();
        for t in [
            "apiVersion",
            "networking.k8s.io/v1",
            "kind",
            "IPAddress",
            "metadata",
        ] {
            s(t, &mut o);
        }
        map_len(5, &mut o).unwrap();
        for t in [
            "name",
            ip,
            "uid",
            "0db4c037-83dc-44cb-ab91-6b3e50188cd3",
            "creationTimestamp",
            "2025-01-01T00:00:00Z",
            "labels",
        ] {
            s(t, &mut o);
        }
        map_len(2, &mut o).unwrap();
        for t in [
            "ipaddress.kubernetes.io/ip-family",
            "IPv4",
            "ipaddress.kubernetes.io/managed-by",
            "ipallocator.k8s.io",
            "resourceVersion",
            &rv.to_string(),
            "spec",
        ] {
            s(t, &mut o);
        }
        map_len(1, &mut o).unwrap();
        s("parentRef", &mut o);
        map_len(4, &mut o).unwrap();
        for t in [
            "group",
            "",
            "resource",
            "services",
            "namespace",
            "default",
            "name",
            parent,
        ] {
            s(t, &mut o);
        }
        o
    }

    #[test]
    fn allocator_ipaddresses_are_held_compactly_and_read_back_exactly() {
        let mut s = Store::new(&KINDS, 100, 100);
        s.keep_journal(1);
        let ip = allocator_ip("10.0.0.1", 1, "a");
        let other = obj("IPAddress", "10.0.0.2", "user-made");
        let rec = RecordRef {
            seq: 1,
            ts: 1.0,
            verb: "create",
            actor: "user",
            kind: "Service",
            namespace: Some("default"),
            name: "a",
            writes: vec![
                put("IPAddress", "10.0.0.1", 1, &ip),
                put("IPAddress", "10.0.0.2", 2, &other),
            ],
            extra: &[0xc0],
        };
        s.commit(&rec, &mut ()).unwrap();
        let held = s.get(1, "10.0.0.1").unwrap();
        assert!(held.is_compact() && held.held() < ip.len() / 8);
        assert_eq!(held.bytes("10.0.0.1"), &ip[..]);
        assert_eq!(held.len("10.0.0.1"), ip.len());
        assert!(!s.get(1, "10.0.0.2").unwrap().is_compact());
        let listed: Vec<Vec<u8>> = s
            .range(1, "", None)
            .map(|(k, v)| v.bytes(k).to_vec())
            .collect();
        assert_eq!(listed, [ip.clone(), other.clone()]);
        let fed: Vec<Vec<u8>> = s
            .changes_since(0)
            .unwrap()
            .map(|c| c.blob.bytes(&c.key).to_vec())
            .collect();
        assert_eq!(fed, [ip.clone(), other.clone()]);
        let journal = s.journal().unwrap();
        let (_, e) = journal.range(0, None).next().unwrap();
        let mut written = Vec::new();
        e.writes[0]
            .blob
            .as_ref()
            .unwrap()
            .write_to(&e.writes[0].key, &mut written);
        assert_eq!(written, ip);
        // A delete naming the last stored form shares the store's copy; the feed's
        // deletion carries it.
        let delete = WriteRef {
            op: OP_DELETE,
            ..put("IPAddress", "10.0.0.1", 3, &ip)
        };
        let mut kept = None;
        let prepared = s.check(std::slice::from_ref(&delete)).unwrap();
        let before = s.get(1, "10.0.0.1").unwrap().clone();
        s.apply_checked(
            std::slice::from_ref(&delete),
            prepared,
            &mut (),
            |_, _, b| kept = b,
        );
        assert!(kept.unwrap().ptr_eq(&before));
        let last = s.changes_since(2).unwrap().next().unwrap();
        assert_eq!(last.blob.bytes("10.0.0.1"), &ip[..]);
        // The shape's name must be its key: anything else is walked by the rules.
        assert!(matches!(
            s.apply(&[put("IPAddress", "10.0.0.9", 4, &ip)], &mut ()),
            Err(ApplyError::BadObject { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Whatever the writes, the store equals a map applied by hand, and the feed
        /// replayed onto an empty map gives the same map.
        #[test]
        fn store_and_feed_agree_with_a_model(
            ops in proptest::collection::vec((any::<bool>(), 0u8..6, any::<u8>()), 1..200),
        ) {
            let mut s = Store::new(&KINDS, 100, 1000);
            let mut model = std::collections::BTreeMap::new();
            for (i, (is_put, key, byte)) in ops.iter().enumerate() {
                let key = format!("ns/{key}");
                let blob = obj("Service", &key, &byte.to_string());
                let w = if *is_put {
                    model.insert(key.clone(), blob.clone());
                    put("Service", &key, i as u64 + 1, &blob)
                } else {
                    model.remove(&key);
                    del("Service", &key, i as u64 + 1)
                };
                s.apply(&[w], &mut ()).unwrap();
            }
            let stored: std::collections::BTreeMap<String, Vec<u8>> =
                s.range(0, "", None).map(|(k, v)| (k.to_owned(), v.bytes(k).to_vec())).collect();
            prop_assert_eq!(&stored, &model);
            let mut replayed = std::collections::BTreeMap::new();
            for c in s.changes_since(0).unwrap() {
                if c.change == ChangeType::Deleted {
                    replayed.remove(&*c.key);
                } else {
                    replayed.insert(c.key.to_string(), c.blob.bytes(&c.key).to_vec());
                }
            }
            prop_assert_eq!(&replayed, &model);
        }
    }
}
