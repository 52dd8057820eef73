//! Handler unit tests: one coordinator or participant stepped by hand (`TestNode`), each input
//! answered with an exact command vector. Each test cites the rule it checks: the module docs
//! of `systems/twopc/src/participant.rs` and `coordinator.rs`, and the sections of Bernstein,
//! Hadzilacos and Goodman (1987, chapter 7) they follow.

use faultline_services::bank::data::Refusal;
use faultline_services::bank::{Bank, BankOp, ShardOp, ShardResult};
use faultline_sim::options::WorkloadOptions;
use faultline_sim::testing::TestNode;
use faultline_sim::{ClientId, Command, NodeId, RequestId};
use faultline_twopc::coordinator::{Coordinator, TICK};
use faultline_twopc::msg::{Msg, NoReason, Outcome, Response, Timer, TxnId, Vote};
use faultline_twopc::participant::{Participant, ASK_AGAIN, IN_DOUBT_AFTER, WAIT_MAX};
use faultline_twopc::TwoPcBug;
use std::collections::BTreeMap;
use std::time::Duration;

type P = TestNode<Participant>;
type C = TestNode<Coordinator>;

fn n(i: u32) -> NodeId {
    NodeId(i)
}

fn t(seq: u64) -> TxnId {
    TxnId { epoch: 1, seq }
}

fn bank() -> Bank {
    Bank::new(3, &WorkloadOptions::default())
}

/// Participant n1, holding shard 0 (accounts 0, 3, 6), booted.
fn participant(bug: Option<TwoPcBug>) -> P {
    let mut p = TestNode::new(n(1), 7, move || Participant::new(n(1), 0, bank(), n(0), bug));
    assert_eq!(p.start(), vec![]);
    p
}

/// The coordinator n0 of shards n1, n2, n3, booted.
fn coordinator(bug: Option<TwoPcBug>) -> C {
    let mut c = TestNode::new(n(0), 7, move || Coordinator::new(bank(), vec![n(1), n(2), n(3)], bug));
    assert_eq!(c.start(), vec![Command::SetTimer { timer: Timer::Tick, after: TICK }]);
    c
}

fn send(to: u32, msg: Msg) -> Command<Participant> {
    Command::Send { to: n(to), msg }
}

fn vote(txn: TxnId, vote: Vote) -> Msg {
    Msg::Vote { txn, vote }
}

fn prepare(txn: TxnId, ops: Vec<ShardOp>) -> Msg {
    Msg::Prepare { txn, ops, participants: vec![n(1), n(2), n(3)] }
}

fn debit(account: u32, amount: i64) -> ShardOp {
    ShardOp::Debit { account, amount }
}

fn in_doubt(txn: TxnId, after: Duration) -> Command<Participant> {
    Command::SetTimer { timer: Timer::InDoubt(txn), after }
}

fn stop_asking(txn: TxnId) -> Command<Participant> {
    Command::CancelTimer { timer: Timer::InDoubt(txn) }
}

fn balances(b: &[(u32, i64)]) -> ShardResult {
    ShardResult::Balances(b.to_vec())
}

#[test]
fn twopc_participant_votes_yes_only_once_prepared_is_durable_and_keeps_it_across_a_crash() {
    // Prepare (participant.rs; Bernstein et al. 7.3): locks, execution, PREPARED synced, then
    // the yes vote with the reads' results; after a crash the transaction is still prepared and
    // its outcome is asked for at once.
    let mut p = participant(None);
    let out = p.message(n(0), prepare(t(1), vec![debit(3, 4), ShardOp::ReadBalances]));
    let results = vec![balances(&[(0, 10), (3, 10), (6, 10)])];
    assert_eq!(out, vec![send(0, vote(t(1), Vote::Yes(results.clone()))), in_doubt(t(1), IN_DOUBT_AFTER)]);
    assert_eq!(p.crash_and_restart(), vec![in_doubt(t(1), Duration::from_millis(5))]);
    assert_eq!(p.node.in_doubt().collect::<Vec<_>>(), vec![t(1)]);
    // A resent prepare gets the same vote again.
    assert_eq!(
        p.message(n(0), prepare(t(1), vec![debit(3, 4)])),
        vec![send(0, vote(t(1), Vote::Yes(results)))]
    );
}

#[test]
fn twopc_participant_votes_no_on_an_overdraft_and_a_younger_transaction_dies() {
    // Prepare: a debit the committed balance cannot cover is refused; wait-die: an older
    // transaction waits for a younger holder, a younger one dies (votes no).
    let mut p = participant(None);
    let refused = NoReason::Refused(Refusal::InsufficientFunds { account: 0 });
    assert_eq!(
        p.message(n(0), prepare(t(9), vec![debit(0, 11)])),
        vec![send(0, vote(t(9), Vote::No(refused)))]
    );
    p.message(n(0), prepare(t(5), vec![debit(3, 1)]));
    assert_eq!(
        p.message(n(0), prepare(t(4), vec![debit(3, 2)])),
        vec![in_doubt(t(4), WAIT_MAX)],
        "older: waits"
    );
    let died = vote(t(6), Vote::No(NoReason::LockConflict));
    assert_eq!(
        p.message(n(0), prepare(t(6), vec![ShardOp::ReadBalances])),
        vec![send(0, died)],
        "younger: dies"
    );
    // The holder aborts: the waiter takes the lock and votes.
    let out = p.message(n(0), Msg::Decision { txn: t(5), outcome: Outcome::Abort });
    assert_eq!(
        out,
        vec![
            stop_asking(t(5)),
            stop_asking(t(4)),
            send(0, vote(t(4), Vote::Yes(vec![]))),
            in_doubt(t(4), IN_DOUBT_AFTER)
        ]
    );
}

#[test]
fn twopc_participant_acknowledges_a_durable_commit_and_never_reverses_it() {
    // The second phase (participant.rs): COMMIT synced before the acknowledgement and before the
    // writes show; AC2: a later abort message changes nothing; a resent commit is acknowledged.
    let mut p = participant(None);
    p.message(n(0), prepare(t(1), vec![debit(3, 4)]));
    let commit = Msg::Decision { txn: t(1), outcome: Outcome::Commit };
    assert_eq!(p.message(n(0), commit.clone()), vec![stop_asking(t(1)), send(0, Msg::Ack { txn: t(1) })]);
    assert_eq!(p.node.data().balance(3), 6);
    assert_eq!(p.crash_and_restart(), vec![], "nothing in doubt after recovery");
    assert_eq!((p.node.data().balance(3), p.node.outcome(t(1))), (6, Some(Outcome::Commit)));
    assert_eq!(p.message(n(0), Msg::Decision { txn: t(1), outcome: Outcome::Abort }), vec![]);
    assert_eq!(p.message(n(0), commit), vec![send(0, Msg::Ack { txn: t(1) })]);
}

#[test]
fn twopc_participant_in_doubt_asks_the_coordinator_then_its_peers() {
    // In doubt (Bernstein et al. 7.4, cooperative termination): first the coordinator, then,
    // with no answer, every other participant too; never a decision of its own.
    let mut p = participant(None);
    p.message(n(0), prepare(t(1), vec![debit(3, 4)]));
    let ask = send(0, Msg::Inquire { txn: t(1) });
    assert_eq!(p.timer(Timer::InDoubt(t(1))), vec![ask.clone(), in_doubt(t(1), ASK_AGAIN)]);
    let peers = [send(2, Msg::PeerInquire { txn: t(1) }), send(3, Msg::PeerInquire { txn: t(1) })];
    assert_eq!(
        p.timer(Timer::InDoubt(t(1))),
        vec![ask, peers[0].clone(), peers[1].clone(), in_doubt(t(1), ASK_AGAIN)]
    );
    assert_eq!(p.node.in_doubt().count(), 1);
    // A peer that knows the outcome settles it.
    let answer = Msg::PeerAnswer { txn: t(1), outcome: Some(Outcome::Commit) };
    assert_eq!(p.message(n(2), answer), vec![stop_asking(t(1)), send(0, Msg::Ack { txn: t(1) })]);
    assert_eq!(p.node.journal().stats.cooperative_terminations, 1);
}

#[test]
fn twopc_participant_answers_a_peer_by_what_it_knows_and_aborts_only_what_it_never_voted_for() {
    // Cooperative termination (Bernstein et al. 7.4): in doubt too, it cannot help; not having
    // voted, it aborts on its own, durably, and will vote no if the prepare comes later.
    let mut p = participant(None);
    p.message(n(0), prepare(t(1), vec![debit(3, 4)]));
    let uncertain = Msg::PeerAnswer { txn: t(1), outcome: None };
    assert_eq!(p.message(n(2), Msg::PeerInquire { txn: t(1) }), vec![send(2, uncertain)]);
    let aborted = Msg::PeerAnswer { txn: t(2), outcome: Some(Outcome::Abort) };
    assert_eq!(p.message(n(3), Msg::PeerInquire { txn: t(2) }), vec![send(3, aborted)]);
    p.crash_and_restart();
    let no = vote(t(2), Vote::No(NoReason::Aborted));
    assert_eq!(p.message(n(0), prepare(t(2), vec![debit(0, 1)])), vec![send(0, no)]);
}

#[test]
fn twopc_participant_with_planted_bugs_decides_or_answers_on_its_own() {
    // heuristic-abort-in-doubt: the in-doubt timer aborts; cooperative-termination-wrong: an
    // uncertain participant answers "abort".
    let mut p = participant(Some(TwoPcBug::HeuristicAbortInDoubt));
    p.message(n(0), prepare(t(1), vec![debit(3, 4)]));
    assert_eq!(p.timer(Timer::InDoubt(t(1))), vec![stop_asking(t(1))]);
    assert_eq!(p.node.outcome(t(1)), Some(Outcome::Abort));
    let mut p = participant(Some(TwoPcBug::CooperativeTerminationWrong));
    p.message(n(0), prepare(t(1), vec![debit(3, 4)]));
    let wrong = Msg::PeerAnswer { txn: t(1), outcome: Some(Outcome::Abort) };
    assert_eq!(p.message(n(2), Msg::PeerInquire { txn: t(1) }), vec![send(2, wrong)]);
}

#[test]
fn twopc_participant_with_prepared_not_durable_forgets_its_vote_in_a_crash() {
    // prepared-not-durable (MySQL bug 12161): the vote leaves with PREPARED unsynced.
    let mut p = participant(Some(TwoPcBug::PreparedNotDurable));
    p.message(n(0), prepare(t(1), vec![debit(3, 4)]));
    assert_eq!(p.crash_and_restart(), vec![]);
    assert_eq!(p.node.in_doubt().count(), 0, "the prepared transaction is gone");
}

fn csend(to: u32, msg: Msg) -> Command<Coordinator> {
    Command::Send { to: n(to), msg }
}

fn reply(id: RequestId, resp: Response) -> Command<Coordinator> {
    Command::Reply { to: id, resp }
}

fn req(seq: u64) -> RequestId {
    RequestId { client: ClientId(0), seq }
}

fn decision(txn: TxnId, outcome: Outcome) -> Msg {
    Msg::Decision { txn, outcome }
}

/// A transfer from account 0 (shard 0, n1) to account 1 (shard 1, n2).
fn transfer() -> BankOp {
    BankOp::Transfer { from: 0, to: 1, amount: 3 }
}

fn prepares(txn: TxnId) -> Vec<Command<Coordinator>> {
    let both = vec![n(1), n(2)];
    vec![
        csend(1, Msg::Prepare { txn, ops: vec![debit(0, 3)], participants: both.clone() }),
        csend(
            2,
            Msg::Prepare { txn, ops: vec![ShardOp::Credit { account: 1, amount: 3 }], participants: both },
        ),
    ]
}

fn committed() -> Response {
    Response::Committed(BTreeMap::from([(0, vec![]), (1, vec![])]))
}

#[test]
fn twopc_coordinator_commits_durably_before_it_tells_anyone_and_resends_after_a_crash() {
    // The coordinator (coordinator.rs; Bernstein et al. 7.3): PREPARE to each participant; with
    // every vote yes, COMMIT synced, then the answer and the decision; after a crash the commit
    // is sent again and a retried request gets the same answer.
    let mut c = coordinator(None);
    assert_eq!(c.request(req(1), transfer()), prepares(t(1)));
    assert_eq!(c.message(n(1), vote(t(1), Vote::Yes(vec![]))), vec![]);
    let out = c.message(n(2), vote(t(1), Vote::Yes(vec![])));
    let sent = vec![csend(1, decision(t(1), Outcome::Commit)), csend(2, decision(t(1), Outcome::Commit))];
    assert_eq!(out, [vec![reply(req(1), committed())], sent.clone()].concat());
    let tick = Command::SetTimer { timer: Timer::Tick, after: TICK };
    assert_eq!(c.crash_and_restart(), [sent, vec![tick]].concat());
    assert_eq!(c.request(req(1), transfer()), vec![reply(req(1), committed())]);
    // The new incarnation's transactions have a new epoch: ids are never reused.
    let again = c.request(req(2), transfer());
    assert_eq!(again, prepares(TxnId { epoch: 2, seq: 1 }));
    c.message(n(1), Msg::Ack { txn: t(1) });
    assert_eq!(c.node.unacknowledged(), 1);
    c.message(n(2), Msg::Ack { txn: t(1) });
    assert_eq!(c.node.unacknowledged(), 0, "forgotten once every participant acknowledged");
}

#[test]
fn twopc_coordinator_aborts_in_memory_and_presumes_abort_for_what_it_does_not_know() {
    // Presumed abort (Mohan, Lindsay and Obermarck 1986): a no vote aborts without a log record
    // for the participants or acknowledgements; a vote or an inquiry about a transaction without
    // COMMIT is answered abort. The client's answer alone is made durable, and outlives a crash.
    let mut c = coordinator(None);
    c.request(req(1), transfer());
    let no = vote(t(1), Vote::No(NoReason::LockConflict));
    let abort = vec![
        reply(req(1), Response::Aborted),
        csend(1, decision(t(1), Outcome::Abort)),
        csend(2, decision(t(1), Outcome::Abort)),
    ];
    assert_eq!(c.message(n(1), no), abort);
    assert_eq!(
        c.message(n(2), vote(t(1), Vote::Yes(vec![]))),
        vec![csend(2, decision(t(1), Outcome::Abort))]
    );
    assert_eq!(c.message(n(3), Msg::Inquire { txn: t(8) }), vec![csend(3, decision(t(8), Outcome::Abort))]);
    assert_eq!(
        c.request(req(1), transfer()),
        vec![reply(req(1), Response::Aborted)],
        "answered once per request"
    );
    assert_eq!(c.node.journal().stats.presumed_aborts, 2);
    c.crash_and_restart();
    assert_eq!(
        c.request(req(1), transfer()),
        vec![reply(req(1), Response::Aborted)],
        "a retry after a crash is not run again: it might commit"
    );
}

#[test]
fn twopc_coordinator_aborts_a_prepare_phase_that_takes_too_long() {
    // The first phase has a deadline: a silent participant aborts the transaction.
    let mut c = coordinator(None);
    c.request(req(1), transfer());
    c.message(n(1), vote(t(1), Vote::Yes(vec![])));
    c.advance(Duration::from_millis(60));
    let resend = csend(
        2,
        Msg::Prepare {
            txn: t(1),
            ops: vec![ShardOp::Credit { account: 1, amount: 3 }],
            participants: vec![n(1), n(2)],
        },
    );
    let tick = Command::SetTimer { timer: Timer::Tick, after: TICK };
    assert_eq!(c.timer(Timer::Tick), vec![tick.clone(), resend], "the silent participant is asked again");
    c.advance(Duration::from_millis(150));
    let out = c.timer(Timer::Tick);
    assert_eq!(
        out,
        vec![
            tick,
            reply(req(1), Response::Aborted),
            csend(1, decision(t(1), Outcome::Abort)),
            csend(2, decision(t(1), Outcome::Abort))
        ]
    );
}

#[test]
fn twopc_coordinator_aborts_when_its_decision_cannot_be_written_and_halts_when_a_sync_fails() {
    // The halt policy (DiskError::requires_halt): a full disk wrote nothing, so nothing is
    // promised and the transaction aborts, though the client cannot be told so durably (its
    // retry runs again); a failed sync leaves the disk unknown: halt.
    let mut c = coordinator(None);
    c.request(req(1), transfer());
    c.message(n(1), vote(t(1), Vote::Yes(vec![])));
    c.disk.set_full(true);
    let out = c.message(n(2), vote(t(1), Vote::Yes(vec![])));
    assert_eq!(out[0], reply(req(1), Response::Unavailable));
    c.disk.set_full(false);
    c.request(req(2), transfer());
    c.message(n(1), vote(t(2), Vote::Yes(vec![])));
    c.disk.set_failing_syncs(true);
    let out = c.message(n(2), vote(t(2), Vote::Yes(vec![])));
    assert_eq!(out, vec![Command::Halt { reason: "disk error: sync of coordinator.log failed".into() }]);
}

#[test]
fn twopc_coordinator_with_planted_bugs_sends_before_logging_or_forgets_early() {
    // commit-before-decision-durable: the decision is sent with the record not yet written, so a
    // crash forgets it; decision-forgotten-early: forgotten with no acknowledgement.
    let mut c = coordinator(Some(TwoPcBug::CommitBeforeDecisionDurable));
    c.request(req(1), transfer());
    c.message(n(1), vote(t(1), Vote::Yes(vec![])));
    let out = c.message(n(2), vote(t(1), Vote::Yes(vec![])));
    assert_eq!(
        out[0],
        Command::SetTimer { timer: Timer::LogDecision(t(1)), after: Duration::from_millis(2) }
    );
    c.crash_and_restart();
    assert_eq!(c.node.unacknowledged(), 0, "the decision died with the coordinator");
    let mut c = coordinator(Some(TwoPcBug::DecisionForgottenEarly));
    c.request(req(1), transfer());
    c.message(n(1), vote(t(1), Vote::Yes(vec![])));
    c.message(n(2), vote(t(1), Vote::Yes(vec![])));
    assert_eq!(c.node.unacknowledged(), 0);
    assert_eq!(c.message(n(2), Msg::Inquire { txn: t(1) }), vec![csend(2, decision(t(1), Outcome::Abort))]);
}
