//! The transport-independent core of the shell: one node, its RNG and timers, and one step.
//!
//! Both shells use it: the simulated one (madsim time, faultline's network) and the real one
//! (tokio, TCP, real files). A step runs one handler with the node's clock reading, disk and
//! buggify source; a panic in the handler or in the node's local invariants becomes an error
//! value, so the shell can report it. The step's commands then split into what stays local
//! (timers) and what leaves (messages, replies), in the order the handler emitted them; a
//! `Halt` ends the list.

use crate::disk::Storage;
use crate::net::Addr;
use crate::node::{BuggifySource, Command, Context, Node, NodeId, RequestId, Time};
use crate::rng::Rng;
use crate::wire::{Wire, WireOf};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// One input to a handler.
pub enum Input<N: Node> {
    /// The node starts: first boot or a restart after a crash ([`Node::on_start`]).
    Start,
    /// A message from another node ([`Node::on_message`]).
    Message(NodeId, N::Msg),
    /// A timer came due ([`Node::on_timer`]).
    Timer(N::Timer),
    /// A client request ([`Node::on_request`]).
    Request(RequestId, N::Request),
}

/// What a step sends, and whether the node halted or asked to be rebooted after it.
pub struct Outgoing<N: Node> {
    /// The frames to send and where, in the order the handler emitted them.
    pub frames: Vec<(Addr, WireOf<N>)>,
    /// Why the node halted, if the step emitted a `Halt`: then nothing else leaves.
    pub halt: Option<String>,
    /// Whether the step asked to be crashed and restarted once it is over (`Context::crash_point`).
    pub reboot: bool,
    /// A partition point fired (see `Context::partition_point`).
    pub isolate: bool,
}

/// One node and the state its shell keeps for it.
pub struct Core<N: Node> {
    id: NodeId,
    node: N,
    rng: Rng,
    timers: BTreeMap<N::Timer, Instant>,
    first_boot: bool,
}

impl<N: Node> Core<N> {
    /// A node at its first boot (see [`Core::first_boot`]).
    pub fn new(id: NodeId, node: N, rng: Rng) -> Self {
        Core { id, node, rng, timers: BTreeMap::new(), first_boot: true }
    }

    /// Whether this incarnation is the node's first start: what its handlers read as
    /// [`Context::first_boot`].
    pub fn first_boot(mut self, first_boot: bool) -> Self {
        self.first_boot = first_boot;
        self
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The protocol state machine, for the system's observer (which reads its leader, its
    /// members...).
    pub fn node(&self) -> &N {
        &self.node
    }

    /// When the earliest timer is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.values().min().copied()
    }

    /// Removes and returns the earliest timer due by `now`.
    pub fn due_timer(&mut self, now: Instant) -> Option<N::Timer> {
        let (timer, _) = self.timers.iter().filter(|(_, at)| **at <= now).min_by_key(|(_, at)| **at)?;
        let timer = timer.clone();
        self.timers.remove(&timer);
        Some(timer)
    }

    /// Runs the handler for `input`; `Err` carries the message of a panic.
    pub fn step(
        &mut self,
        input: Input<N>,
        now: Time,
        disk: &mut dyn Storage,
        buggify: &mut dyn BuggifySource,
    ) -> Result<Vec<Command<N>>, String> {
        let mut out = Vec::new();
        let (id, node, rng, first_boot) = (self.id, &mut self.node, &mut self.rng, self.first_boot);
        catch_unwind(AssertUnwindSafe(|| {
            let mut cx = Context::new(id, now, rng, disk, buggify, &mut out).with_first_boot(first_boot);
            match input {
                Input::Start => node.on_start(&mut cx),
                Input::Message(from, msg) => node.on_message(&mut cx, from, msg),
                Input::Timer(timer) => node.on_timer(&mut cx, timer),
                Input::Request(id, req) => node.on_request(&mut cx, id, req),
            }
            node.check_invariants();
        }))
        .map_err(|panic| panic_message(&*panic))?;
        Ok(out)
    }

    /// Carries out a step's commands in order: timers are set here (`timer_delay` turns a
    /// duration on the node's clock into one of the shell's clock), messages and replies are
    /// returned to be sent. A `Halt` is a crash in the middle of the step: nothing the step
    /// emitted leaves the node, before or after it.
    pub fn apply(
        &mut self,
        commands: Vec<Command<N>>,
        now: Instant,
        timer_delay: impl Fn(Duration) -> Duration,
    ) -> Outgoing<N> {
        let mut out = Outgoing { frames: Vec::new(), halt: None, reboot: false, isolate: false };
        if let Some(reason) = commands.iter().find_map(|c| match c {
            Command::Halt { reason } => Some(reason.clone()),
            _ => None,
        }) {
            out.halt = Some(reason);
            return out;
        }
        for command in commands {
            match command {
                Command::Send { to, msg } => {
                    out.frames.push((Addr::Server(to), Wire::Peer { from: self.id, msg }))
                }
                Command::Reply { to, resp } => {
                    out.frames.push((Addr::Client(to.client), Wire::Response { id: to, resp }))
                }
                Command::SetTimer { timer, after } => {
                    self.timers.insert(timer, now + timer_delay(after));
                }
                Command::CancelTimer { timer } => {
                    self.timers.remove(&timer);
                }
                Command::Reboot => out.reboot = true,
                Command::Isolate => out.isolate = true,
                Command::Halt { .. } => unreachable!("handled above"),
            }
        }
        out
    }
}

/// The text of a panic payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
