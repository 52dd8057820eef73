//! The supervisor: builds the simulated cluster, runs the nemesis through the safety phase,
//! heals, holds the system to its liveness budget, and checks the run.

use super::client::{run_admin, run_client};
use super::server::run_server;
use super::world::{lock, sim_now, Phase, Shared, World};
use crate::clock::ClockFaultCounts;
use crate::disk::{Corruption, DiskFaultCounts, DiskFaults, SimDisk};
use crate::layout::Layout;
use crate::node::{ClientId, NodeId};
use crate::report::{Failure, FailureClass, RunReport};
use crate::schedule::{Event, Fault};
use crate::shell::panic_message;
pub use crate::spec::RunSpec;
use crate::stats::Counters;
use crate::system::{CheckOutcome, System, COVERAGE_PREFIX};
use crate::trace::{digest, TraceKind};
use faultline_checkers::History;
use madsim::runtime::{Handle, NodeHandle, Runtime};
use madsim::time::{sleep, sleep_until, Instant};
use rand::Rng as _;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the supervisor looks for halted or panicked nodes and, after the heal, checks
/// whether the system is live: a node's halt waits up to this long for its crash, and the
/// liveness phase is measured to this precision. Each look is a wake-up of the simulation, so
/// a finer poll costs speed.
const POLL: Duration = Duration::from_millis(50);

/// Runs one simulated run of system `S`. An `Err` is a configuration error (invalid options,
/// unknown bug), never a test outcome.
pub fn run<S: System>(spec: &RunSpec) -> Result<RunReport, String> {
    spec.validate(S::layout)?;
    let layout = spec.layout(S::layout)?;
    let system = S::new(&spec.config())?;
    let mut config = madsim::Config::default();
    // faultline delays every message itself (see `net`); madsim's own latency stays negligible.
    config.net.send_latency = Duration::from_micros(1)..Duration::from_micros(2);
    let runtime = Runtime::with_seed_and_config(spec.seed, config);
    let spec2 = spec.clone();
    match catch_unwind(AssertUnwindSafe(|| runtime.block_on(supervise(system, spec2, layout)))) {
        Ok(report) => Ok(report),
        Err(panic) => Ok(harness_panic::<S>(spec, panic_message(&*panic))),
    }
}

/// A report for a run that panicked outside any node handler (in a system's checks, say).
fn harness_panic<S: System>(spec: &RunSpec, message: String) -> RunReport {
    RunReport {
        system: S::NAME,
        seed: spec.seed,
        bug: spec.bug.clone(),
        options: spec.options.clone(),
        schedule: spec.schedule.clone(),
        failure: Some(Failure { class: FailureClass::Panic, message: format!("harness: {message}") }),
        checks: Vec::new(),
        counters: Counters::default(),
        sim_time: Duration::ZERO,
        trace_hash: 0,
        trace_events: 0,
        history: History::new(),
    }
}

struct Supervisor<S: System> {
    world: Shared<S>,
    handle: Handle,
    /// Every node of the layout (servers and client-side nodes alike).
    nodes: Vec<NodeHandle>,
    clients: Vec<NodeHandle>,
    start: Instant,
    /// Restarts owed to nodes that halted themselves, by due time.
    restarts: BTreeMap<(Instant, u32), NodeId>,
    /// The node a leader-targeted crash took down instead of the one the schedule names, by the
    /// named node: that node's `Restart` restarts it.
    stand_ins: BTreeMap<NodeId, NodeId>,
}

async fn supervise<S: System>(system: S, spec: RunSpec, layout: Layout) -> RunReport {
    let nodes = layout.len();
    let world: Shared<S> = Arc::new(Mutex::new(World::new(system, spec.seed, spec.options.clone(), layout)));
    let handle = Handle::current();
    let handles = (0..nodes).map(|i| spawn_server(&handle, &world, NodeId(i))).collect();
    let mut clients: Vec<NodeHandle> =
        (0..spec.options.clients).map(|c| spawn_client(&handle, &world, ClientId(c))).collect();
    if spec.options.admin.enabled() {
        clients.push(spawn_admin(&handle, &world));
    }
    let mut sup = Supervisor {
        world,
        handle,
        nodes: handles,
        clients,
        start: sim_now(),
        restarts: BTreeMap::new(),
        stand_ins: BTreeMap::new(),
    };
    sup.safety_phase(&spec.schedule.events).await;
    let panic = lock(&sup.world).panic.clone();
    let failure = match panic {
        Some(message) => Some(Failure { class: FailureClass::Panic, message }),
        None => sup.liveness_phase().await,
    };
    sup.shut_down().await;
    sup.report(spec, failure)
}

/// Spawns node `id` of the layout (any kind: the shell is the same), named by its label.
fn spawn_server<S: System>(handle: &Handle, world: &Shared<S>, id: NodeId) -> NodeHandle {
    let name = lock(world).layout.label(id);
    let w = world.clone();
    handle.create_node().name(name).init(move || run_server(w.clone(), id)).build()
}

fn spawn_admin<S: System>(handle: &Handle, world: &Shared<S>) -> NodeHandle {
    let w = world.clone();
    handle.create_node().name("admin").init(move || run_admin(w.clone())).build()
}

fn spawn_client<S: System>(handle: &Handle, world: &Shared<S>, id: ClientId) -> NodeHandle {
    let w = world.clone();
    handle.create_node().name(id.to_string()).init(move || run_client(w.clone(), id)).build()
}

impl<S: System> Supervisor<S> {
    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// Executes the schedule until the safety phase ends (or a node panics).
    async fn safety_phase(&mut self, events: &[Event]) {
        let end = self.at(lock(&self.world).options.safety_ms);
        let mut next = 0;
        loop {
            while next < events.len() && self.at(events[next].at_ms) <= sim_now() {
                self.apply(&events[next].fault);
                next += 1;
            }
            self.service_halts();
            if lock(&self.world).panic.is_some() || sim_now() >= end {
                return;
            }
            let mut wake = end.min(sim_now() + POLL);
            if let Some(e) = events.get(next) {
                wake = wake.min(self.at(e.at_ms));
            }
            sleep_until(wake).await;
        }
    }

    /// Heals everything, then waits for every client to be served and the system to converge.
    async fn liveness_phase(&mut self) -> Option<Failure> {
        self.heal();
        let budget = Duration::from_millis(lock(&self.world).options.liveness_budget_ms);
        let deadline = sim_now() + budget;
        loop {
            self.service_halts();
            let pending = {
                let w = lock(&self.world);
                if let Some(message) = w.panic.clone() {
                    return Some(Failure { class: FailureClass::Panic, message });
                }
                pending_reason(&w)
            };
            let reason = pending?;
            if sim_now() >= deadline {
                let message = format!("not live {} ms after the heal: {reason}", budget.as_millis());
                return Some(Failure { class: FailureClass::Liveness, message });
            }
            sleep(POLL).await;
        }
    }

    fn heal(&mut self) {
        tracing::info!("nemesis: heal everything; liveness phase begins");
        self.restarts.clear();
        self.stand_ins.clear();
        let n = self.nodes.len() as u32;
        let mut w = lock(&self.world);
        w.phase = Phase::Liveness;
        w.fabric.heal();
        w.fabric.calm();
        if !S::BUGGIFY_AFTER_HEAL {
            w.buggify.disable();
        }
        for disk in &mut w.disks {
            disk.set_faults(DiskFaults::default());
            disk.end_full_window();
            disk.disarm_power_cut();
        }
        drop(w);
        for i in 0..n {
            let status = lock(&self.world).nodes[i as usize];
            if status.paused {
                self.apply(&Fault::Resume { node: NodeId(i) });
            }
            if status.down {
                self.apply(&Fault::Restart { node: NodeId(i) });
            }
        }
    }

    /// Crashes nodes that halted themselves and restarts them after a delay (at once after the
    /// heal); restarts those whose delay is over.
    fn service_halts(&mut self) {
        let (halts, liveness) = {
            let mut w = lock(&self.world);
            (std::mem::take(&mut w.halts), w.phase != Phase::Safety)
        };
        for (node, reason) in halts {
            tracing::warn!("{node} halted: {reason}");
            self.crash(node);
            lock(&self.world).counters.add("process.halt");
            let delay = if liveness { 100 } else { self.restart_delay_ms() };
            self.restarts.insert((sim_now() + Duration::from_millis(delay), node.0), node);
        }
        let mut w = lock(&self.world);
        if w.isolation_until.is_some_and(|at| at <= sim_now()) {
            w.isolation_until = None;
            w.fabric.heal();
        }
        drop(w);
        while let Some(entry) = self.restarts.first_entry() {
            if entry.key().0 > sim_now() {
                break;
            }
            let node = entry.remove();
            self.apply(&Fault::Restart { node });
        }
    }

    fn restart_delay_ms(&self) -> u64 {
        let mut w = lock(&self.world);
        let (min, max) = (w.options.process.restart_delay_ms_min, w.options.process.restart_delay_ms_max);
        w.rng.gen_range(min..=max.max(min))
    }

    /// Carries out one fault, counting it only if it changed something.
    fn apply(&mut self, fault: &Fault) {
        let fired = match fault {
            Fault::Partition { kind, cut } => self.with_world(|w| {
                w.fabric.partition(cut);
                w.count_kinds("partition", cut.iter().flat_map(|(a, b)| [*a, *b]));
                (!cut.is_empty()).then(|| format!("partition.{}", kind.name()))
            }),
            Fault::Heal => self.with_world(|w| {
                w.fabric.heal();
                None
            }),
            Fault::Clog { node } => self.with_world(|w| {
                w.fabric.clog(*node);
                w.count_kinds("partition", [*node]);
                Some("partition.swizzle".to_string())
            }),
            Fault::Unclog { node } => self.with_world(|w| {
                w.fabric.unclog(*node);
                None
            }),
            Fault::Crash { node, storm, mid_step, leader } => {
                let target = if *leader { self.leader_instead_of(*node) } else { *node };
                if *mid_step {
                    self.arm_power_cut(target, *storm)
                } else {
                    let crashed = self.crash(target);
                    (crashed && *storm).then(|| "process.restart_storm".to_string())
                }
            }
            Fault::Restart { node } => {
                let target = self.stand_ins.remove(node).unwrap_or(*node);
                self.restart(target)
            }
            Fault::Pause { node } => self.pause(*node, true),
            Fault::Resume { node } => self.pause(*node, false),
            Fault::BitFlip { node } => self.with_disk(*node, |d| {
                d.flip_bit_at_rest().map(|f| format!("bit {} of byte {} of {}", f.bit, f.offset, f.file))
            }),
            Fault::LatentError { node } => self.with_disk(*node, |d| {
                d.inject_read_error().map(|l| format!("{} bytes at {} of {}", l.len, l.offset, l.file))
            }),
            Fault::DiskFull { node } => self.with_disk(*node, |d| {
                d.begin_full_window();
                Some("now full".to_string())
            }),
            Fault::DiskFreed { node } => self.with_disk(*node, |d| {
                d.end_full_window();
                None
            }),
            Fault::Wipe { node } => self.wipe(*node),
        };
        let mut w = lock(&self.world);
        if let Some(counter) = fired {
            tracing::info!("nemesis: {fault}");
            w.counters.add(&counter);
        }
        w.record(TraceKind::Fault, 0, digest(fault.to_string().as_bytes()));
    }

    fn with_world(&self, f: impl FnOnce(&mut World<S>) -> Option<String>) -> Option<String> {
        f(&mut lock(&self.world))
    }

    /// Applies a disk fault; its own counters record whether it fired, so this returns no
    /// counter name, only a description for the log.
    fn with_disk(&self, node: NodeId, f: impl FnOnce(&mut SimDisk) -> Option<String>) -> Option<String> {
        if let Some(what) = f(&mut lock(&self.world).disks[node.0 as usize]) {
            tracing::info!("nemesis: disk {node}: {what}");
        }
        None
    }

    /// The leader the system names, if it is up, may crash (its kind permits it) and is not
    /// `node`, remembered so that the `Restart` of `node` restarts it; otherwise `node`.
    fn leader_instead_of(&mut self, node: NodeId) -> NodeId {
        let w = lock(&self.world);
        let up = |l: &NodeId| w.nodes.get(l.0 as usize).is_some_and(|s| !s.down);
        let leader = w.system.leader(&w.observer).filter(|l| up(l) && w.layout.permissions(*l).crash);
        let Some(leader) = leader else {
            return node;
        };
        drop(w);
        lock(&self.world).counters.add("process.crash_leader");
        if leader != node {
            self.stand_ins.insert(node, leader);
        }
        leader
    }

    /// Kills node `id` and applies the crash to its disk; false if it was already down.
    fn crash(&mut self, id: NodeId) -> bool {
        let mut w = lock(&self.world);
        let i = id.0 as usize;
        if w.nodes[i].down {
            return false;
        }
        self.handle.kill(self.nodes[i].id());
        w.crash_node(id);
        true
    }

    /// Arms a power cut for the node's next step that changes its disk; the shell then halts
    /// the node and [`Self::service_halts`] crashes it. Nothing if the node is down.
    fn arm_power_cut(&mut self, id: NodeId, storm: bool) -> Option<String> {
        let mut w = lock(&self.world);
        if w.nodes[id.0 as usize].down {
            return None;
        }
        w.disks[id.0 as usize].arm_power_cut();
        storm.then(|| "process.restart_storm".to_string())
    }

    /// Crashes node `id` if it is up, then replaces its disk with an empty one; the disk
    /// counts the wipe (`disk.wiped`) if it held anything. Nothing at all on a disk the run may
    /// not corrupt. Its restart is the schedule's next `Restart` of it.
    fn wipe(&mut self, id: NodeId) -> Option<String> {
        if lock(&self.world).disks[id.0 as usize].corruption() == Corruption::Forbidden {
            return None;
        }
        self.crash(id);
        self.with_disk(id, |d| d.wipe().then(|| "replaced by an empty disk".to_string()))
    }

    fn restart(&mut self, id: NodeId) -> Option<String> {
        let i = id.0 as usize;
        if !lock(&self.world).nodes[i].down {
            return None;
        }
        lock(&self.world).nodes[i].down = false;
        self.handle.restart(self.nodes[i].id());
        Some("process.restart".to_string())
    }

    fn pause(&mut self, id: NodeId, pause: bool) -> Option<String> {
        let i = id.0 as usize;
        let status = lock(&self.world).nodes[i];
        if status.down || status.paused == pause {
            return None;
        }
        lock(&self.world).nodes[i].paused = pause;
        if pause {
            lock(&self.world).count_kinds("process.pause", [id]);
            self.handle.pause(self.nodes[i].id());
            Some("process.pause".to_string())
        } else {
            self.handle.resume(self.nodes[i].id());
            None
        }
    }

    /// Stops every task; one more millisecond lets madsim drop them before the runtime goes.
    async fn shut_down(&mut self) {
        lock(&self.world).phase = Phase::Done;
        for node in self.nodes.iter().chain(&self.clients) {
            self.handle.kill(node.id());
        }
        sleep(Duration::from_millis(1)).await;
    }

    fn report(&self, spec: RunSpec, failure: Option<Failure>) -> RunReport {
        let mut w = lock(&self.world);
        let w = &mut *w;
        let (fired, evaluations, (_, armed)) =
            (w.buggify.fired(), w.buggify.evaluations(), w.buggify.sites());
        w.counters.add_n("buggify.fired", fired);
        w.counters.add_n("buggify.evaluations", evaluations);
        w.counters.add_n("buggify.armed_sites", armed as u64);
        let reached: Vec<(&'static str, u64)> = w.buggify.coverage().collect();
        for (point, n) in reached {
            w.counters.add_n(&format!("{COVERAGE_PREFIX}{point}"), n);
        }
        add_device_counts(w);
        w.system.counters(&w.observer, &mut w.counters);
        let checks = checks_after(failure.as_ref(), &w.system, &w.history, &w.observer, &mut w.counters);
        let failure = prefer_safety(failure, &checks);
        RunReport {
            system: S::NAME,
            seed: spec.seed,
            bug: spec.bug,
            options: spec.options,
            schedule: spec.schedule,
            failure,
            checks,
            counters: w.counters.clone(),
            sim_time: Duration::from_nanos(w.elapsed_ns()),
            trace_hash: w.trace.hash(),
            trace_events: w.trace.events(),
            history: std::mem::take(&mut w.history),
        }
    }
}

/// The system's checks, unless a node panicked (its state may be torn, and a runaway run's
/// history can be too large to search). A liveness failure does not skip them: a cluster that
/// never converged may have broken safety first, and that is the failure to report.
fn checks_after<S: System>(
    failure: Option<&Failure>,
    system: &S,
    history: &History,
    observer: &S::Observer,
    counters: &mut Counters,
) -> Vec<CheckOutcome> {
    match failure {
        Some(f) if f.class == FailureClass::Panic => Vec::new(),
        _ => system.check_and_count(history, observer, counters),
    }
}

/// The run's failure: a safety violation found by the checks outranks a liveness failure (a
/// split brain often shows as "not live" first); otherwise the failure as it was, or what the
/// checks found.
fn prefer_safety(failure: Option<Failure>, checks: &[CheckOutcome]) -> Option<Failure> {
    let from_checks = RunReport::failure_from_checks(checks);
    match (failure, from_checks) {
        (Some(f), Some(c)) if f.class == FailureClass::Liveness && c.class == FailureClass::Safety => Some(c),
        (Some(f), _) => Some(f),
        (None, c) => c,
    }
}

/// Adds the disks' and clocks' own counts of the faults that fired to the run's counters.
fn add_device_counts<S: System>(w: &mut World<S>) {
    let mut disk = DiskFaultCounts::default();
    for d in &w.disks {
        disk.add(d.counts());
    }
    for (name, n) in disk.entries() {
        w.counters.add_n(&format!("disk.{name}"), n);
    }
    let elapsed = Duration::from_nanos(w.elapsed_ns());
    let mut clock = ClockFaultCounts::default();
    for c in &w.clocks {
        clock.add(&c.counts(elapsed));
    }
    for (name, n) in clock.entries() {
        w.counters.add_n(&format!("clock.{name}"), n);
    }
}

/// Why the liveness phase is not over, or `None` when it is: clients not served yet, and what
/// the system says is still pending.
fn pending_reason<S: System>(w: &World<S>) -> Option<String> {
    let want = w.options.workload.liveness_ops_per_client;
    let mut reasons: Vec<String> = (w.served.iter().enumerate())
        .filter(|(_, &n)| n < want)
        .map(|(c, n)| format!("client c{c} completed {n} of {want} operations"))
        .collect();
    reasons.extend(w.system.pending(&w.observer).map(|p| format!("pending: {p}")));
    (!reasons.is_empty()).then(|| reasons.join("; "))
}
