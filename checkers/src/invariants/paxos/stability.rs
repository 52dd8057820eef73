//! Stability, Paxos's P2b ("Paxos Made Simple", section 2.2: "If a proposal with value v is
//! chosen, then every higher-numbered proposal issued by any proposer has value v"): once a
//! value is chosen at a slot, no leader of a higher ballot proposes anything else there, so the
//! chosen value stays chosen. It is what phase 1 exists for: a new leader must adopt, slot by
//! slot, the value of the highest ballot its promises report.
//!
//! Method: for each slot keep every proposal seen (ballot -> digest) and the lowest ballot at
//! which a value is known chosen there (a leader counted a majority of acceptances at its
//! ballot, or a follower was told its value at the leader's ballot is chosen). A proposal at a
//! higher ballot with another digest is a violation, whichever of the two was observed first:
//! P2b holds for every pair, not only in the order the harness happened to see them.

use super::{ballot_text, PaxosObservation, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
struct Slot {
    /// ballot -> (digest, who proposed it).
    proposals: BTreeMap<u64, (u64, Witness)>,
    /// The lowest ballot known chosen, its digest, and who learned it.
    chosen: Option<(u64, u64, Witness)>,
}

#[derive(Default)]
pub struct Stability {
    slots: BTreeMap<u64, Slot>,
}

impl Stability {
    /// The first proposal above the chosen ballot with another value, if any.
    fn conflict(slot: &Slot) -> Option<String> {
        let (chosen_at, digest, by) = slot.chosen.as_ref()?;
        let later = slot.proposals.range(chosen_at + 1..);
        let (ballot, (other, who)) = later.into_iter().find(|(_, (d, _))| d != digest)?;
        Some(format!(
            "{digest:016x} is chosen at ballot {} (learned by {by}), but {who} proposed {other:016x} at the higher ballot {}",
            ballot_text(*chosen_at),
            ballot_text(*ballot)
        ))
    }
}

impl Invariant<PaxosObservation> for Stability {
    fn check(&mut self, obs: &PaxosObservation) -> Result<(), String> {
        let mut touched = Vec::new();
        for p in &obs.proposed {
            let slot = self.slots.entry(p.slot).or_default();
            slot.proposals.entry(p.ballot).or_insert_with(|| (p.digest, obs.witness()));
            touched.push(p.slot);
        }
        for l in &obs.learned {
            let Some(ballot) = l.ballot else { continue };
            let slot = self.slots.entry(l.slot).or_default();
            if slot.chosen.as_ref().is_none_or(|(at, _, _)| ballot < *at) {
                slot.chosen = Some((ballot, l.digest, obs.witness()));
                touched.push(l.slot);
            }
        }
        for s in touched {
            if let Some(why) = Self::conflict(&self.slots[&s]) {
                return Err(format!("slot {s}: {why}"));
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
    fn a_new_leader_that_adopts_the_chosen_value_passes() {
        let seq = [
            proposed(0, 1, 5, b(1, 0), 50),
            learned(0, 2, 5, 50, Some(b(1, 0))),
            proposed(1, 3, 5, b(2, 1), 50),
            // Below the chosen ballot anything may have been proposed.
            proposed(2, 4, 5, b(0, 2), 99),
        ];
        assert_eq!(check_with(Stability::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_higher_ballot_proposing_another_value_fails_in_either_order() {
        let chosen = learned(0, 2, 5, 50, Some(b(1, 0)));
        let other = proposed(1, 3, 5, b(2, 1), 51);
        for seq in [[chosen.clone(), other.clone()], [other, chosen]] {
            let v = check_with(Stability::default(), &seq);
            let Verdict::Violation(why) = v else { panic!("expected a violation, got {v}") };
            assert!(why.starts_with("slot 5") && why.contains("2.1"), "{why}");
        }
    }
}
