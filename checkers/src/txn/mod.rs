//! An Elle-style checker for transactional histories: list-append and read-write registers.
//!
//! Algorithm (Kingsbury and Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
//! Observations", VLDB 2020; anomalies after Adya's thesis, 1999): infer from what reads
//! returned the order in which each key's versions were installed, build Adya's direct
//! serialization graph (ww, wr and rw edges) plus process and real-time order, find its
//! strongly connected components, extract a short cycle from each and classify it (G0, G1c,
//! G-single, G-nonadjacent, G2-item, with `-process`/`-realtime` variants). Anomalies that
//! need no cycle (G1a, G1b, garbage and duplicate elements, internal inconsistency,
//! incompatible orders) are found on the way. The anomalies rule out consistency models; the
//! verdict is for the one requested.
//!
//! Modules, in pipeline order:
//! - [`decode`]: pairs operations and decodes micro-ops into compact, key-interned form;
//!   [`intern`] assigns the key ids.
//! - [`within`]: external reads, final writes, internal consistency.
//! - [`bykey`]: micro-ops grouped by key.
//! - [`append`] / [`register`]: per-workload version inference, non-cycle anomalies, data edges.
//! - [`orders`]: process and real-time edges.
//! - [`graph`]: the labelled graph in flat arrays; [`view`]: filtered views of it.
//! - [`scc`]: iterative Tarjan; [`bfs`]: budgeted shortest paths; [`cycles`]: the search.
//! - [`explain`], [`findings`], [`report`]: words, tallies, the answer; [`anomaly`] and
//!   [`model`]: the anomaly and consistency-model vocabularies.
//! - [`synth`]: synthetic histories for tests and benchmarks.

mod anomaly;
mod append;
mod bfs;
mod bykey;
mod cycles;
mod decode;
mod error;
mod explain;
mod findings;
mod graph;
mod intern;
mod model;
mod orders;
mod register;
mod report;
mod scc;
pub mod synth;
mod view;
mod within;

pub use anomaly::{Anomaly, AnomalyKind, CycleShape, CycleStep, Order, Relation};
pub use error::TxnError;
pub use model::{implies, ConsistencyModel, ModelSet, UnknownModel};
pub use report::{SearchStats, TxnReport, TxnStats};

use crate::history::{History, Status};
use anomaly::Relation as Rel;
use explain::Names;
use findings::Findings;
use graph::GraphBuilder;
use std::fmt;
use std::str::FromStr;

/// Which kind of transactional workload a history records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    /// Micro-ops `[append k v]` and `[r k list]`: lists to which unique values are appended.
    ListAppend,
    /// Micro-ops `[w k v]` and `[r k v]`: registers written with unique values.
    RwRegister,
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
        })
    }
}

/// An unknown workload name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown transactional workload `{0}` (known: list-append, rw-register)")]
pub struct UnknownWorkload(pub String);

impl FromStr for Workload {
    type Err = UnknownWorkload;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "list-append" => Ok(Workload::ListAppend),
            "rw-register" => Ok(Workload::RwRegister),
            _ => Err(UnknownWorkload(s.to_string())),
        }
    }
}

/// Edge scans the example-cycle search may spend by default: a few seconds at most.
pub const DEFAULT_CYCLE_SEARCH_BUDGET: u64 = 50_000_000;

/// How to check a transactional history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOptions {
    pub workload: Workload,
    /// The model the verdict is about; every ruled-out model is reported regardless.
    pub model: ConsistencyModel,
    /// Edge scans the search for example cycles may spend (`None`: no limit). Whether a cycle
    /// exists is always decided; only examples can be cut short.
    pub cycle_search_budget: Option<u64>,
    /// Explained examples kept per anomaly kind (all are counted).
    pub max_examples: usize,
    /// rw-register only: a transaction that read a key and then wrote it installed its
    /// version right after the one it read (see [`register`]).
    pub register_writes_follow_reads: bool,
}

impl TxnOptions {
    /// Defaults for `workload`: strict serializability, the default budget, 8 examples.
    pub fn new(workload: Workload) -> Self {
        TxnOptions {
            workload,
            model: ConsistencyModel::StrictSerializable,
            cycle_search_budget: Some(DEFAULT_CYCLE_SEARCH_BUDGET),
            max_examples: 8,
            register_writes_follow_reads: true,
        }
    }
}

impl Default for TxnOptions {
    fn default() -> Self {
        TxnOptions::new(Workload::ListAppend)
    }
}

/// What the workload's inference learned, to explain data edges.
enum Inference<'h> {
    Append(append::AppendOrders<'h>),
    Register(register::RegisterOrders),
}

impl Inference<'_> {
    fn why(&self, names: &Names<'_, '_>, a: u32, b: u32, relation: Rel) -> Option<String> {
        match self {
            Inference::Append(orders) => orders.why(names, a, b, relation),
            Inference::Register(orders) => orders.why(names, a, b, relation),
        }
    }
}

/// Checks a transactional history. An ill-formed history is an error, never a verdict.
pub fn check(history: &History, opts: &TxnOptions) -> Result<TxnReport, TxnError> {
    let mut txns = decode::decode(history, opts.workload)?;
    let mut findings = Findings::new(opts.max_examples);
    within::annotate(&mut txns, opts.workload, &mut findings);
    let mut builder = GraphBuilder::new(txns.len());
    let by_key = bykey::ByKey::new(&txns);
    let inference = match opts.workload {
        Workload::ListAppend => {
            Inference::Append(append::infer(&txns, &by_key, &mut findings, &mut builder)?)
        }
        Workload::RwRegister => Inference::Register(register::infer(
            &txns,
            &by_key,
            opts.register_writes_follow_reads,
            &mut findings,
            &mut builder,
        )?),
    };
    drop(by_key);
    orders::add(&txns, &mut builder);
    let graph = builder.build();
    let cycles = cycles::search(&graph, opts.cycle_search_budget);
    let names = Names::new(&txns);
    for found in &cycles.found {
        findings.add(found.kind, || explain::cycle(&names, found, |a, b, r| inference.why(&names, a, b, r)));
    }
    let stats = stats(&txns, graph.edge_count(), &cycles);
    let search = SearchStats {
        budget: opts.cycle_search_budget,
        spent: cycles.budget.spent,
        exhausted: cycles.budget.exhausted,
    };
    Ok(TxnReport::new(opts.workload, opts.model, findings.counts, findings.examples, stats, search))
}

fn stats(txns: &decode::Txns<'_>, edges: usize, cycles: &cycles::CycleSearch) -> TxnStats {
    let count = |s: Status| txns.txns.iter().filter(|t| t.status == s).count();
    TxnStats {
        transactions: txns.len(),
        ok: count(Status::Ok),
        failed: count(Status::Fail),
        info: count(Status::Info),
        ignored_ops: txns.ignored,
        keys: txns.keys.len(),
        edges,
        components: cycles.components,
        largest_component: cycles.largest,
    }
}
