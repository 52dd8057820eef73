//! Raft's safety properties (Ongaro and Ousterhout, "In Search of an Understandable Consensus
//! Algorithm", 2014, Figure 3), checked on observations of node states.
//!
//! The Raft crate produces a [`LogObservation`] from a node after each step; the five
//! properties are the replicated-log properties of [`super::log`], under the paper's names.
//! The observations are plain data, so the checkers depend on nothing in the workspace and can
//! be fed hand-built sequences or records from another Raft implementation.

use super::log::{
    ElectionSafety, LeaderAppendOnly, LeaderCompleteness, LogMatching, LogObservation, StateMachineSafety,
};
use super::InvariantSet;
use crate::Verdict;

/// All five Raft properties at once.
pub struct RaftInvariants {
    set: InvariantSet<LogObservation>,
}

impl Default for RaftInvariants {
    fn default() -> Self {
        let set = InvariantSet::new()
            .with("election safety", ElectionSafety::default())
            .with("log matching", LogMatching::default())
            .with("leader completeness", LeaderCompleteness::default())
            .with("state machine safety", StateMachineSafety::default())
            .with("leader append-only", LeaderAppendOnly::default());
        RaftInvariants { set }
    }
}

impl RaftInvariants {
    /// The five properties, nothing observed yet.
    pub fn new() -> Self {
        RaftInvariants::default()
    }

    /// Feeds the next observation.
    pub fn observe(&mut self, obs: &LogObservation) {
        self.set.observe(obs);
    }

    /// Each property's name and verdict.
    pub fn verdicts(&self) -> Vec<(&'static str, Verdict)> {
        self.set.verdicts()
    }

    /// `Ok` when every property holds, else the first violation, prefixed with its name.
    pub fn verdict(&self) -> Verdict {
        self.set.verdict()
    }
}

#[cfg(test)]
mod tests {
    use super::super::log::build::obs;
    use super::super::log::Role;
    use super::*;

    #[test]
    fn combined_checker_names_the_failing_property() {
        let mut all = RaftInvariants::new();
        all.observe(&obs(0, 1, 2, Role::Leader, &[]));
        assert_eq!(all.verdict(), Verdict::Ok);
        all.observe(&obs(1, 2, 2, Role::Leader, &[]));
        let Verdict::Violation(why) = all.verdict() else { panic!("two leaders in term 2 passed") };
        assert!(why.starts_with("election safety"), "{why}");
        assert_eq!(all.verdicts().iter().filter(|(_, v)| v.is_violation()).count(), 1);
    }
}
