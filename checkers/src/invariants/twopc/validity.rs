//! AC3 (Bernstein, Hadzilacos and Goodman, 1987, section 7.2): the commit decision can only be
//! reached if all processes voted yes.
//!
//! Method: remember every (participant, transaction) that voted yes; when the coordinator
//! decides to commit, each participant it names must have voted yes before. A participant
//! reports its vote when its PREPARED record is written, before the vote leaves it, so in a
//! correct run the fact always precedes the decision.

use super::{txn_name, Event, Fact, Txn};
use crate::invariants::Invariant;
use std::collections::BTreeSet;

#[derive(Default)]
pub struct Validity {
    yes: BTreeSet<(u32, Txn)>,
}

impl Invariant<Fact> for Validity {
    fn check(&mut self, fact: &Fact) -> Result<(), String> {
        match &fact.event {
            Event::VotedYes => {
                self.yes.insert((fact.node, fact.txn));
            }
            Event::CommitDecided { participants } => {
                let missing: Vec<String> = (participants.iter())
                    .filter(|p| !self.yes.contains(&(**p, fact.txn)))
                    .map(|p| format!("n{p}"))
                    .collect();
                if !missing.is_empty() {
                    return Err(format!(
                        "{} committed by n{} ({}) without a yes vote from {}",
                        txn_name(fact.txn),
                        fact.node,
                        fact.label(),
                        missing.join(", ")
                    ));
                }
            }
            Event::Decided(_) => {}
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
    fn a_commit_after_every_vote_passes() {
        let seq = [voted(1, 1, (1, 1)), voted(2, 2, (1, 1)), commit(0, 3, (1, 1), &[1, 2])];
        assert_eq!(check_with(Validity::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_commit_missing_a_vote_fails() {
        let seq = [voted(1, 1, (1, 1)), voted(2, 2, (1, 2)), commit(0, 3, (1, 1), &[1, 2])];
        let Verdict::Violation(why) = check_with(Validity::default(), &seq) else { panic!("passed") };
        assert_eq!(why, "t1.1 committed by n0 (n0 at 0.000 s) without a yes vote from n2");
    }
}
