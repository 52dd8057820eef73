//! Hash tables for the search's hot path: interned model states, a transition cache, and sets
//! of configurations.
//!
//! The search memoizes (linearized set, state) pairs as Porcupine and Lowe do, which needs
//! constant-time membership tests. These tables are lookup-only: nothing ever iterates them, so
//! their order cannot leak into results, and the hasher is a fixed function (FxHash's
//! multiply-rotate, as in rustc) rather than a randomly seeded one, so runs are reproducible
//! even in how much memory they use.

#![allow(clippy::disallowed_types)] // lookup-only tables with a fixed hasher, see above

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// FxHash: fast, deterministic, good enough for in-process tables.
#[derive(Clone, Copy, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

type Fx = BuildHasherDefault<FxHasher>;

/// A map that can be queried and filled, never iterated.
pub(crate) struct LookupMap<K, V>(HashMap<K, V, Fx>);

impl<K: Hash + Eq, V> LookupMap<K, V> {
    pub fn new() -> Self {
        LookupMap(HashMap::default())
    }

    #[inline]
    pub fn get(&self, k: &K) -> Option<&V> {
        self.0.get(k)
    }

    #[inline]
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.0.insert(k, v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// A set that can be queried and filled, never iterated.
pub(crate) struct LookupSet<K>(LookupMap<K, ()>);

impl<K: Hash + Eq> LookupSet<K> {
    pub fn new() -> Self {
        LookupSet(LookupMap::new())
    }

    /// Adds `k`; true when it was not there yet.
    #[inline]
    pub fn insert(&mut self, k: K) -> bool {
        self.0.insert(k, ()).is_none()
    }

    #[inline]
    pub fn contains(&self, k: &K) -> bool {
        self.0.get(k).is_some()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Model states interned as small integers, with every transition computed at most once.
pub(crate) struct StateTable<S> {
    states: Vec<S>,
    ids: LookupMap<S, u32>,
    /// (state << 32 | op) -> next state, or [`NO_STATE`] when the op is invalid there.
    transitions: LookupMap<u64, u32>,
}

pub(crate) const NO_STATE: u32 = u32::MAX;

impl<S: Clone + Hash + Eq> StateTable<S> {
    pub fn new() -> Self {
        StateTable { states: Vec::new(), ids: LookupMap::new(), transitions: LookupMap::new() }
    }

    pub fn intern(&mut self, state: S) -> u32 {
        if let Some(&id) = self.ids.get(&state) {
            return id;
        }
        let id = self.states.len() as u32;
        self.states.push(state.clone());
        self.ids.insert(state, id);
        id
    }

    pub fn get(&self, id: u32) -> &S {
        &self.states[id as usize]
    }

    /// The state after op number `op` in state `id`, computing it with `step` on a miss.
    #[inline]
    pub fn step(&mut self, id: u32, op: u32, step: impl FnOnce(&S) -> Option<S>) -> Option<u32> {
        let key = (id as u64) << 32 | op as u64;
        if let Some(&next) = self.transitions.get(&key) {
            return (next != NO_STATE).then_some(next);
        }
        let next = step(&self.states[id as usize]).map(|s| self.intern(s));
        self.transitions.insert(key, next.unwrap_or(NO_STATE));
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_caches_transitions() {
        let mut t = StateTable::new();
        let a = t.intern("a".to_string());
        assert_eq!(t.intern("a".to_string()), a);
        let mut calls = 0;
        let mut step = |t: &mut StateTable<String>| {
            t.step(a, 7, |s| {
                calls += 1;
                Some(format!("{s}b"))
            })
        };
        let b = step(&mut t).unwrap();
        assert_eq!(step(&mut t), Some(b));
        assert_eq!(calls, 1);
        assert_eq!(t.get(b), "ab");
        assert_eq!(t.step(b, 1, |_| None), None);
        assert_eq!(t.step(b, 1, |_| Some("never".into())), None, "a cached failure stays a failure");
    }

    #[test]
    fn the_hasher_is_deterministic() {
        let hash = |v: &[u8]| {
            let mut h = FxHasher::default();
            h.write(v);
            h.finish()
        };
        assert_eq!(hash(b"abcdefghij"), hash(b"abcdefghij"));
        assert_ne!(hash(b"abcdefghij"), hash(b"abcdefghik"));
        let mut s = LookupSet::new();
        assert!(s.insert(3u64) && !s.insert(3u64) && s.len() == 1 && s.contains(&3));
    }
}
