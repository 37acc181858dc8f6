//! The in-memory journal: every entry of a cluster's history, kept beside the store and
//! sharing its objects and keys (an entry costs its metadata and a few pointers, not a
//! second copy of the objects it wrote).
//!
//! [`crate::Store::commit`] records an entry and applies its writes in one step; nothing
//! is recorded when the writes are refused.

use std::collections::HashMap;
use std::sync::Arc;

use crate::Blob;

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
    pub blob: Option<Blob>,
}

/// One journal entry.
#[derive(Clone, Debug)]
pub struct JournalEntry {
    /// Position in the journal, from 1.
    pub seq: u64,
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
    /// Its name.
    pub name: Box<str>,
    /// The writes.
    pub writes: Box<[JournalWrite]>,
    /// The `extra` value as msgpack bytes (None: nil).
    pub extra: Option<Box<[u8]>>,
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

    /// Appends an entry (its seq must be `last_seq() + 1`: the caller checked).
    pub fn push(&mut self, entry: JournalEntry) {
        debug_assert_eq!(entry.seq, self.last_seq() + 1);
        if entry.ts > self.max_ts {
            self.max_ts = entry.ts;
        }
        self.entries.push(entry);
    }

    /// The entries with `after < seq <= upto` (to the end when `upto` is None).
    pub fn range(&self, after: u64, upto: Option<u64>) -> &[JournalEntry] {
        let start = after.saturating_add(1).saturating_sub(self.first_seq) as usize;
        let stop = upto.map_or(self.entries.len(), |u| {
            u.saturating_add(1).saturating_sub(self.first_seq) as usize
        });
        let stop = stop.min(self.entries.len());
        &self.entries[start.min(stop)..stop]
    }
}
