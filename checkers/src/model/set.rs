//! `set`: a grow-only set of values.
//!
//! Conventions: `add v` adds `v`; `read` -> ok `[v ...]` returns every element, in any order
//! (duplicates in a read are ignored). The set starts empty.
//!
//! Search hints: reads are read-only; adds are blind. Nothing removes elements, so a state can
//! satisfy a later read only if it is a subset of what the read returned.

use super::{known_output, unknown_function, Model};
use crate::history::{Operation, Value};
use std::collections::BTreeSet;

/// The set model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetModel;

/// A set operation; `Read(None)` is a read whose result is unknown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOp {
    Add(Value),
    Read(Option<BTreeSet<Value>>),
}

fn show(set: &BTreeSet<Value>) -> String {
    Value::List(set.iter().cloned().collect()).to_string()
}

impl Model for SetModel {
    type Op = SetOp;
    type State = BTreeSet<Value>;

    fn name(&self) -> &'static str {
        "set"
    }

    fn init(&self) -> BTreeSet<Value> {
        BTreeSet::new()
    }

    fn compile(&self, op: &Operation) -> Result<SetOp, String> {
        match op.f.as_str() {
            "add" => Ok(SetOp::Add(op.input.clone())),
            "read" => match known_output(op) {
                None => Ok(SetOp::Read(None)),
                Some(Value::List(items)) => Ok(SetOp::Read(Some(items.iter().cloned().collect()))),
                Some(other) => Err(format!("a set read returns a list, got {other}")),
            },
            f => unknown_function(self.name(), f, "add or read"),
        }
    }

    fn step(&self, state: &BTreeSet<Value>, op: &SetOp) -> Option<BTreeSet<Value>> {
        match op {
            SetOp::Add(v) => {
                let mut next = state.clone();
                next.insert(v.clone());
                Some(next)
            }
            SetOp::Read(None) => Some(state.clone()),
            SetOp::Read(Some(seen)) => (state == seen).then(|| state.clone()),
        }
    }

    fn describe_op(&self, op: &SetOp) -> String {
        match op {
            SetOp::Add(v) => format!("add {v}"),
            SetOp::Read(None) => "read -> ?".into(),
            SetOp::Read(Some(seen)) => format!("read -> {}", show(seen)),
        }
    }

    fn describe_state(&self, state: &BTreeSet<Value>) -> String {
        show(state)
    }

    fn read_only(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn blind(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Add(_))
    }

    fn prunes(&self) -> bool {
        true
    }

    fn explains(&self, _writer: &SetOp, _reader: &SetOp) -> bool {
        false
    }

    fn may_reach(&self, state: &BTreeSet<Value>, reader: &SetOp) -> bool {
        match reader {
            SetOp::Read(Some(seen)) => state.is_subset(seen),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::ok;

    #[test]
    fn adds_accumulate_and_reads_compare_as_sets() {
        let m = SetModel;
        let add1 = m.compile(&ok("add", 1.into(), Value::Nil)).unwrap();
        let read = m.compile(&ok("read", Value::Nil, vec![1i64, 1].into())).unwrap();
        let s = m.step(&m.init(), &add1).unwrap();
        assert_eq!(m.step(&s, &read), Some(s.clone()));
        assert_eq!(m.step(&m.init(), &read), None);
        assert!(m.may_reach(&m.init(), &read));
        assert!(!m.may_reach(&m.step(&s, &SetOp::Add(2.into())).unwrap(), &read));
        assert!(m.compile(&ok("read", Value::Nil, 3.into())).is_err());
    }
}
