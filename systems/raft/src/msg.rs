//! What crosses the network and what the log holds: log positions, entries, client requests and
//! responses, and the node-to-node messages of Figure 2 (plus pre-vote, thesis 9.6).

use crate::machine::{KvMachine, StateMachine};
pub use faultline_services::{KvOp, KvOutcome, KvWrite};
use faultline_sim::{NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// A log position. Ordered by term, then index: the "at least as up-to-date" order of the
/// election restriction (section 5.4.1), so comparing two `LogId`s compares two logs' ends.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LogId {
    pub term: u64,
    pub index: u64,
}

impl LogId {
    pub fn new(index: u64, term: u64) -> Self {
        LogId { term, index }
    }
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Entry<M: StateMachine = KvMachine> {
    pub index: u64,
    pub term: u64,
    pub command: Command<M>,
}

impl<M: StateMachine> Entry<M> {
    pub fn id(&self) -> LogId {
        LogId::new(self.index, self.term)
    }
}

/// What an entry asks the replicated state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Command<M: StateMachine = KvMachine> {
    /// Appended by every new leader at the start of its term, so that entries of earlier terms
    /// get committed by counting (section 5.4.2) and reads know the commit index (thesis 6.4).
    Noop,
    /// A client write, deduplicated by its request id (client sessions, thesis 6.3).
    Write { id: RequestId, op: M::Write },
    /// The complete new membership, in effect as soon as it is in a log (thesis 4.1).
    Config { members: Vec<NodeId>, id: RequestId },
}

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Request<M: StateMachine = KvMachine> {
    /// A read, answered after ReadIndex (for the key-value machine: a key).
    Get {
        key: M::Read,
    },
    Write(M::Write),
    /// Admin: add a server to the cluster (single-server change, thesis 4.1).
    AddServer {
        node: NodeId,
    },
    /// Admin: remove a server from the cluster.
    RemoveServer {
        node: NodeId,
    },
}

impl Request<KvMachine> {
    pub fn get(key: &str) -> Request {
        KvOp::get(key).into()
    }

    pub fn put(key: &str, value: &str) -> Request {
        KvOp::put(key, value).into()
    }

    pub fn append(key: &str, value: &str) -> Request {
        KvOp::append(key, value).into()
    }

    pub fn cas(key: &str, from: Option<&str>, to: &str) -> Request {
        KvOp::cas(key, from, to).into()
    }

    /// The key-value command this request carries; `None` for membership changes.
    pub fn kv(&self) -> Option<KvOp> {
        match self {
            Request::Get { key } => Some(KvOp::Get { key: key.clone() }),
            Request::Write(w) => Some(KvOp::Write(w.clone())),
            Request::AddServer { .. } | Request::RemoveServer { .. } => None,
        }
    }
}

impl From<KvOp> for Request<KvMachine> {
    fn from(op: KvOp) -> Request {
        match op {
            KvOp::Get { key } => Request::Get { key },
            KvOp::Write(w) => Request::Write(w),
        }
    }
}

/// Why a leader cannot take a request right now; the client retries with the same request id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unavailable {
    /// The leader has not yet committed an entry of its term.
    LeaderNotReady,
    /// A membership change is still uncommitted (one change at a time, thesis 4.1).
    ConfigChangePending,
    /// The leader's disk is full; the request was not appended.
    DiskFull,
}

/// What a client is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// A get's result (`None`: the key is missing).
    Value(Option<String>),
    /// A put or an append took effect.
    Written,
    /// A cas took effect.
    Swapped,
    /// A cas did not take effect: the current value differs from `from`.
    CasFailed { current: Option<String> },
    /// A membership change took effect (or already was): the members now.
    Members(Vec<NodeId>),
    /// The request is not valid (e.g. removing the last member); retrying will not help.
    Invalid { reason: String },
    /// This node does not lead; try `hint`, or another node when `None`. An earlier attempt
    /// may still take effect: retry with the same request id.
    NotLeader { hint: Option<NodeId> },
    /// Retry later with the same request id.
    Unavailable(Unavailable),
}

impl From<KvOutcome> for Response {
    fn from(outcome: KvOutcome) -> Response {
        match outcome {
            KvOutcome::Value(v) => Response::Value(v),
            KvOutcome::Written => Response::Written,
            KvOutcome::Swapped => Response::Swapped,
            KvOutcome::CasFailed { current } => Response::CasFailed { current },
        }
    }
}

impl Response {
    /// The key-value outcome this response reports, if it is one.
    pub fn outcome(&self) -> Option<KvOutcome> {
        Some(match self {
            Response::Value(v) => KvOutcome::Value(v.clone()),
            Response::Written => KvOutcome::Written,
            Response::Swapped => KvOutcome::Swapped,
            Response::CasFailed { current } => KvOutcome::CasFailed { current: current.clone() },
            _ => return None,
        })
    }
}

/// Node-to-node messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Msg<M: StateMachine = KvMachine> {
    /// Would you vote for me in `term`? Changes no state at the receiver (thesis 9.6).
    PreVote {
        term: u64,
        last: LogId,
    },
    /// `term`: the proposed term when granted, the responder's term when refused.
    PreVoteReply {
        term: u64,
        granted: bool,
    },
    /// RequestVote (Figure 2).
    Vote {
        term: u64,
        last: LogId,
    },
    VoteReply {
        term: u64,
        granted: bool,
    },
    /// AppendEntries (Figure 2); also the heartbeat.
    Append(Append<M>),
    AppendReply(AppendReply),
    /// InstallSnapshot (Figure 13), sent whole: no chunking.
    InstallSnapshot {
        term: u64,
        round: u64,
        snapshot: Box<Snapshot<M>>,
    },
    /// The follower now holds everything up to `index`.
    SnapshotReply {
        term: u64,
        round: u64,
        index: u64,
    },
}

/// AppendEntries arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Append<M: StateMachine = KvMachine> {
    pub term: u64,
    /// The entry before `entries` (the consistency check, section 5.3).
    pub prev: LogId,
    pub entries: Vec<Entry<M>>,
    /// The leader's commit index.
    pub commit: u64,
    /// The leader's broadcast round, echoed back: confirms leadership for reads (thesis 6.4).
    pub round: u64,
}

/// AppendEntries results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendReply {
    pub term: u64,
    pub round: u64,
    pub result: AppendResult,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppendResult {
    /// The follower's log matches the leader's through `index`, durably.
    Matched { index: u64 },
    /// The consistency check failed. Fast back-off hint (section 5.3): the follower has `term`
    /// at the previous index and `index` is the first entry of that term in its log; with no
    /// term, its log ends (or becomes unreadable) before `index`.
    Conflict { index: u64, term: Option<u64> },
    /// The sender's term is stale (the reply's term is newer).
    StaleTerm,
}

/// A snapshot of the state machine (Figure 12).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Snapshot<M: StateMachine = KvMachine> {
    /// The last entry it includes.
    pub last: LogId,
    /// The membership as of `last`.
    pub members: Vec<NodeId>,
    /// The state machine as of `last`.
    pub kv: M,
}
