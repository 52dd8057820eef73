//! The generic shell: runs any protocol's `Node` on a simulated server.
//!
//! Written once for every protocol. It waits for the next due message or timer, runs the
//! handler inside a step (the node's clock reading, its RNG, its disk, buggify), then carries
//! out the emitted commands in order: first the step's I/O time passes (slow disks), then
//! messages and replies leave, timers are set. A panic in a handler or in the node's local
//! invariants ends the run as a failure; a `Halt` hands the node to the supervisor to crash.

use super::mailbox::{next_until, SharedInbox};
use super::world::{lock, sim_now, transmit, Packet, Shared};
use crate::codec;
use crate::net::Addr;
use crate::node::{Command, Context, Node, NodeId, RequestId};
use crate::rng::{self, Rng};
use crate::system::System;
use crate::trace::{digest, TraceKind};
use crate::wire::{Wire, WireOf};
use madsim::time::{sleep, Instant};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

type N<S> = <S as System>::Node;

/// One input to a handler.
enum Input<Nd: Node> {
    Start,
    Message(NodeId, Nd::Msg),
    Timer(Nd::Timer),
    Request(RequestId, Nd::Request),
}

struct Shell<S: System> {
    id: NodeId,
    world: Shared<S>,
    inbox: SharedInbox,
    node: N<S>,
    rng: Rng,
    timers: BTreeMap<<N<S> as Node>::Timer, Instant>,
}

/// Runs server `id` from boot until it is killed.
pub(crate) async fn run_server<S: System>(world: Shared<S>, id: NodeId) {
    let (node, rng, inbox) = {
        let mut w = lock(&world);
        let status = &mut w.nodes[id.0 as usize];
        status.incarnation += 1;
        let stream = (u64::from(id.0) << 32) | status.incarnation;
        let inbox = w.inboxes[&Addr::Server(id)].clone();
        (w.system.build_node(id), rng::derive(w.seed, "node", stream), inbox)
    };
    let shell = Shell::<S> { id, world, inbox, node, rng, timers: BTreeMap::new() };
    shell.run().await;
}

impl<S: System> Shell<S> {
    async fn run(mut self) {
        let mut running = self.step(Input::Start).await;
        while running {
            let deadline = self.timers.values().min().copied().unwrap_or_else(far_future);
            running = match next_until(&self.inbox, deadline).await {
                Some(packet) => match self.accept(packet) {
                    Some(input) => self.step(input).await,
                    None => true,
                },
                None => match self.due_timer() {
                    Some(timer) => self.step(Input::Timer(timer)).await,
                    None => true,
                },
            };
        }
        // Halted or panicked: wait for the supervisor to kill this node.
        std::future::pending::<()>().await;
    }

    fn due_timer(&mut self) -> Option<<N<S> as Node>::Timer> {
        let now = sim_now();
        let (timer, _) = self.timers.iter().filter(|(_, at)| **at <= now).min_by_key(|(_, at)| **at)?;
        let timer = timer.clone();
        self.timers.remove(&timer);
        Some(timer)
    }

    /// Turns a due packet into a handler input, dropping it if the link is cut now or the frame
    /// is damaged.
    fn accept(&mut self, packet: Packet) -> Option<Input<N<S>>> {
        let mut w = lock(&self.world);
        let me = Addr::Server(self.id);
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
                w.record(TraceKind::Reject, u64::from(self.id.0), digest(&packet.frame));
                return None;
            }
        };
        w.counters.add("net.delivered");
        w.record(TraceKind::Deliver, u64::from(self.id.0), u64::from(codec::frame_checksum(&packet.frame)));
        Some(input)
    }

    /// Runs one handler and carries out its commands. False when the node stopped (a halt or a
    /// panic).
    async fn step(&mut self, input: Input<N<S>>) -> bool {
        let Some((commands, io_time)) = self.handle(input) else { return false };
        if !io_time.is_zero() {
            sleep(io_time).await;
        }
        for command in commands {
            if !self.execute(command).await {
                return false;
            }
        }
        true
    }

    async fn execute(&mut self, command: Command<N<S>>) -> bool {
        let me = Addr::Server(self.id);
        match command {
            Command::Send { to, msg } => {
                let wire: WireOf<N<S>> = Wire::Peer { from: self.id, msg };
                transmit(&self.world, me, Addr::Server(to), &wire);
            }
            Command::Reply { to, resp } => {
                let wire: WireOf<N<S>> = Wire::Response { id: to, resp };
                transmit(&self.world, me, Addr::Client(to.client), &wire);
            }
            Command::SetTimer { timer, after } => {
                let duration = lock(&self.world).timer_duration(self.id, after);
                self.timers.insert(timer, sim_now() + duration);
            }
            Command::CancelTimer { timer } => {
                self.timers.remove(&timer);
            }
            Command::Halt { reason } => {
                lock(&self.world).halts.push((self.id, reason));
                return false;
            }
        }
        true
    }

    /// Runs the handler for `input` under the world lock; `None` if it panicked.
    fn handle(&mut self, input: Input<N<S>>) -> Option<(Vec<Command<N<S>>>, Duration)> {
        let mut guard = lock(&self.world);
        let w = &mut *guard;
        let (id, at) = (self.id, u64::from(self.id.0));
        match &input {
            Input::Start => {
                tracing::info!("start");
                w.record(TraceKind::Start, at, 0);
            }
            Input::Timer(timer) => {
                tracing::debug!("timer {timer:?}");
                w.record(TraceKind::Timer, at, digest(format!("{timer:?}").as_bytes()));
            }
            Input::Message(from, msg) => tracing::debug!("from {from}: {msg:?}"),
            Input::Request(id, req) => tracing::debug!("request {}#{}: {req:?}", id.client, id.seq),
        }
        let now = w.local_time(id);
        let mut out = Vec::new();
        let (node, rng) = (&mut self.node, &mut self.rng);
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut cx = Context::new(id, now, rng, &mut w.disks[id.0 as usize], &mut w.buggify, &mut out);
            dispatch(node, &mut cx, input);
            node.check_invariants();
        }));
        if let Err(panic) = result {
            let message = panic_message(&*panic);
            let secs = w.elapsed_ns() as f64 / 1e9;
            tracing::error!("panicked: {message}");
            w.panic.get_or_insert_with(|| format!("node {id} panicked at {secs:.3} s: {message}"));
            return None;
        }
        let elapsed = w.elapsed_ns();
        w.system.observe(&mut w.observer, id, elapsed, &self.node);
        if !out.is_empty() {
            tracing::trace!("commands {out:?}");
        }
        Some((out, w.disks[id.0 as usize].take_io_time()))
    }
}

fn dispatch<Nd: Node>(node: &mut Nd, cx: &mut Context<'_, Nd>, input: Input<Nd>) {
    match input {
        Input::Start => node.on_start(cx),
        Input::Message(from, msg) => node.on_message(cx, from, msg),
        Input::Timer(timer) => node.on_timer(cx, timer),
        Input::Request(id, req) => node.on_request(cx, id, req),
    }
}

fn far_future() -> Instant {
    sim_now() + Duration::from_secs(86_400)
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
