//! Keys interned as dense `u32` ids, so that per-key work indexes flat vectors.
//!
//! Interning is a hash lookup per micro-operation. The table is only ever looked up, never
//! iterated: ids are handed out in first-seen order, so results do not depend on hashing. The
//! hasher is a small multiply-rotate hash (as rustc's FxHash) because std's SipHash costs more
//! than the rest of decoding for integer keys.

use crate::history::Value;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A key as the checker accepts it: an integer or a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Atom<'h> {
    Int(i64),
    Str(&'h str),
}

impl<'h> Atom<'h> {
    pub(crate) fn of(value: &'h Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(Atom::Int(*i)),
            Value::Str(s) => Some(Atom::Str(s)),
            _ => None,
        }
    }
}

#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(i.into());
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

// Lookup only, never iterated (see the module header), so hash order cannot leak into results.
#[allow(clippy::disallowed_types)]
type Table<'h> = std::collections::HashMap<Atom<'h>, u32, BuildHasherDefault<FxHasher>>;

/// Assigns dense ids to keys in first-seen order.
#[derive(Default)]
pub(crate) struct KeyInterner<'h> {
    ids: Table<'h>,
    keys: Vec<&'h Value>,
}

impl<'h> KeyInterner<'h> {
    /// The id of `key`, or `None` when it is neither an integer nor a string.
    pub(crate) fn intern(&mut self, key: &'h Value) -> Option<u32> {
        let atom = Atom::of(key)?;
        let next = self.keys.len() as u32;
        let id = *self.ids.entry(atom).or_insert(next);
        if id == next {
            self.keys.push(key);
        }
        Some(id)
    }

    /// The keys by id.
    pub(crate) fn into_keys(self) -> Vec<&'h Value> {
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_stable() {
        let values: Vec<Value> = vec![9.into(), "a".into(), 9.into(), Value::Nil, "a".into(), 3.into()];
        let mut interner = KeyInterner::default();
        let ids: Vec<_> = values.iter().map(|v| interner.intern(v)).collect();
        assert_eq!(ids, vec![Some(0), Some(1), Some(0), None, Some(1), Some(2)]);
        let keys = interner.into_keys();
        assert_eq!(keys, vec![&values[0], &values[1], &values[5]]);
    }
}
