//! Soundness against a brute-force oracle: whenever the checker rules out serializability (or
//! strict serializability), no serial order (consistent with real time) of the committed
//! transactions reproduces what the reads returned.
//!
//! Method: 3000 (or `$TXN_ORACLE_RUNS`) small synthetic histories per workload (2-7 transactions, derived from the seed)
//! whose reads are then perturbed at random, so that some stay serializable and some do not.
//! The oracle tries every set of `info` transactions that may have committed and every order of
//! the committed ones, by depth-first search with pruning on the first read that disagrees.
//! Elle's inference is sound but not complete: soundness is asserted for every history;
//! completeness only as a rate (at least 95% of the violations proven), a guard against
//! inference regressions.

use faultline_checkers::txn::synth::{generate, SynthOptions};
use faultline_checkers::txn::{self, ConsistencyModel as M, TxnOptions, Workload};
use faultline_checkers::{EventKind, History, Value};
use std::collections::BTreeMap;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Committed,
    Failed,
    Unknown,
}

struct Txn {
    fate: Fate,
    invoke: usize,
    complete: Option<usize>,
    mops: Vec<Value>,
}

fn transactions(h: &History) -> Vec<Txn> {
    let mut out: Vec<Txn> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, e) in h.events.iter().enumerate() {
        let mops = e.value.as_list().unwrap_or(&[]).to_vec();
        if e.kind == EventKind::Invoke {
            open.insert(e.process, out.len());
            out.push(Txn { fate: Fate::Unknown, invoke: i, complete: None, mops });
            continue;
        }
        let t = &mut out[open.remove(&e.process).expect("invoked")];
        t.fate = match e.kind {
            EventKind::Ok => Fate::Committed,
            EventKind::Fail => Fate::Failed,
            _ => Fate::Unknown,
        };
        if t.fate != Fate::Unknown {
            t.complete = Some(i);
        }
        if t.fate == Fate::Committed {
            t.mops = mops;
        }
    }
    out
}

/// Applies `t` to `state`; false when one of its (known) reads disagrees.
fn apply(t: &Txn, state: &mut BTreeMap<Value, Value>) -> bool {
    for m in &t.mops {
        let l = m.as_list().expect("micro-op");
        let (f, k, v) = (l[0].as_str().unwrap_or(""), &l[1], &l[2]);
        match f {
            "append" => {
                let list = state.entry(k.clone()).or_insert_with(|| Value::List(Vec::new()));
                if let Value::List(items) = list {
                    items.push(v.clone());
                }
            }
            "w" => drop(state.insert(k.clone(), v.clone())),
            _ if t.fate != Fate::Committed => {}
            _ => {
                let now = state.get(k).cloned().unwrap_or(Value::Nil);
                let empty = |x: &Value| x.is_nil() || x.as_list().is_some_and(|l| l.is_empty());
                if now != *v && !(empty(&now) && empty(v)) {
                    return false;
                }
            }
        }
    }
    true
}

/// Some serial order of the committed transactions (respecting real time if asked) explains
/// every read.
fn serializable(txns: &[Txn], realtime: bool) -> bool {
    let unknown: Vec<usize> = (0..txns.len()).filter(|&i| txns[i].fate == Fate::Unknown).collect();
    (0..1u32 << unknown.len()).any(|mask| {
        let chosen: Vec<usize> = (0..txns.len())
            .filter(|i| {
                txns[*i].fate == Fate::Committed
                    || unknown.iter().position(|u| u == i).is_some_and(|p| mask & (1 << p) != 0)
            })
            .collect();
        search(txns, &chosen, &mut vec![false; txns.len()], &BTreeMap::new(), realtime)
    })
}

fn search(
    txns: &[Txn],
    chosen: &[usize],
    placed: &mut Vec<bool>,
    state: &BTreeMap<Value, Value>,
    rt: bool,
) -> bool {
    let open: Vec<usize> = chosen.iter().copied().filter(|i| !placed[*i]).collect();
    if open.is_empty() {
        return true;
    }
    for &t in &open {
        // Real time: everything that completed before t was invoked must already be placed.
        let blocked = rt
            && chosen
                .iter()
                .any(|&a| !placed[a] && a != t && txns[a].complete.is_some_and(|c| c < txns[t].invoke));
        if blocked {
            continue;
        }
        let mut next = state.clone();
        if apply(&txns[t], &mut next) {
            placed[t] = true;
            let found = search(txns, chosen, placed, &next, rt);
            placed[t] = false;
            if found {
                return true;
            }
        }
    }
    false
}

/// Replaces some reads with plausible wrong values: a prefix, another transaction's value,
/// swapped elements, an empty read.
fn perturb(h: &mut History, seed: u64, percent: u64) {
    let written: Vec<(Value, Value)> = (h
        .events
        .iter()
        .flat_map(|e| e.value.as_list().unwrap_or(&[]).to_vec()))
    .filter_map(|m| m.as_list().filter(|l| l[0].as_str() != Some("r")).map(|l| (l[1].clone(), l[2].clone())))
    .collect();
    let mut x = seed | 1;
    let mut draw = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n.max(1)
    };
    for e in h.events.iter_mut().filter(|e| e.kind == EventKind::Ok) {
        let Value::List(mops) = &mut e.value else { continue };
        for m in mops.iter_mut() {
            let Value::List(parts) = m else { continue };
            if parts[0].as_str() != Some("r") || draw(100) >= percent {
                continue;
            }
            let other = written.get(draw(written.len() as u64) as usize).filter(|(k, _)| *k == parts[1]);
            parts[2] = match (&parts[2], draw(4)) {
                (Value::List(items), 0) => Value::List(items[..items.len().saturating_sub(1)].to_vec()),
                (Value::List(items), 1) if items.len() >= 2 => {
                    let mut items = items.clone();
                    items.swap(0, 1);
                    Value::List(items)
                }
                (Value::List(items), 2) => {
                    let mut items = items.clone();
                    items.extend(other.map(|(_, v)| v.clone()));
                    Value::List(items)
                }
                (Value::List(_), _) => Value::Nil,
                (_, 0) => Value::Nil,
                (v, _) => other.map_or(v.clone(), |(_, w)| w.clone()),
            };
        }
    }
}

/// A small history from `seed`: 2-7 transactions on 1-2 keys, then reads perturbed.
fn small(workload: Workload, seed: u64) -> History {
    let pick = |shift: u32, n: u64| (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> shift) % n;
    let opts = SynthOptions {
        processes: 1 + pick(3, 3) as usize,
        active_keys: 1 + pick(7, 2) as usize,
        max_txn_len: 3,
        fail_percent: pick(11, 20) as u32,
        info_percent: pick(17, 20) as u32,
        read_before_write: pick(23, 2) == 0,
        ..SynthOptions::new(workload, seed, 2 + pick(29, 6) as usize)
    };
    let mut h = generate(&opts);
    perturb(&mut h, seed, pick(37, 60));
    h
}

/// Checks `runs` small histories; returns (checks, with no serial order, of those unproven).
fn compare(workload: Workload, runs: u64) -> (usize, usize, usize) {
    let (mut checks, mut violations, mut unproven) = (0, 0, 0);
    for seed in 0..runs {
        let h = small(workload, seed);
        let report = txn::check(&h, &TxnOptions::new(workload)).expect("well formed");
        let txns = transactions(&h);
        for (model, realtime) in [(M::Serializable, false), (M::StrictSerializable, true)] {
            let oracle = serializable(&txns, realtime);
            assert!(
                !(oracle && report.rules_out(model)),
                "seed {seed}: a serial order exists, yet the checker says not {model}:\n{report}\n{h:?}"
            );
            checks += 1;
            violations += usize::from(!oracle);
            unproven += usize::from(!oracle && !report.rules_out(model));
        }
    }
    (checks, violations, unproven)
}

/// Sound always; and (a regression guard on the inference) it proves nearly every violation.
fn assert_agrees(workload: Workload) {
    let runs = std::env::var("TXN_ORACLE_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3000);
    let (checks, violations, unproven) = compare(workload, runs);
    println!(
        "{workload}: {checks} checks, {violations} with no serial order, {unproven} of those not proven"
    );
    assert!(violations > checks / 5, "the perturbations should break a good share of histories");
    assert!(unproven * 20 <= violations, "{unproven} of {violations} violations not proven");
}

#[test]
fn list_append_is_sound_against_the_oracle() {
    assert_agrees(Workload::ListAppend);
}

#[test]
fn rw_register_is_sound_against_the_oracle() {
    assert_agrees(Workload::RwRegister);
}
