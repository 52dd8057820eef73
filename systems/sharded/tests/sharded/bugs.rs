//! One scripted scenario per planted bug: it passes on the correct store and shows the bug's
//! effect with it (a lost write, a stale read, two groups serving one key in one epoch).

use crate::cluster::{key_moving, Store};
use faultline_services::{KvOp, KvOutcome};
use faultline_sharded::msg::{Request, Response, Retry, RingConfig};
use faultline_sharded::topology::Topology;
use std::time::Duration;

fn get(key: &str) -> Request {
    Request::Kv(KvOp::get(key))
}

fn put(key: &str, value: &str) -> Request {
    Request::Kv(KvOp::put(key, value))
}

fn value(v: Option<&str>) -> Response {
    Response::Kv(KvOutcome::Value(v.map(String::from)))
}

/// Configuration 2 when group 2 joins configuration 1.
fn with_group_2(config: &RingConfig) -> RingConfig {
    let mut next = config.clone();
    next.epoch += 1;
    next.groups.insert(2);
    next
}

const OWNERS: &str = "one group per key per epoch";

/// Router 0 stays at epoch 1 while group 2 joins and a key moves to it; router 0 then writes
/// the key, and router 1 (at epoch 2) reads it.
fn stale_route(bug: Option<&str>) -> (Response, Vec<String>) {
    let mut s = Store::new(bug);
    let before = s.latest();
    let key = key_moving(&before.ring(), &with_group_2(&before).ring());
    assert!(matches!(s.call(1, Request::Join(2)), Response::Config(c) if c.epoch == 2));
    s.settle();
    s.call(0, put(&key, "v"));
    (s.call(1, get(&key)), s.violations())
}

#[test]
fn a_write_routed_with_a_stale_epoch_is_refused_and_rerouted() {
    assert_eq!(stale_route(None), (value(Some("v")), vec![]));
}

#[test]
fn bug_no_epoch_check_loses_a_stale_routed_write() {
    let (read, violations) = stale_route(Some("no-epoch-check"));
    assert_eq!(read, value(None), "the old owner took the write, the new owner never saw it");
    assert_eq!(violations, vec![OWNERS.to_string()]);
}

/// A key written at epoch 1 moves to joining group 2, whose handoff from the old owner is held
/// back; router 1 reads the key from group 2 meanwhile, once.
fn read_before_handoff(bug: Option<&str>) -> (Response, Response) {
    let mut s = Store::new(bug);
    let before = s.latest();
    let (old, new) = (before.ring(), with_group_2(&before).ring());
    let key = key_moving(&old, &new);
    s.call(0, put(&key, "v"));
    let topology: Topology = s.topology;
    let source = old.owner(&key).expect("an owner");
    for a in topology.group_nodes(source) {
        for b in topology.group_nodes(2) {
            s.c.cut(a, b);
        }
    }
    s.call(1, Request::Join(2));
    s.c.run_for(Duration::from_millis(500));
    let during = s.ask_leader(1, get(&key));
    s.c.heal();
    s.settle();
    (during, s.call(1, get(&key)))
}

#[test]
fn an_arriving_key_is_not_served_before_its_handoff_is_applied() {
    assert_eq!(read_before_handoff(None), (Response::Retry(Retry::Moving), value(Some("v"))));
}

#[test]
fn bug_serve_before_handoff_applied_reads_a_key_that_has_not_arrived() {
    let (during, after) = read_before_handoff(Some("serve-before-handoff-applied"));
    assert_eq!(during, value(None), "a stale read: the key had a value");
    assert_eq!(after, value(Some("v")));
}

/// The destination's acknowledgements never reach the source; router 1 (epoch 2) writes the
/// moved key, then router 0 (still at epoch 1) reads it.
fn lost_acknowledgements(bug: Option<&str>) -> (Response, Vec<String>) {
    let mut s = Store::new(bug);
    let before = s.latest();
    let (old, new) = (before.ring(), with_group_2(&before).ring());
    let key = key_moving(&old, &new);
    s.call(0, put(&key, "v"));
    let source = old.owner(&key).expect("an owner");
    for b in s.topology.group_nodes(2) {
        for a in s.topology.group_nodes(source) {
            s.c.cut(b, a);
        }
    }
    s.call(1, Request::Join(2));
    s.c.run_for(Duration::from_secs(2));
    s.call(1, put(&key, "w"));
    (s.call(0, get(&key)), s.violations())
}

#[test]
fn a_source_keeps_pushing_an_unacknowledged_handoff() {
    assert_eq!(lost_acknowledgements(None), (value(Some("w")), vec![]));
}

#[test]
fn bug_import_ack_lost_both_serve_lets_two_groups_serve_a_key() {
    let (read, violations) = lost_acknowledgements(Some("import-ack-lost-both-serve"));
    assert_eq!(read, value(Some("v")), "the source took the key back and served its old value");
    assert_eq!(violations, vec![OWNERS.to_string()]);
}

/// Router 0 writes a key whose owner differs between 16 and 3 virtual nodes; router 1 reads it.
fn disagreeing_routers(bug: Option<&str>) -> (Response, Vec<String>) {
    let mut s = Store::new(bug);
    let config = s.latest();
    let key = key_moving(&config.ring(), &config.ring_with(3));
    s.call(0, put(&key, "v"));
    (s.call(1, get(&key)), s.violations())
}

#[test]
fn routers_with_one_view_agree_on_every_owner() {
    assert_eq!(disagreeing_routers(None), (value(Some("v")), vec![]));
}

#[test]
fn bug_clients_disagree_on_vnodes_read_from_another_group() {
    let (read, violations) = disagreeing_routers(Some("clients-disagree-on-vnodes"));
    assert_eq!(read, value(None));
    assert_eq!(violations, vec![OWNERS.to_string()]);
}
