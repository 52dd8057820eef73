//! State Machine Safety (Raft paper, Figure 3 and section 5.4.3): if a server has applied a log
//! entry at a given index to its state machine, no other server will ever apply a different log
//! entry for the same index.
//!
//! Method: every observation lists the entries its node applied since its previous observation,
//! as (index, digest). The checker keeps the first digest applied at each index (and who
//! applied it) and flags any other digest at that index, by any node, at any later time.

use super::{LogObservation, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct StateMachineSafety {
    applied: BTreeMap<u64, (u64, Witness)>,
}

impl Invariant<LogObservation> for StateMachineSafety {
    fn check(&mut self, obs: &LogObservation) -> Result<(), String> {
        for &(index, digest) in &obs.applied {
            let (first, by) = self.applied.entry(index).or_insert_with(|| (digest, obs.witness()));
            if *first != digest {
                return Err(format!(
                    "index {index}: {by} applied {first:016x} but {} applied {digest:016x}",
                    obs.label()
                ));
            }
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

    fn applied(node: u32, time: u64, list: &[(u64, u64)]) -> LogObservation {
        LogObservation { applied: list.to_vec(), ..obs(node, time, 1, Follower, &[]) }
    }

    #[test]
    fn the_same_entries_applied_everywhere_pass() {
        let seq = [
            applied(0, 1, &[(1, 10), (2, 20)]),
            applied(1, 2, &[(1, 10)]),
            applied(1, 3, &[(2, 20), (3, 30)]),
        ];
        assert_eq!(check_with(StateMachineSafety::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_different_entry_applied_at_one_index_fails() {
        let seq = [applied(0, 1, &[(1, 10), (2, 20)]), applied(2, 5, &[(1, 10), (2, 21)])];
        let v = check_with(StateMachineSafety::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.starts_with("index 2")), "{v}");
    }
}
