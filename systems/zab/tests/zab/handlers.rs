//! Handler tests: drive one server by hand, feed it one input, and compare what it emits
//! (openraft's `engine/tests` style). Each cites the part of the protocol it checks: the DSN
//! 2011 paper's phases, ZooKeeper's fast leader election (FLE) and its Zab 1.0 messages.

use crate::support::*;
use faultline_sim::Command;
use faultline_zab::msg::{PeerState, Snapshot, SyncBase};
use faultline_zab::tree::DataTree;
use faultline_zab::{
    Msg, Pos, Reply, SessionId, Standing, Timer, Unavailable, WriteOp, ZabRole, ZkOp, ZkResponse, Zxid,
};
use std::time::Duration;

#[test]
fn zab_handler_a_starting_server_votes_for_itself_and_tells_everyone() {
    // FLE: a looking server starts a round voting for itself (its epoch and last zxid).
    let mut t = faultline_sim::testing::TestNode::new(n(0), 7, || {
        faultline_zab::Zab::new(faultline_zab::ZabConfig::default()).unwrap()
    });
    let out = t.start();
    let mine = notification(1, vote(0, 0, Zxid::default()), PeerState::Looking);
    assert_eq!(
        out,
        vec![
            Command::CancelTimer { timer: Timer::Finalize },
            Command::SetTimer { timer: Timer::Tick, after: tick() },
            send(1, mine.clone()),
            send(2, mine),
        ]
    );
}

#[test]
fn zab_handler_a_better_vote_is_adopted_and_a_quorum_arms_the_finalize_wait() {
    // FLE: a vote with a later history wins; a quorum that agrees waits finalizeWait for a
    // better one before deciding.
    let mut t = server(0, 3, None);
    let better = vote(2, 3, Zxid::new(3, 4));
    let out = t.message(n(2), notification(1, better, PeerState::Looking));
    let adopted = notification(1, better, PeerState::Looking);
    assert_eq!(
        out,
        vec![
            Command::SetTimer { timer: Timer::Finalize, after: Duration::from_millis(30) },
            send(1, adopted.clone()),
            send(2, adopted),
        ]
    );
    // The wait is over and no better vote came: follow n2, telling it the accepted epoch.
    let out = t.timer(Timer::Finalize);
    assert_eq!(
        out,
        vec![
            Command::CancelTimer { timer: Timer::Finalize },
            send(2, Msg::FollowerInfo { accepted_epoch: 0, voter: true })
        ]
    );
}

#[test]
fn zab_handler_a_looking_server_joins_an_established_leader_without_a_new_round() {
    // FLE's out-of-election path: a leader that says it leads, with a quorum behind it, is
    // followed at once. One whose history is worse than this server's is not.
    let mut t = server(2, 3, None);
    t.message(n(0), notification(4, vote(0, 0, Zxid::default()), PeerState::Leading));
    assert_eq!(t.node.status().role, ZabRole::Syncing);
    assert_eq!(t.node.status().leader, Some(n(0)));
}

#[test]
fn zab_handler_the_leader_proposes_one_past_the_highest_accepted_epoch_and_keeps_it_first() {
    // Discovery (paper, phase 1): the new epoch exceeds every accepted epoch of a quorum, and
    // the leader accepts it durably before it tells anyone.
    let mut t = elected(0, 3, None);
    let out = t.message(n(1), Msg::FollowerInfo { accepted_epoch: 6, voter: true });
    assert_eq!(out, vec![send(1, Msg::LeaderInfo { epoch: 7 })]);
    t.crash_and_restart();
    assert_eq!(t.node.status().accepted_epoch, 7, "the epoch was durable before LEADERINFO left");
}

#[test]
fn zab_handler_a_follower_accepts_an_epoch_durably_and_promises_it_to_one_leader_only() {
    // Discovery: ACKEPOCH carries the current epoch and the history's end; an epoch accepted
    // from another leader is answered but is no promise (ZooKeeper's -1).
    let mut t = epoch_acked(1, 0, 3, None);
    assert_eq!(t.node.status().accepted_epoch, 1);
    let again = t.message(n(0), Msg::LeaderInfo { epoch: 1 });
    let ack =
        Msg::AckEpoch { epoch: 1, current_epoch: 0, last: Pos::default(), trusted: true, promised: true };
    assert_eq!(again, vec![send(0, ack)], "a resent LEADERINFO gets the same promise");
    t.crash_and_restart();
    assert_eq!(t.node.status().accepted_epoch, 1, "the accepted epoch was durable before ACKEPOCH");
    // After the restart it follows n2, which happens to propose the same epoch: no promise.
    t.message(n(2), notification(2, vote(2, 0, Zxid::default()), PeerState::Leading));
    t.message(n(0), notification(2, vote(2, 0, Zxid::default()), PeerState::Following));
    let out = t.message(n(2), Msg::LeaderInfo { epoch: 1 });
    let ack =
        Msg::AckEpoch { epoch: 1, current_epoch: 0, last: Pos::default(), trusted: true, promised: false };
    assert_eq!(sent(&out), vec![(n(2), ack)]);
}

#[test]
fn zab_handler_a_follower_leaves_a_leader_that_proposes_a_stale_epoch() {
    // ZooKeeper's follower throws ("Leaders epoch is less than accepted epoch") and looks.
    let mut t = epoch_acked(1, 0, 3, None);
    t.message(n(0), Msg::LeaderInfo { epoch: 5 });
    // n0 never completes the sync: past the init limit the follower looks again.
    t.advance(Duration::from_secs(2));
    t.timer(Timer::Tick);
    assert_eq!(t.node.status().role, ZabRole::Looking);
    t.message(n(2), notification(9, vote(2, 0, Zxid::default()), PeerState::Leading));
    t.message(n(0), notification(9, vote(2, 0, Zxid::default()), PeerState::Following));
    t.message(n(2), Msg::LeaderInfo { epoch: 3 });
    assert_eq!(t.node.status().role, ZabRole::Looking);
}

#[test]
fn zab_handler_a_leader_gives_up_when_a_follower_has_a_later_history() {
    // ZooKeeper's leader, waiting for epoch acks: "Follower is ahead of the leader".
    let mut t = elected(0, 3, None);
    t.message(n(1), Msg::FollowerInfo { accepted_epoch: 0, voter: true });
    let later = Pos::new(4, Zxid::new(0, 4));
    t.message(n(1), Msg::AckEpoch { epoch: 1, current_epoch: 0, last: later, trusted: true, promised: true });
    assert_eq!(t.node.status().role, ZabRole::Looking);
}

#[test]
fn zab_handler_an_established_leader_sends_a_diff_and_broadcasts_after_a_quorum_acknowledged() {
    // Synchronization (paper, phase 2): NEWLEADER follows the sync; the history commits once
    // a quorum acknowledged it, then UPTODATE.
    let mut t = elected(0, 3, None);
    t.message(n(1), Msg::FollowerInfo { accepted_epoch: 0, voter: true });
    let ack =
        Msg::AckEpoch { epoch: 1, current_epoch: 0, last: Pos::default(), trusted: true, promised: true };
    let out = t.message(n(1), ack);
    let newleader =
        Msg::NewLeader { epoch: 1, sync: 1, base: SyncBase::Diff(Pos::default()), txns: Vec::new() };
    assert_eq!(out, vec![send(1, newleader)]);
    assert_eq!(t.node.status().role, ZabRole::Establishing);
    assert_eq!(t.node.status().current_epoch, 1);
    let out = t.message(n(1), Msg::AckNewLeader { epoch: 1, sync: 1, last: Pos::default() });
    let heartbeat = Msg::Propose { epoch: 1, prev: Pos::default(), txns: Vec::new(), commit: 0, round: 0 };
    assert_eq!(out, vec![send(1, Msg::UpToDate { epoch: 1, commit: 0 }), send(1, heartbeat)]);
    assert_eq!(t.node.status().role, ZabRole::Leading);
}

#[test]
fn zab_handler_a_follower_makes_a_diff_and_its_epoch_durable_before_acknowledging_newleader() {
    // ZOOKEEPER-3911's rule: NEWLEADER is acknowledged only once what the sync gave is durable.
    let mut t = epoch_acked(1, 0, 3, None);
    let txns = vec![txn(1, 1, "/a"), txn(1, 2, "/b")];
    let newleader = Msg::NewLeader { epoch: 1, sync: 1, base: SyncBase::Diff(Pos::default()), txns };
    let out = t.message(n(0), newleader);
    let last = Pos::new(2, Zxid::new(1, 2));
    assert_eq!(out, vec![send(0, Msg::AckNewLeader { epoch: 1, sync: 1, last })]);
    t.crash_and_restart();
    let s = t.node.status();
    assert_eq!((s.last, s.last_zxid, s.current_epoch), (2, Zxid::new(1, 2), 1));
}

#[test]
fn zab_handler_trunc_drops_a_divergent_suffix_durably_and_a_missing_base_asks_for_snap() {
    // TRUNC: an uncommitted suffix of an older epoch is cut, then the leader's history follows.
    let mut t = epoch_acked(1, 0, 3, None);
    let mine = vec![txn(1, 1, "/a"), txn(1, 2, "/b")];
    t.message(n(0), Msg::NewLeader { epoch: 1, sync: 1, base: SyncBase::Diff(Pos::default()), txns: mine });
    t.message(n(0), Msg::LeaderInfo { epoch: 2 });
    let theirs = vec![txn(2, 1, "/c")];
    let trunc = SyncBase::Trunc(Pos::new(1, Zxid::new(1, 1)));
    t.message(n(0), Msg::NewLeader { epoch: 2, sync: 1, base: trunc, txns: theirs });
    t.crash_and_restart();
    assert_eq!((t.node.status().last, t.node.status().last_zxid), (2, Zxid::new(2, 1)));
    // A DIFF from a position this history does not hold cannot be applied: SNAP instead.
    let mut t = epoch_acked(1, 0, 3, None);
    let diff = SyncBase::Diff(Pos::new(5, Zxid::new(1, 5)));
    let out = t.message(n(0), Msg::NewLeader { epoch: 1, sync: 1, base: diff, txns: Vec::new() });
    assert_eq!(out, vec![send(0, Msg::NeedSnap { epoch: 1 })]);
}

#[test]
fn zab_handler_a_duplicated_older_newleader_is_ignored() {
    // The network duplicates and reorders: a NEWLEADER older than the one applied would cut
    // what the follower received since.
    let mut t = epoch_acked(1, 0, 3, None);
    let empty = Msg::NewLeader { epoch: 1, sync: 1, base: SyncBase::Diff(Pos::default()), txns: Vec::new() };
    t.message(n(0), empty.clone());
    t.message(n(0), Msg::UpToDate { epoch: 1, commit: 0 });
    let propose =
        Msg::Propose { epoch: 1, prev: Pos::default(), txns: vec![txn(1, 1, "/a")], commit: 0, round: 1 };
    t.message(n(0), propose);
    assert_eq!(t.message(n(0), empty), vec![]);
    assert_eq!(t.node.status().last, 1);
}

#[test]
fn zab_handler_snap_replaces_the_tree_durably() {
    // SNAP: the leader's tree as of its applied position, and what follows it.
    let mut t = epoch_acked(1, 0, 3, None);
    let mut tree = DataTree::default();
    tree.apply(&connect(SessionId::default(), 1, 1));
    tree.apply(&txn(1, 2, "/snap"));
    let snapshot = Snapshot { pos: Pos::new(2, Zxid::new(1, 2)), tree };
    let base = SyncBase::Snap(Box::new(snapshot));
    let out = t.message(n(0), Msg::NewLeader { epoch: 1, sync: 1, base, txns: vec![txn(1, 3, "/after")] });
    let last = Pos::new(3, Zxid::new(1, 3));
    assert_eq!(out, vec![send(0, Msg::AckNewLeader { epoch: 1, sync: 1, last })]);
    t.crash_and_restart();
    let s = t.node.status();
    assert_eq!((s.applied, s.last), (2, 3));
    assert!(matches!(
        t.node.tree().read(&faultline_zab::ReadOp::GetData { path: "/snap".into() }),
        Reply::Data { .. }
    ));
}

#[test]
fn zab_handler_a_follower_appends_what_follows_its_history_and_acknowledges_once_durable() {
    // Broadcast (paper, phase 3): ACK after the proposal is logged; a proposal that does not
    // follow (a gap: one was lost) changes nothing and the ACK says where the follower stands.
    let mut t = follower(1, 0, 3, None);
    let p1 =
        Msg::Propose { epoch: 1, prev: Pos::default(), txns: vec![txn(1, 1, "/a")], commit: 0, round: 3 };
    assert_eq!(
        t.message(n(0), p1),
        vec![send(0, Msg::Ack { epoch: 1, matched: 1, round: 3, touched: Vec::new() })]
    );
    let gap = Msg::Propose {
        epoch: 1,
        prev: Pos::new(5, Zxid::new(1, 5)),
        txns: vec![txn(1, 6, "/x")],
        commit: 1,
        round: 4,
    };
    assert_eq!(
        t.message(n(0), gap),
        vec![send(0, Msg::Ack { epoch: 1, matched: 1, round: 4, touched: Vec::new() })]
    );
    assert_eq!((t.node.status().last, t.node.status().applied), (1, 1), "the commit reached it");
}

#[test]
fn zab_handler_the_leader_commits_on_a_quorum_of_acknowledgements() {
    // Broadcast: COMMIT once a quorum (the leader included) logged the proposal.
    let mut t = leader(0, 3, None);
    let s = SessionId { owner: 1, gen: 0 };
    t.request(rid(1, 0), request(s, 1, ZkOp::Write(WriteOp::Connect { timeout_ms: 1_000 })));
    assert_eq!(t.node.status().commit, 0);
    let out = t.message(n(1), Msg::Ack { epoch: 1, matched: 1, round: 0, touched: Vec::new() });
    assert_eq!(
        out,
        vec![
            send(1, Msg::Commit { epoch: 1, commit: 1 }),
            send(2, Msg::Commit { epoch: 1, commit: 1 }),
            Command::Reply {
                to: rid(1, 0),
                resp: ZkResponse::Done { zxid: Zxid::new(1, 1), reply: Reply::Connected }
            },
        ]
    );
}

#[test]
fn zab_handler_a_silent_session_is_expired_with_a_transaction() {
    // Sessions are owned by the leader: one silent past its timeout is closed by a replicated
    // transaction (ZooKeeper's SessionTracker, then a closeSession).
    let mut t = leader(0, 3, None);
    let s = SessionId { owner: 1, gen: 0 };
    t.request(rid(1, 0), request(s, 1, ZkOp::Write(WriteOp::Connect { timeout_ms: 1_000 })));
    t.message(n(1), Msg::Ack { epoch: 1, matched: 1, round: 0, touched: Vec::new() });
    for _ in 0..12 {
        t.advance(tick());
        t.message(n(1), Msg::Ack { epoch: 1, matched: 1, round: 0, touched: Vec::new() });
        t.message(n(2), Msg::Ack { epoch: 1, matched: 1, round: 0, touched: Vec::new() });
        t.timer(Timer::Tick);
    }
    let expired =
        faultline_zab::Txn { zxid: Zxid::new(1, 2), body: faultline_zab::TxnBody::Expire { session: s } };
    assert_eq!(t.node.status().last_zxid, expired.zxid, "the expiry was proposed");
    let out = t.message(n(1), Msg::Ack { epoch: 1, matched: 2, round: 0, touched: Vec::new() });
    assert!(sent(&out).contains(&(n(1), Msg::Commit { epoch: 1, commit: 2 })));
    assert_eq!(t.node.tree().session(s), faultline_zab::tree::SessionState::Closed);
}

#[test]
fn zab_handler_who_answers_which_request() {
    // Local reads at any serving server, at a zxid no lower than the client saw; writes are
    // forwarded to the leader; a server that does not serve refuses.
    let mut t = follower(1, 0, 3, None);
    let s = SessionId { owner: 1, gen: 0 };
    let write = request(
        s,
        1,
        ZkOp::Write(WriteOp::Create {
            path: "/a".into(),
            data: "x".into(),
            ephemeral: false,
            sequential: false,
        }),
    );
    let out = t.request(rid(1, 0), write.clone());
    assert_eq!(
        out,
        vec![send(0, Msg::Forward { origin: faultline_zab::ReplyTo::Client(rid(1, 0)), req: write })]
    );
    let mut behind = request(s, 2, get("/a", false));
    behind.min_zxid = Zxid::new(1, 9);
    let out = t.request(rid(1, 1), behind);
    let refused = ZkResponse::Unavailable { reason: Unavailable::Behind, hint: Some(n(0)) };
    assert_eq!(out, vec![Command::Reply { to: rid(1, 1), resp: refused }]);
    let mut looking = server(2, 3, None);
    let out = looking.request(rid(1, 2), request(s, 3, get("/a", false)));
    let refused = ZkResponse::Unavailable { reason: Unavailable::NotServing, hint: None };
    assert_eq!(out, vec![Command::Reply { to: rid(1, 2), resp: refused }]);
}

#[test]
fn zab_handler_a_damaged_log_makes_a_server_repair_and_it_never_leads_meanwhile() {
    // Protocol-aware recovery: acknowledged transactions may be gone, so the server counts in
    // no quorum (its ACKEPOCH says untrusted) and refuses to lead, until UPTODATE.
    let mut t = follower(1, 0, 3, None);
    let p = Msg::Propose {
        epoch: 1,
        prev: Pos::default(),
        txns: vec![txn(1, 1, "/a"), txn(1, 2, "/b")],
        commit: 0,
        round: 1,
    };
    t.message(n(0), p);
    let p = Msg::Propose {
        epoch: 1,
        prev: Pos::new(2, Zxid::new(1, 2)),
        txns: vec![txn(1, 3, "/c")],
        commit: 0,
        round: 2,
    };
    t.message(n(0), p);
    let log = t.disk.read_all(faultline_zab::storage::LOG_FILE).unwrap().unwrap();
    // Flip a byte inside the first batch: the records after it are intact, so this is not a tear.
    use faultline_sim::Storage;
    t.disk.write(faultline_zab::storage::LOG_FILE, 40, &[log[40] ^ 0x10]).unwrap();
    t.disk.sync(faultline_zab::storage::LOG_FILE).unwrap();
    t.crash_and_restart();
    assert!(t.node.recovery_report().log_damaged);
    assert_eq!(t.node.status().standing, Standing::Repairing);
    let untrusted =
        faultline_zab::msg::Vote { trusted: false, epoch: 1, zxid: Zxid::default(), leader: n(1) };
    t.message(n(2), notification(9, untrusted, PeerState::Looking));
    t.timer(Timer::Finalize);
    assert_ne!(t.node.status().role, ZabRole::Discovering, "a repairing server does not lead");
    // An established leader synchronizes it: it becomes a voter again.
    t.message(n(0), notification(9, vote(0, 1, Zxid::new(1, 3)), PeerState::Leading));
    t.message(n(0), Msg::LeaderInfo { epoch: 2 });
    let snap = SyncBase::Snap(Box::new(Snapshot { pos: Pos::default(), tree: DataTree::default() }));
    t.message(n(0), Msg::NewLeader { epoch: 2, sync: 1, base: snap, txns: vec![txn(1, 1, "/a")] });
    t.message(n(0), Msg::UpToDate { epoch: 2, commit: 1 });
    assert_eq!(t.node.status().standing, Standing::Voter);
}
