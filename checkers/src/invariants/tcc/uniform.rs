//! Uniform outcome in TCC: no transaction is confirmed on one shard and cancelled on another,
//! nor confirmed (cancelled) on a shard when its transaction manager decided to cancel
//! (confirm).
//!
//! Source: Seata's TCC mode (the transaction coordinator drives every branch to the global
//! decision: commit calls each branch's Confirm, rollback each branch's Cancel); the safety half
//! of eventual atomicity. Its liveness half (every branch tried ends confirmed or cancelled once
//! faults heal) is checked on the final states. An empty rollback (a Cancel before its Try) counts
//! as cancelled.
//!
//! Method: remember each transaction's manager decision and each branch's final state; a branch
//! that ends against another branch or against the decision is a violation.

use super::{txn_name, Event, Observation, Txn};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Uniform {
    /// Transaction -> the manager's decision (true: confirm) and which node made it.
    decisions: BTreeMap<Txn, (bool, u32)>,
    /// Transaction -> (confirmed, cancelled): the first shard seen ending it each way.
    ends: BTreeMap<Txn, (Option<u32>, Option<u32>)>,
}

impl Invariant<Observation> for Uniform {
    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        for (txn, event) in &obs.facts {
            let ended = match event {
                Event::Decided { confirm, .. } => {
                    self.decisions.entry(*txn).or_insert((*confirm, obs.node));
                    None
                }
                Event::Confirmed => Some(true),
                Event::Cancelled | Event::Suspended => Some(false),
                Event::Tried { .. } => None,
            };
            let ends = self.ends.entry(*txn).or_default();
            match ended {
                Some(true) => _ = ends.0.get_or_insert(obs.node),
                Some(false) => _ = ends.1.get_or_insert(obs.node),
                None => {}
            }
            if let (Some(c), Some(x)) = *ends {
                return Err(format!(
                    "{} confirmed on n{c} and cancelled on n{x} ({})",
                    txn_name(*txn),
                    obs.label()
                ));
            }
            let against = self.decisions.get(txn).filter(|(confirm, _)| ended.is_some_and(|e| e != *confirm));
            if let Some((confirm, tm)) = against {
                let (decided, done) =
                    if *confirm { ("confirm", "cancelled") } else { ("cancel", "confirmed") };
                return Err(format!(
                    "{} {done} on {} though n{tm} decided to {decided}",
                    txn_name(*txn),
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
    fn a_cancel_everywhere_with_an_empty_rollback_passes() {
        let t = (4, 2);
        let seq = [
            shard(0, 1, &[], &[(t, Event::Tried { moved_in: 0, moved_out: 3 })]),
            tm(4, 2, t, false, &[0, 1]),
            shard(1, 3, &[], &[(t, Event::Suspended)]),
            shard(0, 4, &[], &[(t, Event::Cancelled)]),
        ];
        assert_eq!(check_with(Uniform::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn mixed_outcomes_and_outcomes_against_the_decision_fail() {
        let t = (4, 2);
        let mixed = [shard(0, 1, &[], &[(t, Event::Confirmed)]), shard(1, 2, &[], &[(t, Event::Suspended)])];
        let Verdict::Violation(why) = check_with(Uniform::default(), &mixed) else { panic!("passed") };
        assert_eq!(why, "t4.2 confirmed on n0 and cancelled on n1 (n1 at 0.000 s)");
        let against = [tm(4, 1, t, false, &[0]), shard(0, 2, &[], &[(t, Event::Confirmed)])];
        let Verdict::Violation(why) = check_with(Uniform::default(), &against) else { panic!("passed") };
        assert_eq!(why, "t4.2 confirmed on n0 at 0.000 s though n4 decided to cancel");
    }
}
