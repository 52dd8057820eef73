//! Words for transactions, keys, lists and micro-operations, shared by every explanation.
//!
//! Transactions are named `T<id>` after their operation id, so `T12` is the 13th operation
//! invoked in the history; a legend line gives its process, status, events and micro-ops. A
//! cycle reads as `T1 < T3 < T1` followed by one line per edge saying why it exists.

use super::anomaly::{Anomaly, CycleStep, Relation};
use super::cycles::{FoundCycle, Step};
use super::decode::{list_of, Mop, MopKind, Txns};
use crate::history::{Status, Value};
use std::fmt::Write as _;

/// Naming helpers over decoded transactions.
pub(crate) struct Names<'a, 'h> {
    pub txns: &'a Txns<'h>,
}

impl<'a, 'h> Names<'a, 'h> {
    pub(crate) fn new(txns: &'a Txns<'h>) -> Self {
        Names { txns }
    }

    pub(crate) fn txn(&self, t: u32) -> String {
        format!("T{}", self.txns.txns[t as usize].op)
    }

    pub(crate) fn op(&self, t: u32) -> usize {
        self.txns.txns[t as usize].op as usize
    }

    pub(crate) fn key(&self, k: u32) -> String {
        self.txns.keys[k as usize].to_string()
    }

    /// `T12 (process 3, ok, events 40-44): [append 9 2] [r 9 [1 2]]`.
    pub(crate) fn legend(&self, t: u32) -> String {
        let txn = &self.txns.txns[t as usize];
        let status = match txn.status {
            Status::Ok => "ok",
            Status::Fail => "fail",
            Status::Info => "info",
        };
        let mut out = format!("{} (process {}, {status}, event {}", self.txn(t), txn.process, txn.invoke);
        if txn.complete != super::decode::NONE {
            let _ = write!(out, "-{}", txn.complete);
        }
        out.push_str("):");
        for m in self.txns.mops_of(t) {
            let _ = write!(out, " {}", self.mop(m));
        }
        out
    }

    /// `[append 9 2]`, `[r 9 [.. 4 5 6]]`, `[r 9 ?]` for a read with unknown result.
    pub(crate) fn mop(&self, m: &Mop<'_>) -> String {
        let key = self.key(m.key);
        match (m.kind, m.value) {
            (MopKind::Append, Some(v)) => format!("[append {key} {v}]"),
            (MopKind::Write, Some(v)) => format!("[w {key} {v}]"),
            (MopKind::Read, Some(v @ Value::List(_))) => format!("[r {key} {}]", short_list(list_of(v))),
            (MopKind::Read, Some(v)) => format!("[r {key} {v}]"),
            (_, None) => format!("[r {key} ?]"),
        }
    }
}

/// A list, shortened to its last elements when long: `[1 2 3]`, `[.. 7 8 9]`.
pub(crate) fn short_list(items: &[Value]) -> String {
    const SHOWN: usize = 4;
    let mut out = String::from("[");
    let start = if items.len() > SHOWN {
        out.push_str("..");
        items.len() - (SHOWN - 1)
    } else {
        0
    };
    for (i, v) in items[start..].iter().enumerate() {
        if i > 0 || start > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{v}");
    }
    out.push(']');
    out
}

/// A cycle in words: `T1 < T3 < T1`, one line per edge, then a legend of its transactions.
/// `data` explains ww/wr/rw edges (the workload's inference knows why they exist).
pub(crate) fn cycle(
    names: &Names<'_, '_>,
    found: &FoundCycle,
    data: impl Fn(u32, u32, Relation) -> Option<String>,
) -> Anomaly {
    if found.steps.is_empty() {
        return Anomaly {
            kind: found.kind,
            txns: Vec::new(),
            steps: Vec::new(),
            explanation: format!(
                "a cycle of this kind exists among the {} transactions of one strongly connected component, \
                 but the cycle search budget ran out before a short example was found",
                found.component
            ),
        };
    }
    let steps: Vec<CycleStep> = found
        .steps
        .iter()
        .map(|s| CycleStep {
            from: names.op(s.from),
            to: names.op(s.to),
            relation: s.relation,
            why: step_reason(names, s, &data),
        })
        .collect();
    let mut text: String = found.steps.iter().map(|s| format!("{} < ", names.txn(s.from))).collect();
    text.push_str(&names.txn(found.steps[0].from));
    for (s, step) in found.steps.iter().zip(&steps) {
        let _ = write!(text, "\n  {} -{}-> {}: {}", names.txn(s.from), s.relation, names.txn(s.to), step.why);
    }
    for s in &found.steps {
        let _ = write!(text, "\n  {}", names.legend(s.from));
    }
    Anomaly { kind: found.kind, txns: steps.iter().map(|s| s.from).collect(), steps, explanation: text }
}

fn step_reason(
    names: &Names<'_, '_>,
    s: &Step,
    data: &impl Fn(u32, u32, Relation) -> Option<String>,
) -> String {
    let (a, b) = (&names.txns.txns[s.from as usize], &names.txns.txns[s.to as usize]);
    match s.relation {
        Relation::Process => {
            format!(
                "{} and {} ran on process {}, {} first",
                names.txn(s.from),
                names.txn(s.to),
                a.process,
                names.txn(s.from)
            )
        }
        Relation::Realtime => format!(
            "{} completed (event {}) before {} was invoked (event {})",
            names.txn(s.from),
            a.complete,
            names.txn(s.to),
            b.invoke
        ),
        r => data(s.from, s.to, r).unwrap_or_else(|| format!("{r} dependency")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_keep_their_tail() {
        let short: Vec<Value> = vec![1.into(), 2.into()];
        assert_eq!(short_list(&short), "[1 2]");
        let long: Vec<Value> = (1..=9).map(Value::Int).collect();
        assert_eq!(short_list(&long), "[.. 7 8 9]");
        assert_eq!(short_list(&[]), "[]");
    }
}
