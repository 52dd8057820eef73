//! What a node recorded, for the observer: the facts the atomic commitment properties are
//! checked on, and counts of the protocol's events.
//!
//! A node appends a fact each time it records one (a yes vote, a decision, the coordinator's
//! commit with its participants) and rebuilds the list from its log at every boot, so the
//! observer can feed the checkers only what is new since it last looked. `boot` is drawn afresh
//! at every start, so that the observer can tell a restarted node (whose list starts over) from
//! one that recorded nothing new.

use crate::msg::{Outcome, TxnId};
use faultline_sim::NodeId;

/// A fact a node recorded about a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// A participant wrote PREPARED and votes yes.
    VotedYes,
    /// The node decided (a participant recorded the outcome; the coordinator decided it).
    Decided(Outcome),
    /// The coordinator decided to commit a transaction of these participants.
    CommitDecided(Vec<NodeId>),
}

/// Event counts of one incarnation of a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Prepared transactions whose decision came late, so that the participant asked for it.
    pub in_doubt_periods: u64,
    /// Outcomes a participant in doubt learned from a peer rather than the coordinator.
    pub cooperative_terminations: u64,
    /// Boots that found work to finish on disk: prepared transactions in doubt, or commit
    /// decisions not acknowledged by every participant.
    pub recoveries: u64,
    /// Inquiries or votes about transactions the coordinator holds no COMMIT for, answered
    /// "abort".
    pub presumed_aborts: u64,
}

/// A node's facts since its boot, and its event counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal {
    /// Drawn at every start: a new value means a new incarnation.
    pub boot: u64,
    facts: Vec<(TxnId, Fact)>,
    pub stats: Stats,
}

impl Journal {
    /// An empty journal for the incarnation `boot`.
    pub fn new(boot: u64) -> Self {
        Journal { boot, facts: Vec::new(), stats: Stats::default() }
    }

    pub fn record(&mut self, txn: TxnId, fact: Fact) {
        self.facts.push((txn, fact));
    }

    /// Every fact of this incarnation, in the order recorded.
    pub fn facts(&self) -> &[(TxnId, Fact)] {
        &self.facts
    }
}
