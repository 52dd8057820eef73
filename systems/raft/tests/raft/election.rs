//! Leader election scenarios (section 5.2, pre-vote thesis 9.6, stickiness thesis 4.2.3).

use crate::cluster::{Cluster, RaftCluster};
use faultline_raft::{Msg, StatusRole};
use std::time::Duration;

#[test]
fn raft_three_nodes_elect_exactly_one_leader() {
    // Section 5.2: randomized timeouts elect one leader; everyone agrees on its term. Over many
    // seeds, checked by the election safety checker after every step.
    for seed in 0..20 {
        let mut c = Cluster::new(3, seed);
        let l = c.elect();
        let term = c.status(l).term;
        c.run_for(Duration::from_secs(2));
        assert_eq!(c.leader(), Some(l), "seed {seed}: a stable cluster keeps its leader");
        assert_eq!(c.status(l).term, term, "seed {seed}: no elections while the leader is healthy");
        for i in 0..3 {
            assert_eq!(c.status(i).leader, Some(faultline_sim::NodeId(l as u32)), "seed {seed}");
        }
        c.assert_safe();
    }
}

#[test]
fn raft_single_node_cluster_elects_itself_and_commits_alone() {
    // A one-member majority is the node itself: pre-vote and vote succeed without messages.
    let mut c = Cluster::new(1, 3);
    let l = c.elect();
    assert_eq!(l, 0);
    assert_eq!(c.put(0, "k", "v"), faultline_raft::Response::Written);
    assert_eq!(c.get(0, "k"), faultline_raft::Response::Value(Some("v".into())));
}

#[test]
fn raft_partition_isolates_the_leader_and_the_majority_elects_a_new_one() {
    // Section 5.2: the majority side times out and elects a leader in a higher term; after the
    // heal the old leader learns the term and steps down (section 5.1).
    let mut c = Cluster::new(3, 11);
    let old = c.elect() as u32;
    c.isolate(old);
    let found = c.run_until(|c| c.leader().is_some_and(|l| l as u32 != old), Duration::from_secs(5));
    assert!(found, "the majority elected no new leader");
    let new = c.leader().unwrap();
    assert!(c.status(new).term > c.status(old as usize).term);
    c.heal();
    c.run_for(Duration::from_secs(1));
    assert_eq!(c.status(old as usize).role, StatusRole::Follower);
    assert_eq!(c.leader(), Some(new));
    c.assert_safe();
}

#[test]
fn raft_prevote_keeps_a_rejoining_partitioned_node_from_disrupting_the_leader() {
    // Thesis 9.6: a node cut off for a long time keeps timing out, but as a pre-candidate it
    // never increments its term, so when it rejoins the leader is not deposed.
    let mut c = Cluster::new(3, 5);
    let leader = c.elect();
    let term = c.status(leader).term;
    let loner = ((leader + 1) % 3) as u32;
    c.isolate(loner);
    c.run_for(Duration::from_secs(3));
    assert_eq!(c.status(loner as usize).term, term, "pre-votes do not raise the term");
    assert_ne!(c.status(loner as usize).role, StatusRole::Leader);
    c.heal();
    c.run_for(Duration::from_secs(2));
    assert_eq!(c.leader(), Some(leader), "the leader was not disrupted");
    assert_eq!(c.status(leader).term, term);
    assert_eq!(c.status(loner as usize).role, StatusRole::Follower);
    c.assert_safe();
}

#[test]
fn raft_a_node_that_hears_the_leader_refuses_prevotes() {
    // Thesis 9.6 with 4.2.3: one-way cut from the leader to node b; b times out and asks c for
    // pre-votes, but c still hears the leader and refuses, so nobody's term moves.
    let mut c = Cluster::new(3, 21);
    let leader = c.elect() as u32;
    let term = c.status(leader as usize).term;
    let b = (leader + 1) % 3;
    c.cut(leader, b);
    c.run_for(Duration::from_secs(3));
    assert_eq!(c.leader(), Some(leader as usize));
    assert_eq!(c.status(leader as usize).term, term);
    c.assert_safe();
}

#[test]
fn raft_leader_steps_down_when_it_loses_its_quorum() {
    // Check quorum: a leader that hears from no majority for an election timeout stops
    // claiming leadership, so clients are redirected instead of waiting on it.
    let mut c = Cluster::new(3, 8);
    let leader = c.elect() as u32;
    c.isolate(leader);
    c.run_for(Duration::from_secs(1));
    assert_ne!(c.status(leader as usize).role, StatusRole::Leader);
    c.assert_safe();
}

#[test]
fn raft_split_votes_resolve_and_stale_vote_replies_are_ignored() {
    // Section 5.2: when candidates split the vote, randomized timeouts break the tie. Here all
    // three nodes campaign at once (pre-votes all delivered); vote replies are then reordered.
    for seed in 0..10 {
        let mut c = Cluster::new(3, 100 + seed);
        for i in 0..3 {
            c.fire_only(i, faultline_raft::Timer::Election);
        }
        c.reverse_queue();
        c.deliver_where(|e| matches!(e.msg, Msg::PreVote { .. } | Msg::PreVoteReply { .. }));
        c.elect();
        c.assert_safe();
    }
}
