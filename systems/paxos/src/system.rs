//! Multi-Paxos as a faultline system: the key-value workload, routing, answers, observation of
//! every step, and the checks (Paxos's per-slot properties, one leader per ballot, agreement on
//! the applied prefix, and liveness through convergence).

use crate::bugs::PaxosBug;
use crate::config::PaxosConfig;
use crate::msg::{Request, Response};
use crate::observe::{convergence, PaxosStatus, StatusRole};
use crate::Paxos;
use faultline_checkers::invariants::log::{ElectionSafety, LogObservation, StateMachineSafety};
use faultline_checkers::invariants::paxos::PaxosInvariants;
use faultline_checkers::invariants::InvariantSet;
use faultline_checkers::{History, Verdict};
use faultline_services::KvWorkload;
use faultline_sim::events::Events;
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{linearizability, Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{ClientId, NodeId};
use rand::Rng as _;
use std::collections::{BTreeMap, BTreeSet};

/// The Multi-Paxos key-value store bound to the harness.
pub struct PaxosSystem {
    config: PaxosConfig,
    workload: KvWorkload,
}

/// What the run saw: the invariants, fed every observation, and event counts.
pub struct Observed {
    paxos: PaxosInvariants,
    log: InvariantSet<LogObservation>,
    statuses: BTreeMap<NodeId, PaxosStatus>,
    /// (ballot, leader) pairs seen: each is a phase 1 won.
    leaders: BTreeSet<(u64, NodeId)>,
    /// Per node: the promise of the last observation fed to the Paxos checkers, and whether a
    /// later step must be fed to confirm it (see `PromiseMonotonic`).
    fed: BTreeMap<NodeId, (Option<u64>, bool)>,
    events: Events,
}

impl Default for Observed {
    fn default() -> Self {
        let log = InvariantSet::new()
            .with("one leader per ballot", ElectionSafety::default())
            .with("agreement (applied prefix)", StateMachineSafety::default());
        Observed {
            paxos: PaxosInvariants::new(),
            log,
            statuses: BTreeMap::new(),
            leaders: BTreeSet::new(),
            fed: BTreeMap::new(),
            events: Events::default(),
        }
    }
}

impl Observed {
    /// Feeds the Paxos checkers the step of `node` if it shows anything they look at: events,
    /// a start, a promise that changed, or a confirmation that the previous one was not cut.
    /// Most steps (heartbeats) show none, and skipping them keeps observation cheap.
    fn feed(&mut self, id: NodeId, moment: Moment, node: &Paxos) {
        let (fed_promise, unconfirmed) = self.fed.get(&id).copied().unwrap_or((None, true));
        let promise = node.promise();
        if !(unconfirmed || node.started_in_step() || node.has_events() || promise != fed_promise) {
            return;
        }
        let mut obs = node.observe();
        obs.time = moment.time_ns;
        self.paxos.observe(&obs);
        self.fed.insert(id, (obs.promise, obs.started || obs.promise != fed_promise));
    }
}

impl PaxosSystem {
    /// The planted bug this system runs with.
    pub fn bug(&self) -> Option<PaxosBug> {
        self.config.bug
    }
}

impl System for PaxosSystem {
    type Node = Paxos;
    type Observer = Observed;
    type Bug = PaxosBug;
    const NAME: &'static str = "paxos";
    const EVENTS: &'static [&'static str] =
        &["leader_changes", "phase1_rounds", "catch_ups", "snapshots", "rebuilds"];
    const COVERAGE: &'static [&'static str] =
        &["paxos.leader_cut_off_while_finishing_phase_1", "paxos.rebuilt_node_votes_again"];
    const MODEL: &'static str = "key-value";

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let paxos = PaxosConfig { bug: config.bug::<Self>()?, ..PaxosConfig::with_nodes(config.nodes) };
        paxos.validate().map_err(|e| e.to_string())?;
        Ok(PaxosSystem { config: paxos, workload: KvWorkload::new(&config.workload) })
    }

    fn build_node(&self, _id: NodeId) -> Paxos {
        Paxos::new(self.config.clone()).expect("validated in new")
    }

    fn next_op(&self, client: ClientId, rng: &mut Rng) -> Op<Request> {
        self.workload.op(client, rng)
    }

    fn route(&self, _client: ClientId, _request: &Request, hint: Option<NodeId>, rng: &mut Rng) -> NodeId {
        hint.unwrap_or_else(|| NodeId(rng.gen_range(0..self.config.nodes)))
    }

    fn interpret(&self, request: &Request, response: &Response) -> Answer {
        match response {
            // A leader that steps down answers its pending writes with NotLeader, and they may
            // still be chosen: NotLeader does not say "not applied".
            Response::NotLeader { hint } => Answer::Unknown { hint: *hint },
            // A node that refused (running phase 1, a full disk) proposed nothing now, but an
            // earlier copy of a write (a retry, a duplicated message) may sit in some acceptor's
            // log and be chosen yet: for a write that is a maybe. A read is never in the log.
            Response::Unavailable(_) if matches!(request, Request::Get { .. }) => {
                Answer::NotApplied { hint: None }
            }
            Response::Unavailable(_) => Answer::Unknown { hint: None },
            _ => match response.outcome() {
                Some(outcome) => request.kv().answer(&outcome),
                None => Answer::Unknown { hint: None },
            },
        }
    }

    fn observe(&self, seen: &mut Observed, id: NodeId, moment: Moment, node: &Paxos) {
        seen.feed(id, moment, node);
        let status = node.status();
        let new_leader =
            status.role == StatusRole::Leader && seen.leaders.insert((status.promise.as_u64(), id));
        if new_leader || node.applied_in_step() {
            let mut log = node.log_observation();
            log.time = moment.time_ns;
            seen.log.observe(&log);
        }
        let events = node.step_events();
        let counts = &mut seen.events;
        counts.count_n("leader_changes", u64::from(new_leader), moment);
        counts.count_n("phase1_rounds", u64::from(events.phase1), moment);
        counts.count_n("catch_ups", u64::from(events.catch_up), moment);
        counts.count_n("snapshots", u64::from(events.snapshot), moment);
        counts.count_n("rebuilds", u64::from(events.rebuild), moment);
        seen.statuses.insert(id, status);
    }

    fn leader(&self, seen: &Observed) -> Option<NodeId> {
        let leaders = seen.statuses.values().filter(|s| s.role == StatusRole::Leader);
        leaders.max_by_key(|s| s.promise).map(|s| s.id)
    }

    fn pending(&self, seen: &Observed) -> Option<String> {
        let statuses: Vec<PaxosStatus> = seen.statuses.values().cloned().collect();
        convergence(&statuses).err()
    }

    fn check(&self, history: &History, seen: &Observed) -> Vec<CheckOutcome> {
        let mut checks = vec![linearizability(Self::MODEL, history)];
        if seen.statuses.is_empty() {
            // Nothing was observed of the nodes (real mode): only the history can be checked.
            return checks;
        }
        let verdicts = seen.paxos.verdicts().into_iter().chain(seen.log.verdicts());
        checks.extend(verdicts.map(|(name, v)| CheckOutcome::new(name, v)));
        if seen.leaders.is_empty() {
            checks.push(CheckOutcome::new("elected-a-leader", Verdict::Violation("no node ever led".into())));
        }
        checks
    }

    fn counters(&self, seen: &Observed, counters: &mut Counters) {
        seen.events.add_to(Self::NAME, counters);
    }
}
