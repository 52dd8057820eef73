//! Property tests: histories from real executions pass; perturbed ones are caught.
//!
//! Method: `txn::synth` runs random transactions on an in-memory store, each taking effect
//! atomically inside its invocation interval (serially with non-overlapping times, or with
//! concurrent clients, failures and crashes), so every history it writes is strict
//! serializable and the checker must find nothing. Then one read of a serial history is
//! perturbed (a garbage element, a duplicated element, a stale prefix) and the checker must
//! notice: a stale read of a value whose appender completed earlier is a real-time cycle
//! (Elle's G-single-realtime).

use faultline_checkers::txn::synth::{generate, SynthOptions};
use faultline_checkers::txn::{self, AnomalyKind, TxnOptions, Workload};
use faultline_checkers::{EventKind, History, Value, Verdict};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn options() -> impl Strategy<Value = SynthOptions> {
    (
        any::<u64>(),
        1usize..150,
        1usize..6,
        1usize..6,
        1usize..5,
        0u32..15,
        0u32..15,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(seed, txns, processes, keys, len, fail, info, serial, rmw)| SynthOptions {
            processes,
            active_keys: keys,
            max_txn_len: len,
            max_writes_per_key: 6,
            fail_percent: fail,
            info_percent: info,
            serial,
            read_before_write: rmw,
            ..SynthOptions::new(Workload::ListAppend, seed, txns)
        })
}

fn check(h: &History, workload: Workload) -> txn::TxnReport {
    txn::check(h, &TxnOptions { cycle_search_budget: None, ..TxnOptions::new(workload) })
        .expect("well formed")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn executions_are_strict_serializable_list_append(opts in options()) {
        let report = check(&generate(&opts), Workload::ListAppend);
        prop_assert_eq!(&report.verdict, &Verdict::Ok, "{}", report);
        prop_assert!(report.counts.is_empty(), "{}", report);
    }

    #[test]
    fn executions_are_strict_serializable_rw_register(opts in options()) {
        let opts = SynthOptions { workload: Workload::RwRegister, ..opts };
        let report = check(&generate(&opts), Workload::RwRegister);
        prop_assert_eq!(&report.verdict, &Verdict::Ok, "{}", report);
        prop_assert!(report.counts.is_empty(), "{}", report);
    }

    #[test]
    fn perturbed_list_reads_are_caught(seed in any::<u64>(), txns in 20usize..120, pick in any::<usize>(), how in 0u8..3) {
        let opts = SynthOptions { serial: true, max_writes_per_key: 8, ..SynthOptions::new(Workload::ListAppend, seed, txns) };
        let mut h = generate(&opts);
        let reads = candidate_reads(&h, how == 2);
        prop_assume!(!reads.is_empty());
        let (event, mop) = reads[pick % reads.len()];
        let expected = perturb(&mut h, event, mop, how);
        let report = check(&h, Workload::ListAppend);
        prop_assert!(report.verdict.is_violation(), "{}", report);
        if let Some(kind) = expected {
            prop_assert!(report.has(kind), "expected {}: {}", kind, report);
        }
    }

    #[test]
    fn stale_register_reads_are_caught(seed in any::<u64>(), txns in 20usize..120, pick in any::<usize>()) {
        let opts = SynthOptions { serial: true, read_before_write: true, ..SynthOptions::new(Workload::RwRegister, seed, txns) };
        let mut h = generate(&opts);
        let reads = stale_register_candidates(&h);
        prop_assume!(!reads.is_empty());
        let (event, mop) = reads[pick % reads.len()];
        set_read(&mut h, event, mop, Value::Nil);
        let report = check(&h, Workload::RwRegister);
        prop_assert!(report.verdict.is_violation(), "{}", report);
    }
}

/// The micro-ops of an `ok` completion event.
fn mops(h: &History, event: usize) -> &[Value] {
    h.events[event].value.as_list().unwrap_or(&[])
}

fn parts(m: &Value) -> (&str, &Value, &Value) {
    let l = m.as_list().expect("micro-op");
    (l[0].as_str().expect("f"), &l[1], &l[2])
}

/// `(completion event, micro-op)` of external list reads in `ok` transactions; for stale
/// reads, only non-empty ones whose last element a later transaction's read also shows and
/// whose appender committed.
fn candidate_reads(h: &History, stale: bool) -> Vec<(usize, usize)> {
    let committed = committed_appends(h);
    let mut out = Vec::new();
    for (e, _) in h.events.iter().enumerate().filter(|(_, ev)| ev.kind == EventKind::Ok) {
        for (i, m) in mops(h, e).iter().enumerate() {
            let (f, k, v) = parts(m);
            let first_access = mops(h, e)[..i].iter().all(|p| parts(p).1 != k);
            let Some(list) = v.as_list().filter(|_| f == "r" && first_access) else { continue };
            let usable = !stale
                || list.last().is_some_and(|last| {
                    committed.contains_key(&(k.clone(), last.clone())) && seen_later(h, e, k, list.len())
                });
            if usable {
                out.push((e, i));
            }
        }
    }
    out
}

fn committed_appends(h: &History) -> BTreeMap<(Value, Value), usize> {
    let mut out = BTreeMap::new();
    for (e, _) in h.events.iter().enumerate().filter(|(_, ev)| ev.kind == EventKind::Ok) {
        for m in mops(h, e) {
            if let ("append", k, v) = parts(m) {
                out.insert((k.clone(), v.clone()), e);
            }
        }
    }
    out
}

/// Some committed transaction after `event` read at least `len` elements of `k`.
fn seen_later(h: &History, event: usize, k: &Value, len: usize) -> bool {
    (event + 1..h.events.len()).filter(|e| h.events[*e].kind == EventKind::Ok).any(|e| {
        mops(h, e).iter().any(
            |m| matches!(parts(m), ("r", key, v) if key == k && v.as_list().is_some_and(|l| l.len() >= len)),
        )
    })
}

fn set_read(h: &mut History, event: usize, mop: usize, read: Value) {
    let Value::List(mops) = &mut h.events[event].value else { unreachable!() };
    let Value::List(m) = &mut mops[mop] else { unreachable!() };
    m[2] = read;
}

/// Applies perturbation `how` (0: garbage element, 1: duplicate element, 2: drop the last
/// element) and returns the anomaly it must produce, if a specific one.
fn perturb(h: &mut History, event: usize, mop: usize, how: u8) -> Option<AnomalyKind> {
    let (_, _, v) = parts(&mops(h, event)[mop]);
    let mut list = v.as_list().expect("list read").to_vec();
    let kind = match how {
        0 => {
            list.push(Value::Int(1_000_000_007));
            Some(AnomalyKind::GarbageRead)
        }
        1 if !list.is_empty() => {
            list.push(list[0].clone());
            Some(AnomalyKind::DuplicateElements)
        }
        1 => {
            list.push(Value::Int(-5));
            Some(AnomalyKind::GarbageRead)
        }
        _ => {
            list.pop();
            None
        }
    };
    set_read(h, event, mop, Value::List(list));
    kind
}

/// External register reads of a non-nil value, in `ok` transactions, whose key's first write
/// was committed by another transaction: reading nil instead is stale.
fn stale_register_candidates(h: &History) -> Vec<(usize, usize)> {
    let mut first_writer: BTreeMap<Value, usize> = BTreeMap::new();
    for (e, ev) in h.events.iter().enumerate().filter(|(_, ev)| ev.kind != EventKind::Invoke) {
        for m in ev.value.as_list().unwrap_or(&[]) {
            if let ("w", k, _) = parts(m) {
                first_writer.entry(k.clone()).or_insert(if ev.kind == EventKind::Ok {
                    e
                } else {
                    usize::MAX
                });
            }
        }
    }
    let mut out = Vec::new();
    for (e, _) in h.events.iter().enumerate().filter(|(_, ev)| ev.kind == EventKind::Ok) {
        for (i, m) in mops(h, e).iter().enumerate() {
            let (f, k, v) = parts(m);
            let first_access = mops(h, e)[..i].iter().all(|p| parts(p).1 != k);
            if f == "r" && first_access && !v.is_nil() && first_writer.get(k).is_some_and(|w| *w < e) {
                out.push((e, i));
            }
        }
    }
    out
}
