//! A node's roles and the volatile state each role keeps (Figure 2's "volatile state on
//! leaders"), plus what is waiting for an answer.
//!
//! The persistent state of Figure 2 (term, vote, log) lives in `storage::HardState` and
//! `log::RaftLog`; everything here is rebuilt from nothing after a restart.

use crate::machine::StateMachine;
use faultline_sim::{NodeId, RequestId};
use std::collections::{BTreeMap, BTreeSet};

/// What the node is doing.
#[derive(Debug)]
pub(crate) enum Role<M: StateMachine> {
    Follower,
    /// Asking for pre-votes for term + 1 without having changed its term (thesis 9.6).
    PreCandidate {
        granted: BTreeSet<NodeId>,
    },
    Candidate {
        granted: BTreeSet<NodeId>,
    },
    Leader(Box<LeaderState<M>>),
    /// The disk could not be read at start; retrying. Takes no part meanwhile.
    Recovering,
    /// Both metadata copies are damaged: the node cannot know its term or whom it voted for,
    /// so it takes no further part (it would need an operator to replace its disk).
    Failed,
}

/// A leader's view of one follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Highest index known to be replicated on the follower.
    pub matched: u64,
    /// Next index to send (optimistic: advanced when sent, rewound on a heartbeat or conflict).
    pub next: u64,
    /// After a conflict, send only on replies and heartbeats until the logs match again.
    pub probing: bool,
    /// Highest broadcast round the follower acknowledged in this term (ReadIndex).
    pub round: u64,
    /// Heard from since the last quorum check.
    pub active: bool,
}

impl Progress {
    pub fn new(last_index: u64) -> Self {
        Progress { matched: 0, next: last_index + 1, probing: true, round: 0, active: true }
    }
}

/// A read waiting for leadership confirmation and for the state machine to catch up.
#[derive(Clone, Debug)]
pub(crate) struct PendingRead<M: StateMachine> {
    pub id: RequestId,
    pub key: M::Read,
    /// The read index: apply at least this far before answering (thesis 6.4).
    pub index: u64,
    /// A quorum must acknowledge this broadcast round (or a later one) first.
    pub round: u64,
}

#[derive(Debug)]
pub(crate) struct LeaderState<M: StateMachine> {
    pub progress: BTreeMap<NodeId, Progress>,
    /// Index of the no-op this leader appended when elected.
    pub term_start: u64,
    /// Broadcast rounds sent so far in this term.
    pub round: u64,
    pub reads: Vec<PendingRead<M>>,
    /// Log index -> the request whose entry sits there, answered when it is applied.
    pub writes: BTreeMap<u64, RequestId>,
    /// Heartbeats since the last check that a quorum is still in contact.
    pub ticks: u32,
}

impl<M: StateMachine> LeaderState<M> {
    pub fn new(peers: impl Iterator<Item = NodeId>, last_index: u64) -> Self {
        LeaderState {
            progress: peers.map(|p| (p, Progress::new(last_index))).collect(),
            term_start: last_index + 1,
            round: 0,
            reads: Vec::new(),
            writes: BTreeMap::new(),
            ticks: 0,
        }
    }
}
