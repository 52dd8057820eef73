//! Raft as a faultline system: the key-value workload with membership churn, routing, answers,
//! observation of every step, and the checks (the five Raft properties, and liveness through
//! convergence).

use crate::bugs::RaftBug;
use crate::config::RaftConfig;
use crate::msg::{Request, Response};
use crate::observe::{convergence, RaftStatus, StatusRole};
use crate::Raft;
use faultline_checkers::invariants::raft::RaftInvariants;
use faultline_checkers::{EventKind, History, Value, Verdict};
use faultline_services::{KvOp, KvWorkload};
use faultline_sim::events::Events;
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{linearizability, Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{ClientId, NodeId};
use rand::Rng as _;
use std::collections::{BTreeMap, BTreeSet};

/// Share of operations that are membership changes.
const ADMIN_PROBABILITY: f64 = 0.03;

/// The Raft key-value store bound to the harness.
pub struct RaftSystem {
    config: RaftConfig,
    nodes: u32,
    workload: KvWorkload,
}

/// What the run saw: the invariants, fed every observation, and event counts.
#[derive(Default)]
pub struct Observed {
    invariants: RaftInvariants,
    statuses: BTreeMap<NodeId, RaftStatus>,
    /// (term, leader) pairs seen: each is an election won.
    leaders: BTreeSet<(u64, NodeId)>,
    failed: BTreeSet<NodeId>,
    events: Events,
}

impl System for RaftSystem {
    type Node = Raft;
    type Observer = Observed;
    type Bug = RaftBug;
    const NAME: &'static str = "raft";
    const EVENTS: &'static [&'static str] =
        &["leaders_elected", "snapshots", "membership_changes", "repairs", "nodes_lost_metadata"];
    const MODEL: &'static str = "key-value";
    const COVERAGE: &'static [&'static str] = &[
        "raft.old_term_entry_on_a_majority",
        "raft.follower_overwrites_conflicting_entries",
        "raft.snapshot_replaces_a_conflicting_log",
        "raft.change_requested_before_term_commit",
        "raft.change_requested_while_pending",
        "raft.leader_removes_itself",
        "raft.removed_leader_steps_down",
        "raft.server_rejoins",
        "raft.leader_cut_off_at_a_membership_change",
    ];

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let raft = RaftConfig { bug: config.bug::<Self>()?, ..RaftConfig::with_members(config.nodes) };
        raft.validate().map_err(|e| e.to_string())?;
        Ok(RaftSystem { config: raft, nodes: config.nodes, workload: KvWorkload::new(&config.workload) })
    }

    fn build_node(&self, _id: NodeId) -> Raft {
        Raft::new(self.config.clone()).expect("validated in new")
    }

    fn next_op(&self, client: ClientId, rng: &mut Rng) -> Op<Request> {
        if self.nodes > 1 && rng.gen_bool(ADMIN_PROBABILITY) {
            let node = NodeId(rng.gen_range(0..self.nodes));
            return if rng.gen_bool(0.5) {
                Op::admin(Request::RemoveServer { node }, "remove-server")
            } else {
                Op::admin(Request::AddServer { node }, "add-server")
            };
        }
        self.workload.op(client, rng)
    }

    /// Adversarial membership changes (thesis 4.1 and 4.2), each one that changes something as
    /// the leader's configuration stands: remove a member that looks dead (down, paused or cut
    /// off from the leader: what operators do), remove the leader itself, re-add a server the
    /// configuration lacks, remove any member; at the size floor, only re-adds. The harness
    /// sends them in bursts, some right after an election or a partition, so changes meet
    /// pending changes, new leaders and leaders on the minority side.
    fn admin_op(&self, seen: &Observed, unhealthy: &[NodeId], rng: &mut Rng) -> Option<Op<Request>> {
        let leader = self.leader(seen)?;
        let members = seen.statuses.get(&leader).map(|s| s.members.clone()).unwrap_or_default();
        let outside: Vec<NodeId> = (0..self.nodes).map(NodeId).filter(|n| !members.contains(n)).collect();
        let dead: Vec<NodeId> = members.iter().copied().filter(|n| unhealthy.contains(n)).collect();
        let can_remove = members.len() > self.config.min_members;
        let pick = |v: &[NodeId], rng: &mut Rng| v[rng.gen_range(0..v.len())];
        let request = match rng.gen_range(0..4) {
            _ if can_remove && !dead.is_empty() => Request::RemoveServer { node: pick(&dead, rng) },
            0 if can_remove => Request::RemoveServer { node: leader },
            1 | 2 if can_remove => Request::RemoveServer { node: pick(&members, rng) },
            _ if !outside.is_empty() => Request::AddServer { node: pick(&outside, rng) },
            _ if can_remove => Request::RemoveServer { node: pick(&members, rng) },
            _ => return None,
        };
        let (f, node) = match request {
            Request::AddServer { node } => ("add-server", node),
            Request::RemoveServer { node } => ("remove-server", node),
            _ => unreachable!("admin requests are membership changes"),
        };
        // The value names the server in the log; admin operations are not recorded.
        Some(Op { value: Value::Int(i64::from(node.0)), ..Op::admin(request, f) })
    }

    fn route(&self, _client: ClientId, _request: &Request, hint: Option<NodeId>, rng: &mut Rng) -> NodeId {
        hint.unwrap_or_else(|| NodeId(rng.gen_range(0..self.nodes)))
    }

    fn interpret(&self, request: &Request, response: &Response) -> Answer {
        match (request.kv(), response) {
            // A leader that steps down answers its pending writes with NotLeader, and they may
            // still commit: NotLeader does not say "not applied".
            (_, Response::NotLeader { hint }) => Answer::Unknown { hint: *hint },
            // A leader that refused (not ready, a change pending, a full disk) appended nothing
            // now, but an earlier copy of a write (a retry, a duplicated message) may already
            // be in its log from an earlier term and still commit: for a write that is a maybe.
            // A read is never in the log: refused is not applied.
            (Some(KvOp::Get { .. }), Response::Unavailable(_)) => Answer::NotApplied { hint: None },
            (_, Response::Unavailable(_)) => Answer::Unknown { hint: None },
            (Some(op), _) => match response.outcome() {
                Some(outcome) => op.answer(&outcome),
                // A response that does not answer the request is a protocol bug: leave it to
                // the checks, as an operation whose outcome is unknown.
                None => Answer::Unknown { hint: None },
            },
            // Membership changes are not recorded: any answer completes them.
            (None, Response::Members(_) | Response::Invalid { .. }) => {
                Answer::Done(EventKind::Ok, Value::Nil)
            }
            (None, _) => Answer::Unknown { hint: None },
        }
    }

    fn observe(&self, seen: &mut Observed, id: NodeId, moment: Moment, node: &Raft) {
        let status = node.status();
        // Most steps (heartbeats, redirects) change nothing the invariants look at; building an
        // observation clones the log, so only changed states are fed to them.
        if seen.statuses.get(&id).is_none_or(|before| fingerprint(before) != fingerprint(&status)) {
            let mut obs = node.observe();
            obs.time = moment.time_ns;
            seen.invariants.observe(&obs);
        }
        if status.role == StatusRole::Leader && seen.leaders.insert((status.term, id)) {
            seen.events.count("leaders_elected", moment);
        }
        if status.role == StatusRole::Failed && seen.failed.insert(id) {
            seen.events.count("nodes_lost_metadata", moment);
        }
        if let Some(before) = seen.statuses.get(&id) {
            let events = &mut seen.events;
            events.count_n("snapshots", u64::from(status.snapshot.index > before.snapshot.index), moment);
            events.count_n("membership_changes", u64::from(status.members != before.members), moment);
            let repaired = before.first_hole.is_some() && status.first_hole.is_none();
            events.count_n("repairs", u64::from(repaired), moment);
        }
        seen.statuses.insert(id, status);
    }

    fn leader(&self, seen: &Observed) -> Option<NodeId> {
        let leaders = seen.statuses.values().filter(|s| s.role == StatusRole::Leader);
        leaders.max_by_key(|s| s.term).map(|s| s.id)
    }

    fn pending(&self, seen: &Observed) -> Option<String> {
        let statuses: Vec<RaftStatus> = seen.statuses.values().cloned().collect();
        convergence(&statuses).err()
    }

    fn check(&self, history: &History, seen: &Observed) -> Vec<CheckOutcome> {
        let mut checks = vec![linearizability(Self::MODEL, history)];
        if seen.statuses.is_empty() {
            // Nothing was observed of the nodes (real mode): only the history can be checked.
            return checks;
        }
        checks.extend(seen.invariants.verdicts().into_iter().map(|(name, v)| CheckOutcome::new(name, v)));
        if seen.leaders.is_empty() {
            checks.push(CheckOutcome::new(
                "elected-a-leader",
                Verdict::Violation("no leader was ever elected".into()),
            ));
        }
        checks
    }

    fn counters(&self, seen: &Observed, counters: &mut Counters) {
        seen.events.add_to(Self::NAME, counters);
    }
}

/// What the invariants can see of a node: if none of it changed, neither did its log, its
/// role or what it applied (a log that changed keeps its last entry only by log matching).
fn fingerprint(s: &RaftStatus) -> impl PartialEq {
    (s.term, s.role, s.commit_index, s.applied_index, s.last_log, s.snapshot, s.first_hole)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Unavailable;

    #[test]
    fn a_refused_write_is_a_maybe_and_a_refused_read_is_not_applied() {
        // A leader that is not ready appended nothing now, but an earlier copy of the write may
        // be in its log from an earlier term and still commit.
        let raft = RaftSystem::new(&SystemConfig::new(3)).unwrap();
        let busy = Response::Unavailable(Unavailable::LeaderNotReady);
        assert_eq!(raft.interpret(&Request::put("k", "v"), &busy), Answer::Unknown { hint: None });
        assert_eq!(raft.interpret(&Request::get("k"), &busy), Answer::NotApplied { hint: None });
        let redirect = Response::NotLeader { hint: Some(NodeId(1)) };
        assert_eq!(raft.interpret(&Request::get("k"), &redirect), Answer::Unknown { hint: Some(NodeId(1)) });
    }
}
