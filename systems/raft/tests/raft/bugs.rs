//! The bug zoo, one targeted scenario per planted bug: the same script passes with the correct
//! protocol and breaks a property with the bug (the harness's sweeps must find them without a
//! script; these tests show each bug is real and where it bites).

use crate::cluster::{Cluster, Envelope, RaftCluster};
use crate::replication::{append, figure8};
use faultline_checkers::Verdict;
use faultline_raft::{Msg, RaftBug, RaftConfig, Request, Response, StatusRole, Timer};
use faultline_sim::NodeId;
use std::time::Duration;

fn with_bug(members: u32, bug: Option<RaftBug>) -> RaftConfig {
    RaftConfig { bug, ..RaftConfig::with_members(members) }
}

/// A scripted cluster (timers fire only when told) in which n0 has just been elected.
fn scripted(config: RaftConfig, seed: u64) -> Cluster {
    let mut c = Cluster::with_config(config.members.len() as u32, config, seed);
    c.freeze_timers();
    c.tick(Duration::from_millis(400));
    c.campaign(0);
    c
}

fn violation(c: &Cluster) -> String {
    match c.verdict() {
        Verdict::Violation(why) => why,
        other => panic!("expected an invariant violation, got {other}"),
    }
}

#[test]
fn bug_commit_old_term_by_counting_loses_a_committed_entry_in_figure_8() {
    // Section 5.4.2 / Figure 8: counting replicas of a term-1 entry in term 3 commits it; the
    // term-4 leader then overwrites it. The correct run is checked in `replication`.
    let c = figure8(with_bug(5, Some(RaftBug::CommitOldTermByCounting)));
    let why = violation(&c);
    assert!(why.starts_with("leader completeness") || why.starts_with("state machine safety"), "{why}");
}

/// Two candidates in term 1; n1 grants n0 its vote, crashes before the reply leaves, restarts,
/// and is asked again by n2.
fn double_vote(bug: Option<RaftBug>) -> Cluster {
    let mut c = Cluster::with_config(3, with_bug(3, bug), 2);
    c.freeze_timers();
    c.tick(Duration::from_millis(400));
    c.fire_only(0, Timer::Election);
    c.fire_only(2, Timer::Election);
    c.deliver_where(|e| matches!(e.msg, Msg::PreVote { .. }));
    c.deliver_where(|e| matches!(e.msg, Msg::PreVoteReply { .. }));
    c.deliver_where(|e| e.from == NodeId(0) && e.to == NodeId(1) && matches!(e.msg, Msg::Vote { .. }));
    c.restart(1);
    c.deliver_all();
    c
}

#[test]
fn bug_vote_not_persisted_elects_two_leaders_in_one_term() {
    // Figure 2: votedFor is persistent state. Without the bug the restarted n1 remembers its
    // vote for n0 and refuses n2; with it, n1 votes twice in term 1.
    let ok = double_vote(None);
    ok.assert_safe();
    assert_eq!(ok.status(1).voted_for, Some(NodeId(0)));
    let bad = double_vote(Some(RaftBug::VoteNotPersisted));
    assert!(violation(&bad).starts_with("election safety"));
}

/// n0 leads term 1 but cannot reach anyone; n1 is elected in term 2 and reaches n0. n0's clock
/// runs slowly, so its own quorum check does not step it down first.
fn higher_term_reaches_leader(bug: Option<RaftBug>) -> Cluster {
    let mut c = scripted(with_bug(3, bug), 6);
    c.cut(0, 1);
    c.cut(0, 2);
    c.tick(Duration::from_millis(400));
    c.campaign(1);
    c.fire(1, Timer::Heartbeat);
    c
}

#[test]
fn bug_no_step_down_on_higher_term_leaves_two_leaders_in_a_term() {
    // Section 5.1: a leader that learns of a higher term must step down. With the bug n0
    // adopts term 2 but keeps leading, next to n1.
    let ok = higher_term_reaches_leader(None);
    ok.assert_safe();
    assert_eq!(ok.status(0).role, StatusRole::Follower);
    let bad = higher_term_reaches_leader(Some(RaftBug::NoStepDownOnHigherTerm));
    assert_eq!(bad.status(0).role, StatusRole::Leader);
    assert!(violation(&bad).starts_with("election safety"));
}

/// n0 leads and the key holds "old"; n0 is cut off, n1 is elected and writes "new"; then a
/// client reads at n0. Returns the cluster and the read's id.
fn read_at_deposed_leader(bug: Option<RaftBug>) -> (Cluster, faultline_sim::RequestId) {
    let mut c = scripted(with_bug(3, bug), 12);
    let id = c.next_id(0);
    c.submit(0, id, Request::put("k", "old"));
    c.deliver_all();
    c.fire(0, Timer::Heartbeat);
    c.isolate(0);
    c.tick(Duration::from_millis(400));
    c.campaign(1);
    let id = c.next_id(1);
    c.submit(1, id, Request::put("k", "new"));
    c.deliver_all();
    assert_eq!(c.answer(id), Some(&Response::Written));
    let read = c.next_id(2);
    c.submit(0, read, Request::get("k"));
    c.deliver_all();
    (c, read)
}

#[test]
fn bug_stale_local_read_returns_a_value_overwritten_by_a_newer_leader() {
    // Thesis 6.4: a leader must confirm it still leads before answering a read. Correctly the
    // deposed n0 cannot confirm and never answers; with the bug it returns "old" after "new"
    // was acknowledged: a linearizability violation.
    let (ok, read) = read_at_deposed_leader(None);
    assert_eq!(ok.answer(read), None);
    let (bad, read) = read_at_deposed_leader(Some(RaftBug::StaleLocalRead));
    assert_eq!(bad.answer(read), Some(&Response::Value(Some("old".into()))));
}

/// n2 is down; n0 and n1 commit two writes; a delayed copy of the first AppendEntries then
/// reaches n1; n0 is stopped and n2 returns; n1 stands for election.
fn stale_append_then_failover(bug: Option<RaftBug>) -> Cluster {
    let mut c = scripted(with_bug(3, bug), 9);
    c.crash(2);
    let mut first: Option<Envelope<Msg>> = None;
    for i in 0..2 {
        let id = c.next_id(0);
        c.submit(0, id, append("k", &i.to_string()));
        let copy = c.queue().iter().find(|e| e.to == NodeId(1) && matches!(e.msg, Msg::Append(_))).cloned();
        first = first.or(copy);
        c.deliver_all();
        assert_eq!(c.answer(id), Some(&Response::Written));
    }
    c.inject(first);
    c.deliver_all();
    fail_over(c)
}

/// n0 stops for good, n2 comes back, and n1 is elected.
fn fail_over(mut c: Cluster) -> Cluster {
    c.crash(0);
    c.restart(2);
    c.tick(Duration::from_millis(400));
    c.campaign(1);
    c.fire(1, Timer::Heartbeat);
    c
}

#[test]
fn bug_truncate_on_stale_append_loses_committed_entries() {
    // Figure 2, AppendEntries receiver step 3: truncate only on a conflict. Correctly, n1 keeps
    // both committed writes and leads with them; with the bug the delayed message cuts the
    // second, n2 votes for the shortened n1, and the new leader lacks a committed entry. (Had
    // n1 already learned that the cut entry was committed, its local invariant "commit index
    // within the log" would have failed at once.)
    let ok = stale_append_then_failover(None);
    ok.assert_safe();
    assert_eq!(ok.status(1).last_log.index, 4, "no-op, two writes, the new no-op");
    let bad = stale_append_then_failover(Some(RaftBug::TruncateOnStaleAppend));
    assert!(violation(&bad).starts_with("leader completeness"), "{}", violation(&bad));
}

/// n0 leads term 1 with n4 cut off with it: four writes reach only n4. The majority elects n1,
/// which writes and snapshots at index 3 (term 2); after the heal n1 sends n4 its snapshot.
fn snapshot_over_divergent_log(bug: Option<RaftBug>) -> Cluster {
    let config = RaftConfig { snapshot_threshold: 3, ..with_bug(5, bug) };
    let mut c = scripted(config, 13);
    c.fire(0, Timer::Heartbeat);
    c.partition(&[&[0, 4], &[1, 2, 3]]);
    for i in 0..4 {
        let id = c.next_id(0);
        c.submit(0, id, append("k", &format!("lost{i}")));
        c.deliver_all();
    }
    c.tick(Duration::from_millis(400));
    c.campaign(1);
    let id = c.next_id(1);
    c.submit(1, id, append("k", "kept"));
    c.deliver_all();
    assert_eq!(c.status(1).snapshot.index, 3, "n1 compacted through its write");
    c.heal();
    c.crash(0);
    c.fire(1, Timer::Heartbeat);
    c.fire(1, Timer::Heartbeat);
    c
}

#[test]
fn bug_snapshot_keeps_conflicting_entries_breaks_log_matching() {
    // Figure 13, step 6: keep the entries after the snapshot only if the entry at its index
    // has its term. n4 holds (3, t1), (4, t1), (5, t1); the snapshot ends at (3, t2).
    let mut ok = snapshot_over_divergent_log(None);
    ok.assert_safe();
    assert_eq!(ok.status(4).snapshot.index, 3);
    assert!(ok.run_until_converged());
    let bad = snapshot_over_divergent_log(Some(RaftBug::SnapshotKeepsConflictingEntries));
    assert!(violation(&bad).starts_with("log matching"), "{}", violation(&bad));
}

/// n2 is down; n0 and n1 commit a write; n1 crashes (losing what it did not sync); n0 is
/// stopped and n2 returns: n1 and n2 elect a leader.
fn crash_after_ack(bug: Option<RaftBug>) -> Cluster {
    let mut c = scripted(with_bug(3, bug), 10);
    c.fire(0, Timer::Heartbeat);
    c.crash(2);
    let id = c.next_id(0);
    c.submit(0, id, Request::put("k", "v"));
    c.deliver_all();
    assert_eq!(c.answer(id), Some(&Response::Written));
    c.restart(1);
    fail_over(c)
}

#[test]
fn bug_ack_before_sync_loses_a_committed_write_in_a_crash() {
    // Figure 2: persistent state is updated on stable storage before responding. With the bug
    // n1 acknowledges the write, crashes, comes back without it, and leads without it.
    let ok = crash_after_ack(None);
    ok.assert_safe();
    assert_eq!(ok.node(1).kv().get("k"), Some("v"));
    let bad = crash_after_ack(Some(RaftBug::AckBeforeSync));
    assert!(violation(&bad).starts_with("leader completeness"), "{}", violation(&bad));
}

/// Five servers, n0 leads term 1 and is cut off with n1. An admin removes n2, then n3, at n0;
/// the far side (n2, n3, n4) elects n2; each side takes a write. Left partitioned: healing
/// would make a node truncate below its commit index, which its own assertions catch first.
fn two_changes_in_flight(bug: Option<RaftBug>) -> Cluster {
    let mut c = scripted(with_bug(5, bug), 11);
    c.fire(0, Timer::Heartbeat);
    c.deliver_all();
    c.partition(&[&[0, 1], &[2, 3, 4]]);
    for node in [2, 3] {
        let id = c.next_id(9);
        c.submit(0, id, Request::RemoveServer { node: NodeId(node) });
        c.fire(0, Timer::Heartbeat);
        c.deliver_all();
    }
    let id = c.next_id(1);
    c.submit(0, id, Request::put("k", "near"));
    c.fire(0, Timer::Heartbeat);
    c.deliver_all();
    c.tick(Duration::from_millis(400));
    c.campaign(2);
    let id = c.next_id(2);
    c.submit(2, id, Request::put("k", "far"));
    c.fire(2, Timer::Heartbeat);
    c.deliver_all();
    c
}

#[test]
fn bug_membership_change_while_pending_lets_a_minority_commit() {
    // Thesis 4.1: one change at a time. The correct leader refuses the second removal while
    // the first is uncommitted, so the minority {n0, n1} commits nothing; with the bug C2 =
    // {n0, n1, n4} is in force at once, {n0, n1} is a majority of it, and both sides commit.
    let ok = two_changes_in_flight(None);
    ok.assert_safe();
    assert_eq!(ok.node(0).kv().get("k"), None, "the minority committed a write");
    let bad = two_changes_in_flight(Some(RaftBug::MembershipChangeWhilePending));
    assert_eq!(bad.node(0).kv().get("k"), Some("near"));
    assert_eq!(bad.node(2).kv().get("k"), Some("far"));
    let why = violation(&bad);
    assert!(why.starts_with("leader completeness") || why.starts_with("state machine safety"), "{why}");
}

/// Five servers: n0 removes n4 (committed), then itself (delivered, not committed); n0
/// restarts as a follower whose latest configuration {n1, n2, n3} leaves it out but is still
/// uncommitted, so it may campaign (thesis 4.2.2), its own vote not counting. Cut into
/// {n0, n1} and {n2, n3, n4}, n0 and n2 campaign for the same term.
fn votes_from_outside(bug: Option<RaftBug>) -> Cluster {
    let mut c = scripted(with_bug(5, bug), 12);
    let id = c.next_id(9);
    c.submit(0, id, Request::RemoveServer { node: NodeId(4) });
    for _ in 0..3 {
        c.fire(0, Timer::Heartbeat);
        c.deliver_all();
    }
    let id = c.next_id(9);
    c.submit(0, id, Request::RemoveServer { node: NodeId(0) });
    c.deliver_all_where(|e| matches!(e.msg, Msg::Append(_)));
    c.drop_where(|_| true);
    assert_eq!(c.status(1).members, vec![NodeId(1), NodeId(2), NodeId(3)]);
    c.crash(0);
    c.restart(0);
    c.tick(Duration::from_millis(400));
    c.partition(&[&[0, 1], &[2, 3, 4]]);
    c.fire_only(0, Timer::Election);
    c.fire_only(2, Timer::Election);
    for _ in 0..4 {
        c.deliver_all();
    }
    c
}

#[test]
fn bug_vote_counted_from_non_member_elects_two_leaders() {
    // Thesis 4.1 and 4.2.2: a candidate needs a majority of its latest configuration, and a
    // server outside it does not count its own vote. With the bug n0 counts itself, wins with
    // n1 alone, and leads beside n2 in the same term.
    let ok = votes_from_outside(None);
    ok.assert_safe();
    assert_ne!(ok.status(0).role, StatusRole::Leader);
    let bad = votes_from_outside(Some(RaftBug::VoteCountedFromNonMember));
    assert!(violation(&bad).starts_with("election safety"), "{}", violation(&bad));
}

#[test]
fn every_planted_bug_has_a_scenario_here() {
    // Keeps this file in step with the zoo: adding a bug without a scenario fails here.
    assert_eq!(<RaftBug as faultline_sim::bugs::Bug>::ALL.len(), 9);
}
