//! Registers: `register` (read/write) and `cas-register` (adds compare-and-set).
//!
//! Conventions (Jepsen's and Knossos's):
//! - `read`: input ignored (Jepsen writes nil); an ok read's value is the register's value.
//!   An ok read of nil depends on [`NilRead`]: with `Absent` the register holds nil (its initial
//!   value unless set with `--init`, or a write of nil); with `Any` (Knossos's `register` and
//!   `cas-register`) the read's value is unknown and it is valid in every state.
//! - `write v`: sets the register to `v`.
//! - `cas [from to]` (cas-register only): if the register holds `from`, sets it to `to`.
//!   An ok cas took effect; a `fail` cas did not (the compare did not match), so the
//!   checker drops it like every failed operation.
//!
//! Search hints: reads are read-only; writes, and reads whose value is unknown, are blind. Writes and cas are the only
//! operations that change the value, so a state holding `x` can satisfy a later read of
//! `v != x` (or a cas from `v`) only through a write of `v` or a cas to `v`.

use super::{known_output, unknown_function, Model, NilRead};
use crate::history::{Operation, Value};

/// A single register; `cas` enables compare-and-set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    pub init: Value,
    pub cas: bool,
    pub nil_read: NilRead,
}

/// A register operation. `Read(None)` is a read whose result is unknown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    Read(Option<Value>),
    Write(Value),
    Cas { from: Value, to: Value },
}

impl RegisterOp {
    /// The value this operation leaves in the register (for writes and cas).
    fn result(&self) -> Option<&Value> {
        match self {
            RegisterOp::Read(_) => None,
            RegisterOp::Write(v) | RegisterOp::Cas { to: v, .. } => Some(v),
        }
    }

    /// The value the register must hold for this operation to be valid.
    fn expected(&self) -> Option<&Value> {
        match self {
            RegisterOp::Read(v) => v.as_ref(),
            RegisterOp::Write(_) => None,
            RegisterOp::Cas { from, .. } => Some(from),
        }
    }
}

impl Model for Register {
    type Op = RegisterOp;
    type State = Value;

    fn name(&self) -> &'static str {
        if self.cas {
            "cas-register"
        } else {
            "register"
        }
    }

    fn init(&self) -> Value {
        self.init.clone()
    }

    fn compile(&self, op: &Operation) -> Result<RegisterOp, String> {
        match op.f.as_str() {
            "read" => Ok(RegisterOp::Read(self.nil_read.observed(known_output(op)).cloned())),
            "write" => Ok(RegisterOp::Write(op.input.clone())),
            "cas" if self.cas => match op.input.as_list() {
                Some([from, to]) => Ok(RegisterOp::Cas { from: from.clone(), to: to.clone() }),
                _ => Err(format!("cas expects [from to], got {}", op.input)),
            },
            f if self.cas => unknown_function(self.name(), f, "read, write or cas"),
            f => unknown_function(self.name(), f, "read or write"),
        }
    }

    fn step(&self, state: &Value, op: &RegisterOp) -> Option<Value> {
        match op {
            RegisterOp::Read(None) => Some(state.clone()),
            RegisterOp::Read(Some(v)) => (state == v).then(|| state.clone()),
            RegisterOp::Write(v) => Some(v.clone()),
            RegisterOp::Cas { from, to } => (state == from).then(|| to.clone()),
        }
    }

    fn describe_op(&self, op: &RegisterOp) -> String {
        match op {
            RegisterOp::Read(None) => "read -> ?".into(),
            RegisterOp::Read(Some(v)) => format!("read -> {v}"),
            RegisterOp::Write(v) => format!("write {v}"),
            RegisterOp::Cas { from, to } => format!("cas {from} -> {to}"),
        }
    }

    fn describe_state(&self, state: &Value) -> String {
        state.to_string()
    }

    fn read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    fn blind(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Write(_) | RegisterOp::Read(None))
    }

    fn overwrites(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Write(_))
    }

    fn prunes(&self) -> bool {
        true
    }

    fn explains(&self, writer: &RegisterOp, reader: &RegisterOp) -> bool {
        writer.result().is_some() && writer.result() == reader.expected()
    }

    fn may_reach(&self, state: &Value, reader: &RegisterOp) -> bool {
        reader.expected().is_none_or(|v| v == state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Status;
    use crate::model::testing::{info, ok, op};

    fn cas_register() -> Register {
        Register { init: Value::Nil, cas: true, nil_read: NilRead::Absent }
    }

    #[test]
    fn steps_follow_the_register_semantics() {
        let m = cas_register();
        let read3 = m.compile(&ok("read", Value::Nil, 3.into())).unwrap();
        let write3 = m.compile(&ok("write", 3.into(), 3.into())).unwrap();
        let cas34 = m.compile(&ok("cas", vec![3i64, 4].into(), vec![3i64, 4].into())).unwrap();
        assert_eq!(m.step(&Value::Nil, &read3), None);
        assert_eq!(m.step(&Value::Nil, &write3), Some(3.into()));
        assert_eq!(m.step(&3.into(), &read3), Some(3.into()));
        assert_eq!(m.step(&3.into(), &cas34), Some(4.into()));
        assert_eq!(m.step(&4.into(), &cas34), None);
        let unknown = m.compile(&info("read", Value::Nil)).unwrap();
        assert_eq!(m.step(&7.into(), &unknown), Some(7.into()));
    }

    #[test]
    fn ill_formed_operations_are_errors() {
        let m = cas_register();
        assert!(m.compile(&ok("cas", 3.into(), Value::Nil)).unwrap_err().contains("[from to]"));
        assert!(m.compile(&ok("incr", 3.into(), Value::Nil)).unwrap_err().contains("unknown function"));
        let plain = Register { init: Value::Nil, cas: false, nil_read: NilRead::Absent };
        assert!(plain.compile(&op("cas", vec![1i64, 2].into(), Status::Fail, None)).is_err());
    }

    #[test]
    fn a_nil_read_is_unknown_under_knossos_meaning_and_a_value_under_porcupines() {
        let read_nil = ok("read", Value::Nil, Value::Nil);
        let absent = cas_register();
        let any = Register { nil_read: NilRead::Any, ..cas_register() };
        assert_eq!(absent.compile(&read_nil).unwrap(), RegisterOp::Read(Some(Value::Nil)));
        assert_eq!(any.compile(&read_nil).unwrap(), RegisterOp::Read(None));
        assert_eq!(absent.step(&1.into(), &RegisterOp::Read(Some(Value::Nil))), None);
        assert_eq!(any.step(&1.into(), &RegisterOp::Read(None)), Some(1.into()));
        assert!(any.blind(&RegisterOp::Read(None)) && any.read_only(&RegisterOp::Read(None)));
        let read3 = ok("read", Value::Nil, 3.into());
        assert_eq!(any.compile(&read3).unwrap(), RegisterOp::Read(Some(3.into())), "only nil is unknown");
    }

    #[test]
    fn reachability_hints_match_the_semantics() {
        let m = cas_register();
        let read4 = RegisterOp::Read(Some(4.into()));
        assert!(!m.may_reach(&3.into(), &read4));
        assert!(m.may_reach(&4.into(), &read4));
        assert!(m.explains(&RegisterOp::Write(4.into()), &read4));
        assert!(m.explains(&RegisterOp::Cas { from: 1.into(), to: 4.into() }, &read4));
        assert!(!m.explains(&RegisterOp::Write(5.into()), &read4));
        assert!(m.explains(&RegisterOp::Write(1.into()), &RegisterOp::Cas { from: 1.into(), to: 2.into() }));
    }
}
