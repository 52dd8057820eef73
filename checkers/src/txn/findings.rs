//! A tally of anomalies: every one is counted, the first few of each kind are kept with their
//! explanation. Explanations are built lazily, so a history with a million aborted reads costs
//! a million increments, not a million formatted strings.

use super::anomaly::{Anomaly, AnomalyKind};
use std::collections::BTreeMap;

pub(crate) struct Findings {
    pub counts: BTreeMap<AnomalyKind, usize>,
    pub examples: Vec<Anomaly>,
    cap: usize,
}

impl Findings {
    /// Keeps at most `cap` examples of each kind.
    pub(crate) fn new(cap: usize) -> Self {
        Findings { counts: BTreeMap::new(), examples: Vec::new(), cap }
    }

    /// Counts one anomaly of `kind`; `explain` runs only when the example is kept.
    pub(crate) fn add(&mut self, kind: AnomalyKind, explain: impl FnOnce() -> Anomaly) {
        let count = self.counts.entry(kind).or_default();
        *count += 1;
        if *count <= self.cap {
            self.examples.push(explain());
        }
    }
}
