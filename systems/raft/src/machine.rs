//! `StateMachine`: what a Raft group replicates, and the key-value store it replicates by default.
//!
//! Raft orders commands; what they mean belongs to the state machine. A machine applies the
//! writes the log commits, in log order, on every replica (so it must be deterministic: no
//! clock, no randomness, ordered collections), answers reads once ReadIndex has confirmed them
//! (thesis 6.4), deduplicates retried writes by request id (client sessions, thesis 6.3), and is
//! what a snapshot holds (section 7). Raft's own answers (not the leader, not ready, a
//! membership change) come in through [`RaftReply`], so a machine's response type can carry
//! them next to its own outcomes.
//!
//! The default machine is [`KvMachine`], the key-value store of `faultline-services` with
//! Raft's [`Response`]; other systems bring their own (a shard of a sharded store whose writes
//! carry a configuration epoch, a configuration service), and reuse Raft unchanged.

use crate::msg::{Response, Unavailable};
use faultline_services::{KvStore, KvWrite};
use faultline_sim::{Message, NodeId, RequestId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// A deterministic state machine replicated by Raft.
pub trait StateMachine:
    Clone + Debug + Default + PartialEq + Eq + Serialize + DeserializeOwned + Send + 'static
{
    /// A command the log orders (applied on every replica).
    type Write: Message + Eq;
    /// A query the leader answers from its applied state after ReadIndex.
    type Read: Message + Eq;
    /// What clients are told: the machine's outcomes and Raft's own answers.
    type Response: Message + Eq + From<RaftReply>;

    /// Applies the write of request `id`, at most once per request id. `None` when the write is
    /// older than its client's last applied one (no answer: the client has moved on).
    fn apply(&mut self, id: RequestId, write: &Self::Write) -> Option<Self::Response>;

    /// Answers a read from the applied state. `&mut` so that a machine may record what it
    /// served; it must not change what later reads or writes see.
    fn read(&mut self, read: &Self::Read) -> Self::Response;

    /// The saved response if `id` is its client's last applied write (a retry).
    fn saved_response(&self, id: RequestId) -> Option<Self::Response>;

    /// Whether `id` is older than its client's last applied write.
    fn is_stale(&self, id: RequestId) -> bool;

    /// A digest of the whole state: equal states, equal digests (for convergence checks).
    fn digest(&self) -> u64;
}

/// Raft's own answers, whatever the state machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RaftReply {
    /// A membership change took effect (or already was): the members now.
    Members(Vec<NodeId>),
    /// The request is not valid (e.g. removing the last member); retrying will not help.
    Invalid { reason: String },
    /// This node does not lead; try `hint`. An earlier attempt may still take effect.
    NotLeader { hint: Option<NodeId> },
    /// Retry later with the same request id.
    Unavailable(Unavailable),
}

impl From<RaftReply> for Response {
    fn from(reply: RaftReply) -> Response {
        match reply {
            RaftReply::Members(members) => Response::Members(members),
            RaftReply::Invalid { reason } => Response::Invalid { reason },
            RaftReply::NotLeader { hint } => Response::NotLeader { hint },
            RaftReply::Unavailable(why) => Response::Unavailable(why),
        }
    }
}

/// The default machine: keys, values and client sessions, answering with Raft's [`Response`].
pub type KvMachine = KvStore<Response>;

impl StateMachine for KvStore<Response> {
    type Write = KvWrite;
    type Read = String;
    type Response = Response;

    fn apply(&mut self, id: RequestId, write: &KvWrite) -> Option<Response> {
        KvStore::apply(self, id, write).response()
    }

    fn read(&mut self, key: &String) -> Response {
        Response::Value(self.get(key).map(str::to_string))
    }

    fn saved_response(&self, id: RequestId) -> Option<Response> {
        KvStore::saved_response(self, id).cloned()
    }

    fn is_stale(&self, id: RequestId) -> bool {
        KvStore::is_stale(self, id)
    }

    fn digest(&self) -> u64 {
        KvStore::digest(self)
    }
}
