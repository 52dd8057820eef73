//! Client sessions: exactly-once writes under retries and duplicated messages (thesis 6.3).

use crate::cluster::{Cluster, RaftCluster};
use crate::replication::append;
use faultline_raft::Response;
use faultline_sim::NodeId;
use std::time::Duration;

#[test]
fn raft_a_write_retried_before_and_after_commit_is_applied_once() {
    // Thesis 6.3: the retry of a pending write waits for the original; the retry of an
    // applied write gets the saved response without executing again.
    let mut c = Cluster::new(3, 91);
    let leader = c.elect();
    let id = c.next_id(0);
    c.submit(leader, id, append("k", "x"));
    c.submit(leader, id, append("k", "x"));
    c.deliver_all();
    c.submit(leader, id, append("k", "x"));
    c.run_for(Duration::from_millis(200));
    let answers = c.replies_to(id).count();
    assert_eq!(answers, 2, "one answer for the pending pair, one for the late retry");
    assert_eq!(c.get(1, "k"), Response::Value(Some("x".into())));
}

#[test]
fn raft_a_write_retried_at_a_new_leader_after_a_crash_is_applied_once() {
    // Thesis 6.3: the old leader replicated the write and crashed before answering; the client
    // retries at the new leader, which appends it again: the session makes the second copy a
    // no-op that returns the first one's response.
    for seed in 0..10 {
        let mut c = Cluster::new(3, 300 + seed);
        let old = c.elect();
        let id = c.next_id(0);
        c.submit(old, id, append("k", "once"));
        // Replicate but lose the leader before it hears the acknowledgements.
        c.deliver_where(|e| e.from == NodeId(old as u32));
        c.crash(old as u32);
        c.queue_mut().clear();
        assert_eq!(c.call_with(id, append("k", "once")), Response::Written, "seed {seed}");
        c.restart(old as u32);
        assert_eq!(c.get(1, "k"), Response::Value(Some("once".into())), "seed {seed}");
        assert!(c.run_until(Cluster::converged, Duration::from_secs(2)));
        c.assert_safe();
    }
}

#[test]
fn raft_an_old_request_arriving_after_a_newer_one_is_ignored() {
    // Thesis 6.3: a client moves on only after an answer (or giving up), so a request older
    // than its last applied one is a stray duplicate: not applied, not answered.
    let mut c = Cluster::new(3, 92);
    let first = c.next_id(0);
    let second = c.next_id(0);
    assert_eq!(c.call_with(second, append("k", "2")), Response::Written);
    let leader = c.elect();
    c.submit(leader, first, append("k", "1"));
    c.run_for(Duration::from_millis(200));
    assert_eq!(c.answer(first), None);
    assert_eq!(c.get(1, "k"), Response::Value(Some("2".into())));
}
