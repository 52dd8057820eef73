//! Agreement ("Paxos Made Simple", section 2.1, the safety requirements: "Only a single value
//! is chosen", and "a process never learns that a value has been chosen unless it actually
//! has been"; for a log of slots, per slot): no two learners ever learn different values chosen
//! at one slot, at any time, across restarts.
//!
//! Method: keep the first value (its digest) anyone learned at each slot, and who learned it;
//! any other digest learned at that slot later, by any node, is a violation.

use super::{PaxosObservation, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Agreement {
    /// slot -> (digest, who learned it first).
    chosen: BTreeMap<u64, (u64, Witness)>,
}

impl Invariant<PaxosObservation> for Agreement {
    fn check(&mut self, obs: &PaxosObservation) -> Result<(), String> {
        for l in &obs.learned {
            let (digest, by) = self.chosen.entry(l.slot).or_insert_with(|| (l.digest, obs.witness()));
            if *digest != l.digest {
                return Err(format!(
                    "slot {}: {by} learned {digest:016x} chosen but {} learned {:016x}",
                    l.slot,
                    obs.label(),
                    l.digest
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::*;
    use super::*;
    use crate::invariants::check_with;
    use crate::Verdict;

    #[test]
    fn the_same_value_learned_everywhere_passes() {
        let seq =
            [learned(0, 1, 1, 10, Some(b(1, 0))), learned(1, 2, 1, 10, None), learned(2, 3, 2, 20, None)];
        assert_eq!(check_with(Agreement::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn two_values_learned_at_one_slot_fail_even_much_later() {
        let seq = [learned(0, 1, 4, 40, None), learned(2, 900, 4, 41, Some(b(3, 2)))];
        let v = check_with(Agreement::default(), &seq);
        let Verdict::Violation(why) = v else { panic!("expected a violation, got {v}") };
        assert!(why.starts_with("slot 4") && why.contains("n0") && why.contains("n2"), "{why}");
    }
}
