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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::decode::decode;
    use crate::txn::synth::{generate, SynthOptions};
    use crate::txn::Workload;

    /// Transactions reachable from `a` over real-time edges (through checkpoints).
    fn reachable(graph: &crate::txn::graph::Graph, a: u32) -> Vec<bool> {
        let mut seen = vec![false; graph.nodes() as usize];
        let mut stack = vec![a];
        while let Some(v) = stack.pop() {
            for e in graph.edges(v) {
                let (t, labels) = graph.edge(e);
                if labels & label::REALTIME != 0 && !std::mem::replace(&mut seen[t as usize], true) {
                    stack.push(t);
                }
            }
        }
        seen
    }

    // Goal: the checkpoint encoding is exactly real-time order (Elle's realtime graph): T1
    // reaches T2 iff T1 committed and completed before T2 was invoked; `one_step` agrees; and
    // the encoding stays linear in size.
    #[test]
    fn checkpoints_encode_exactly_real_time_order() {
        for seed in 0..40 {
            let opts = SynthOptions {
                processes: 6,
                fail_percent: 10,
                info_percent: 10,
                ..SynthOptions::new(Workload::ListAppend, seed, 60)
            };
            let history = generate(&opts);
            let txns = decode(&history, Workload::ListAppend).unwrap();
            let mut builder = GraphBuilder::new(txns.len());
            realtime_edges(&txns, &mut builder);
            let graph = builder.build();
            assert!(graph.edge_count() <= 3 * txns.len(), "seed {seed}: {} edges", graph.edge_count());
            for (a, ta) in txns.txns.iter().enumerate() {
                let seen = reachable(&graph, a as u32);
                for (b, tb) in txns.txns.iter().enumerate() {
                    let expected =
                        ta.status == Status::Ok && tb.status != Status::Fail && ta.complete < tb.invoke;
                    assert_eq!(seen[b], expected, "seed {seed}: T{a} -> T{b}");
                    let one_step = graph.one_step(a as u32, b as u32, label::REALTIME).is_some();
                    assert_eq!(one_step, expected && a != b, "seed {seed}: one step T{a} -> T{b}");
                }
            }
        }
    }
}
