//! Raft's safety properties (Ongaro and Ousterhout, "In Search of an Understandable Consensus
//! Algorithm", 2014, Figure 3), checked on observations of node states.
//!
//! The Raft crate produces a [`RaftObservation`] from a node after each step; the checkers here
//! consume them in order. Each property lives in its own module, opens with its statement and
//! paper section, and implements [`Invariant`]; a [`Monitor`] feeds one and keeps its first
//! violation as a [`Verdict`]. [`RaftInvariants`] runs all five together.
//!
//! The observations are plain data, so the checkers depend on nothing in the workspace and can
//! be fed hand-built sequences (as the tests do) or records from another Raft implementation.
//!
//! Modules:
//! - [`election_safety`]: at most one leader per term (5.2).
//! - [`log_matching`]: same index and term means same entry and same prefix (5.3).
//! - [`leader_completeness`]: a committed entry is in the log of every later leader (5.4).
//! - [`state_machine_safety`]: no two nodes apply different entries at one index (5.4.3).
//! - [`leader_append_only`]: a leader never overwrites or deletes its own entries (5.3).

pub mod election_safety;
pub mod leader_append_only;
pub mod leader_completeness;
pub mod log_matching;
pub mod state_machine_safety;

use crate::Verdict;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use election_safety::ElectionSafety;
pub use leader_append_only::LeaderAppendOnly;
pub use leader_completeness::LeaderCompleteness;
pub use log_matching::LogMatching;
pub use state_machine_safety::StateMachineSafety;

/// A node's role when it was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RaftRole {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
    /// Not taking part (recovering its disk, or out of service).
    Inactive,
}

/// One log entry as observed: its position, its term, and a digest of its command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObservedEntry {
    pub index: u64,
    pub term: u64,
    pub digest: u64,
}

/// A node's state after one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftObservation {
    pub node: u32,
    /// When it was taken (nanoseconds; the harness stamps simulated time).
    pub time: u64,
    pub term: u64,
    pub role: RaftRole,
    pub commit_index: u64,
    /// The compacted prefix as (index, term): entries up to it are in a snapshot, not listed.
    pub snapshot: (u64, u64),
    /// The entries after the snapshot in index order. Entries the node cannot read (damaged on
    /// disk, awaiting repair) are left out, so the list may have gaps.
    pub log: Vec<ObservedEntry>,
    /// Entries applied to the state machine since this node's previous observation, as
    /// (index, digest), in order.
    pub applied: Vec<(u64, u64)>,
}

impl RaftObservation {
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
        Witness { node: self.node, time: self.time, term: self.term, role: self.role }
    }

    /// Short label for evidence text: `n2 at t=1500 (term 3, Leader)`.
    pub fn label(&self) -> String {
        self.witness().to_string()
    }
}

/// The observation an entry or a leader was seen in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Witness {
    pub node: u32,
    pub time: u64,
    pub term: u64,
    pub role: RaftRole,
}

impl fmt::Display for Witness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{} at t={} (term {}, {:?})", self.node, self.time, self.term, self.role)
    }
}

impl fmt::Display for ObservedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}@t{}:{:016x}", self.index, self.term, self.digest)
    }
}

/// One property, checked incrementally over a sequence of observations.
pub trait Invariant {
    /// The property's name, for reports.
    fn name(&self) -> &'static str;
    /// Checks the next observation (observations arrive in the order they were taken); `Err`
    /// carries the evidence of a violation.
    fn check(&mut self, obs: &RaftObservation) -> Result<(), String>;
}

/// Feeds an invariant and keeps the first violation; later observations are not checked.
pub struct Monitor<I> {
    invariant: I,
    violation: Option<String>,
}

impl<I: Invariant> Monitor<I> {
    pub fn new(invariant: I) -> Self {
        Monitor { invariant, violation: None }
    }

    pub fn name(&self) -> &'static str {
        self.invariant.name()
    }

    pub fn observe(&mut self, obs: &RaftObservation) {
        if self.violation.is_none() {
            self.violation = self.invariant.check(obs).err();
        }
    }

    /// `Ok` so far, or the first violation with its evidence.
    pub fn verdict(&self) -> Verdict {
        match &self.violation {
            Some(why) => Verdict::Violation(why.clone()),
            None => Verdict::Ok,
        }
    }
}

/// Runs `invariant` over `observations` and returns its verdict.
pub fn check_with(invariant: impl Invariant, observations: &[RaftObservation]) -> Verdict {
    let mut monitor = Monitor::new(invariant);
    for obs in observations {
        monitor.observe(obs);
    }
    monitor.verdict()
}

/// All five Raft properties at once.
pub struct RaftInvariants {
    monitors: Vec<Monitor<Box<dyn Invariant + Send>>>,
}

impl Invariant for Box<dyn Invariant + Send> {
    fn name(&self) -> &'static str {
        self.as_ref().name()
    }

    fn check(&mut self, obs: &RaftObservation) -> Result<(), String> {
        self.as_mut().check(obs)
    }
}

impl Default for RaftInvariants {
    fn default() -> Self {
        let all: [Box<dyn Invariant + Send>; 5] = [
            Box::new(ElectionSafety::default()),
            Box::new(LogMatching::default()),
            Box::new(LeaderCompleteness::default()),
            Box::new(StateMachineSafety::default()),
            Box::new(LeaderAppendOnly::default()),
        ];
        RaftInvariants { monitors: all.into_iter().map(Monitor::new).collect() }
    }
}

impl RaftInvariants {
    pub fn new() -> Self {
        RaftInvariants::default()
    }

    pub fn observe(&mut self, obs: &RaftObservation) {
        for monitor in &mut self.monitors {
            monitor.observe(obs);
        }
    }

    /// Each property's name and verdict.
    pub fn verdicts(&self) -> Vec<(&'static str, Verdict)> {
        self.monitors.iter().map(|m| (m.name(), m.verdict())).collect()
    }

    /// `Ok` when every property holds, else the first violation, prefixed with its name.
    pub fn verdict(&self) -> Verdict {
        for monitor in &self.monitors {
            if let Verdict::Violation(why) = monitor.verdict() {
                return Verdict::Violation(format!("{}: {why}", monitor.name()));
            }
        }
        Verdict::Ok
    }
}

/// Builders for hand-made observations in tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;

    /// An observation of `node` at `time` with log entries given as (index, term, digest).
    pub fn obs(node: u32, time: u64, term: u64, role: RaftRole, log: &[(u64, u64, u64)]) -> RaftObservation {
        RaftObservation {
            node,
            time,
            term,
            role,
            commit_index: 0,
            snapshot: (0, 0),
            log: log.iter().map(|&(index, term, digest)| ObservedEntry { index, term, digest }).collect(),
            applied: Vec::new(),
        }
    }

    pub fn committed(mut o: RaftObservation, commit_index: u64) -> RaftObservation {
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
        let o = obs(0, 0, 1, RaftRole::Follower, &[(3, 1, 30), (4, 1, 40), (7, 1, 70)]);
        assert_eq!(o.entry(4).map(|e| e.digest), Some(40));
        assert_eq!(o.entry(7).map(|e| e.digest), Some(70));
        assert_eq!(o.entry(5), None);
        assert_eq!(o.entry(2), None);
    }

    #[test]
    fn combined_checker_names_the_failing_property() {
        let mut all = RaftInvariants::new();
        all.observe(&obs(0, 1, 2, RaftRole::Leader, &[]));
        assert_eq!(all.verdict(), Verdict::Ok);
        all.observe(&obs(1, 2, 2, RaftRole::Leader, &[]));
        let Verdict::Violation(why) = all.verdict() else { panic!("two leaders in term 2 passed") };
        assert!(why.starts_with("election safety"), "{why}");
        assert_eq!(all.verdicts().iter().filter(|(_, v)| v.is_violation()).count(), 1);
    }
}
