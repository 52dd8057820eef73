//! Handler unit tests in the style of openraft's `engine/tests`: drive one node by hand, feed
//! it one input, and compare the exact command vector it emits. Election timeouts are random,
//! so `norm` checks their range and zeroes them before comparing.

use faultline_raft::msg::{Append, AppendReply, AppendResult, Command as Cmd, Entry};
use faultline_raft::{LogId, Msg, Raft, RaftConfig, Request, Response, Timer};
use faultline_sim::testing::TestNode;
use faultline_sim::{ClientId, Command, NodeId, RequestId};
use std::time::Duration;

type Out = Vec<Command<Raft>>;

fn n(i: u32) -> NodeId {
    NodeId(i)
}

fn node(id: u32) -> TestNode<Raft> {
    let mut t = TestNode::new(n(id), 7, || Raft::new(RaftConfig::with_members(3)).unwrap());
    t.start();
    t.advance(Duration::from_millis(400)); // long past any leader contact
    t
}

/// Zeroes random election timeouts after checking they are in range.
fn norm(cmds: Out) -> Out {
    cmds.into_iter()
        .map(|c| match c {
            Command::SetTimer { timer: Timer::Election, after } => {
                assert!((150..300).contains(&after.as_millis()), "election timeout {after:?}");
                Command::SetTimer { timer: Timer::Election, after: Duration::ZERO }
            }
            other => other,
        })
        .collect()
}

fn election_timer() -> Command<Raft> {
    Command::SetTimer { timer: Timer::Election, after: Duration::ZERO }
}

fn send(to: u32, msg: Msg) -> Command<Raft> {
    Command::Send { to: n(to), msg }
}

fn noop(index: u64, term: u64) -> Entry {
    Entry { index, term, command: Cmd::Noop }
}

fn ack(term: u64, round: u64, index: u64) -> Msg {
    Msg::AppendReply(AppendReply { term, round, result: AppendResult::Matched { index } })
}

/// n0 elected leader of term 1 by n1's votes; its no-op acknowledged by n1 and n2.
fn leader() -> TestNode<Raft> {
    let mut l = node(0);
    l.timer(Timer::Election);
    l.message(n(1), Msg::PreVoteReply { term: 1, granted: true });
    l.message(n(1), Msg::VoteReply { term: 1, granted: true });
    l.message(n(1), ack(1, 1, 1));
    l.message(n(2), ack(1, 1, 1));
    assert_eq!(l.node.status().commit_index, 1);
    l
}

#[test]
fn raft_handler_start_arms_only_the_election_timer() {
    // Section 5.2: a node starts as a follower waiting for a leader; nothing is sent.
    let mut t = TestNode::new(n(0), 1, || Raft::new(RaftConfig::default()).unwrap());
    assert_eq!(norm(t.start()), vec![election_timer()]);
}

#[test]
fn raft_handler_election_timeout_asks_for_prevotes_without_changing_its_term() {
    // Thesis 9.6: the pre-vote round proposes term + 1 but the node's own term stays.
    let mut t = node(0);
    let out = norm(t.timer(Timer::Election));
    let prevote = Msg::PreVote { term: 1, last: LogId::default() };
    assert_eq!(out, vec![election_timer(), send(1, prevote.clone()), send(2, prevote)]);
    assert_eq!(t.node.status().term, 0);
}

#[test]
fn raft_handler_a_prevote_is_granted_without_any_state_change() {
    // Thesis 9.6: granting a pre-vote changes neither term nor vote, and persists nothing.
    let mut t = node(1);
    let out = t.message(n(0), Msg::PreVote { term: 1, last: LogId::default() });
    assert_eq!(out, vec![send(0, Msg::PreVoteReply { term: 1, granted: true })]);
    assert_eq!((t.node.status().term, t.node.status().voted_for), (0, None));
}

#[test]
fn raft_handler_a_prevote_majority_starts_a_durable_election() {
    // Section 5.2: the candidate increments its term and votes for itself, durably, then asks.
    let mut t = node(0);
    t.timer(Timer::Election);
    let out = norm(t.message(n(1), Msg::PreVoteReply { term: 1, granted: true }));
    let vote = Msg::Vote { term: 1, last: LogId::default() };
    let retry = Command::SetTimer { timer: Timer::Heartbeat, after: Duration::from_millis(50) };
    // Timers are set as the handler runs; messages leave when it returns.
    assert_eq!(out, vec![election_timer(), retry, send(1, vote.clone()), send(2, vote)]);
    t.crash_and_restart();
    assert_eq!((t.node.status().term, t.node.status().voted_for), (1, Some(n(0))));
}

#[test]
fn raft_handler_a_candidate_asks_again_until_the_election_is_decided() {
    // Section 5.1: servers retry RPCs that get no timely answer. Neither peer has answered the
    // vote request, so both are asked again at the retry timer, which is set again while the
    // election is open; once n1 grants, n0 leads (with n1, a quorum of three).
    let mut t = node(0);
    t.timer(Timer::Election);
    t.message(n(1), Msg::PreVoteReply { term: 1, granted: true });
    let out = t.timer(Timer::Heartbeat);
    let vote = Msg::Vote { term: 1, last: LogId::default() };
    let retry = Command::SetTimer { timer: Timer::Heartbeat, after: Duration::from_millis(50) };
    assert_eq!(out, vec![retry, send(1, vote.clone()), send(2, vote)]);
    t.message(n(1), Msg::VoteReply { term: 1, granted: true });
    assert_eq!(t.node.status().role, faultline_raft::StatusRole::Leader);
}

#[test]
fn raft_handler_one_durable_vote_per_term() {
    // Figure 2, RequestVote: grant if votedFor is null or the candidate; persisted before the
    // reply, so a restart does not free the vote.
    let mut t = node(1);
    let out = norm(t.message(n(0), Msg::Vote { term: 1, last: LogId::default() }));
    assert_eq!(out, vec![election_timer(), send(0, Msg::VoteReply { term: 1, granted: true })]);
    let out = t.message(n(2), Msg::Vote { term: 1, last: LogId::default() });
    assert_eq!(out, vec![send(2, Msg::VoteReply { term: 1, granted: false })]);
    t.crash_and_restart();
    t.advance(Duration::from_millis(400));
    let out = t.message(n(2), Msg::Vote { term: 1, last: LogId::default() });
    assert_eq!(out, vec![send(2, Msg::VoteReply { term: 1, granted: false })]);
}

#[test]
fn raft_handler_a_node_that_lost_its_disk_takes_no_part_instead_of_voting_again() {
    // Figure 2: currentTerm and votedFor must be on stable storage before answering; a node
    // whose disk was replaced forgot them, and could grant a second vote in term 1. At a
    // restart (not its first boot) an empty disk is a lost disk: the node takes no part.
    let mut t = node(1);
    t.message(n(0), Msg::Vote { term: 1, last: LogId::default() });
    assert_eq!(t.wipe_and_restart(), vec![], "no timer, no message: it takes no part");
    assert_eq!(t.node.status().role, faultline_raft::StatusRole::Failed);
    t.advance(Duration::from_millis(400));
    assert_eq!(t.message(n(2), Msg::Vote { term: 1, last: LogId::default() }), vec![]);
    assert_eq!(t.message(n(2), Msg::PreVote { term: 1, last: LogId::default() }), vec![]);
    assert_eq!(t.crash_and_restart(), vec![], "and stays out after further restarts");
}

#[test]
fn raft_handler_a_new_node_writes_its_hard_state_at_bootstrap() {
    // A node that has not voted or stored anything yet still leaves a durable trace at its
    // first boot, so that a crash before it writes anything else is not taken for a lost disk.
    let mut t = TestNode::new(n(0), 1, || Raft::new(RaftConfig::with_members(3)).unwrap());
    t.start();
    t.disk.crash();
    assert!(!faultline_sim::Storage::list(&mut t.disk).unwrap().is_empty(), "the bootstrap write is synced");
    assert_eq!(norm(t.crash_and_restart()), vec![election_timer()], "a restart, not a lost disk");
    assert_eq!(t.node.status().role, faultline_raft::StatusRole::Follower);
}

#[test]
fn raft_handler_a_less_up_to_date_candidate_is_refused() {
    // Section 5.4.1: the voter's log (1, t1) is more up-to-date than the candidate's (0, t0).
    let mut t = node(1);
    let entries = vec![noop(1, 1)];
    t.message(n(0), Msg::Append(Append { term: 1, prev: LogId::default(), entries, commit: 0, round: 1 }));
    t.advance(Duration::from_millis(400));
    let out = norm(t.message(n(2), Msg::Vote { term: 2, last: LogId::default() }));
    assert_eq!(out, vec![election_timer(), send(2, Msg::VoteReply { term: 2, granted: false })]);
    assert_eq!(t.node.status().term, 2, "the higher term is still adopted");
}

#[test]
fn raft_handler_a_new_leader_appends_a_no_op_and_broadcasts_it() {
    // Section 5.4.2 / thesis 6.4: the no-op of the new term, sent with the first heartbeat.
    let mut t = node(0);
    t.timer(Timer::Election);
    t.message(n(1), Msg::PreVoteReply { term: 1, granted: true });
    let out = t.message(n(1), Msg::VoteReply { term: 1, granted: true });
    let append = Msg::Append(Append {
        term: 1,
        prev: LogId::default(),
        entries: vec![noop(1, 1)],
        commit: 0,
        round: 1,
    });
    assert_eq!(
        out,
        vec![
            Command::CancelTimer { timer: Timer::Election },
            Command::SetTimer { timer: Timer::Heartbeat, after: Duration::from_millis(50) },
            send(1, append.clone()),
            send(2, append),
        ]
    );
}

#[test]
fn raft_handler_a_follower_acknowledges_entries_only_once_they_are_durable() {
    // Figure 2: append, persist, then reply; after a crash the entry is still there.
    let mut t = node(1);
    let msg = Msg::Append(Append {
        term: 1,
        prev: LogId::default(),
        entries: vec![noop(1, 1)],
        commit: 0,
        round: 1,
    });
    let out = norm(t.message(n(0), msg));
    assert_eq!(out, vec![election_timer(), send(0, ack(1, 1, 1))]);
    t.crash_and_restart();
    assert_eq!(t.node.status().last_log, LogId::new(1, 1));
}

#[test]
fn raft_handler_a_failed_consistency_check_returns_a_back_off_hint() {
    // Section 5.3: too short a log hints its end; a conflicting term hints that term's first
    // index, so the leader can skip a whole term per round trip.
    let mut t = node(1);
    let entries = vec![noop(1, 1), noop(2, 1)];
    t.message(n(0), Msg::Append(Append { term: 1, prev: LogId::default(), entries, commit: 0, round: 1 }));
    let far = Msg::Append(Append { term: 2, prev: LogId::new(9, 2), entries: vec![], commit: 0, round: 1 });
    let conflict = |index, term| {
        Msg::AppendReply(AppendReply { term: 2, round: 1, result: AppendResult::Conflict { index, term } })
    };
    assert_eq!(norm(t.message(n(2), far)), vec![election_timer(), send(2, conflict(3, None))]);
    let other = Msg::Append(Append { term: 2, prev: LogId::new(2, 2), entries: vec![], commit: 0, round: 1 });
    assert_eq!(norm(t.message(n(2), other)), vec![election_timer(), send(2, conflict(1, Some(1)))]);
}

#[test]
fn raft_handler_an_append_from_a_stale_term_is_rejected_with_the_current_term() {
    // Section 5.1: the stale leader learns the newer term from the reply and steps down.
    let mut t = node(1);
    t.message(n(2), Msg::Vote { term: 3, last: LogId::default() });
    let out = t.message(
        n(0),
        Msg::Append(Append { term: 2, prev: LogId::default(), entries: vec![], commit: 0, round: 4 }),
    );
    let reply = AppendReply { term: 3, round: 4, result: AppendResult::StaleTerm };
    assert_eq!(out, vec![send(0, Msg::AppendReply(reply))]);
}

#[test]
fn raft_handler_a_client_write_is_replicated_then_answered_on_commit() {
    // Sections 5.3 and 5.4.2: append and send at once to caught-up followers; reply to the
    // client when a majority holds the entry and it is applied.
    let mut l = leader();
    let id = RequestId { client: ClientId(4), seq: 1 };
    let out = l.request(id, Request::put("k", "v"));
    let entry = Entry {
        index: 2,
        term: 1,
        command: Cmd::Write {
            id,
            op: faultline_raft::msg::KvWrite::Put { key: "k".into(), value: "v".into() },
        },
    };
    let append =
        Msg::Append(Append { term: 1, prev: LogId::new(1, 1), entries: vec![entry], commit: 1, round: 1 });
    assert_eq!(out, vec![send(1, append.clone()), send(2, append)]);
    let out = l.message(n(1), ack(1, 1, 2));
    assert_eq!(out, vec![Command::Reply { to: id, resp: Response::Written }]);
}

#[test]
fn raft_handler_requests_at_a_follower_are_redirected_to_its_leader() {
    let mut t = node(1);
    t.message(
        n(0),
        Msg::Append(Append { term: 1, prev: LogId::default(), entries: vec![], commit: 0, round: 1 }),
    );
    let id = RequestId { client: ClientId(0), seq: 1 };
    let out = t.request(id, Request::get("k"));
    assert_eq!(out, vec![Command::Reply { to: id, resp: Response::NotLeader { hint: Some(n(0)) } }]);
}

#[test]
fn raft_handler_a_read_waits_for_a_quorum_to_confirm_a_new_round() {
    // Thesis 6.4: the read starts round 2, sent as empty AppendEntries at each follower's match
    // index; one acknowledgement of round 2 (plus the leader) is a majority of three.
    let mut l = leader();
    let id = RequestId { client: ClientId(5), seq: 1 };
    let out = l.request(id, Request::get("k"));
    let probe = Msg::Append(Append { term: 1, prev: LogId::new(1, 1), entries: vec![], commit: 1, round: 2 });
    assert_eq!(out, vec![send(1, probe.clone()), send(2, probe)]);
    assert_eq!(l.message(n(2), ack(1, 1, 1)), vec![], "round 1 does not confirm a round-2 read");
    let out = l.message(n(2), ack(1, 2, 1));
    assert_eq!(out, vec![Command::Reply { to: id, resp: Response::Value(None) }]);
}

#[test]
fn raft_handler_a_node_outside_the_configuration_never_campaigns() {
    // Thesis 4.2.2/4.2.3: a node not in its latest configuration (here n3, never added) only
    // re-arms its timer when it fires; it sends nothing.
    let mut t = TestNode::new(n(3), 7, || Raft::new(RaftConfig::with_members(3)).unwrap());
    t.start();
    t.advance(Duration::from_millis(400));
    assert_eq!(norm(t.timer(Timer::Election)), vec![election_timer()]);
    assert_eq!(t.node.status().term, 0);
}

#[test]
fn raft_handler_after_a_conflict_a_follower_judges_candidates_by_its_new_log() {
    // Section 5.3 with 5.4.1: entries the leader overwrote were uncommitted (leader
    // completeness), so after the overwrite the follower compares candidates against its new
    // log end (2, t1), not the discarded (2, t2). (Only a repair past an unreadable entry keeps
    // the old end as a floor; see storage.rs.)
    let mut t = node(1);
    let entries = vec![noop(1, 1), noop(2, 2)];
    t.message(n(2), Msg::Append(Append { term: 2, prev: LogId::default(), entries, commit: 0, round: 1 }));
    let overwrite = Msg::Append(Append {
        term: 3,
        prev: LogId::new(1, 1),
        entries: vec![noop(2, 1)],
        commit: 0,
        round: 1,
    });
    assert_eq!(norm(t.message(n(0), overwrite)), vec![election_timer(), send(0, ack(3, 1, 2))]);
    t.advance(Duration::from_millis(400));
    let out = norm(t.message(n(2), Msg::Vote { term: 4, last: LogId::new(2, 1) }));
    assert_eq!(out, vec![election_timer(), send(2, Msg::VoteReply { term: 4, granted: true })]);
}
