//! Process and real-time order: edges that do not come from data.
//!
//! Process order (Elle's `process` graph): each transaction after the last committed one of its
//! process. Real-time order (Elle's `realtime` graph): T1 before T2 when T1 completed before T2
//! was invoked, by position of the events in the history. Only committed transactions precede
//! anything: an `info` transaction never completed, so nothing is known to follow it; it can
//! still follow others. Failed transactions are not in the graph.
//!
//! Real time is encoded with checkpoint nodes (see [`super::graph`]): at each invocation that
//! follows new completions, a checkpoint is created, linked from the previous checkpoint and
//! from each transaction completed since; every invocation links from the latest checkpoint.
//! That is at most three edges per transaction, whatever the concurrency.

use super::decode::Txns;
use super::graph::{label, GraphBuilder, Virtual};
use crate::history::Status;
use std::collections::BTreeMap;

pub(crate) fn add(txns: &Txns<'_>, graph: &mut GraphBuilder) {
    process_edges(txns, graph);
    realtime_edges(txns, graph);
}

fn process_edges(txns: &Txns<'_>, graph: &mut GraphBuilder) {
    let mut last: BTreeMap<u64, u32> = BTreeMap::new();
    for (t, txn) in txns.txns.iter().enumerate() {
        if txn.status == Status::Fail {
            continue;
        }
        if let Some(&before) = last.get(&txn.process) {
            graph.add(before, t as u32, label::PROCESS);
        }
        if txn.status == Status::Ok {
            last.insert(txn.process, t as u32);
        }
    }
}

fn realtime_edges(txns: &Txns<'_>, graph: &mut GraphBuilder) {
    let mut completions: Vec<(u32, u32)> = (txns.txns.iter().enumerate())
        .filter(|(_, txn)| txn.status == Status::Ok)
        .map(|(t, txn)| (txn.complete, t as u32))
        .collect();
    completions.sort_unstable();
    let mut next = 0;
    let mut done = Vec::new();
    let mut checkpoint = None;
    for (t, txn) in txns.txns.iter().enumerate() {
        if txn.status == Status::Fail {
            continue;
        }
        while next < completions.len() && completions[next].0 < txn.invoke {
            done.push(completions[next].1);
            next += 1;
        }
        if !done.is_empty() {
            let c = graph.add_virtual(Virtual::Checkpoint);
            if let Some(previous) = checkpoint {
                graph.add(previous, c, label::REALTIME);
            }
            done.drain(..).for_each(|d| graph.add(d, c, label::REALTIME));
            checkpoint = Some(c);
        }
        if let Some(c) = checkpoint {
            graph.enter(c, t as u32);
        }
    }
}
