//! The coordinator: runs each client operation as a transaction over the shards it touches.
//!
//! A request becomes a transaction with a fresh id. The coordinator sends each participant its
//! part (PREPARE) and collects votes, resending to the silent ones; any no vote, or a prepare
//! phase longer than [`PREPARE_TIMEOUT`], aborts. With every vote yes it writes COMMIT (with the
//! request and the reads' results) and syncs it before anyone hears of it; then it answers the
//! client and sends the decision, resending it until every participant acknowledged, and only
//! then writes END and forgets the transaction. An abort is decided without a log record for the
//! participants: it is sent once, and any later vote or inquiry about a transaction without a
//! COMMIT is answered "abort" (presumed abort, Mohan, Lindsay and Obermarck 1986).
//!
//! Requests are answered exactly once per request id: a retried request joins its running
//! transaction or gets its recorded answer. Both final answers to a request that writes survive
//! a crash: "committed" is in the COMMIT record, and "aborted" is written and synced (ABORTED,
//! naming the request) before the client hears it, since a retry reaching a coordinator that
//! forgot the abort would run the request again and might commit it. A request whose
//! transaction was lost in a crash before any answer was never committed and runs again as a new
//! transaction.
//!
//! Recovery: the epoch is raised durably (transaction ids are never reused), the log replayed,
//! and every commit not yet acknowledged by all its participants is sent again.

use crate::bugs::TwoPcBug;
use crate::journal::{Fact, Journal};
use crate::msg::{Msg, Outcome, Request, Response, Timer, TxnId, Vote};
use crate::storage::{self, checked, CoordRecord, Stop, COORDINATOR_LOG};
use faultline_services::bank::{Bank, BankOp, ShardOp, ShardResult};
use faultline_sim::disk::TypedLog;
use faultline_sim::{buggify, Context, Node, NodeId, RequestId, Time};
use rand::Rng as _;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The coordinator's periodic work.
pub const TICK: Duration = Duration::from_millis(20);
/// How long the first phase may take before the coordinator aborts.
pub const PREPARE_TIMEOUT: Duration = Duration::from_millis(200);
/// How often prepares and commit decisions are resent to participants that did not answer.
pub const RESEND: Duration = Duration::from_millis(50);
/// How long after sending a commit the planted bug `commit-before-decision-durable` writes it.
const LATE_LOG: Duration = Duration::from_millis(2);
/// The gap between sends when decisions go out one participant per step.
const SEND_GAP: Duration = Duration::from_millis(1);

type Cx<'a> = Context<'a, Coordinator>;

/// A transaction collecting votes.
#[derive(Clone, Debug)]
struct Active {
    request: RequestId,
    /// Whether the request changes anything (its abort answer is then made durable).
    writes: bool,
    /// Each participant's part.
    parts: BTreeMap<NodeId, Vec<ShardOp>>,
    votes: BTreeMap<NodeId, Vec<ShardResult>>,
    started: Time,
    sent: Time,
}

/// A committed transaction whose participants have not all acknowledged.
#[derive(Clone, Debug)]
struct Committing {
    participants: Vec<NodeId>,
    acked: BTreeSet<NodeId>,
    /// Participants the decision has not been sent to yet (decisions sent one per step).
    unsent: Vec<NodeId>,
    sent: Time,
    /// The COMMIT record, while it is not written (the planted bug only).
    unlogged: Option<CoordRecord>,
}

/// What a request got.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Session {
    Running(TxnId),
    Done(Response),
}

/// The coordinator.
pub struct Coordinator {
    bank: Bank,
    /// Shard `s` is held by `participants[s]`.
    participants: Vec<NodeId>,
    bug: Option<TwoPcBug>,
    /// `None` until the boot raised it durably.
    epoch: Option<u64>,
    /// The highest epoch the log names: the new one must be above it.
    floor: u64,
    next_seq: u64,
    log: Option<TypedLog<CoordRecord>>,
    active: BTreeMap<TxnId, Active>,
    committing: BTreeMap<TxnId, Committing>,
    sessions: BTreeMap<RequestId, Session>,
    journal: Journal,
}

impl Coordinator {
    /// The coordinator of `bank`, whose shard `s` is held by `participants[s]`.
    pub fn new(bank: Bank, participants: Vec<NodeId>, bug: Option<TwoPcBug>) -> Self {
        Coordinator {
            bank,
            participants,
            bug,
            epoch: None,
            floor: 0,
            next_seq: 1,
            log: None,
            active: BTreeMap::new(),
            committing: BTreeMap::new(),
            sessions: BTreeMap::new(),
            journal: Journal::default(),
        }
    }

    /// What it recorded since its boot.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Whether it serves requests (its epoch is durable).
    pub fn is_serving(&self) -> bool {
        self.epoch.is_some()
    }

    /// Transactions collecting votes.
    pub fn active(&self) -> usize {
        self.active.len()
    }

    /// Commits not yet acknowledged by every participant.
    pub fn unacknowledged(&self) -> usize {
        self.committing.len()
    }

    fn append(&mut self, cx: &mut Cx<'_>, record: &CoordRecord) -> Result<(), Stop> {
        let log = self.log.as_mut().expect("booted");
        checked(log.append(cx.disk(), record), cx).map(|_| ())
    }

    fn sync(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        let log = self.log.as_ref().expect("booted");
        checked(log.sync(cx.disk()), cx)
    }
}

impl Node for Coordinator {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Response = Response;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        self.boot(cx);
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        let _ = match msg {
            Msg::Vote { txn, vote } => self.on_vote(cx, from, txn, vote),
            Msg::Ack { txn } => self.on_ack(cx, from, txn),
            Msg::Inquire { txn } => {
                self.on_inquire(cx, from, txn);
                Ok(())
            }
            _ => Ok(()),
        };
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        let _ = match timer {
            Timer::Tick => self.on_tick(cx),
            Timer::SendDecision(txn) => self.on_send_decision(cx, txn),
            Timer::LogDecision(txn) => self.on_log_decision(cx, txn),
            Timer::InDoubt(_) => Ok(()),
        };
    }

    fn on_request(&mut self, cx: &mut Cx<'_>, id: RequestId, op: Request) {
        let Some(epoch) = self.epoch else { return cx.reply(id, Response::Unavailable) };
        match self.sessions.get(&id) {
            Some(Session::Done(response)) => cx.reply(id, response.clone()),
            Some(Session::Running(_)) => {}
            None => self.begin(cx, id, epoch, &op),
        }
    }

    fn check_invariants(&self) {
        assert!(
            self.active.keys().all(|t| !self.committing.contains_key(t)),
            "a transaction both active and committed"
        );
        for (txn, a) in &self.active {
            assert!(a.votes.keys().all(|n| a.parts.contains_key(n)), "{txn}: a vote from a non-participant");
        }
    }
}

// Boot and recovery.
impl Coordinator {
    fn boot(&mut self, cx: &mut Cx<'_>) {
        self.journal = Journal::new(cx.rng().gen());
        let (log, records) = match storage::open(cx.disk(), COORDINATOR_LOG) {
            Ok(opened) => opened,
            Err(e) => return cx.halt(format!("disk error: {e}")),
        };
        self.log = Some(log);
        let now = cx.now();
        for record in records {
            match record {
                CoordRecord::Commit { txn, request, participants, results } => {
                    self.floor = self.floor.max(txn.epoch);
                    self.sessions.insert(request, Session::Done(Response::Committed(results)));
                    self.journal.record(txn, Fact::Decided(Outcome::Commit));
                    self.journal.record(txn, Fact::CommitDecided(participants.clone()));
                    let c = Committing {
                        participants,
                        acked: BTreeSet::new(),
                        unsent: Vec::new(),
                        sent: now,
                        unlogged: None,
                    };
                    self.committing.insert(txn, c);
                }
                CoordRecord::End { txn } => _ = self.committing.remove(&txn),
                CoordRecord::Aborted { request } => {
                    self.sessions.insert(request, Session::Done(Response::Aborted));
                }
            }
        }
        self.journal.stats.recoveries = u64::from(!self.committing.is_empty());
        if !self.committing.is_empty() {
            cx.sometimes("twopc.coordinator_resends_commits_after_a_crash");
        }
        for (txn, c) in &self.committing {
            for p in &c.participants {
                cx.send(*p, Msg::Decision { txn: *txn, outcome: Outcome::Commit });
            }
        }
        cx.set_timer(Timer::Tick, TICK);
        let _ = self.start_epoch(cx);
    }

    /// Raises the epoch durably; on a full disk it stays unavailable and the tick retries.
    fn start_epoch(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        let floor = self.floor;
        self.epoch = Some(checked(storage::next_epoch(cx.disk(), floor), cx)?);
        Ok(())
    }
}

// The first phase.
impl Coordinator {
    fn begin(&mut self, cx: &mut Cx<'_>, request: RequestId, epoch: u64, op: &BankOp) {
        let txn = TxnId { epoch, seq: self.next_seq };
        self.next_seq += 1;
        let parts: BTreeMap<NodeId, Vec<ShardOp>> = op
            .plan(&self.bank)
            .into_iter()
            .map(|(shard, ops)| (self.participants[shard as usize], ops))
            .collect();
        let participants: Vec<NodeId> = parts.keys().copied().collect();
        for (node, ops) in &parts {
            cx.send(*node, Msg::Prepare { txn, ops: ops.clone(), participants: participants.clone() });
        }
        let now = cx.now();
        let writes = !op.is_read_only();
        self.active
            .insert(txn, Active { request, writes, parts, votes: BTreeMap::new(), started: now, sent: now });
        self.sessions.insert(request, Session::Running(txn));
    }

    fn on_vote(&mut self, cx: &mut Cx<'_>, from: NodeId, txn: TxnId, vote: Vote) -> Result<(), Stop> {
        let Some(active) = self.active.get_mut(&txn) else {
            if matches!(vote, Vote::Yes(_)) && !self.committing.contains_key(&txn) {
                // Aborted, or lost in a crash: either way never committed.
                self.presume_abort(cx, from, txn);
            }
            return Ok(());
        };
        if !active.parts.contains_key(&from) {
            return Ok(());
        }
        match vote {
            Vote::No(_) => {
                self.abort(cx, txn);
                Ok(())
            }
            Vote::Yes(results) => {
                active.votes.insert(from, results);
                if active.votes.len() < active.parts.len() {
                    return Ok(());
                }
                self.commit(cx, txn)
            }
        }
    }

    fn presume_abort(&mut self, cx: &mut Cx<'_>, to: NodeId, txn: TxnId) {
        self.journal.stats.presumed_aborts += 1;
        cx.send(to, Msg::Decision { txn, outcome: Outcome::Abort });
    }

    /// Decides abort: answers the client and tells the participants, once.
    fn abort(&mut self, cx: &mut Cx<'_>, txn: TxnId) {
        let a = self.active.remove(&txn).expect("an active transaction");
        self.journal.record(txn, Fact::Decided(Outcome::Abort));
        self.answer_abort(cx, a.request, a.writes);
        for node in a.parts.keys() {
            cx.send(*node, Msg::Decision { txn, outcome: Outcome::Abort });
        }
    }

    /// Tells the client its request aborted. "Aborted" says a write never happens, so that
    /// answer must outlive a crash: a retry (or a duplicate) of the request reaching a
    /// coordinator that forgot it would run it again and could commit it. The participants
    /// still learn of the abort without a log record (presumed abort).
    fn answer_abort(&mut self, cx: &mut Cx<'_>, request: RequestId, writes: bool) {
        let durable = !writes
            || self.append(cx, &CoordRecord::Aborted { request }).and_then(|()| self.sync(cx)).is_ok();
        if durable {
            self.sessions.insert(request, Session::Done(Response::Aborted));
            cx.reply(request, Response::Aborted);
        } else {
            // Not written (a full disk; after a failed sync the node has halted and nothing
            // leaves): nothing is promised, and a retry runs the request again.
            self.sessions.remove(&request);
            cx.reply(request, Response::Unavailable);
        }
    }
}

// The second phase.
impl Coordinator {
    /// Decides commit: COMMIT durable first, then the answer and the decision.
    fn commit(&mut self, cx: &mut Cx<'_>, txn: TxnId) -> Result<(), Stop> {
        let a = self.active.get(&txn).expect("an active transaction").clone();
        let participants: Vec<NodeId> = a.parts.keys().copied().collect();
        let results: BTreeMap<u32, Vec<ShardResult>> =
            a.votes.iter().map(|(node, r)| (self.shard_of(*node), r.clone())).collect();
        let record = CoordRecord::Commit {
            txn,
            request: a.request,
            participants: participants.clone(),
            results: results.clone(),
        };
        let unlogged = if self.bug == Some(TwoPcBug::CommitBeforeDecisionDurable) {
            // BUG(CommitBeforeDecisionDurable): sent now, written a moment later.
            cx.set_timer(Timer::LogDecision(txn), LATE_LOG);
            Some(record)
        } else {
            match self.append(cx, &record).and_then(|()| self.sync(cx)) {
                Ok(()) => None,
                // No room for the decision: nothing is promised yet, so abort instead.
                Err(Stop::Abandoned) => {
                    self.abort(cx, txn);
                    return Ok(());
                }
                Err(Stop::Halted) => return Err(Stop::Halted),
            }
        };
        self.active.remove(&txn);
        self.journal.record(txn, Fact::Decided(Outcome::Commit));
        self.journal.record(txn, Fact::CommitDecided(participants.clone()));
        let response = Response::Committed(results);
        self.sessions.insert(a.request, Session::Done(response.clone()));
        cx.reply(a.request, response);
        let now = cx.now();
        let mut c =
            Committing { participants, acked: BTreeSet::new(), unsent: Vec::new(), sent: now, unlogged };
        if buggify!(cx) {
            // Decisions one participant per step: a crash between two sends is possible.
            c.unsent = c.participants.clone();
            cx.set_timer(Timer::SendDecision(txn), SEND_GAP);
        } else {
            c.participants.iter().for_each(|p| cx.send(*p, Msg::Decision { txn, outcome: Outcome::Commit }));
        }
        let all_sent = c.unsent.is_empty();
        self.committing.insert(txn, c);
        // Right after the decision is durable (and, unless sent one by one, sent): a crash, or a
        // cut that leaves participants in doubt.
        cx.crash_point();
        cx.partition_point();
        if all_sent {
            self.sent_everywhere(cx, txn);
        }
        Ok(())
    }

    fn shard_of(&self, node: NodeId) -> u32 {
        self.participants.iter().position(|p| *p == node).expect("a participant") as u32
    }

    fn on_send_decision(&mut self, cx: &mut Cx<'_>, txn: TxnId) -> Result<(), Stop> {
        let Some(c) = self.committing.get_mut(&txn) else { return Ok(()) };
        let Some(next) = (!c.unsent.is_empty()).then(|| c.unsent.remove(0)) else { return Ok(()) };
        cx.send(next, Msg::Decision { txn, outcome: Outcome::Commit });
        let more = !c.unsent.is_empty();
        // Between two sends of one decision.
        cx.crash_point();
        if more {
            cx.set_timer(Timer::SendDecision(txn), SEND_GAP);
        } else {
            self.sent_everywhere(cx, txn);
        }
        Ok(())
    }

    /// The decision has reached the network for every participant.
    fn sent_everywhere(&mut self, cx: &mut Cx<'_>, txn: TxnId) {
        if self.bug == Some(TwoPcBug::DecisionForgottenEarly) {
            // BUG(DecisionForgottenEarly): forgotten before the acknowledgements.
            self.forget(cx, txn);
        }
    }

    fn on_log_decision(&mut self, cx: &mut Cx<'_>, txn: TxnId) -> Result<(), Stop> {
        let Some(record) = self.committing.get(&txn).and_then(|c| c.unlogged.clone()) else { return Ok(()) };
        self.append(cx, &record)?;
        self.sync(cx)?;
        self.committing.get_mut(&txn).expect("checked").unlogged = None;
        self.forget_if_done(cx, txn);
        Ok(())
    }

    fn on_ack(&mut self, cx: &mut Cx<'_>, from: NodeId, txn: TxnId) -> Result<(), Stop> {
        let Some(c) = self.committing.get_mut(&txn) else { return Ok(()) };
        c.acked.insert(from);
        self.forget_if_done(cx, txn);
        Ok(())
    }

    /// Forgets a logged commit once every participant acknowledged it.
    fn forget_if_done(&mut self, cx: &mut Cx<'_>, txn: TxnId) {
        let Some(c) = self.committing.get(&txn) else { return };
        if c.unlogged.is_none() && c.participants.iter().all(|p| c.acked.contains(p)) {
            self.forget(cx, txn);
        }
    }

    /// Every participant has the decision durably: END, and forget it. END need not be synced,
    /// nor even written (a full disk): a coordinator that lost it sends the decision again after
    /// its next crash, and participants acknowledge again.
    fn forget(&mut self, cx: &mut Cx<'_>, txn: TxnId) {
        let _ = self.append(cx, &CoordRecord::End { txn });
        self.committing.remove(&txn);
    }

    fn on_inquire(&mut self, cx: &mut Cx<'_>, from: NodeId, txn: TxnId) {
        if self.committing.contains_key(&txn) {
            cx.send(from, Msg::Decision { txn, outcome: Outcome::Commit });
        } else if !self.active.contains_key(&txn) {
            self.presume_abort(cx, from, txn);
        }
        // Still collecting votes: the participant asks again later.
    }
}

// Timeouts and retransmission.
impl Coordinator {
    fn on_tick(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        cx.set_timer(Timer::Tick, TICK);
        if self.epoch.is_none() {
            return self.start_epoch(cx);
        }
        // Legal slowness: skip a round of retransmissions.
        if buggify!(cx) {
            return Ok(());
        }
        let now = cx.now();
        let expired: Vec<TxnId> = (self.active.iter())
            .filter(|(_, a)| now.saturating_since(a.started) >= PREPARE_TIMEOUT)
            .map(|(t, _)| *t)
            .collect();
        expired.into_iter().for_each(|txn| self.abort(cx, txn));
        for (txn, a) in self.active.iter_mut().filter(|(_, a)| now.saturating_since(a.sent) >= RESEND) {
            a.sent = now;
            let everyone: Vec<NodeId> = a.parts.keys().copied().collect();
            for (node, ops) in a.parts.iter().filter(|(n, _)| !a.votes.contains_key(n)) {
                cx.send(*node, Msg::Prepare { txn: *txn, ops: ops.clone(), participants: everyone.clone() });
            }
        }
        for (txn, c) in self.committing.iter_mut().filter(|(_, c)| now.saturating_since(c.sent) >= RESEND) {
            c.sent = now;
            for p in c.participants.iter().filter(|p| !c.acked.contains(p)) {
                cx.send(*p, Msg::Decision { txn: *txn, outcome: Outcome::Commit });
            }
        }
        Ok(())
    }
}
