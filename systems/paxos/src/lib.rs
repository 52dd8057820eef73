//! Multi-Paxos: a replicated key-value store, as a deterministic state machine behind
//! faultline's `Node` API.
//!
//! The algorithm (Lamport, "Paxos Made Simple", 2001, section 3; with the engineering of
//! Chandra, Griesemer and Redstone, "Paxos Made Live", 2007). Every node is an acceptor and a
//! replica; one, the distinguished proposer, leads. Ballots are (round, node id): unique, totally
//! ordered. A node that hears no leader for a randomized timeout picks a ballot above every one
//! it has seen, promises it to itself durably and runs phase 1 once for all slots from its first
//! unchosen one: `Prepare(ballot, from)`. An acceptor promises a ballot at least as high as any
//! it promised, durably, and reports every value it accepted from `from` on (or its snapshot, if
//! it compacted those slots). With a majority of promises the node leads: for each slot up to
//! the highest reported it adopts the value of the highest ballot any promise reported, fills
//! the rest with no-ops, and proposes them all at its ballot (phase 2); client writes go to the
//! next free slots. An acceptor accepts a value at a ballot at least its promise, durably, and
//! answers; a value accepted by a majority at one ballot is chosen. The leader's messages carry
//! how far every slot is chosen (the commit), so replicas learn chosen values they accepted;
//! lagging ones get the chosen values (or a snapshot) from the leader: catch-up. Replicas apply
//! chosen values in slot order to the key-value state machine with exactly-once client
//! sessions. A higher ballot seen anywhere (a refusal, a prepare, an accept) ends a node's
//! leading; failed attempts back off with a doubling random timeout.
//!
//! Reads are confirmed by a quorum (as Raft's ReadIndex): the leader notes how far it must have
//! applied, starts a broadcast round and answers once a majority confirmed the round at its
//! ballot and it has applied that far. No leases: clock faults can delay a read, never make it
//! stale.
//!
//! Durability and recovery (`storage.rs`): the promise and every accepted value are
//! checksummed records synced, and marked, before the node answers; a torn unmarked tail is cut,
//! a damaged record the node may have answered for is not dropped silently: the node rebuilds
//! (`rebuild.rs`), taking no part in quorums until a leader whose ballot is above every promise
//! it could have made has chosen every slot its phase 1 adopted ("Paxos Made Live", section 5.1).
//! A lost disk (an empty one at a restart) rebuilds the same way.
//!
//! Deviations: leader stickiness (an acceptor that heard from its leader within the minimum
//! election timeout ignores other nodes' prepares, as Raft's thesis 4.2.3), and "check quorum"
//! (a leader that has not heard from a majority for an election timeout steps down); the commit
//! rides on phase 2a messages instead of separate ones; snapshots are sent whole; membership is
//! fixed.
//!
//! Modules:
//! - [`config`]: `PaxosConfig`, the plain-data cluster and timing description.
//! - [`bugs`]: `PaxosBug`, the planted bugs chosen by the config.
//! - [`msg`]: ballots, values, messages, client requests and responses.
//! - `state`: roles and the volatile per-role state.
//! - `storage`: the on-disk format and protocol-aware recovery.
//! - `acceptor`: phase 1b and 2b: promising and accepting, durably.
//! - `election`: timeouts, ballots, phase 1 on the proposer's side, leading and stepping down.
//! - `leader`: phase 2a: proposing, counting acceptances, heartbeats, catch-up.
//! - `learner`: learning chosen values, applying them, snapshots.
//! - `read`: quorum-confirmed reads.
//! - `rebuild`: taking part again after losing state.
//! - `observe`: observations for the invariant checkers, a status summary, local invariants.
//! - [`system`]: Multi-Paxos bound to the faultline harness.

mod acceptor;
pub mod bugs;
pub mod config;
mod election;
mod leader;
mod learner;
pub mod msg;
mod observe;
mod read;
mod rebuild;
mod state;
mod storage;
pub mod system;

pub use bugs::PaxosBug;
pub use config::{ConfigError, PaxosConfig};
pub use msg::{Ballot, Msg, Request, Response, Slot, Snapshot, Unavailable, Value};
pub use observe::{convergence, PaxosStatus, StatusRole};
pub use storage::{RecoveryReport, LOG_FILE, SNAPSHOT_FILE};
pub use system::PaxosSystem;

use crate::state::{Leader, Role};
use crate::storage::{Acceptor, Store};
use faultline_checkers::invariants::paxos::{Learned, Proposal as ObservedProposal};
use faultline_services::KvStore;
use faultline_sim::{Context, DiskError, Node, NodeId, RequestId, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Timer keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// No leader heard from: run phase 1.
    Election,
    /// Leader: heartbeat, resend, check quorum.
    Heartbeat,
    /// Rebuilding: ask again.
    Probe,
    /// The disk could not be read at start: try again.
    Recover,
}

/// The rest of this step is abandoned: a disk write failed (the node may be halting). Nothing
/// that depended on the failed write is sent.
#[derive(Debug)]
pub(crate) struct Stop;

/// Messages and replies of the current step, emitted only when the step completes.
enum Out {
    Send(NodeId, Msg),
    Reply(RequestId, Response),
}

/// What one step did that the checkers look at (see `observe.rs`).
#[derive(Debug, Default)]
pub(crate) struct Trail {
    pub started: bool,
    pub acks: Vec<(u32, u64)>,
    pub proposed: Vec<ObservedProposal>,
    pub learned: Vec<Learned>,
    pub requested: Vec<u64>,
    /// (slot, digest) applied in the step.
    pub applied: Vec<(u64, u64)>,
    pub phase1: bool,
    pub catch_up: bool,
    pub snapshot: bool,
    pub rebuild: bool,
}

impl Trail {
    fn clear(&mut self) {
        self.started = false;
        self.acks.clear();
        self.proposed.clear();
        self.learned.clear();
        self.requested.clear();
        self.applied.clear();
        self.phase1 = false;
        self.catch_up = false;
        self.snapshot = false;
        self.rebuild = false;
    }
}

/// The acceptors whose promises counted in a phase 1, and what they reported per slot.
type Grants = (BTreeSet<NodeId>, BTreeMap<Slot, (Ballot, Value)>);

/// One Multi-Paxos node: acceptor, replica, and proposer when it leads.
pub struct Paxos {
    config: PaxosConfig,
    id: NodeId,
    /// The promise and accepted values, as last made durable.
    acceptor: Acceptor,
    store: Option<Store>,
    /// The latest snapshot; `base` is its slot (0 without one).
    snapshot: Option<Snapshot>,
    base: Slot,
    /// Values known chosen (with their digests): every one after `base`, and a window of the
    /// last ones before it, kept for catching up replicas that lag a little.
    chosen: BTreeMap<Slot, (Value, u64)>,
    /// Every slot up to here is known chosen.
    chosen_upto: Slot,
    applied: Slot,
    kv: KvStore<Response>,
    role: Role,
    /// The leader this node follows, when known.
    leader: Option<NodeId>,
    /// When it last heard from that leader (its own clock).
    leader_contact: Option<Time>,
    /// The highest ballot seen in any message.
    seen: Ballot,
    /// Phase 1 attempts in a row that did not lead (the backoff's exponent).
    attempts: u32,
    /// This incarnation has run phase 1 at least once.
    campaigned: bool,
    /// The acceptors whose promises won this node's last phase 1, and what they reported: kept
    /// only under the planted bug `StalePromiseCounted`, which counts them again.
    earlier_grants: Option<Grants>,
    report: RecoveryReport,
    now: Time,
    out: Vec<Out>,
    halt: Option<String>,
    trail: Trail,
}

impl Paxos {
    /// A node of the cluster `config` describes (its id comes from the context at start).
    pub fn new(config: PaxosConfig) -> Result<Paxos, ConfigError> {
        config.validate()?;
        Ok(Paxos {
            config,
            id: NodeId(0),
            acceptor: Acceptor::default(),
            store: None,
            snapshot: None,
            base: 0,
            chosen: BTreeMap::new(),
            chosen_upto: 0,
            applied: 0,
            kv: KvStore::default(),
            role: Role::Recovering,
            leader: None,
            leader_contact: None,
            seen: Ballot::ZERO,
            attempts: 0,
            campaigned: false,
            earlier_grants: None,
            report: RecoveryReport::default(),
            now: Time(0),
            out: Vec::new(),
            halt: None,
            trail: Trail::default(),
        })
    }

    pub fn config(&self) -> &PaxosConfig {
        &self.config
    }

    /// The state machine as this node has applied it.
    pub fn kv(&self) -> &KvStore<Response> {
        &self.kv
    }

    /// What the last start's recovery found on disk.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    fn begin(&mut self, cx: &Context<'_, Paxos>) {
        self.now = cx.now();
        self.trail.clear();
    }

    /// Emits the step's messages and replies, or only a halt if a write failed fatally.
    fn finish(&mut self, cx: &mut Context<'_, Paxos>) {
        let out = std::mem::take(&mut self.out);
        if let Some(reason) = self.halt.take() {
            tracing::warn!(node = %self.id, %reason, "halting");
            cx.halt(reason);
            return;
        }
        for o in out {
            match o {
                Out::Send(to, msg) => cx.send(to, msg),
                Out::Reply(id, resp) => cx.reply(id, resp),
            }
        }
    }

    fn send(&mut self, to: NodeId, msg: Msg) {
        self.out.push(Out::Send(to, msg));
    }

    fn reply(&mut self, id: RequestId, resp: Response) {
        self.out.push(Out::Reply(id, resp));
    }

    fn reply_not_leader(&mut self, id: RequestId) {
        let hint = self.leader.filter(|l| *l != self.id);
        self.reply(id, Response::NotLeader { hint });
    }

    fn has_bug(&self, bug: PaxosBug) -> bool {
        self.config.has_bug(bug)
    }

    fn store(&mut self) -> &mut Store {
        self.store.as_mut().expect("the store is open whenever the node takes part")
    }

    fn leader_state(&self) -> Option<&Leader> {
        match &self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }

    fn leader_state_mut(&mut self) -> Option<&mut Leader> {
        match &mut self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }

    fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The other nodes of the cluster.
    fn peers(&self) -> Vec<NodeId> {
        self.config.members().filter(|m| *m != self.id).collect()
    }

    /// Turns a disk error into a stopped step, by the kit's halt policy
    /// (`DiskError::requires_halt`): a failed sync (or an unknown I/O error) may have lost data
    /// the node believes written, so it halts and recovers from what is really on disk; a full
    /// disk or a read error abandons the step without answering.
    fn disk<T>(&mut self, result: Result<T, DiskError>) -> Result<T, Stop> {
        result.map_err(|e| {
            if e.requires_halt() {
                self.halt.get_or_insert(format!("disk: {e}"));
            }
            Stop
        })
    }

    /// A `buggify` site where the node loses power: nothing of this step leaves it, and what it
    /// wrote stays on its own disk alone.
    #[track_caller]
    fn crash_here(&mut self, cx: &mut Context<'_, Paxos>, moment: &str) -> Result<(), Stop> {
        if cx.buggify() {
            self.halt.get_or_insert(format!("buggify: crashed {moment}"));
            return Err(Stop);
        }
        Ok(())
    }

    /// A crash point where nothing of this step leaves the node: it reboots a few milliseconds
    /// later, as a supervised process would, with what it wrote on its own disk alone. Back
    /// before the others elect anyone, it is the node most likely to lead next.
    #[track_caller]
    fn reboot_here(&mut self, cx: &mut Context<'_, Paxos>, moment: &str) -> Result<(), Stop> {
        if cx.crash_point() {
            tracing::info!(node = %self.id, "rebooting {moment}");
            self.out.clear();
            return Err(Stop);
        }
        Ok(())
    }

    /// Dispatches a message. Roles that take no part in quorums handle only what they can.
    fn step(&mut self, cx: &mut Context<'_, Paxos>, from: NodeId, msg: Msg) -> Result<(), Stop> {
        if matches!(self.role, Role::Recovering) {
            return Ok(());
        }
        match msg {
            Msg::Probe => self.handle_probe(from),
            Msg::ProbeReply { promised } => self.handle_probe_reply(cx, from, promised),
            Msg::Learn { entries } => self.handle_learn(cx, from, entries),
            Msg::Fetch { from: slot } => self.handle_fetch(from, slot),
            Msg::InstallSnapshot { snapshot } => self.handle_install_snapshot(cx, from, *snapshot),
            Msg::Accept(a) if matches!(self.role, Role::Rebuilding(_)) => self.rebuilding_accept(cx, from, a),
            _ if matches!(self.role, Role::Rebuilding(_)) => Ok(()),
            Msg::Prepare { ballot, from: slot } => self.handle_prepare(cx, from, ballot, slot),
            Msg::Promise { ballot, accepted, snapshot, learned } => {
                self.handle_promise(cx, from, ballot, accepted, snapshot, learned)
            }
            Msg::Nack { ballot, promised } => self.handle_nack(cx, ballot, promised),
            Msg::Accept(a) => self.handle_accept(cx, from, a),
            Msg::Accepted { ballot, slots, learned, commit, round } => {
                self.handle_accepted(cx, from, ballot, &slots, learned, commit, round)
            }
            Msg::Learned { learned, floor } => self.handle_learned(cx, from, learned, floor),
        }
    }

    fn step_request(&mut self, cx: &mut Context<'_, Paxos>, id: RequestId, req: Request) -> Result<(), Stop> {
        match (&self.role, req) {
            (Role::Leader(_), Request::Get { key }) => self.request_read(id, key),
            (Role::Leader(_), Request::Write(op)) => self.request_write(cx, id, op),
            (Role::Candidate(_), _) => {
                self.reply(id, Response::Unavailable(Unavailable::LeaderNotReady));
                Ok(())
            }
            _ => {
                self.reply_not_leader(id);
                Ok(())
            }
        }
    }
}

impl Node for Paxos {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Response = Response;

    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        self.begin(cx);
        self.trail.started = true;
        self.start(cx);
        self.finish(cx);
    }

    fn on_message(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        self.begin(cx);
        let _ = self.step(cx, from, msg);
        self.finish(cx);
    }

    fn on_timer(&mut self, cx: &mut Context<'_, Self>, timer: Timer) {
        self.begin(cx);
        let _ = match timer {
            Timer::Election => self.on_election_timeout(cx),
            Timer::Heartbeat => self.on_heartbeat(cx),
            Timer::Probe => self.on_probe_timer(cx),
            Timer::Recover if matches!(self.role, Role::Recovering) => {
                self.start(cx);
                Ok(())
            }
            Timer::Recover => Ok(()),
        };
        self.finish(cx);
    }

    fn on_request(&mut self, cx: &mut Context<'_, Self>, id: RequestId, req: Request) {
        self.begin(cx);
        let _ = self.step_request(cx, id, req);
        self.finish(cx);
    }

    fn check_invariants(&self) {
        self.assert_invariants();
    }
}
