//! The in-memory journal: every entry of a cluster's history, kept beside the store and
//! sharing its objects and keys (an entry costs its metadata and a few pointers, not a
//! second copy of the objects it wrote).
//!
//! [`crate::Store::commit`] records an entry and applies its writes in one step; nothing
//! is recorded when the writes are refused.

use std::sync::Arc;

// Its words are looked up a few times per commit: foldhash, not SipHash.
use hashbrown::HashMap;

use crate::Stored;

/// One write as the journal keeps it.
#[derive(Clone, Debug)]
pub struct JournalWrite {
    /// Put (0) or delete (1).
    pub op: u8,
    /// Index of the kind's name among the journal's words.
    pub kind: u32,
    /// The key, shared with the store.
    pub key: Arc<str>,
    /// The revision the write made.
    pub rv: u64,
    /// The object (put) or its last state (delete), shared with the store where it can be.
    pub blob: Option<Stored>,
}

/// One journal entry (its seq is its position: see [`Journal::range`]).
#[derive(Clone, Debug)]
pub struct JournalEntry {
    /// Clock time of the decision.
    pub ts: f64,
    /// Indexes of the verb, the actor and the kind among the journal's words.
    pub verb: u32,
    /// (see `verb`)
    pub actor: u32,
    /// (see `verb`)
    pub kind: u32,
    /// The namespace of the object the request was about.
    pub namespace: Option<Arc<str>>,
    /// Its name, when the last write's key does not spell it (see [`JournalEntry::name`]):
    /// most requests write their object last, and a million entries then keep no copy.
    own_name: Option<Box<str>>,
    /// The writes.
    pub writes: Box<[JournalWrite]>,
    /// The `extra` value as msgpack bytes (None: nil).
    pub extra: Option<Box<[u8]>>,
}

/// The name a storage key spells within a namespace (`ns/name`, or `name` outside any).
fn name_in_key<'k>(namespace: Option<&str>, key: &'k str) -> Option<&'k str> {
    match namespace {
        None => Some(key),
        Some(ns) => key.strip_prefix(ns)?.strip_prefix('/'),
    }
}

impl JournalEntry {
    /// An entry; `name` is kept only when its last write's key does not spell it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ts: f64,
        verb: u32,
        actor: u32,
        kind: u32,
        namespace: Option<Arc<str>>,
        name: &str,
        writes: Box<[JournalWrite]>,
        extra: Option<Box<[u8]>>,
    ) -> Self {
        let spelled = writes
            .last()
            .and_then(|w| name_in_key(namespace.as_deref(), &w.key));
        JournalEntry {
            ts,
            verb,
            actor,
            kind,
            own_name: (spelled != Some(name)).then(|| Box::from(name)),
            namespace,
            writes,
            extra,
        }
    }

    /// The name of the object the request was about.
    pub fn name(&self) -> &str {
        if let Some(name) = &self.own_name {
            return name;
        }
        self.writes
            .last()
            .and_then(|w| name_in_key(self.namespace.as_deref(), &w.key))
            .unwrap_or_default()
    }
}

/// Entries in sequence, and the few words their verbs, actors and kinds repeat.
#[derive(Default)]
pub struct Journal {
    entries: Vec<JournalEntry>,
    first_seq: u64,
    words: Vec<Arc<str>>,
    word_index: HashMap<Arc<str>, u32>,
    namespaces: HashMap<Arc<str>, ()>,
    max_ts: f64,
}

impl Journal {
    /// An empty journal whose first entry will be `first_seq`.
    pub fn new(first_seq: u64) -> Self {
        Journal {
            first_seq: first_seq.max(1),
            max_ts: f64::NEG_INFINITY,
            ..Journal::default()
        }
    }

    /// The seq of the last entry (first_seq - 1 when empty).
    pub fn last_seq(&self) -> u64 {
        self.first_seq - 1 + self.entries.len() as u64
    }

    /// The latest timestamp recorded (-inf when none).
    pub fn max_ts(&self) -> f64 {
        self.max_ts
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The index of a word, added when new.
    pub fn word(&mut self, text: &str) -> u32 {
        if let Some(&i) = self.word_index.get(text) {
            return i;
        }
        let i = self.words.len() as u32;
        let w: Arc<str> = Arc::from(text);
        self.words.push(Arc::clone(&w));
        self.word_index.insert(w, i);
        i
    }

    /// The text of a word.
    pub fn text(&self, word: u32) -> &str {
        &self.words[word as usize]
    }

    /// A namespace's text, shared by every entry that names it.
    pub fn namespace(&mut self, text: &str) -> Arc<str> {
        if let Some((k, _)) = self.namespaces.get_key_value(text) {
            return Arc::clone(k);
        }
        let ns: Arc<str> = Arc::from(text);
        self.namespaces.insert(Arc::clone(&ns), ());
        ns
    }

    /// Appends an entry as `last_seq() + 1`.
    pub fn push(&mut self, entry: JournalEntry) {
        if entry.ts > self.max_ts {
            self.max_ts = entry.ts;
        }
        self.entries.push(entry);
    }

    /// The entries with `after < seq <= upto` (to the end when `upto` is None), with
    /// their seqs.
    pub fn range(
        &self,
        after: u64,
        upto: Option<u64>,
    ) -> impl ExactSizeIterator<Item = (u64, &JournalEntry)> + '_ {
        let start = after.saturating_add(1).saturating_sub(self.first_seq) as usize;
        let stop = upto.map_or(self.entries.len(), |u| {
            u.saturating_add(1).saturating_sub(self.first_seq) as usize
        });
        let stop = stop.min(self.entries.len());
        let start = start.min(stop);
        let first = self.first_seq + start as u64;
        self.entries[start..stop]
            .iter()
            .enumerate()
            .map(move |(i, e)| (first + i as u64, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(key: &str) -> JournalWrite {
        JournalWrite {
            op: 0,
            kind: 0,
            key: Arc::from(key),
            rv: 1,
            blob: None,
        }
    }

    #[test]
    fn an_entry_names_its_object_whether_or_not_a_key_spells_it() {
        let ns = |s: &str| Some(Arc::<str>::from(s));
        type Case<'a> = (Option<Arc<str>>, &'a str, Vec<JournalWrite>, bool);
        let cases: Vec<Case<'_>> = vec![
            // (namespace, name, writes, whether the name is kept apart)
            (
                ns("default"),
                "a",
                vec![write("10.0.0.1"), write("default/a")],
                false,
            ),
            (None, "10.0.0.1", vec![write("10.0.0.1")], false),
            (None, "a/b", vec![write("a/b")], false),
            (
                ns("default"),
                "a",
                vec![write("default/a"), write("10.0.0.1")],
                true,
            ),
            (ns("default"), "a", vec![write("other/a")], true),
            (ns("def"), "a", vec![write("default/a")], true),
            (ns("default"), "a", vec![write("defaulta")], true),
            (ns("default"), "", vec![write("default/")], false),
            (None, "x", vec![], true),
        ];
        for (namespace, name, writes, kept) in cases {
            let e = JournalEntry::new(0.0, 0, 0, 0, namespace, name, writes.into(), None);
            assert_eq!(e.name(), name);
            assert_eq!(e.own_name.is_some(), kept, "{name}");
        }
    }

    #[test]
    fn seqs_are_positions() {
        let mut j = Journal::new(5);
        for _ in 0..3 {
            j.push(JournalEntry::new(
                1.0,
                0,
                0,
                0,
                None,
                "x",
                Box::new([]),
                None,
            ));
        }
        assert_eq!(j.last_seq(), 7);
        let seqs: Vec<u64> = j.range(5, Some(6)).map(|(s, _)| s).collect();
        assert_eq!(seqs, [6]);
        let seqs: Vec<u64> = j.range(0, None).map(|(s, _)| s).collect();
        assert_eq!(seqs, [5, 6, 7]);
    }
}
