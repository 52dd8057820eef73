//! Log replication and commitment scenarios (sections 5.3 and 5.4).

use crate::cluster::{Cluster, RaftCluster};
use faultline_raft::msg::AppendResult;
use faultline_raft::{Msg, RaftConfig, Request, Response, StatusRole, Timer};
use faultline_sim::NodeId;
use std::time::Duration;

pub fn append(key: &str, value: &str) -> Request {
    Request::append(key, value)
}

#[test]
fn raft_writes_commit_on_a_majority_and_every_node_applies_the_same_state() {
    // Section 5.3: entries replicate to all, commit on a majority, apply in order everywhere.
    for seed in 0..10 {
        let mut c = Cluster::new(5, seed);
        for i in 0..20 {
            assert_eq!(c.call(i % 3, append("k", &i.to_string())), Response::Written);
        }
        let expected: String = (0..20).map(|i: u32| i.to_string()).collect();
        assert_eq!(c.get(9, "k"), Response::Value(Some(expected)));
        assert!(c.run_until(Cluster::converged, Duration::from_secs(1)), "seed {seed}: replicas diverge");
        c.assert_safe();
    }
}

#[test]
fn raft_a_follower_far_behind_catches_up_with_few_round_trips() {
    // Section 5.3, fast back-off: a follower missing 60 entries answers the first probe with
    // its log end, so the leader skips straight there instead of stepping back one by one.
    let config = RaftConfig { snapshot_threshold: 1000, ..RaftConfig::with_members(3) };
    let mut c = Cluster::with_config(3, config, 4);
    let leader = c.elect() as u32;
    let lagging = (leader + 1) % 3;
    c.crash(lagging);
    for i in 0..60 {
        c.call(0, append("k", &i.to_string()));
    }
    c.restart(lagging);
    let conflicts = count_conflicts(&mut c, Duration::from_secs(2));
    assert!(c.converged(), "the follower did not catch up");
    assert!(conflicts <= 2, "{conflicts} conflict replies: back-off is not fast");
    c.assert_safe();
}

/// Runs the network for `d`, counting AppendEntries conflict replies.
fn count_conflicts(c: &mut Cluster, d: Duration) -> usize {
    let mut conflicts = 0;
    for _ in 0..d.as_millis() {
        while let Some(env) = c.queue().front() {
            if let Msg::AppendReply(r) = &env.msg {
                conflicts += usize::from(matches!(r.result, AppendResult::Conflict { .. }));
            }
            c.deliver_one();
        }
        c.tick(Duration::from_millis(1));
    }
    conflicts
}

#[test]
fn raft_an_isolated_leaders_uncommitted_entries_are_overwritten_after_the_heal() {
    // Figure 7: a deposed leader holds entries no majority has; the new leader's log wins,
    // the old entries are truncated and their clients were told to retry elsewhere.
    let mut c = Cluster::new(3, 17);
    let old = c.elect();
    c.call(0, append("k", "a"));
    c.isolate(old as u32);
    let stale = c.next_id(1);
    c.submit(old, stale, append("k", "lost"));
    assert!(c.run_until(|c| c.leader().is_some_and(|l| l != old), Duration::from_secs(5)));
    assert_eq!(c.call(2, append("k", "b")), Response::Written);
    c.heal();
    assert!(c.run_until(Cluster::converged, Duration::from_secs(2)));
    assert_eq!(c.get(3, "k"), Response::Value(Some("ab".into())));
    let told: Vec<&Response> = c.replies_to(stale).collect();
    assert!(matches!(told.as_slice(), [Response::NotLeader { .. }]), "{told:?}");
    c.assert_safe();
}

#[test]
fn raft_duplicated_and_reordered_append_entries_are_harmless() {
    // Section 5.3: AppendEntries is idempotent and a delayed, shorter one never truncates
    // matching entries (Figure 2, receiver step 3). Every message is duplicated and the queue
    // reversed before each delivery round.
    for seed in 0..10 {
        let mut c = Cluster::new(3, 40 + seed);
        c.elect();
        for i in 0..10 {
            let id = c.next_id(0);
            let leader = c.elect();
            c.submit(leader, id, append("k", &i.to_string()));
            for _ in 0..20 {
                c.duplicate_where(|_| true);
                c.reverse_queue();
                c.deliver_all();
                c.tick(Duration::from_millis(5));
            }
        }
        assert!(c.run_until(Cluster::converged, Duration::from_secs(2)), "seed {seed}");
        let expected: String = (0..10).map(|i: u32| i.to_string()).collect();
        assert_eq!(c.get(1, "k"), Response::Value(Some(expected)), "seed {seed}");
        c.assert_safe();
    }
}

/// Figure 8 of the paper, scripted on five nodes with one entry per message. Returns the
/// cluster at step (d): n4, whose log ends in a term-2 entry at index 2, has just been elected.
/// With the correct commit rule, n0 never commits the term-1 entry at index 2 in step (c), so
/// overwriting it in (d) is legal; with `CommitOldTermByCounting` it did, and (d) loses it.
pub fn figure8(config: RaftConfig) -> Cluster {
    let config = RaftConfig { max_entries_per_message: 1, ..config };
    let mut c = Cluster::with_config(5, config, 8);
    c.freeze_timers();
    c.tick(Duration::from_millis(400));
    c.campaign(0); // term 1; its no-op (1, t1) reaches everyone
    c.fire(0, Timer::Heartbeat);
    // (a) n0 replicates (2, t1) to n1 only.
    for peer in [2, 3, 4] {
        c.cut_both(0, peer);
    }
    let id = c.next_id(0);
    c.submit(0, id, append("k", "t1"));
    c.deliver_all();
    // (b) n0 crashes; n4 wins term 2 with n2 and n3 and appends (2, t2) only locally.
    c.crash(0);
    c.heal();
    c.tick(Duration::from_millis(400));
    c.campaign_holding(4, |e| e.from == NodeId(4) && matches!(e.msg, Msg::Append(_)));
    c.drop_where(|e| e.from == NodeId(4));
    // (c) n4 crashes; n0 restarts and wins term 3 with n1, n2 and n3; it replicates its no-op
    // (3, t3) to n1 and the term-1 entry (2, t1) to n2, but not yet the no-op to n2 or n3.
    c.crash(4);
    c.restart(0);
    c.tick(Duration::from_millis(400));
    c.campaign_holding(0, |e| e.from == NodeId(0) && matches!(e.msg, Msg::Append(_)));
    c.deliver_where(|e| e.to == NodeId(1) && e.from == NodeId(0));
    c.deliver_where(|e| e.to == NodeId(0));
    c.deliver_where(|e| e.to == NodeId(2) && e.from == NodeId(0)); // conflict hint back
    c.deliver_where(|e| e.to == NodeId(0));
    c.deliver_where(|e| e.to == NodeId(2) && e.from == NodeId(0)); // (2, t1)
    c.deliver_where(|e| e.to == NodeId(0) && e.from == NodeId(2));
    c.queue_mut().clear();
    // (d) n0 crashes again; n4 restarts and wins term 4 with n2 and n3.
    c.crash(0);
    c.restart(4);
    c.tick(Duration::from_millis(400));
    c.campaign(4);
    c.fire(4, Timer::Heartbeat);
    c.fire(4, Timer::Heartbeat);
    c
}

#[test]
fn raft_a_leader_does_not_commit_an_earlier_terms_entry_by_counting_figure_8() {
    // Section 5.4.2 and Figure 8: in step (c) a majority holds (2, t1), but it is not of the
    // leader's term, so it stays uncommitted; step (d) may then overwrite it safely.
    let c = figure8(RaftConfig::with_members(5));
    assert_eq!(c.status(4).role, StatusRole::Leader);
    assert_eq!(c.status(2).last_log.term, 4, "n4's history replaced the uncommitted entry");
    c.assert_safe();
}
