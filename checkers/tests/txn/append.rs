//! List-append histories built by hand, one per anomaly, and clean ones that must pass.
//!
//! References: Adya, "Weak Consistency" (thesis, 1999), section 3.2 for G0, G1a-c and G2-item,
//! chapter 4 for G-single; Kingsbury and Alvaro, "Elle" (VLDB 2020), for list-append inference
//! (traceability and recoverability), the non-cycle anomalies and the process/real-time
//! variants.

use crate::support::*;
use faultline_checkers::txn::{self, ConsistencyModel as M, TxnError, TxnOptions, Workload};
use faultline_checkers::{HistoryError, Value, Verdict};

const LA: Workload = Workload::ListAppend;

// Goal: a history that a serial execution produced passes every model.
// Method: three sequential transactions; every read sees every earlier append.
#[test]
fn clean_sequential_history_is_strict_serializable() {
    let h = H::new()
        .txn(0, &[append(1, 1), append(2, 1)])
        .txn(1, &[r(1, &[1]), append(1, 2)])
        .txn(0, &[r(1, &[1, 2]), r(2, &[1])])
        .build();
    let report = check(&h, LA);
    assert_eq!(report.verdict, Verdict::Ok, "{report}");
    assert!(report.counts.is_empty());
    assert!(report.not.is_empty());
    assert_eq!(report.stats.transactions, 3);
    assert_eq!(report.stats.components, 0);
}

// G0 (Adya 3.2, write cycles): T1 and T2 both append to keys 1 and 2, and the orders disagree:
// key 1 shows T1 then T2, key 2 shows T2 then T1.
#[test]
fn g0_write_cycle() {
    let t1: &[Value] = &[append(1, 1), append(2, 1)];
    let t2: &[Value] = &[append(1, 2), append(2, 2)];
    let t3: &[Value] = &[r(1, &[1, 2]), r(2, &[2, 1])];
    let h = H::new().concurrent(&[(0, t1), (1, t2), (2, t3)]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G0"]);
    assert_eq!(report.weakest_not(), vec![M::ReadUncommitted]);
    let example = &report.anomalies[0];
    assert_eq!(example.steps.len(), 2);
    assert!(
        example.explanation.contains("appended 1 to key 1 and T1 appended 2 right after it"),
        "{example}"
    );
}

// G1a (Adya 3.2, aborted reads): T2 reads a value only a failed transaction appended.
#[test]
fn g1a_aborted_read() {
    let h = H::new().invoke(0, &[append(1, 1)]).fail(0, &[append(1, 1)]).txn(1, &[r(1, &[1])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G1a"]);
    assert!(report.rules_out(M::ReadCommitted));
    assert!(!report.rules_out(M::ReadUncommitted));
    assert!(report.anomalies[0].explanation.contains("appended by T0, which failed"), "{report}");
}

// G1b (Adya 3.2, intermediate reads): T1 appends 1 then 2 to key 1; T2 sees only the 1.
#[test]
fn g1b_intermediate_read() {
    let t1: &[Value] = &[append(1, 1), append(1, 2)];
    let h = H::new().concurrent(&[(0, t1), (1, &[r(1, &[1])])]).txn(2, &[r(1, &[1, 2])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G1b"]);
    assert_eq!(report.weakest_not(), vec![M::ReadCommitted]);
}

// G1c (Adya 3.2, circular information flow): each transaction reads the other's append.
#[test]
fn g1c_circular_information_flow() {
    let t1: &[Value] = &[append(1, 1), r(2, &[1])];
    let t2: &[Value] = &[append(2, 1), r(1, &[1])];
    let h = H::new().concurrent(&[(0, t1), (1, t2)]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G1c"]);
    assert!(report.rules_out(M::ReadCommitted));
    assert!(!report.rules_out(M::ReadUncommitted));
    let relations: Vec<_> = report.anomalies[0].steps.iter().map(|s| s.relation.to_string()).collect();
    assert_eq!(relations, vec!["wr", "wr"]);
}

// G-single (Adya chapter 4, read skew): T2 sees T1's append to key 2 but not its append to key 1.
// Read committed allows it; snapshot isolation does not.
#[test]
fn g_single_read_skew() {
    let t1: &[Value] = &[append(1, 1), append(2, 1)];
    let t2: &[Value] = &[r(1, &[]), r(2, &[1])];
    let h = H::new().concurrent(&[(0, t1), (1, t2)]).txn(2, &[r(1, &[1])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G-single"]);
    assert_eq!(check_for(&h, LA, M::ReadCommitted).verdict, Verdict::Ok);
    assert!(check_for(&h, LA, M::SnapshotIsolation).verdict.is_violation());
    let text = &report.anomalies[0].explanation;
    assert!(text.contains("read key 1 as [] and T0 appended 1 as its first element"), "{text}");
}

// G2-item (Adya 3.2, write skew): each reads a key empty and appends to the key the other read.
// Two adjacent rw edges: snapshot isolation allows it, repeatable read does not.
#[test]
fn g2_item_write_skew_is_allowed_by_snapshot_isolation() {
    let t1: &[Value] = &[r(1, &[]), append(2, 1)];
    let t2: &[Value] = &[r(2, &[]), append(1, 1)];
    let h = H::new().concurrent(&[(0, t1), (1, t2)]).txn(2, &[r(1, &[1]), r(2, &[1])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G2-item"]);
    assert_eq!(report.weakest_not(), vec![M::RepeatableRead]);
    assert_eq!(check_for(&h, LA, M::SnapshotIsolation).verdict, Verdict::Ok);
    assert!(check_for(&h, LA, M::RepeatableRead).verdict.is_violation());
}

// G-nonadjacent (Elle; Cerone and Gotsman's characterisation of snapshot isolation): two rw
// edges separated by wr edges, T1 -rw-> T2 -wr-> T3 -rw-> T4 -wr-> T1.
#[test]
fn g_nonadjacent_is_forbidden_by_snapshot_isolation() {
    let t1: &[Value] = &[r(1, &[]), r(4, &[1])];
    let t2: &[Value] = &[append(1, 1), append(2, 1)];
    let t3: &[Value] = &[r(2, &[1]), r(3, &[])];
    let t4: &[Value] = &[append(3, 1), append(4, 1)];
    let h =
        H::new().concurrent(&[(0, t1), (1, t2), (2, t3), (3, t4)]).txn(4, &[r(1, &[1]), r(3, &[1])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G-nonadjacent"]);
    assert!(report.rules_out(M::SnapshotIsolation));
    assert!(!report.rules_out(M::ReadCommitted));
    assert_eq!(report.anomalies[0].steps.len(), 4);
}

// G-single-realtime (Elle's real-time graph; a stale read): T1's append completed before T2
// began, yet T2 does not see it. Serializable, not strict serializable.
#[test]
fn g_single_realtime_stale_read() {
    let h = H::new().txn(0, &[append(1, 1)]).txn(1, &[r(1, &[])]).txn(2, &[r(1, &[1])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G-single-realtime"]);
    assert!(report.verdict.is_violation());
    assert!(!report.rules_out(M::Serializable));
    assert!(report.rules_out(M::StrongSnapshotIsolation));
    let text = &report.anomalies[0].explanation;
    assert!(text.contains("T0 completed (event 1) before T1 was invoked (event 2)"), "{text}");
}

// G-single-process (Elle's process graph): the same stale read on one process is already a
// violation of strong session snapshot isolation.
#[test]
fn g_single_process_stale_read_on_one_process() {
    let h = H::new().txn(0, &[append(1, 1)]).txn(0, &[r(1, &[])]).txn(2, &[r(1, &[1])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["G-single-process"]);
    assert_eq!(report.weakest_not(), vec![M::StrongSessionSnapshotIsolation]);
}

// Internal consistency (Elle, non-cycle anomalies): a transaction must see its own append.
#[test]
fn internal_inconsistency() {
    let h = H::new().txn(0, &[append(1, 1), r(1, &[])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["internal"]);
    assert!(report.rules_out(M::SnapshotIsolation));
    assert!(!report.rules_out(M::RepeatableRead));
    assert!(report.anomalies[0].explanation.contains("must read a list ending in [.. 1]"), "{report}");
}

// Duplicate elements (Elle): a value appended once appears twice in a read.
#[test]
fn duplicate_elements() {
    let h = H::new().txn(0, &[append(1, 1)]).txn(1, &[r(1, &[1, 1])]).build();
    let report = check(&h, LA);
    assert!(report.has(txn::AnomalyKind::DuplicateElements), "{report}");
    assert!(report.rules_out(M::ReadUncommitted));
}

// Garbage read (Elle): a read of a value no transaction appended.
#[test]
fn garbage_read() {
    let h = H::new().txn(0, &[append(1, 1)]).txn(1, &[r(1, &[1, 7])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["garbage-read"]);
    assert!(report.anomalies[0].explanation.contains("no transaction appended 7 to key 1"), "{report}");
}

// Incompatible order (Elle, list-append traceability): two reads that are not prefixes of one
// another, so no single version order explains both.
#[test]
fn incompatible_order() {
    let t1: &[Value] = &[append(1, 1)];
    let t2: &[Value] = &[append(1, 2)];
    let h =
        H::new().concurrent(&[(0, t1), (1, t2)]).txn(2, &[r(1, &[1, 2])]).txn(3, &[r(1, &[2, 1])]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["incompatible-order"]);
    assert!(report.rules_out(M::ReadCommitted));
}

// Future read (Elle): a transaction's first read of a key shows what it appends only later.
#[test]
fn future_read() {
    let h = H::new().txn(0, &[r(1, &[1]), append(1, 1)]).build();
    let report = check(&h, LA);
    assert_eq!(kinds(&report), vec!["future-read"]);
}

// Elle treats `info` transactions as possibly committed: once a read shows one's append, it
// committed; unobserved ones say nothing. Neither is an anomaly.
#[test]
fn info_transactions_may_have_committed() {
    let h = H::new()
        .invoke(0, &[append(1, 1)])
        .info(0, &[append(1, 1)])
        .invoke(1, &[append(2, 1)])
        .info(1, &[append(2, 1)])
        .txn(2, &[r(1, &[1]), r(2, &[])])
        .build();
    let report = check(&h, LA);
    assert_eq!(report.verdict, Verdict::Ok, "{report}");
    assert_eq!(report.stats.info, 2);
}

// Operations that are not transactions (a nemesis's) are counted and left out.
#[test]
fn non_transaction_operations_are_ignored() {
    let mut h = H::new().txn(0, &[append(1, 1)]).build();
    h.push(faultline_checkers::Event::invoke(99, "start-partition", Value::Nil, 100));
    h.push(faultline_checkers::Event::complete(
        99,
        faultline_checkers::EventKind::Info,
        "start-partition",
        Value::Nil,
        101,
    ));
    let report = check(&h, LA);
    assert_eq!(report.stats.ignored_ops, 1);
    assert_eq!(report.stats.transactions, 1);
}

// An ill-formed history is an error, never a verdict.
#[test]
fn ill_formed_histories_are_errors() {
    let opts = TxnOptions::new(LA);
    let double = H::new().invoke(0, &[append(1, 1)]).invoke(0, &[append(1, 2)]).build();
    assert!(matches!(txn::check(&double, &opts), Err(TxnError::History(HistoryError::DoubleInvoke { .. }))));
    let wrong_op = H::new().txn(0, &[w(1, 1)]).build();
    let err = txn::check(&wrong_op, &opts).unwrap_err();
    assert!(err.to_string().contains("\"w\" is not a list-append micro-operation"), "{err}");
    let twice = H::new().txn(0, &[append(1, 1)]).txn(1, &[append(1, 1)]).build();
    assert!(matches!(txn::check(&twice, &opts), Err(TxnError::DuplicateWrite { first: 0, second: 1, .. })));
    let bad_key = H::new().txn(0, &[mop("append", 1, Value::List(vec![]))]).build();
    assert!(matches!(txn::check(&bad_key, &opts), Err(TxnError::Malformed { .. })));
    let mismatch = H::new().invoke(0, &[append(1, 1)]).ok(0, &[append(1, 2)]).build();
    assert!(matches!(txn::check(&mismatch, &opts), Err(TxnError::Malformed { event: 0, .. })));
}

// The example search spends a budget; when it runs out the report says so, and the verdict
// still stands because cycle existence is decided without it.
#[test]
fn an_exhausted_budget_is_reported_and_the_verdict_stands() {
    let t1: &[Value] = &[append(1, 1), append(2, 1)];
    let t2: &[Value] = &[append(1, 2), append(2, 2)];
    let t3: &[Value] = &[r(1, &[1, 2]), r(2, &[2, 1])];
    let h = H::new().concurrent(&[(0, t1), (1, t2), (2, t3)]).build();
    let opts = TxnOptions { cycle_search_budget: Some(0), ..TxnOptions::new(LA) };
    let report = txn::check(&h, &opts).unwrap();
    assert!(report.search.exhausted);
    assert!(report.verdict.is_violation());
    assert_eq!(kinds(&report), vec!["G0"]);
    assert!(report.to_string().contains("ran out"), "{report}");
}

// The report prints the verdict line, the models ruled out and each example.
#[test]
fn report_display_reads_well() {
    let h = H::new().txn(0, &[append(1, 1)]).txn(1, &[r(1, &[])]).txn(2, &[r(1, &[1])]).build();
    let text = check(&h, LA).to_string();
    assert!(text.starts_with("list-append: 3 transactions (3 ok, 0 failed, 0 info), 1 keys"), "{text}");
    assert!(text.contains("not strong-snapshot-isolation"), "{text}");
    assert!(text.contains("[G-single-realtime] T1 < T0 < T1"), "{text}");
}

// Sequential extension (Elle's list-append inference; the corpus's si-without-g-single): an
// append no read shows came after everything any read shows. T2 and T3 each miss the other's
// unread append: two adjacent rw edges, G2-item, which snapshot isolation allows.
#[test]
fn unread_appends_come_after_every_read() {
    let h = H::new()
        .txn(2, &[append(9, 2)])
        .txn(4, &[append(8, 1), r(9, &[])])
        .txn(7, &[r(6, &[]), r(8, &[]), append(9, 5)])
        .txn(9, &[append(6, 2), r(9, &[2])])
        .build();
    let report = check_for(&h, LA, M::RepeatableRead);
    assert!(report.has(txn::AnomalyKind::Cycle(txn::CycleShape::G2Item, txn::Order::Data)), "{report}");
    assert!(report.verdict.is_violation());
    assert_eq!(check_for(&h, LA, M::SnapshotIsolation).verdict, Verdict::Ok);
    assert!(
        report.to_string().contains("T3 read key 9 as [2] and T2 appended 5, which no read shows"),
        "{report}"
    );
}

// Jepsen's clocks come from several threads, so times may go backwards (the Elle corpus's
// huge-scc.edn does); real-time order comes from event positions, so such a history is fine.
#[test]
fn times_that_go_backwards_are_accepted() {
    let mut h = H::new().txn(0, &[append(1, 1)]).txn(1, &[r(1, &[1])]).build();
    h.events[2].time = 1;
    assert!(h.operations().is_err(), "the shared pairing rejects it");
    assert_eq!(check(&h, LA).verdict, Verdict::Ok);
}

// Degenerate inputs still get an answer.
#[test]
fn empty_histories_pass() {
    let report = check(&faultline_checkers::History::new(), LA);
    assert_eq!(report.verdict, Verdict::Ok);
    assert_eq!(report.stats.transactions, 0);
    let empty_txn = H::new().txn(0, &[]).build();
    assert_eq!(check(&empty_txn, LA).verdict, Verdict::Ok);
}
