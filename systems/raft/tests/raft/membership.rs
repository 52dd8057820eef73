//! Single-server membership changes (thesis 4.1 and 4.2).

use crate::cluster::{Cluster, RaftCluster};
use crate::replication::append;
use faultline_raft::{RaftConfig, Request, Response, StatusRole, Unavailable};
use faultline_sim::NodeId;
use std::time::Duration;

fn ids(v: &[u32]) -> Vec<NodeId> {
    v.iter().map(|&i| NodeId(i)).collect()
}

/// Four processes, of which n0..n2 form the initial cluster.
fn three_of_four(seed: u64) -> Cluster {
    Cluster::with_config(4, RaftConfig::with_members(3), seed)
}

#[test]
fn raft_a_server_added_while_writes_continue_catches_up_and_counts() {
    // Thesis 4.1: the new configuration is an entry; it applies on append; n3 catches up.
    let mut c = three_of_four(71);
    c.call(0, append("k", "a"));
    assert_eq!(c.status(3).role, StatusRole::Follower);
    assert_eq!(c.call(9, Request::AddServer { node: NodeId(3) }), Response::Members(ids(&[0, 1, 2, 3])));
    for i in 0..5 {
        c.call(0, append("k", &i.to_string()));
    }
    assert!(c.run_until(Cluster::converged, Duration::from_secs(2)));
    assert_eq!(c.node(3).kv().get("k"), Some("a01234"));
    assert_eq!(c.status(3).members, ids(&[0, 1, 2, 3]));
    // Now four members: two of them down leaves no majority.
    let leader = c.leader().unwrap() as u32;
    let others: Vec<u32> = (0..4).filter(|n| *n != leader).collect();
    c.crash(others[0]);
    c.crash(others[1]);
    let id = c.next_id(0);
    c.submit(leader as usize, id, append("k", "x"));
    c.run_for(Duration::from_millis(500));
    assert_eq!(c.answer(id), None, "committed without a majority of four");
    c.assert_safe();
}

#[test]
fn raft_a_removed_leader_steps_down_after_committing_its_removal() {
    // Thesis 4.2.2: the leader replicates the configuration that excludes it, does not count
    // itself in majorities for it, steps down once it commits, and never campaigns again.
    let config = RaftConfig { min_members: 1, ..RaftConfig::with_members(3) };
    let mut c = Cluster::with_config(3, config, 72);
    let leader = c.elect() as u32;
    let members: Vec<u32> = (0..3).filter(|n| *n != leader).collect();
    assert_eq!(c.call(9, Request::RemoveServer { node: NodeId(leader) }), Response::Members(ids(&members)));
    c.run_for(Duration::from_secs(2));
    assert_ne!(c.status(leader as usize).role, StatusRole::Leader);
    let new = c.elect() as u32;
    assert_ne!(new, leader);
    let term = c.status(new as usize).term;
    assert_eq!(c.call(0, append("k", "after")), Response::Written);
    c.run_for(Duration::from_secs(3));
    assert_eq!(c.status(new as usize).term, term, "the removed node disrupted the cluster");
    c.assert_safe();
}

#[test]
fn raft_one_membership_change_at_a_time() {
    // Thesis 4.1: a second change waits until the first is committed.
    let mut c = three_of_four(73);
    let leader = c.elect();
    let first = c.next_id(9);
    let second = c.next_id(9);
    c.submit(leader, first, Request::AddServer { node: NodeId(3) });
    c.submit(leader, second, Request::RemoveServer { node: NodeId(3) });
    assert_eq!(c.replies_to(second).next(), Some(&Response::Unavailable(Unavailable::ConfigChangePending)));
    c.deliver_all();
    assert_eq!(c.answer(first), Some(&Response::Members(ids(&[0, 1, 2, 3]))));
}

#[test]
fn raft_changes_wait_for_the_leaders_first_commit_and_invalid_changes_are_refused() {
    // The single-server change fix (Ongaro, 2015): a leader must commit an entry of its term
    // before changing membership; a cluster cannot remove its last member, nor shrink below
    // its configured minimum.
    let mut c = Cluster::new(1, 74);
    c.elect();
    assert_eq!(
        c.call(9, Request::RemoveServer { node: NodeId(0) }),
        Response::Invalid { reason: "the cluster keeps at least 1 members".into() }
    );
    let mut c = Cluster::new(3, 76);
    c.elect();
    assert_eq!(
        c.call(9, Request::RemoveServer { node: NodeId(1) }),
        Response::Invalid { reason: "the cluster keeps at least 3 members".into() }
    );
    let mut c = Cluster::new(3, 75);
    c.freeze_timers();
    c.tick(Duration::from_millis(400));
    c.campaign_holding(0, |e| matches!(e.msg, faultline_raft::Msg::Append(_)));
    let id = c.next_id(9);
    c.submit(0, id, Request::AddServer { node: NodeId(3) });
    assert_eq!(
        c.replies().last().map(|r| &r.resp),
        Some(&Response::Unavailable(Unavailable::LeaderNotReady))
    );
}

#[test]
fn raft_membership_changes_during_partitions_and_crashes_stay_safe() {
    // Thesis 4.1 under faults: grow to five, shrink to three, with a leader crash and a
    // partition in between; every invariant holds and the survivors converge.
    for seed in 0..5 {
        let mut c = Cluster::with_config(5, RaftConfig::with_members(3), 80 + seed);
        c.call(9, Request::AddServer { node: NodeId(3) });
        c.call(0, append("k", "a"));
        let leader = c.elect() as u32;
        c.crash(leader);
        c.call(9, Request::AddServer { node: NodeId(4) });
        c.restart(leader);
        c.partition(&[&[0, 1], &[2, 3, 4]]);
        c.run_for(Duration::from_millis(800));
        c.heal();
        c.call(9, Request::RemoveServer { node: NodeId(0) });
        c.call(9, Request::RemoveServer { node: NodeId(1) });
        c.call(0, append("k", "b"));
        let l = c.elect();
        assert_eq!(c.status(l).members, ids(&[2, 3, 4]), "seed {seed}");
        assert_eq!(c.get(1, "k"), Response::Value(Some("ab".into())), "seed {seed}");
        c.assert_safe();
    }
}

#[test]
fn raft_a_removed_leader_that_lost_leadership_before_committing_its_removal_can_finish_it() {
    // Thesis 4.2.2: "a server that is not part of its own latest configuration should still
    // start new elections, as it might still be needed until the Cnew entry is committed".
    // n0 appends its own removal, reaching only n1; n1 goes down and n0 steps down (check
    // quorum). n2 and n3 cannot elect each other (they need 3 of the old 4, and n0 has a
    // longer log), so only n0, outside its latest configuration, can lead and commit it.
    let mut c = Cluster::new(4, 76);
    c.freeze_timers();
    c.tick(Duration::from_millis(400));
    c.campaign(0);
    c.fire(0, faultline_raft::Timer::Heartbeat);
    c.cut_both(0, 2);
    c.cut_both(0, 3);
    let id = c.next_id(9);
    c.submit(0, id, Request::RemoveServer { node: NodeId(0) });
    c.deliver_all();
    assert_eq!(c.answer(id), None, "the removal needs n2 or n3 to commit");
    c.crash(1);
    // Two quorum-check windows of six heartbeats: the first still counts the earlier acks.
    for _ in 0..12 {
        c.tick(Duration::from_millis(50));
        c.fire(0, faultline_raft::Timer::Heartbeat);
    }
    assert_eq!(c.status(0).role, StatusRole::Follower, "check quorum stepped n0 down");
    c.heal();
    assert!(c.run_until_converged(), "no leader: {:?}", c.pending());
    let leader = c.leader().unwrap();
    assert_ne!(leader, 0);
    assert_eq!(c.status(leader).members, ids(&[1, 2, 3]));
    c.assert_safe();
}
