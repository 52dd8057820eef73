//! Handler unit tests: one counter node stepped by hand (`TestNode`), each input answered with
//! an exact command vector. Each test cites the rule of `systems/counter/src/node.rs` (its
//! module docs) that it checks.

use faultline_counter::msg::{Entry, Msg, Request, Response, Timer};
use faultline_counter::{CounterBug, CounterNode};
use faultline_sim::testing::TestNode;
use faultline_sim::{ClientId, Command, NodeId, RequestId};
use std::time::Duration;

type Out = Vec<Command<CounterNode>>;

const TICK: Duration = Duration::from_millis(30);
const FLUSH: Duration = Duration::from_millis(1);

fn n(i: u32) -> NodeId {
    NodeId(i)
}

fn node(id: u32, bug: Option<CounterBug>) -> TestNode<CounterNode> {
    TestNode::new(n(id), 7, move || CounterNode::new(n(id), 3, bug))
}

fn send(to: u32, msg: Msg) -> Command<CounterNode> {
    Command::Send { to: n(to), msg }
}

fn reply(id: RequestId, resp: Response) -> Command<CounterNode> {
    Command::Reply { to: id, resp }
}

fn req(client: u32, seq: u64) -> RequestId {
    RequestId { client: ClientId(client), seq }
}

fn noop(epoch: u64) -> Entry {
    Entry { epoch, id: None, delta: 0 }
}

fn replicate(start: u64, prev_epoch: Option<u64>, entries: Vec<Entry>, commit: u64) -> Msg {
    Msg::Replicate { start, prev_epoch, entries, commit }
}

/// Both backups answered the boot fetch with empty logs.
fn recovered(t: &mut TestNode<CounterNode>) -> Out {
    t.message(n(1), Msg::Log { entries: vec![] });
    t.message(n(2), Msg::Log { entries: vec![] })
}

/// A primary of epoch 1 whose no-op n1 acknowledged: committed, serving reads.
fn serving(bug: Option<CounterBug>) -> TestNode<CounterNode> {
    let mut p = node(0, bug);
    p.start();
    recovered(&mut p);
    assert_eq!(p.message(n(1), Msg::Ack { len: 1 }), vec![]);
    assert_eq!(p.node.commit(), 1);
    p
}

#[test]
fn counter_handler_a_booting_primary_fetches_every_backups_log_and_a_backup_reports_its_own() {
    // Recovery: at every boot the primary first collects the backups' logs; a backup tells the
    // primary how much of its log survived, since the primary may count it as holding entries
    // it lost (an unreadable log cut to nothing would otherwise never be resent: seed 8428).
    let mut p = node(0, None);
    assert_eq!(
        p.start(),
        vec![send(1, Msg::Fetch), send(2, Msg::Fetch), Command::SetTimer { timer: Timer::Tick, after: TICK }]
    );
    assert!(p.node.is_recovering());
    assert_eq!(node(1, None).start(), vec![send(0, Msg::Ack { len: 0 })]);
}

#[test]
fn counter_handler_the_primary_starts_an_epoch_once_enough_backups_answered() {
    // Recovery: `nodes - majority + 1` logs (two of three nodes' worth) are enough; the primary
    // then appends the no-op of a new epoch, syncs it and replicates it.
    let mut p = node(0, None);
    p.start();
    assert_eq!(p.message(n(1), Msg::Log { entries: vec![] }), vec![], "one backup is not enough");
    let out = p.message(n(2), Msg::Log { entries: vec![] });
    let first = replicate(0, None, vec![noop(1)], 0);
    assert_eq!(out, vec![send(1, first.clone()), send(2, first)]);
    assert!(!p.node.is_recovering());
}

#[test]
fn counter_handler_the_primary_adopts_the_most_complete_backup_log() {
    // Recovery: the most complete log (highest last epoch, then longest) wins; the new epoch is
    // above every epoch in it, and the rewritten log is durable.
    let mut p = node(0, None);
    p.start();
    let old = Entry { epoch: 4, id: Some(req(1, 1)), delta: 3 };
    p.message(n(1), Msg::Log { entries: vec![noop(2), noop(2)] });
    let out = p.message(n(2), Msg::Log { entries: vec![noop(3), old.clone()] });
    let adopted = replicate(0, None, vec![noop(3), old.clone(), noop(5)], 0);
    assert_eq!(out, vec![send(1, adopted.clone()), send(2, adopted)]);
    p.crash_and_restart();
    assert_eq!(p.node.log_len(), 3, "the adopted log and the no-op were synced");
}

#[test]
fn counter_handler_an_increment_is_acknowledged_once_a_majority_holds_it_durably() {
    // Group commit: the increment waits for the flush, which syncs and replicates it; one
    // backup's acknowledgement makes a majority of three with the primary.
    let mut p = serving(None);
    let id = req(4, 1);
    assert_eq!(
        p.request(id, Request::Incr { delta: 5 }),
        vec![Command::SetTimer { timer: Timer::Flush, after: FLUSH }]
    );
    let entry = Entry { epoch: 1, id: Some(id), delta: 5 };
    let msg = replicate(1, Some(1), vec![entry], 1);
    assert_eq!(p.timer(Timer::Flush), vec![send(1, msg.clone()), send(2, msg)]);
    assert_eq!(p.message(n(2), Msg::Ack { len: 2 }), vec![reply(id, Response::Incremented)]);
    let read = req(5, 1);
    assert_eq!(p.request(read, Request::Read), vec![reply(read, Response::Value(5))]);
}

#[test]
fn counter_handler_a_retried_increment_is_applied_once() {
    // Exactly once: a retry of a pending increment waits for the original's commit, a retry of
    // a committed one is answered at once; neither is appended again.
    let mut p = serving(None);
    let id = req(4, 1);
    p.request(id, Request::Incr { delta: 2 });
    assert_eq!(p.request(id, Request::Incr { delta: 2 }), vec![], "pending: no second append, no flush");
    p.timer(Timer::Flush);
    let out = p.message(n(1), Msg::Ack { len: 2 });
    assert_eq!(out, vec![reply(id, Response::Incremented), reply(id, Response::Incremented)]);
    assert_eq!(p.request(id, Request::Incr { delta: 2 }), vec![reply(id, Response::Incremented)]);
    assert_eq!(p.node.log_len(), 2, "the no-op and one increment");
}

#[test]
fn counter_handler_no_dedup_appends_a_retry_again() {
    // The planted bug `NoDedup`: the same retry appends a second entry.
    let mut p = serving(Some(CounterBug::NoDedup));
    let id = req(4, 1);
    p.request(id, Request::Incr { delta: 2 });
    p.request(id, Request::Incr { delta: 2 });
    assert_eq!(p.node.log_len(), 3);
}

#[test]
fn counter_handler_reads_wait_for_the_epochs_no_op_and_backups_redirect() {
    // Reads: the primary serves them only once its no-op is committed (so a read never misses
    // an acknowledged increment); a backup redirects both reads and increments to the primary.
    let mut p = node(0, None);
    p.start();
    recovered(&mut p);
    let read = req(6, 1);
    assert_eq!(p.request(read, Request::Read), vec![reply(read, Response::Unavailable)]);
    let mut b = node(2, None);
    b.start();
    let redirect = reply(read, Response::NotPrimary { primary: n(0) });
    assert_eq!(b.request(read, Request::Read), vec![redirect.clone()]);
    assert_eq!(b.request(read, Request::Incr { delta: 1 }), vec![redirect]);
}

#[test]
fn counter_handler_a_backup_acknowledges_what_extends_its_log_and_cuts_what_conflicts() {
    // Backups: the log matching check of Raft (section 5.3): entries are appended only after an
    // entry of the expected epoch, durably, then acknowledged; a conflict cuts the log there; a
    // gap is answered with the backup's length.
    let mut b = node(1, None);
    b.start();
    assert_eq!(b.message(n(0), replicate(0, None, vec![noop(1)], 0)), vec![send(0, Msg::Ack { len: 1 })]);
    b.crash_and_restart();
    assert_eq!(b.node.log_len(), 1, "acknowledged only once durable");
    assert_eq!(b.message(n(0), replicate(5, Some(1), vec![noop(1)], 0)), vec![send(0, Msg::Ack { len: 1 })]);
    assert_eq!(b.message(n(0), replicate(1, Some(2), vec![noop(2)], 0)), vec![send(0, Msg::Ack { len: 0 })]);
    assert_eq!(b.node.log_len(), 0);
}

#[test]
fn counter_handler_a_failed_sync_halts_and_nothing_of_the_step_leaves() {
    // The halt policy (`DiskError::requires_halt`): after a failed sync the node's view of its
    // disk is unknown, so it halts instead of acknowledging.
    let mut b = node(1, None);
    b.start();
    b.disk.set_failing_syncs(true);
    let out = b.message(n(0), replicate(0, None, vec![noop(1)], 0));
    assert_eq!(out, vec![Command::Halt { reason: "disk error: sync of counter.log failed".into() }]);
}

#[test]
fn counter_handler_a_full_disk_answers_nothing_and_the_retry_is_applied() {
    // The halt policy: a full disk wrote nothing, so the primary stays up, acknowledges nothing
    // it did not store, and takes the client's retry once there is room.
    let mut p = serving(None);
    let id = req(4, 1);
    p.disk.set_full(true);
    assert_eq!(p.request(id, Request::Incr { delta: 3 }), vec![]);
    assert_eq!(p.node.log_len(), 1);
    p.disk.set_full(false);
    assert_eq!(
        p.request(id, Request::Incr { delta: 3 }),
        vec![Command::SetTimer { timer: Timer::Flush, after: FLUSH }]
    );
}

#[test]
fn counter_handler_a_primary_whose_disk_was_full_at_recovery_finishes_at_the_next_tick() {
    // The halt policy at boot: starting the epoch failed for want of room, so the primary stays
    // recovering (serving nothing) and tries again at its next tick.
    let mut p = node(0, None);
    p.start();
    p.disk.set_full(true);
    assert_eq!(recovered(&mut p), vec![]);
    assert!(p.node.is_recovering());
    p.disk.set_full(false);
    let first = replicate(0, None, vec![noop(1)], 0);
    let tick = Command::SetTimer { timer: Timer::Tick, after: TICK };
    assert_eq!(p.timer(Timer::Tick), vec![tick, send(1, first.clone()), send(2, first)]);
}
