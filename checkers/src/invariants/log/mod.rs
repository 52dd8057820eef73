//! Safety properties of a replicated log, written once for every protocol that orders commands
//! in numbered positions under numbered leaderships: Raft's (term, index), Multi-Paxos's
//! (ballot, slot), Zab's (epoch, counter).
//!
//! A protocol crate turns a node's state into a [`LogObservation`] after each step (in its own
//! words: a [`Vocabulary`] names the epoch and the position in reports), and the checkers here
//! consume the observations in order. Each property lives in its own module and opens with its
//! statement and source; the Raft paper's names are used (Ongaro and Ousterhout, 2014, Figure
//! 3), and each protocol's set names them as its own paper does.
//!
//! Modules:
//! - [`election_safety`]: at most one leader per epoch (Raft 5.2; one leader per ballot; Zab's
//!   one established leader per epoch).
//! - [`log_matching`]: same position and epoch means same entry and same prefix (Raft 5.3).
//! - [`leader_completeness`]: a committed entry is in the log of every later leader (Raft 5.4).
//! - [`state_machine_safety`]: no two nodes apply different entries at one position (Raft
//!   5.4.3; Paxos agreement on the applied prefix).
//! - [`leader_append_only`]: a leader never overwrites or deletes its own entries (Raft 5.3).

pub mod election_safety;
pub mod leader_append_only;
pub mod leader_completeness;
pub mod log_matching;
pub mod state_machine_safety;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use election_safety::ElectionSafety;
pub use leader_append_only::LeaderAppendOnly;
pub use leader_completeness::LeaderCompleteness;
pub use log_matching::LogMatching;
pub use state_machine_safety::StateMachineSafety;

/// What a protocol calls a leadership number and a log position, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vocabulary {
    /// `term`, `ballot`, `epoch`.
    pub epoch: &'static str,
    /// `index`, `slot`, `counter`.
    pub position: &'static str,
}

impl Vocabulary {
    /// Raft's words.
    pub const RAFT: Vocabulary = Vocabulary { epoch: "term", position: "index" };
    /// Multi-Paxos's words.
    pub const PAXOS: Vocabulary = Vocabulary { epoch: "ballot", position: "slot" };
    /// Zab's words.
    pub const ZAB: Vocabulary = Vocabulary { epoch: "epoch", position: "counter" };
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary::RAFT
    }
}

/// A node's role when it was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks whether it could win before it disturbs anyone (Raft's pre-vote).
    PreCandidate,
    /// Tries to become leader (a Raft candidate, a Paxos proposer in phase 1, a Zab prospective
    /// leader).
    Candidate,
    /// Leads its epoch.
    Leader,
    /// Not taking part (recovering its disk, or out of service).
    Inactive,
}

/// One log entry as observed: its position, its epoch, and a digest of its command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObservedEntry {
    /// Its position in the log (index, slot, counter).
    pub index: u64,
    /// The epoch it was proposed in (term, ballot, epoch).
    pub epoch: u64,
    /// A digest of its command.
    pub digest: u64,
}

/// A node's replicated log after one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogObservation {
    /// The node.
    pub node: u32,
    /// When it was taken (nanoseconds; the harness stamps simulated time).
    pub time: u64,
    /// The node's current epoch (term, ballot, epoch).
    pub epoch: u64,
    /// Its role.
    pub role: Role,
    /// The highest position it knows committed (chosen).
    pub commit_index: u64,
    /// The compacted prefix as (position, epoch): entries up to it are in a snapshot, not
    /// listed.
    pub snapshot: (u64, u64),
    /// The entries after the snapshot in position order. Entries the node cannot read
    /// (damaged on disk, awaiting repair) or has not received are left out, so the list may
    /// have gaps.
    pub log: Vec<ObservedEntry>,
    /// Entries applied to the state machine since this node's previous observation, as
    /// (position, digest), in order.
    pub applied: Vec<(u64, u64)>,
    /// The protocol's words, for reports.
    #[serde(skip)]
    pub words: Vocabulary,
}

impl LogObservation {
    /// The observed entry at `index`, if listed.
    pub fn entry(&self, index: u64) -> Option<&ObservedEntry> {
        let first = self.log.first()?.index;
        let guess = index.checked_sub(first)? as usize;
        // Without gaps the entry sits at its offset; with gaps, search.
        match self.log.get(guess) {
            Some(e) if e.index == index => Some(e),
            _ => self.log.binary_search_by_key(&index, |e| e.index).ok().map(|at| &self.log[at]),
        }
    }

    /// Who and when, for evidence text (cheap to keep; formatted only for a violation).
    pub fn witness(&self) -> Witness {
        Witness { node: self.node, time: self.time, epoch: self.epoch, role: self.role, words: self.words }
    }

    /// Short label for evidence text: `n2 at t=1500 (term 3, Leader)`, in the protocol's words.
    pub fn label(&self) -> String {
        self.witness().to_string()
    }
}

/// The observation an entry or a leader was seen in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The node.
    pub node: u32,
    /// When.
    pub time: u64,
    /// Its epoch then.
    pub epoch: u64,
    /// Its role then.
    pub role: Role,
    /// The protocol's words.
    pub words: Vocabulary,
}

impl fmt::Display for Witness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{} at t={} ({} {}, {:?})", self.node, self.time, self.words.epoch, self.epoch, self.role)
    }
}

impl fmt::Display for ObservedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}@{}:{:016x}", self.index, self.epoch, self.digest)
    }
}

/// Builders for hand-made observations in tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;

    /// An observation of `node` at `time` with log entries given as (index, term, digest).
    pub fn obs(node: u32, time: u64, epoch: u64, role: Role, log: &[(u64, u64, u64)]) -> LogObservation {
        LogObservation {
            node,
            time,
            epoch,
            role,
            commit_index: 0,
            snapshot: (0, 0),
            log: log.iter().map(|&(index, epoch, digest)| ObservedEntry { index, epoch, digest }).collect(),
            applied: Vec::new(),
            words: Vocabulary::RAFT,
        }
    }

    pub fn committed(mut o: LogObservation, commit_index: u64) -> LogObservation {
        o.commit_index = commit_index;
        o
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    #[test]
    fn entry_lookup_handles_gaps() {
        let o = obs(0, 0, 1, Role::Follower, &[(3, 1, 30), (4, 1, 40), (7, 1, 70)]);
        assert_eq!(o.entry(4).map(|e| e.digest), Some(40));
        assert_eq!(o.entry(7).map(|e| e.digest), Some(70));
        assert_eq!(o.entry(5), None);
        assert_eq!(o.entry(2), None);
    }

    #[test]
    fn labels_use_the_protocol_words() {
        let mut o = obs(2, 1500, 3, Role::Leader, &[]);
        assert_eq!(o.label(), "n2 at t=1500 (term 3, Leader)");
        o.words = Vocabulary::PAXOS;
        assert_eq!(o.label(), "n2 at t=1500 (ballot 3, Leader)");
    }
}
