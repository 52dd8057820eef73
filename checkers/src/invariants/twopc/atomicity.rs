//! AC1 (Bernstein, Hadzilacos and Goodman, 1987, section 7.2): all processes that reach a
//! decision reach the same one.
//!
//! Method: remember, for each transaction, the first decision any node recorded and who
//! recorded it; a later decision of the other outcome by any node is a violation. Two-phase
//! commit gets this from the coordinator's single decision, which participants only ever learn
//! (from the coordinator, or a peer that learned it); a participant that aborts on its own after
//! voting yes, or a peer that answers "abort" without knowing, breaks it.

use super::{txn_name, Event, Fact, Outcome, Txn};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Atomicity {
    /// Transaction -> its first decision and the fact that recorded it.
    first: BTreeMap<Txn, (Outcome, Fact)>,
}

impl Invariant<Fact> for Atomicity {
    fn check(&mut self, fact: &Fact) -> Result<(), String> {
        let Event::Decided(outcome) = fact.event else { return Ok(()) };
        let (first, by) = self.first.entry(fact.txn).or_insert_with(|| (outcome, fact.clone()));
        if *first != outcome {
            return Err(format!(
                "{} decided both ways: {} decided {first}, {} decided {outcome}",
                txn_name(fact.txn),
                by.label(),
                fact.label()
            ));
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
    fn every_node_deciding_alike_passes() {
        let seq = [
            decided(0, 1, (1, 1), Outcome::Commit),
            decided(2, 2, (1, 1), Outcome::Commit),
            decided(1, 3, (1, 2), Outcome::Abort),
        ];
        assert_eq!(check_with(Atomicity::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_participant_aborting_what_the_coordinator_committed_fails() {
        let seq = [
            voted(1, 1, (2, 5)),
            decided(0, 2, (2, 5), Outcome::Commit),
            decided(1, 3, (2, 5), Outcome::Abort),
        ];
        let Verdict::Violation(why) = check_with(Atomicity::default(), &seq) else { panic!("passed") };
        assert_eq!(why, "t2.5 decided both ways: n0 at 0.000 s decided commit, n1 at 0.000 s decided abort");
    }
}
