//! A small seeded PRNG: xoshiro256** seeded through SplitMix64.
//!
//! Written here rather than taken from a crate so that the sequence for a given seed
//! is fixed by this file alone: the same seed and the same calls give the same
//! addresses on every platform and every release that keeps this file.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// xoshiro256** (Blackman and Vigna), 256 bits of state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

/// One step of SplitMix64; used to spread a 64-bit seed over the 256-bit state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole sequence is determined by `seed`.
    pub fn from_seed(seed: u64) -> Rng {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        // SplitMix64 outputs are a bijection of distinct counters, so four of them are
        // never all zero (the one state xoshiro cannot leave).
        Rng { s }
    }

    /// A generator seeded from the OS entropy that std's `RandomState` draws, mixed
    /// with the clock and a process-wide counter so that two generators created in
    /// the same instant still differ.
    pub fn from_entropy() -> Rng {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut h = RandomState::new().build_hasher();
        h.write_u64(nanos);
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        Rng::from_seed(h.finish())
    }

    /// Restores a generator from [`Rng::state`]; `None` for the all-zero state, which
    /// no generator can reach.
    pub fn from_state(s: [u64; 4]) -> Option<Rng> {
        if s == [0; 4] {
            None
        } else {
            Some(Rng { s })
        }
    }

    /// The full internal state, for snapshots.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniformly distributed integer in `0..n` (`n` must be positive; 0 gives 0).
    ///
    /// Lemire's multiply-and-reject method: exact uniformity, and in the common case a
    /// single multiplication with no division.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs of SplitMix64 seeded with 1234567 (from the reference C code).
        let mut s = 1234567u64;
        assert_eq!(splitmix64(&mut s), 6457827717110365317);
        assert_eq!(splitmix64(&mut s), 3203168211198807973);
    }

    #[test]
    fn fixed_sequence_for_a_seed() {
        let mut a = Rng::from_seed(42);
        let mut b = Rng::from_seed(42);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::from_seed(43).next_u64(), xs[0]);
    }

    #[test]
    fn below_stays_in_bounds_and_covers() {
        let mut r = Rng::from_seed(7);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = r.below(10);
            assert!(v < 10);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(r.below(1), 0);
        assert!(r.below(u64::MAX) < u64::MAX);
    }

    #[test]
    fn state_round_trip() {
        let mut r = Rng::from_seed(9);
        r.next_u64();
        let mut copy = Rng::from_state(r.state()).unwrap();
        assert_eq!(copy.next_u64(), r.next_u64());
        assert!(Rng::from_state([0; 4]).is_none());
    }
}
