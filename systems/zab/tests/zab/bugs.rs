//! One targeted test per planted bug: a scripted scenario that shows its effect where the
//! correct protocol does not have it. (The conformance tests find each bug with the default
//! sweep within a seed budget; these show what each one breaks.)

use crate::support::*;
use faultline_zab::msg::{PeerState, Snapshot, SyncBase};
use faultline_zab::tree::DataTree;
use faultline_zab::{Msg, Pos, ReadOp, Reply, SessionId, Timer, WriteOp, ZabBug, ZabRole, ZkOp, Zxid};

#[test]
fn ack_newleader_before_persist_loses_acknowledged_transactions_in_a_crash() {
    // ZOOKEEPER-3911: the follower acknowledges NEWLEADER while the synced transactions are
    // still unsynced; the leader counts them durable on it, and a crash takes them away.
    for bug in [None, Some(ZabBug::AckNewleaderBeforePersist)] {
        let mut t = epoch_acked(1, 0, 3, bug);
        let txns = vec![txn(1, 1, "/a"), txn(1, 2, "/b")];
        let out =
            t.message(n(0), Msg::NewLeader { epoch: 1, sync: 1, base: SyncBase::Diff(Pos::default()), txns });
        let acked = Msg::AckNewLeader { epoch: 1, sync: 1, last: Pos::new(2, Zxid::new(1, 2)) };
        assert_eq!(sent(&out), vec![(n(0), acked)]);
        t.crash_and_restart();
        let expected = if bug.is_some() { 0 } else { 2 };
        assert_eq!(t.node.status().last, expected, "{bug:?}");
    }
}

#[test]
fn epoch_updated_before_write_promises_one_epoch_to_two_leaders() {
    // ZOOKEEPER-2307: the accepted epoch is used and acknowledged before its file is durable;
    // after a crash the follower has forgotten its promise and makes it again, to another
    // prospective leader of the same epoch.
    for bug in [None, Some(ZabBug::EpochUpdatedBeforeWrite)] {
        let mut t = epoch_acked(1, 0, 3, bug);
        t.crash_and_restart();
        t.message(n(2), notification(2, vote(2, 0, Zxid::default()), PeerState::Leading));
        let out = t.message(n(2), Msg::LeaderInfo { epoch: 1 });
        let promised = sent(&out).iter().any(|(_, m)| matches!(m, Msg::AckEpoch { promised: true, .. }));
        assert_eq!(promised, bug.is_some(), "{bug:?}: epoch 1 promised to n2 too");
    }
}

#[test]
fn snap_sync_in_memory_only_brings_the_old_state_back_after_a_crash() {
    // ZOOKEEPER-3642: the snapshot a SNAP sync installed is acknowledged but never written.
    for bug in [None, Some(ZabBug::SnapSyncInMemoryOnly)] {
        let mut t = epoch_acked(1, 0, 3, bug);
        let mut tree = DataTree::default();
        tree.apply(&connect(SessionId::default(), 1, 1));
        tree.apply(&txn(1, 2, "/snap"));
        let base = SyncBase::Snap(Box::new(Snapshot { pos: Pos::new(2, Zxid::new(1, 2)), tree }));
        t.message(n(0), Msg::NewLeader { epoch: 1, sync: 1, base, txns: Vec::new() });
        t.crash_and_restart();
        let kept =
            matches!(t.node.tree().read(&ReadOp::GetData { path: "/snap".into() }), Reply::Data { .. });
        assert_eq!(kept, bug.is_none(), "{bug:?}");
    }
}

#[test]
fn skip_synchronization_delivers_a_history_no_quorum_holds() {
    // Zab's phase 2 skipped: n0 holds two transactions of epoch 1 that nobody else has; elected
    // with n2 (whose history is shorter), it must first synchronize n2. With the bug it
    // delivers them at once, while they are on its disk alone.
    for bug in [None, Some(ZabBug::SkipSynchronization)] {
        let mut t = epoch_acked(0, 1, 3, bug);
        let txns = vec![txn(1, 1, "/a"), txn(1, 2, "/b")];
        t.message(n(1), Msg::NewLeader { epoch: 1, sync: 1, base: SyncBase::Diff(Pos::default()), txns });
        t.advance(std::time::Duration::from_secs(2));
        t.timer(Timer::Tick); // n1 went silent: look again
        let best = vote(0, 1, Zxid::new(1, 2));
        t.message(n(2), notification(9, best, PeerState::Looking));
        t.timer(Timer::Finalize);
        t.message(n(2), Msg::FollowerInfo { accepted_epoch: 1, voter: true });
        let ack =
            Msg::AckEpoch { epoch: 2, current_epoch: 0, last: Pos::default(), trusted: true, promised: true };
        t.message(n(2), ack);
        let s = t.node.status();
        if bug.is_some() {
            assert_eq!((s.role, s.applied), (ZabRole::Leading, 2), "delivered before n2 has them");
        } else {
            assert_eq!((s.role, s.applied), (ZabRole::Establishing, 0), "waits for NEWLEADER acks");
        }
    }
}

#[test]
fn commit_before_quorum_ack_commits_on_two_of_five() {
    // A quorum of five is three; with the bug the leader and one follower commit.
    for bug in [None, Some(ZabBug::CommitBeforeQuorumAck)] {
        let mut t = leader(0, 5, bug);
        let s = SessionId { owner: 1, gen: 0 };
        t.request(rid(1, 0), request(s, 1, ZkOp::Write(WriteOp::Connect { timeout_ms: 1_000 })));
        t.message(n(1), Msg::Ack { epoch: 1, matched: 1, round: 0, touched: Vec::new() });
        let expected = if bug.is_some() { 1 } else { 0 };
        assert_eq!(t.node.status().commit, expected, "{bug:?}");
    }
}

#[test]
fn ephemerals_survive_expiry_on_every_server_but_the_leader() {
    // Session expiry must be a transaction: with the bug the leader deletes the ephemeral node
    // in its own tree only, and the followers keep it.
    for bug in [None, Some(ZabBug::EphemeralsSurviveExpiry)] {
        let mut t = leader(0, 3, bug);
        let s = SessionId { owner: 1, gen: 0 };
        t.request(rid(1, 0), request(s, 1, ZkOp::Write(WriteOp::Connect { timeout_ms: 1_000 })));
        let eph = WriteOp::Create { path: "/e".into(), data: "x".into(), ephemeral: true, sequential: false };
        t.request(rid(1, 1), request(s, 2, ZkOp::Write(eph)));
        let last = t.node.status().last;
        for _ in 0..12 {
            t.advance(tick());
            for f in [1, 2] {
                t.message(n(f), Msg::Ack { epoch: 1, matched: last, round: 0, touched: Vec::new() });
            }
            t.timer(Timer::Tick);
        }
        let proposed_expiry = t.node.status().last > last;
        let at_leader = t.node.tree().read(&ReadOp::Exists { path: "/e".into() });
        if bug.is_some() {
            assert!(
                !proposed_expiry && at_leader == Reply::Exists(None),
                "deleted locally, nothing replicated"
            );
        } else {
            assert!(proposed_expiry, "the expiry is a transaction every server delivers");
        }
    }
}
