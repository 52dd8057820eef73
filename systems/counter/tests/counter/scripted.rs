//! Scenarios on the kit's scripted cluster: the counter's recovery and exactly-once rules
//! (`systems/counter/src/node.rs`) under crashes and message faults chosen by the script.

use faultline_counter::msg::{Msg, Request, Response};
use faultline_counter::CounterNode;
use faultline_sim::testing::{Cluster, Envelope};
use faultline_sim::{RequestId, Storage};
use std::time::Duration;

/// A three-node counter (n0 the primary) that has finished booting.
fn counter(seed: u64) -> Cluster<CounterNode> {
    let mut c = Cluster::new(3, seed, |id| CounterNode::new(id, 3, None));
    assert!(c.run_until(|c| !c.node(0).is_recovering(), Duration::from_secs(1)));
    c
}

/// Sends `req` with `id` to the primary until a definite answer comes (10 simulated s at most).
fn call_with(c: &mut Cluster<CounterNode>, id: RequestId, req: Request) -> Response {
    let definite = |r: &&Response| !matches!(r, Response::Unavailable);
    for _ in 0..100 {
        c.submit(0, id, req.clone());
        if c.run_until(|c| c.replies_to(id).any(|r| definite(&r)), Duration::from_millis(100)) {
            return c.replies_to(id).find(definite).unwrap().clone();
        }
    }
    panic!("no answer to {id:?}");
}

fn incr(c: &mut Cluster<CounterNode>, delta: i64) -> Response {
    let id = c.next_id(0);
    call_with(c, id, Request::Incr { delta })
}

fn read(c: &mut Cluster<CounterNode>) -> Response {
    let id = c.next_id(1);
    call_with(c, id, Request::Read)
}

#[test]
fn counter_a_primary_that_lost_its_log_recovers_every_acknowledged_increment_from_its_backups() {
    // Recovery: the primary keeps only the intact prefix of its own log; its first record is
    // damaged here, so it keeps nothing and must rebuild from the backups. It serves nothing
    // until enough of them answered (both, of three nodes), then reads see every increment.
    let mut c = counter(1);
    for delta in [1, 2, 3] {
        assert_eq!(incr(&mut c, delta), Response::Incremented);
    }
    c.crash(0);
    c.crash(2);
    // Record 0 is a 24-byte header and the 3-byte no-op: flip a bit of the no-op.
    let log = c.disk(0).read_all("counter.log").unwrap().unwrap();
    c.disk(0).write("counter.log", 25, &[log[25] ^ 1]).unwrap();
    c.disk(0).sync("counter.log").unwrap();
    c.restart(0);
    assert_eq!(c.node(0).log_len(), 0, "the damaged record and everything after it were cut");
    c.run_for(Duration::from_millis(200));
    assert!(c.node(0).is_recovering(), "one backup's log is not enough");
    let id = c.next_id(1);
    c.submit(0, id, Request::Read);
    assert_eq!(c.replies_to(id).last(), Some(&Response::Unavailable));
    c.restart(2);
    assert_eq!(read(&mut c), Response::Value(6));
    assert!(c.node(0).log_len() >= 5, "three increments and two epochs' no-ops");
}

#[test]
fn counter_an_increment_retried_across_a_primary_crash_is_applied_once() {
    // Exactly once: the primary replicated the increment and crashed before acknowledging it.
    // After recovery the entry is back (adopted from the backups, with its request id), so the
    // client's retry with the same id is answered without a second append.
    let mut c = counter(10);
    let id = c.next_id(0);
    c.submit(0, id, Request::Incr { delta: 7 });
    c.tick(Duration::from_millis(1)); // the group commit: synced and sent to the backups
    let is_replicate = |e: &Envelope<Msg>| matches!(e.msg, Msg::Replicate { .. });
    assert_eq!(c.queue().iter().filter(|e| is_replicate(e)).count(), 2);
    c.deliver_where(is_replicate);
    c.crash(0);
    c.queue_mut().clear(); // the backups' acknowledgements die with the primary
    c.restart(0);
    assert_eq!(c.replies_to(id).count(), 0, "never acknowledged before the crash");
    assert_eq!(call_with(&mut c, id, Request::Incr { delta: 7 }), Response::Incremented);
    assert_eq!(read(&mut c), Response::Value(7));
    assert_eq!(c.node(0).log_len(), 3, "two epochs' no-ops and one increment, not two");
}

#[test]
fn counter_duplicated_and_reordered_messages_change_no_count() {
    // Backups check that what they append extends their log, and acknowledgements only raise
    // what the primary believes, so duplicated and reordered messages are harmless: every
    // acknowledged increment is counted once.
    let mut c = counter(20);
    let mut acknowledged = 0;
    for delta in 1..=10 {
        let id = c.next_id(0);
        c.submit(0, id, Request::Incr { delta });
        for _ in 0..20 {
            c.duplicate_where(|_| true);
            c.reverse_queue();
            c.deliver_all();
            c.tick(Duration::from_millis(2));
        }
        acknowledged += usize::from(c.replies_to(id).any(|r| *r == Response::Incremented));
        // Whatever happened, the retry settles it, once.
        assert_eq!(call_with(&mut c, id, Request::Incr { delta }), Response::Incremented);
    }
    assert!(acknowledged > 5, "only {acknowledged} increments went through the faults");
    assert_eq!(read(&mut c), Response::Value(55));
}
