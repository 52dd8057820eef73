//! A brute-force linearizability checker for small histories: the definition, executed.
//!
//! It tries every order of the operations that respects real time (an operation that completed
//! before another was invoked comes first), with each `info` or unfinished operation either
//! placed somewhere after its invocation or left out, and runs the model over each order; the
//! history is linearizable if one order is accepted (Herlihy and Wing, 1990). No memoization,
//! no partitioning (the state is one model state per part key, applied in a single global
//! order), none of the model's search hints: it shares only `compile` and `step` with the fast
//! checker, so that the property tests comparing the two test the search, its pruning and its
//! decomposition. Exponential: use it on histories of at most [`MAX_OPERATIONS`] operations.

use crate::history::{History, Operation, Status, Value};
use crate::lin::{CheckError, LinPoint};
use crate::model::{AnyModel, Model};
use std::collections::BTreeMap;

/// The largest history (in operations, failed ones excluded) the oracle accepts.
pub const MAX_OPERATIONS: usize = 10;

/// Why the oracle gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OracleError {
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error("{0} operations: the oracle handles at most {MAX_OPERATIONS}")]
    TooLarge(usize),
}

/// Whether `history` is linearizable with respect to a built-in model.
pub fn check(model: &AnyModel, history: &History) -> Result<bool, OracleError> {
    crate::with_model!(model, m => check_model(m, history))
}

/// Whether `history` is linearizable with respect to `model`.
pub fn check_model<M: Model>(model: &M, history: &History) -> Result<bool, OracleError> {
    let ops = history.operations().map_err(CheckError::from)?;
    let mut kept = Vec::new();
    for op in &ops {
        let compiled = model.compile(op).map_err(|reason| crate::lin::ill_formed(op, &reason))?;
        if op.status != Status::Fail {
            kept.push((op, compiled));
        }
    }
    if kept.len() > MAX_OPERATIONS {
        return Err(OracleError::TooLarge(kept.len()));
    }
    let search = Brute { model, ops: &kept, before: precedence(&kept) };
    Ok(search.extend(0, &BTreeMap::new()))
}

/// `before[j]` lists the operations that must be linearized before operation `j`: those that
/// completed before `j` was invoked.
fn precedence<O>(ops: &[(&Operation, O)]) -> Vec<Vec<usize>> {
    ops.iter()
        .map(|(b, _)| {
            (0..ops.len()).filter(|&i| ops[i].0.complete_index.is_some_and(|c| c < b.invoke_index)).collect()
        })
        .collect()
}

struct Brute<'a, M: Model> {
    model: &'a M,
    ops: &'a [(&'a Operation, M::Op)],
    before: Vec<Vec<usize>>,
}

impl<M: Model> Brute<'_, M> {
    /// Whether the operations not in `used` can follow, from `states`.
    fn extend(&self, used: u32, states: &BTreeMap<Value, M::State>) -> bool {
        let all_ok_used =
            self.ops.iter().enumerate().all(|(i, (op, _))| op.status != Status::Ok || used & (1 << i) != 0);
        if all_ok_used {
            return true;
        }
        (0..self.ops.len()).any(|i| self.try_next(i, used, states))
    }

    fn try_next(&self, i: usize, used: u32, states: &BTreeMap<Value, M::State>) -> bool {
        if used & (1 << i) != 0 || self.before[i].iter().any(|&p| used & (1 << p) == 0) {
            return false;
        }
        let op = &self.ops[i].1;
        let key = self.model.part(op);
        let current = states.get(&key).cloned().unwrap_or_else(|| self.model.init());
        let Some(next) = self.model.step(&current, op) else { return false };
        let mut states = states.clone();
        states.insert(key, next);
        self.extend(used | 1 << i, &states)
    }
}

/// Checks that `points` (a checker's linearization points) describe a valid linearization of
/// `history`: each point lies strictly inside its operation's interval, no operation appears
/// twice, the model accepts the operations in the order of their points, and, when `complete`,
/// every operation that returned ok is there.
pub fn validate_points(
    model: &AnyModel,
    history: &History,
    points: &[LinPoint],
    complete: bool,
) -> Result<(), String> {
    crate::with_model!(model, m => validate_points_model(m, history, points, complete))
}

fn validate_points_model<M: Model>(
    model: &M,
    history: &History,
    points: &[LinPoint],
    complete: bool,
) -> Result<(), String> {
    let ops = history.operations().map_err(|e| e.to_string())?;
    let mut sorted: Vec<&LinPoint> = points.iter().collect();
    sorted.sort_by(|a, b| a.at.total_cmp(&b.at));
    let mut states: BTreeMap<Value, M::State> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in sorted {
        let op = ops.get(p.op).ok_or_else(|| format!("point for unknown operation #{}", p.op))?;
        let end = op.complete_index.map_or(f64::INFINITY, |c| c as f64);
        if !(op.invoke_index as f64).lt(&p.at) || p.at >= end || op.status == Status::Fail {
            return Err(format!("point {} of operation #{} is outside its interval", p.at, p.op));
        }
        if !seen.insert(p.op) {
            return Err(format!("operation #{} is linearized twice", p.op));
        }
        let compiled = model.compile(op)?;
        let key = model.part(&compiled);
        let current = states.get(&key).cloned().unwrap_or_else(|| model.init());
        let next = model
            .step(&current, &compiled)
            .ok_or_else(|| format!("operation #{} is invalid at its point", p.op))?;
        states.insert(key, next);
    }
    let missing = ops.iter().find(|o| complete && o.status == Status::Ok && !seen.contains(&o.id));
    match missing {
        Some(o) => Err(format!("operation #{} returned ok but has no linearization point", o.id)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventKind};

    fn reg() -> AnyModel {
        AnyModel::by_name("cas-register", None).unwrap()
    }

    #[test]
    fn a_stale_read_after_a_write_is_not_linearizable() {
        let h = History {
            events: vec![
                Event::invoke(0, "write", 1.into(), 0),
                Event::complete(0, EventKind::Ok, "write", 1.into(), 1),
                Event::invoke(1, "read", Value::Nil, 2),
                Event::complete(1, EventKind::Ok, "read", Value::Nil, 3),
            ],
        };
        assert_eq!(check(&reg(), &h), Ok(false));
    }

    #[test]
    fn concurrent_operations_may_go_either_way_and_info_may_happen_late() {
        let h = History {
            events: vec![
                Event::invoke(0, "write", 1.into(), 0),
                Event::invoke(1, "read", Value::Nil, 1),
                Event::complete(1, EventKind::Ok, "read", 1.into(), 2),
                Event::complete(0, EventKind::Info, "write", Value::Nil, 3),
            ],
        };
        assert_eq!(check(&reg(), &h), Ok(true));
    }

    #[test]
    fn refuses_large_histories() {
        let mut h = History::new();
        for i in 0..11 {
            h.push(Event::invoke(i, "write", 1.into(), i));
        }
        assert_eq!(check(&reg(), &h), Err(OracleError::TooLarge(11)));
    }
}
