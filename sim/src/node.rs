//! The protocol API: a protocol is a deterministic state machine that emits commands.
//!
//! A [`Node`] never reads a clock, never draws from a global RNG, never does I/O on its own and
//! never spawns: the [`Context`] hands it the node's own clock reading ([`Context::now`]), a
//! seeded RNG ([`Context::rng`]) and its disk ([`Context::disk`]), and collects what it wants
//! done as [`Command`]s. One generic shell runs every protocol: it receives a message, a timer or
//! a client request, calls the handler, then carries out the emitted commands in order.
//!
//! Ordering rule (raft-rs's "persisted messages"): disk calls complete inside the handler, and
//! the step's `Send`s and `Reply`s leave the node only after the handler returns and the step's
//! I/O time has elapsed. So whatever a handler synced before returning is durable before any
//! message of that step is seen by anyone; what it wrote without syncing may be lost in a crash.

use crate::disk::Storage;
use crate::rng::Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug};
use std::panic::Location;
use std::time::Duration;

/// A server node of the cluster, numbered from 0.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, arbitrary::Arbitrary,
)]
pub struct NodeId(pub u32);

/// A client process of the workload, numbered from 0.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub u32);

/// Identifies one client request. A client retries with the same id, so a protocol can answer
/// a duplicate once (exactly-once semantics through client sessions).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The client that issued the request.
    pub client: ClientId,
    /// Increases by one with each new operation of the client.
    pub seq: u64,
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// A reading of a node's own clock, in nanoseconds since an arbitrary epoch.
///
/// Each node's clock has its own offset and drift from simulated time, and may step backwards,
/// so two nodes' readings are not comparable and one node's readings need not increase. The
/// epoch sits well after zero so that negative offsets never underflow.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Time(pub u64);

impl Time {
    /// Nanoseconds of the clock epoch; simulated time 0 reads as this on an unskewed clock.
    pub const EPOCH_NANOS: u64 = 1_000_000_000_000;

    /// The reading in nanoseconds since the clock's epoch.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, or zero if the clock went backwards.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.as_nanos() as u64))
    }
}

/// What crosses the network: encoded with the codec into checksummed frames. `Send` because
/// real mode reads frames on connection tasks.
pub trait Message: Serialize + DeserializeOwned + Clone + Debug + Send + 'static {}
impl<T: Serialize + DeserializeOwned + Clone + Debug + Send + 'static> Message for T {}

/// A protocol: a deterministic state machine.
///
/// Handlers open with their ignore checks (stale term, unknown sender) and then assert their
/// preconditions; assertions are for bugs, and a panic in a handler fails the run.
pub trait Node: Sized + 'static {
    /// Node-to-node messages.
    type Msg: Message;
    /// Timer keys. Setting a timer with a key already set replaces it. `Hash` feeds the trace.
    type Timer: Clone + Debug + Ord + std::hash::Hash + 'static;
    /// What clients ask.
    type Request: Message;
    /// What clients are told.
    type Response: Message;

    /// Called each time the node starts: at first boot and after every crash. Volatile state is
    /// new; durable state must be recovered from `cx.disk()`, trusting nothing unchecked. An
    /// empty disk at a start that is not the first ([`Context::first_boot`]) is a disk that was
    /// lost and replaced, not a new node: whatever the node promised before is forgotten.
    fn on_start(&mut self, cx: &mut Context<'_, Self>);

    /// Called when a message from node `from` arrives (possibly late, duplicated or reordered; a
    /// corrupted one never arrives: the codec rejects it).
    fn on_message(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg);

    /// Called when a timer set with [`Context::set_timer`] comes due on this node's clock.
    fn on_timer(&mut self, cx: &mut Context<'_, Self>, timer: Self::Timer);

    /// Called when a client's request `id` arrives; a retry comes again with the same `id`.
    fn on_request(&mut self, cx: &mut Context<'_, Self>, id: RequestId, req: Self::Request);

    /// Local invariants, checked by the shell after every step in simulation. Panic when one
    /// does not hold.
    fn check_invariants(&self) {}
}

/// What a handler asks the shell to do, in order.
pub enum Command<N: Node> {
    /// Send `msg` to node `to` once the step is over.
    Send {
        /// The destination node.
        to: NodeId,
        /// The message.
        msg: N::Msg,
    },
    /// Answer the client request `to` once the step is over.
    Reply {
        /// The request answered: its client receives the response.
        to: RequestId,
        /// The response.
        resp: N::Response,
    },
    /// Fire `timer` after `after` has passed on this node's clock (replacing one with that key).
    SetTimer {
        /// The timer's key.
        timer: N::Timer,
        /// How long from now, on this node's clock.
        after: Duration,
    },
    /// Forget the timer with this key, if one is set.
    CancelTimer {
        /// The timer's key.
        timer: N::Timer,
    },
    /// Stop this node as if it crashed in the middle of the step: nothing else the step emitted
    /// is carried out, volatile state is lost and it restarts later. The only safe answer to
    /// some disk errors (an fsync that failed may have lost data).
    Halt {
        /// Why the node halted, for the run's report.
        reason: String,
    },
    /// Crash this node once the step is over, everything it emitted carried out, and restart it
    /// a few milliseconds later (see [`Context::crash_point`]).
    Reboot,
    /// Cut this node and one other off from the rest once the step's messages have left, for
    /// a partition's hold (see [`Context::partition_point`]).
    Isolate,
}

impl<N: Node> Clone for Command<N> {
    fn clone(&self) -> Self {
        match self {
            Command::Send { to, msg } => Command::Send { to: *to, msg: msg.clone() },
            Command::Reply { to, resp } => Command::Reply { to: *to, resp: resp.clone() },
            Command::SetTimer { timer, after } => Command::SetTimer { timer: timer.clone(), after: *after },
            Command::CancelTimer { timer } => Command::CancelTimer { timer: timer.clone() },
            Command::Halt { reason } => Command::Halt { reason: reason.clone() },
            Command::Reboot => Command::Reboot,
            Command::Isolate => Command::Isolate,
        }
    }
}

impl<N: Node> Debug for Command<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Send { to, msg } => write!(f, "Send({to}, {msg:?})"),
            Command::Reply { to, resp } => write!(f, "Reply({}#{}, {resp:?})", to.client, to.seq),
            Command::SetTimer { timer, after } => write!(f, "SetTimer({timer:?}, {after:?})"),
            Command::CancelTimer { timer } => write!(f, "CancelTimer({timer:?})"),
            Command::Halt { reason } => write!(f, "Halt({reason:?})"),
            Command::Reboot => write!(f, "Reboot"),
            Command::Isolate => write!(f, "Isolate"),
        }
    }
}

impl<N: Node> PartialEq for Command<N>
where
    N::Msg: PartialEq,
    N::Response: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        use Command::*;
        match (self, other) {
            (Send { to: a, msg: m }, Send { to: b, msg: n }) => a == b && m == n,
            (Reply { to: a, resp: r }, Reply { to: b, resp: s }) => a == b && r == s,
            (SetTimer { timer: a, after: x }, SetTimer { timer: b, after: y }) => a == b && x == y,
            (CancelTimer { timer: a }, CancelTimer { timer: b }) => a == b,
            (Halt { reason: a }, Halt { reason: b }) => a == b,
            (Reboot, Reboot) | (Isolate, Isolate) => true,
            _ => false,
        }
    }
}

impl<N: Node> Command<N> {
    /// This command as one of node `M`, whose types wrap `N`'s: how a system with several kinds
    /// of node (whose `Node` is an enum over its kinds) lifts what one kind emitted (see
    /// [`Context::embed`]).
    pub fn lift<M: Node>(self) -> Command<M>
    where
        M::Msg: From<N::Msg>,
        M::Timer: From<N::Timer>,
        M::Response: From<N::Response>,
    {
        match self {
            Command::Send { to, msg } => Command::Send { to, msg: msg.into() },
            Command::Reply { to, resp } => Command::Reply { to, resp: resp.into() },
            Command::SetTimer { timer, after } => Command::SetTimer { timer: timer.into(), after },
            Command::CancelTimer { timer } => Command::CancelTimer { timer: timer.into() },
            Command::Halt { reason } => Command::Halt { reason },
            Command::Reboot => Command::Reboot,
            Command::Isolate => Command::Isolate,
        }
    }
}

/// The run's code sites: decides whether a `buggify` site fires (see
/// [`crate::buggify`](mod@crate::buggify)) and counts the coverage points a protocol reached (see
/// [`Context::sometimes`]).
pub trait BuggifySource {
    /// Whether the `buggify` site at `site` fires now.
    fn fire(&mut self, site: &'static Location<'static>) -> bool;

    /// Counts one reaching of coverage point `point`; nothing by default (real mode, unit
    /// tests).
    fn reached(&mut self, _point: &'static str) {}
}

/// Never fires: real mode, and runs with buggify off.
pub struct NoBuggify;

impl BuggifySource for NoBuggify {
    fn fire(&mut self, _site: &'static Location<'static>) -> bool {
        false
    }
}

/// Everything a handler may read, and where its commands go.
pub struct Context<'a, N: Node> {
    id: NodeId,
    now: Time,
    rng: &'a mut Rng,
    disk: &'a mut dyn Storage,
    buggify: &'a mut dyn BuggifySource,
    out: &'a mut Vec<Command<N>>,
    first_boot: bool,
}

impl<'a, N: Node> Context<'a, N> {
    /// Built by the shell (and by [`crate::testing`]) for one step, of a node at its first boot
    /// unless [`Context::with_first_boot`] says otherwise.
    pub fn new(
        id: NodeId,
        now: Time,
        rng: &'a mut Rng,
        disk: &'a mut dyn Storage,
        buggify: &'a mut dyn BuggifySource,
        out: &'a mut Vec<Command<N>>,
    ) -> Self {
        Context { id, now, rng, disk, buggify, out, first_boot: true }
    }

    /// Whether this incarnation is the node's first start ([`Context::first_boot`]).
    pub fn with_first_boot(mut self, first_boot: bool) -> Self {
        self.first_boot = first_boot;
        self
    }

    /// This node.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Whether the node is at its first boot, as an operator tells "bootstrap" from "restart":
    /// true in the node's first incarnation of the run (in real mode: when the cluster launcher
    /// starts it for the first time), and again only if that first start crashed before it
    /// finished (then nothing of it left the node). False after every later restart. A node
    /// that finds its disk empty when this is false lost its disk (a wiped disk, a replaced
    /// drive) and must not act on promises it no longer remembers: it bootstraps only when this
    /// is true, and it writes something durable at bootstrap so that a later restart can tell a
    /// lost disk from a node that had not written anything yet.
    pub fn first_boot(&self) -> bool {
        self.first_boot
    }

    /// This node's own clock (skewed and drifting in simulation).
    pub fn now(&self) -> Time {
        self.now
    }

    /// The node's seeded RNG: the only randomness a protocol may use.
    pub fn rng(&mut self) -> &mut Rng {
        self.rng
    }

    /// The node's disk: survives crashes, subject to disk faults in simulation.
    pub fn disk(&mut self) -> &mut dyn Storage {
        self.disk
    }

    /// Sends `msg` to node `to` after the step (see [`Command::Send`]).
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.out.push(Command::Send { to, msg });
    }

    /// Answers the client request `to` after the step (see [`Command::Reply`]).
    pub fn reply(&mut self, to: RequestId, resp: N::Response) {
        self.out.push(Command::Reply { to, resp });
    }

    /// Fires `timer` after `after` on this node's clock, replacing a timer with the same key.
    pub fn set_timer(&mut self, timer: N::Timer, after: Duration) {
        self.out.push(Command::SetTimer { timer, after });
    }

    /// Cancels the timer with this key, if one is set.
    pub fn cancel_timer(&mut self, timer: N::Timer) {
        self.out.push(Command::CancelTimer { timer });
    }

    /// Crash this node deliberately (see [`Command::Halt`]): no command of this step is run.
    pub fn halt(&mut self, reason: impl Into<String>) {
        self.out.push(Command::Halt { reason: reason.into() });
    }

    /// A crash point, FoundationDB's buggified `please_reboot`: a place where a crash is most
    /// likely to expose a bug, such as right after a vote was granted or a write acknowledged.
    /// A random crash rarely lands in such a window, which lasts a message's flight. It is a
    /// `buggify` site: when it fires, the node crashes once this step is over (its messages
    /// sent, its unsynced writes lost) and restarts a few milliseconds later, as a supervised
    /// process would, so it is back before the rest of the cluster has moved on. Returns
    /// whether it fired; the handler goes on either way.
    #[track_caller]
    pub fn crash_point(&mut self) -> bool {
        let fires = self.buggify.fire(Location::caller());
        if fires {
            self.out.push(Command::Reboot);
        }
        fires
    }

    /// A coverage point: marks a moment worth reaching (FoundationDB's `TEST()`, Antithesis's
    /// "sometimes" assertions), such as a membership change requested while another is
    /// pending. The run counts it as `cover.<point>`; a sweep lists every point the system
    /// declares ([`crate::system::System::COVERAGE`]) with the seeds that reached it, and those
    /// never reached, so a sweep that never met a dangerous moment says so. Name points
    /// `<system>.<moment>`. Nothing in real mode.
    pub fn sometimes(&mut self, point: &'static str) {
        self.buggify.reached(point);
    }

    /// A partition point: what a crash point is to crashes, for partitions. It marks a moment
    /// where being cut off exposes most, such as right after a leader appended a membership
    /// change: a random partition rarely lands in such a window. It is a `buggify` site: when
    /// it fires, once the step's messages have left, the harness cuts this node and one other
    /// (chosen by the run's seed) off from the rest for a partition's hold, replacing any
    /// partition in force; counted as `partition.majority_minority`. Returns whether it fired.
    #[track_caller]
    pub fn partition_point(&mut self) -> bool {
        let fires = self.buggify.fire(Location::caller());
        if fires {
            self.out.push(Command::Isolate);
        }
        fires
    }

    /// A `buggify` site: true when this site is armed for the run and fires now. Always false in
    /// real mode and when the run has buggify off. Prefer the [`crate::buggify!`] macro.
    #[track_caller]
    pub fn buggify(&mut self) -> bool {
        self.buggify.fire(Location::caller())
    }

    /// Runs `step` as a step of an inner node of type `M`, on this node's id, clock, RNG, disk
    /// and buggify sites, and turns each command it emits into one of this node's with `map`
    /// (`None` drops it). This is how a system with several kinds of node stays one `Node`
    /// type: an enum over its kinds, whose handlers embed the kind's own handler, e.g.
    ///
    /// ```text
    /// Kinds::Server(server) => cx.embed(|cx| server.on_message(cx, from, msg), |c| Some(c.lift())),
    /// ```
    ///
    /// with [`Command::lift`] when the enum's message, timer and response types wrap the kind's
    /// (`From`), or a closure that also reroutes some commands (a reply that must go back to
    /// the node that forwarded the request, say).
    pub fn embed<M: Node, T>(
        &mut self,
        step: impl FnOnce(&mut Context<'_, M>) -> T,
        map: impl FnMut(Command<M>) -> Option<Command<N>>,
    ) -> T {
        let mut out = Vec::new();
        let result = step(&mut Context {
            id: self.id,
            now: self.now,
            rng: &mut *self.rng,
            disk: &mut *self.disk,
            buggify: &mut *self.buggify,
            out: &mut out,
            first_boot: self.first_boot,
        });
        self.out.extend(out.into_iter().filter_map(map));
        result
    }
}
