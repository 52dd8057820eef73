//! Leader Append-Only (Raft paper, Figure 3 and section 5.3): a leader never overwrites or
//! deletes entries in its log; it only appends new entries.
//!
//! Method: compare each observation of a node as leader with its previous observation, if that
//! one showed it leader in the same epoch: every entry of the earlier log must still be there,
//! unchanged, except those the later snapshot has compacted away (compaction is not deletion:
//! the entries live on in the snapshot). A new term starts a new comparison.

use super::{LogObservation, ObservedEntry, Role, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct LeaderAppendOnly {
    /// node -> (witness, log) of its latest observation as leader.
    last: BTreeMap<u32, (Witness, Vec<ObservedEntry>)>,
}

fn first_lost(before: &[ObservedEntry], after: &LogObservation) -> Option<ObservedEntry> {
    before.iter().find(|e| e.index > after.snapshot.0 && after.entry(e.index) != Some(e)).copied()
}

impl Invariant<LogObservation> for LeaderAppendOnly {
    fn check(&mut self, obs: &LogObservation) -> Result<(), String> {
        if obs.role != Role::Leader {
            self.last.remove(&obs.node);
            return Ok(());
        }
        if let Some((seen, log)) = self.last.get_mut(&obs.node).filter(|(seen, _)| seen.epoch == obs.epoch) {
            if let Some(lost) = first_lost(log, obs) {
                let now = obs.entry(lost.index).map_or("nothing".to_string(), |e| e.to_string());
                return Err(format!(
                    "leader {} had entry {lost} at {seen} but has {now} there at {}",
                    obs.node,
                    obs.label()
                ));
            }
            *seen = obs.witness();
            if log.as_slice() != obs.log.as_slice() {
                log.clone_from(&obs.log);
            }
            return Ok(());
        }
        self.last.insert(obs.node, (obs.witness(), obs.log.clone()));
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
    fn appending_and_compacting_pass() {
        let seq = [
            obs(0, 1, 2, Leader, &[(1, 1, 10), (2, 2, 20)]),
            obs(0, 2, 2, Leader, &[(1, 1, 10), (2, 2, 20), (3, 2, 30)]),
            LogObservation { snapshot: (2, 2), ..obs(0, 3, 2, Leader, &[(3, 2, 30), (4, 2, 40)]) },
            // A new term may follow a truncation it suffered as a follower.
            obs(0, 4, 3, Follower, &[(1, 1, 10)]),
            obs(0, 5, 5, Leader, &[(1, 1, 10), (2, 5, 50)]),
        ];
        assert_eq!(check_with(LeaderAppendOnly::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_leader_overwriting_its_entry_fails() {
        let seq = [
            obs(0, 1, 2, Leader, &[(1, 1, 10), (2, 2, 20)]),
            obs(0, 2, 2, Leader, &[(1, 1, 10), (2, 2, 21)]),
        ];
        let v = check_with(LeaderAppendOnly::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("#2@2")), "{v}");
    }

    #[test]
    fn a_leader_deleting_its_tail_fails() {
        let seq = [
            obs(1, 1, 4, Leader, &[(1, 1, 10), (2, 4, 20), (3, 4, 30)]),
            obs(1, 2, 4, Leader, &[(1, 1, 10), (2, 4, 20)]),
        ];
        assert!(check_with(LeaderAppendOnly::default(), &seq).is_violation());
    }
}
