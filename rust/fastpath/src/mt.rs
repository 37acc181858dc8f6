//! MT19937, drawn exactly as CPython's `random.Random` draws it.
//!
//! The engine's decisions (uids, the MetaAllocator's shuffles, node ports) come from one
//! seeded `random.Random` stream. The one-call create draws from it on every Service;
//! asking a Python object for 128 bits costs more than the rest of the draw. Keeping the
//! generator's state here lets Rust draw directly while Python code keeps calling
//! `getrandbits`/`random` on the same stream (`servicecidr.rng.SeededRandom`): both see
//! one sequence, the one CPython's C generator would give from the same state.

use std::collections::TryReserveError;

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The generator: CPython's `_random.Random` state (624 words and the position in them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mt19937 {
    state: Box<[u32; N]>,
    index: usize,
}

/// Why a state cannot be taken (the words of `random.Random.getstate()[1]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateError {
    /// Not 624 words and an index.
    Length(usize),
    /// An index past 624.
    Index(u64),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Length(n) => write!(f, "state vector is the wrong size ({n}, not 625)"),
            StateError::Index(i) => write!(f, "invalid state (index {i} is past 624)"),
        }
    }
}

impl Mt19937 {
    /// The generator at `words` (624 state words then the index, as
    /// `random.Random.getstate()[1]` gives them).
    pub fn from_state(words: &[u64]) -> Result<Self, StateError> {
        if words.len() != N + 1 {
            return Err(StateError::Length(words.len()));
        }
        let index = words[N];
        if index > N as u64 {
            return Err(StateError::Index(index));
        }
        let mut state = Box::new([0u32; N]);
        for (s, w) in state.iter_mut().zip(words) {
            *s = *w as u32; // CPython keeps the low 32 bits of each word too
        }
        Ok(Mt19937 {
            state,
            index: index as usize,
        })
    }

    /// The state as [`Mt19937::from_state`] takes it.
    pub fn state(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self.state.iter().map(|&w| u64::from(w)).collect();
        out.push(self.index as u64);
        out
    }

    fn twist(&mut self) {
        let mt = &mut self.state;
        let mag = |y: u32| if y & 1 == 0 { 0 } else { MATRIX_A };
        for kk in 0..N - M {
            let y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
            mt[kk] = mt[kk + M] ^ (y >> 1) ^ mag(y);
        }
        for kk in N - M..N - 1 {
            let y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
            mt[kk] = mt[kk + M - N] ^ (y >> 1) ^ mag(y);
        }
        let y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
        mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ mag(y);
        self.index = 0;
    }

    /// The next 32 bits (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` as little-endian 32-bit words (`ceil(k / 32)` of them; none for
    /// 0): each word is drawn in turn, the last one shifted down to its `k % 32` bits.
    /// Fails (drawing nothing) only when the words cannot be allocated.
    pub fn getrandbits_words(&mut self, k: u64) -> Result<Vec<u32>, TryReserveError> {
        if k <= 32 {
            return Ok(if k == 0 {
                Vec::new()
            } else {
                vec![self.next_u32() >> (32 - k)]
            });
        }
        let words = (k - 1) / 32 + 1;
        let mut left = k;
        let mut out = Vec::new();
        out.try_reserve_exact(usize::try_from(words).unwrap_or(usize::MAX))?;
        for _ in 0..words {
            let mut r = self.next_u32();
            if left < 32 {
                r >>= 32 - left;
            }
            out.push(r);
            left = left.saturating_sub(32);
        }
        Ok(out)
    }

    /// `getrandbits(k)` for `k <= 128`.
    pub fn getrandbits_u128(&mut self, k: u32) -> u128 {
        let k = k.min(128);
        let mut out = 0u128;
        let mut left = k;
        let mut shift = 0;
        while left > 0 {
            let mut r = self.next_u32();
            if left < 32 {
                r >>= 32 - left;
            }
            out |= u128::from(r) << shift;
            shift += 32;
            left = left.saturating_sub(32);
        }
        out
    }

    /// `random()`: 53 random bits as a float in [0, 1).
    pub fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `_randbelow(n)` (CPython's `_randbelow_with_getrandbits`): a draw of
    /// `n.bit_length()` bits, repeated until it is below `n`. `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits_u128(k) as u64;
            if r < n {
                return r;
            }
        }
    }

    /// The permutation `shuffle` makes of `0..n` (Fisher–Yates from the end, as
    /// `random.Random.shuffle` runs it).
    pub fn shuffled(&mut self, n: usize) -> Vec<usize> {
        let mut x: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            x.swap(i, j);
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `init_genrand(5489)`, the reference seeding of MT19937.
    fn reference() -> Mt19937 {
        let mut state = Box::new([0u32; N]);
        state[0] = 5489;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, index: N }
    }

    #[test]
    fn draws_the_reference_sequence() {
        // The first outputs of MT19937 seeded by init_genrand(5489) (the reference
        // implementation's mt19937ar.out, and std::mt19937's default).
        let mut mt = reference();
        let first: Vec<u32> = (0..5).map(|_| mt.next_u32()).collect();
        assert_eq!(
            first,
            [
                3_499_211_612,
                581_869_302,
                3_890_346_734,
                3_586_334_585,
                545_404_204
            ]
        );
        let mut mt = reference();
        for _ in 0..9_999 {
            mt.next_u32();
        }
        assert_eq!(mt.next_u32(), 4_123_659_995); // the 10000th (C++ [rand.predef])
    }

    #[test]
    fn state_round_trips_and_is_checked() {
        let mut mt = reference();
        mt.next_u32();
        let again = Mt19937::from_state(&mt.state()).unwrap();
        assert_eq!(again, mt);
        assert_eq!(Mt19937::from_state(&[0; 3]), Err(StateError::Length(3)));
        let mut words = mt.state();
        words[N] = 625;
        assert_eq!(Mt19937::from_state(&words), Err(StateError::Index(625)));
    }

    #[test]
    fn wide_draws_are_words_in_order() {
        let mut a = reference();
        let mut b = reference();
        let w: Vec<u32> = (0..4).map(|_| b.next_u32()).collect();
        let want = w
            .iter()
            .rev()
            .fold(0u128, |acc, &x| (acc << 32) | u128::from(x));
        assert_eq!(a.getrandbits_u128(128), want);
        // A partial last word keeps its high bits.
        let mut a = reference();
        let mut b = reference();
        let lo = b.next_u32();
        let hi = b.next_u32() >> 24;
        assert_eq!(a.getrandbits_words(40).unwrap(), vec![lo, hi]);
        assert!(reference().getrandbits_words(0).unwrap().is_empty());
        // u128 draws agree with the words for every width.
        for k in 0..=128u32 {
            let mut a = reference();
            let mut b = reference();
            let words = b.getrandbits_words(u64::from(k)).unwrap();
            let want = words
                .iter()
                .rev()
                .fold(0u128, |acc, &x| (acc << 32) | u128::from(x));
            assert_eq!(a.getrandbits_u128(k), want, "k={k}");
            assert_eq!(a, b);
        }
    }

    #[test]
    fn below_and_shuffle_stay_in_range() {
        let mut mt = reference();
        for n in 1..200u64 {
            assert!(mt.below(n) < n);
        }
        let mut p = mt.shuffled(7);
        p.sort_unstable();
        assert_eq!(p, (0..7).collect::<Vec<_>>());
        assert_eq!(mt.shuffled(1), vec![0]);
        assert!(mt.shuffled(0).is_empty());
    }
}
