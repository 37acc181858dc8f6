//! One Service IP range, allocated the way kube-apiserver's ipallocator does it.
//!
//! Facts mirrored from `pkg/registry/core/service/ipallocator/ipallocator.go` and
//! `bitmap.go`:
//!
//! * usable addresses run from network+1 to broadcast-1 (IPv4) or to the last address
//!   of the prefix (IPv6, where the all-ones address is usable);
//! * size is `2^h - 2` (IPv4) or `2^h - 1` (IPv6) for `h` host bits, capped at
//!   `u64::MAX` (`hostsPerNetwork`); IPv6 prefixes shorter than /64 are refused, so the
//!   cap only ever meets the exact count of a /64;
//! * KEP-3070 splits the usable addresses at `offset = min(max(16, 2^h / 16), 256)`
//!   (0 when `2^h <= 16`; `calculateRangeOffset`, with `2^h` itself capped at
//!   `i64::MAX`): the first `offset` usable addresses form the lower (static) band,
//!   the rest the upper (dynamic) band;
//! * `allocate_next` starts at a uniformly random address of the upper band and scans
//!   upward with wrap-around for a free one, then does the same in the lower band,
//!   then reports the range full;
//! * `allocate` of an address outside the usable addresses is `ErrNotInRange`, of a
//!   held one `ErrAllocated`; release of a free or foreign address is a no-op.

use crate::bitmap::Bits;
use crate::cidr::Cidr;
use crate::error::Error;
use crate::ip::{Family, Ip};
use crate::rng::Rng;

/// The shortest IPv6 prefix the allocator accepts (`NewIPAllocator`).
pub const MIN_IPV6_PREFIX_LEN: u8 = 64;

/// The allocation state of one Service CIDR.
#[derive(Clone, Debug)]
pub struct Allocator {
    cidr: Cidr,
    /// Value of the first usable address (network + 1).
    first: u128,
    /// Number of usable addresses.
    size: u64,
    /// KEP-3070 offset: size of the lower band.
    offset: u64,
    used: u64,
    bits: Bits,
    rng: Rng,
}

/// Number of usable addresses for `cidr` (`hostsPerNetwork`).
pub fn range_size(cidr: &Cidr) -> u64 {
    let h = cidr.host_bits();
    if h >= 64 {
        return u64::MAX;
    }
    let all = 1u64 << h;
    let reserved = match cidr.family() {
        Family::V4 => 2,
        Family::V6 => 1,
    };
    all.saturating_sub(reserved)
}

/// The KEP-3070 lower-band size for `cidr` (`calculateRangeOffset`).
pub fn range_offset(cidr: &Cidr) -> u64 {
    const MIN: u64 = 16;
    const MAX: u64 = 256;
    const STEP: u64 = 16;
    let h = cidr.host_bits();
    // netutils.RangeSize: 2^h, capped at MaxInt64.
    let cidr_size = if h >= 63 { i64::MAX as u64 } else { 1u64 << h };
    if cidr_size <= MIN {
        return 0;
    }
    (cidr_size / STEP).clamp(MIN, MAX)
}

impl Allocator {
    /// An empty allocator for `cidr` (text, parsed strictly), with a seeded or an
    /// entropy-seeded random generator.
    pub fn new(cidr: &str, seed: Option<u64>) -> Result<Allocator, Error> {
        Allocator::for_cidr(Error::parse_cidr(cidr)?, seed)
    }

    /// An empty allocator for a parsed `cidr`.
    pub fn for_cidr(cidr: Cidr, seed: Option<u64>) -> Result<Allocator, Error> {
        let rng = match seed {
            Some(s) => Rng::from_seed(s),
            None => Rng::from_entropy(),
        };
        Allocator::with_rng(cidr, rng)
    }

    fn with_rng(cidr: Cidr, rng: Rng) -> Result<Allocator, Error> {
        if cidr.family() == Family::V6 && cidr.prefix_len() < MIN_IPV6_PREFIX_LEN {
            return Err(Error::PrefixTooShort {
                prefix_len: cidr.prefix_len(),
            });
        }
        let size = range_size(&cidr);
        Ok(Allocator {
            cidr,
            // Saturating: past the last address of the family (`255.255.255.255/32`,
            // `ffff:..:ffff/128`) the range is empty, and `first` is never read.
            first: cidr.network().value().saturating_add(1),
            size,
            offset: range_offset(&cidr),
            used: 0,
            bits: Bits::new(size),
            rng,
        })
    }

    /// The range, canonical.
    pub fn cidr(&self) -> &Cidr {
        &self.cidr
    }

    /// The address family of the range.
    pub fn family(&self) -> Family {
        self.cidr.family()
    }

    /// Number of usable addresses.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Number of allocated addresses.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Number of free usable addresses.
    pub fn free(&self) -> u64 {
        self.size - self.used
    }

    /// The KEP-3070 offset: how many of the first usable addresses form the lower
    /// (static) band.
    pub fn range_offset(&self) -> u64 {
        self.offset
    }

    /// The first usable address, if any.
    pub fn first_address(&self) -> Option<Ip> {
        (self.size > 0).then(|| self.ip_at(0))
    }

    /// The last usable address, if any.
    pub fn last_address(&self) -> Option<Ip> {
        (self.size > 0).then(|| self.ip_at(self.size - 1))
    }

    /// The address at `index` among the usable addresses.
    fn ip_at(&self, index: u64) -> Ip {
        Ip::new(self.family(), self.first + u128::from(index))
    }

    /// The index of `ip` among the usable addresses, if it is one.
    fn index_of(&self, ip: Ip) -> Option<u64> {
        if ip.family() != self.family() || ip.value() < self.first {
            return None;
        }
        let delta = ip.value() - self.first;
        (delta < u128::from(self.size)).then_some(delta as u64)
    }

    /// Whether `ip` is one of the usable addresses (whether or not it is allocated).
    pub fn contains(&self, ip: Ip) -> bool {
        self.index_of(ip).is_some()
    }

    /// Whether `ip` is allocated; false for addresses outside the usable ones.
    pub fn has(&self, ip: Ip) -> bool {
        self.index_of(ip).is_some_and(|i| self.bits.get(i))
    }

    /// Reserves `ip`. Either band may be used.
    pub fn allocate(&mut self, ip: Ip) -> Result<(), Error> {
        let index = self.index_of(ip).ok_or(Error::NotInRange {
            ip,
            range: self.cidr,
        })?;
        if !self.bits.set(index) {
            return Err(Error::AlreadyAllocated { ip });
        }
        self.used += 1;
        Ok(())
    }

    /// Restarts the random sequence of `allocate_next` from `seed`. A restarted
    /// apiserver does not resume its predecessor's random stream; the engine reseeds on
    /// every start so that a history reopened many times does not replay one sequence.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng::from_seed(seed);
    }

    /// Reserves `ip` when it is a free usable address; returns whether it did. Unlike
    /// [`Allocator::allocate`] this is not an error for a taken or foreign address: it
    /// is how every allocator overlapping a prefix learns of an address another one
    /// handed out (Kubernetes' allocators share one IPAddress store).
    pub fn mark(&mut self, ip: Ip) -> bool {
        match self.index_of(ip) {
            Some(i) if self.bits.set(i) => {
                self.used += 1;
                true
            }
            _ => false,
        }
    }

    /// Reserves a free address: a random start in the upper band, scanning upward with
    /// wrap-around, then the same in the lower band.
    pub fn allocate_next(&mut self) -> Result<Ip, Error> {
        if self.used == self.size {
            return Err(Error::RangeFull);
        }
        // The offset is always below the size (see `range_offset`); the guards only
        // keep a corrupt state from turning into an arithmetic panic.
        let upper = if self.offset < self.size {
            self.find_in_band(self.offset, self.size - 1)
        } else {
            None
        };
        let index = upper
            .or_else(|| {
                if self.offset > 0 {
                    self.find_in_band(0, (self.offset - 1).min(self.size - 1))
                } else {
                    None
                }
            })
            .ok_or(Error::RangeFull)?;
        self.bits.set(index);
        self.used += 1;
        Ok(self.ip_at(index))
    }

    /// A free index in `lo..=hi` found from a uniformly random start, wrapping once.
    fn find_in_band(&mut self, lo: u64, hi: u64) -> Option<u64> {
        // `hi - lo + 1` cannot overflow: `hi < size <= u64::MAX`.
        let start = lo + self.rng.below(hi - lo + 1);
        self.bits.next_zero_in(start, hi).or_else(|| {
            start
                .checked_sub(1)
                .and_then(|end| self.bits.next_zero_in(lo, end))
        })
    }

    /// Frees `ip`; returns whether it was allocated. A free address or one outside the
    /// range is a no-op, as in Kubernetes.
    pub fn release(&mut self, ip: Ip) -> bool {
        match self.index_of(ip) {
            Some(i) if self.bits.clear(i) => {
                self.used -= 1;
                true
            }
            _ => false,
        }
    }

    /// Reserves every address of `ips`, or none of them: on the first failure the
    /// ones already reserved by this call are released and the failing position is
    /// returned with the error. A repeated address fails as already allocated.
    pub fn allocate_many(&mut self, ips: &[Ip]) -> Result<(), (usize, Error)> {
        for (i, &ip) in ips.iter().enumerate() {
            if let Err(e) = self.allocate(ip) {
                for &done in &ips[..i] {
                    self.release(done);
                }
                return Err((i, e));
            }
        }
        Ok(())
    }

    /// Reserves `n` addresses exactly as `n` calls of [`Allocator::allocate_next`]
    /// would, or none when fewer than `n` are free.
    pub fn allocate_next_many(&mut self, n: u64) -> Result<Vec<Ip>, Error> {
        if n > self.free() {
            return Err(Error::RangeFull);
        }
        let mut out = Vec::new();
        out.try_reserve_exact(n as usize)
            .map_err(|_| Error::TooMany { requested: n })?;
        for _ in 0..n {
            out.push(self.allocate_next()?);
        }
        Ok(out)
    }

    /// Frees every address of `ips` (foreign or free ones are no-ops); returns how
    /// many were freed.
    pub fn release_many(&mut self, ips: &[Ip]) -> u64 {
        ips.iter().filter(|&&ip| self.release(ip)).count() as u64
    }

    /// The allocated addresses' indices among the usable addresses, in order.
    pub fn allocated_indices(&self) -> Vec<u64> {
        self.bits.ones()
    }

    /// The allocated addresses, in address order.
    pub fn iter(&self) -> impl Iterator<Item = Ip> + '_ {
        self.allocated_indices()
            .into_iter()
            .map(move |i| self.ip_at(i))
    }

    /// The address for an index returned by [`Allocator::allocated_indices`].
    pub fn address_at(&self, index: u64) -> Option<Ip> {
        (index < self.size).then(|| self.ip_at(index))
    }

    /// Internal access for the snapshot codec.
    pub(crate) fn rng(&self) -> &Rng {
        &self.rng
    }

    pub(crate) fn leaf_words(&self) -> Vec<(u64, u64)> {
        self.bits.leaf_words()
    }

    /// An empty allocator with a given generator state (snapshot restore).
    pub(crate) fn restored(cidr: Cidr, rng: Rng) -> Result<Allocator, Error> {
        Allocator::with_rng(cidr, rng)
    }

    /// ORs a leaf word in during restore, keeping `used` right.
    pub(crate) fn restore_word(&mut self, word_idx: u64, mask: u64) {
        self.bits.or_leaf_word(word_idx, mask);
        self.used += u64::from(mask.count_ones());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn ip(s: &str) -> Ip {
        Ip::parse(s).unwrap()
    }

    #[test]
    fn reseed_restarts_the_random_sequence() {
        let mut a = Allocator::new("10.0.0.0/16", Some(1)).unwrap();
        let mut b = Allocator::new("10.0.0.0/16", Some(99)).unwrap();
        a.reseed(7);
        b.reseed(7);
        for _ in 0..50 {
            assert_eq!(a.allocate_next().unwrap(), b.allocate_next().unwrap());
        }
    }

    #[test]
    fn mark_is_idempotent_and_ignores_foreign_addresses() {
        let mut a = Allocator::new("10.0.0.0/29", Some(1)).unwrap();
        let ip = Ip::parse("10.0.0.3").unwrap();
        assert!(a.mark(ip));
        assert!(!a.mark(ip));
        assert_eq!(a.used(), 1);
        assert!(!a.mark(Ip::parse("10.0.0.0").unwrap()));
        assert!(!a.mark(Ip::parse("10.1.0.1").unwrap()));
        assert_eq!(a.used(), 1);
    }

    fn alloc(cidr: &str) -> Allocator {
        Allocator::new(cidr, Some(1)).unwrap()
    }

    #[test]
    fn sizes_and_offsets_like_kubernetes() {
        // (cidr, size, offset) from hostsPerNetwork / calculateRangeOffset and their tests.
        let cases: &[(&str, u64, u64)] = &[
            ("192.168.1.0/24", 254, 16),
            ("192.168.1.0/25", 126, 16),
            ("192.168.1.0/27", 30, 16),
            ("192.168.1.0/28", 14, 0),
            ("192.168.1.240/30", 2, 0),
            ("192.168.1.0/31", 0, 0),
            ("192.168.1.0/32", 0, 0),
            ("10.0.0.0/20", 4094, 256),
            ("10.0.0.0/21", 2046, 128),
            ("10.0.0.0/16", 65534, 256),
            ("10.0.0.0/12", 1_048_574, 256),
            ("0.0.0.0/1", (1 << 31) - 2, 256),
            ("0.0.0.0/0", u64::from(u32::MAX) - 1, 256),
            ("2001:db2::/112", 65535, 256),
            ("2001:db8:1::/116", 4095, 256),
            ("fd00::/120", 255, 16),
            ("fd00::/124", 15, 0),
            ("2001:db8::/127", 1, 0),
            ("2001:db8::/128", 0, 0),
            ("2001:db8::/65", (1 << 63) - 1, 256),
            ("2001:db8::/64", u64::MAX, 256),
            // The last prefix of each family: network + 1 is past the family's end.
            ("255.255.255.255/32", 0, 0),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 0, 0),
            ("ffff:ffff:ffff:ffff::/64", u64::MAX, 256),
        ];
        for &(cidr, size, offset) in cases {
            let a = alloc(cidr);
            assert_eq!((a.size(), a.range_offset()), (size, offset), "{cidr}");
            assert_eq!(a.free(), size);
        }
    }

    #[test]
    fn ipv6_shorter_than_64_is_refused() {
        let err = Allocator::new("2001:db8:1::/48", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "shortest allowed prefix length for service CIDR is 64, got 48"
        );
    }

    #[test]
    fn slash_28_hands_out_1_to_14_then_full() {
        let mut a = alloc("10.96.0.0/28");
        let mut got: Vec<String> = (0..14)
            .map(|_| a.allocate_next().unwrap().to_string())
            .collect();
        got.sort_by_key(|s| ip(s));
        let want: Vec<String> = (1..=14).map(|i| format!("10.96.0.{i}")).collect();
        assert_eq!(got, want);
        assert_eq!(a.allocate_next(), Err(Error::RangeFull));
        assert_eq!(a.allocate_next_many(1), Err(Error::RangeFull));
    }

    #[test]
    fn tiny_ranges_are_always_full() {
        for cidr in ["192.168.1.0/32", "192.168.1.0/31", "fd00::/128"] {
            let mut a = alloc(cidr);
            assert_eq!(a.allocate_next(), Err(Error::RangeFull), "{cidr}");
            assert_eq!(a.allocate_next_many(0), Ok(vec![]));
        }
        let mut a = alloc("2001:db8::/127");
        assert_eq!(a.allocate_next().unwrap().to_string(), "2001:db8::1");
        assert_eq!(a.allocate_next(), Err(Error::RangeFull));
    }

    #[test]
    fn bands_on_a_slash_24() {
        let mut a = alloc("192.168.0.0/24");
        let lower: BTreeSet<Ip> = (1..=16).map(|i| ip(&format!("192.168.0.{i}"))).collect();
        for _ in 0..(254 - 16) {
            let got = a.allocate_next().unwrap();
            assert!(!lower.contains(&got), "{got} is in the static band");
        }
        let rest: BTreeSet<Ip> = (0..16).map(|_| a.allocate_next().unwrap()).collect();
        assert_eq!(rest, lower);
        assert_eq!(a.allocate_next(), Err(Error::RangeFull));
    }

    #[test]
    fn reserved_and_out_of_range_addresses() {
        let mut a = alloc("192.168.1.0/24");
        for s in [
            "192.168.0.1",
            "192.168.1.0",
            "192.168.1.255",
            "192.168.2.2",
            "::1",
        ] {
            let e = a.allocate(ip(s)).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "the provided IP ({s}) is not in the valid range. \
                     The range of valid IPs is 192.168.1.0/24"
                )
            );
            assert!(!a.contains(ip(s)));
            assert!(!a.release(ip(s)));
        }
        a.allocate(ip("192.168.1.1")).unwrap();
        assert_eq!(
            a.allocate(ip("192.168.1.1")),
            Err(Error::AlreadyAllocated {
                ip: ip("192.168.1.1")
            })
        );
        let mut v6 = alloc("2001:db8:1::/116");
        assert!(v6.contains(ip("2001:db8:1::fff")));
        assert!(!v6.contains(ip("2001:db8:1::")));
        assert!(!v6.contains(ip("2001:db8:1::1000")));
        v6.allocate(ip("2001:db8:1::fff")).unwrap();
    }

    #[test]
    fn release_then_reallocate_the_only_free_address() {
        let mut a = alloc("192.168.1.0/24");
        while a.free() > 0 {
            a.allocate_next().unwrap();
        }
        assert!(a.release(ip("192.168.1.5")));
        assert!(!a.release(ip("192.168.1.5")));
        assert_eq!(a.allocate_next().unwrap(), ip("192.168.1.5"));
    }

    #[test]
    fn batches_are_all_or_nothing() {
        let mut a = alloc("10.0.0.0/24");
        a.allocate(ip("10.0.0.7")).unwrap();
        let batch = [ip("10.0.0.5"), ip("10.0.0.6"), ip("10.0.0.7")];
        assert_eq!(
            a.allocate_many(&batch),
            Err((2, Error::AlreadyAllocated { ip: ip("10.0.0.7") }))
        );
        assert_eq!(a.used(), 1);
        let dup = [ip("10.0.0.5"), ip("10.0.0.5")];
        assert!(a.allocate_many(&dup).is_err());
        assert_eq!(a.used(), 1);
        a.allocate_many(&batch[..2]).unwrap();
        assert_eq!(a.used(), 3);
        assert_eq!(a.release_many(&batch), 3);
        assert_eq!(a.release_many(&batch), 0);
        assert_eq!(a.allocate_next_many(255), Err(Error::RangeFull));
        assert_eq!(a.used(), 0);
        assert_eq!(a.allocate_next_many(254).unwrap().len(), 254);
    }

    #[test]
    fn same_seed_same_addresses() {
        let run = |seed| {
            let mut a = Allocator::new("fd00::/64", Some(seed)).unwrap();
            let mut v: Vec<String> = (0..20)
                .map(|_| a.allocate_next().unwrap().to_string())
                .collect();
            v.extend(a.allocate_next_many(5).unwrap().iter().map(Ip::to_string));
            v
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        // Pinned: the sequence for a seed is part of the contract (replays and
        // simulations rely on it), so a change here is a breaking change.
        let mut a = Allocator::new("10.0.0.0/24", Some(0)).unwrap();
        let first: Vec<String> = (0..3)
            .map(|_| a.allocate_next().unwrap().to_string())
            .collect();
        assert_eq!(first, ["10.0.0.160", "10.0.0.194", "10.0.0.41"]);
        let mut b = Allocator::new("fd00::/64", Some(0)).unwrap();
        assert_eq!(
            b.allocate_next().unwrap().to_string(),
            "fd00::99ec:5f36:cb75:f31a"
        );
    }

    #[test]
    fn ipv6_last_address_is_usable() {
        let mut a = alloc("fd00::/120");
        a.allocate(ip("fd00::ff")).unwrap();
        assert_eq!(a.last_address(), Some(ip("fd00::ff")));
        let mut big = alloc("fd00:1:2:3::/64");
        big.allocate(ip("fd00:1:2:3:ffff:ffff:ffff:ffff")).unwrap();
        assert!(big.has(ip("fd00:1:2:3:ffff:ffff:ffff:ffff")));
        assert!(!big.contains(ip("fd00:1:2:3::")));
        assert_eq!(
            big.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            ["fd00:1:2:3:ffff:ffff:ffff:ffff"]
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Next,
        NextMany(u8),
        Allocate(u64),
        Release(u64),
        ReleaseAllocated(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Next),
            1 => (0u8..20).prop_map(Op::NextMany),
            2 => any::<u64>().prop_map(Op::Allocate),
            1 => any::<u64>().prop_map(Op::Release),
            2 => any::<usize>().prop_map(Op::ReleaseAllocated),
        ]
    }

    fn cidr_strategy() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("10.0.0.0/28"),
            Just("10.0.0.0/27"),
            Just("10.0.0.0/24"),
            Just("10.0.0.0/22"),
            Just("10.0.0.0/30"),
            Just("10.0.0.0/31"),
            Just("fd00::/120"),
            Just("fd00::/124"),
            Just("fd00::/64"),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn invariants_hold(cidr in cidr_strategy(), seed in any::<u64>(),
                           ops in proptest::collection::vec(op(), 1..300)) {
            let mut a = Allocator::new(cidr, Some(seed)).unwrap();
            let mut model: BTreeSet<Ip> = BTreeSet::new();
            let cidr_net = *a.cidr();
            // Addresses around the range: a little below, the range, a little above.
            let pick = |a: &Allocator, raw: u64| {
                let span = a.size().min(1 << 20) + 4;
                Ip::new(a.family(), cidr_net.network().value() + u128::from(raw % span))
            };
            for op in ops {
                match op {
                    Op::Next => match a.allocate_next() {
                        Ok(got) => {
                            prop_assert!(a.contains(got));
                            prop_assert!(model.insert(got), "{} handed out twice", got);
                        }
                        Err(e) => {
                            prop_assert_eq!(e, Error::RangeFull);
                            prop_assert_eq!(model.len() as u64, a.size());
                        }
                    },
                    Op::NextMany(n) => {
                        let before = a.used();
                        match a.allocate_next_many(u64::from(n)) {
                            Ok(got) => {
                                prop_assert_eq!(got.len(), usize::from(n));
                                for g in got {
                                    prop_assert!(model.insert(g));
                                }
                            }
                            Err(e) => {
                                prop_assert_eq!(e, Error::RangeFull);
                                prop_assert!(a.free() < u64::from(n));
                                prop_assert_eq!(a.used(), before);
                            }
                        }
                    }
                    Op::Allocate(raw) => {
                        let ip = pick(&a, raw);
                        let r = a.allocate(ip);
                        if !a.contains(ip) {
                            let is_not_in_range = matches!(r, Err(Error::NotInRange { .. }));
                            prop_assert!(is_not_in_range);
                        } else if model.contains(&ip) {
                            prop_assert_eq!(r, Err(Error::AlreadyAllocated { ip }));
                        } else {
                            prop_assert_eq!(r, Ok(()));
                            model.insert(ip);
                        }
                    }
                    Op::Release(raw) => {
                        let ip = pick(&a, raw);
                        prop_assert_eq!(a.release(ip), model.remove(&ip));
                        prop_assert!(!a.release(ip));
                    }
                    Op::ReleaseAllocated(k) => {
                        if !model.is_empty() {
                            let ip = *model.iter().nth(k % model.len()).unwrap();
                            prop_assert!(a.release(ip));
                            model.remove(&ip);
                        }
                    }
                }
                prop_assert_eq!(a.used() + a.free(), a.size());
                prop_assert_eq!(a.used(), model.len() as u64);
            }
            prop_assert_eq!(a.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            for &ip in &model {
                prop_assert!(a.has(ip));
            }
        }
    }
}
