//! The simulated shell: runs any protocol's `Node` on a simulated machine (a node of any kind).
//!
//! It waits for the next due frame or timer, runs the step through the shared [`Core`] under
//! the world lock (the node's skewed clock, its simulated disk, the run's buggify), lets the
//! step's disk I/O time pass, then sends what the step emitted through the fault layer. A panic
//! ends the run as a failure; a `Halt` hands the node to the supervisor to crash and restart.

use super::mailbox::{next_until, SharedInbox};
use super::world::{lock, sim_now, transmit, Packet, Phase, Shared};
use crate::codec;
use crate::net::Addr;
use crate::node::NodeId;
use crate::rng;
use crate::shell::{Core, Input};
use crate::system::{Moment, System};
use crate::trace::{digest, TraceKind};
use crate::wire::{Wire, WireOf};
use madsim::time::{sleep, Instant};
use rand::Rng as _;
use std::time::Duration;

type N<S> = <S as System>::Node;

struct Shell<S: System> {
    world: Shared<S>,
    inbox: SharedInbox,
    core: Core<N<S>>,
}

/// How long a node that crashed at a crash point stays down: a supervised process restarted
/// at once (see [`crate::node::Context::crash_point`]). Shorter than a message's flight at
/// the top of the range, so messages sent before the crash can still find it up again.
const CRASH_POINT_DOWNTIME_MS: std::ops::RangeInclusive<u64> = 1..=20;

/// What the shell does after a step.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    /// Halted or panicked: the supervisor takes over.
    Stop,
    /// Crashed at a crash point: the shell restarts the node itself.
    Reboot,
}

/// Runs server `id` from boot until it is killed, rebooting it in place after a crash point.
pub(crate) async fn run_server<S: System>(world: Shared<S>, id: NodeId) {
    while Shell::boot(world.clone(), id).run().await == Flow::Reboot {
        let downtime = {
            let mut w = lock(&world);
            w.crash_node(id);
            w.counters.add("process.crash_point");
            w.record(TraceKind::Fault, u64::from(id.0), 0);
            Duration::from_millis(w.rng.gen_range(CRASH_POINT_DOWNTIME_MS))
        };
        tracing::info!("crash point: down for {downtime:?}");
        sleep(downtime).await;
        let mut w = lock(&world);
        w.nodes[id.0 as usize].down = false;
        w.counters.add("process.restart");
    }
    // Halted or panicked: wait for the supervisor to kill this node.
    std::future::pending::<()>().await;
}

impl<S: System> Shell<S> {
    /// A new incarnation of node `id`: fresh volatile state and its own random stream.
    fn boot(world: Shared<S>, id: NodeId) -> Self {
        let (core, inbox) = {
            let mut w = lock(&world);
            let status = &mut w.nodes[id.0 as usize];
            status.incarnation += 1;
            let stream = (u64::from(id.0) << 32) | status.incarnation;
            let first_boot = !status.bootstrapped;
            let core = Core::new(id, w.system.build_node(id), rng::derive(w.seed, "node", stream))
                .first_boot(first_boot);
            (core, w.inboxes[&Addr::Server(id)].clone())
        };
        Shell { world, inbox, core }
    }

    fn id(&self) -> NodeId {
        self.core.id()
    }

    /// Runs steps until the node stops or must reboot.
    async fn run(mut self) -> Flow {
        let mut flow = self.step(Input::Start).await;
        if flow != Flow::Stop {
            // The start finished: from now on a start is a restart, whatever the disk holds.
            lock(&self.world).nodes[self.id().0 as usize].bootstrapped = true;
        }
        while flow == Flow::Continue {
            if lock(&self.world).panic.is_some() {
                return Flow::Stop;
            }
            let deadline = self.core.next_deadline().unwrap_or_else(far_future);
            flow = match next_until(&self.inbox, deadline).await {
                Some(packet) => match self.accept(packet) {
                    Some(input) => self.step(input).await,
                    None => Flow::Continue,
                },
                None => {
                    let now = lock(&self.world).now();
                    match self.core.due_timer(now) {
                        Some(timer) => self.step(Input::Timer(timer)).await,
                        None => Flow::Continue,
                    }
                }
            };
        }
        flow
    }

    /// Turns a due packet into a handler input, dropping it if the link is cut now or the frame
    /// is damaged.
    fn accept(&mut self, packet: Packet) -> Option<Input<N<S>>> {
        let mut w = lock(&self.world);
        let me = Addr::Server(self.id());
        if !w.fabric.connected(packet.from, me) {
            w.counters.add("net.partition_drop");
            return None;
        }
        let input = match (codec::decode::<WireOf<N<S>>>(&packet.frame), packet.from) {
            (Ok(Wire::Peer { from, msg }), Addr::Server(sender)) if from == sender => {
                Input::Message(from, msg)
            }
            (Ok(Wire::Request { id, req }), Addr::Client(sender)) if id.client == sender => {
                Input::Request(id, req)
            }
            _ => {
                w.counters.add("net.frame_rejected");
                w.record(TraceKind::Reject, u64::from(self.id().0), digest(&packet.frame));
                return None;
            }
        };
        w.counters.add("net.delivered");
        w.record(TraceKind::Deliver, u64::from(self.id().0), u64::from(codec::frame_checksum(&packet.frame)));
        Some(input)
    }

    /// Runs one step and carries out its commands.
    async fn step(&mut self, input: Input<N<S>>) -> Flow {
        let Some((commands, io_time)) = self.handle(input) else { return Flow::Stop };
        let id = self.id();
        if lock(&self.world).disks[id.0 as usize].end_step() {
            // The power went out during the step: nothing it emitted leaves the node, and the
            // state it reached in memory is lost with it, so the observer never sees it.
            let mut w = lock(&self.world);
            w.counters.add("process.crash_mid_step");
            w.halts.push((id, "the power went out in the middle of a step".to_string()));
            return Flow::Stop;
        }
        self.observe();
        if !io_time.is_zero() {
            sleep(io_time).await;
        }
        let out = {
            let w = lock(&self.world);
            self.core.apply(commands, w.now(), |after| w.timer_duration(id, after))
        };
        for (to, wire) in &out.frames {
            transmit(&self.world, Addr::Server(id), *to, wire);
        }
        if let Some(reason) = out.halt {
            lock(&self.world).halts.push((id, reason));
            return Flow::Stop;
        }
        if out.isolate {
            lock(&self.world).isolate(id);
        }
        // Crash points fire only under faults (after the heal the cluster must be left to
        // settle), and only on kinds that may crash.
        let may_crash =
            |w: &super::world::World<S>| w.phase == Phase::Safety && w.layout.permissions(id).crash;
        if out.reboot && may_crash(&lock(&self.world)) {
            return Flow::Reboot;
        }
        Flow::Continue
    }

    /// Shows the node's state after a step that completed to the system's observer.
    fn observe(&mut self) {
        let mut guard = lock(&self.world);
        let w = &mut *guard;
        let moment = Moment { time_ns: w.elapsed_ns(), under_faults: w.under_faults() };
        w.system.observe(&mut w.observer, self.id(), moment, self.core.node());
    }

    /// Runs the handler for `input` under the world lock; `None` if it panicked.
    fn handle(&mut self, input: Input<N<S>>) -> Option<(Vec<crate::node::Command<N<S>>>, Duration)> {
        let mut guard = lock(&self.world);
        let w = &mut *guard;
        let (id, at) = (self.id(), u64::from(self.id().0));
        log_input(w, &input, at);
        let now = w.local_time(id);
        let result = self.core.step(input, now, &mut w.disks[id.0 as usize], &mut w.buggify);
        let commands = match result {
            Ok(commands) => commands,
            Err(message) => {
                tracing::error!("panicked: {message}");
                let secs = w.elapsed_ns() as f64 / 1e9;
                w.panic.get_or_insert_with(|| format!("node {id} panicked at {secs:.3} s: {message}"));
                return None;
            }
        };
        if !commands.is_empty() {
            tracing::trace!("commands {commands:?}");
        }
        Some((commands, w.disks[id.0 as usize].take_io_time()))
    }
}

/// Logs an input and feeds the trace the events that are not deliveries (those are recorded
/// when accepted).
fn log_input<S: System>(w: &mut super::world::World<S>, input: &Input<N<S>>, at: u64) {
    match input {
        Input::Start => {
            tracing::info!("start");
            w.record(TraceKind::Start, at, 0);
        }
        Input::Timer(timer) => {
            tracing::debug!("timer {timer:?}");
            w.record(TraceKind::Timer, at, hash_of(timer));
        }
        Input::Message(from, msg) => tracing::debug!("from {from}: {msg:?}"),
        Input::Request(id, req) => tracing::debug!("request {}#{}: {req:?}", id.client, id.seq),
    }
}

/// A stable digest of a timer key (its derived `Hash`, fed to xxh3).
fn hash_of<T: std::hash::Hash>(value: &T) -> u64 {
    use std::hash::Hasher;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    value.hash(&mut h);
    h.finish()
}

fn far_future() -> Instant {
    sim_now() + Duration::from_secs(86_400)
}
