//! The anomalies the transactional checker reports, and the evidence each carries.
//!
//! Cycle anomalies are Adya's (thesis, 1999, section 3.2 and chapter 4): G0 (a cycle of
//! write-write edges), G1c (write-write and write-read edges), G-single (exactly one read-write
//! anti-dependency edge), G-nonadjacent (several, never two in a row: snapshot isolation forbids
//! these too, after Cerone and Gotsman) and G2-item (any other cycle with anti-dependencies).
//! Each has a `-process` and a `-realtime` variant when the cycle needs a process's order or
//! real-time order (Elle's process and real-time graphs, after Adya's PL-SS). The other
//! anomalies are Elle's non-cycle anomalies: G1a (aborted read), G1b (intermediate read), and
//! ones Adya's model cannot even express: duplicate elements, garbage reads, internal
//! inconsistency, incompatible version orders and future reads.

use std::fmt;

/// What an edge of the dependency graph means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relation {
    /// Write-write: the second transaction overwrote (or appended after) the first one's write.
    Ww,
    /// Write-read: the second transaction read the first one's write.
    Wr,
    /// Read-write (anti-dependency): the second overwrote the version the first one read.
    Rw,
    /// Both ran on the same process, the first one first.
    Process,
    /// The first completed before the second was invoked.
    Realtime,
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Relation::Ww => "ww",
            Relation::Wr => "wr",
            Relation::Rw => "rw",
            Relation::Process => "process",
            Relation::Realtime => "realtime",
        })
    }
}

/// The data-dependency shape of a cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CycleShape {
    G0,
    G1c,
    GSingle,
    GNonadjacent,
    G2Item,
}

/// Which orders besides data dependencies a cycle needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Order {
    /// Data dependencies (ww, wr, rw) only.
    Data,
    /// Also a process's own order.
    Process,
    /// Also real-time order.
    Realtime,
}

/// A kind of anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    Cycle(CycleShape, Order),
    /// G1a: a committed read saw a write of a transaction that failed.
    AbortedRead,
    /// G1b: a read saw a value its writer later overwrote within the same transaction.
    IntermediateRead,
    /// The same element twice in one list.
    DuplicateElements,
    /// A read of a value nobody wrote.
    GarbageRead,
    /// A transaction that does not see its own earlier reads and writes.
    Internal,
    /// Two reads of a list that are not prefixes of one another: no single version order.
    IncompatibleOrder,
    /// A transaction's first read of a key saw a value that transaction only writes later.
    FutureRead,
}

impl AnomalyKind {
    pub fn is_cycle(self) -> bool {
        matches!(self, AnomalyKind::Cycle(..))
    }

    /// Elle's name for the anomaly, e.g. `G-single-realtime` or `G1a`.
    pub fn name(self) -> String {
        match self {
            AnomalyKind::Cycle(shape, order) => {
                let base = match shape {
                    CycleShape::G0 => "G0",
                    CycleShape::G1c => "G1c",
                    CycleShape::GSingle => "G-single",
                    CycleShape::GNonadjacent => "G-nonadjacent",
                    CycleShape::G2Item => "G2-item",
                };
                match order {
                    Order::Data => base.to_string(),
                    Order::Process => format!("{base}-process"),
                    Order::Realtime => format!("{base}-realtime"),
                }
            }
            AnomalyKind::AbortedRead => "G1a".into(),
            AnomalyKind::IntermediateRead => "G1b".into(),
            AnomalyKind::DuplicateElements => "duplicate-elements".into(),
            AnomalyKind::GarbageRead => "garbage-read".into(),
            AnomalyKind::Internal => "internal".into(),
            AnomalyKind::IncompatibleOrder => "incompatible-order".into(),
            AnomalyKind::FutureRead => "future-read".into(),
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One edge of a reported cycle, between two transactions named by operation id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleStep {
    pub from: usize,
    pub to: usize,
    pub relation: Relation,
    /// Why the edge exists, in words.
    pub why: String,
}

/// One reported anomaly with its evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The operations involved (operation ids, as in [`crate::Operation::id`]); for a cycle,
    /// in cycle order.
    pub txns: Vec<usize>,
    /// The cycle's edges; empty for non-cycle anomalies.
    pub steps: Vec<CycleStep>,
    /// A short explanation in words.
    pub explanation: String,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.kind, self.explanation)
    }
}
