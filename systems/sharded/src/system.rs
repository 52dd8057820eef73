//! The sharded store bound to the harness: the layout (a configuration group, shard groups,
//! one router per client), the key-value workload with ring changes, answers, observation and
//! the checks.

use crate::bugs::ShardedBug;
use crate::config_node::ConfigNode;
use crate::machine::MachineBugs;
#[cfg(test)]
use crate::msg::Retry;
use crate::msg::{Request, Response};
use crate::node::ShardedNode;
use crate::observe::Observed;
use crate::router::Router;
use crate::shard::ShardNode;
use crate::topology::{Place, Topology, GROUPS};
use faultline_checkers::{EventKind, History, Value, Verdict};
use faultline_services::{KvOp, KvWorkload};
use faultline_sim::layout::Layout;
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{linearizability, Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{ClientId, NodeId};
use rand::Rng as _;

/// Share of operations that are ring changes (a group joins or leaves).
const CHANGE_PROBABILITY: f64 = 0.05;
/// Virtual nodes of the routers that disagree, under `ClientsDisagreeOnVnodes`.
const DISAGREEING_VNODES: u32 = 3;

/// The sharded key-value store bound to the harness.
pub struct ShardedSystem {
    topology: Topology,
    bug: Option<ShardedBug>,
    workload: KvWorkload,
}

impl ShardedSystem {
    pub fn topology(&self) -> Topology {
        self.topology
    }

    fn has_bug(&self, bug: ShardedBug) -> bool {
        self.bug == Some(bug)
    }

    fn build_shard(&self, group: u32) -> ShardNode {
        let bugs = MachineBugs {
            no_epoch_check: self.has_bug(ShardedBug::NoEpochCheck),
            serve_before_import: self.has_bug(ShardedBug::ServeBeforeHandoffApplied),
        };
        ShardNode::new(group, self.topology, bugs, self.has_bug(ShardedBug::ImportAckLostBothServe))
    }

    fn build_router(&self, client: ClientId) -> Router {
        // BUG(ClientsDisagreeOnVnodes): every other router uses its own virtual-node count.
        let disagrees = self.has_bug(ShardedBug::ClientsDisagreeOnVnodes) && client.0 % 2 == 1;
        Router::new(self.topology, disagrees.then_some(DISAGREEING_VNODES))
    }
}

impl System for ShardedSystem {
    type Node = ShardedNode;
    type Observer = Observed;
    type Bug = ShardedBug;
    const NAME: &'static str = "sharded";
    const EVENTS: &'static [&'static str] = &[
        "joins",
        "leaves",
        "migrations",
        "handoffs_released",
        "stale_epoch_refusals",
        "config_leaders_elected",
        "shard_leaders_elected",
    ];
    const COVERAGE: &'static [&'static str] = &[
        "sharded.import_applied",
        "sharded.handoff_released",
        "sharded.stale_epoch_refused",
        "sharded.handoff_repeated_after_import",
        "sharded.source_cut_off_mid_handoff",
    ];
    // Four Raft groups, each with crash sites at its leader's every step: left on after the
    // heal, a group with a node on a lost disk (two live replicas) can lose a leader to them
    // every few hundred milliseconds for the whole liveness budget (1 seed in 10000).
    const BUGGIFY_AFTER_HEAL: bool = false;
    const MODEL: &'static str = "key-value";

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let bug = config.bug::<Self>()?;
        let topology = Topology::new(config.nodes, config.clients);
        Ok(ShardedSystem { topology, bug, workload: KvWorkload::new(&config.workload) })
    }

    fn layout(config: &SystemConfig) -> Layout {
        Topology::new(config.nodes, config.clients).layout()
    }

    fn build_node(&self, id: NodeId) -> ShardedNode {
        match self.topology.place(id) {
            Place::Config => ShardedNode::Config(Box::new(ConfigNode::new(self.topology))),
            Place::Shard(g) => ShardedNode::Shard(Box::new(self.build_shard(g))),
            Place::Router(c) => ShardedNode::Router(Box::new(self.build_router(c))),
        }
    }

    fn next_op(&self, client: ClientId, rng: &mut Rng) -> Op<Request> {
        if rng.gen_bool(CHANGE_PROBABILITY) {
            let group = rng.gen_range(0..GROUPS);
            return if rng.gen_bool(0.5) {
                Op::admin(Request::Join(group), "join")
            } else {
                Op::admin(Request::Leave(group), "leave")
            };
        }
        self.workload.op(client, rng)
    }

    /// Always the client's own router.
    fn route(&self, client: ClientId, _req: &Request, _hint: Option<NodeId>, _rng: &mut Rng) -> NodeId {
        self.topology.router(client)
    }

    fn interpret(&self, request: &Request, response: &Response) -> Answer {
        match (request, response) {
            (Request::Kv(op), Response::Kv(outcome)) => op.answer(outcome),
            // A refused read changed nothing; a refused write may still be in some group's log.
            (Request::Kv(KvOp::Get { .. }), Response::Retry(_)) => Answer::NotApplied { hint: None },
            (Request::Join(_) | Request::Leave(_), Response::Config(_)) => {
                Answer::Done(EventKind::Ok, Value::Nil)
            }
            _ => Answer::Unknown { hint: None },
        }
    }

    fn observe(&self, seen: &mut Observed, id: NodeId, moment: Moment, node: &ShardedNode) {
        seen.observe(id, moment, node);
    }

    fn leader(&self, seen: &Observed) -> Option<NodeId> {
        seen.crash_target()
    }

    fn pending(&self, seen: &Observed) -> Option<String> {
        seen.pending()
    }

    fn check(&self, history: &History, seen: &Observed) -> Vec<CheckOutcome> {
        let mut checks = vec![linearizability(Self::MODEL, history)];
        if seen.groups.is_empty() {
            // Nothing was observed of the nodes (real mode): only the history can be checked.
            return checks;
        }
        let named = |prefix: &str, name: &str, v: Verdict| CheckOutcome::new(format!("{prefix}: {name}"), v);
        for (name, v) in seen.config.invariants.verdicts() {
            checks.push(named("configuration group", name, v));
        }
        for (g, group) in &seen.groups {
            for (name, v) in group.invariants.verdicts() {
                checks.push(named(&format!("group {g}"), name, v));
            }
        }
        checks.extend(seen.owners.verdicts().into_iter().map(|(name, v)| CheckOutcome::new(name, v)));
        checks
    }

    fn counters(&self, seen: &Observed, counters: &mut Counters) {
        seen.events.add_to(Self::NAME, counters);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_services::KvOutcome;

    #[test]
    fn refused_writes_are_maybes_and_refused_reads_are_not_applied() {
        let s = ShardedSystem::new(&SystemConfig::new(3)).unwrap();
        let put = Request::Kv(KvOp::put("k", "v"));
        assert_eq!(s.interpret(&put, &Response::Retry(Retry::Moving)), Answer::Unknown { hint: None });
        let get = Request::Kv(KvOp::get("k"));
        assert_eq!(s.interpret(&get, &Response::Retry(Retry::Moving)), Answer::NotApplied { hint: None });
        let ok = s.interpret(&put, &Response::Kv(KvOutcome::Written));
        assert!(matches!(ok, Answer::Done(EventKind::Ok, _)));
        assert_eq!(crate::config::VNODES, crate::config::ConfigMachine::default().latest().vnodes);
    }
}
