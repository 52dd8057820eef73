//! Randomness: one named, version-stable PRNG for every draw faultline makes.
//!
//! `StdRng` and `SmallRng` may change their streams between `rand` releases, which would give
//! an old seed a new meaning; ChaCha8 from `rand_chacha` is a fixed algorithm. Independent
//! streams (the nemesis, each node, each client) are derived from the run seed and a label, so
//! adding draws to one stream does not shift the others.

use rand::SeedableRng;

/// The PRNG behind every random draw in faultline and in the protocols it runs.
pub type Rng = rand_chacha::ChaCha8Rng;

/// A stream for `purpose` derived from `seed`; the same arguments always give the same stream.
pub fn derive(seed: u64, purpose: &str, index: u64) -> Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&index.to_le_bytes());
    let label = xxhash_rust::xxh3::xxh3_128(purpose.as_bytes()).to_le_bytes();
    key[16..].copy_from_slice(&label);
    Rng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_stable_and_independent() {
        // Pinned values: if this changes, every printed seed changes meaning.
        let mut a = derive(7, "nemesis", 0);
        let first = a.next_u64();
        assert_eq!(first, derive(7, "nemesis", 0).next_u64());
        assert_ne!(first, derive(7, "nemesis", 1).next_u64());
        assert_ne!(first, derive(7, "client", 0).next_u64());
        assert_ne!(first, derive(8, "nemesis", 0).next_u64());
    }
}
