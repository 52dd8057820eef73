//! Two-phase commit's messages, client requests and responses, timers, and transaction ids.

use faultline_services::bank::data::Refusal;
use faultline_services::bank::{BankOp, ShardOp, ShardResult};
use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A transaction: the coordinator's epoch (raised durably at every boot, so that ids are never
/// reused after a crash) and a sequence number within it. Ids order transactions by age, which
/// is what wait-die compares.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxnId {
    pub epoch: u64,
    pub seq: u64,
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}.{}", self.epoch, self.seq)
    }
}

/// A commit decision.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Outcome {
    Commit,
    Abort,
}

/// Why a participant votes no.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NoReason {
    /// The operation itself is refused (an overdraft).
    Refused(Refusal),
    /// A lock is held by an older transaction (wait-die: the younger dies).
    LockConflict,
    /// The participant already aborted the transaction (it answered a peer's inquiry before it
    /// voted).
    Aborted,
}

/// A participant's vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Vote {
    /// Prepared: the transaction's writes and locks are durable; its reads' results.
    Yes(Vec<ShardResult>),
    No(NoReason),
}

/// Node-to-node messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Coordinator to participant: prepare your part of `txn`; `participants` are every
    /// participant of the transaction (for cooperative termination).
    Prepare { txn: TxnId, ops: Vec<ShardOp>, participants: Vec<NodeId> },
    /// Participant to coordinator.
    Vote { txn: TxnId, vote: Vote },
    /// Coordinator to participant: the outcome (or, for a transaction it does not know, the
    /// presumed abort).
    Decision { txn: TxnId, outcome: Outcome },
    /// Participant to coordinator: a commit is durable here (aborts are not acknowledged:
    /// presumed abort).
    Ack { txn: TxnId },
    /// Participant in doubt to coordinator: what was decided?
    Inquire { txn: TxnId },
    /// Participant in doubt to another participant (cooperative termination).
    PeerInquire { txn: TxnId },
    /// The answer: the outcome if the peer knows it (or aborted on its own, not having voted),
    /// `None` if it is in doubt too.
    PeerAnswer { txn: TxnId, outcome: Option<Outcome> },
}

/// What a client asks: a bank operation, run as one transaction.
pub type Request = BankOp;

/// What a client is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Committed; each shard's read results.
    Committed(BTreeMap<u32, Vec<ShardResult>>),
    /// Aborted: it did not and will not take effect.
    Aborted,
    /// The coordinator is not serving yet (its boot could not write its epoch), or the request
    /// reached a participant.
    Unavailable,
}

/// Timer keys of both kinds of node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The coordinator's periodic work: prepare timeouts, resending prepares and decisions, a
    /// boot that could not finish.
    Tick,
    /// The coordinator sends a commit decision to its next participant (decisions sent one per
    /// step, a `buggify!` path that opens the windows between sends).
    SendDecision(TxnId),
    /// A commit decision written to the log after it was sent (the planted bug
    /// `commit-before-decision-durable`).
    LogDecision(TxnId),
    /// A participant's decision on a prepared transaction is late: ask about it.
    InDoubt(TxnId),
}
