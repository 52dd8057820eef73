//! The coordination service as a faultline system: the session-keeping workload, routing,
//! answers, observation of every step, and the checks: linearizability of writes and
//! linearizable reads against the `znode` model, session order and committed values of local
//! reads, Zab's invariants, the same data tree on every server after each transaction, and
//! liveness through convergence.

use crate::api::{ZkRequest, ZkResponse};
use crate::bugs::ZabBug;
use crate::config::ZabConfig;
use crate::msg::Txn;
use crate::observe::{convergence, ZabRole, ZabStatus};
use crate::reads;
use crate::workload::ZkWorkload;
use crate::Zab;
use faultline_checkers::invariants::log::{LogObservation, Role, StateMachineSafety, Vocabulary};
use faultline_checkers::invariants::zab::ZabInvariants;
use faultline_checkers::invariants::Invariant;
use faultline_checkers::{History, Verdict};
use faultline_sim::events::Events;
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{linearizability, Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{ClientId, NodeId};
use rand::Rng as _;
use std::collections::BTreeMap;

/// The coordination service bound to the harness.
pub struct ZabSystem {
    config: ZabConfig,
    nodes: u32,
    workload: ZkWorkload,
}

/// What the run saw of the servers.
#[derive(Default)]
pub struct Observed {
    invariants: ZabInvariants,
    /// The data tree's digest after each position, compared across servers.
    trees: StateMachineSafety,
    trees_violation: Option<String>,
    statuses: BTreeMap<NodeId, ZabStatus>,
    /// The committed history by position, as first delivered.
    committed: BTreeMap<u64, Txn>,
    events: Events,
}

impl Observed {
    fn observe_trees(&mut self, node: NodeId, moment: Moment, trees: &[(u64, u64)]) {
        if trees.is_empty() || self.trees_violation.is_some() {
            return;
        }
        let obs = LogObservation {
            node: node.0,
            time: moment.time_ns,
            epoch: 0,
            role: Role::Follower,
            commit_index: 0,
            snapshot: (0, 0),
            log: Vec::new(),
            applied: trees.to_vec(),
            words: Vocabulary::ZAB,
        };
        self.trees_violation = self.trees.check(&obs).err();
    }
}

impl System for ZabSystem {
    type Node = Zab;
    type Observer = Observed;
    type Bug = ZabBug;
    const NAME: &'static str = "zab";
    const EVENTS: &'static [&'static str] =
        &["elections", "epochs", "diff_syncs", "trunc_syncs", "snap_syncs", "session_expiries", "repairs"];
    const MODEL: &'static str = "znode";
    const COVERAGE: &'static [&'static str] = &[
        "zab.a_sync_truncates_a_divergent_suffix",
        "zab.a_follower_installs_a_snapshot",
        "zab.a_damaged_server_is_repaired",
        "zab.a_session_expires",
        "zab.a_server_restarts_on_a_lost_disk",
    ];

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let zab = ZabConfig { bug: config.bug::<Self>()?, ..ZabConfig::with_members(config.nodes) };
        zab.validate().map_err(|e| e.to_string())?;
        Ok(ZabSystem { config: zab, nodes: config.nodes, workload: ZkWorkload::new(&config.workload) })
    }

    fn build_node(&self, _id: NodeId) -> Zab {
        Zab::new(self.config.clone()).expect("validated in new")
    }

    fn next_op(&self, client: ClientId, rng: &mut Rng) -> Op<ZkRequest> {
        self.workload.next_op(client, rng)
    }

    fn route(&self, _client: ClientId, _request: &ZkRequest, hint: Option<NodeId>, rng: &mut Rng) -> NodeId {
        hint.unwrap_or_else(|| NodeId(rng.gen_range(0..self.nodes)))
    }

    fn interpret(&self, request: &ZkRequest, response: &ZkResponse) -> Answer {
        self.workload.interpret(request, response)
    }

    fn observe(&self, seen: &mut Observed, id: NodeId, moment: Moment, node: &Zab) {
        for event in node.events() {
            seen.events.count(event, moment);
        }
        let status = node.status();
        if seen.statuses.get(&id) == Some(&status) && !node.proposed_in_step() {
            return;
        }
        let mut obs = node.observe();
        obs.log.time = moment.time_ns;
        seen.invariants.observe(&obs);
        seen.observe_trees(id, moment, node.trees());
        for (index, txn) in node.delivered() {
            seen.committed.entry(index).or_insert_with(|| txn.clone());
        }
        seen.statuses.insert(id, status);
    }

    fn leader(&self, seen: &Observed) -> Option<NodeId> {
        let leaders =
            seen.statuses.values().filter(|s| matches!(s.role, ZabRole::Leading | ZabRole::Establishing));
        leaders.max_by_key(|s| s.epoch).map(|s| s.id)
    }

    fn pending(&self, seen: &Observed) -> Option<String> {
        let statuses: Vec<ZabStatus> = seen.statuses.values().cloned().collect();
        convergence(&statuses).err()
    }

    fn check(&self, history: &History, seen: &Observed) -> Vec<CheckOutcome> {
        let mut checks = vec![linearizability(Self::MODEL, history)];
        checks.push(CheckOutcome::new(
            "local reads in session order",
            reads::session_order(&self.workload.seen()),
        ));
        if seen.statuses.is_empty() {
            // Nothing was observed of the servers (real mode): only the history can be checked.
            return checks;
        }
        checks.push(CheckOutcome::new(
            "local reads of committed states",
            reads::committed_values(history, &seen.committed),
        ));
        checks.extend(seen.invariants.verdicts().into_iter().map(|(name, v)| CheckOutcome::new(name, v)));
        let trees = seen.trees_violation.clone().map_or(Verdict::Ok, Verdict::Violation);
        checks.push(CheckOutcome::new("same data tree after each transaction", trees));
        if seen.events.get("epochs") == 0 {
            checks.push(CheckOutcome::new(
                "established-a-leader",
                Verdict::Violation("no leader ever began broadcasting".into()),
            ));
        }
        checks
    }

    fn counters(&self, seen: &Observed, counters: &mut Counters) {
        seen.events.add_to(Self::NAME, counters);
    }
}
