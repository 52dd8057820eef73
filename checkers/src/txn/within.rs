//! What a transaction must see of itself: marks external reads and final writes, and reports
//! internal inconsistencies.
//!
//! A read is *external* when it is the transaction's first access to its key: only those
//! observe other transactions, so only they give write-read and read-write edges (Elle,
//! "internal vs. external" reads, after Adya's observation that a transaction reads its own
//! writes). A write is *final* when no later write of the same key follows it in the
//! transaction: that is the version the transaction installs; the others are intermediate.
//!
//! Internal consistency (Elle's `internal` anomaly): a later read of a key must agree with what
//! the transaction already read and wrote. For list-append, after reading `[1 2]` and appending
//! 3 a read must return `[1 2 3]`; after appending 3 without reading, a read must end in 3. For
//! a register, a read returns the value last read or written.

use super::anomaly::{Anomaly, AnomalyKind};
use super::decode::{flag, list_of, Mop, MopKind, Txns};
use super::explain::{short_list, Names};
use super::findings::Findings;
use super::Workload;
use crate::history::{Status, Value};

/// Sets [`flag::EXTERNAL`] and [`flag::FINAL`] on every micro-op, then checks internal
/// consistency of committed transactions that touch a key more than once.
pub(crate) fn annotate(txns: &mut Txns<'_>, workload: Workload, findings: &mut Findings) {
    let mut scratch = Vec::new();
    let mut repeated = Vec::new();
    for t in 0..txns.len() as u32 {
        if mark(txns, t, &mut scratch) && txns.txns[t as usize].status == Status::Ok {
            repeated.push(t);
        }
    }
    let txns = &*txns;
    for t in repeated {
        check(txns, t, workload, &mut scratch, findings);
    }
}

/// Sorts the transaction's micro-ops by (key, position) into `scratch`.
fn by_key(txns: &Txns<'_>, t: u32, scratch: &mut Vec<(u32, u32)>) {
    let txn = &txns.txns[t as usize];
    scratch.clear();
    for i in txn.mop_start..txn.mop_start + txn.mop_len {
        scratch.push((txns.mops[i as usize].key, i));
    }
    scratch.sort_unstable();
}

/// Flags one transaction's micro-ops; true when some key is accessed more than once.
fn mark(txns: &mut Txns<'_>, t: u32, scratch: &mut Vec<(u32, u32)>) -> bool {
    by_key(txns, t, scratch);
    let mut repeated = false;
    for group in scratch.chunk_by(|a, b| a.0 == b.0) {
        repeated |= group.len() > 1;
        let first = group[0].1 as usize;
        if txns.mops[first].kind == MopKind::Read {
            txns.mops[first].flags |= flag::EXTERNAL;
        }
        if let Some(&(_, last)) = group.iter().rev().find(|(_, i)| txns.mops[*i as usize].is_write()) {
            txns.mops[last as usize].flags |= flag::FINAL;
        }
    }
    repeated
}

fn check(
    txns: &Txns<'_>,
    t: u32,
    workload: Workload,
    scratch: &mut Vec<(u32, u32)>,
    findings: &mut Findings,
) {
    by_key(txns, t, scratch);
    for group in scratch.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
        let mops = group.iter().map(|(_, i)| &txns.mops[*i as usize]);
        let mismatch = match workload {
            Workload::ListAppend => list_mismatch(mops),
            Workload::RwRegister => register_mismatch(mops),
        };
        if let Some((got, expected)) = mismatch {
            let names = Names::new(txns);
            findings.add(AnomalyKind::Internal, || Anomaly {
                kind: AnomalyKind::Internal,
                txns: vec![names.op(t)],
                steps: Vec::new(),
                explanation: format!(
                    "{} read key {} as {got}, but after its own earlier micro-operations on that key it \
                     must read {expected}\n  {}",
                    names.txn(t),
                    names.key(group[0].0),
                    names.legend(t)
                ),
            });
        }
    }
}

/// What a list-append transaction knows of a key: all of it, or only its own appends at the end.
enum Known<'h> {
    Nothing,
    Exactly(Vec<&'h Value>),
    EndsWith(Vec<&'h Value>),
}

/// The first read that disagrees, as (what it read, what it should have read).
fn list_mismatch<'a, 'h: 'a>(mops: impl Iterator<Item = &'a Mop<'h>>) -> Option<(String, String)> {
    let mut known = Known::Nothing;
    for m in mops {
        let Some(value) = m.value else { continue };
        if m.kind == MopKind::Append {
            match &mut known {
                Known::Nothing => known = Known::EndsWith(vec![value]),
                Known::Exactly(items) | Known::EndsWith(items) => items.push(value),
            }
            continue;
        }
        let read = list_of(value);
        let agrees = match &known {
            Known::Nothing => true,
            Known::Exactly(items) => {
                read.len() == items.len() && read.iter().zip(items).all(|(a, b)| a == *b)
            }
            Known::EndsWith(items) => {
                read.len() >= items.len()
                    && read[read.len() - items.len()..].iter().zip(items).all(|(a, b)| a == *b)
            }
        };
        if !agrees {
            return Some((short_list(read), expected_text(&known)));
        }
        known = Known::Exactly(read.iter().collect());
    }
    None
}

fn expected_text(known: &Known<'_>) -> String {
    let owned = |items: &[&Value]| items.iter().map(|v| (*v).clone()).collect::<Vec<_>>();
    match known {
        Known::Nothing => String::new(),
        Known::Exactly(items) => short_list(&owned(items)),
        Known::EndsWith(items) => {
            let tail = short_list(&owned(items));
            format!("a list ending in [.. {}", tail.trim_start_matches('['))
        }
    }
}

fn register_mismatch<'a, 'h: 'a>(mops: impl Iterator<Item = &'a Mop<'h>>) -> Option<(String, String)> {
    let mut known: Option<&Value> = None;
    for m in mops {
        let Some(value) = m.value else { continue };
        if m.kind == MopKind::Read {
            if let Some(expected) = known.filter(|k| *k != value) {
                return Some((value.to_string(), expected.to_string()));
            }
        }
        known = Some(value);
    }
    None
}
