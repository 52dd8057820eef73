//! Scripted migrations on the kit's cluster: data written before a ring change is read after
//! it through another router, a key moves out and back, and a write retried after its key moved
//! is applied once (the client session travelled with the key).

use crate::cluster::{key_moving, Store};
use faultline_services::{KvOp, KvOutcome};
use faultline_sharded::msg::{Request, Response};

fn value(v: &str) -> Response {
    Response::Kv(KvOutcome::Value(Some(v.into())))
}

#[test]
fn keys_written_before_a_join_and_a_leave_are_read_after_them() {
    let mut s = Store::new(None);
    let keys: Vec<String> = (0..8).map(|i| format!("k{i}")).collect();
    for (i, k) in keys.iter().enumerate() {
        s.call(0, Request::Kv(KvOp::put(k, &i.to_string())));
    }
    assert!(matches!(s.call(1, Request::Join(2)), Response::Config(c) if c.groups.len() == 3));
    s.settle();
    assert!(matches!(s.call(1, Request::Leave(0)), Response::Config(c) if c.epoch == 3));
    s.settle();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(s.call(0, Request::Kv(KvOp::get(k))), value(&i.to_string()), "{k}");
    }
    assert_eq!(s.violations(), Vec::<String>::new());
    let migrations = s.c.observer().0.events.get("migrations");
    assert!(migrations >= 3, "{migrations} migrations");
}

#[test]
fn a_write_retried_after_its_key_moved_is_applied_once() {
    // Thesis 6.3 across groups: the append was applied at the old owner and its answer lost;
    // the retry, routed to the new owner, finds the session that moved with the key.
    let mut s = Store::new(None);
    let before = s.latest();
    let mut after = before.clone();
    after.epoch += 1;
    after.groups.insert(2);
    let key = key_moving(&before.ring(), &after.ring());
    let id = s.c.next_id(0);
    s.call_with(id, Request::Kv(KvOp::append(&key, "x")));
    s.call(1, Request::Join(2));
    s.settle();
    assert_eq!(s.call_with(id, Request::Kv(KvOp::append(&key, "x"))), Response::Kv(KvOutcome::Written));
    assert_eq!(s.call(1, Request::Kv(KvOp::get(&key))), value("x"));
}
