//! The bug zoo: named, deliberately planted protocol bugs, chosen by `RaftConfig::bug`.
//!
//! Each bug is a small deviation at the place where the correct code is, marked there with
//! `BUG(<name>)`. They exist to prove that the tests and the harness can fail: every one breaks
//! a safety property under some schedule, and a unit test shows its effect in a targeted
//! scenario. They are plain configuration (not a cargo feature), so one build covers them all.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A planted bug.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RaftBug {
    /// A granted vote is not made durable: after a crash the node can vote again in the same
    /// term, and two leaders can be elected in one term (breaks Figure 2's "persistent state").
    VoteNotPersisted,
    /// A leader commits entries of earlier terms by counting replicas (the Figure 8 hazard that
    /// section 5.4.2 forbids): a committed entry can later be overwritten.
    CommitOldTermByCounting,
    /// A leader that learns of a higher term adopts it but keeps leading (section 5.1 requires
    /// it to step down): two leaders in one term.
    NoStepDownOnHigherTerm,
    /// The leader answers reads from its local state without confirming it still leads
    /// (thesis 6.4): a deposed leader serves stale reads.
    StaleLocalRead,
    /// A follower truncates its log after the last entry of any AppendEntries, even a delayed
    /// one whose entries all match (Figure 2 says to truncate only on a conflict): acknowledged
    /// entries vanish.
    TruncateOnStaleAppend,
    /// InstallSnapshot keeps the entries after the snapshot even when the entry at the
    /// snapshot's index has another term (Figure 13, step 6): conflicting entries survive.
    SnapshotKeepsConflictingEntries,
    /// Entries are acknowledged (and a leader counts itself) before they are synced to disk: a
    /// crash loses entries a quorum was counted on.
    AckBeforeSync,
}

impl RaftBug {
    pub const ALL: [RaftBug; 7] = [
        RaftBug::VoteNotPersisted,
        RaftBug::CommitOldTermByCounting,
        RaftBug::NoStepDownOnHigherTerm,
        RaftBug::StaleLocalRead,
        RaftBug::TruncateOnStaleAppend,
        RaftBug::SnapshotKeepsConflictingEntries,
        RaftBug::AckBeforeSync,
    ];

    /// The kebab-case name used on command lines: `vote-not-persisted`.
    pub fn name(self) -> &'static str {
        match self {
            RaftBug::VoteNotPersisted => "vote-not-persisted",
            RaftBug::CommitOldTermByCounting => "commit-old-term-by-counting",
            RaftBug::NoStepDownOnHigherTerm => "no-step-down-on-higher-term",
            RaftBug::StaleLocalRead => "stale-local-read",
            RaftBug::TruncateOnStaleAppend => "truncate-on-stale-append",
            RaftBug::SnapshotKeepsConflictingEntries => "snapshot-keeps-conflicting-entries",
            RaftBug::AckBeforeSync => "ack-before-sync",
        }
    }
}

impl fmt::Display for RaftBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown bug name; lists the known ones.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown Raft bug `{0}`; known: {known}", known = RaftBug::ALL.map(RaftBug::name).join(", "))]
pub struct UnknownBug(pub String);

impl FromStr for RaftBug {
    type Err = UnknownBug;

    /// Accepts the kebab-case name or the variant name (`VoteNotPersisted`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RaftBug::ALL
            .into_iter()
            .find(|b| b.name() == s || format!("{b:?}") == s)
            .ok_or_else(|| UnknownBug(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_zoo() {
        for bug in RaftBug::ALL {
            assert_eq!(bug.name().parse::<RaftBug>(), Ok(bug));
            assert_eq!(format!("{bug:?}").parse::<RaftBug>(), Ok(bug));
        }
        let err = "no-such-bug".parse::<RaftBug>().unwrap_err().to_string();
        assert!(err.contains("vote-not-persisted") && err.contains("ack-before-sync"), "{err}");
    }
}
