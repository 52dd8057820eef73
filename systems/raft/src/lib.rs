//! Raft: a replicated key-value store, as a deterministic state machine behind faultline's
//! `Node` API.
//!
//! The algorithm (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm",
//! 2014; Ongaro's thesis, 2014). Nodes are followers, candidates or a leader. A follower that
//! hears nothing from a leader for a randomized election timeout first asks for *pre-votes*
//! (thesis 9.6): would a majority vote for it in the next term? Only then does it increment its
//! term and request real votes; a node that was merely partitioned away therefore cannot
//! disrupt a working leader when it returns. A node votes at most once per term, durably, and
//! only for a candidate whose log is at least as up-to-date as its own (section 5.4.1); any
//! message with a higher term makes a node adopt that term and step down (section 5.1).
//!
//! The leader appends a no-op at the start of its term, replicates its log with AppendEntries
//! (consistency check on the previous entry, fast back-off with conflict hints, section 5.3),
//! and commits an index once a majority holds it and it belongs to the current term (section
//! 5.4.2); earlier entries commit with it. Committed entries are applied in order to a
//! key-value state machine that deduplicates client writes by request id (client sessions,
//! thesis 6.3). Reads use ReadIndex (thesis 6.4): the leader notes its commit index, confirms
//! with a heartbeat round that a majority still follows it, waits until it has applied that
//! far, then answers. No leases, so clock skew, drift and steps cannot break reads.
//! Snapshots compact the log and reach lagging followers through InstallSnapshot (section 7).
//! Membership changes add or remove one server at a time through the log (thesis 4.1).
//!
//! Durability: term and vote (kept twice) and the log are on disk and synced before the node
//! answers; recovery tells a crash from a corruption with persist records and repairs
//! acknowledged entries from the leader (see `storage.rs`, after CTRL, FAST 2018).
//!
//! Deviations from the paper: pre-vote and leader stickiness (a node that heard from a leader
//! within the minimum election timeout ignores pre-votes and higher-term vote requests, thesis
//! 4.2.3); a leader steps down when it has not heard from a majority for an election timeout
//! ("check quorum"); InstallSnapshot is sent whole, without chunking; new servers join as
//! voters without a catch-up phase (thesis 4.2.1); a node that lost both copies of its
//! metadata, or its whole disk (an empty disk at a start that is not its first boot), stops
//! taking part instead of guessing its vote. A new node writes its hard state at bootstrap, so
//! that its disk is never empty again unless it is lost.
//!
//! Modules:
//! - [`config`]: `RaftConfig`, the plain-data cluster and timing description.
//! - [`bugs`]: `RaftBug`, the planted bugs chosen by the config.
//! - [`msg`]: messages, log entries, client requests and responses.
//! - `state`: roles and the volatile per-role state.
//! - `log`: the in-memory log with a snapshot base and holes.
//! - `storage`: the on-disk format and protocol-aware recovery.
//! - `election`: timeouts, pre-vote, votes, becoming leader or follower.
//! - `replication`: AppendEntries on both sides, commit and apply.
//! - `read`: linearizable reads (ReadIndex).
//! - `membership`: configurations and single-server changes.
//! - `snapshot`: taking, sending and installing snapshots.
//! - `observe`: observations for the invariant checkers, and a status summary.
//! - [`system`]: Raft bound to the faultline harness (workload, routing, observation, checks).

#![forbid(unsafe_code)]

pub mod bugs;
pub mod config;
mod election;
mod log;
pub mod machine;
mod membership;
pub mod msg;
mod observe;
mod read;
mod replication;
mod snapshot;
mod state;
mod storage;
pub mod system;

pub use bugs::RaftBug;
pub use config::{ConfigError, RaftConfig};
pub use machine::{KvMachine, RaftReply, StateMachine};
pub use msg::{LogId, Msg, Request, Response, Unavailable};
pub use observe::{convergence, RaftStatus, StatusRole};
pub use storage::{RecoveryReport, LOG_FILE, META_FILES, SNAPSHOT_FILE};
pub use system::RaftSystem;

use crate::log::RaftLog;
use crate::membership::{Change, Membership};
use crate::msg::Snapshot;
use crate::state::{LeaderState, Role};
use crate::storage::{HardState, Store};
use faultline_sim::{Context, DiskError, Node, NodeId, RequestId, Time};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::time::Duration;

/// Timer keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// No leader heard from: start a (pre-)election.
    Election,
    /// Leader: send AppendEntries to everyone.
    Heartbeat,
    /// The disk could not be read at start: try again.
    Recover,
}

/// The rest of this step is abandoned: a disk write failed (the node may be halting), or a
/// planted bug drops the message. Nothing that depended on the failed write is sent.
#[derive(Debug)]
pub(crate) struct Stop;

/// Messages and replies of the current step, emitted only when the step completes.
enum Out<M: StateMachine> {
    Send(NodeId, Msg<M>),
    Reply(RequestId, M::Response),
}

/// One Raft node, replicating the state machine `M` (by default the key-value store).
pub struct Raft<M: StateMachine = KvMachine> {
    config: RaftConfig,
    id: NodeId,
    /// Term, vote and promise as last written to disk.
    hard: HardState,
    /// The most up-to-date log end this node has made acknowledgeable (see `storage.rs`);
    /// `hard.promise` catches up with it before any acknowledged entry is dropped.
    promise: LogId,
    /// Highest index covered by a persist record on disk.
    marked: u64,
    log: RaftLog<M>,
    snapshot: Option<Snapshot<M>>,
    store: Option<Store<M>>,
    role: Role<M>,
    /// The leader of the current term, when known.
    leader: Option<NodeId>,
    /// When this node last heard from a leader of its term (its own clock).
    leader_contact: Option<Time>,
    commit: u64,
    applied: u64,
    kv: M,
    /// The state machine before any entry: what a node without a snapshot starts from.
    initial: M,
    members: Membership,
    report: RecoveryReport,
    now: Time,
    out: Vec<Out<M>>,
    halt: Option<String>,
    /// (index, digest) of entries applied in the current step, for observations.
    applied_in_step: Vec<(u64, u64)>,
    /// The term when the step began, for the monotonicity invariant.
    term_at_step: Cell<u64>,
    /// Leader: send one entry per AppendEntries until the next heartbeat (a buggify site).
    one_entry_per_append: bool,
}

impl<M: StateMachine> Raft<M> {
    /// A node of the cluster `config` describes (its id comes from the context at start).
    pub fn new(config: RaftConfig) -> Result<Raft<M>, ConfigError> {
        Raft::with_machine(config, M::default())
    }

    /// A node whose state machine starts from `initial` (settings a machine keeps in its
    /// state, such as a planted bug) instead of `M::default()`.
    pub fn with_machine(config: RaftConfig, initial: M) -> Result<Raft<M>, ConfigError> {
        config.validate()?;
        let members = Membership::new(0, config.members.clone());
        Ok(Raft {
            config,
            id: NodeId(0),
            hard: HardState::default(),
            promise: LogId::default(),
            marked: 0,
            log: RaftLog::default(),
            snapshot: None,
            store: None,
            role: Role::Recovering,
            leader: None,
            leader_contact: None,
            commit: 0,
            applied: 0,
            kv: initial.clone(),
            initial,
            members,
            report: RecoveryReport::default(),
            now: Time(0),
            out: Vec::new(),
            halt: None,
            applied_in_step: Vec::new(),
            term_at_step: Cell::new(0),
            one_entry_per_append: false,
        })
    }

    pub fn config(&self) -> &RaftConfig {
        &self.config
    }

    /// The state machine as this node has applied it.
    pub fn kv(&self) -> &M {
        &self.kv
    }

    /// Whether this node leads (in its own view: a deposed leader may not know yet).
    pub fn is_leading(&self) -> bool {
        self.is_leader()
    }

    /// The leader of the current term, as far as this node knows.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// What the last start's recovery found on disk.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    fn begin(&mut self, cx: &Context<'_, Self>) {
        self.now = cx.now();
        self.applied_in_step.clear();
        self.term_at_step.set(self.hard.term);
    }

    /// Emits the step's messages and replies, or only a halt if a write failed fatally.
    fn finish(&mut self, cx: &mut Context<'_, Self>) {
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

    fn send(&mut self, to: NodeId, msg: Msg<M>) {
        self.out.push(Out::Send(to, msg));
    }

    fn reply(&mut self, id: RequestId, resp: M::Response) -> Result<(), Stop> {
        self.out.push(Out::Reply(id, resp));
        Ok(())
    }

    fn reply_not_leader(&mut self, id: RequestId) -> Result<(), Stop> {
        let hint = self.leader.filter(|l| *l != self.id);
        self.reply(id, RaftReply::NotLeader { hint }.into())
    }

    fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    fn leader_state(&self) -> Option<&LeaderState<M>> {
        match &self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }

    fn leader_state_mut(&mut self) -> Option<&mut LeaderState<M>> {
        match &mut self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }

    fn has_bug(&self, bug: RaftBug) -> bool {
        self.config.has_bug(bug)
    }

    fn store(&mut self) -> &mut Store<M> {
        self.store.as_mut().expect("the store is open whenever the node takes part")
    }

    /// Turns a disk error into a stopped step, halting the node when the error requires it
    /// (`DiskError::requires_halt`: a failed sync may have lost data the node believes
    /// written); a full disk or a read error just abandons the step.
    fn disk<T>(&mut self, result: Result<T, DiskError>) -> Result<T, Stop> {
        result.map_err(|e| {
            if e.requires_halt() {
                self.halt.get_or_insert(format!("disk: {e}"));
            }
            Stop
        })
    }

    /// A `buggify` site where the node loses power: nothing of this step leaves it, and what it
    /// wrote stays on its disk alone (the moments of Figure 8: an entry on one disk only).
    #[track_caller]
    fn crash_here(&mut self, cx: &mut Context<'_, Self>, moment: &str) -> Result<(), Stop> {
        if cx.buggify() {
            self.halt.get_or_insert(format!("buggify: crashed {moment}"));
            return Err(Stop);
        }
        Ok(())
    }

    /// Makes `hard` durable, then adopts it.
    fn save_hard(&mut self, cx: &mut Context<'_, Self>, hard: HardState) -> Result<(), Stop> {
        let result = self.store().save_hard_state(cx.disk(), &hard);
        self.disk(result)?;
        self.hard = hard;
        Ok(())
    }

    /// Before dropping entries that may have been acknowledged: the promise must outlive them.
    fn save_promise(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        if self.hard.promise >= self.promise {
            return Ok(());
        }
        let hard = HardState { promise: self.promise, ..self.hard.clone() };
        self.save_hard(cx, hard)
    }

    fn start(&mut self, cx: &mut Context<'_, Self>) {
        self.id = cx.id();
        let sync_appends = !self.has_bug(RaftBug::AckBeforeSync);
        let recovery = match Store::recover(cx.disk(), sync_appends) {
            Ok(r) => r,
            Err(e) => return self.recovery_failed(cx, e),
        };
        self.report = recovery.report.clone();
        if self.report != RecoveryReport::default() {
            tracing::warn!(node = %self.id, report = ?self.report, "recovered from a damaged disk");
        }
        let bootstrap = recovery.blank && cx.first_boot();
        if recovery.blank && !bootstrap {
            // An empty disk at a restart: the disk was lost (wiped, replaced), and with it the
            // term and vote this node promised. Like a node that lost both metadata copies, it
            // takes no further part rather than vote twice in a term.
            tracing::warn!(node = %self.id, "restarted on an empty disk: its promises are lost");
            self.report.meta_lost = true;
        }
        if self.report.meta_lost {
            self.role = Role::Failed;
            return;
        }
        self.install_recovery(recovery);
        if bootstrap && self.bootstrap(cx).is_err() {
            return;
        }
        if self.log.last().term > self.hard.term {
            // The newest metadata copy was lost and the survivor is older than the log: the
            // lost copy had at least the log's last term, and maybe a vote in it. Take that
            // term and count the vote as given (to this node, so no one else gets it). A vote in
            // a still later term that the lost copy held cannot be recovered: see storage.rs.
            tracing::warn!(node = %self.id, "metadata older than the log: adopting its term");
            self.hard.term = self.log.last().term;
            self.hard.voted_for = Some(self.id);
            self.report.meta_repaired = true;
        }
        if self.report.meta_repaired {
            // Rewrite the bad copy from the good one. If that fails without halting (a full
            // disk), the good copy still holds: carry on.
            let hard = self.hard.clone();
            if self.save_hard(cx, hard).is_err() && self.halt.is_some() {
                return;
            }
        }
        if self.remark_tail(cx).is_err() && self.halt.is_some() {
            return;
        }
        // The log's end is this node's promise, but the log's tail is what corruption at rest
        // can take next (two bit flips at the tail read exactly like a torn write): make the
        // promise durable in the metadata, kept twice, before taking part.
        if self.save_promise(cx).is_err() && self.halt.is_some() {
            return;
        }
        self.role = Role::Follower;
        self.reset_election_timer(cx);
    }

    /// A new node's first durable write, before it takes part: its (empty) hard state. From
    /// then on its disk is never empty again unless it is lost, so a restart on an empty disk
    /// is told from a node that had not written anything yet. If the write fails the node
    /// halts: the start did not finish, and the next one is a bootstrap again.
    fn bootstrap(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        let hard = self.hard.clone();
        let saved = self.save_hard(cx, hard);
        if saved.is_err() {
            self.halt.get_or_insert_with(|| "cannot write the bootstrap metadata".to_string());
        }
        saved
    }

    /// Intact entries after the last persist record may have been acknowledged: the persist
    /// record that covered them can be the very record recovery just cut as a torn tail (a bit
    /// flipped in it at rest reads like a tear). Mark them again now, or a second such cut, of
    /// the entries themselves, would lose them without a trace. Marking an entry that was never
    /// acknowledged only makes the node treat it as if it had been.
    fn remark_tail(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        let last = self.log.last();
        if last.index <= self.marked.max(self.log.base().index) || self.log.is_hole(last.index) {
            return Ok(());
        }
        let result = self.store().mark(cx.disk(), last);
        self.disk(result)?;
        self.marked = last.index;
        self.promise = self.promise.max(last);
        Ok(())
    }

    fn recovery_failed(&mut self, cx: &mut Context<'_, Self>, e: DiskError) {
        tracing::warn!(node = %self.id, error = %e, "cannot read the disk at start");
        if self.disk::<()>(Err(e)).is_err() && self.halt.is_none() {
            self.role = Role::Recovering;
            cx.set_timer(Timer::Recover, self.config.election_timeout_max);
        }
    }

    fn install_recovery(&mut self, r: storage::Recovery<M>) {
        let base = r.log.base();
        self.members = match &r.snapshot {
            Some(s) => Membership::new(s.last.index, s.members.clone()),
            None => Membership::new(0, self.config.members.clone()),
        };
        for (entry, _) in r.log.iter() {
            if let msg::Command::Config { members, .. } = &entry.command {
                self.members.append(entry.index, members.clone());
            }
        }
        self.kv = r.snapshot.as_ref().map_or_else(|| self.initial.clone(), |s| s.kv.clone());
        self.promise = r.hard.promise.max(r.marked);
        self.marked = r.marked.index.min(r.log.last_index());
        self.hard = r.hard;
        self.commit = base.index;
        self.applied = base.index;
        self.snapshot = r.snapshot;
        self.log = r.log;
        self.store = Some(r.store);
    }

    /// Dispatches a message by role.
    fn step(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg<M>) -> Result<(), Stop> {
        match &self.role {
            Role::Leader(_) => self.step_leader(cx, from, msg),
            Role::PreCandidate { .. } | Role::Candidate { .. } => self.step_candidate(cx, from, msg),
            Role::Follower => self.step_follower(cx, from, msg),
            Role::Recovering | Role::Failed => Ok(()),
        }
    }

    fn step_leader(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg<M>) -> Result<(), Stop> {
        match msg {
            Msg::AppendReply(r) => self.handle_append_reply(cx, from, r),
            Msg::SnapshotReply { term, round, index } => {
                self.handle_snapshot_reply(cx, from, term, round, index)
            }
            other => self.step_any(cx, from, other),
        }
    }

    fn step_candidate(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg<M>) -> Result<(), Stop> {
        match msg {
            Msg::PreVoteReply { term, granted } => self.handle_pre_vote_reply(cx, from, term, granted),
            Msg::VoteReply { term, granted } => self.handle_vote_reply(cx, from, term, granted),
            other => self.step_any(cx, from, other),
        }
    }

    fn step_follower(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg<M>) -> Result<(), Stop> {
        self.step_any(cx, from, msg)
    }

    /// Messages every role handles the same way; replies meant for another role only teach
    /// the node a term.
    fn step_any(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg<M>) -> Result<(), Stop> {
        match msg {
            Msg::PreVote { term, last } => self.handle_pre_vote(from, term, last),
            Msg::Vote { term, last } => self.handle_vote(cx, from, term, last),
            Msg::Append(a) => self.handle_append(cx, from, a),
            Msg::InstallSnapshot { term, round, snapshot } => {
                self.handle_install_snapshot(cx, from, term, round, *snapshot)
            }
            Msg::PreVoteReply { term, granted: false } => self.observe_term(cx, term),
            Msg::VoteReply { term, .. } | Msg::SnapshotReply { term, .. } => self.observe_term(cx, term),
            Msg::AppendReply(r) => self.observe_term(cx, r.term),
            Msg::PreVoteReply { granted: true, .. } => Ok(()),
        }
    }

    fn step_request(
        &mut self,
        cx: &mut Context<'_, Self>,
        id: RequestId,
        req: Request<M>,
    ) -> Result<(), Stop> {
        if !self.is_leader() {
            return self.reply_not_leader(id);
        }
        match req {
            Request::Get { key } => self.request_read(id, key),
            Request::Write(op) => self.request_write(cx, id, op),
            Request::AddServer { node } => self.request_change(cx, id, Change::Add(node)),
            Request::RemoveServer { node } => self.request_change(cx, id, Change::Remove(node)),
        }
    }

    fn random_election_timeout(&self, cx: &mut Context<'_, Self>) -> Duration {
        use rand::Rng as _;
        let (min, max) = (self.config.election_timeout_min, self.config.election_timeout_max);
        if faultline_sim::buggify!(cx) {
            // Everyone times out together: split votes and competing candidates (section 5.2's
            // reason for randomizing), which the protocol must survive, only more slowly.
            return min;
        }
        let nanos = cx.rng().gen_range(min.as_nanos() as u64..max.as_nanos() as u64);
        Duration::from_nanos(nanos)
    }
}

impl<M: StateMachine> Node for Raft<M> {
    type Msg = Msg<M>;
    type Timer = Timer;
    type Request = Request<M>;
    type Response = M::Response;

    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        self.begin(cx);
        self.start(cx);
        self.finish(cx);
    }

    fn on_message(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg<M>) {
        self.begin(cx);
        let _ = self.step(cx, from, msg);
        self.finish(cx);
    }

    fn on_timer(&mut self, cx: &mut Context<'_, Self>, timer: Timer) {
        self.begin(cx);
        let _ = match timer {
            Timer::Election => self.on_election_timeout(cx),
            Timer::Heartbeat => self.on_heartbeat(cx),
            Timer::Recover if matches!(self.role, Role::Recovering) => {
                self.start(cx);
                Ok(())
            }
            Timer::Recover => Ok(()),
        };
        self.finish(cx);
    }

    fn on_request(&mut self, cx: &mut Context<'_, Self>, id: RequestId, req: Request<M>) {
        self.begin(cx);
        let _ = self.step_request(cx, id, req);
        self.finish(cx);
    }

    fn check_invariants(&self) {
        self.assert_invariants();
    }
}
