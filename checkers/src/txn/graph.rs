//! The dependency graph: transactions as nodes, labelled edges in flat adjacency arrays.
//!
//! Nodes `0..txns` are transactions (by index in the decoded list); nodes above are *virtual*
//! nodes that keep the graph sparse:
//! - a real-time **checkpoint** stands for "everything completed so far": transactions that
//!   completed link to the next checkpoint, checkpoints form a chain, and each checkpoint links
//!   to the transactions invoked after it. T1 reaches T2 through checkpoints exactly when T1
//!   completed before T2 was invoked, with O(n) edges instead of O(n x concurrency).
//! - an anti-dependency **hub** stands for "every transaction that overwrote this version",
//!   when many transactions read a register version that many overwrote (rw-register only).
//!
//! An edge out of a virtual node continues the edge that entered it (a realtime hop or an
//! anti-dependency), so searches filter edges on the way *into* virtual nodes only, and a path
//! counts one step per transaction it reaches. Each edge is packed into a `u64` as
//! `target << 8 | labels`; parallel edges are merged and their labels OR-ed.

use super::decode::NONE;
use std::ops::Range;

/// Edge labels (bit flags).
pub(crate) mod label {
    pub const WW: u8 = 1;
    pub const WR: u8 = 2;
    pub const RW: u8 = 4;
    pub const PROCESS: u8 = 8;
    pub const REALTIME: u8 = 16;
    pub const DATA: u8 = WW | WR;
}

/// What a virtual node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Virtual {
    Checkpoint,
    Hub,
}

/// Collects edges in any order.
pub(crate) struct GraphBuilder {
    txns: u32,
    virtuals: Vec<Virtual>,
    /// Per transaction, the checkpoint linked into it ([`super::decode::NONE`] if none).
    entry: Vec<u32>,
    ends: Vec<u64>,
    labels: Vec<u8>,
}

impl GraphBuilder {
    pub(crate) fn new(txns: usize) -> Self {
        GraphBuilder {
            txns: txns as u32,
            virtuals: Vec::new(),
            entry: vec![NONE; txns],
            ends: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Adds `from -> to`; self-edges say nothing about order and are dropped.
    pub(crate) fn add(&mut self, from: u32, to: u32, label: u8) {
        if from != to {
            self.ends.push((from as u64) << 32 | to as u64);
            self.labels.push(label);
        }
    }

    /// Edges from every node of `from` to every node of `to` (sorted) but itself; through a
    /// hub node when that takes fewer edges. Used for anti-dependencies from all readers of a
    /// version to all writers of the versions after it.
    pub(crate) fn connect_all(&mut self, from: &[u32], to: &[u32], label: u8) {
        let (inside, outside): (Vec<u32>, Vec<u32>) = from.iter().partition(|r| to.binary_search(r).is_ok());
        for &r in &inside {
            to.iter().for_each(|&w| self.add(r, w, label));
        }
        if outside.len() * to.len() > outside.len() + to.len() + 8 {
            let hub = self.add_virtual(Virtual::Hub);
            outside.iter().for_each(|&r| self.add(r, hub, label));
            to.iter().for_each(|&w| self.add(hub, w, label));
        } else {
            for &r in &outside {
                to.iter().for_each(|&w| self.add(r, w, label));
            }
        }
    }

    /// Links checkpoint `c` into transaction `t` (real time: `t` was invoked after it).
    pub(crate) fn enter(&mut self, c: u32, t: u32) {
        self.add(c, t, label::REALTIME);
        self.entry[t as usize] = c;
    }

    pub(crate) fn add_virtual(&mut self, kind: Virtual) -> u32 {
        self.virtuals.push(kind);
        self.txns + self.virtuals.len() as u32 - 1
    }

    /// Counting sort by source, then per-node sort and merge of parallel edges.
    pub(crate) fn build(self) -> Graph {
        let n = self.txns as usize + self.virtuals.len();
        let mut offsets = vec![0u32; n + 1];
        for e in &self.ends {
            offsets[(e >> 32) as usize + 1] += 1;
        }
        for v in 1..=n {
            offsets[v] += offsets[v - 1];
        }
        let mut cursor = offsets.clone();
        let mut adj = vec![0u64; self.ends.len()];
        for (e, label) in self.ends.iter().zip(&self.labels) {
            let slot = &mut cursor[(e >> 32) as usize];
            adj[*slot as usize] = (e & 0xffff_ffff) << 8 | *label as u64;
            *slot += 1;
        }
        drop((self.ends, self.labels));
        let mut graph = Graph { txns: self.txns, virtuals: self.virtuals, entry: self.entry, offsets, adj };
        graph.merge_parallel_edges();
        graph
    }
}

pub(crate) struct Graph {
    txns: u32,
    virtuals: Vec<Virtual>,
    entry: Vec<u32>,
    offsets: Vec<u32>,
    adj: Vec<u64>,
}

impl Graph {
    fn merge_parallel_edges(&mut self) {
        let mut write = 0usize;
        let mut start = 0usize;
        for v in 0..self.nodes() as usize {
            let end = self.offsets[v + 1] as usize;
            self.adj[start..end].sort_unstable();
            self.offsets[v] = write as u32;
            for i in start..end {
                let e = self.adj[i];
                if write > self.offsets[v] as usize && self.adj[write - 1] >> 8 == e >> 8 {
                    self.adj[write - 1] |= e & 0xff;
                } else {
                    self.adj[write] = e;
                    write += 1;
                }
            }
            start = end;
        }
        let n = self.nodes() as usize;
        self.offsets[n] = write as u32;
        self.adj.truncate(write);
        self.adj.shrink_to_fit();
    }

    /// Transactions plus virtual nodes.
    pub(crate) fn nodes(&self) -> u32 {
        self.txns + self.virtuals.len() as u32
    }

    pub(crate) fn edge_count(&self) -> usize {
        self.adj.len()
    }

    pub(crate) fn is_virtual(&self, v: u32) -> bool {
        v >= self.txns
    }

    pub(crate) fn virtual_kind(&self, v: u32) -> Option<Virtual> {
        v.checked_sub(self.txns).map(|i| self.virtuals[i as usize])
    }

    pub(crate) fn edges(&self, v: u32) -> Range<u32> {
        self.offsets[v as usize]..self.offsets[v as usize + 1]
    }

    /// `(target, labels)` of edge `e`.
    pub(crate) fn edge(&self, e: u32) -> (u32, u8) {
        let packed = self.adj[e as usize];
        ((packed >> 8) as u32, packed as u8)
    }

    /// A one-step path from transaction `a` to transaction `b` in the view with `mask`: the
    /// virtual nodes in between (none for a direct edge, a checkpoint for real time), or
    /// `None`. Checkpoints are numbered in chain order, so `a` completed before `b` was
    /// invoked exactly when `a`'s checkpoint comes no later than the one linked into `b`.
    pub(crate) fn one_step(&self, a: u32, b: u32, mask: u8) -> Option<Vec<u32>> {
        if self.labels_between(a, b) & mask != 0 {
            return Some(Vec::new());
        }
        if mask & label::REALTIME == 0 {
            return None;
        }
        let after_a = self
            .edges(a)
            .map(|e| self.edge(e).0)
            .find(|t| self.virtual_kind(*t) == Some(Virtual::Checkpoint))?;
        let before_b = self.entry[b as usize];
        (before_b != NONE && after_a <= before_b).then(|| vec![after_a])
    }

    /// The labels of the direct edge `a -> b`, 0 when there is none.
    pub(crate) fn labels_between(&self, a: u32, b: u32) -> u8 {
        let range = self.edges(a);
        let slice = &self.adj[range.start as usize..range.end as usize];
        match slice.binary_search_by_key(&b, |e| (e >> 8) as u32) {
            Ok(i) => slice[i] as u8,
            Err(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::label::*;
    use super::*;

    #[test]
    fn parallel_edges_merge_and_self_edges_vanish() {
        let mut b = GraphBuilder::new(3);
        b.add(0, 1, WW);
        b.add(2, 0, RW);
        b.add(0, 1, RW);
        b.add(1, 1, WR);
        b.add(0, 2, WR);
        let hub = b.add_virtual(Virtual::Hub);
        b.add(hub, 2, RW);
        let g = b.build();
        assert_eq!(g.nodes(), 4);
        assert_eq!(g.edge_count(), 4);
        assert_eq!(g.labels_between(0, 1), WW | RW);
        assert_eq!(g.labels_between(0, 2), WR);
        assert_eq!(g.labels_between(1, 0), 0);
        assert_eq!(g.edges(1), 2..2);
        assert_eq!(g.virtual_kind(hub), Some(Virtual::Hub));
        assert_eq!(g.edge(g.edges(hub).start), (2, RW));
    }
}
