//! Read-write registers: what reads and unique writes reveal, the anomalies they expose, and the
//! edges they imply.
//!
//! A register read returns one value, so it says which write it saw (writes are unique) but
//! nothing about the order of the writes before it. This module infers only what is sound:
//! - **wr**: the writer of the value an external read returned, to the reader (unique values);
//! - **initial state**: `nil` is the version before every write, so a read of `nil` precedes
//!   (rw) every write that installs a version with no other known predecessor;
//! - **writes follow reads** (on by default, [`super::TxnOptions::register_writes_follow_reads`]):
//!   a transaction that read version v of a key and then wrote the key installed the version
//!   right after v as far as anyone can tell: ww from v's writer to it, and rw from every other
//!   reader of v to it. This assumes the database installs a transaction's write after the
//!   versions it read, as every database that keeps one version history per key does (Elle's
//!   `wfr-keys?`).
//!
//! Limits: blind writes (no read of the key first) are ordered only after the initial state, so
//! cycles through the order of blind writes go unseen; Elle's optional per-key sequential and
//! linearizable inferences are not implemented. Intermediate writes are not versions; reading
//! one is G1b, reading a failed transaction's write G1a, a value nobody wrote a garbage read.
//! An `info` transaction's write counts as a version only when someone read it.
//!
//! When many transactions read one version that many overwrote, the rw edges between them go
//! through a virtual hub node ([`GraphBuilder::connect_all`]) to stay linear in size.

use super::anomaly::{Anomaly, AnomalyKind, Relation};
use super::bykey::{sorted_writes, ByKey, Write};
use super::decode::{flag, Mop, MopKind, Txns, NONE};
use super::error::TxnError;
use super::explain::Names;
use super::findings::Findings;
use super::graph::{label, GraphBuilder};
use crate::history::{Status, Value};

/// Version 0 of every key is its initial state; version `1 + j` is the `j`th sorted write.
const INIT: u32 = 0;

/// What the rw-register inference needs to explain its edges.
pub(crate) struct RegisterOrders {
    writes_follow_reads: bool,
}

struct Pass<'a, 'h> {
    txns: &'a Txns<'h>,
    findings: &'a mut Findings,
    graph: &'a mut GraphBuilder,
    wfr: bool,
    writes: Vec<Write<'h>>,
    /// `(version, reader)` for external reads that observed a usable version.
    readers: Vec<(u32, u32)>,
    /// `(predecessor version, writer, write index)` for installed versions.
    successors: Vec<(u32, u32, u32)>,
}

/// Adds the wr/ww/rw edges of every key and reports its non-cycle anomalies.
pub(crate) fn infer(
    txns: &Txns<'_>,
    by_key: &ByKey,
    writes_follow_reads: bool,
    findings: &mut Findings,
    graph: &mut GraphBuilder,
) -> Result<RegisterOrders, TxnError> {
    let mut pass = Pass {
        txns,
        findings,
        graph,
        wfr: writes_follow_reads,
        writes: Vec::new(),
        readers: Vec::new(),
        successors: Vec::new(),
    };
    for k in 0..by_key.keys() {
        pass.key(k, by_key.of(k))?;
    }
    Ok(RegisterOrders { writes_follow_reads })
}

impl<'h> Pass<'_, 'h> {
    fn key(&mut self, k: u32, entries: &[(u32, u32)]) -> Result<(), TxnError> {
        sorted_writes(self.txns, k, entries, &mut self.writes)?;
        self.readers.clear();
        self.successors.clear();
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            self.txn(k, group);
        }
        self.keep_observed_versions();
        self.readers.sort_unstable();
        self.successors.sort_unstable();
        self.anti_dependencies();
        Ok(())
    }

    /// One transaction's accesses to the key: its external read and its installed version.
    fn txn(&mut self, k: u32, group: &[(u32, u32)]) {
        let t = group[0].0;
        let first = &self.txns.mops[group[0].1 as usize];
        let read = match (first.kind, first.value) {
            (MopKind::Read, Some(value)) if first.has(flag::EXTERNAL) => {
                Some(self.external_read(k, t, value))
            }
            _ => None,
        };
        let installed = group
            .iter()
            .map(|(_, i)| &self.txns.mops[*i as usize])
            .find(|m| m.is_write() && m.has(flag::FINAL));
        let (Some(m), true) = (installed, self.txns.in_graph(t)) else { return };
        let j = self.version_of(m.value.expect("writes carry values")).expect("own write is known") - 1;
        let pred = match read.flatten() {
            Some(v) if self.wfr && v != INIT => {
                self.graph.add(self.writes[v as usize - 1].txn, t, label::WW);
                v
            }
            _ => INIT,
        };
        self.successors.push((pred, t, j));
    }

    fn version_of(&self, value: &Value) -> Option<u32> {
        if value.is_nil() {
            return Some(INIT);
        }
        self.writes.binary_search_by(|w| w.value.cmp(value)).ok().map(|j| j as u32 + 1)
    }

    /// Checks an external read, adds its wr edge; returns the version it saw if usable.
    fn external_read(&mut self, k: u32, t: u32, value: &'h Value) -> Option<u32> {
        let Some(version) = self.version_of(value) else {
            self.report(AnomalyKind::GarbageRead, k, t, NONE, value);
            return None;
        };
        if version == INIT {
            self.readers.push((INIT, t));
            return Some(INIT);
        }
        let write = &self.writes[version as usize - 1];
        let (w, is_final) = (write.txn, write.is_final);
        if w == t {
            self.report(AnomalyKind::FutureRead, k, t, t, value);
            return None;
        }
        if self.txns.txns[w as usize].status == Status::Fail {
            self.report(AnomalyKind::AbortedRead, k, t, w, value);
            return None;
        }
        if !is_final {
            self.report(AnomalyKind::IntermediateRead, k, t, w, value);
        }
        self.graph.add(w, t, label::WR);
        self.readers.push((version, t));
        Some(version)
    }

    /// An `info` transaction's write is a version only if someone saw it.
    fn keep_observed_versions(&mut self) {
        let mut observed = vec![false; self.writes.len() + 1];
        for &(v, _) in &self.readers {
            observed[v as usize] = true;
        }
        let txns = self.txns;
        self.successors
            .retain(|&(_, t, j)| txns.txns[t as usize].status == Status::Ok || observed[j as usize + 1]);
    }

    /// rw edges from the readers of each version to the writers of the versions after it.
    fn anti_dependencies(&mut self) {
        let (readers, successors) = (std::mem::take(&mut self.readers), std::mem::take(&mut self.successors));
        let mut s = 0;
        for group in readers.chunk_by(|a, b| a.0 == b.0) {
            let version = group[0].0;
            while s < successors.len() && successors[s].0 < version {
                s += 1;
            }
            let end = successors[s..].iter().take_while(|x| x.0 == version).count() + s;
            let writers: Vec<u32> = successors[s..end].iter().map(|x| x.1).collect();
            let readers: Vec<u32> = group.iter().map(|x| x.1).collect();
            self.graph.connect_all(&readers, &writers, label::RW);
        }
        self.readers = readers;
        self.successors = successors;
    }

    fn report(&mut self, kind: AnomalyKind, k: u32, t: u32, w: u32, value: &Value) {
        let names = Names::new(self.txns);
        self.findings.add(kind, || {
            let (reader, key) = (names.txn(t), names.key(k));
            let mut text = match kind {
                AnomalyKind::GarbageRead => format!("{reader} read key {key} = {value}, but no transaction wrote {value} to it"),
                AnomalyKind::AbortedRead => format!("{reader} read key {key} = {value}, written by {}, which failed", names.txn(w)),
                AnomalyKind::IntermediateRead => format!(
                    "{reader} read key {key} = {value}, but {} overwrote {value} later in the same transaction: \
                     {reader} saw an intermediate state of it",
                    names.txn(w)
                ),
                _ => format!("{reader} read key {key} = {value} before writing {value} itself"),
            };
            let mut txns = vec![names.op(t)];
            text.push_str(&format!("\n  {}", names.legend(t)));
            if w != NONE && w != t {
                txns.push(names.op(w));
                text.push_str(&format!("\n  {}", names.legend(w)));
            }
            Anomaly { kind, txns, steps: Vec::new(), explanation: text }
        });
    }
}

impl RegisterOrders {
    /// Why the data edge `a -> b` exists, in words.
    pub(crate) fn why(&self, names: &Names<'_, '_>, a: u32, b: u32, relation: Relation) -> Option<String> {
        let (ta, tb) = (names.txn(a), names.txn(b));
        match relation {
            Relation::Wr => external_reads(names, b).find_map(|m| {
                let v = m.value?;
                wrote(names, a, m.key, v)
                    .then(|| format!("{ta} wrote {v} to key {} and {tb} read it", names.key(m.key)))
            }),
            Relation::Ww => external_reads(names, b).find_map(|m| {
                let (v, x) = (m.value?, installed(names, b, m.key)?);
                wrote(names, a, m.key, v).then(|| {
                    format!(
                        "{tb} read key {} = {v}, written by {ta}, then overwrote it with {x}",
                        names.key(m.key)
                    )
                })
            }),
            Relation::Rw => external_reads(names, a).find_map(|m| self.why_rw(names, a, b, m)),
            _ => None,
        }
    }

    fn why_rw(&self, names: &Names<'_, '_>, a: u32, b: u32, m: &Mop<'_>) -> Option<String> {
        let (v, x) = (m.value?, installed(names, b, m.key)?);
        let b_read = external_reads(names, b).find(|r| r.key == m.key).and_then(|r| r.value);
        let b_pred_init = !self.writes_follow_reads || b_read.is_none_or(Value::is_nil);
        let (ta, tb, key) = (names.txn(a), names.txn(b), names.key(m.key));
        if v.is_nil() && b_pred_init {
            Some(format!("{ta} read key {key} = nil (its initial state) and {tb} wrote {x} to it, which {ta} did not see"))
        } else if self.writes_follow_reads && b_read == Some(v) {
            Some(format!("{ta} read key {key} = {v} and {tb}, which also read {v}, overwrote it with {x}"))
        } else {
            None
        }
    }
}

fn external_reads<'a, 'h>(names: &'a Names<'_, 'h>, t: u32) -> impl Iterator<Item = &'a Mop<'h>> {
    names.txns.mops_of(t).iter().filter(|m| m.kind == MopKind::Read && m.has(flag::EXTERNAL))
}

fn wrote(names: &Names<'_, '_>, t: u32, key: u32, value: &Value) -> bool {
    names.txns.mops_of(t).iter().any(|m| m.is_write() && m.key == key && m.value == Some(value))
}

/// The version `t` installs on `key` (its final write).
fn installed<'h>(names: &Names<'_, 'h>, t: u32, key: u32) -> Option<&'h Value> {
    names
        .txns
        .mops_of(t)
        .iter()
        .find(|m| m.is_write() && m.key == key && m.has(flag::FINAL))
        .and_then(|m| m.value)
}
