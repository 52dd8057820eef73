//! AC2 (Bernstein, Hadzilacos and Goodman, 1987, section 7.2): a process cannot reverse its
//! decision after it has reached one.
//!
//! Method: remember, for each (node, transaction), the first decision the node recorded; any
//! later decision of the other outcome by the same node, in the same incarnation or after a
//! restart, is a violation. A node that restarts and recovers its decision reports it again,
//! which is fine; one whose decision was not durable may recover none and learn it again, which
//! is fine too as long as it learns the same one. A coordinator that sent COMMIT before its
//! decision was durable, then answers a participant's inquiry after a crash with "abort"
//! (presumed abort), breaks it.

use super::{txn_name, Event, Fact, Outcome, Txn};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Irreversible {
    /// (node, transaction) -> the node's first decision and when it recorded it.
    first: BTreeMap<(u32, Txn), (Outcome, u64)>,
}

impl Invariant<Fact> for Irreversible {
    fn check(&mut self, fact: &Fact) -> Result<(), String> {
        let Event::Decided(outcome) = fact.event else { return Ok(()) };
        let (first, at) = *self.first.entry((fact.node, fact.txn)).or_insert((outcome, fact.time));
        if first != outcome {
            return Err(format!(
                "n{} decided {} {first} at {:.3} s, then {outcome} ({})",
                fact.node,
                txn_name(fact.txn),
                at as f64 / 1e9,
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
    fn recovering_the_same_decision_passes() {
        let seq = [
            decided(1, 1, (1, 1), Outcome::Commit),
            decided(1, 9, (1, 1), Outcome::Commit),
            decided(2, 9, (1, 1), Outcome::Commit),
        ];
        assert_eq!(check_with(Irreversible::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_node_changing_its_mind_fails_even_if_no_one_else_decided() {
        let seq = [
            decided(0, 1_000_000_000, (3, 1), Outcome::Commit),
            decided(0, 2_500_000_000, (3, 1), Outcome::Abort),
        ];
        let Verdict::Violation(why) = check_with(Irreversible::default(), &seq) else { panic!("passed") };
        assert_eq!(why, "n0 decided t3.1 commit at 1.000 s, then abort (n0 at 2.500 s)");
    }
}
