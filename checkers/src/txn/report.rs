//! The checker's answer: a verdict for the requested model, the models ruled out, the anomalies
//! found (counted, with a few explained examples of each), and figures about the search.

use super::anomaly::{Anomaly, AnomalyKind};
use super::model::{ruled_out, ConsistencyModel, ModelSet};
use super::Workload;
use crate::verdict::Verdict;
use std::collections::BTreeMap;
use std::fmt;

/// Sizes of what was checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnStats {
    pub transactions: usize,
    pub ok: usize,
    pub failed: usize,
    pub info: usize,
    /// Operations that were not transactions (e.g. a nemesis's).
    pub ignored_ops: usize,
    pub keys: usize,
    /// Edges of the dependency graph (after merging parallel ones).
    pub edges: usize,
    /// Strongly connected components with more than one node.
    pub components: usize,
    /// Transactions in the largest such component.
    pub largest_component: usize,
}

/// How much of the example-cycle budget the search spent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchStats {
    pub budget: Option<u64>,
    pub spent: u64,
    /// True when the budget ran out: some cycles are reported without an example, or with a
    /// less specific one (G-nonadjacent rather than G-single). Verdicts are unaffected: cycle
    /// existence is decided exactly.
    pub exhausted: bool,
}

/// What the transactional checker found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnReport {
    pub workload: Workload,
    /// The model the verdict is about.
    pub model: ConsistencyModel,
    pub verdict: Verdict,
    /// Every model the anomalies rule out, weakest first.
    pub not: Vec<ConsistencyModel>,
    /// How many anomalies of each kind (for cycles: components showing one).
    pub counts: BTreeMap<AnomalyKind, usize>,
    /// Explained examples, a few of each kind, most severe kinds first.
    pub anomalies: Vec<Anomaly>,
    pub stats: TxnStats,
    pub search: SearchStats,
}

impl TxnReport {
    pub(crate) fn new(
        workload: Workload,
        model: ConsistencyModel,
        counts: BTreeMap<AnomalyKind, usize>,
        mut anomalies: Vec<Anomaly>,
        stats: TxnStats,
        search: SearchStats,
    ) -> Self {
        anomalies.sort_by_key(|a| a.kind);
        let ruled = counts.keys().fold(ModelSet::default(), |set, k| set.union(ruled_out(*k)));
        let verdict = verdict(model, ruled, &counts, &anomalies);
        TxnReport { workload, model, verdict, not: ruled.iter().collect(), counts, anomalies, stats, search }
    }

    /// True when the anomalies found rule out `model`.
    pub fn rules_out(&self, model: ConsistencyModel) -> bool {
        self.not.contains(&model)
    }

    /// The weakest ruled-out models: every other ruled-out model implies one of these.
    pub fn weakest_not(&self) -> Vec<ConsistencyModel> {
        self.model_set().weakest().collect()
    }

    fn model_set(&self) -> ModelSet {
        self.not.iter().copied().collect()
    }

    /// True when some anomaly of `kind` was found.
    pub fn has(&self, kind: AnomalyKind) -> bool {
        self.counts.contains_key(&kind)
    }
}

fn verdict(
    model: ConsistencyModel,
    ruled: ModelSet,
    counts: &BTreeMap<AnomalyKind, usize>,
    anomalies: &[Anomaly],
) -> Verdict {
    if !ruled.contains(model) {
        return Verdict::Ok;
    }
    let against: Vec<String> = (counts.iter())
        .filter(|(k, _)| ruled_out(**k).contains(model))
        .map(|(k, n)| format!("{k} x{n}"))
        .collect();
    let first = anomalies.iter().find(|a| ruled_out(a.kind).contains(model));
    let example =
        first.map_or(String::new(), |a| format!("; e.g. {}", a.explanation.lines().next().unwrap_or("")));
    Verdict::Violation(format!("not {model}: {}{example}", against.join(", ")))
}

impl fmt::Display for TxnReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        let outcome = match &self.verdict {
            Verdict::Ok => format!("{} holds", self.model),
            Verdict::Violation(_) => format!("not {}", self.model),
            Verdict::Unknown(why) => format!("unknown ({why})"),
        };
        writeln!(
            f,
            "{}: {} transactions ({} ok, {} failed, {} info), {} keys, {} edges: {outcome}",
            self.workload, s.transactions, s.ok, s.failed, s.info, s.keys, s.edges
        )?;
        if !self.not.is_empty() {
            let names: Vec<_> = self.weakest_not().iter().map(|m| m.name()).collect();
            writeln!(f, "not {} (nor anything stronger)", names.join(", "))?;
            let counts: Vec<_> = self.counts.iter().map(|(k, n)| format!("{k} x{n}")).collect();
            writeln!(f, "anomalies: {}", counts.join(", "))?;
        }
        self.fmt_search(f)?;
        for a in &self.anomalies {
            writeln!(f, "\n{a}")?;
        }
        Ok(())
    }
}

impl TxnReport {
    fn fmt_search(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        if s.components == 0 {
            return writeln!(f, "dependency graph is acyclic");
        }
        let budget = self.search.budget.map_or("unlimited".to_string(), |b| b.to_string());
        write!(
            f,
            "{} cyclic components (largest: {} transactions); cycle search spent {} of {budget} steps",
            s.components, s.largest_component, self.search.spent
        )?;
        if self.search.exhausted {
            write!(f, " and ran out: some cycles are reported without an example")?;
        }
        writeln!(f)
    }
}
