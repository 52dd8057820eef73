//! Unique proposals ("Paxos Made Simple", section 2.2: "different proposals have different
//! numbers"; section 2.5: "different proposers choose their numbers from disjoint sets", and a
//! proposer "must remember ... the highest-numbered proposal it has ever tried to issue" across
//! failures): a ballot proposes at most one value per slot. Two values under one ballot make
//! phase 1's rule ("adopt the value of the highest ballot") ambiguous, and a value chosen under
//! that ballot can be replaced by the other.
//!
//! Method: keep the first digest proposed at each (slot, ballot) and who proposed it; any other
//! digest proposed there later is a violation (a proposer that restarted and issued its old
//! ballot again, say).

use super::{ballot_text, PaxosObservation, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct UniqueProposals {
    /// (slot, ballot) -> (digest, who proposed it first).
    proposals: BTreeMap<(u64, u64), (u64, Witness)>,
}

impl Invariant<PaxosObservation> for UniqueProposals {
    fn check(&mut self, obs: &PaxosObservation) -> Result<(), String> {
        for p in &obs.proposed {
            let (digest, by) =
                self.proposals.entry((p.slot, p.ballot)).or_insert_with(|| (p.digest, obs.witness()));
            if *digest != p.digest {
                return Err(format!(
                    "slot {}: ballot {} proposed {digest:016x} ({by}) and {:016x} ({})",
                    p.slot,
                    ballot_text(p.ballot),
                    p.digest,
                    obs.label()
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
    fn one_value_per_ballot_and_slot_passes() {
        let seq = [
            proposed(0, 1, 1, b(1, 0), 10),
            proposed(0, 2, 1, b(1, 0), 10), // a resend
            proposed(1, 3, 1, b(2, 1), 11),
            proposed(0, 4, 2, b(1, 0), 20),
        ];
        assert_eq!(check_with(UniqueProposals::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_reused_ballot_with_another_value_fails() {
        let seq = [proposed(0, 1, 3, b(4, 0), 30), proposed(0, 50, 3, b(4, 0), 31)];
        let v = check_with(UniqueProposals::default(), &seq);
        let Verdict::Violation(why) = v else { panic!("expected a violation, got {v}") };
        assert!(why.contains("ballot 4.0") && why.starts_with("slot 3"), "{why}");
    }
}
