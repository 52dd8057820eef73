//! Leader Completeness (Raft paper, Figure 3 and section 5.4): if a log entry is committed in a
//! given term, then that entry will be present in the logs of the leaders for all
//! higher-numbered terms.
//!
//! Method: an observation of node n in term T with commit index c shows that every entry of n's
//! log up to c was committed in term T or earlier. Such an entry must then be in the log of
//! every leader of term T or later (a leader of T itself committed it or was elected holding
//! it). The checker records each committed entry once, with the smallest such T, and compares
//! every leader observation of a term at least T against it. An entry inside a leader's
//! snapshot cannot be compared and counts as present. A leader's log only grows within its
//! term (see `leader_append_only`), so each (entry, leader, term) pair is compared once.

use super::{LogObservation, ObservedEntry, Role, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

struct Committed {
    entry: ObservedEntry,
    /// The term of the first observation that showed it committed.
    at_term: u64,
    by: Witness,
}

#[derive(Default)]
pub struct LeaderCompleteness {
    /// Committed entries in the order they were discovered.
    committed: Vec<Committed>,
    /// index -> position in `committed`.
    by_index: BTreeMap<u64, usize>,
    /// (term, leader) -> how many of `committed` were already compared with it.
    compared: BTreeMap<(u64, u32), usize>,
    /// node -> the commit index up to which its observations were already recorded.
    recorded: BTreeMap<u32, u64>,
}

impl LeaderCompleteness {
    fn record_commits(&mut self, obs: &LogObservation) {
        // Entries at or below a commit index this node already showed were recorded then.
        let done = self.recorded.entry(obs.node).or_insert(0);
        let from = obs.log.partition_point(|e| e.index <= *done);
        *done = (*done).max(obs.commit_index);
        for e in obs.log[from..].iter().take_while(|e| e.index <= obs.commit_index) {
            if let Some(&at) = self.by_index.get(&e.index) {
                // A second, different committed entry at this index is a state machine safety
                // matter; keep the first, but remember the lowest term it was seen committed in.
                let c = &mut self.committed[at];
                if c.entry == *e && obs.epoch < c.at_term {
                    c.at_term = obs.epoch;
                }
                continue;
            }
            self.by_index.insert(e.index, self.committed.len());
            self.committed.push(Committed { entry: *e, at_term: obs.epoch, by: obs.witness() });
        }
    }

    fn compare_leader(&mut self, obs: &LogObservation) -> Result<(), String> {
        let done = self.compared.entry((obs.epoch, obs.node)).or_insert(0);
        for c in &self.committed[*done..] {
            if c.at_term > obs.epoch || c.entry.index <= obs.snapshot.0 {
                continue;
            }
            if obs.entry(c.entry.index) != Some(&c.entry) {
                let has = obs.entry(c.entry.index).map_or("nothing".to_string(), |e| e.to_string());
                return Err(format!(
                    "leader {} lacks committed entry {} (committed as seen by {}); it has {has} there",
                    obs.label(),
                    c.entry,
                    c.by
                ));
            }
        }
        *done = self.committed.len();
        Ok(())
    }
}

impl Invariant<LogObservation> for LeaderCompleteness {
    fn check(&mut self, obs: &LogObservation) -> Result<(), String> {
        self.record_commits(obs);
        if obs.role == Role::Leader {
            self.compare_leader(obs)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::{committed, obs};
    use super::super::Role::*;
    use super::*;
    use crate::invariants::check_with;
    use crate::Verdict;

    #[test]
    fn later_leaders_holding_committed_entries_pass() {
        let seq = [
            committed(obs(0, 1, 1, Leader, &[(1, 1, 10), (2, 1, 20)]), 2),
            committed(obs(1, 2, 1, Follower, &[(1, 1, 10), (2, 1, 20)]), 1),
            obs(1, 3, 2, Leader, &[(1, 1, 10), (2, 1, 20), (3, 2, 30)]),
            // A leader whose snapshot covers the committed entries cannot be compared there.
            LogObservation { snapshot: (2, 1), ..obs(2, 4, 3, Leader, &[(3, 2, 30)]) },
        ];
        assert_eq!(check_with(LeaderCompleteness::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_stale_leader_of_an_older_term_is_not_required_to_hold_later_commits() {
        // Committed in term 3; a deposed leader still observed in term 2 may lack it.
        let seq = [
            committed(obs(1, 1, 3, Follower, &[(1, 1, 10), (2, 3, 20)]), 2),
            obs(0, 2, 2, Leader, &[(1, 1, 10), (2, 2, 99)]),
        ];
        assert_eq!(check_with(LeaderCompleteness::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_later_leader_missing_a_committed_entry_fails() {
        // Figure 8's hazard: an entry committed in term 2 is absent from the leader of term 3.
        let seq = [
            committed(obs(0, 1, 2, Leader, &[(1, 1, 10), (2, 2, 20)]), 2),
            obs(2, 2, 3, Leader, &[(1, 1, 10), (2, 3, 77)]),
        ];
        let v = check_with(LeaderCompleteness::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("#2@2")), "{v}");
    }

    #[test]
    fn a_leader_observed_before_the_commit_is_checked_on_its_next_observation() {
        let seq = [
            obs(0, 1, 4, Leader, &[(1, 1, 10)]),
            committed(obs(1, 2, 4, Follower, &[(1, 1, 10), (2, 4, 20)]), 2),
            obs(0, 3, 4, Leader, &[(1, 1, 10)]),
        ];
        assert!(check_with(LeaderCompleteness::default(), &seq).is_violation());
    }
}
