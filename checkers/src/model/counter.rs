//! `counter`: an integer that operations add to.
//!
//! Conventions: `incr n` (Jepsen's counter workload calls it `add`; both are accepted) adds the
//! integer `n`, which may be negative; `read` -> ok `n` returns the current value. The counter
//! starts at 0 unless `--init` says otherwise.
//!
//! Search hints: reads are read-only; increments are blind. Only a negative increment can
//! make the value smaller, so a state above a later read can satisfy it only through one.

use super::{known_output, unknown_function, Model};
use crate::history::{Operation, Value};

/// The counter model; `init` is the starting value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    pub init: i128,
}

/// A counter operation; `Read(None)` is a read whose result is unknown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CounterOp {
    Incr(i64),
    Read(Option<i128>),
}

impl Model for Counter {
    type Op = CounterOp;
    /// Wider than the inputs, so that sums of many `i64` increments cannot overflow.
    type State = i128;

    fn name(&self) -> &'static str {
        "counter"
    }

    fn init(&self) -> i128 {
        self.init
    }

    fn compile(&self, op: &Operation) -> Result<CounterOp, String> {
        match op.f.as_str() {
            "incr" | "add" => match op.input {
                Value::Int(n) => Ok(CounterOp::Incr(n)),
                ref other => Err(format!("{} expects an integer, got {other}", op.f)),
            },
            "read" => match known_output(op) {
                None => Ok(CounterOp::Read(None)),
                Some(Value::Int(n)) => Ok(CounterOp::Read(Some(*n as i128))),
                Some(other) => Err(format!("a counter read returns an integer, got {other}")),
            },
            f => unknown_function(self.name(), f, "incr, add or read"),
        }
    }

    fn step(&self, state: &i128, op: &CounterOp) -> Option<i128> {
        match op {
            CounterOp::Incr(n) => state.checked_add(*n as i128),
            CounterOp::Read(None) => Some(*state),
            CounterOp::Read(Some(v)) => (state == v).then_some(*state),
        }
    }

    fn describe_op(&self, op: &CounterOp) -> String {
        match op {
            CounterOp::Incr(n) => format!("incr {n}"),
            CounterOp::Read(None) => "read -> ?".into(),
            CounterOp::Read(Some(v)) => format!("read -> {v}"),
        }
    }

    fn describe_state(&self, state: &i128) -> String {
        state.to_string()
    }

    fn read_only(&self, op: &CounterOp) -> bool {
        matches!(op, CounterOp::Read(_))
    }

    fn blind(&self, op: &CounterOp) -> bool {
        matches!(op, CounterOp::Incr(_))
    }

    fn prunes(&self) -> bool {
        true
    }

    fn explains(&self, writer: &CounterOp, _reader: &CounterOp) -> bool {
        matches!(writer, CounterOp::Incr(n) if *n < 0)
    }

    fn may_reach(&self, state: &i128, reader: &CounterOp) -> bool {
        match reader {
            CounterOp::Read(Some(v)) => state <= v,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::ok;

    #[test]
    fn increments_add_and_reads_compare() {
        let m = Counter { init: 0 };
        let add = m.compile(&ok("add", 5.into(), Value::Nil)).unwrap();
        let read5 = m.compile(&ok("read", Value::Nil, 5.into())).unwrap();
        assert_eq!(m.step(&0, &add), Some(5));
        assert_eq!(m.step(&5, &read5), Some(5));
        assert_eq!(m.step(&4, &read5), None);
        assert!(m.may_reach(&4, &read5) && !m.may_reach(&6, &read5));
        assert!(m.explains(&CounterOp::Incr(-1), &read5) && !m.explains(&CounterOp::Incr(1), &read5));
        assert!(m.compile(&ok("incr", "x".into(), Value::Nil)).is_err());
        assert!(m.compile(&ok("read", Value::Nil, "x".into())).is_err());
    }
}
