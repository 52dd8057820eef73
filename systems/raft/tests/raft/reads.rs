//! Linearizable reads with ReadIndex (thesis 6.4).

use crate::cluster::{Cluster, RaftCluster};
use faultline_raft::{Request, Response, Timer};
use std::time::Duration;

#[test]
fn raft_a_read_sees_the_latest_acknowledged_write() {
    // Thesis 6.4: reads after a write's acknowledgement return it, from any client.
    let mut c = Cluster::new(3, 101);
    for i in 0..5 {
        let v = i.to_string();
        assert_eq!(c.put(0, "k", &v), Response::Written);
        assert_eq!(c.get(1, "k"), Response::Value(Some(v)));
    }
    assert_eq!(c.get(1, "missing"), Response::Value(None));
}

#[test]
fn raft_a_deposed_leader_never_serves_a_stale_read() {
    // Thesis 6.4, step 2: the old leader cannot get a majority to confirm its round, so a read
    // sent to it is not answered with the old value (it times out, or is redirected once the
    // node steps down). Its clock runs at a tenth of real speed, so it goes on believing it
    // leads for a long time: without leases, clock drift cannot make the read stale.
    let mut c = Cluster::new(3, 102);
    assert_eq!(c.put(0, "k", "old"), Response::Written);
    let old = c.leader().unwrap();
    c.set_rate(old as u32, 10);
    c.isolate(old as u32);
    assert!(c.run_until(|c| c.leader().is_some_and(|l| l != old), Duration::from_secs(5)));
    assert_eq!(c.put(1, "k", "new"), Response::Written);
    let read = c.next_id(2);
    c.submit(old, read, Request::get("k"));
    c.run_for(Duration::from_secs(3));
    let told: Vec<&Response> = c.replies_to(read).collect();
    assert!(told.iter().all(|r| matches!(r, Response::NotLeader { .. })), "{told:?}");
}

#[test]
fn raft_a_new_leader_answers_reads_only_after_committing_its_no_op() {
    // Thesis 6.4, step 1: a fresh leader does not know the commit index until an entry of its
    // term commits; a read waits for that.
    let mut c = Cluster::new(3, 103);
    assert_eq!(c.put(0, "k", "v"), Response::Written);
    c.freeze_timers();
    let leader = c.leader().unwrap() as u32;
    c.crash(leader);
    c.tick(Duration::from_millis(400));
    let next = (leader + 1) % 3;
    c.campaign_holding(next, |e| matches!(e.msg, faultline_raft::Msg::Append(_)));
    let read = c.next_id(1);
    c.submit(next as usize, read, Request::get("k"));
    c.deliver_where(|e| matches!(e.msg, faultline_raft::Msg::PreVote { .. }));
    assert_eq!(c.answer(read), None, "answered before the no-op committed");
    c.deliver_all();
    c.fire(next, Timer::Heartbeat);
    assert_eq!(c.answer(read), Some(&Response::Value(Some("v".into()))));
}
