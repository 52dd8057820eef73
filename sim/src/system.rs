//! `System`: what binds a protocol to the harness.
//!
//! A system names its protocol's `Node`, builds nodes (again after every crash), draws the
//! workload's operations, tells clients where to send them and what the answers mean, watches
//! node states as the run goes, and checks the run at the end. Everything here is pure and
//! synchronous; the harness does the driving. The simulation never names a concrete system:
//! tests and the CLI bind systems to it.

use crate::bugs::Bug;
use crate::layout::Layout;
use crate::node::{ClientId, Node, NodeId};
use crate::options::WorkloadOptions;
use crate::rng::Rng;
use crate::stats::Counters;
use faultline_checkers::{EventKind, History, Value, Verdict};

/// How a system is set up for a run.
#[derive(Clone, Debug, PartialEq)]
pub struct SystemConfig {
    /// Server nodes in the cluster (`SimOptions::nodes`): what [`System::layout`] sizes its
    /// server group (or groups) by.
    pub nodes: u32,
    /// Workload clients (`SimOptions::clients`): client-side nodes are often one per client.
    pub clients: u32,
    /// A planted bug by name (see [`System::Bug`]), or `None` for the correct protocol.
    pub bug: Option<String>,
    /// What the workload's clients do (key count and distribution, for the system's draws).
    pub workload: WorkloadOptions,
}

impl SystemConfig {
    /// `nodes` servers, the default number of clients and workload, no bug.
    pub fn new(nodes: u32) -> Self {
        let defaults = crate::options::SimOptions::default();
        SystemConfig { nodes, clients: defaults.clients, bug: None, workload: defaults.workload }
    }

    /// The planted bug of system `S`, parsed from its canonical or variant name.
    pub fn bug<S: System>(&self) -> Result<Option<S::Bug>, String> {
        crate::bugs::parse_opt::<S::Bug>(S::NAME, self.bug.as_deref())
    }
}

/// One operation a client is about to invoke.
#[derive(Clone, Debug)]
pub struct Op<Req> {
    /// What the client sends to the node.
    pub request: Req,
    /// The history's function name (`read`, `incr`, ...).
    pub f: &'static str,
    /// The history's invocation value.
    pub value: Value,
    /// Whether the operation goes into the history. Administrative operations (membership
    /// changes) are driven like any other but are outside the checked model.
    pub record: bool,
}

impl<Req> Op<Req> {
    /// A recorded operation.
    pub fn new(request: Req, f: &'static str, value: Value) -> Self {
        Op { request, f, value, record: true }
    }

    /// An administrative operation, driven but not recorded.
    pub fn admin(request: Req, f: &'static str) -> Self {
        Op { request, f, value: Value::Nil, record: false }
    }
}

/// What a response means to a client.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The operation is decided: record this completion.
    Done(EventKind, Value),
    /// This node certainly did not apply it; try another (the hint, if any).
    NotApplied {
        /// A node to try next (the leader this node knows of, say).
        hint: Option<NodeId>,
    },
    /// It may or may not have been applied; try again (the hint, if any).
    Unknown {
        /// A node to try next (the leader this node knows of, say).
        hint: Option<NodeId>,
    },
}

/// The result of one check at the end of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckOutcome {
    /// The check's name, as reports print it.
    pub name: String,
    /// What the check concluded.
    pub verdict: Verdict,
}

impl CheckOutcome {
    /// The outcome of check `name`.
    pub fn new(name: impl Into<String>, verdict: Verdict) -> Self {
        CheckOutcome { name: name.into(), verdict }
    }
}

/// A protocol bound to a workload and its checks.
pub trait System: Sized + Send + Sync + 'static {
    /// The protocol the system's nodes run.
    type Node: Node;
    /// Accumulates what the run observed of node states (invariants are checked from it).
    type Observer: Default + Send + 'static;

    /// The planted bugs `SystemConfig::bug` may name (declared with
    /// [`bug_zoo!`](crate::bug_zoo); [`crate::bugs::NoBug`] for none).
    type Bug: Bug;

    /// The system's name on the command line.
    const NAME: &'static str;
    /// The system's own events its observer counts with [`crate::events::Events`] (without the
    /// `<system>.` prefix): declared so that a sweep can name those that never happened.
    const EVENTS: &'static [&'static str] = &[];
    /// The coverage points its nodes mark with [`crate::Context::sometimes`] (full names,
    /// `<system>.<moment>`): declared so that a sweep lists those never reached, and the
    /// conformance sweep requires each to be reached.
    const COVERAGE: &'static [&'static str] = &[];
    /// Whether `buggify` sites (crash and partition points included) keep firing in the
    /// liveness phase. When false, the heal turns them off with every other fault, so the
    /// liveness phase asks only whether the system recovers; true by default, which keeps the
    /// runs of the systems that had it.
    const BUGGIFY_AFTER_HEAL: bool = true;
    /// The checkers' model its client histories are linearizable against (`key-value`,
    /// `counter`...): the run's check and the replay's timeline both use it.
    const MODEL: &'static str;

    /// Validates the configuration (an unknown bug name is an error naming the known ones).
    fn new(config: &SystemConfig) -> Result<Self, String>;

    /// The system's nodes as groups of kinds, and the faults each kind may suffer (see
    /// [`crate::layout`]). By default one replicated group of `config.nodes` servers.
    fn layout(config: &SystemConfig) -> Layout {
        Layout::servers(config.nodes)
    }

    /// Builds node `id` (of any kind of the layout) with fresh volatile state: at boot and at
    /// every restart.
    fn build_node(&self, id: NodeId) -> Self::Node;

    /// The next operation of `client`.
    fn next_op(&self, client: ClientId, rng: &mut Rng) -> Op<<Self::Node as Node>::Request>;

    /// An admin operation for the admin side of the workload (see
    /// [`crate::options::AdminOptions`]): a membership change, a shard move..., drawn with what
    /// the run has observed (the leader now, the members) and what an operator's monitoring
    /// would show: `unhealthy`, the nodes down, paused or cut off from the leader (operators
    /// remove the servers that look dead, the most common change in practice). Never recorded in
    /// the history. `None` (the default) when the system has no admin operations.
    fn admin_op(
        &self,
        _observer: &Self::Observer,
        _unhealthy: &[NodeId],
        _rng: &mut Rng,
    ) -> Option<Op<<Self::Node as Node>::Request>> {
        None
    }

    /// Where workload client `client` sends `request` (any node of the layout: a server, or the
    /// client-side node that acts for this client): `hint` is the last redirect, if any.
    fn route(
        &self,
        client: ClientId,
        request: &<Self::Node as Node>::Request,
        hint: Option<NodeId>,
        rng: &mut Rng,
    ) -> NodeId;

    /// What `response` to `request` means.
    fn interpret(
        &self,
        request: &<Self::Node as Node>::Request,
        response: &<Self::Node as Node>::Response,
    ) -> Answer;

    /// Called after every step of node `id` (simulation only), at `moment`.
    fn observe(&self, _observer: &mut Self::Observer, _id: NodeId, _moment: Moment, _node: &Self::Node) {}

    /// The node that leads now, as far as the observed states tell (the highest term's leader,
    /// a fixed primary...): the target of crashes aimed at the leader. `None` when there is no
    /// such role or none is known; the crash then falls on the node the schedule names.
    fn leader(&self, _observer: &Self::Observer) -> Option<NodeId> {
        None
    }

    /// During the liveness phase: why the cluster has not converged yet, or `None` once it has.
    fn pending(&self, _observer: &Self::Observer) -> Option<String> {
        None
    }

    /// Checks the run: the client history and what was observed of the nodes.
    fn check(&self, history: &History, observer: &Self::Observer) -> Vec<CheckOutcome>;

    /// Like [`System::check`], and adds to `counters` what the checks found that is not a
    /// failure, named `<system>.<what>` so that sweeps sum it over seeds: the anomalies a
    /// protocol that promises no isolation is allowed to show, say. The harness calls this one;
    /// by default it is `check`, counting nothing.
    fn check_and_count(
        &self,
        history: &History,
        observer: &Self::Observer,
        _counters: &mut Counters,
    ) -> Vec<CheckOutcome> {
        self.check(history, observer)
    }

    /// Adds the system's own event counts to the run's counters (elections, snapshots,
    /// membership changes...), named `<system>.<event>`, so sweeps can show they happened.
    fn counters(&self, _observer: &Self::Observer, _counters: &mut Counters) {}
}

/// When an observation is made.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Moment {
    /// Simulated nanoseconds since the run started.
    pub time_ns: u64,
    /// Whether a fault was in force (a cut link, a node down or paused, a full disk): the
    /// system's counters can tell the events that happened under faults from the rest.
    pub under_faults: bool,
}

/// The prefix of a coverage point's counter: `cover.raft.change_requested_while_pending`.
pub const COVERAGE_PREFIX: &str = "cover.";

/// How long one run's linearizability check may take before it gives up with `unknown`.
pub const LINEARIZABILITY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// Checks a run's history for linearizability against one of the checkers' models (by name:
/// `key-value`, `counter`, ...). One thread: sweeps already run one seed per core. A violation
/// carries the checker's explanation; an ill-formed history is reported as a violation of the
/// harness's own recording, which must never happen.
pub fn linearizability(model: &str, history: &History) -> CheckOutcome {
    let options = faultline_checkers::Options {
        deadline: Some(LINEARIZABILITY_DEADLINE),
        threads: 1,
        ..faultline_checkers::Options::default()
    };
    let name = format!("linearizable ({model})");
    let verdict = match faultline_checkers::check_named(model, None, history, &options) {
        Ok(report) => match (report.verdict, report.explanation) {
            (Verdict::Violation(_), Some(why)) => Verdict::Violation(why.to_string().trim_end().to_string()),
            (verdict, _) => verdict,
        },
        Err(e) => Verdict::Violation(format!("the recorded history is ill-formed: {e}")),
    };
    CheckOutcome::new(name, verdict)
}
