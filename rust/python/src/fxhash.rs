//! The Fx hash of rustc, for the fast paths' small tables keyed by bytes the engine
//! reads on every call (shape keys, shared short strings): eight bytes at a time,
//! multiply and rotate. Not resistant to chosen collisions: each table that uses it is
//! small and bounded (cleared when full), so colliding keys cost at most a scan of it.

use std::hash::{BuildHasherDefault, Hasher};

/// The hasher (see the module doc).
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What a `HashMap` takes to hash with [`FxHasher`].
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
