//! Turns a history into independent parts ready for the search.
//!
//! Steps: compile every operation with the model (an ill-formed one is an error); drop what
//! cannot matter (`fail` operations did not happen; a read-only operation with an unknown
//! result constrains nothing); split the rest by [`Model::part`] (P-compositionality); and, per
//! part, lay out the invoke/return events, give each operation a slot for the time it is in
//! flight, and precompute what the search's pruning needs:
//! - for each `info` operation, the previous identical `info` operation: identical operations
//!   that never return are interchangeable, so the search applies them in invocation order;
//! - for each "observer" (a completed operation that is not blind), its explainers: the
//!   operations that could produce what it observes ([`Model::explains`]) and might still be
//!   linearized before it. Where none can, the current state must already be able to reach what
//!   the observer needs ([`Model::may_reach`]).

use crate::history::{Operation, Status, Value};
use crate::model::Model;
use std::collections::BTreeMap;

/// A part event: an operation's invocation or its return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ev {
    Invoke(u32),
    Return(u32),
}

/// An operation of a part, compiled.
#[derive(Clone, Debug)]
pub(crate) struct PartOp<M: Model> {
    /// The operation's id in the history.
    pub id: usize,
    pub op: M::Op,
    /// Never returns (`info`, or still in flight when the history ends).
    pub info: bool,
    pub read_only: bool,
    pub blind: bool,
    /// Position of its invocation among the part's events.
    pub invoke: usize,
    /// Position of its return, `None` for info operations.
    pub ret: Option<usize>,
    pub slot: usize,
    /// The previous identical info operation, which must be linearized before this one.
    pub prev_same: Option<u32>,
    /// Set for observers when the model prunes.
    pub observer: Option<Observer>,
}

/// What the pruning needs to know about an observer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observer {
    /// Operations that could produce what this one observes, and might be linearized before it
    /// while it is being checked.
    pub explainers: Vec<u32>,
    /// The last invocation among them: before it, a future explainer may still come.
    pub last_explainer_invoke: Option<usize>,
}

/// One independent part of the history.
pub(crate) struct Part<M: Model> {
    pub key: Value,
    pub ops: Vec<PartOp<M>>,
    pub events: Vec<Ev>,
    /// The history event index of each part event.
    pub history_index: Vec<usize>,
    /// Most operations in flight at once (slots needed).
    pub width: usize,
    /// Per event position `t`: the first observer invoked after `t`.
    pub next_observer: Vec<Option<u32>>,
    /// Per event position `t`: how many completed, non-blind operations are invoked after `t`.
    pub nonblind_after: Vec<u32>,
    /// Observers, latest return first (for the liveness of states).
    pub observers_by_ret: Vec<u32>,
    /// Whether states that no remaining observer can see may be merged: true when every
    /// operation that could make such a state visible again overwrites it.
    pub merge_dead: bool,
}

impl<M: Model> Part<M> {
    /// Whether operation `w` is in flight while event `t` is processed.
    pub fn in_flight(&self, w: u32, t: usize) -> bool {
        let op = &self.ops[w as usize];
        op.invoke <= t && op.ret.is_none_or(|r| r >= t)
    }
}

/// An operation that is ill-formed for the model: its index in the operation list and why.
pub(crate) type CompileError = (usize, String);

/// Compiles `ops` and splits them into parts, ordered by part key.
pub(crate) fn prepare<M: Model>(model: &M, ops: &[Operation]) -> Result<Vec<Part<M>>, CompileError> {
    let mut groups: BTreeMap<Value, Vec<(&Operation, M::Op)>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        let compiled = model.compile(op).map_err(|reason| (i, reason))?;
        let unknown_read = op.status == Status::Info && model.read_only(&compiled);
        if op.status == Status::Fail || unknown_read {
            continue;
        }
        groups.entry(model.part(&compiled)).or_default().push((op, compiled));
    }
    Ok(groups.into_iter().map(|(key, members)| build_part(model, key, members)).collect())
}

fn build_part<M: Model>(model: &M, key: Value, members: Vec<(&Operation, M::Op)>) -> Part<M> {
    let mut stamped: Vec<(usize, Ev)> = Vec::with_capacity(members.len() * 2);
    for (i, (op, _)) in members.iter().enumerate() {
        stamped.push((op.invoke_index, Ev::Invoke(i as u32)));
        if op.status == Status::Ok {
            stamped.push((op.complete_index.unwrap_or(op.invoke_index), Ev::Return(i as u32)));
        }
    }
    stamped.sort_by_key(|&(index, _)| index);
    let events: Vec<Ev> = stamped.iter().map(|&(_, e)| e).collect();
    let history_index = stamped.iter().map(|&(i, _)| i).collect();
    let mut ops: Vec<PartOp<M>> = members
        .into_iter()
        .map(|(op, compiled)| PartOp {
            id: op.id,
            read_only: model.read_only(&compiled),
            blind: model.blind(&compiled),
            op: compiled,
            info: op.status != Status::Ok,
            invoke: 0,
            ret: None,
            slot: 0,
            prev_same: None,
            observer: None,
        })
        .collect();
    let width = assign_positions_and_slots(&mut ops, &events);
    link_identical_infos(&mut ops);
    let mut part = Part {
        key,
        ops,
        events,
        history_index,
        width,
        next_observer: Vec::new(),
        nonblind_after: Vec::new(),
        observers_by_ret: Vec::new(),
        merge_dead: false,
    };
    if model.prunes() {
        find_explainers(model, &mut part);
        part.observers_by_ret = observers(&part);
        part.observers_by_ret.sort_by_key(|&o| std::cmp::Reverse(part.ops[o as usize].ret));
        part.merge_dead = only_overwrites_explain(model, &part);
    }
    index_future(&mut part);
    part
}

/// Records each operation's event positions and gives it the lowest slot free at its
/// invocation; returns how many slots were needed.
fn assign_positions_and_slots<M: Model>(ops: &mut [PartOp<M>], events: &[Ev]) -> usize {
    let mut used: Vec<bool> = Vec::new();
    for (t, e) in events.iter().enumerate() {
        match *e {
            Ev::Invoke(o) => {
                let slot = used.iter().position(|u| !u).unwrap_or(used.len());
                if slot == used.len() {
                    used.push(false);
                }
                used[slot] = true;
                ops[o as usize].invoke = t;
                ops[o as usize].slot = slot;
            }
            Ev::Return(o) => {
                ops[o as usize].ret = Some(t);
                used[ops[o as usize].slot] = false;
            }
        }
    }
    used.len()
}

/// Chains each info operation to the previous identical one (operations are in invocation
/// order).
fn link_identical_infos<M: Model>(ops: &mut [PartOp<M>]) {
    let mut last: crate::lin::table::LookupMap<M::Op, u32> = crate::lin::table::LookupMap::new();
    for (i, op) in ops.iter_mut().enumerate() {
        if op.info {
            op.prev_same = last.insert(op.op.clone(), i as u32);
        }
    }
}

/// Operation indices of the part's observers, in invocation order.
fn observers<M: Model>(part: &Part<M>) -> Vec<u32> {
    let mut obs: Vec<u32> = (0..part.ops.len() as u32)
        .filter(|&i| !part.ops[i as usize].info && !part.ops[i as usize].blind)
        .collect();
    obs.sort_by_key(|&i| part.ops[i as usize].invoke);
    obs
}

/// Finds each observer's explainers among the operations that overlap the window in which the
/// search consults it: from the previous observer's invocation (before that, it is not the next
/// observer) to its own return.
fn find_explainers<M: Model>(model: &M, part: &mut Part<M>) {
    let observers = observers(part);
    let mut by_invoke: Vec<u32> = (0..part.ops.len() as u32).collect();
    by_invoke.sort_by_key(|&i| part.ops[i as usize].invoke);
    let mut open: Vec<u32> = Vec::new();
    let mut next = 0;
    for (k, &r) in observers.iter().enumerate() {
        let start = if k == 0 { 0 } else { part.ops[observers[k - 1] as usize].invoke };
        while next < by_invoke.len() && part.ops[by_invoke[next] as usize].invoke < start {
            open.push(by_invoke[next]);
            next += 1;
        }
        open.retain(|&w| part.ops[w as usize].ret.is_none_or(|ret| ret >= start));
        let end = part.ops[r as usize].ret.unwrap_or(usize::MAX);
        let later = by_invoke[next..].iter().take_while(|&&w| part.ops[w as usize].invoke < end);
        let reader = &part.ops[r as usize].op;
        let explainers: Vec<u32> = open
            .iter()
            .chain(later)
            .copied()
            .filter(|&w| w != r && model.explains(&part.ops[w as usize].op, reader))
            .collect();
        let last_explainer_invoke = explainers.iter().map(|&w| part.ops[w as usize].invoke).max();
        part.ops[r as usize].observer = Some(Observer { explainers, last_explainer_invoke });
    }
}

/// Whether every operation that can explain an observer overwrites (see `Part::merge_dead`).
/// Read-only operations never explain. Gives up (false) on parts too large to check cheaply.
fn only_overwrites_explain<M: Model>(model: &M, part: &Part<M>) -> bool {
    const MAX_PAIRS: usize = 20_000_000;
    let observers = &part.observers_by_ret;
    let mut pairs = 0;
    for (w, op) in part.ops.iter().enumerate() {
        if op.read_only || model.overwrites(&op.op) {
            continue;
        }
        pairs += observers.len();
        if pairs > MAX_PAIRS {
            return false;
        }
        if observers.iter().any(|&r| r as usize != w && model.explains(&op.op, &part.ops[r as usize].op)) {
            return false;
        }
    }
    true
}

/// Fills `next_observer` and `nonblind_after`.
fn index_future<M: Model>(part: &mut Part<M>) {
    let n = part.events.len();
    part.next_observer = vec![None; n];
    part.nonblind_after = vec![0; n];
    let mut next = None;
    let mut count = 0;
    for t in (0..n).rev() {
        part.next_observer[t] = next;
        part.nonblind_after[t] = count;
        if let Ev::Invoke(o) = part.events[t] {
            let op = &part.ops[o as usize];
            if op.observer.is_some() {
                next = Some(o);
            }
            if !op.info && !op.blind {
                count += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventKind, History};
    use crate::model::register::Register;

    fn cas() -> Register {
        Register { init: Value::Nil, cas: true, nil_read: crate::model::NilRead::Absent }
    }

    #[test]
    fn drops_failures_and_unknown_reads_and_reuses_slots() {
        let h = History {
            events: vec![
                Event::invoke(0, "write", 1.into(), 0),
                Event::invoke(1, "read", Value::Nil, 1),
                Event::complete(0, EventKind::Ok, "write", 1.into(), 2),
                Event::complete(1, EventKind::Info, "read", Value::Nil, 3),
                Event::invoke(2, "cas", vec![1i64, 2].into(), 4),
                Event::complete(2, EventKind::Fail, "cas", vec![1i64, 2].into(), 5),
                Event::invoke(3, "read", Value::Nil, 6),
                Event::complete(3, EventKind::Ok, "read", 1.into(), 7),
            ],
        };
        let parts = prepare(&cas(), &h.operations().unwrap()).unwrap();
        assert_eq!(parts.len(), 1);
        let p = &parts[0];
        assert_eq!(p.ops.iter().map(|o| o.id).collect::<Vec<_>>(), vec![0, 3]);
        assert_eq!(p.width, 1, "the read reuses the write's slot");
        assert_eq!(p.history_index, vec![0, 2, 6, 7]);
        let obs = p.ops[1].observer.as_ref().unwrap();
        assert_eq!(
            obs.explainers,
            vec![0],
            "the write of 1 is in flight while the read is the next observer"
        );
        assert_eq!(obs.last_explainer_invoke, Some(0));
        assert_eq!(p.next_observer[0], Some(1));
        assert_eq!(p.nonblind_after[0], 1);
    }

    #[test]
    fn ill_formed_operations_are_reported_with_their_index() {
        let h = History {
            events: vec![Event::invoke(0, "read", Value::Nil, 0), Event::invoke(1, "cas", 5.into(), 1)],
        };
        let (index, reason) = prepare(&cas(), &h.operations().unwrap()).err().unwrap();
        assert_eq!(index, 1);
        assert!(reason.contains("[from to]"));
    }

    #[test]
    fn identical_info_operations_are_chained() {
        let h = History {
            events: vec![
                Event::invoke(0, "write", 3.into(), 0),
                Event::invoke(1, "write", 3.into(), 1),
                Event::invoke(2, "write", 4.into(), 2),
            ],
        };
        let p = &prepare(&cas(), &h.operations().unwrap()).unwrap()[0];
        assert_eq!(p.ops.iter().map(|o| o.prev_same).collect::<Vec<_>>(), vec![None, Some(0), None]);
    }
}
