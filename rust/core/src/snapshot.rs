//! Snapshot bytes of an [`Allocator`]: versioned, checksummed, compact.
//!
//! Layout (integers little-endian unless noted):
//!
//! | bytes | content |
//! | --- | --- |
//! | 8 | magic `SCIDRALC` |
//! | 1 | format version (1) |
//! | 1 | family: 4 or 6 |
//! | 1 | prefix length |
//! | 16 | network address, big-endian u128 (IPv4 in the low 32 bits) |
//! | 32 | random generator state, 4 × u64 |
//! | 8 | number of allocated addresses |
//! | 1 | payload encoding: 0 = bitmap, 1 = runs |
//! | n | payload |
//! | 8 | FNV-1a 64 of everything before |
//!
//! The bitmap payload is `ceil(size / 64)` u64 words, bit `i` for usable address `i`.
//! The runs payload is LEB128 varints alternating free-run and used-run lengths,
//! starting with a free run (possibly 0) and ending with a used run; everything after
//! the last used run is free. The encoder picks whichever is shorter: the bitmap for
//! busy small ranges, runs for sparse or clustered ones (a million random addresses in
//! a /64 take about 7 bytes each).

use crate::allocator::Allocator;
use crate::cidr::Cidr;
use crate::error::Error;
use crate::ip::{Family, Ip};
use crate::rng::Rng;

const MAGIC: &[u8; 8] = b"SCIDRALC";
const VERSION: u8 = 1;
const ENC_BITMAP: u8 = 0;
const ENC_RUNS: u8 = 1;
const HEADER_LEN: usize = 8 + 1 + 1 + 1 + 16 + 32 + 8 + 1;
const CHECKSUM_LEN: usize = 8;

/// Most allocated addresses a snapshot may claim: every IPv4 range fits, and an IPv6
/// range would have needed four billion `allocate_next` calls to get there. Restoring
/// takes time and memory in proportion to the claim (a sparse range stores one word per
/// 64 addresses), so a larger claim is damage that would otherwise exhaust memory.
pub const MAX_RESTORED_ADDRESSES: u64 = 1 << 32;

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        let bits = u64::from(b & 0x7f);
        if shift == 63 && bits > 1 {
            return None;
        }
        v |= bits << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Collects maximal runs of allocated indices as `(start, end_exclusive)`.
fn used_runs(words: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &(idx, word) in words {
        let base = idx * 64;
        let mut rest = word;
        let mut shift = 0u32;
        while rest != 0 {
            let zeros = rest.trailing_zeros();
            rest >>= zeros;
            shift += zeros;
            let ones = rest.trailing_ones();
            let start = base + u64::from(shift);
            let end = start + u64::from(ones);
            match runs.last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => runs.push((start, end)),
            }
            rest = rest.checked_shr(ones).unwrap_or(0);
            shift += ones;
        }
    }
    runs
}

impl Allocator {
    /// Encodes the allocator: range, allocated addresses and generator state, so that
    /// a restored copy continues exactly where this one stands.
    pub fn snapshot(&self) -> Vec<u8> {
        let words = self.leaf_words();
        let runs = used_runs(&words);
        let mut runs_payload = Vec::new();
        let mut cursor = 0u64;
        for &(start, end) in &runs {
            put_varint(&mut runs_payload, start - cursor);
            put_varint(&mut runs_payload, end - start);
            cursor = end;
        }
        let bitmap_words = self.size().div_ceil(64);
        let use_bitmap = bitmap_words
            .checked_mul(8)
            .is_some_and(|len| len < runs_payload.len() as u64);

        let mut out = Vec::with_capacity(HEADER_LEN + runs_payload.len() + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(match self.family() {
            Family::V4 => 4,
            Family::V6 => 6,
        });
        out.push(self.cidr().prefix_len());
        out.extend_from_slice(&self.cidr().network().value().to_be_bytes());
        for word in self.rng().state() {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&self.used().to_le_bytes());
        if use_bitmap {
            out.push(ENC_BITMAP);
            let mut next = 0u64;
            for &(idx, word) in &words {
                for _ in next..idx {
                    out.extend_from_slice(&0u64.to_le_bytes());
                }
                out.extend_from_slice(&word.to_le_bytes());
                next = idx + 1;
            }
            for _ in next..bitmap_words {
                out.extend_from_slice(&0u64.to_le_bytes());
            }
        } else {
            out.push(ENC_RUNS);
            out.extend_from_slice(&runs_payload);
        }
        let sum = fnv1a64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Rebuilds an allocator from [`Allocator::snapshot`] bytes, checking that they
    /// describe the range `cidr` and are intact.
    pub fn restore(cidr: &str, data: &[u8]) -> Result<Allocator, Error> {
        let requested = Error::parse_cidr(cidr)?;
        restore_into(requested, data)
    }
}

fn corrupt(reason: impl Into<String>) -> Error {
    Error::InvalidSnapshot {
        reason: reason.into(),
    }
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&data[at..at + 8]);
    u64::from_le_bytes(b)
}

fn restore_into(requested: Cidr, data: &[u8]) -> Result<Allocator, Error> {
    if data.len() < HEADER_LEN + CHECKSUM_LEN || &data[..8] != MAGIC {
        return Err(corrupt("not an allocator snapshot"));
    }
    if data[8] != VERSION {
        return Err(corrupt(format!("unsupported format version {}", data[8])));
    }
    let body = &data[..data.len() - CHECKSUM_LEN];
    if fnv1a64(body) != u64_at(data, data.len() - CHECKSUM_LEN) {
        return Err(corrupt("checksum mismatch (the data is damaged)"));
    }
    let family = match data[9] {
        4 => Family::V4,
        6 => Family::V6,
        other => return Err(corrupt(format!("unknown address family {other}"))),
    };
    let mut net = [0u8; 16];
    net.copy_from_slice(&data[11..27]);
    let value = u128::from_be_bytes(net);
    if family == Family::V4 && value > u128::from(u32::MAX) {
        return Err(corrupt("IPv4 network address out of range"));
    }
    let recorded = Cidr::new(Ip::new(family, value), data[10])
        .ok_or_else(|| corrupt("the recorded range is not a valid CIDR"))?;
    if recorded != requested {
        return Err(Error::SnapshotMismatch {
            snapshot: recorded.to_string(),
            requested: requested.to_string(),
        });
    }
    let state = [
        u64_at(data, 27),
        u64_at(data, 35),
        u64_at(data, 43),
        u64_at(data, 51),
    ];
    let rng = Rng::from_state(state).ok_or_else(|| corrupt("invalid generator state"))?;
    let used = u64_at(data, 59);
    if used > MAX_RESTORED_ADDRESSES {
        return Err(corrupt(format!(
            "claims {used} allocated addresses, more than the {MAX_RESTORED_ADDRESSES} a snapshot may hold"
        )));
    }
    let encoding = data[67];
    let payload = &body[HEADER_LEN..];

    let mut a = Allocator::restored(recorded, rng)?;
    let size = a.size();
    match encoding {
        ENC_BITMAP => {
            let words = size.div_ceil(64);
            if payload.len() as u64 != words * 8 {
                return Err(corrupt("bitmap payload has the wrong length"));
            }
            for (idx, chunk) in payload.chunks_exact(8).enumerate() {
                let word = u64_at(chunk, 0);
                let idx = idx as u64;
                let valid_bits = (size - idx * 64).min(64);
                if valid_bits < 64 && word >> valid_bits != 0 {
                    return Err(corrupt("bits set beyond the end of the range"));
                }
                if word != 0 {
                    a.restore_word(idx, word);
                }
            }
        }
        ENC_RUNS => {
            let mut at = 0usize;
            let mut cursor = 0u64;
            let mut total = 0u64;
            while at < payload.len() {
                let free = get_varint(payload, &mut at).ok_or_else(|| corrupt("bad varint"))?;
                let len = get_varint(payload, &mut at).ok_or_else(|| corrupt("bad varint"))?;
                if len == 0 || (free == 0 && cursor != 0) {
                    return Err(corrupt("empty run"));
                }
                let start = cursor
                    .checked_add(free)
                    .filter(|&s| s < size)
                    .ok_or_else(|| corrupt("run beyond the end of the range"))?;
                let end = start
                    .checked_add(len)
                    .filter(|&e| e <= size)
                    .ok_or_else(|| corrupt("run beyond the end of the range"))?;
                total = total.saturating_add(len);
                if total > used {
                    return Err(corrupt("more addresses than recorded"));
                }
                fill_run(&mut a, start, end);
                cursor = end;
            }
        }
        other => return Err(corrupt(format!("unknown payload encoding {other}"))),
    }
    if a.used() != used {
        return Err(corrupt(format!(
            "recorded {used} allocated addresses, found {}",
            a.used()
        )));
    }
    Ok(a)
}

/// Marks indices `start..end` allocated, a word at a time.
fn fill_run(a: &mut Allocator, start: u64, end: u64) {
    let mut pos = start;
    while pos < end {
        let idx = pos / 64;
        let lo = pos % 64;
        let hi = (end - idx * 64).min(64);
        let mask = if hi - lo == 64 {
            u64::MAX
        } else {
            ((1u64 << (hi - lo)) - 1) << lo
        };
        a.restore_word(idx, mask);
        pos = idx * 64 + hi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> Ip {
        Ip::parse(s).unwrap()
    }

    fn same_state(a: &mut Allocator, b: &mut Allocator) {
        assert_eq!(a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
        assert_eq!(a.used(), b.used());
        // Same generator state: the next choices agree.
        for _ in 0..5 {
            assert_eq!(a.allocate_next(), b.allocate_next());
        }
    }

    #[test]
    fn round_trip_picks_the_shorter_encoding() {
        let mut dense = Allocator::new("10.0.0.0/20", Some(3)).unwrap();
        dense.allocate_next_many(2000).unwrap();
        let bytes = dense.snapshot();
        assert_eq!(bytes[67], ENC_BITMAP);
        assert_eq!(bytes.len(), HEADER_LEN + 64 * 8 + CHECKSUM_LEN);
        let mut back = Allocator::restore("10.0.0.0/20", &bytes).unwrap();
        same_state(&mut dense, &mut back);

        let mut sparse = Allocator::new("fd00::/64", Some(3)).unwrap();
        sparse.allocate_next_many(1000).unwrap();
        sparse.allocate(ip("fd00::ffff:ffff:ffff:ffff")).unwrap();
        sparse.allocate(ip("fd00::1")).unwrap();
        let bytes = sparse.snapshot();
        assert_eq!(bytes[67], ENC_RUNS);
        assert!(bytes.len() < 1002 * 12, "{}", bytes.len());
        let mut back = Allocator::restore("FD00:0::/64", &bytes).unwrap();
        same_state(&mut sparse, &mut back);

        let mut full = Allocator::new("10.0.0.0/12", Some(3)).unwrap();
        full.allocate_next_many(full.size()).unwrap();
        let bytes = full.snapshot();
        assert_eq!(bytes[67], ENC_RUNS);
        assert!(bytes.len() < 100);
        let back = Allocator::restore("10.0.0.0/12", &bytes).unwrap();
        assert_eq!(back.free(), 0);
    }

    #[test]
    fn refuses_another_range_and_damage() {
        let mut a = Allocator::new("192.168.1.0/24", Some(1)).unwrap();
        a.allocate_next_many(10).unwrap();
        let bytes = a.snapshot();
        let e = Allocator::restore("192.168.2.0/24", &bytes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "allocator snapshot is of range 192.168.1.0/24, not of the requested range 192.168.2.0/24"
        );
        assert!(matches!(
            Allocator::restore("192.168.1.0/24", b"nonsense"),
            Err(Error::InvalidSnapshot { .. })
        ));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(
                Allocator::restore("192.168.1.0/24", &bad).is_err(),
                "flip at {i} accepted"
            );
        }
        for len in 0..bytes.len() {
            assert!(Allocator::restore("192.168.1.0/24", &bytes[..len]).is_err());
        }
    }

    /// Resealed bytes whose header and one run claim a whole IPv6 /64 allocated: the
    /// restore must refuse at once, not try to fill 2^58 words.
    #[test]
    fn refuses_a_claim_beyond_what_a_snapshot_may_hold() {
        let mut a = Allocator::new("fd00::/64", Some(1)).unwrap();
        a.allocate(ip("fd00::1")).unwrap();
        let bytes = a.snapshot();
        assert_eq!(bytes[67], ENC_RUNS);
        for claim in [MAX_RESTORED_ADDRESSES + 1, u64::MAX] {
            let mut body = bytes[..HEADER_LEN].to_vec();
            body[59..67].copy_from_slice(&claim.to_le_bytes());
            put_varint(&mut body, 0);
            put_varint(&mut body, claim);
            let sum = fnv1a64(&body);
            body.extend_from_slice(&sum.to_le_bytes());
            let err = Allocator::restore("fd00::/64", &body).unwrap_err();
            assert!(err.to_string().contains("more than the"), "{err}");
        }
    }

    proptest! {
        #[test]
        fn restore_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Allocator::restore("10.0.0.0/24", &data);
        }

        /// Damage that keeps the checksum right (as a bug in a writer would) reaches
        /// the payload decoder: it must refuse or restore, never panic, and what it
        /// restores must be self-consistent.
        #[test]
        fn restore_of_resealed_damage_never_panics(
            seed in any::<u64>(),
            n in 0u64..200,
            cidr in prop_oneof![Just("10.0.0.0/22"), Just("fd00::/116"), Just("10.0.0.0/30")],
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            cut in any::<usize>(),
            tail in proptest::collection::vec(any::<u8>(), 0..24),
        ) {
            let mut a = Allocator::new(cidr, Some(seed)).unwrap();
            a.allocate_next_many(n.min(a.size())).unwrap();
            let bytes = a.snapshot();
            let mut body = bytes[..bytes.len() - CHECKSUM_LEN].to_vec();
            for (at, value) in edits {
                let at = at % body.len();
                body[at] = value;
            }
            body.truncate(HEADER_LEN + cut % (body.len() - HEADER_LEN + 1));
            body.extend_from_slice(&tail);
            let sum = fnv1a64(&body);
            body.extend_from_slice(&sum.to_le_bytes());
            if let Ok(b) = Allocator::restore(cidr, &body) {
                prop_assert_eq!(b.iter().count() as u64, b.used());
                prop_assert!(b.used() <= b.size());
            }
        }

        #[test]
        fn round_trips(seed in any::<u64>(), n in 0u64..300, cidr in prop_oneof![
            Just("10.0.0.0/24"), Just("10.0.0.0/22"), Just("fd00::/64"), Just("fd00::/120"),
            Just("10.0.0.0/31"),
        ]) {
            let mut a = Allocator::new(cidr, Some(seed)).unwrap();
            let n = n.min(a.size());
            a.allocate_next_many(n).unwrap();
            let mut b = Allocator::restore(cidr, &a.snapshot()).unwrap();
            prop_assert_eq!(a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
            prop_assert_eq!(a.allocate_next(), b.allocate_next());
            prop_assert_eq!(a.snapshot(), b.snapshot());
        }
    }
}
