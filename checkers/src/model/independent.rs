//! Jepsen's independent keys (`jepsen.independent`): a single-key model lifted to many keys,
//! each key an object of its own, checked alone.
//!
//! Jepsen's independent generators wrap every operation's value in a tuple `[k v]` (a
//! `clojure.lang.MapEntry`, which `history.edn` writes as a two-element vector), and
//! `independent/checker` checks each key's subhistory on its own, with the values unwrapped.
//! [`Independent`] does the same through P-compositionality: an operation's part is its key,
//! and the inner model sees the value `v`. As in Jepsen's `subhistory`, a completion whose
//! value is not a tuple keeps it unchanged (an `info` completion of nil, say); a completion
//! carrying another key than its invocation is an error.
//!
//! EDN cannot tell a tuple from a two-element vector (a cas's `[from to]`), so whether a
//! history is independent is decided from the whole history: [`looks_independent`] (every
//! invocation carries a pair), then whether the model can read it that way (see
//! `crate::conventions`).

use super::Model;
use crate::history::{EventKind, History, Operation, Value};

/// `inner`, one object per key of Jepsen's `[key value]` tuples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Independent<M> {
    pub inner: M,
}

/// The key and value of a tuple.
fn tuple(v: &Value) -> Option<(&Value, &Value)> {
    match v.as_list() {
        Some([k, v]) => Some((k, v)),
        _ => None,
    }
}

/// Whether every invocation of a non-empty history carries a `[key value]` pair, as histories
/// of Jepsen's independent workloads do.
pub fn looks_independent(history: &History) -> bool {
    let mut invocations = history.events.iter().filter(|e| e.kind == EventKind::Invoke).peekable();
    invocations.peek().is_some() && invocations.all(|e| tuple(&e.value).is_some())
}

impl<M: Model> Model for Independent<M> {
    type Op = (Value, M::Op);
    type State = M::State;

    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn init(&self) -> M::State {
        self.inner.init()
    }

    fn compile(&self, op: &Operation) -> Result<(Value, M::Op), String> {
        let Some((key, input)) = tuple(&op.input) else {
            return Err(format!("expected an independent [key value] tuple, got {}", op.input));
        };
        let output = match op.output.as_ref().map(|out| (out, tuple(out))) {
            None => None,
            Some((_, Some((k, v)))) if k == key => Some(v.clone()),
            Some((_, Some((k, _)))) => return Err(format!("invoked on key {key} but completed on key {k}")),
            Some((out, None)) => Some(out.clone()),
        };
        let unwrapped = Operation { input: input.clone(), output, f: op.f.clone(), ..*op };
        Ok((key.clone(), self.inner.compile(&unwrapped)?))
    }

    fn step(&self, state: &M::State, op: &(Value, M::Op)) -> Option<M::State> {
        self.inner.step(state, &op.1)
    }

    /// The key, or the key and the inner model's own part.
    fn part(&self, op: &(Value, M::Op)) -> Value {
        match self.inner.part(&op.1) {
            Value::Nil => op.0.clone(),
            inner => Value::List(vec![op.0.clone(), inner]),
        }
    }

    fn describe_op(&self, op: &(Value, M::Op)) -> String {
        self.inner.describe_op(&op.1)
    }

    fn describe_state(&self, state: &M::State) -> String {
        self.inner.describe_state(state)
    }

    fn read_only(&self, op: &(Value, M::Op)) -> bool {
        self.inner.read_only(&op.1)
    }

    fn blind(&self, op: &(Value, M::Op)) -> bool {
        self.inner.blind(&op.1)
    }

    fn overwrites(&self, op: &(Value, M::Op)) -> bool {
        self.inner.overwrites(&op.1)
    }

    fn prunes(&self) -> bool {
        self.inner.prunes()
    }

    fn explains(&self, writer: &(Value, M::Op), reader: &(Value, M::Op)) -> bool {
        writer.0 == reader.0 && self.inner.explains(&writer.1, &reader.1)
    }

    fn may_reach(&self, state: &M::State, reader: &(Value, M::Op)) -> bool {
        self.inner.may_reach(state, &reader.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, Status};
    use crate::model::register::{Register, RegisterOp};
    use crate::model::testing::{info, ok, op};
    use crate::model::NilRead;

    fn cas() -> Independent<Register> {
        Independent { inner: Register { init: Value::Nil, cas: true, nil_read: NilRead::Any } }
    }

    fn pair(k: i64, v: Value) -> Value {
        Value::List(vec![k.into(), v])
    }

    #[test]
    fn unwraps_tuples_and_parts_by_key() {
        let m = cas();
        let cas12 = pair(3, vec![1i64, 2].into());
        let (key, compiled) = m.compile(&ok("cas", cas12.clone(), cas12)).unwrap();
        assert_eq!(
            (key.clone(), compiled.clone()),
            (3.into(), RegisterOp::Cas { from: 1.into(), to: 2.into() })
        );
        assert_eq!(m.part(&(key, compiled)), Value::Int(3));
        let read = m.compile(&ok("read", pair(3, Value::Nil), pair(3, 5.into()))).unwrap();
        assert_eq!(read.1, RegisterOp::Read(Some(5.into())));
        let unknown = m.compile(&info("write", pair(4, 9.into()))).unwrap();
        assert_eq!(unknown, (4.into(), RegisterOp::Write(9.into())));
        let bare = m.compile(&op("write", pair(4, 9.into()), Status::Fail, Some(Value::Nil))).unwrap();
        assert_eq!(bare.1, RegisterOp::Write(9.into()), "a completion without a tuple keeps its value");
    }

    #[test]
    fn values_that_are_not_tuples_of_the_same_key_are_errors() {
        let m = cas();
        assert!(m.compile(&ok("write", 3.into(), 3.into())).unwrap_err().contains("[key value] tuple"));
        let moved = m.compile(&ok("read", pair(1, Value::Nil), pair(2, 5.into()))).unwrap_err();
        assert!(moved.contains("invoked on key 1 but completed on key 2"), "{moved}");
    }

    #[test]
    fn a_history_looks_independent_when_every_invocation_carries_a_pair() {
        let h = |values: Vec<Value>| History {
            events: values
                .into_iter()
                .enumerate()
                .map(|(i, v)| Event::invoke(i as u64, "read", v, 0))
                .collect(),
        };
        assert!(looks_independent(&h(vec![pair(1, Value::Nil), pair(2, 3.into())])));
        assert!(!looks_independent(&h(vec![pair(1, Value::Nil), Value::Nil])));
        assert!(!looks_independent(&h(vec![])));
    }
}
