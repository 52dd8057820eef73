//! What crosses the network: ring configurations, the shard and configuration machines'
//! commands and answers, the node-to-node messages, timers, and the workload's requests.

use crate::config::ConfigMachine;
use crate::machine::ShardMachine;
use faultline_raft::RaftReply;
use faultline_services::{KvOp, KvOutcome, KvWrite, Ring, Sessions};
use faultline_sim::RequestId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A shard group, by number.
pub type GroupId = u32;

/// The ring at one configuration epoch: which groups hold data, with how many virtual nodes.
/// Configurations are numbered from 1 and never change once the configuration service has
/// committed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingConfig {
    pub epoch: u64,
    pub groups: BTreeSet<GroupId>,
    pub vnodes: u32,
}

impl RingConfig {
    /// The ring this configuration describes (with `vnodes` virtual nodes per group).
    pub fn ring_with(&self, vnodes: u32) -> Ring {
        Ring::new(self.groups.iter().copied(), vnodes)
    }

    /// The ring this configuration describes.
    pub fn ring(&self) -> Ring {
        self.ring_with(self.vnodes)
    }
}

/// Keys and client sessions handed from one group to another in a migration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub pairs: Vec<(String, String)>,
    pub sessions: Sessions<ShardResponse>,
}

/// What a shard group's log orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardWrite {
    /// A client's write, routed with configuration `epoch`.
    Client { epoch: u64, op: KvWrite },
    /// Move to the next configuration: stop serving what leaves, wait for what arrives.
    Reconfigure { group: GroupId, config: RingConfig },
    /// The keys group `from` handed over for configuration `epoch`.
    Import { epoch: u64, from: GroupId, shipment: Shipment },
    /// Group `to` has imported what this group handed it at `epoch`: forget the copy.
    Release { epoch: u64, to: GroupId },
    /// Only under the planted bug `ImportAckLostBothServe`: take back keys whose handoff was
    /// never acknowledged.
    Reclaim { epoch: u64, to: GroupId },
}

/// A client's read, routed with configuration `epoch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRead {
    pub epoch: u64,
    pub key: String,
}

/// Why a shard group refused a client's request (the client retries, the router re-routes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The group is at configuration `epoch`, not the one the request was routed with.
    StaleEpoch { epoch: u64 },
    /// The key is arriving in a migration that has not been applied yet.
    Moving,
}

/// What a shard group answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardResponse {
    Kv(KvOutcome),
    Refused(Refusal),
    Raft(RaftReply),
    /// An internal command took effect (or already had).
    Done,
}

impl From<KvOutcome> for ShardResponse {
    fn from(outcome: KvOutcome) -> Self {
        ShardResponse::Kv(outcome)
    }
}

impl From<RaftReply> for ShardResponse {
    fn from(reply: RaftReply) -> Self {
        ShardResponse::Raft(reply)
    }
}

/// A change of the ring, asked of the configuration service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigWrite {
    Join(GroupId),
    Leave(GroupId),
}

/// What the configuration service answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigResponse {
    /// The configuration after the change (the same as before if there was nothing to change).
    Config(RingConfig),
    Raft(RaftReply),
}

impl From<RaftReply> for ConfigResponse {
    fn from(reply: RaftReply) -> Self {
        ConfigResponse::Raft(reply)
    }
}

/// Node-to-node messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Raft within the configuration group.
    Config(faultline_raft::Msg<ConfigMachine>),
    /// Raft within a shard group.
    Shard(faultline_raft::Msg<ShardMachine>),
    /// Router to shard node: a client's request, under the client's request id.
    ShardRequest {
        id: RequestId,
        req: faultline_raft::Request<ShardMachine>,
    },
    ShardAnswer {
        id: RequestId,
        resp: ShardResponse,
    },
    /// Router to configuration node: a ring change.
    ConfigRequest {
        id: RequestId,
        req: faultline_raft::Request<ConfigMachine>,
    },
    ConfigAnswer {
        id: RequestId,
        resp: ConfigResponse,
    },
    /// To a configuration node: send configuration `epoch` (`None`: the latest you have).
    FetchConfig {
        epoch: Option<u64>,
    },
    /// A configuration node's answer (only when it has the one asked for).
    ConfigIs {
        config: RingConfig,
    },
    /// Source leader to the destination group: the keys it hands over at `epoch`.
    Handoff {
        epoch: u64,
        from: GroupId,
        shipment: Shipment,
    },
    /// Destination leader to the source group: `importer` has imported what it was handed.
    HandoffAck {
        epoch: u64,
        importer: GroupId,
    },
}

impl From<faultline_raft::Msg<ConfigMachine>> for Msg {
    fn from(msg: faultline_raft::Msg<ConfigMachine>) -> Self {
        Msg::Config(msg)
    }
}

impl From<faultline_raft::Msg<ShardMachine>> for Msg {
    fn from(msg: faultline_raft::Msg<ShardMachine>) -> Self {
        Msg::Shard(msg)
    }
}

/// Timer keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// The embedded Raft node's own.
    Raft(faultline_raft::Timer),
    /// Shard leader: look for the next configuration, push unacknowledged handoffs.
    Poll,
    /// Router: ask again for a configuration that has not arrived.
    Fetch,
}

impl From<faultline_raft::Timer> for Timer {
    fn from(timer: faultline_raft::Timer) -> Self {
        Timer::Raft(timer)
    }
}

/// What a workload client asks its router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Kv(KvOp),
    /// Admin: group joins the ring.
    Join(GroupId),
    /// Admin: group leaves the ring.
    Leave(GroupId),
}

impl From<KvOp> for Request {
    fn from(op: KvOp) -> Self {
        Request::Kv(op)
    }
}

/// What a router tells its workload client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Kv(KvOutcome),
    /// A ring change was made (or was not needed): the configuration now.
    Config(RingConfig),
    /// Not served now: try again with the same request id. A write may still take effect.
    Retry(Retry),
}

/// Why a request was not served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Retry {
    /// The node asked does not lead its group (the router now knows better, or tries the next).
    NotLeader,
    /// The leader cannot take it now (not ready, a full disk).
    Unavailable,
    /// The route's epoch is not the group's (the router fetches the latest configuration).
    StaleEpoch,
    /// The key is arriving in a migration that is not applied yet.
    Moving,
}
