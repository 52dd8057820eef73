//! A node's roles and the volatile state each keeps. The durable state (promise, accepted
//! values, snapshot) lives in `storage::Acceptor` and the replica's fields; everything here is
//! rebuilt from nothing after a restart.

use crate::msg::{Ballot, Slot, Value};
use faultline_sim::{NodeId, RequestId};
use std::collections::{BTreeMap, BTreeSet};

/// What the node is doing.
#[derive(Debug)]
pub(crate) enum Role {
    /// Its disk could not be read at start; retrying. Takes no part meanwhile.
    Recovering,
    /// Follows a leader (or waits for one), accepting its values.
    Follower,
    /// Runs phase 1 for its ballot.
    Candidate(Candidate),
    /// Phase 1 done: proposes values at its ballot.
    Leader(Box<Leader>),
    /// Lost state it may have answered for: learns, but takes no part in quorums.
    Rebuilding(Rebuild),
}

/// Phase 1 in progress.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub ballot: Ballot,
    /// Acceptors whose promise counted (this node included).
    pub granted: BTreeSet<NodeId>,
    /// slot -> the highest-ballot accepted value any counted promise reported.
    pub reports: BTreeMap<Slot, (Ballot, Value)>,
    /// How far each promising acceptor has learned.
    pub learned: BTreeMap<NodeId, Slot>,
}

/// A value this leader proposed, not yet known chosen.
#[derive(Clone, Debug)]
pub(crate) struct Proposal {
    pub value: Value,
    /// Acceptors that accepted it at this leader's ballot (this node included).
    pub votes: BTreeSet<NodeId>,
}

/// The leader's view of one peer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Peer {
    /// Every slot up to here the peer knows chosen.
    pub learned: Slot,
    /// Highest broadcast round it confirmed (reads).
    pub round: u64,
    /// Heard from since the last quorum check.
    pub active: bool,
    /// The round in which it was last sent a snapshot.
    pub snapshot_round: Option<u64>,
    /// It has acknowledged this leader's ballot (an acceptance was observed).
    pub acked: bool,
}

/// A read waiting for leadership confirmation and for the state machine to catch up.
#[derive(Clone, Debug)]
pub(crate) struct PendingRead {
    pub id: RequestId,
    pub key: String,
    /// Apply at least this far before answering.
    pub slot: Slot,
    /// A quorum must confirm this round (or a later one) first.
    pub round: u64,
}

#[derive(Debug)]
pub(crate) struct Leader {
    pub ballot: Ballot,
    /// The next slot to propose a client value at.
    pub next: Slot,
    /// The last slot phase 1 adopted a value for (or the first unchosen one, minus one).
    pub adopted: Slot,
    pub proposals: BTreeMap<Slot, Proposal>,
    pub peers: BTreeMap<NodeId, Peer>,
    /// Broadcast rounds sent so far.
    pub round: u64,
    /// Heartbeats since the last quorum check.
    pub ticks: u32,
    /// slot -> the client request whose value sits there, answered when it is applied.
    pub writes: BTreeMap<Slot, RequestId>,
    pub reads: Vec<PendingRead>,
    /// Until the next heartbeat, one value per phase 2a message (a buggify site).
    pub one_per_message: bool,
}

/// Rebuilding a lost disk (see `rebuild.rs`).
#[derive(Debug)]
pub(crate) enum Rebuild {
    /// Asking every peer for its promise.
    Probing { replies: BTreeMap<NodeId, Ballot> },
    /// Waiting for a leader above `floor` to have chosen every slot its phase 1 adopted.
    Waiting { floor: Ballot },
}
