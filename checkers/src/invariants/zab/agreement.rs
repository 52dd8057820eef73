//! Agreement (Zab, DSN 2011, section III, and `Agreement` in `Zab.tla`): if some process
//! delivers a and another delivers b, then the first delivers b or the second delivers a.
//!
//! Method: processes deliver in order, one transaction after another, so two delivered
//! sequences satisfy agreement exactly when neither has a transaction the other lacks on a
//! different branch: when they never *fork*. A fork is a transaction after which two processes
//! deliver different next transactions (at that moment each has delivered one the other has
//! not, and never will, since both go on from different transactions). The checker keeps the
//! first successor delivered after each transaction and flags a different one. A process that
//! starts again from a snapshot continues from the snapshot's transaction, so its deliveries
//! chain on from there.

use super::{ZabObservation, Zxid};
use crate::invariants::log::Witness;
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Agreement {
    /// zxid -> (the first transaction delivered right after it, by whom).
    next: BTreeMap<Zxid, (Zxid, Witness)>,
}

impl Invariant<ZabObservation> for Agreement {
    fn check(&mut self, obs: &ZabObservation) -> Result<(), String> {
        for (before, t) in obs.deliveries() {
            let (first, by) = self.next.entry(before).or_insert_with(|| (t.zxid, obs.log.witness()));
            if *first != t.zxid {
                return Err(format!(
                    "the delivered sequences fork after {before}: {by} delivered {first} next, {} delivered {}",
                    obs.label(),
                    t.zxid
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
    use crate::invariants::log::Role::*;
    use crate::Verdict;

    #[test]
    fn processes_at_different_points_of_one_sequence_agree() {
        let zero = Zxid::default();
        let (a, b) = (txn(1, 1, 1), txn(2, 1, 2));
        let seq = [
            obs(0, 1, Follower, zero, &[a, b]),
            obs(1, 2, Follower, zero, &[a]),
            obs(1, 3, Follower, a.zxid, &[b]),
            obs(2, 4, Follower, a.zxid, &[b]), // restarted from a snapshot at a
        ];
        assert_eq!(check_with(Agreement::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_fork_fails() {
        let zero = Zxid::default();
        let seq = [
            obs(0, 1, Follower, zero, &[txn(1, 1, 1), txn(2, 1, 2)]),
            obs(1, 2, Follower, zero, &[txn(1, 1, 1), txn(2, 2, 1)]),
        ];
        let v = check_with(Agreement::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("fork after 1:1")), "{v}");
    }
}
