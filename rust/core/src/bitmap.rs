//! A bitmap with "full" summaries, dense or sparse.
//!
//! Level 0 holds one bit per address. Every level above holds one bit per word of the
//! level below, set exactly when that word is completely full (all 64 bits set). The
//! top level is a single word. Finding the first free bit at or after a position
//! climbs while the remaining bits of the current word are all set, then descends
//! through words known to be non-full, so it reads at most two words per level
//! (11 levels for 2^64 addresses, 4 for a /12) however full the range is.
//!
//! Storage is either dense (one `Vec<u64>` per level; a /12 costs 128 KiB plus 2 KiB
//! of summaries) or sparse (one hash map per level holding only non-zero words). In
//! the sparse form an absent word is all zeros: entirely free at level 0, "no full
//! child" above. Memory is therefore proportional to the number of non-zero words,
//! at most one leaf word per allocated address, so a million random allocations in
//! an IPv6 /64 cost tens of MiB rather than the exabytes a flat bitmap would.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Ranges up to this many addresses use dense storage (2 MiB of leaf words at most).
pub(crate) const DENSE_MAX_BITS: u64 = 1 << 24;

const FULL: u64 = u64::MAX;

/// Word storage for the levels of a [`Bitmap`].
pub(crate) trait Store {
    /// Empty storage for levels of the given bit counts.
    fn with_level_bits(level_bits: &[u64]) -> Self;
    /// The word `idx` of `level` (zero when absent).
    fn word(&self, level: usize, idx: u64) -> u64;
    /// ORs `mask` into a word and returns the previous value.
    fn or_mask(&mut self, level: usize, idx: u64, mask: u64) -> u64;
    /// Clears `mask` in a word and returns the previous value.
    fn clear_mask(&mut self, level: usize, idx: u64, mask: u64) -> u64;
    /// The non-zero words of level 0 as `(index, word)`, in index order.
    fn leaf_words(&self) -> Vec<(u64, u64)>;
}

/// Most levels a bitmap can have: 2^64 bits need 11 (64 bits, six per level).
pub(crate) const MAX_LEVELS: usize = 11;

/// Dense storage: every word of every level is present, all levels in one vector
/// (one indirection per access, and the summaries sit right after the leaves).
#[derive(Clone, Debug)]
pub(crate) struct Dense {
    words: Vec<u64>,
    offsets: [usize; MAX_LEVELS],
    leaves: usize,
}

impl Dense {
    #[inline]
    fn slot(&self, level: usize, idx: u64) -> usize {
        self.offsets[level] + idx as usize
    }
}

impl Store for Dense {
    fn with_level_bits(level_bits: &[u64]) -> Self {
        let mut offsets = [0usize; MAX_LEVELS];
        let mut total = 0usize;
        for (offset, &bits) in offsets.iter_mut().zip(level_bits) {
            *offset = total;
            total += bits.div_ceil(64) as usize;
        }
        Dense {
            words: vec![0u64; total],
            offsets,
            leaves: level_bits.first().map_or(0, |&b| b.div_ceil(64) as usize),
        }
    }

    // Callers only pass indices inside their level (see `Bitmap`), so the bounds check
    // of the flat vector is the only one needed; out of range reads as empty.
    #[inline]
    fn word(&self, level: usize, idx: u64) -> u64 {
        self.words.get(self.slot(level, idx)).copied().unwrap_or(0)
    }

    #[inline]
    fn or_mask(&mut self, level: usize, idx: u64, mask: u64) -> u64 {
        let slot = self.slot(level, idx);
        match self.words.get_mut(slot) {
            Some(w) => {
                let old = *w;
                *w |= mask;
                old
            }
            None => 0,
        }
    }

    #[inline]
    fn clear_mask(&mut self, level: usize, idx: u64, mask: u64) -> u64 {
        let slot = self.slot(level, idx);
        match self.words.get_mut(slot) {
            Some(w) => {
                let old = *w;
                *w &= !mask;
                old
            }
            None => 0,
        }
    }

    fn leaf_words(&self) -> Vec<(u64, u64)> {
        self.words[..self.leaves]
            .iter()
            .enumerate()
            .filter(|(_, &w)| w != 0)
            .map(|(i, &w)| (i as u64, w))
            .collect()
    }
}

/// Hasher for word indices: the murmur3 64-bit finaliser. Indices are often
/// sequential or share low bits, which an identity hash would pile into a few
/// buckets; this spreads every input bit over the output.
#[derive(Default, Clone, Copy)]
pub(crate) struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }

    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        z ^ (z >> 33)
    }
}

type WordMap = HashMap<u64, u64, BuildHasherDefault<IndexHasher>>;

/// Sparse storage: only non-zero words are kept.
#[derive(Clone, Debug)]
pub(crate) struct Sparse {
    levels: Vec<WordMap>,
}

impl Store for Sparse {
    fn with_level_bits(level_bits: &[u64]) -> Self {
        Sparse {
            levels: level_bits.iter().map(|_| WordMap::default()).collect(),
        }
    }

    #[inline]
    fn word(&self, level: usize, idx: u64) -> u64 {
        self.levels[level].get(&idx).copied().unwrap_or(0)
    }

    #[inline]
    fn or_mask(&mut self, level: usize, idx: u64, mask: u64) -> u64 {
        let w = self.levels[level].entry(idx).or_insert(0);
        let old = *w;
        *w |= mask;
        old
    }

    #[inline]
    fn clear_mask(&mut self, level: usize, idx: u64, mask: u64) -> u64 {
        let map = &mut self.levels[level];
        match map.get_mut(&idx) {
            Some(w) => {
                let old = *w;
                *w &= !mask;
                if *w == 0 {
                    map.remove(&idx);
                }
                old
            }
            None => 0,
        }
    }

    fn leaf_words(&self) -> Vec<(u64, u64)> {
        let mut words: Vec<(u64, u64)> = self.levels[0].iter().map(|(&i, &w)| (i, w)).collect();
        words.sort_unstable_by_key(|&(i, _)| i);
        words
    }
}

/// A bitmap of `nbits` bits with full-word summaries over storage `S`.
#[derive(Clone, Debug)]
pub(crate) struct Bitmap<S> {
    nbits: u64,
    /// Index of the top level, which fits in one word.
    top: usize,
    /// Number of meaningful bits at each level (unused entries are 0).
    level_bits: [u64; MAX_LEVELS],
    store: S,
}

impl<S: Store> Bitmap<S> {
    /// An all-zero bitmap of `nbits` bits.
    pub(crate) fn new(nbits: u64) -> Self {
        let mut level_bits = [0u64; MAX_LEVELS];
        level_bits[0] = nbits;
        let mut top = 0;
        while level_bits[top] > 64 {
            level_bits[top + 1] = level_bits[top].div_ceil(64);
            top += 1;
        }
        let store = S::with_level_bits(&level_bits[..=top]);
        Bitmap {
            nbits,
            top,
            level_bits,
            store,
        }
    }

    /// Whether bit `pos` is set (false beyond the end).
    #[inline]
    pub(crate) fn get(&self, pos: u64) -> bool {
        pos < self.nbits && self.store.word(0, pos >> 6) & (1 << (pos & 63)) != 0
    }

    /// Sets bit `pos`; returns false if it was already set or is beyond the end.
    #[inline]
    pub(crate) fn set(&mut self, pos: u64) -> bool {
        if pos >= self.nbits {
            return false;
        }
        let bit = 1u64 << (pos & 63);
        let old = self.store.or_mask(0, pos >> 6, bit);
        if old & bit != 0 {
            return false;
        }
        if old | bit == FULL {
            self.mark_full(pos >> 6);
        }
        true
    }

    /// Clears bit `pos`; returns false if it was already clear or is beyond the end.
    #[inline]
    pub(crate) fn clear(&mut self, pos: u64) -> bool {
        if pos >= self.nbits {
            return false;
        }
        let bit = 1u64 << (pos & 63);
        let old = self.store.clear_mask(0, pos >> 6, bit);
        if old & bit == 0 {
            return false;
        }
        if old == FULL {
            self.mark_not_full(pos >> 6);
        }
        true
    }

    /// Records that leaf word `word_idx` just became full, up the levels.
    fn mark_full(&mut self, word_idx: u64) {
        let mut p = word_idx;
        for level in 1..=self.top {
            let bit = 1u64 << (p & 63);
            let old = self.store.or_mask(level, p >> 6, bit);
            if old | bit != FULL || old & bit != 0 {
                return;
            }
            p >>= 6;
        }
    }

    /// Records that leaf word `word_idx` is no longer full, up the levels.
    fn mark_not_full(&mut self, word_idx: u64) {
        let mut p = word_idx;
        for level in 1..=self.top {
            let bit = 1u64 << (p & 63);
            let old = self.store.clear_mask(level, p >> 6, bit);
            if old != FULL {
                return;
            }
            p >>= 6;
        }
    }

    /// The first clear bit at or after `pos`, if any.
    pub(crate) fn next_zero(&self, pos: u64) -> Option<u64> {
        if pos >= self.nbits {
            return None;
        }
        let top = self.top;
        let mut level = 0;
        let mut p = pos;
        // In a nearly full range the starting leaf word is usually full. Its summary
        // bit says so from a small, cache-resident level, which spares a likely cache
        // miss on the leaf word itself.
        if top > 0 && self.store.word(1, p >> 12) & (1 << ((p >> 6) & 63)) != 0 {
            p = (p >> 6) + 1;
            level = 1;
        }
        // Climb while the rest of the current word is full. Moving up skips the word
        // just examined (`+ 1`): its summary bit may be clear because of bits before
        // `p`, which do not count.
        let mut found = loop {
            if p >= self.level_bits[level] {
                return None;
            }
            let w = self.store.word(level, p >> 6);
            let free = !w & (FULL << (p & 63));
            if free != 0 {
                break (p & !63) | u64::from(free.trailing_zeros());
            }
            if level == top {
                return None;
            }
            p = (p >> 6) + 1;
            level += 1;
        };
        // A free bit past the meaningful bits is padding of the last word: everything
        // real from `pos` on is full.
        if found >= self.level_bits[level] {
            return None;
        }
        // Descend: a clear summary bit means the child word has a clear bit, and every
        // child word before it (from `pos` on) was full, so its first clear bit wins.
        while level > 0 {
            level -= 1;
            let w = self.store.word(level, found);
            found = (found << 6) | u64::from((!w).trailing_zeros());
        }
        (found < self.nbits).then_some(found)
    }

    /// The first clear bit in `lo..=hi`, if any.
    #[inline]
    pub(crate) fn next_zero_in(&self, lo: u64, hi: u64) -> Option<u64> {
        self.next_zero(lo).filter(|&p| p <= hi)
    }

    /// The non-zero leaf words as `(word index, word)`, in index order.
    pub(crate) fn leaf_words(&self) -> Vec<(u64, u64)> {
        self.store.leaf_words()
    }

    /// ORs a whole leaf word in (restore path); bits beyond the end are ignored.
    pub(crate) fn or_leaf_word(&mut self, word_idx: u64, mask: u64) {
        let start = word_idx.saturating_mul(64);
        if start >= self.nbits || mask == 0 {
            return;
        }
        let valid = if self.nbits - start >= 64 {
            FULL
        } else {
            (1u64 << (self.nbits - start)) - 1
        };
        let mask = mask & valid;
        let old = self.store.or_mask(0, word_idx, mask);
        if old != FULL && old | mask == FULL {
            self.mark_full(word_idx);
        }
    }
}

/// A bitmap with the storage chosen by size.
#[derive(Clone, Debug)]
pub(crate) enum Bits {
    /// Dense storage, for up to [`DENSE_MAX_BITS`] bits.
    Dense(Bitmap<Dense>),
    /// Sparse storage, for everything larger.
    Sparse(Bitmap<Sparse>),
}

macro_rules! dispatch {
    ($self:expr, $b:ident => $e:expr) => {
        match $self {
            Bits::Dense($b) => $e,
            Bits::Sparse($b) => $e,
        }
    };
}

impl Bits {
    /// An all-zero bitmap of `nbits` bits.
    pub(crate) fn new(nbits: u64) -> Bits {
        if nbits <= DENSE_MAX_BITS {
            Bits::Dense(Bitmap::new(nbits))
        } else {
            Bits::Sparse(Bitmap::new(nbits))
        }
    }

    /// See [`Bitmap::get`].
    #[inline]
    pub(crate) fn get(&self, pos: u64) -> bool {
        dispatch!(self, b => b.get(pos))
    }

    /// See [`Bitmap::set`].
    #[inline]
    pub(crate) fn set(&mut self, pos: u64) -> bool {
        dispatch!(self, b => b.set(pos))
    }

    /// See [`Bitmap::clear`].
    #[inline]
    pub(crate) fn clear(&mut self, pos: u64) -> bool {
        dispatch!(self, b => b.clear(pos))
    }

    /// See [`Bitmap::next_zero_in`].
    #[inline]
    pub(crate) fn next_zero_in(&self, lo: u64, hi: u64) -> Option<u64> {
        dispatch!(self, b => b.next_zero_in(lo, hi))
    }

    /// See [`Bitmap::leaf_words`].
    pub(crate) fn leaf_words(&self) -> Vec<(u64, u64)> {
        dispatch!(self, b => b.leaf_words())
    }

    /// See [`Bitmap::or_leaf_word`].
    pub(crate) fn or_leaf_word(&mut self, word_idx: u64, mask: u64) {
        dispatch!(self, b => b.or_leaf_word(word_idx, mask))
    }

    /// The positions of all set bits, in order.
    pub(crate) fn ones(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for (idx, mut w) in self.leaf_words() {
            while w != 0 {
                out.push(idx * 64 + u64::from(w.trailing_zeros()));
                w &= w - 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn both(nbits: u64) -> [Bits; 2] {
        [
            Bits::Dense(Bitmap::new(nbits)),
            Bits::Sparse(Bitmap::new(nbits)),
        ]
    }

    #[test]
    fn fill_and_find_every_size_shape() {
        for nbits in [0u64, 1, 2, 63, 64, 65, 4095, 4096, 4097, 262_145] {
            for mut b in both(nbits) {
                for pos in 0..nbits {
                    assert_eq!(b.next_zero_in(0, nbits - 1), Some(pos));
                    assert!(b.set(pos));
                    assert!(!b.set(pos));
                }
                assert_eq!(b.next_zero_in(0, nbits.saturating_sub(1)), None);
                if nbits > 0 {
                    let mid = nbits / 2;
                    assert!(b.clear(mid));
                    assert!(!b.clear(mid));
                    assert_eq!(b.next_zero_in(0, nbits - 1), Some(mid));
                    assert_eq!(b.next_zero_in(mid + 1, nbits - 1), None);
                }
                assert!(!b.set(nbits));
                assert!(!b.get(nbits));
            }
        }
    }

    #[test]
    fn huge_sparse_range_finds_free_bits_at_the_ends() {
        let n = u64::MAX;
        let mut b = Bits::new(n);
        assert!(matches!(b, Bits::Sparse(_)));
        assert_eq!(b.next_zero_in(0, n - 1), Some(0));
        assert_eq!(b.next_zero_in(n - 1, n - 1), Some(n - 1));
        assert!(b.set(n - 1));
        assert_eq!(b.next_zero_in(n - 1, n - 1), None);
        assert_eq!(b.next_zero_in(n - 2, n - 1), Some(n - 2));
        // A full word near the end is skipped through the summary.
        let base = (n - 1) & !63;
        for p in base..n {
            b.set(p);
        }
        assert_eq!(b.next_zero_in(base, n - 1), None);
        assert_eq!(b.next_zero_in(base - 5, n - 1), Some(base - 5));
        assert_eq!(b.ones().len() as u64, n - base);
    }

    #[test]
    fn sparse_memory_tracks_non_zero_words() {
        let mut b: Bitmap<Sparse> = Bitmap::new(u64::MAX);
        for i in 0..1000u64 {
            b.set(i * 1_000_003);
        }
        assert_eq!(b.store.levels[0].len(), 1000);
        for i in 0..1000u64 {
            b.clear(i * 1_000_003);
        }
        assert!(b.store.levels.iter().all(|m| m.is_empty()));
    }

    proptest! {
        #[test]
        fn matches_a_model(
            nbits in 1u64..20_000,
            ops in proptest::collection::vec((any::<bool>(), any::<u64>()), 1..400),
            probes in proptest::collection::vec(any::<u64>(), 1..20),
        ) {
            for mut b in both(nbits) {
                let mut model = BTreeSet::new();
                for &(set, raw) in &ops {
                    let pos = raw % nbits;
                    if set {
                        prop_assert_eq!(b.set(pos), model.insert(pos));
                    } else {
                        prop_assert_eq!(b.clear(pos), model.remove(&pos));
                    }
                }
                // Fill a stretch densely so summaries above level 0 get exercised.
                let start = ops[0].1 % nbits;
                for pos in start..nbits.min(start + 5000) {
                    prop_assert_eq!(b.set(pos), model.insert(pos));
                }
                for &raw in &probes {
                    let lo = raw % nbits;
                    let want = (lo..nbits).find(|p| !model.contains(p));
                    prop_assert_eq!(b.next_zero_in(lo, nbits - 1), want);
                }
                prop_assert_eq!(b.ones(), model.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
