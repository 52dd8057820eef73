//! Log Matching (Raft paper, Figure 3 and section 5.3): if two logs contain an entry with the
//! same index and term, then the logs are identical in all entries up through that index.
//!
//! Method: the property holds for every pair of logs ever observed iff (a) every (index, term)
//! ever observed names one command (one digest), and (b) every (index, term) ever observed is
//! preceded by one (term, digest) at index - 1; by induction on the index, (a) and (b) give
//! identical prefixes. So the checker keeps one record per (index, term) pair, not every log.
//! The first entry after a snapshot has a predecessor whose term is known (the snapshot's) but
//! not its digest: terms are compared, digests only when both are known. Entries after a gap
//! (an entry the node cannot read) have no known predecessor and are checked for (a) only. Each
//! node's previous log is cached so that an unchanged prefix is not checked again.

use super::{LogObservation, ObservedEntry, Vocabulary, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Clone)]
struct Seen {
    digest: u64,
    /// (term, digest) of the entry at index - 1, when some observation showed it (the digest
    /// is unknown when that entry was the last one of a snapshot).
    prev: Option<(u64, Option<u64>)>,
    by: Witness,
}

#[derive(Default)]
pub struct LogMatching {
    seen: BTreeMap<(u64, u64), Seen>,
    last_log: BTreeMap<u32, Vec<ObservedEntry>>,
}

impl LogMatching {
    fn check_entry(&mut self, obs: &LogObservation, at: usize) -> Result<(), String> {
        let e = obs.log[at];
        let prev = match at.checked_sub(1).map(|p| obs.log[p]) {
            Some(p) if p.index + 1 == e.index => Some((p.epoch, Some(p.digest))),
            None if obs.snapshot.0 + 1 == e.index && obs.snapshot.0 > 0 => Some((obs.snapshot.1, None)),
            _ => None,
        };
        let seen = self.seen.entry((e.index, e.epoch)).or_insert_with(|| Seen {
            digest: e.digest,
            prev,
            by: obs.witness(),
        });
        if seen.digest != e.digest {
            return Err(format!(
                "entry {} in {} differs from the entry with the same {} and {} in {} (digest {:016x})",
                e,
                obs.label(),
                obs.words.position,
                obs.words.epoch,
                seen.by,
                seen.digest
            ));
        }
        match (seen.prev, prev) {
            (Some(a), Some(b)) if !same_predecessor(a, b) => Err(format!(
                "entry {} has different predecessors: {} in {} but {} in {}",
                e,
                describe(a, obs.words),
                seen.by,
                describe(b, obs.words),
                obs.label()
            )),
            (Some((_, None)) | None, Some((_, Some(_)))) | (None, Some(_)) => {
                seen.prev = prev;
                seen.by = obs.witness();
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn same_predecessor(a: (u64, Option<u64>), b: (u64, Option<u64>)) -> bool {
    a.0 == b.0 && (a.1.is_none() || b.1.is_none() || a.1 == b.1)
}

fn describe(p: (u64, Option<u64>), words: Vocabulary) -> String {
    match p.1 {
        Some(d) => format!("({} {}, digest {d:016x})", words.epoch, p.0),
        None => format!("({} {}, in a snapshot)", words.epoch, p.0),
    }
}

impl Invariant<LogObservation> for LogMatching {
    fn check(&mut self, obs: &LogObservation) -> Result<(), String> {
        let cached = self.last_log.get(&obs.node).map(Vec::as_slice).unwrap_or(&[]);
        let unchanged = cached.iter().zip(&obs.log).take_while(|(a, b)| a == b).count();
        if unchanged == obs.log.len() && cached.len() == obs.log.len() {
            return Ok(());
        }
        for at in unchanged..obs.log.len() {
            self.check_entry(obs, at)?;
        }
        self.last_log.insert(obs.node, obs.log.clone());
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
    fn divergent_uncommitted_suffixes_pass() {
        // Figure 7 style: followers with missing and extra entries, but every shared (index,
        // term) names the same entry with the same predecessor.
        let seq = [
            obs(0, 1, 3, Leader, &[(1, 1, 10), (2, 1, 20), (3, 3, 30)]),
            obs(1, 2, 3, Follower, &[(1, 1, 10), (2, 1, 20)]),
            obs(2, 3, 3, Follower, &[(1, 1, 10), (2, 1, 20), (3, 2, 99), (4, 2, 98)]),
            obs(1, 4, 3, Follower, &[(1, 1, 10), (2, 1, 20), (3, 3, 30)]),
        ];
        assert_eq!(check_with(LogMatching::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn same_index_and_term_with_different_commands_fail() {
        let seq = [
            obs(0, 1, 2, Leader, &[(1, 1, 10), (2, 2, 20)]),
            obs(1, 2, 2, Follower, &[(1, 1, 10), (2, 2, 21)]),
        ];
        let v = check_with(LogMatching::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("#2@2")), "{v}");
    }

    #[test]
    fn same_entry_with_different_prefixes_fails() {
        // (3, term 2) is the same command in both logs but sits after different entries at 2.
        let seq = [
            obs(0, 1, 2, Leader, &[(1, 1, 10), (2, 1, 20), (3, 2, 30)]),
            obs(1, 2, 2, Follower, &[(1, 1, 10), (2, 2, 21), (3, 2, 30)]),
        ];
        let v = check_with(LogMatching::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("predecessors")), "{v}");
    }

    #[test]
    fn a_violation_later_in_time_on_the_same_node_is_found() {
        // The node's log changes in place: the cached prefix must not hide the new entry.
        let seq = [
            obs(0, 1, 1, Leader, &[(1, 1, 10), (2, 1, 20)]),
            obs(1, 2, 1, Follower, &[(1, 1, 10), (2, 1, 20)]),
            obs(1, 3, 1, Follower, &[(1, 1, 10), (2, 1, 22)]),
        ];
        assert!(check_with(LogMatching::default(), &seq).is_violation());
    }

    #[test]
    fn an_entry_right_after_a_snapshot_is_compared_by_the_snapshots_term() {
        // Figure 13's hazard: a node installs a snapshot ending at (3, term 2) but keeps its
        // old (4, term 1), which another log shows after (3, term 1).
        let ok = [
            obs(0, 1, 2, Leader, &[(1, 1, 10), (2, 1, 20), (3, 2, 30), (4, 2, 40)]),
            LogObservation { snapshot: (3, 2), ..obs(1, 2, 2, Follower, &[(4, 2, 40)]) },
        ];
        assert_eq!(check_with(LogMatching::default(), &ok), Verdict::Ok);
        let bad = [
            obs(0, 1, 1, Leader, &[(1, 1, 10), (2, 1, 20), (3, 1, 31), (4, 1, 41)]),
            LogObservation { snapshot: (3, 2), ..obs(1, 2, 2, Follower, &[(4, 1, 41)]) },
        ];
        let v = check_with(LogMatching::default(), &bad);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("in a snapshot")), "{v}");
    }

    #[test]
    fn entries_after_a_gap_are_not_compared_with_a_missing_predecessor() {
        let seq = [
            obs(0, 1, 2, Leader, &[(1, 1, 10), (2, 1, 20), (3, 2, 30)]),
            obs(1, 2, 2, Follower, &[(1, 1, 10), (3, 2, 30)]),
        ];
        assert_eq!(check_with(LogMatching::default(), &seq), Verdict::Ok);
    }
}
