//! What crosses the network and what the log holds: ballots, slots, values, client requests
//! and responses, and the messages of the two phases (prepare/promise, accept/accepted), of
//! learning (commit, catch-up, snapshots) and of rebuilding a lost disk (probes).

use faultline_services::KvStore;
pub use faultline_services::{KvOp, KvOutcome, KvWrite};
use faultline_sim::{NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// A position in the replicated log, from 1 (0 means "none": nothing chosen yet).
pub type Slot = u64;

/// A ballot: a round number and the node that owns it. Ordered by round, then node, so ballots
/// of different proposers never tie ("Paxos Made Simple", section 2.5: disjoint sets of numbers).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub round: u64,
    pub node: u32,
}

impl Ballot {
    /// Below every real ballot (rounds start at 1): nothing promised yet.
    pub const ZERO: Ballot = Ballot { round: 0, node: 0 };

    pub fn new(round: u64, node: NodeId) -> Ballot {
        Ballot { round, node: node.0 }
    }

    /// The ballot as one ordered number (`round << 16 | node`), for observations and reports.
    pub fn as_u64(self) -> u64 {
        (self.round << 16) | u64::from(self.node)
    }
}

impl std::fmt::Display for Ballot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.round, self.node)
    }
}

/// What a slot of the log holds: a client write (deduplicated by its request id when applied),
/// or a no-op a new leader uses to fill a slot no promise reported a value for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Value {
    Noop,
    Write { id: RequestId, op: KvWrite },
}

impl Value {
    /// A digest of the value (xxh3 of its encoding), for observations.
    pub fn digest(&self) -> u64 {
        let bytes = postcard::to_allocvec(self).expect("values always encode");
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }

    /// The client request this value answers, if any.
    pub fn request(&self) -> Option<RequestId> {
        match self {
            Value::Noop => None,
            Value::Write { id, .. } => Some(*id),
        }
    }
}

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Get { key: String },
    Write(KvWrite),
}

impl Request {
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

    /// The key-value command this request carries.
    pub fn kv(&self) -> KvOp {
        match self {
            Request::Get { key } => KvOp::Get { key: key.clone() },
            Request::Write(w) => KvOp::Write(w.clone()),
        }
    }
}

impl From<KvOp> for Request {
    fn from(op: KvOp) -> Request {
        match op {
            KvOp::Get { key } => Request::Get { key },
            KvOp::Write(w) => Request::Write(w),
        }
    }
}

/// Why a node cannot take a request right now; the client retries with the same request id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unavailable {
    /// The node is running phase 1 for its ballot and has proposed nothing yet.
    LeaderNotReady,
    /// The leader's disk is full; the request was not proposed.
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
    /// This node does not lead; try `hint`, or another node when `None`. An earlier attempt
    /// may still be chosen: retry with the same request id.
    NotLeader { hint: Option<NodeId> },
    /// Retry later with the same request id; nothing was proposed.
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
            Response::NotLeader { .. } | Response::Unavailable(_) => return None,
        })
    }
}

/// The state machine with every slot up to `slot` applied: what compaction keeps of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub slot: Slot,
    pub kv: KvStore<Response>,
}

/// An acceptor's accepted value at one slot, as a promise reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedValue {
    pub slot: Slot,
    pub ballot: Ballot,
    pub value: Value,
}

/// Phase 2a, also the leader's heartbeat and its commit notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accept {
    pub ballot: Ballot,
    /// Values to accept at this ballot (none in a plain heartbeat).
    pub entries: Vec<(Slot, Value)>,
    /// Every slot up to here is chosen, and the leader's value there is the chosen one.
    pub commit: Slot,
    /// The last slot this leader's phase 1 adopted a value for (see `rebuild.rs`).
    pub adopted: Slot,
    /// The leader's broadcast round, echoed back: confirms leadership for reads.
    pub round: u64,
}

/// Node-to-node messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Phase 1a: promise `ballot`, and report what you accepted from slot `from` on.
    Prepare {
        ballot: Ballot,
        from: Slot,
    },
    /// Phase 1b. `snapshot` when the acceptor has compacted slots at or after `from`: they are
    /// chosen, and the snapshot is their value.
    Promise {
        ballot: Ballot,
        accepted: Vec<AcceptedValue>,
        snapshot: Option<Box<Snapshot>>,
        learned: Slot,
    },
    /// `ballot` is refused: the acceptor promised `promised`, a higher one.
    Nack {
        ballot: Ballot,
        promised: Ballot,
    },
    /// Phase 2a (see [`Accept`]).
    Accept(Accept),
    /// Phase 2b: `slots` accepted at `ballot`. `learned`: the acceptor knows every slot up to it
    /// chosen; `commit`: the commit the leader told it (a gap below it calls for a catch-up).
    Accepted {
        ballot: Ballot,
        slots: Vec<Slot>,
        learned: Slot,
        commit: Slot,
        round: u64,
    },
    /// Catch-up: chosen values for a replica that lacks them.
    Learn {
        entries: Vec<(Slot, Value)>,
    },
    /// A leader asks a peer that knows more slots chosen for the values from `from` on.
    Fetch {
        from: Slot,
    },
    /// Catch-up past the leader's compacted prefix.
    InstallSnapshot {
        snapshot: Box<Snapshot>,
    },
    /// A replica that takes no part in quorums (rebuilding a lost disk) reports how far it has
    /// learned; `floor` is the ballot it needs a leader above (see `rebuild.rs`).
    Learned {
        learned: Slot,
        floor: Option<Ballot>,
    },
    /// A rebuilding node asks for the promise its peer has made.
    Probe,
    ProbeReply {
        promised: Ballot,
    },
}
