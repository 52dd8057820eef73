//! Zab, and on it a ZooKeeper-style coordination service, as a deterministic state machine
//! behind faultline's `Node` API.
//!
//! The algorithm (Junqueira, Reed and Serafini, "Zab: High-performance broadcast for
//! primary-backup systems", DSN 2011; ZooKeeper's implementation, "Zab 1.0"). A server's history
//! is a sequence of transactions named by zxids (epoch, counter). Four phases:
//! - *Election* (ZooKeeper's fast leader election): looking servers exchange votes and adopt
//!   the best one (a trusted history first, then the higher current epoch, then the higher last
//!   zxid, then the higher id); once a quorum agrees and no better vote arrives for a moment,
//!   the chosen server leads and the others follow it. Servers that already follow or lead
//!   answer looking servers with their leader, so a restarted server joins at once.
//! - *Discovery*: followers send FOLLOWERINFO with their accepted epoch; once a quorum has, the
//!   prospective leader proposes one past the highest as the new epoch (LEADERINFO); each
//!   follower makes it its accepted epoch, durably, and answers ACKEPOCH with its current epoch
//!   and history end. A leader that finds a follower with a later history gives up (ZooKeeper
//!   does the same: election should have chosen that follower). A quorum of ACKEPOCHs
//!   *establishes* the leader in the epoch; it makes the epoch its current epoch, durably.
//! - *Synchronization*: the leader brings each follower to its history with a DIFF (append what
//!   it lacks), a TRUNC (drop a divergent suffix, then append) or a SNAP (the data tree whole),
//!   then NEWLEADER. The follower makes all of it durable and the epoch its current epoch, then
//!   acknowledges. Once a quorum has acknowledged, the leader's whole history is committed; it
//!   sends UPTODATE and starts broadcasting.
//! - *Broadcast*: PROPOSAL, ACK from a quorum (each after the transaction is durable), COMMIT;
//!   every server delivers committed transactions in zxid order, applying them to its data tree.
//!
//! Persistence and recovery are in `storage`: epochs, snapshots and the log, checksummed, with a
//! marker after every durable append, so a crash's torn tail is told apart from corruption. A
//! server whose disk lost something it may have acknowledged *repairs*: it counts in no quorum
//! and never leads until an established leader has synchronized it. One that lost its epochs
//! only observes from then on.
//!
//! Deviations from ZooKeeper:
//! - The network here loses, duplicates and reorders messages, where ZooKeeper relies on TCP.
//!   So the sync travels in the NEWLEADER message itself, proposals carry the position and zxid
//!   they follow (a follower never truncates during broadcast: it only appends what follows its
//!   history), and the leader resends from each follower's acknowledged position every tick.
//! - Commits travel in PROPOSAL and COMMIT messages as a position ("everything through here").
//! - The leader orders client requests as they come and every server evaluates them when it
//!   applies them (ZooKeeper's leader turns each request into an idempotent transaction first).
//! - Sessions are named by their clients (see `api`), not numbered by the leader.
//! - Linearizable reads are served by the leader once a heartbeat round confirms a quorum still
//!   follows it (ZooKeeper offers `sync` followed by a local read instead).
//! - A leader that finds it has not run for several ticks (a pause, a clock jump) gives every
//!   session a fresh timeout rather than expire them all at once.
//!
//! Modules:
//! - [`api`]: the client API: sessions, requests, replies.
//! - [`msg`]: zxids, transactions, votes and the server-to-server messages.
//! - [`tree`]: the data tree and the deterministic application of transactions.
//! - [`config`]: `ZabConfig`, the ensemble and its timing.
//! - [`bugs`]: `ZabBug`, the planted bugs.
//! - `history`: a server's transactions in memory.
//! - [`storage`]: the on-disk format and recovery.
//! - `state`: roles and their volatile state.
//! - `election`: fast leader election.
//! - `discovery`: epochs (FOLLOWERINFO, LEADERINFO, ACKEPOCH) and synchronization (DIFF, TRUNC,
//!   SNAP, NEWLEADER, UPTODATE), both sides.
//! - `broadcast`: proposals, acknowledgements, commits, heartbeats, delivery.
//! - `requests`: client requests: forwarding, writes, local and linearizable reads.
//! - `sessions`: the leader's session tracker and expiry.
//! - `observe`: observations for the invariant checkers, status, local invariants.
//! - [`system`]: the coordination service bound to the harness.
//! - [`workload`]: the session-keeping client workload and its history encoding.
//! - [`reads`]: the check of local reads (session order, committed values).

pub mod api;
mod broadcast;
pub mod bugs;
pub mod config;
mod discovery;
mod election;
mod history;
pub mod msg;
mod observe;
pub mod reads;
mod requests;
mod sessions;
mod state;
pub mod storage;
pub mod system;
pub mod tree;
pub mod workload;

pub use api::{ReadOp, Reply, SessionId, Stat, Unavailable, WriteOp, ZkError, ZkOp, ZkRequest, ZkResponse};
pub use bugs::ZabBug;
pub use config::{ConfigError, ZabConfig};
pub use msg::{Msg, Pos, ReplyTo, Timer, Txn, TxnBody, Zxid};
pub use observe::{ZabRole, ZabStatus};
pub use storage::{RecoveryReport, Standing};
pub use system::ZabSystem;

use crate::history::History;
use crate::state::Role;
use crate::storage::{Meta, Store};
use crate::tree::DataTree;
use faultline_checkers::invariants::zab::ObservedTxn;
use faultline_sim::{Context, DiskError, Node, NodeId, RequestId, Time};
use std::collections::{BTreeMap, BTreeSet};

/// The rest of this step is abandoned: a disk call failed (the node may be halting), or the
/// message cannot be handled. Nothing that depended on the failed write is sent.
#[derive(Debug)]
pub(crate) struct Stop;

/// What the current step did that observers care about (cleared at every step).
#[derive(Default)]
pub(crate) struct StepLog {
    /// Transactions delivered, in order, and the zxid delivered before the first of them.
    pub delivered: Vec<ObservedTxn>,
    pub delivered_from: Option<Zxid>,
    /// The transactions delivered, in the same order.
    pub delivered_txns: Vec<Txn>,
    /// (position, tree digest) after each delivery.
    pub trees: Vec<(u64, u64)>,
    /// Transactions proposed as leader.
    pub proposed: Vec<ObservedTxn>,
    /// Events to count (`elections`, `snap_syncs`...).
    pub events: Vec<&'static str>,
}

/// Messages and replies of the current step, emitted only when the step completes.
enum Out {
    Send(NodeId, Msg),
    Reply(RequestId, ZkResponse),
}

/// One server.
pub struct Zab {
    config: ZabConfig,
    id: NodeId,
    /// Epochs and standing as last written.
    meta: Meta,
    store: Option<Store>,
    history: History,
    /// The highest position a durable marker covers: what this server may acknowledge.
    marked: u64,
    /// The highest position known committed.
    commit: u64,
    tree: DataTree,
    /// The last position delivered to the tree.
    applied: Pos,
    /// The position of the last snapshot taken or installed.
    snapshot_at: u64,
    role: Role,
    /// The fast-leader-election round (ZooKeeper's logical clock).
    round: u64,
    /// Requests awaiting the delivery of their transaction here: session -> (xid, origin).
    pending: BTreeMap<SessionId, (u64, ReplyTo)>,
    /// Sessions heard from since the last report to the leader.
    touched: BTreeSet<SessionId>,
    report: RecoveryReport,
    now: Time,
    out: Vec<Out>,
    halt: Option<String>,
    step: StepLog,
    /// Leader: send one transaction per PROPOSAL until the next tick (a buggify site).
    one_per_message: bool,
}

impl Zab {
    /// A server of the ensemble `config` describes (its id comes from the context at start).
    pub fn new(config: ZabConfig) -> Result<Zab, ConfigError> {
        config.validate()?;
        Ok(Zab {
            config,
            id: NodeId(0),
            meta: Meta::default(),
            store: None,
            history: History::default(),
            marked: 0,
            commit: 0,
            tree: DataTree::default(),
            applied: Pos::default(),
            snapshot_at: 0,
            role: Role::Recovering,
            round: 0,
            pending: BTreeMap::new(),
            touched: BTreeSet::new(),
            report: RecoveryReport::default(),
            now: Time(0),
            out: Vec::new(),
            halt: None,
            step: StepLog::default(),
            one_per_message: false,
        })
    }

    pub fn config(&self) -> &ZabConfig {
        &self.config
    }

    /// The data tree as this server has applied it.
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// What the last start's recovery found on disk.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    fn has_bug(&self, bug: ZabBug) -> bool {
        self.config.has_bug(bug)
    }

    fn standing(&self) -> Standing {
        self.meta.standing
    }

    /// Counts in quorums and may lead.
    fn trusted(&self) -> bool {
        self.standing() == Standing::Voter
    }

    /// Votes in elections (a repairing server does; an observer does not).
    fn voter(&self) -> bool {
        self.standing() != Standing::Observer
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.config.members.iter().copied().filter(move |m| *m != self.id)
    }

    fn begin(&mut self, cx: &Context<'_, Zab>) {
        self.now = cx.now();
        self.step = StepLog::default();
    }

    /// Emits the step's messages and replies, or only a halt if a write failed fatally.
    fn finish(&mut self, cx: &mut Context<'_, Zab>) {
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
        if to != self.id {
            self.out.push(Out::Send(to, msg));
        }
    }

    fn broadcast_to_peers(&mut self, msg: &Msg) {
        let peers: Vec<NodeId> = self.peers().collect();
        for p in peers {
            self.send(p, msg.clone());
        }
    }

    /// Answers a client, wherever it waits.
    fn respond(&mut self, origin: ReplyTo, resp: ZkResponse) {
        match origin {
            ReplyTo::Client(id) => self.out.push(Out::Reply(id, resp)),
            ReplyTo::Node { node, tag } => self.send(node, Msg::Response { tag, resp }),
        }
    }

    fn store(&mut self) -> &mut Store {
        self.store.as_mut().expect("the store is open whenever the node takes part")
    }

    /// Turns a disk error into a stopped step, halting by the kit's one policy
    /// (`DiskError::requires_halt`): a failed sync (or an I/O error, or a vanished file) may have
    /// lost data the node believes written, so it halts and recovers from what is really on disk;
    /// a full disk or a read error only abandons the step.
    fn disk<T>(&mut self, result: Result<T, DiskError>) -> Result<T, Stop> {
        result.map_err(|e| {
            if e.requires_halt() {
                self.halt.get_or_insert(format!("disk: {e}"));
            }
            Stop
        })
    }

    /// A `buggify` site where the node loses power: nothing of this step leaves it, and what it
    /// wrote stays on its disk alone.
    #[track_caller]
    fn crash_here(&mut self, cx: &mut Context<'_, Zab>, moment: &str) -> Result<(), Stop> {
        if cx.buggify() {
            self.halt.get_or_insert(format!("buggify: crashed {moment}"));
            return Err(Stop);
        }
        Ok(())
    }

    /// Makes `meta` durable, then adopts it. Under `EpochUpdatedBeforeWrite` the write is not
    /// synced, and the node goes on as if it were.
    fn save_meta(&mut self, cx: &mut Context<'_, Zab>, meta: Meta) -> Result<(), Stop> {
        if meta == self.meta {
            return Ok(());
        }
        let epochs_only = meta.standing == self.meta.standing;
        let result = if epochs_only && self.has_bug(ZabBug::EpochUpdatedBeforeWrite) {
            // BUG(EpochUpdatedBeforeWrite): the new epoch is used (and acknowledged) while its
            // file write is still in the page cache.
            self.meta = meta;
            let result = self.store().save_meta_unsynced(cx.disk(), &meta);
            return self.disk(result);
        } else {
            self.store().save_meta(cx.disk(), &meta)
        };
        self.disk(result)?;
        self.meta = meta;
        Ok(())
    }

    /// Appends `txns` after the history's end, durably (batch, sync, marker, sync), then in
    /// memory. Returns the new last position.
    fn persist_append(&mut self, cx: &mut Context<'_, Zab>, txns: Vec<Txn>, sync: bool) -> Result<Pos, Stop> {
        let first = self.history.last().index + 1;
        let result = self.store().append(cx.disk(), first, &txns, sync);
        self.disk(result)?;
        for t in txns {
            self.history.append(t);
        }
        let last = self.history.last();
        if last.index > self.marked {
            // The transactions are written (and synced) from here on, marked or not: a marker
            // that does not fit on a full disk only keeps this server from acknowledging them.
            let result = self.store().mark(cx.disk(), last, sync);
            if self.disk(result).is_ok() {
                self.marked = last.index;
            } else if self.halt.is_some() {
                return Err(Stop);
            }
        }
        Ok(last)
    }

    /// Drops everything after position `index`, on disk and in memory.
    fn truncate_after(&mut self, cx: &mut Context<'_, Zab>, index: u64) -> Result<(), Stop> {
        if self.history.last().index <= index {
            return Ok(());
        }
        let history = std::mem::take(&mut self.history);
        let result = self.store().truncate_after(cx.disk(), index, &history);
        self.history = history;
        self.disk(result)?;
        self.history.truncate_after(index);
        self.marked = self.marked.min(index);
        Ok(())
    }

    fn start(&mut self, cx: &mut Context<'_, Zab>) {
        self.id = cx.id();
        let first_boot = cx.first_boot();
        let recovery = match Store::recover(cx.disk(), first_boot) {
            Ok(r) => r,
            Err(e) => return self.recovery_failed(cx, e),
        };
        self.report = recovery.report.clone();
        if self.report != RecoveryReport::default() {
            tracing::warn!(node = %self.id, report = ?self.report, "recovered from a damaged disk");
        }
        if self.report.disk_lost {
            cx.sometimes("zab.a_server_restarts_on_a_lost_disk");
        }
        self.meta = recovery.meta;
        self.store = Some(recovery.store);
        self.marked = recovery.marked;
        self.history = recovery.history;
        self.report_recovered_proposals();
        let snapshot = recovery.snapshot;
        self.applied = snapshot.as_ref().map_or(Pos::default(), |s| s.pos);
        self.tree = snapshot.map(|s| s.tree).unwrap_or_default();
        self.commit = self.applied.index;
        self.snapshot_at = self.applied.index;
        // Intact transactions after the last marker were written and may be synced; mark them
        // now so that what this server reports in discovery is durable.
        if self.history.last().index > self.marked {
            let last = self.history.last();
            if let Err(e) = self.store().mark(cx.disk(), last, true) {
                return self.recovery_failed(cx, e);
            }
            self.marked = last.index;
        }
        self.look(cx);
        cx.set_timer(Timer::Tick, self.config.tick);
    }

    /// A step the power cut short is never observed, yet what it wrote may survive: a leader's
    /// proposal written in such a step comes back here, in its epoch. The transactions of the
    /// server's current epoch are reported as proposed (those already seen proposed are the
    /// same transactions and change nothing), so the checks know every transaction a primary
    /// made, as `Zab.tla` counts a proposal from the moment the primary appends it.
    fn report_recovered_proposals(&mut self) {
        let epoch = self.meta.current_epoch;
        let recovered = self.history.entries().filter(|(_, zxid, _)| zxid.epoch == epoch && epoch > 0);
        self.step.proposed = recovered
            .map(|(index, zxid, digest)| ObservedTxn { index, zxid: broadcast::observed(zxid), digest })
            .collect();
    }

    fn recovery_failed(&mut self, cx: &mut Context<'_, Zab>, e: DiskError) {
        tracing::warn!(node = %self.id, error = %e, "cannot read the disk at start");
        if self.disk::<()>(Err(e)).is_err() && self.halt.is_none() {
            self.role = Role::Recovering;
            cx.set_timer(Timer::Recover, self.config.tick * 4);
        }
    }

    fn on_tick(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        cx.set_timer(Timer::Tick, self.config.tick);
        match &self.role {
            Role::Looking(_) => self.election_tick(),
            Role::Following(_) => self.follower_tick(cx)?,
            Role::Leading(_) => self.leader_tick(cx)?,
            Role::Recovering => {}
        }
        Ok(())
    }

    /// Dispatches a server message by kind.
    fn step_message(&mut self, cx: &mut Context<'_, Zab>, from: NodeId, msg: Msg) -> Result<(), Stop> {
        if !self.config.members.contains(&from) || matches!(self.role, Role::Recovering) {
            return Ok(());
        }
        match msg {
            Msg::Notification { round, vote, state, voter } => {
                self.on_notification(cx, from, round, vote, state, voter)
            }
            Msg::FollowerInfo { accepted_epoch, voter } => {
                self.on_follower_info(cx, from, accepted_epoch, voter)
            }
            Msg::LeaderInfo { epoch } => self.on_leader_info(cx, from, epoch),
            Msg::AckEpoch { epoch, current_epoch, last, trusted, promised } => {
                self.on_ack_epoch(cx, from, epoch, current_epoch, last, trusted && promised)
            }
            Msg::NewLeader { epoch, sync, base, txns } => {
                self.on_new_leader(cx, from, epoch, sync, base, txns)
            }
            Msg::NeedSnap { epoch } => self.on_need_snap(from, epoch),
            Msg::AckNewLeader { epoch, sync, last } => self.on_ack_new_leader(cx, from, epoch, sync, last),
            Msg::UpToDate { epoch, commit } => self.on_up_to_date(cx, from, epoch, commit),
            Msg::Propose { epoch, prev, txns, commit, round } => {
                self.on_propose(cx, from, epoch, prev, txns, commit, round)
            }
            Msg::Ack { epoch, matched, round, touched } => {
                self.on_ack(cx, from, epoch, matched, round, touched)
            }
            Msg::Commit { epoch, commit } => self.on_commit(cx, from, epoch, commit),
            Msg::Forward { origin, req } => self.on_forward(cx, from, origin, req),
            Msg::Reply { origin, resp } => {
                self.respond(origin, resp);
                Ok(())
            }
            Msg::Request { tag, req } => self.on_client(cx, ReplyTo::Node { node: from, tag }, req),
            Msg::Response { .. } => Ok(()),
        }
    }
}

impl Node for Zab {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ZkRequest;
    type Response = ZkResponse;

    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        self.begin(cx);
        self.start(cx);
        self.finish(cx);
    }

    fn on_message(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        self.begin(cx);
        let _ = self.step_message(cx, from, msg);
        self.finish(cx);
    }

    fn on_timer(&mut self, cx: &mut Context<'_, Self>, timer: Timer) {
        self.begin(cx);
        let _ = match timer {
            Timer::Tick => self.on_tick(cx),
            Timer::Finalize => self.on_finalize(cx),
            Timer::Recover if matches!(self.role, Role::Recovering) => {
                self.start(cx);
                Ok(())
            }
            Timer::Recover => Ok(()),
        };
        self.finish(cx);
    }

    fn on_request(&mut self, cx: &mut Context<'_, Self>, id: RequestId, req: ZkRequest) {
        self.begin(cx);
        let _ = self.on_client(cx, ReplyTo::Client(id), req);
        self.finish(cx);
    }

    fn check_invariants(&self) {
        self.assert_invariants();
    }
}
