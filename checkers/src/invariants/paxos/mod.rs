//! Multi-Paxos's safety properties, checked on observations of node states.
//!
//! A replicated log's generic properties ([`super::log`]: one leader per ballot, agreement on
//! the applied prefix) say nothing about what Paxos promises slot by slot, so these modules
//! check Paxos's own statements (Lamport, "Paxos Made Simple", 2001; "The Part-Time
//! Parliament", 1998) over a [`PaxosObservation`] a node gives after each step:
//!
//! - [`agreement`]: only a single value is ever learned chosen per slot.
//! - [`stability`]: once a value is chosen at a slot, every proposal there with a higher
//!   ballot carries it (P2b), so the chosen value stays chosen.
//! - [`validity`]: only values a client proposed, or no-ops, are chosen.
//! - [`promise_monotonic`]: an acceptor's promise never goes backwards, across restarts too.
//! - [`unique_proposals`]: one ballot proposes one value per slot ("different proposals have
//!   different numbers").
//!
//! Ballots are carried as one ordered number (`round << 16 | node`, see
//! [`PaxosObservation::promise`]), so the checkers need no Paxos types. A step's observation
//! lists what happened in it (proposals issued, values learned chosen, promises and acceptances
//! received), so a long run never needs the nodes' whole logs. What a step shows may still be
//! lost: the power can go out in the middle of a step, after the handler ran but before its
//! writes were durable, and nothing it emitted leaves the node. So the checkers trust an
//! acceptor's promise only once the world has seen it: when a proposer received it, or when
//! the acceptor took a further step in the same incarnation.

pub mod agreement;
pub mod promise_monotonic;
pub mod stability;
pub mod unique_proposals;
pub mod validity;

use super::InvariantSet;
use crate::Verdict;
use serde::{Deserialize, Serialize};

pub use agreement::Agreement;
pub use promise_monotonic::PromiseMonotonic;
pub use stability::Stability;
pub use unique_proposals::UniqueProposals;
pub use validity::Validity;

/// A value a node proposed at a slot in one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The slot.
    pub slot: u64,
    /// The proposer's ballot.
    pub ballot: u64,
    /// A digest of the value.
    pub digest: u64,
}

/// A value a node learned was chosen at a slot in one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Learned {
    /// The slot.
    pub slot: u64,
    /// A digest of the value.
    pub digest: u64,
    /// A ballot at which the value is known to have been accepted by a majority, when the node
    /// learned that (a leader counting acceptances, a follower told its accepted value at the
    /// leader's ballot is chosen); `None` when it learned the value alone (catch-up, a snapshot).
    pub ballot: Option<u64>,
    /// The value is a no-op (filling a gap), which no client proposed.
    pub noop: bool,
}

/// What one step of one node showed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaxosObservation {
    /// The node.
    pub node: u32,
    /// When (nanoseconds; the harness stamps simulated time).
    pub time: u64,
    /// This step started a new incarnation of the node (its start after boot or a crash).
    pub started: bool,
    /// The ballot the node has promised (`round << 16 | node`), or `None` while it takes no
    /// part in quorums (rebuilding a lost disk, or unable to read it).
    pub promise: Option<u64>,
    /// Promises and acceptances this node received in the step, as (acceptor, ballot): each
    /// says the acceptor had promised at least that ballot when it answered.
    pub acks: Vec<(u32, u64)>,
    /// Values this node proposed in the step.
    pub proposed: Vec<Proposal>,
    /// Values this node learned chosen in the step.
    pub learned: Vec<Learned>,
    /// Digests of the client values this node received in the step (the values that may be
    /// proposed).
    pub requested: Vec<u64>,
}

/// Who and when, kept cheaply and formatted only for a violation: `n2 at t=1500`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Witness {
    /// The node.
    pub node: u32,
    /// When.
    pub time: u64,
}

impl std::fmt::Display for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{} at t={}", self.node, self.time)
    }
}

impl PaxosObservation {
    /// Who and when this observation was taken.
    pub fn witness(&self) -> Witness {
        Witness { node: self.node, time: self.time }
    }

    /// `n2 at t=1500`, for evidence text.
    pub fn label(&self) -> String {
        self.witness().to_string()
    }

    /// Whether the step showed anything these checkers look at beyond the promise.
    pub fn has_events(&self) -> bool {
        !(self.acks.is_empty()
            && self.proposed.is_empty()
            && self.learned.is_empty()
            && self.requested.is_empty())
    }
}

/// A ballot number (`round << 16 | node`) as `round.node`, for evidence text.
pub fn ballot_text(ballot: u64) -> String {
    format!("{}.{}", ballot >> 16, ballot & 0xFFFF)
}

/// Every Paxos property at once, under its name.
pub struct PaxosInvariants {
    set: InvariantSet<PaxosObservation>,
}

impl Default for PaxosInvariants {
    fn default() -> Self {
        let set = InvariantSet::new()
            .with("agreement", Agreement::default())
            .with("stability (P2b)", Stability::default())
            .with("validity", Validity::default())
            .with("promise monotonic", PromiseMonotonic::default())
            .with("unique proposals", UniqueProposals::default());
        PaxosInvariants { set }
    }
}

impl PaxosInvariants {
    /// The five properties, nothing observed yet.
    pub fn new() -> Self {
        PaxosInvariants::default()
    }

    /// Feeds the next observation.
    pub fn observe(&mut self, obs: &PaxosObservation) {
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

/// Builders for hand-made observations in tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;

    /// A ballot number from a round and a node.
    pub fn b(round: u64, node: u64) -> u64 {
        (round << 16) | node
    }

    pub fn obs(node: u32, time: u64) -> PaxosObservation {
        PaxosObservation { node, time, promise: Some(0), ..PaxosObservation::default() }
    }

    pub fn learned(node: u32, time: u64, slot: u64, digest: u64, ballot: Option<u64>) -> PaxosObservation {
        let l = Learned { slot, digest, ballot, noop: false };
        PaxosObservation { learned: vec![l], ..obs(node, time) }
    }

    pub fn proposed(node: u32, time: u64, slot: u64, ballot: u64, digest: u64) -> PaxosObservation {
        PaxosObservation { proposed: vec![Proposal { slot, ballot, digest }], ..obs(node, time) }
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    #[test]
    fn the_set_names_the_failing_property() {
        let mut all = PaxosInvariants::new();
        all.observe(&PaxosObservation { requested: vec![30, 31], ..obs(2, 0) });
        all.observe(&learned(0, 1, 3, 30, None));
        assert_eq!(all.verdict(), Verdict::Ok);
        all.observe(&learned(1, 2, 3, 31, None));
        let Verdict::Violation(why) = all.verdict() else { panic!("two values chosen at slot 3 passed") };
        assert!(why.starts_with("agreement"), "{why}");
        assert_eq!(ballot_text(b(7, 2)), "7.2");
    }
}
