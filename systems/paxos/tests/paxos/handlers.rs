//! Handler unit tests in the style of openraft's `engine/tests`: one node stepped by hand
//! (`TestNode`), one input, the exact command vector it emits. Election timeouts are random, so
//! `norm` checks their range and zeroes them before comparing. Each test cites what it checks
//! ("Paxos Made Simple" sections; "Paxos Made Live" 5.1 for the lost disk).

use faultline_paxos::msg::{Accept, AcceptedValue, KvWrite};
use faultline_paxos::{Ballot, Msg, Paxos, PaxosConfig, Request, Response, StatusRole, Timer, Value};
use faultline_sim::testing::TestNode;
use faultline_sim::{ClientId, Command, NodeId, RequestId};
use std::time::Duration;

type Out = Vec<Command<Paxos>>;

fn n(i: u32) -> NodeId {
    NodeId(i)
}

fn b(round: u64, node: u32) -> Ballot {
    Ballot { round, node }
}

fn node(id: u32) -> TestNode<Paxos> {
    let mut t = TestNode::new(n(id), 7, || Paxos::new(PaxosConfig::default()).unwrap());
    t.start();
    t.advance(Duration::from_millis(400)); // long past any leader contact
    t
}

/// Zeroes random election timeouts after checking they are in range.
fn norm(cmds: Out) -> Out {
    cmds.into_iter()
        .map(|c| match c {
            Command::SetTimer { timer: Timer::Election, after } => {
                assert!((150..2400).contains(&after.as_millis()), "election timeout {after:?}");
                Command::SetTimer { timer: Timer::Election, after: Duration::ZERO }
            }
            other => other,
        })
        .collect()
}

fn election_timer() -> Command<Paxos> {
    Command::SetTimer { timer: Timer::Election, after: Duration::ZERO }
}

fn send(to: u32, msg: Msg) -> Command<Paxos> {
    Command::Send { to: n(to), msg }
}

fn put(slot: u64, value: &str) -> Value {
    let id = RequestId { client: ClientId(9), seq: slot };
    Value::Write { id, op: KvWrite::Put { key: "k".into(), value: value.into() } }
}

fn accept(ballot: Ballot, entries: Vec<(u64, Value)>, commit: u64, adopted: u64, round: u64) -> Msg {
    Msg::Accept(Accept { ballot, entries, commit, adopted, round })
}

fn promise(ballot: Ballot, accepted: Vec<AcceptedValue>, learned: u64) -> Msg {
    Msg::Promise { ballot, accepted, snapshot: None, learned }
}

/// n0 leading ballot 1.0 of three nodes, after n1's promise.
fn leader() -> TestNode<Paxos> {
    let mut l = node(0);
    l.timer(Timer::Election);
    l.message(n(1), promise(b(1, 0), vec![], 0));
    assert_eq!(l.node.status().role, StatusRole::Leader);
    l
}

#[test]
fn paxos_handler_start_arms_only_the_election_timer() {
    // A node starts as an acceptor that follows whoever leads; nothing is sent.
    let mut t = TestNode::new(n(0), 1, || Paxos::new(PaxosConfig::default()).unwrap());
    assert_eq!(norm(t.start()), vec![election_timer()]);
}

#[test]
fn paxos_handler_timeout_promises_itself_durably_then_prepares_from_the_first_unchosen_slot() {
    // Section 2.5: a proposer picks a number above any it has seen and remembers it across a
    // crash; section 3: phase 1 once, for every slot from the first unchosen one.
    let mut t = node(0);
    let out = norm(t.timer(Timer::Election));
    let prepare = Msg::Prepare { ballot: b(1, 0), from: 1 };
    assert_eq!(out, vec![election_timer(), send(1, prepare.clone()), send(2, prepare)]);
    assert_eq!(t.node.status().role, StatusRole::Candidate);
    t.crash_and_restart();
    assert_eq!(t.node.status().promise, b(1, 0), "the self-promise was on disk before the prepare left");
}

#[test]
fn paxos_handler_promise_reports_accepted_values_and_survives_a_crash() {
    // Section 2.2 (P1a) and 2.3: the acceptor promises, durably, reporting what it accepted.
    let mut t = node(1);
    t.message(n(0), accept(b(1, 0), vec![(1, put(1, "a"))], 0, 0, 0));
    t.advance(Duration::from_millis(400));
    let out = norm(t.message(n(2), Msg::Prepare { ballot: b(2, 2), from: 1 }));
    let reported = AcceptedValue { slot: 1, ballot: b(1, 0), value: put(1, "a") };
    assert_eq!(out, vec![election_timer(), send(2, promise(b(2, 2), vec![reported], 0))]);
    t.crash_and_restart();
    assert_eq!(t.node.status().promise, b(2, 2));
}

#[test]
fn paxos_handler_a_lower_ballot_is_refused_with_the_higher_promise() {
    // P1a: an acceptor accepts a proposal only if it has not promised a higher number; the
    // refusal tells the proposer which ballot to beat.
    let mut t = node(1);
    t.message(n(2), Msg::Prepare { ballot: b(3, 2), from: 1 });
    let out = t.message(n(0), accept(b(1, 0), vec![(1, put(1, "a"))], 0, 0, 0));
    assert_eq!(out, vec![send(0, Msg::Nack { ballot: b(1, 0), promised: b(3, 2) })]);
    let out = t.message(n(0), Msg::Prepare { ballot: b(2, 0), from: 1 });
    assert_eq!(out, vec![send(0, Msg::Nack { ballot: b(2, 0), promised: b(3, 2) })]);
}

#[test]
fn paxos_handler_a_follower_of_a_live_leader_ignores_another_nodes_prepare() {
    // Leader stickiness (a deviation, as Raft's thesis 4.2.3): ignoring a prepare is always
    // safe, and a node back from a partition does not depose a working leader.
    let mut t = node(1);
    t.message(n(0), accept(b(1, 0), vec![], 0, 0, 0));
    assert_eq!(t.message(n(2), Msg::Prepare { ballot: b(2, 2), from: 1 }), vec![]);
    t.advance(Duration::from_millis(400));
    let out = norm(t.message(n(2), Msg::Prepare { ballot: b(2, 2), from: 1 }));
    assert_eq!(out, vec![election_timer(), send(2, promise(b(2, 2), vec![], 0))]);
}

#[test]
fn paxos_handler_a_new_leader_adopts_the_highest_reported_value_and_fills_gaps_with_noops() {
    // Section 3: the new leader proposes, for each slot up to the highest reported, the value
    // of the highest ballot any promise reported (P2c), and a no-op where none was.
    let mut t = node(0);
    t.message(n(2), Msg::Prepare { ballot: b(1, 2), from: 1 }); // n0 now knows ballot 1.2
    t.advance(Duration::from_millis(400));
    let out = norm(t.timer(Timer::Election));
    assert_eq!(out[1], send(1, Msg::Prepare { ballot: b(2, 0), from: 1 }));
    let reports = vec![
        AcceptedValue { slot: 1, ballot: b(1, 1), value: put(1, "old") },
        AcceptedValue { slot: 3, ballot: b(1, 2), value: put(3, "c") },
    ];
    let out = t.message(n(1), promise(b(2, 0), reports, 0));
    let entries = vec![(1, put(1, "old")), (2, Value::Noop), (3, put(3, "c"))];
    let phase2 = accept(b(2, 0), entries, 0, 3, 0);
    let heartbeat = Command::SetTimer { timer: Timer::Heartbeat, after: Duration::from_millis(50) };
    let cancel = Command::CancelTimer { timer: Timer::Election };
    assert_eq!(out, vec![cancel, heartbeat, send(1, phase2.clone()), send(2, phase2)]);
}

#[test]
fn paxos_handler_a_promise_to_an_earlier_ballot_does_not_count() {
    // A promise counts toward the quorum of the ballot it answers only (MyPaxos issue 18 is
    // the bug where an earlier round's promise counted).
    let mut t = node(0);
    t.timer(Timer::Election); // ballot 1.0
    t.timer(Timer::Election); // ballot 2.0: 1.0's attempt is over
    assert_eq!(t.message(n(1), promise(b(1, 0), vec![], 0)), vec![]);
    assert_eq!(t.node.status().role, StatusRole::Candidate);
}

#[test]
fn paxos_handler_an_accepted_value_is_answered_and_learned_with_the_commit() {
    // Section 2.2: an acceptor accepts at a ballot at least its promise; section 3: the
    // leader's commit makes it learn the values it accepted at that ballot.
    let mut t = node(1);
    let out = norm(t.message(n(0), accept(b(1, 0), vec![(1, put(1, "a")), (2, put(2, "b"))], 0, 0, 0)));
    let accepted = Msg::Accepted { ballot: b(1, 0), slots: vec![1, 2], learned: 0, commit: 0, round: 0 };
    assert_eq!(out, vec![election_timer(), send(0, accepted)]);
    let out = norm(t.message(n(0), accept(b(1, 0), vec![], 2, 0, 1)));
    let ack = Msg::Accepted { ballot: b(1, 0), slots: vec![], learned: 2, commit: 2, round: 1 };
    assert_eq!(out, vec![election_timer(), send(0, ack)]);
    assert_eq!(t.node.status().applied, 2);
}

#[test]
fn paxos_handler_a_gap_under_the_commit_is_reported_for_catch_up() {
    // A replica that missed a value cannot learn past it: its answer says how far it learned
    // and what it was told, and the leader sends the chosen values (catch-up).
    let mut t = node(1);
    t.message(n(0), accept(b(1, 0), vec![(2, put(2, "b"))], 0, 0, 0));
    let out = norm(t.message(n(0), accept(b(1, 0), vec![], 2, 0, 1)));
    let ack = Msg::Accepted { ballot: b(1, 0), slots: vec![], learned: 0, commit: 2, round: 1 };
    assert_eq!(out, vec![election_timer(), send(0, ack)]);
    let out = t.message(n(0), Msg::Learn { entries: vec![(1, put(1, "a")), (2, put(2, "b"))] });
    assert_eq!(out, vec![send(0, Msg::Learned { learned: 2, floor: None })]);
}

#[test]
fn paxos_handler_a_write_is_answered_once_a_majority_accepted_it() {
    let mut l = leader();
    let id = RequestId { client: ClientId(3), seq: 1 };
    let out = l.request(id, Request::put("k", "v"));
    let value = Value::Write { id, op: KvWrite::Put { key: "k".into(), value: "v".into() } };
    let phase2 = accept(b(1, 0), vec![(1, value)], 0, 0, 0);
    assert_eq!(out, vec![send(1, phase2.clone()), send(2, phase2)]);
    let accepted = Msg::Accepted { ballot: b(1, 0), slots: vec![1], learned: 0, commit: 0, round: 0 };
    assert_eq!(l.message(n(2), accepted), vec![Command::Reply { to: id, resp: Response::Written }]);
}

#[test]
fn paxos_handler_a_read_waits_for_a_quorum_to_confirm_the_round() {
    // Quorum-confirmed reads: the leader answers only once a majority answered a round sent
    // after the read arrived.
    let mut l = leader();
    let id = RequestId { client: ClientId(3), seq: 1 };
    let out = l.request(id, Request::get("k"));
    let round = accept(b(1, 0), vec![], 0, 0, 1);
    assert_eq!(out, vec![send(1, round.clone()), send(2, round)]);
    let stale = Msg::Accepted { ballot: b(1, 0), slots: vec![], learned: 0, commit: 0, round: 0 };
    assert_eq!(l.message(n(1), stale), vec![]);
    let fresh = Msg::Accepted { ballot: b(1, 0), slots: vec![], learned: 0, commit: 0, round: 1 };
    assert_eq!(l.message(n(2), fresh), vec![Command::Reply { to: id, resp: Response::Value(None) }]);
}

#[test]
fn paxos_handler_a_refusal_with_a_higher_ballot_ends_leading() {
    // A higher ballot seen anywhere makes a node give up leading; waiting clients are told
    // to retry elsewhere (their writes may still be chosen).
    let mut l = leader();
    let id = RequestId { client: ClientId(3), seq: 1 };
    l.request(id, Request::put("k", "v"));
    let out = norm(l.message(n(1), Msg::Nack { ballot: b(1, 0), promised: b(4, 2) }));
    let cancel = Command::CancelTimer { timer: Timer::Heartbeat };
    let redirect = Command::Reply { to: id, resp: Response::NotLeader { hint: None } };
    assert_eq!(out, vec![cancel, election_timer(), redirect]);
    assert_eq!(l.node.status().role, StatusRole::Follower);
}

#[test]
fn paxos_handler_a_node_on_a_lost_disk_probes_and_answers_no_prepare() {
    // Paxos Made Live 5.1: an acceptor that lost its disk takes no part until it has caught up.
    let mut t = node(1);
    t.message(n(0), Msg::Prepare { ballot: b(2, 0), from: 1 });
    let out = t.wipe_and_restart();
    let probe = Command::SetTimer { timer: Timer::Probe, after: Duration::from_millis(50) };
    assert_eq!(out, vec![probe, send(0, Msg::Probe), send(2, Msg::Probe)]);
    assert_eq!(t.node.status().role, StatusRole::Rebuilding);
    assert_eq!(t.message(n(2), Msg::Prepare { ballot: b(3, 2), from: 1 }), vec![]);
    // Every peer's promise bounds what it may have promised: the floor.
    assert_eq!(t.message(n(0), Msg::ProbeReply { promised: b(2, 0) }), vec![]);
    let out = t.message(n(2), Msg::ProbeReply { promised: b(1, 2) });
    let floor = Msg::Learned { learned: 0, floor: Some(b(2, 0)) };
    assert_eq!(out, vec![send(0, floor.clone()), send(2, floor.clone())]);
    // A leader at the floor does not qualify: the node only reports how far it learned.
    assert_eq!(t.message(n(0), accept(b(2, 0), vec![(1, put(1, "a"))], 0, 0, 0)), vec![send(0, floor)]);
    // A leader above it, with everything its phase 1 adopted chosen, does: the node votes.
    let out = norm(t.message(n(0), accept(b(3, 0), vec![(1, put(1, "a"))], 0, 0, 0)));
    let accepted = Msg::Accepted { ballot: b(3, 0), slots: vec![1], learned: 0, commit: 0, round: 0 };
    assert_eq!(out, vec![Command::CancelTimer { timer: Timer::Probe }, election_timer(), send(0, accepted)]);
    t.crash_and_restart();
    assert_eq!((t.node.status().role, t.node.status().promise), (StatusRole::Follower, b(3, 0)));
}
