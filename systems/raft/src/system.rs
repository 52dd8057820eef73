//! Raft as a faultline system: the key-value workload with membership churn, routing, answers,
//! observation of every step, and the checks (the five Raft properties, and liveness through
//! convergence).

use crate::bugs::RaftBug;
use crate::config::RaftConfig;
use crate::history::{completion, invocation, Completion};
use crate::msg::{Request, Response};
use crate::observe::{convergence, RaftStatus, StatusRole};
use crate::Raft;
use faultline_checkers::invariants::raft::RaftInvariants;
use faultline_checkers::{History, Verdict};
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{linearizability, Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{ClientId, NodeId};
use rand::Rng as _;
use std::collections::BTreeMap;

/// Keys of the workload: few, so operations contend.
const KEYS: u32 = 5;
/// Share of operations that are membership changes.
const ADMIN_PROBABILITY: f64 = 0.03;

/// The Raft key-value store bound to the harness.
pub struct RaftSystem {
    config: RaftConfig,
    nodes: u32,
}

/// What the run saw: the invariants, fed every observation, and event counts.
#[derive(Default)]
pub struct Observed {
    invariants: RaftInvariants,
    statuses: BTreeMap<NodeId, RaftStatus>,
    /// (term, leader) pairs seen: each is an election won.
    leaders: std::collections::BTreeSet<(u64, NodeId)>,
    snapshots: u64,
    membership_changes: u64,
    /// The same two, counted only when they happened while a fault was in force.
    snapshots_under_faults: u64,
    membership_changes_under_faults: u64,
    repairs: u64,
    failed: std::collections::BTreeSet<NodeId>,
}

/// The command-line names of the planted bugs (variant names; kebab-case is accepted too).
pub const BUG_NAMES: &[&str] = &[
    "VoteNotPersisted",
    "CommitOldTermByCounting",
    "NoStepDownOnHigherTerm",
    "StaleLocalRead",
    "TruncateOnStaleAppend",
    "SnapshotKeepsConflictingEntries",
    "AckBeforeSync",
];

impl System for RaftSystem {
    type Node = Raft;
    type Observer = Observed;
    const NAME: &'static str = "raft";
    const BUGS: &'static [&'static str] = BUG_NAMES;
    const MODEL: &'static str = "key-value";

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let bug = config.bug.as_deref().map(str::parse::<RaftBug>).transpose().map_err(|e| e.to_string())?;
        let raft = RaftConfig { bug, ..RaftConfig::with_members(config.nodes) };
        raft.validate().map_err(|e| e.to_string())?;
        Ok(RaftSystem { config: raft, nodes: config.nodes })
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
        let request = kv_request(client, rng);
        let (f, value) = invocation(&request).expect("key-value requests are recorded");
        Op::new(request, f, value)
    }

    fn route(&self, _client: ClientId, _request: &Request, hint: Option<NodeId>, rng: &mut Rng) -> NodeId {
        hint.unwrap_or_else(|| NodeId(rng.gen_range(0..self.nodes)))
    }

    fn interpret(&self, request: &Request, response: &Response) -> Answer {
        match (completion(request, response), response) {
            (Ok(Completion::Done(kind, value)), _) => Answer::Done(kind, value),
            // A leader that steps down answers its pending writes with NotLeader, and they may
            // still commit: NotLeader does not say "not applied".
            (Ok(Completion::Retry), Response::NotLeader { hint }) => Answer::Unknown { hint: *hint },
            // A leader that refused (not ready, a change pending, a full disk) appended nothing.
            (Ok(Completion::Retry), _) => Answer::NotApplied { hint: None },
            // A response that does not answer the request is a protocol bug: leave it to the
            // checks, as an operation whose outcome is unknown.
            (Err(_), _) => Answer::Unknown { hint: None },
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
        if status.role == StatusRole::Leader {
            seen.leaders.insert((status.term, id));
        }
        if status.role == StatusRole::Failed {
            seen.failed.insert(id);
        }
        if let Some(before) = seen.statuses.get(&id) {
            let snapshot = u64::from(status.snapshot.index > before.snapshot.index);
            let membership = u64::from(status.members != before.members);
            seen.snapshots += snapshot;
            seen.membership_changes += membership;
            if moment.under_faults {
                seen.snapshots_under_faults += snapshot;
                seen.membership_changes_under_faults += membership;
            }
            seen.repairs += u64::from(before.first_hole.is_some() && status.first_hole.is_none());
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
        counters.add_n("raft.leaders_elected", seen.leaders.len() as u64);
        counters.add_n("raft.snapshots", seen.snapshots);
        counters.add_n("raft.membership_changes", seen.membership_changes);
        counters.add_n("raft.snapshots_under_faults", seen.snapshots_under_faults);
        counters.add_n("raft.membership_changes_under_faults", seen.membership_changes_under_faults);
        counters.add_n("raft.repairs", seen.repairs);
        counters.add_n("raft.nodes_lost_metadata", seen.failed.len() as u64);
    }
}

/// What the invariants can see of a node: if none of it changed, neither did its log, its
/// role or what it applied (a log that changed keeps its last entry only by log matching).
fn fingerprint(s: &RaftStatus) -> impl PartialEq {
    (s.term, s.role, s.commit_index, s.applied_index, s.last_log, s.snapshot, s.first_hole)
}

/// A random key-value request. Values are unique per client and request so that histories
/// stay cheap to check; cas compares against a small domain so that some succeed.
fn kv_request(client: ClientId, rng: &mut Rng) -> Request {
    let key = format!("k{}", rng.gen_range(0..KEYS));
    let tag: u32 = rng.gen();
    match rng.gen_range(0..10) {
        0..=2 => Request::get(&key),
        3..=4 => Request::put(&key, &format!("{}", rng.gen_range(0..4))),
        5..=7 => Request::append(&key, &format!("c{}.{tag:x};", client.0)),
        _ => {
            let from = rng.gen_bool(0.2).then(|| format!("{}", rng.gen_range(0..4)));
            Request::cas(&key, from.as_deref(), &format!("{}", rng.gen_range(0..4)))
        }
    }
}
