//! The run's shared state, and the pieces of the simulated machine every task uses.
//!
//! One `World` per run, behind an `Arc<Mutex<..>>` that every node, client and the supervisor
//! holds. madsim runs all tasks of a run on one thread, so the lock is never contended; it is
//! held only for synchronous work (a handler step, a fault decision), never across an await.

use super::mailbox::SharedInbox;
use crate::buggify::Buggify;
use crate::clock::NodeClock;
use crate::codec;
use crate::disk::SimDisk;
use crate::layout::Layout;
use crate::net::{Addr, Fabric};
use crate::node::{ClientId, NodeId, Time};
use crate::options::SimOptions;
use crate::rng::{self, Rng};
use crate::stats::Counters;
use crate::system::System;
use crate::trace::{digest, Trace, TraceKind};
use faultline_checkers::{Event, History};
use madsim::time::{Instant, TimeHandle};
use rand::Rng as _;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Trace events after which a run is stopped as a runaway. A healthy 10 s run has thousands;
/// without a bound, a protocol whose messages multiply (each answer provoking two more) keeps
/// simulated time from advancing and the run never ends.
pub const RUNAWAY_EVENTS: u64 = 500_000;
/// Where the run is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The workload runs under faults.
    Safety,
    /// Faults healed; the system must converge and serve.
    Liveness,
    /// The run is over; tasks should stop.
    Done,
}

/// A node's status as the supervisor sees it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NodeStatus {
    pub down: bool,
    pub paused: bool,
    /// Starts so far (1 after boot): seeds the node's RNG so each incarnation differs.
    pub incarnation: u64,
    /// Whether one of its starts has finished (its `on_start` step ran to the end without a
    /// halt or a power cut): until then every start is its first boot.
    pub bootstrapped: bool,
}

/// The shared state of one run.
pub(crate) struct World<S: System> {
    pub system: S,
    pub seed: u64,
    pub options: SimOptions,
    /// The system's nodes by kind, and the faults each may suffer.
    pub layout: Layout,
    start: Instant,
    pub phase: Phase,
    pub fabric: Fabric,
    pub disks: Vec<SimDisk>,
    pub clocks: Vec<NodeClock>,
    pub buggify: Buggify,
    pub trace: Trace,
    pub counters: Counters,
    pub history: History,
    pub observer: S::Observer,
    pub nodes: Vec<NodeStatus>,
    /// Nodes that asked to halt (crash themselves); the supervisor carries it out.
    pub halts: Vec<(NodeId, String)>,
    /// When the partition a partition point made heals, if one is in force.
    pub isolation_until: Option<Instant>,
    /// The first panic of a node: ends the run.
    pub panic: Option<String>,
    /// Liveness-phase operations each client completed.
    pub served: Vec<u32>,
    /// The supervisor's random stream (crash outcomes on disk).
    pub rng: Rng,
    /// Every node's and client's inbox.
    pub inboxes: BTreeMap<Addr, SharedInbox>,
    time: TimeHandle,
}

pub(crate) type Shared<S> = Arc<Mutex<World<S>>>;

impl<S: System> World<S> {
    pub fn new(system: S, seed: u64, options: SimOptions, layout: Layout) -> Self {
        let n = layout.len();
        World {
            fabric: Fabric::new(options.net, rng::derive(seed, "net", 0)),
            buggify: Buggify::new(seed, options.buggify, options.buggify_arm_probability),
            served: vec![0; options.clients as usize],
            disks: disks(seed, &options, &layout),
            clocks: clocks(seed, &options, &layout),
            nodes: vec![NodeStatus::default(); n as usize],
            inboxes: inboxes(n, options.clients + admin_clients(&options)),
            system,
            seed,
            options,
            layout,
            start: sim_now(),
            time: TimeHandle::current(),
            phase: Phase::Safety,
            trace: Trace::default(),
            counters: Counters::default(),
            history: History::new(),
            observer: S::Observer::default(),
            halts: Vec::new(),
            isolation_until: None,
            panic: None,
            rng: rng::derive(seed, "supervisor", 0),
        }
    }

    /// Simulated nanoseconds since the run started.
    pub fn elapsed_ns(&self) -> u64 {
        (self.now() - self.start).as_nanos() as u64
    }

    /// Simulated time now, read through the run's time handle (cheaper than `Instant::now`,
    /// which madsim answers by intercepting `clock_gettime` and looking up its context).
    pub fn now(&self) -> Instant {
        self.time.now_instant()
    }

    /// Whether a fault is in force now: a cut link, a node down or paused, a full disk (the
    /// safety phase only). Systems see it with every observation, so a sweep can show their
    /// events (elections, snapshots, membership changes) happened under faults.
    pub fn under_faults(&self) -> bool {
        self.phase == Phase::Safety
            && (self.fabric.disturbed()
                || self.nodes.iter().any(|n| n.down || n.paused)
                || self.disks.iter().any(SimDisk::in_full_window))
    }

    /// Node `id`'s own clock reading.
    pub fn local_time(&self, id: NodeId) -> Time {
        self.clocks[id.0 as usize].local_time(Duration::from_nanos(self.elapsed_ns()))
    }

    /// How much simulated time a timer of `after` on node `id`'s clock takes.
    pub fn timer_duration(&self, id: NodeId, after: Duration) -> Duration {
        self.clocks[id.0 as usize].timer_delay(Duration::from_nanos(self.elapsed_ns()), after)
    }

    pub fn record(&mut self, kind: TraceKind, at: u64, digest: u64) {
        let now = self.elapsed_ns();
        self.trace.record(kind, now, at, digest);
        if self.trace.events() == RUNAWAY_EVENTS {
            let secs = now as f64 / 1e9;
            self.panic.get_or_insert_with(|| {
                format!("runaway run: {RUNAWAY_EVENTS} events by {secs:.3} s of simulated time (a message storm or a livelock); the nodes were stopped")
            });
        }
    }

    /// Node `id` lost power (its task is already stopped): what it had in flight to it is lost,
    /// and its disk loses what was not synced.
    pub fn crash_node(&mut self, id: NodeId) {
        let i = id.0 as usize;
        self.inboxes[&Addr::Server(id)].lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.nodes[i].down = true;
        self.nodes[i].paused = false;
        self.disks[i].crash();
        self.counters.add("process.crash");
        self.count_kinds("process.crash", [id]);
    }

    /// With several kinds of node, counts a fault that hit `nodes` once for each kind among
    /// them, as `kind.<kind>.<counter>`: a sweep can then tell that its client-side nodes were
    /// crashed, paused and cut off, not only its servers. Nothing with a single kind.
    pub fn count_kinds(&mut self, counter: &str, nodes: impl IntoIterator<Item = NodeId>) {
        if !self.layout.has_kinds() {
            return;
        }
        let mut kinds: Vec<&str> = nodes.into_iter().map(|n| self.layout.kind_of(n)).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            self.counters.add(&format!("kind.{kind}.{counter}"));
        }
    }

    /// A partition point of node `id` fired: cut it and one other node that may be partitioned
    /// off from the rest, for a partition's hold (safety phase only; nodes whose kind may not
    /// be partitioned are left alone).
    pub fn isolate(&mut self, id: NodeId) {
        if self.phase != Phase::Safety || !self.layout.permissions(id).partition {
            return;
        }
        let others = self.layout.eligible(|p| p.partition);
        let rest: Vec<NodeId> = others.iter().copied().filter(|n| *n != id).collect();
        if rest.len() < 2 {
            return;
        }
        let buddy = rest[self.rng.gen_range(0..rest.len())];
        let side = [id, buddy];
        let cut: Vec<(NodeId, NodeId)> = (others.iter().copied())
            .filter(|n| !side.contains(n))
            .flat_map(|n| side.iter().flat_map(move |&s| [(s, n), (n, s)]))
            .collect();
        tracing::info!("nemesis: partition point of {id}: {id} and {buddy} cut off");
        self.fabric.partition(&cut);
        self.counters.add("partition.majority_minority");
        let (min, max) = (self.options.partition.hold_ms_min, self.options.partition.hold_ms_max);
        let hold = self.rng.gen_range(min.max(100)..=max.max(min.max(100)));
        self.isolation_until = Some(self.now() + Duration::from_millis(hold));
        self.record(TraceKind::Fault, u64::from(id.0), digest(b"partition point"));
    }

    /// Appends a client event to the history (stamped now) and to the trace.
    pub fn record_event(&mut self, mut event: Event, kind: TraceKind) {
        event.time = self.elapsed_ns();
        let digest = event_digest(&event);
        self.record(kind, event.process, digest);
        self.history.push(event);
    }
}

/// A stable digest of a client event's function, kind and value.
fn event_digest(event: &Event) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    event.f.hash(&mut h);
    (event.kind as u8).hash(&mut h);
    event.value.hash(&mut h);
    h.finish()
}

/// Each node's disk: the run's disk faults, corruptible only on the placement's minority.
fn disks(seed: u64, options: &SimOptions, layout: &Layout) -> Vec<SimDisk> {
    let placement = crate::schedule::corruptible(seed, layout);
    (placement.into_iter().enumerate())
        .map(|(i, c)| SimDisk::new(options.disk.faults.clone(), c, rng::derive(seed, "disk", i as u64)))
        .collect()
}

/// Each node's clock, drawn from its own stream; exact on the kinds that may not suffer clock
/// faults.
fn clocks(seed: u64, options: &SimOptions, layout: &Layout) -> Vec<NodeClock> {
    let draw = |id: NodeId| match layout.permissions(id).clock {
        true => NodeClock::draw(&options.clock, &mut rng::derive(seed, "clock", u64::from(id.0))),
        false => NodeClock::perfect(),
    };
    layout.nodes().map(draw).collect()
}

/// The admin's clients (one per operation of its largest burst), numbered after the workload's.
fn admin_clients(options: &SimOptions) -> u32 {
    if options.admin.enabled() {
        options.admin.burst_max
    } else {
        0
    }
}

fn inboxes(nodes: u32, clients: u32) -> BTreeMap<Addr, SharedInbox> {
    let servers = (0..nodes).map(|i| Addr::Server(NodeId(i)));
    let clients = (0..clients).map(|c| Addr::Client(ClientId(c)));
    servers.chain(clients).map(|a| (a, SharedInbox::default())).collect()
}

pub(crate) fn lock<S: System>(world: &Shared<S>) -> MutexGuard<'_, World<S>> {
    // A poisoned lock means a task panicked while holding it; the run is failing anyway and the
    // state is still what it was, so carry on and let the panic be reported.
    world.lock().unwrap_or_else(|e| e.into_inner())
}

/// Simulated time now (madsim intercepts `Instant::now` inside the runtime).
#[allow(clippy::disallowed_methods)]
pub(crate) fn sim_now() -> Instant {
    Instant::now()
}

/// A frame in flight, with the sender and the time it is due.
pub(crate) struct Packet {
    pub from: Addr,
    pub deliver_at: Instant,
    pub frame: Vec<u8>,
}

/// Encodes `wire` and sends it from `from` to `to` through the fault layer: each copy the fault
/// layer lets through is put in the receiver's inbox for its delivery time.
pub(crate) fn transmit<S: System, W: Serialize>(world: &Shared<S>, from: Addr, to: Addr, wire: &W) {
    let mut frame = codec::encode(wire);
    let mut w = lock(world);
    let w = &mut *w;
    if let Addr::Server(node) = to {
        if w.nodes[node.0 as usize].down {
            w.counters.add("net.to_down_node");
            return;
        }
    }
    let fate = w.fabric.fate(from, to, &mut w.counters);
    if fate.corrupt {
        w.fabric.corrupt(&mut frame);
    }
    let now = w.now();
    let mut inbox = w.inboxes[&to].lock().unwrap_or_else(|e| e.into_inner());
    let copies = fate.delays.len();
    for (i, delay) in fate.delays.into_iter().enumerate() {
        let frame = if i + 1 == copies { std::mem::take(&mut frame) } else { frame.clone() };
        if !inbox.push(Packet { from, deliver_at: now + delay, frame }) {
            w.counters.add("net.inbox_overflow");
        }
    }
}
