//! The participant: one shard of the bank, a durable node that prepares, commits and aborts its
//! part of each transaction, and resolves its doubts.
//!
//! Prepare (the first phase): the shard takes every lock its part needs (wait-die decides
//! whether it waits or dies on a conflict), executes the part against its committed state (a
//! debit the balance cannot cover is refused), writes PREPARED with the ops and the reads'
//! results, syncs it, and only then votes yes. From then on it is in doubt: it holds its locks
//! and will commit or abort only as it is told, never on its own. A participant that has not
//! voted may still abort on its own (it votes no, or tells a peer).
//!
//! The decision (the second phase): COMMIT is written and synced before it is acknowledged and
//! before the writes become visible (the locks are released); ABORT is written without a sync
//! and not acknowledged (presumed abort: a participant that lost it is in doubt again and asks).
//! A decision already recorded is never reversed, whatever message arrives later.
//!
//! In doubt: when the decision is late, the participant asks the coordinator, then (if still no
//! answer) every other participant of the transaction: the cooperative termination protocol
//! (Bernstein, Hadzilacos and Goodman, 1987, section 7.4). A peer that knows the outcome tells
//! it; a peer that has not voted aborts on its own, durably, and says so; a peer that voted yes
//! and does not know says so, and the asker keeps waiting (it blocks: two-phase commit's price).
//!
//! Recovery: the log is replayed; prepared transactions without an outcome take their locks
//! again and ask about their outcome at once.

use crate::bugs::TwoPcBug;
use crate::journal::{Fact, Journal};
use crate::locks::{wanted, Admission, Locks};
use crate::msg::{Msg, NoReason, Outcome, Request, Response, Timer, TxnId, Vote};
use crate::storage::{self, checked, PartRecord, Stop, PARTICIPANT_LOG};
use faultline_services::bank::{Bank, ShardData, ShardOp, ShardResult};
use faultline_sim::disk::TypedLog;
use faultline_sim::{Context, Node, NodeId, RequestId};
use rand::Rng as _;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a prepared transaction waits for its decision before asking the coordinator.
pub const IN_DOUBT_AFTER: Duration = Duration::from_millis(100);
/// How often a participant in doubt asks again (the coordinator and, from the second time on,
/// its peers).
pub const ASK_AGAIN: Duration = Duration::from_millis(100);
/// How long a prepare waits for locks before it gives up and votes no.
pub const WAIT_MAX: Duration = Duration::from_millis(150);
/// How soon a recovered prepared transaction asks about its outcome.
const ASK_AFTER_BOOT: Duration = Duration::from_millis(5);

type Cx<'a> = Context<'a, Participant>;

/// A transaction this participant voted yes for and whose outcome it does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Prepared {
    ops: Vec<ShardOp>,
    participants: Vec<NodeId>,
    results: Vec<ShardResult>,
    /// How many times it asked about the outcome.
    asked: u32,
}

/// A prepare waiting for locks.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Waiting {
    ops: Vec<ShardOp>,
    participants: Vec<NodeId>,
}

/// One participant.
pub struct Participant {
    id: NodeId,
    shard: u32,
    bank: Bank,
    coordinator: NodeId,
    bug: Option<TwoPcBug>,
    data: ShardData,
    log: Option<TypedLog<PartRecord>>,
    prepared: BTreeMap<TxnId, Prepared>,
    decided: BTreeMap<TxnId, Outcome>,
    waiting: BTreeMap<TxnId, Waiting>,
    locks: Locks,
    journal: Journal,
}

impl Participant {
    /// Node `id`, holding shard `shard` of `bank`, coordinated by `coordinator`.
    pub fn new(id: NodeId, shard: u32, bank: Bank, coordinator: NodeId, bug: Option<TwoPcBug>) -> Self {
        Participant {
            id,
            shard,
            bank,
            coordinator,
            bug,
            data: ShardData::new(&bank, shard),
            log: None,
            prepared: BTreeMap::new(),
            decided: BTreeMap::new(),
            waiting: BTreeMap::new(),
            locks: Locks::default(),
            journal: Journal::default(),
        }
    }

    /// What it recorded since its boot.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The committed balances and lists.
    pub fn data(&self) -> &ShardData {
        &self.data
    }

    /// Transactions it voted yes for and whose outcome it does not know.
    pub fn in_doubt(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.prepared.keys().copied()
    }

    /// Prepares waiting for locks.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The outcome it recorded for `txn`, if any.
    pub fn outcome(&self, txn: TxnId) -> Option<Outcome> {
        self.decided.get(&txn).copied()
    }

    fn accounts(&self) -> Vec<u32> {
        self.bank.accounts_of(self.shard).collect()
    }

    fn append(&mut self, cx: &mut Cx<'_>, record: &PartRecord) -> Result<(), Stop> {
        let log = self.log.as_mut().expect("booted");
        checked(log.append(cx.disk(), record), cx).map(|_| ())
    }

    fn sync(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        let log = self.log.as_ref().expect("booted");
        checked(log.sync(cx.disk()), cx)
    }
}

impl Node for Participant {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Response = Response;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        self.boot(cx);
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        let _ = match msg {
            Msg::Prepare { txn, ops, participants } if from == self.coordinator => {
                self.on_prepare(cx, txn, Waiting { ops, participants })
            }
            Msg::Decision { txn, outcome } if from == self.coordinator => self.on_decision(cx, txn, outcome),
            Msg::PeerInquire { txn } => self.on_peer_inquire(cx, from, txn),
            Msg::PeerAnswer { txn, outcome: Some(outcome) } => self.on_peer_answer(cx, txn, outcome),
            _ => Ok(()),
        };
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        if let Timer::InDoubt(txn) = timer {
            let _ = self.on_in_doubt(cx, txn);
        }
    }

    fn on_request(&mut self, cx: &mut Cx<'_>, id: RequestId, _req: Request) {
        // Clients talk to the coordinator only.
        cx.reply(id, Response::Unavailable);
    }

    fn check_invariants(&self) {
        for txn in self.prepared.keys() {
            assert!(!self.decided.contains_key(txn), "{txn} is both prepared and decided on {}", self.id);
            assert!(!self.waiting.contains_key(txn), "{txn} is both prepared and waiting on {}", self.id);
        }
        assert!(
            self.waiting.keys().all(|t| !self.locks.holds_any(*t)),
            "a waiting prepare holds locks on {}",
            self.id
        );
    }
}

// Boot and recovery.
impl Participant {
    fn boot(&mut self, cx: &mut Cx<'_>) {
        self.journal = Journal::new(cx.rng().gen());
        let (log, records) = match storage::open(cx.disk(), PARTICIPANT_LOG) {
            Ok(opened) => opened,
            Err(e) => return cx.halt(format!("disk error: {e}")),
        };
        self.log = Some(log);
        for record in records {
            self.replay(record);
        }
        let accounts = self.accounts();
        for (txn, p) in &self.prepared {
            self.locks.grant(*txn, &wanted(&p.ops, &accounts));
            cx.set_timer(Timer::InDoubt(*txn), ASK_AFTER_BOOT);
        }
        self.journal.stats.recoveries = u64::from(!self.prepared.is_empty());
        if !self.prepared.is_empty() {
            cx.sometimes("twopc.participant_recovers_in_doubt");
        }
    }

    fn replay(&mut self, record: PartRecord) {
        match record {
            PartRecord::Prepared { txn, ops, participants, results } => {
                self.prepared.insert(txn, Prepared { ops, participants, results, asked: 0 });
                self.journal.record(txn, Fact::VotedYes);
            }
            PartRecord::Committed { txn } => self.learn(txn, Outcome::Commit),
            PartRecord::Aborted { txn } => self.learn(txn, Outcome::Abort),
        }
    }

    /// Records `outcome` in memory: applies a commit's writes, releases the locks.
    fn learn(&mut self, txn: TxnId, outcome: Outcome) {
        if let Some(p) = self.prepared.remove(&txn) {
            if outcome == Outcome::Commit {
                p.ops.iter().for_each(|op| self.data.apply(op));
            }
        }
        self.locks.release(txn);
        self.decided.insert(txn, outcome);
        self.journal.record(txn, Fact::Decided(outcome));
    }
}

// The first phase.
impl Participant {
    fn on_prepare(&mut self, cx: &mut Cx<'_>, txn: TxnId, part: Waiting) -> Result<(), Stop> {
        if let Some(outcome) = self.decided.get(&txn) {
            if *outcome == Outcome::Abort {
                cx.send(self.coordinator, Msg::Vote { txn, vote: Vote::No(NoReason::Aborted) });
            }
            return Ok(());
        }
        if let Some(p) = self.prepared.get(&txn) {
            // A resent prepare: the vote was lost, or is late. Vote again, the same way.
            cx.send(self.coordinator, Msg::Vote { txn, vote: Vote::Yes(p.results.clone()) });
            return Ok(());
        }
        if self.waiting.contains_key(&txn) {
            return Ok(());
        }
        self.try_prepare(cx, txn, part)
    }

    /// Takes the locks (or waits, or dies), executes, writes PREPARED and votes.
    fn try_prepare(&mut self, cx: &mut Cx<'_>, txn: TxnId, part: Waiting) -> Result<(), Stop> {
        let wants = wanted(&part.ops, &self.accounts());
        match self.locks.admit(txn, &wants) {
            Admission::Grant => {}
            Admission::Wait => {
                if self.waiting.insert(txn, part).is_none() {
                    cx.set_timer(Timer::InDoubt(txn), WAIT_MAX);
                }
                return Ok(());
            }
            Admission::Die => {
                cx.sometimes("twopc.younger_transaction_dies");
                return self.vote_no(cx, txn, NoReason::LockConflict);
            }
        }
        let results = match self.data.execute(&part.ops) {
            Ok(results) => results,
            Err(refusal) => return self.vote_no(cx, txn, NoReason::Refused(refusal)),
        };
        let record = PartRecord::Prepared {
            txn,
            ops: part.ops.clone(),
            participants: part.participants.clone(),
            results: results.clone(),
        };
        self.append(cx, &record)?;
        if self.bug != Some(TwoPcBug::PreparedNotDurable) {
            self.sync(cx)?;
        }
        // BUG(PreparedNotDurable): otherwise the vote leaves with PREPARED in memory only.
        self.locks.grant(txn, &wants);
        let prepared =
            Prepared { ops: part.ops, participants: part.participants, results: results.clone(), asked: 0 };
        self.prepared.insert(txn, prepared);
        self.journal.record(txn, Fact::VotedYes);
        cx.send(self.coordinator, Msg::Vote { txn, vote: Vote::Yes(results) });
        cx.set_timer(Timer::InDoubt(txn), IN_DOUBT_AFTER);
        // Right after a yes vote: a crash here must not forget the transaction, and a cut here
        // leaves it in doubt.
        cx.crash_point();
        cx.partition_point();
        Ok(())
    }

    fn vote_no(&mut self, cx: &mut Cx<'_>, txn: TxnId, reason: NoReason) -> Result<(), Stop> {
        cx.send(self.coordinator, Msg::Vote { txn, vote: Vote::No(reason) });
        Ok(())
    }

    /// Retries the prepares waiting for locks, oldest first.
    fn wake_waiters(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        let waiting: Vec<TxnId> = self.waiting.keys().copied().collect();
        for txn in waiting {
            let part = self.waiting.remove(&txn).expect("listed");
            let wants = wanted(&part.ops, &self.accounts());
            if self.locks.admit(txn, &wants) == Admission::Wait {
                self.waiting.insert(txn, part);
                continue;
            }
            cx.cancel_timer(Timer::InDoubt(txn));
            self.try_prepare(cx, txn, part)?;
        }
        Ok(())
    }
}

// The second phase.
impl Participant {
    fn on_decision(&mut self, cx: &mut Cx<'_>, txn: TxnId, outcome: Outcome) -> Result<(), Stop> {
        if self.decided.contains_key(&txn) {
            // Never reverse a recorded decision. A resent commit is acknowledged again; so is a
            // commit of a transaction this participant aborted, which only a broken protocol
            // brings about (heuristic damage, in XA's words): the acknowledgement lets the
            // coordinator finish, and the checks report the two outcomes.
            if outcome == Outcome::Commit {
                cx.send(self.coordinator, Msg::Ack { txn });
            }
            return Ok(());
        }
        if self.prepared.contains_key(&txn) {
            return self.finish(cx, txn, outcome);
        }
        if self.waiting.remove(&txn).is_some() {
            // Aborted while waiting for locks: nothing was written.
            cx.cancel_timer(Timer::InDoubt(txn));
            return Ok(());
        }
        if outcome == Outcome::Commit {
            // A commit of a transaction this shard holds nothing of: acknowledge, so the
            // coordinator can finish (only a participant that lost its PREPARED gets here).
            cx.send(self.coordinator, Msg::Ack { txn });
        }
        Ok(())
    }

    /// Records the outcome of a prepared transaction and acts on it.
    fn finish(&mut self, cx: &mut Cx<'_>, txn: TxnId, outcome: Outcome) -> Result<(), Stop> {
        match outcome {
            Outcome::Commit => {
                self.append(cx, &PartRecord::Committed { txn })?;
                self.sync(cx)?;
            }
            Outcome::Abort => self.append(cx, &PartRecord::Aborted { txn })?,
        }
        self.learn(txn, outcome);
        cx.cancel_timer(Timer::InDoubt(txn));
        if outcome == Outcome::Commit {
            cx.send(self.coordinator, Msg::Ack { txn });
        }
        self.wake_waiters(cx)?;
        if outcome == Outcome::Commit {
            // Right after acknowledging a commit: the coordinator may forget it now.
            cx.crash_point();
        }
        Ok(())
    }
}

// In doubt: asking the coordinator, then the peers.
impl Participant {
    fn on_in_doubt(&mut self, cx: &mut Cx<'_>, txn: TxnId) -> Result<(), Stop> {
        if self.waiting.remove(&txn).is_some() {
            // Waited too long for locks: give up (the coordinator is about to abort anyway).
            return self.vote_no(cx, txn, NoReason::LockConflict);
        }
        if !self.prepared.contains_key(&txn) {
            return Ok(());
        }
        if self.bug == Some(TwoPcBug::HeuristicAbortInDoubt) {
            // BUG(HeuristicAbortInDoubt): a participant that voted yes gives up and aborts.
            return self.finish(cx, txn, Outcome::Abort);
        }
        let p = self.prepared.get_mut(&txn).expect("checked");
        if p.asked == 0 {
            self.journal.stats.in_doubt_periods += 1;
        }
        p.asked += 1;
        cx.send(self.coordinator, Msg::Inquire { txn });
        if p.asked >= 2 {
            cx.sometimes("twopc.in_doubt_asks_peers");
            for peer in p.participants.iter().filter(|n| **n != self.id) {
                cx.send(*peer, Msg::PeerInquire { txn });
            }
        }
        cx.set_timer(Timer::InDoubt(txn), ASK_AGAIN);
        Ok(())
    }

    fn on_peer_inquire(&mut self, cx: &mut Cx<'_>, from: NodeId, txn: TxnId) -> Result<(), Stop> {
        let outcome = if let Some(outcome) = self.decided.get(&txn) {
            Some(*outcome)
        } else if self.prepared.contains_key(&txn) {
            // In doubt too: only the coordinator, or a peer that knows, can tell.
            cx.sometimes("twopc.peer_in_doubt_too");
            // BUG(CooperativeTerminationWrong): says abort anyway.
            (self.bug == Some(TwoPcBug::CooperativeTerminationWrong)).then_some(Outcome::Abort)
        } else {
            // Not voted: abort on its own, durably, since a peer will act on the answer.
            self.waiting.remove(&txn);
            self.append(cx, &PartRecord::Aborted { txn })?;
            self.sync(cx)?;
            self.learn(txn, Outcome::Abort);
            Some(Outcome::Abort)
        };
        cx.send(from, Msg::PeerAnswer { txn, outcome });
        Ok(())
    }

    fn on_peer_answer(&mut self, cx: &mut Cx<'_>, txn: TxnId, outcome: Outcome) -> Result<(), Stop> {
        if !self.prepared.contains_key(&txn) {
            return Ok(());
        }
        self.journal.stats.cooperative_terminations += 1;
        cx.sometimes("twopc.outcome_learned_from_a_peer");
        self.finish(cx, txn, outcome)
    }
}
