//! A router: the client-side node that routes one workload client's requests.
//!
//! It caches a configuration and the ring built from it, and stamps every request with that
//! configuration's epoch. It sends a key's request to the leader it last heard of in the key's
//! group (or to the group's replicas in turn), and passes every answer back to its client:
//! an outcome completes the request, anything else (not the leader, a stale epoch, a key in
//! migration) becomes "retry", and the client retries with the same request id after a short
//! wait. A stale-epoch refusal from a group that is ahead makes the router fetch the latest
//! configuration; requests that arrive while it has no configuration at all wait for one.
//! The router keeps nothing that a crash could make wrong: its client retries, and it fetches
//! a configuration again.

use crate::config::VNODES;
use crate::msg::{
    ConfigResponse, ConfigWrite, GroupId, Msg, Refusal, Request, Response, Retry, RingConfig, ShardRead,
    ShardResponse, ShardWrite, Timer,
};
use crate::node::Cx;
use crate::topology::{Place, Topology};
use faultline_raft::RaftReply;
use faultline_services::{KvOp, Ring};
use faultline_sim::{NodeId, RequestId};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a router waits for a configuration before asking another node.
pub const FETCH_INTERVAL: Duration = Duration::from_millis(100);

/// One router.
pub struct Router {
    topology: Topology,
    /// Virtual nodes this router builds its ring with: the configuration's, except under
    /// `ClientsDisagreeOnVnodes`.
    vnodes: Option<u32>,
    config: Option<RingConfig>,
    ring: Ring,
    /// The newest epoch it has heard exists.
    wanted: u64,
    leaders: BTreeMap<GroupId, NodeId>,
    config_leader: Option<NodeId>,
    /// Rotates through replicas when no leader is known.
    cursor: u32,
    /// Requests waiting for a first configuration.
    waiting: Vec<(RequestId, KvOp)>,
}

impl Router {
    /// A router; `vnodes` overrides the configuration's virtual-node count (a planted bug).
    pub fn new(topology: Topology, vnodes: Option<u32>) -> Router {
        Router {
            topology,
            vnodes,
            config: None,
            ring: Ring::new([], VNODES),
            wanted: 1,
            leaders: BTreeMap::new(),
            config_leader: None,
            cursor: 0,
            waiting: Vec::new(),
        }
    }

    pub fn epoch(&self) -> u64 {
        self.config.as_ref().map_or(0, |c| c.epoch)
    }

    pub fn on_start(&mut self, cx: &mut Cx<'_>) {
        self.fetch(cx);
    }

    pub fn on_request(&mut self, cx: &mut Cx<'_>, id: RequestId, req: Request) {
        match req {
            Request::Kv(op) if self.config.is_none() => {
                self.waiting.retain(|(w, _)| *w != id);
                self.waiting.push((id, op));
            }
            Request::Kv(op) => self.send_kv(cx, id, op),
            Request::Join(g) => self.send_change(cx, id, ConfigWrite::Join(g)),
            Request::Leave(g) => self.send_change(cx, id, ConfigWrite::Leave(g)),
        }
    }

    pub fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        match msg {
            Msg::ShardAnswer { id, resp } => self.on_shard_answer(cx, from, id, resp),
            Msg::ConfigAnswer { id, resp } => match resp {
                ConfigResponse::Config(config) => {
                    self.adopt(cx, config.clone());
                    cx.reply(id, Response::Config(config));
                }
                ConfigResponse::Raft(reply) => {
                    let why = retry(&reply);
                    self.config_leader = self.redirect(reply, from);
                    cx.reply(id, Response::Retry(why));
                }
            },
            Msg::ConfigIs { config } => self.adopt(cx, config),
            // Messages for other kinds: a protocol bug, which the checks would show.
            _ => {}
        }
    }

    pub fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        if timer == Timer::Fetch && self.epoch() < self.wanted {
            self.fetch(cx);
        }
    }

    fn on_shard_answer(&mut self, cx: &mut Cx<'_>, from: NodeId, id: RequestId, resp: ShardResponse) {
        let answer = match resp {
            ShardResponse::Kv(outcome) => Response::Kv(outcome),
            ShardResponse::Refused(Refusal::StaleEpoch { epoch }) => {
                if epoch > self.epoch() {
                    self.wanted = self.wanted.max(epoch);
                    self.fetch(cx);
                }
                Response::Retry(Retry::StaleEpoch)
            }
            ShardResponse::Raft(reply) => {
                let why = retry(&reply);
                if let Place::Shard(g) = self.topology.place(from) {
                    match self.redirect(reply, from) {
                        Some(leader) => self.leaders.insert(g, leader),
                        None => self.leaders.remove(&g),
                    };
                }
                Response::Retry(why)
            }
            ShardResponse::Refused(Refusal::Moving) => Response::Retry(Retry::Moving),
            // Clients' requests never get an internal command's answer; retrying is safe.
            ShardResponse::Done => Response::Retry(Retry::Unavailable),
        };
        cx.reply(id, answer);
    }

    /// Where to go after Raft's answer from `from`: its hint, or (no hint, or `from` was not
    /// ready) nowhere known, which moves the cursor on.
    fn redirect(&mut self, reply: RaftReply, from: NodeId) -> Option<NodeId> {
        match reply {
            RaftReply::NotLeader { hint: Some(leader) } => Some(leader),
            RaftReply::Unavailable(_) => Some(from),
            _ => {
                self.cursor = self.cursor.wrapping_add(1);
                None
            }
        }
    }

    fn send_kv(&mut self, cx: &mut Cx<'_>, id: RequestId, op: KvOp) {
        let epoch = self.epoch();
        let Some(group) = self.ring.owner(op.key()) else { return };
        let to =
            self.leaders.get(&group).copied().unwrap_or_else(|| self.pick(&self.topology.group_nodes(group)));
        let req = match op {
            KvOp::Get { key } => faultline_raft::Request::Get { key: ShardRead { epoch, key } },
            KvOp::Write(op) => faultline_raft::Request::Write(ShardWrite::Client { epoch, op }),
        };
        cx.send(to, Msg::ShardRequest { id, req });
    }

    fn send_change(&mut self, cx: &mut Cx<'_>, id: RequestId, change: ConfigWrite) {
        let to = self.config_leader.unwrap_or_else(|| self.pick(&self.topology.config_nodes()));
        cx.send(to, Msg::ConfigRequest { id, req: faultline_raft::Request::Write(change) });
    }

    fn pick(&self, nodes: &[NodeId]) -> NodeId {
        nodes[self.cursor as usize % nodes.len()]
    }

    /// Asks a configuration node for the latest configuration, and again later if none newer
    /// than the wanted epoch has come.
    fn fetch(&mut self, cx: &mut Cx<'_>) {
        self.cursor = self.cursor.wrapping_add(1);
        let to = self.pick(&self.topology.config_nodes());
        cx.send(to, Msg::FetchConfig { epoch: None });
        cx.set_timer(Timer::Fetch, FETCH_INTERVAL);
    }

    /// Takes `config` if it is newer, and sends the requests that waited for a configuration.
    fn adopt(&mut self, cx: &mut Cx<'_>, config: RingConfig) {
        if config.epoch <= self.epoch() {
            return;
        }
        // BUG(ClientsDisagreeOnVnodes): the ring is built with this router's own count.
        self.ring = config.ring_with(self.vnodes.unwrap_or(config.vnodes));
        self.wanted = self.wanted.max(config.epoch);
        self.config = Some(config);
        for (id, op) in std::mem::take(&mut self.waiting) {
            self.send_kv(cx, id, op);
        }
    }
}

/// Why Raft did not take a request, for the client.
fn retry(reply: &RaftReply) -> Retry {
    match reply {
        RaftReply::NotLeader { .. } => Retry::NotLeader,
        _ => Retry::Unavailable,
    }
}
