//! Snapshots and log compaction (section 7, Figures 12 and 13).

use crate::cluster::{Cluster, RaftCluster};
use crate::replication::append;
use faultline_raft::{Msg, RaftConfig, Response};
use std::time::Duration;

fn compacting(n: u32, threshold: u64, seed: u64) -> Cluster {
    let config = RaftConfig { snapshot_threshold: threshold, ..RaftConfig::with_members(n) };
    Cluster::with_config(n, config, seed)
}

#[test]
fn raft_compaction_bounds_the_log_and_state_survives_restarts() {
    // Section 7: each node snapshots independently once `threshold` applied entries pile up;
    // after restarting every node the state comes back from snapshot plus log.
    let mut c = compacting(3, 8, 51);
    for i in 0..40 {
        c.call(0, append("k", &(i % 10).to_string()));
    }
    assert!(c.run_until(Cluster::converged, Duration::from_secs(1)));
    for n in 0..3 {
        let s = c.status(n);
        assert!(s.snapshot.index >= 32, "n{n} snapshot at {}", s.snapshot.index);
        assert!(s.last_log.index - s.snapshot.index <= 16, "n{n} keeps a short log");
    }
    for n in 0..3 {
        c.restart(n);
    }
    let expected: String = (0..40).map(|i| (i % 10).to_string()).collect();
    assert_eq!(c.get(1, "k"), Response::Value(Some(expected)));
    c.assert_safe();
}

#[test]
fn raft_a_lagging_follower_catches_up_through_install_snapshot() {
    // Section 7: the leader no longer has the entries the follower needs, so it sends its
    // snapshot (whole, no chunking) and then the entries after it.
    let mut c = compacting(3, 8, 52);
    let leader = c.elect() as u32;
    let lagging = (leader + 2) % 3;
    c.crash(lagging);
    for i in 0..30 {
        c.call(0, append("k", &(i % 10).to_string()));
    }
    c.restart(lagging);
    let mut snapshots = 0;
    for _ in 0..2000 {
        while let Some(env) = c.queue().front() {
            snapshots += usize::from(matches!(env.msg, Msg::InstallSnapshot { .. }) && env.to.0 == lagging);
            c.deliver_one();
        }
        if c.converged() {
            break;
        }
        c.tick(Duration::from_millis(1));
    }
    assert!(c.converged(), "the follower did not catch up");
    assert!(snapshots >= 1, "no InstallSnapshot was sent");
    c.assert_safe();
}

#[test]
fn raft_snapshots_under_duplicated_and_reordered_messages_stay_consistent() {
    // Figure 13 with an unreliable network: duplicated or late InstallSnapshot messages for an
    // older snapshot must not roll a follower back (it ignores snapshots at or below its
    // commit index).
    for seed in 0..8 {
        let mut c = compacting(3, 4, 60 + seed);
        let leader = c.elect() as u32;
        c.crash((leader + 1) % 3);
        for i in 0..12 {
            c.call(0, append("k", &(i % 10).to_string()));
        }
        c.restart((leader + 1) % 3);
        for _ in 0..200 {
            c.duplicate_where(|_| true);
            c.reverse_queue();
            c.deliver_all();
            c.tick(Duration::from_millis(3));
        }
        assert!(c.run_until(Cluster::converged, Duration::from_secs(2)), "seed {seed}");
        c.assert_safe();
    }
}
