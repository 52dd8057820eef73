//! Fixed-width bit sets over "slots": one slot per operation in flight.
//!
//! The search only remembers which of the operations currently in flight it has linearized
//! (completed ones are linearized in every configuration), so a set needs as many bits as
//! operations can be in flight at once in one part. A slot is given to an operation when it is
//! invoked and taken back when it returns; the search is monomorphized over the narrowest set
//! type that fits the part ([`SlotSet`]), because hashing and comparing these sets is most of
//! its work.

use std::hash::Hash;

/// A set of slot numbers below `CAPACITY`.
pub(crate) trait SlotSet: Copy + Eq + Hash + Default + Send + std::fmt::Debug {
    const CAPACITY: usize;
    fn has(&self, i: usize) -> bool;
    fn with(self, i: usize) -> Self;
    fn without(self, i: usize) -> Self;
    /// Whether every slot of `other` is in `self`.
    fn contains_all(&self, other: &Self) -> bool;
    fn count(&self) -> u32;
}

macro_rules! int_slot_set {
    ($t:ty) => {
        impl SlotSet for $t {
            const CAPACITY: usize = <$t>::BITS as usize;

            #[inline]
            fn has(&self, i: usize) -> bool {
                self >> i & 1 == 1
            }

            #[inline]
            fn with(self, i: usize) -> Self {
                self | 1 << i
            }

            #[inline]
            fn without(self, i: usize) -> Self {
                self & !(1 << i)
            }

            #[inline]
            fn contains_all(&self, other: &Self) -> bool {
                self & other == *other
            }

            #[inline]
            fn count(&self) -> u32 {
                self.count_ones()
            }
        }
    };
}

int_slot_set!(u64);
int_slot_set!(u128);

/// A set of `64 * N` slots.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Wide<const N: usize>([u64; N]);

impl<const N: usize> Default for Wide<N> {
    fn default() -> Self {
        Wide([0; N])
    }
}

impl<const N: usize> SlotSet for Wide<N> {
    const CAPACITY: usize = 64 * N;

    #[inline]
    fn has(&self, i: usize) -> bool {
        self.0[i / 64].has(i % 64)
    }

    #[inline]
    fn with(mut self, i: usize) -> Self {
        self.0[i / 64] = self.0[i / 64].with(i % 64);
        self
    }

    #[inline]
    fn without(mut self, i: usize) -> Self {
        self.0[i / 64] = self.0[i / 64].without(i % 64);
        self
    }

    #[inline]
    fn contains_all(&self, other: &Self) -> bool {
        self.0.iter().zip(other.0.iter()).all(|(a, b)| a.contains_all(b))
    }

    #[inline]
    fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise<B: SlotSet>() {
        let last = B::CAPACITY - 1;
        let s = B::default().with(0).with(last).with(63);
        assert!(s.has(0) && s.has(last) && s.has(63) && !s.has(1));
        assert_eq!(s.count(), if last == 63 { 2 } else { 3 });
        assert!(s.contains_all(&B::default().with(last)));
        assert!(!s.without(last).contains_all(&B::default().with(last)));
    }

    #[test]
    fn every_width_behaves_as_a_set() {
        exercise::<u64>();
        exercise::<u128>();
        exercise::<Wide<4>>();
        exercise::<Wide<16>>();
    }
}
