//! rw-register histories built by hand (Elle's register workload; Adya 1999 section 3.2 for the
//! anomaly definitions).

use crate::support::*;
use faultline_checkers::txn::{ConsistencyModel as M, Workload};
use faultline_checkers::{Value, Verdict};

const RW: Workload = Workload::RwRegister;

// Goal: a serial execution passes.
#[test]
fn clean_register_history_passes() {
    let h = H::new()
        .txn(0, &[r_nil(1), w(1, 1)])
        .txn(1, &[rv(1, 1), w(1, 2), w(2, 1)])
        .txn(0, &[rv(1, 2), rv(2, 1)])
        .build();
    let report = check(&h, RW);
    assert_eq!(report.verdict, Verdict::Ok, "{report}");
}

// G1a: a read of a failed transaction's write.
#[test]
fn register_aborted_read() {
    let h = H::new().invoke(0, &[w(1, 5)]).fail(0, &[w(1, 5)]).txn(1, &[rv(1, 5)]).build();
    assert_eq!(kinds(&check(&h, RW)), vec!["G1a"]);
}

// G1b: a read of a value its writer overwrote within the same transaction.
#[test]
fn register_intermediate_read() {
    let t1: &[Value] = &[w(1, 1), w(1, 2)];
    let h = H::new().concurrent(&[(0, t1), (1, &[rv(1, 1)])]).build();
    assert_eq!(kinds(&check(&h, RW)), vec!["G1b"]);
}

// G1c: each transaction reads the other's write.
#[test]
fn register_g1c() {
    let t1: &[Value] = &[w(1, 1), rv(2, 1)];
    let t2: &[Value] = &[w(2, 1), rv(1, 1)];
    let h = H::new().concurrent(&[(0, t1), (1, t2)]).build();
    assert_eq!(kinds(&check(&h, RW)), vec!["G1c"]);
}

// Lost update (Adya's H_lu, a G2-item cycle): both read version 0 and both overwrote it;
// writes-follow-reads puts both versions right after 0, so each has an rw edge to the other.
#[test]
fn register_lost_update_is_g2_item() {
    let t1: &[Value] = &[rv(1, 0), w(1, 1)];
    let t2: &[Value] = &[rv(1, 0), w(1, 2)];
    let h = H::new().txn(9, &[w(1, 0)]).concurrent(&[(0, t1), (1, t2)]).build();
    let report = check(&h, RW);
    assert_eq!(kinds(&report), vec!["G2-item"]);
    assert!(report.anomalies[0].explanation.contains("which also read 0, overwrote it with"), "{report}");
}

// Initial state: a read of nil after a write completed is a stale read (G-single-realtime).
#[test]
fn register_stale_read_of_initial_state() {
    let h = H::new().txn(0, &[w(1, 1)]).txn(1, &[r_nil(1)]).build();
    let report = check(&h, RW);
    assert_eq!(kinds(&report), vec!["G-single-realtime"]);
    assert!(
        report.anomalies[0].explanation.contains("read key 1 = nil (its initial state) and T0 wrote 1"),
        "{report}"
    );
}

// Many readers of one version and many writers after it go through a hub node: no false
// cycle when all overlap, and a real one when the writers finished before the readers began.
#[test]
fn register_hub_keeps_rw_edges_sparse_and_sound() {
    let writers: Vec<Vec<Value>> = (1..=12).map(|v| vec![w(1, v)]).collect();
    let readers: Vec<Vec<Value>> = (0..12).map(|_| vec![r_nil(1)]).collect();
    let mut all: Vec<(u64, &[Value])> = Vec::new();
    for (i, m) in writers.iter().chain(&readers).enumerate() {
        all.push((i as u64, m));
    }
    let overlapping = H::new().concurrent(&all).build();
    let report = check(&overlapping, RW);
    assert_eq!(report.verdict, Verdict::Ok, "{report}");
    assert!(report.stats.edges < 12 * 12, "edges: {}", report.stats.edges);
    let mut after = H::new();
    let (w_part, r_part) = all.split_at(12);
    after.concurrent(w_part).concurrent(r_part);
    let report = check(&after.build(), RW);
    assert_eq!(kinds(&report), vec!["G-single-realtime"]);
    assert!(report.anomalies[0].explanation.contains("nil (its initial state)"), "{report}");
}

// Internal consistency: a register read must return the transaction's own last write.
#[test]
fn register_internal_inconsistency() {
    let h = H::new().txn(0, &[w(1, 1), rv(1, 2)]).txn(1, &[w(1, 2)]).build();
    let report = check(&h, RW);
    assert!(kinds(&report).contains(&"internal".to_string()), "{report}");
    assert!(report.rules_out(M::SnapshotIsolation));
}

// Garbage read: a value nobody wrote.
#[test]
fn register_garbage_read() {
    let h = H::new().txn(0, &[rv(1, 42)]).build();
    assert_eq!(kinds(&check(&h, RW)), vec!["garbage-read"]);
}
