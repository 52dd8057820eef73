//! `queue`: a FIFO queue.
//!
//! Conventions: `enqueue v` appends `v` (nil cannot be enqueued: it marks an empty queue);
//! `dequeue` -> ok `v` removes and returns the oldest element, or returns nil when the queue
//! is empty. An `info` dequeue may have removed the oldest element (whatever it was), or not
//! happened at all.
//!
//! Search hints: enqueues are blind. A dequeue of `v` can only succeed later if `v` is in the
//! queue now, or an enqueue of `v` comes first (dequeues and other enqueues cannot bring it
//! back).

use super::{known_output, unknown_function, Model};
use crate::history::{Operation, Value};
use std::collections::VecDeque;

/// The FIFO queue model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue;

/// A queue operation; `Dequeue(None)` is a dequeue whose result is unknown and
/// `Dequeue(Some(Nil))` one that found the queue empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueOp {
    Enqueue(Value),
    Dequeue(Option<Value>),
}

impl Model for Queue {
    type Op = QueueOp;
    type State = VecDeque<Value>;

    fn name(&self) -> &'static str {
        "queue"
    }

    fn init(&self) -> VecDeque<Value> {
        VecDeque::new()
    }

    fn compile(&self, op: &Operation) -> Result<QueueOp, String> {
        match op.f.as_str() {
            "enqueue" if op.input.is_nil() => Err("enqueue nil: nil marks an empty queue".into()),
            "enqueue" => Ok(QueueOp::Enqueue(op.input.clone())),
            "dequeue" => Ok(QueueOp::Dequeue(known_output(op).cloned())),
            f => unknown_function(self.name(), f, "enqueue or dequeue"),
        }
    }

    fn step(&self, state: &VecDeque<Value>, op: &QueueOp) -> Option<VecDeque<Value>> {
        let mut next = state.clone();
        match op {
            QueueOp::Enqueue(v) => next.push_back(v.clone()),
            QueueOp::Dequeue(None) => {
                next.pop_front();
            }
            QueueOp::Dequeue(Some(Value::Nil)) => return state.is_empty().then_some(next),
            QueueOp::Dequeue(Some(v)) => {
                if next.pop_front().as_ref() != Some(v) {
                    return None;
                }
            }
        }
        Some(next)
    }

    fn describe_op(&self, op: &QueueOp) -> String {
        match op {
            QueueOp::Enqueue(v) => format!("enqueue {v}"),
            QueueOp::Dequeue(None) => "dequeue -> ?".into(),
            QueueOp::Dequeue(Some(v)) => format!("dequeue -> {v}"),
        }
    }

    fn describe_state(&self, state: &VecDeque<Value>) -> String {
        Value::List(state.iter().cloned().collect()).to_string()
    }

    fn blind(&self, op: &QueueOp) -> bool {
        matches!(op, QueueOp::Enqueue(_))
    }

    fn prunes(&self) -> bool {
        true
    }

    fn explains(&self, writer: &QueueOp, reader: &QueueOp) -> bool {
        matches!((writer, reader), (QueueOp::Enqueue(w), QueueOp::Dequeue(Some(r))) if w == r)
    }

    fn may_reach(&self, state: &VecDeque<Value>, reader: &QueueOp) -> bool {
        match reader {
            QueueOp::Dequeue(Some(v)) if !v.is_nil() => state.contains(v),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{info, ok};

    #[test]
    fn first_in_first_out() {
        let m = Queue;
        let e1 = m.compile(&ok("enqueue", 1.into(), Value::Nil)).unwrap();
        let e2 = m.compile(&ok("enqueue", 2.into(), Value::Nil)).unwrap();
        let d1 = m.compile(&ok("dequeue", Value::Nil, 1.into())).unwrap();
        let d2 = m.compile(&ok("dequeue", Value::Nil, 2.into())).unwrap();
        let empty = m.compile(&ok("dequeue", Value::Nil, Value::Nil)).unwrap();
        let s = m.step(&m.step(&m.init(), &e1).unwrap(), &e2).unwrap();
        assert_eq!(m.step(&s, &d2), None);
        let s = m.step(&s, &d1).unwrap();
        assert_eq!(m.step(&s, &empty), None);
        let s = m.step(&s, &d2).unwrap();
        assert_eq!(m.step(&s, &empty), Some(s.clone()));
        let unknown = m.compile(&info("dequeue", Value::Nil)).unwrap();
        assert_eq!(m.step(&s, &unknown), Some(s.clone()));
        assert!(m.compile(&ok("enqueue", Value::Nil, Value::Nil)).is_err());
        assert!(m.may_reach(&VecDeque::from([1.into()]), &d1) && !m.may_reach(&VecDeque::new(), &d1));
        assert!(m.explains(&e1, &d1) && !m.explains(&e2, &d1) && m.may_reach(&VecDeque::new(), &empty));
    }
}
