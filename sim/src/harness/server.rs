//! The simulated shell: runs any protocol's `Node` on a simulated server.
//!
//! It waits for the next due frame or timer, runs the step through the shared [`Core`] under
//! the world lock (the node's skewed clock, its simulated disk, the run's buggify), lets the
//! step's disk I/O time pass, then sends what the step emitted through the fault layer. A panic
//! ends the run as a failure; a `Halt` hands the node to the supervisor to crash and restart.

use super::mailbox::{next_until, SharedInbox};
use super::world::{lock, sim_now, transmit, Packet, Shared};
use crate::codec;
use crate::net::Addr;
use crate::node::NodeId;
use crate::rng;
use crate::shell::{Core, Input};
use crate::system::System;
use crate::trace::{digest, TraceKind};
use crate::wire::{Wire, WireOf};
use madsim::time::{sleep, Instant};
use std::time::Duration;

type N<S> = <S as System>::Node;

struct Shell<S: System> {
    world: Shared<S>,
    inbox: SharedInbox,
    core: Core<N<S>>,
}

/// Runs server `id` from boot until it is killed.
pub(crate) async fn run_server<S: System>(world: Shared<S>, id: NodeId) {
    let (core, inbox) = {
        let mut w = lock(&world);
        let status = &mut w.nodes[id.0 as usize];
        status.incarnation += 1;
        let stream = (u64::from(id.0) << 32) | status.incarnation;
        let core = Core::new(id, w.system.build_node(id), rng::derive(w.seed, "node", stream));
        (core, w.inboxes[&Addr::Server(id)].clone())
    };
    Shell::<S> { world, inbox, core }.run().await;
}

impl<S: System> Shell<S> {
    fn id(&self) -> NodeId {
        self.core.id()
    }

    async fn run(mut self) {
        let mut running = self.step(Input::Start).await;
        while running && lock(&self.world).panic.is_none() {
            let deadline = self.core.next_deadline().unwrap_or_else(far_future);
            running = match next_until(&self.inbox, deadline).await {
                Some(packet) => match self.accept(packet) {
                    Some(input) => self.step(input).await,
                    None => true,
                },
                None => {
                    let now = lock(&self.world).now();
                    match self.core.due_timer(now) {
                        Some(timer) => self.step(Input::Timer(timer)).await,
                        None => true,
                    }
                }
            };
        }
        // Halted or panicked: wait for the supervisor to kill this node.
        std::future::pending::<()>().await;
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

    /// Runs one step and carries out its commands. False when the node stopped (a halt or a
    /// panic).
    async fn step(&mut self, input: Input<N<S>>) -> bool {
        let Some((commands, io_time)) = self.handle(input) else { return false };
        let id = self.id();
        if lock(&self.world).disks[id.0 as usize].end_step() {
            // The power went out during the step: nothing it emitted leaves the node.
            let mut w = lock(&self.world);
            w.counters.add("process.crash_mid_step");
            w.halts.push((id, "the power went out in the middle of a step".to_string()));
            return false;
        }
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
            return false;
        }
        true
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
        let elapsed = w.elapsed_ns();
        w.system.observe(&mut w.observer, id, elapsed, self.core.node());
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
