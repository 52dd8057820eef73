//! Election Safety (Raft paper, Figure 3 and section 5.2): at most one leader can be elected in
//! a given term.
//!
//! Method: remember, for each term, the first node observed as leader in it; any observation of
//! a different node as leader in the same term is a violation. One node observed as leader many
//! times in a term is of course fine.

use super::{LogObservation, Role, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct ElectionSafety {
    /// term -> the first leader seen in it.
    leaders: BTreeMap<u64, Witness>,
}

impl Invariant<LogObservation> for ElectionSafety {
    fn check(&mut self, obs: &LogObservation) -> Result<(), String> {
        if obs.role != Role::Leader {
            return Ok(());
        }
        let first = self.leaders.entry(obs.epoch).or_insert_with(|| obs.witness());
        if first.node != obs.node {
            return Err(format!(
                "two leaders in {} {}: {} and {}",
                obs.words.epoch,
                obs.epoch,
                first,
                obs.label()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::obs;
    use super::super::Role::*;
    use super::*;
    use crate::invariants::check_with;
    use crate::Verdict;

    #[test]
    fn one_leader_per_term_passes() {
        // Leaders change from term to term, and one node leads twice: all legal.
        let seq = [
            obs(0, 1, 1, Leader, &[]),
            obs(0, 2, 1, Leader, &[]),
            obs(1, 3, 2, Candidate, &[]),
            obs(1, 4, 2, Leader, &[]),
            obs(0, 5, 3, Leader, &[]),
        ];
        assert_eq!(check_with(ElectionSafety::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn two_leaders_in_one_term_fail() {
        let seq = [obs(0, 1, 4, Leader, &[]), obs(2, 9, 4, Follower, &[]), obs(2, 10, 4, Leader, &[])];
        let v = check_with(ElectionSafety::default(), &seq);
        let Verdict::Violation(why) = v else { panic!("expected a violation, got {v}") };
        assert!(why.contains("term 4") && why.contains("n0") && why.contains("n2"), "{why}");
    }
}
