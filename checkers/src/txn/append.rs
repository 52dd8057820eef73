//! List-append: version orders from reads, the anomalies they expose, and the edges they imply.
//!
//! Every append to a key adds a unique value, and a read returns the whole list, so a read
//! reveals the order of every append before it ("traceability", Elle section 3): the longest
//! committed read of a key is its version order, and every other committed read must be a
//! prefix of it, or no single order explains both (*incompatible order*). Elements of that
//! order are mapped back to the transaction that appended them ("recoverability"): an element
//! nobody appended is a *garbage read*, one appended by a failed transaction an *aborted read*
//! (G1a), one followed by another append of the same transaction an *intermediate read* (G1b)
//! when some other transaction's read ends there; a value twice in the order is a *duplicate*.
//!
//! Edges (Adya's direct serialization graph, as Elle infers it):
//! - ww: the writers of consecutive elements of the order, first to second;
//! - wr: the writer of the last element an external read saw, to the reader;
//! - rw: an external reader, to the writer of the element right after what it saw (for an empty
//!   read, the first element).
//!
//! - sequential extension: a committed transaction whose final append to the key is in no read
//!   installed its version after the whole order (versions only grow, and the last one read
//!   existed): ww from the order's last writer to it, rw from the readers of the whole order.
//!
//! Only external reads (a transaction's first access to the key) give wr and rw edges; a key
//! whose order has duplicates gives no edges at all, since its positions are not versions.
//! Appends of `info` transactions that nobody read may never have happened and give no edges:
//! the inference is sound, not complete.

use super::anomaly::{Anomaly, AnomalyKind, Relation};
use super::bykey::{find_write, sorted_writes, ByKey, Write};
use super::decode::{flag, list_of, same_list, Mop, MopKind, Txns, NONE};
use super::error::TxnError;
use super::explain::{short_list, Names};
use super::findings::Findings;
use super::graph::{label, GraphBuilder};
use crate::history::{Status, Value};

/// What the list-append inference learned, kept to explain cycle edges.
pub(crate) struct AppendOrders<'h> {
    keys: Vec<KeyOrder<'h>>,
    /// Per key, the writer of each position of its order ([`NONE`] when not in the graph).
    writers: Vec<u32>,
}

#[derive(Clone, Copy)]
struct KeyOrder<'h> {
    list: &'h [Value],
    /// The transaction whose read is the order.
    source: u32,
    start: u32,
    /// False when the order has duplicates and gives no edges.
    usable: bool,
}

/// The first position of each kind of bad element in a key's order.
#[derive(Default)]
struct Bad {
    aborted: Option<usize>,
    garbage: Option<usize>,
    duplicate: Option<usize>,
}

struct Pass<'a, 'h> {
    txns: &'a Txns<'h>,
    findings: &'a mut Findings,
    graph: &'a mut GraphBuilder,
    orders: AppendOrders<'h>,
    appends: Vec<Write<'h>>,
    /// Per position of the current order: appending transaction (raw, [`NONE`] for garbage)
    /// and whether that append was its final one to the key.
    writer: Vec<u32>,
    is_final: Vec<bool>,
    /// Per sorted append: whether the order contains it.
    seen: Vec<bool>,
    /// External readers that saw the whole order.
    tail_readers: Vec<u32>,
}

/// Infers version orders for every key, reports non-cycle anomalies, adds ww/wr/rw edges.
pub(crate) fn infer<'h>(
    txns: &Txns<'h>,
    by_key: &ByKey,
    findings: &mut Findings,
    graph: &mut GraphBuilder,
) -> Result<AppendOrders<'h>, TxnError> {
    let orders = AppendOrders { keys: Vec::with_capacity(by_key.keys() as usize), writers: Vec::new() };
    let mut pass = Pass {
        txns,
        findings,
        graph,
        orders,
        appends: Vec::new(),
        writer: Vec::new(),
        is_final: Vec::new(),
        seen: Vec::new(),
        tail_readers: Vec::new(),
    };
    for k in 0..by_key.keys() {
        pass.key(k, by_key.of(k))?;
    }
    Ok(pass.orders)
}

impl<'h> Pass<'_, 'h> {
    fn key(&mut self, k: u32, entries: &[(u32, u32)]) -> Result<(), TxnError> {
        sorted_writes(self.txns, k, entries, &mut self.appends)?;
        let (list, source) = self.longest_read(entries);
        let bad = self.place(list);
        let order = KeyOrder {
            list,
            source,
            start: self.orders.writers.len() as u32,
            usable: bad.duplicate.is_none(),
        };
        for (&w, _) in self.writer.iter().zip(list) {
            let in_graph = w != NONE && self.txns.in_graph(w);
            self.orders.writers.push(if in_graph { w } else { NONE });
        }
        if order.usable {
            self.ww_edges(&order);
        }
        self.tail_readers.clear();
        for &(t, i) in entries {
            let m = self.txns.mops[i as usize];
            if let (MopKind::Read, Some(value)) = (m.kind, m.value) {
                self.read(k, &order, &bad, t, &m, list_of(value));
            }
        }
        if order.usable {
            self.extension(&order);
        }
        self.orders.keys.push(order);
        Ok(())
    }

    /// The longest committed read of the key (the earliest, among equals) and its reader.
    fn longest_read(&self, entries: &[(u32, u32)]) -> (&'h [Value], u32) {
        let mut best: (&'h [Value], u32) = (&[], NONE);
        for &(t, i) in entries {
            let m = &self.txns.mops[i as usize];
            if let (MopKind::Read, Some(value)) = (m.kind, m.value) {
                let list = list_of(value);
                if best.1 == NONE || list.len() > best.0.len() {
                    best = (list, t);
                }
            }
        }
        best
    }

    /// Maps each element of the order to its appender; returns where the bad elements are.
    fn place(&mut self, list: &[Value]) -> Bad {
        self.writer.clear();
        self.is_final.clear();
        self.seen.clear();
        self.seen.resize(self.appends.len(), false);
        let mut bad = Bad::default();
        for (p, v) in list.iter().enumerate() {
            let Ok(j) = self.appends.binary_search_by(|a| a.value.cmp(v)) else {
                bad.garbage.get_or_insert(p);
                self.writer.push(NONE);
                self.is_final.push(true);
                continue;
            };
            let append = &self.appends[j];
            if std::mem::replace(&mut self.seen[j], true) {
                bad.duplicate.get_or_insert(p);
            }
            if self.txns.txns[append.txn as usize].status == Status::Fail {
                bad.aborted.get_or_insert(p);
            }
            self.writer.push(append.txn);
            self.is_final.push(append.is_final);
        }
        bad
    }

    fn ww_edges(&mut self, order: &KeyOrder<'h>) {
        let writers = &self.orders.writers[order.start as usize..order.start as usize + order.list.len()];
        for pair in writers.windows(2) {
            if pair[0] != NONE && pair[1] != NONE {
                self.graph.add(pair[0], pair[1], label::WW);
            }
        }
    }

    fn read(&mut self, k: u32, order: &KeyOrder<'h>, bad: &Bad, t: u32, m: &Mop<'h>, read: &'h [Value]) {
        let n = read.len();
        let prefix = n <= order.list.len()
            && (std::ptr::eq(read, &order.list[..n]) || same_list(read, &order.list[..n]));
        if !prefix {
            self.incompatible(k, order, t, m, read);
            return;
        }
        self.bad_elements(k, bad, t, read);
        if n > 0 && !self.is_final[n - 1] && self.writer[n - 1] != t && self.writer[n - 1] != NONE {
            self.report(AnomalyKind::IntermediateRead, k, t, self.writer[n - 1], read, n - 1);
        }
        if !m.has(flag::EXTERNAL) || !order.usable {
            return;
        }
        if n == order.list.len() {
            self.tail_readers.push(t);
        }
        if n > 0 {
            let w = self.writer[n - 1];
            if w == t {
                self.report(AnomalyKind::FutureRead, k, t, t, read, n - 1);
            } else if w != NONE && self.txns.in_graph(w) {
                self.graph.add(w, t, label::WR);
            }
        }
        let writers = &self.orders.writers[order.start as usize..order.start as usize + order.list.len()];
        if let Some(next) = next_version(writers, n) {
            if writers[next] != NONE {
                self.graph.add(t, writers[next], label::RW);
            }
        }
    }

    /// Sequential extension: a committed transaction whose final append to the key is in no
    /// read installed its version after the whole order (versions of a list only grow, and the
    /// order's last version existed). So: ww from the order's last writer to it, rw from every
    /// external reader of the whole order to it. A transaction whose other append ends the
    /// order is skipped: its readers saw an intermediate state of it (G1b), not a version.
    fn extension(&mut self, order: &KeyOrder<'h>) {
        let writers = &self.orders.writers[order.start as usize..order.start as usize + order.list.len()];
        let last = writers.last().copied().unwrap_or(NONE);
        let mut later: Vec<u32> = (self.appends.iter().zip(&self.seen))
            .filter(|(a, seen)| a.is_final && !**seen && self.txns.txns[a.txn as usize].status == Status::Ok)
            .map(|(a, _)| a.txn)
            .filter(|t| *t != last)
            .collect();
        if later.is_empty() {
            return;
        }
        later.sort_unstable();
        if last != NONE {
            later.iter().for_each(|&w| self.graph.add(last, w, label::WW));
        }
        self.graph.connect_all(&self.tail_readers, &later, label::RW);
    }

    fn bad_elements(&mut self, k: u32, bad: &Bad, t: u32, read: &'h [Value]) {
        let n = read.len();
        if let Some(p) = bad.aborted.filter(|p| *p < n) {
            self.report(AnomalyKind::AbortedRead, k, t, self.writer[p], read, p);
        }
        if let Some(p) = bad.garbage.filter(|p| *p < n) {
            self.report(AnomalyKind::GarbageRead, k, t, NONE, read, p);
        }
        if let Some(p) = bad.duplicate.filter(|p| *p < n) {
            self.report(AnomalyKind::DuplicateElements, k, t, NONE, read, p);
        }
    }

    /// A read that is not a prefix of the order: reported, then checked element by element.
    fn incompatible(&mut self, k: u32, order: &KeyOrder<'h>, t: u32, m: &Mop<'h>, read: &'h [Value]) {
        let names = Names::new(self.txns);
        self.findings.add(AnomalyKind::IncompatibleOrder, || Anomaly {
            kind: AnomalyKind::IncompatibleOrder,
            txns: vec![names.op(t), names.op(order.source)],
            steps: Vec::new(),
            explanation: format!(
                "{} read key {} as {}, but {} read it as {}: neither is a prefix of the other, so no \
                 single order of appends explains both\n  {}\n  {}",
                names.txn(t),
                names.key(k),
                short_list(read),
                names.txn(order.source),
                short_list(order.list),
                names.legend(t),
                names.legend(order.source)
            ),
        });
        if let Some(p) = first_repeat(read) {
            self.report(AnomalyKind::DuplicateElements, k, t, NONE, read, p);
        }
        for (p, v) in read.iter().enumerate() {
            let writer = find_write(&self.appends, v).map(|w| w.txn);
            match writer {
                None => self.report(AnomalyKind::GarbageRead, k, t, NONE, read, p),
                Some(w) if self.txns.txns[w as usize].status == Status::Fail => {
                    self.report(AnomalyKind::AbortedRead, k, t, w, read, p)
                }
                Some(w) if p + 1 == read.len() && m.has(flag::EXTERNAL) => self.graph.add(w, t, label::WR),
                Some(_) => {}
            }
        }
    }

    /// Records a non-cycle anomaly about element `p` of `read` (by `t`, of key `k`).
    fn report(&mut self, kind: AnomalyKind, k: u32, t: u32, writer: u32, read: &[Value], p: usize) {
        let names = Names::new(self.txns);
        self.findings.add(kind, || {
            let mut txns = vec![names.op(t)];
            let mut explanation = element_text(&names, kind, k, t, writer, read, p);
            explanation.push_str(&format!("\n  {}", names.legend(t)));
            if writer != NONE && writer != t {
                txns.push(names.op(writer));
                explanation.push_str(&format!("\n  {}", names.legend(writer)));
            }
            Anomaly { kind, txns, steps: Vec::new(), explanation }
        });
    }
}

/// The position of the second occurrence of the first repeated element, if any.
fn first_repeat(read: &[Value]) -> Option<usize> {
    let mut sorted: Vec<(&Value, usize)> = read.iter().zip(0..).collect();
    sorted.sort_unstable();
    sorted.windows(2).filter(|w| w[0].0 == w[1].0).map(|w| w[1].1).min()
}

/// The position of the version installed after a read of the first `n` elements: the next
/// element, skipping further appends of the transaction that appended element `n - 1` (a reader
/// that saw part of a transaction's appends saw an intermediate state of it, not a version).
fn next_version(writers: &[u32], n: usize) -> Option<usize> {
    let seen = n.checked_sub(1).map(|p| writers[p]);
    (n..writers.len()).find(|p| seen.is_none_or(|w| w == NONE || writers[*p] != w))
}

fn element_text(
    names: &Names<'_, '_>,
    kind: AnomalyKind,
    k: u32,
    t: u32,
    w: u32,
    read: &[Value],
    p: usize,
) -> String {
    let (reader, key, v) = (names.txn(t), names.key(k), &read[p]);
    let seen = format!("{reader} read key {key} as {}", short_list(&read[..=p]));
    match kind {
        AnomalyKind::AbortedRead => format!("{seen}, which includes {v}, appended by {}, which failed", names.txn(w)),
        AnomalyKind::GarbageRead => format!("{seen}, which includes {v}, but no transaction appended {v} to key {key}"),
        AnomalyKind::DuplicateElements => format!("{seen}, in which {v} appears more than once"),
        AnomalyKind::IntermediateRead => format!(
            "{seen}, ending in {v}, but {} appended more to key {key} after {v}: {reader} saw an intermediate \
             state of that transaction",
            names.txn(w)
        ),
        _ => format!("{seen}, ending in {v}, which {reader} itself appends only later"),
    }
}

impl AppendOrders<'_> {
    /// Why the data edge `a -> b` exists, in words.
    pub(crate) fn why(&self, names: &Names<'_, '_>, a: u32, b: u32, relation: Relation) -> Option<String> {
        match relation {
            Relation::Ww => self.why_ww(names, a, b),
            Relation::Wr => why_wr(names, a, b),
            Relation::Rw => self.why_rw(names, a, b),
            _ => None,
        }
    }

    fn order_of(&self, k: u32) -> Option<(&KeyOrder<'_>, &[u32])> {
        let order = self.keys.get(k as usize).filter(|o| o.usable)?;
        Some((order, &self.writers[order.start as usize..order.start as usize + order.list.len()]))
    }

    fn why_ww(&self, names: &Names<'_, '_>, a: u32, b: u32) -> Option<String> {
        let keys = names.txns.mops_of(a).iter().filter(|m| m.kind == MopKind::Append).map(|m| m.key);
        for k in keys {
            let Some((order, writers)) = self.order_of(k) else { continue };
            let (ta, tb, key) = (names.txn(a), names.txn(b), names.key(k));
            if let Some(p) = writers.windows(2).position(|w| w[0] == a && w[1] == b) {
                let (x, y) = (&order.list[p], &order.list[p + 1]);
                let source = names.txn(order.source);
                return Some(format!(
                    "{ta} appended {x} to key {key} and {tb} appended {y} right after it \
                     ({source}'s read of key {key} shows [.. {x} {y}])"
                ));
            }
            let unread = unread_final(names, order, b, k).filter(|_| writers.last() == Some(&a));
            if let (Some(v), Some(x)) = (unread, order.list.last()) {
                return Some(format!(
                    "{ta} appended {x} to key {key}, the last element any read shows, and {tb} appended {v}, \
                     which no read shows, so after it"
                ));
            }
        }
        None
    }

    fn why_rw(&self, names: &Names<'_, '_>, a: u32, b: u32) -> Option<String> {
        for m in external_reads(names, a) {
            let read = list_of(m.value?);
            let Some((order, writers)) = self.order_of(m.key) else { continue };
            let (who, key) = (names.txn(a), names.key(m.key));
            if let Some(v) = unread_final(names, order, b, m.key).filter(|_| read.len() == order.list.len()) {
                return Some(format!(
                    "{who} read key {key} as {} and {} appended {v}, which no read shows, so after \
                     everything {who} saw",
                    short_list(read),
                    names.txn(b)
                ));
            }
            let Some(p) = next_version(writers, read.len()).filter(|p| writers[*p] == b) else { continue };
            let next = &order.list[p];
            let after = match (p == read.len(), read.last()) {
                (_, None) => "as its first element".to_string(),
                (true, Some(v)) => format!("right after {v}"),
                (false, Some(v)) => format!("after {v} and the rest of its writer's appends"),
            };
            return Some(format!(
                "{who} read key {key} as {} and {} appended {next} {after}, which {who} did not see",
                short_list(read),
                names.txn(b)
            ));
        }
        None
    }
}

/// `t`'s final append to `k`, when no read shows it.
fn unread_final<'h>(names: &Names<'_, 'h>, order: &KeyOrder<'_>, t: u32, k: u32) -> Option<&'h Value> {
    let mut appends = names.txns.mops_of(t).iter().filter(|m| m.kind == MopKind::Append && m.key == k);
    let value = appends.find(|m| m.has(flag::FINAL))?.value?;
    (!order.list.contains(value)).then_some(value)
}

fn why_wr(names: &Names<'_, '_>, a: u32, b: u32) -> Option<String> {
    for m in external_reads(names, b) {
        let read = list_of(m.value?);
        let Some(last) = read.last() else { continue };
        let wrote = names
            .txns
            .mops_of(a)
            .iter()
            .any(|w| w.kind == MopKind::Append && w.key == m.key && w.value == Some(last));
        if wrote {
            return Some(format!(
                "{} appended {last} to key {} and {} read it: {}",
                names.txn(a),
                names.key(m.key),
                names.txn(b),
                short_list(read)
            ));
        }
    }
    None
}

fn external_reads<'a, 'h>(names: &'a Names<'_, 'h>, t: u32) -> impl Iterator<Item = &'a Mop<'h>> {
    names.txns.mops_of(t).iter().filter(|m| m.kind == MopKind::Read && m.has(flag::EXTERNAL))
}
