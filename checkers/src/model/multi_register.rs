//! `multi-register`: Knossos's registers, read and written by transactions.
//!
//! The semantics are those of Knossos's `multi-register` model (`knossos.model/multi-register`):
//! - `txn [[read k v] [write k v] ...]`: the micro-operations apply in order, atomically, to a
//!   map from keys to values. `[write k v]` sets `k` to `v`; `[read k v]` needs `k` to hold
//!   `v` at that point (after the transaction's own earlier writes).
//! - An ok transaction is checked with its completion's value (where Jepsen fills in what the
//!   reads saw); an `info` or unfinished one with its invocation's, every read unknown.
//! - Every key starts at the initial value: nil, or `--init` for every key (Knossos's own tests
//!   start from `{:x 0 :y 0}`, which is `--init 0` for histories over `x` and `y`).
//! - A read of nil follows [`NilRead`]: Knossos's "nil reads are always legal" is `Any`.
//!
//! A transaction may span keys, so the keys are not independent: the history is one part.
//!
//! Search hints: a transaction of reads only is read-only; one with no read of a known value is
//! blind (valid in every state). A transaction's *external* reads (of keys it has not written
//! before them) are what it needs from the state: a state can satisfy it later only if it
//! already holds every such value, or through a transaction that writes one of them.

use super::{known_output, unknown_function, Model, NilRead};
use crate::history::{Operation, Value};
use std::collections::BTreeMap;

/// The multi-register model; `init` is every key's initial value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiRegister {
    pub init: Value,
    pub nil_read: NilRead,
}

/// A micro-operation; `Read { value: None }` is a read whose value is unknown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Micro {
    Read { key: Value, value: Option<Value> },
    Write { key: Value, value: Value },
}

/// A transaction: micro-operations applied in order, atomically.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Txn(pub Vec<Micro>);

impl Txn {
    /// The reads of a known value of keys the transaction has not written before them.
    fn external_reads(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.0.iter().enumerate().filter_map(|(i, m)| match m {
            Micro::Read { key, value: Some(v) } if !self.writes_before(i, key) => Some((key, v)),
            _ => None,
        })
    }

    fn writes_before(&self, i: usize, key: &Value) -> bool {
        self.0[..i].iter().any(|m| matches!(m, Micro::Write { key: k, .. } if k == key))
    }

    fn writes(&self, key: &Value, value: &Value) -> bool {
        self.0.iter().any(|m| matches!(m, Micro::Write { key: k, value: v } if k == key && v == value))
    }
}

/// The keys that hold something other than the initial value, and what they hold.
pub type Registers = BTreeMap<Value, Value>;

impl MultiRegister {
    fn get<'a>(&'a self, state: &'a Registers, key: &Value) -> &'a Value {
        state.get(key).unwrap_or(&self.init)
    }

    fn micro(&self, m: &Value, known: bool) -> Result<Micro, String> {
        let parts = m.as_list().unwrap_or(&[]);
        match parts {
            [f, key, value] if f.as_str() == Some("read") => {
                let value = if known { self.nil_read.observed(Some(value)).cloned() } else { None };
                Ok(Micro::Read { key: key.clone(), value })
            }
            [f, key, value] if f.as_str() == Some("write") => {
                Ok(Micro::Write { key: key.clone(), value: value.clone() })
            }
            _ => Err(format!("expected a micro-operation [read key value] or [write key value], got {m}")),
        }
    }
}

impl Model for MultiRegister {
    type Op = Txn;
    type State = Registers;

    fn name(&self) -> &'static str {
        "multi-register"
    }

    fn init(&self) -> Registers {
        Registers::new()
    }

    fn compile(&self, op: &Operation) -> Result<Txn, String> {
        if op.f != "txn" {
            return unknown_function(self.name(), &op.f, "txn");
        }
        let (value, known) = match known_output(op) {
            Some(out) => (out, true),
            None => (&op.input, false),
        };
        let Some(items) = value.as_list() else {
            return Err(format!("a txn's value is a list of [read|write key value], got {value}"));
        };
        items.iter().map(|m| self.micro(m, known)).collect::<Result<_, _>>().map(Txn)
    }

    fn step(&self, state: &Registers, txn: &Txn) -> Option<Registers> {
        let mut next = state.clone();
        for m in &txn.0 {
            match m {
                Micro::Read { key, value: Some(v) } if self.get(&next, key) != v => return None,
                Micro::Read { .. } => {}
                // Keys back at the initial value are dropped, so equal maps mean equal states.
                Micro::Write { key, value } if *value == self.init => {
                    next.remove(key);
                }
                Micro::Write { key, value } => {
                    next.insert(key.clone(), value.clone());
                }
            }
        }
        Some(next)
    }

    fn describe_op(&self, txn: &Txn) -> String {
        let micro = txn.0.iter().map(|m| match m {
            Micro::Read { key, value: Some(v) } => format!("[read {key} {v}]"),
            Micro::Read { key, value: None } => format!("[read {key} ?]"),
            Micro::Write { key, value } => format!("[write {key} {value}]"),
        });
        format!("txn {}", micro.collect::<Vec<_>>().join(" "))
    }

    fn describe_state(&self, state: &Registers) -> String {
        let keys: Vec<String> = state.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("{{{}}}, every other key {}", keys.join(", "), self.init)
    }

    fn read_only(&self, txn: &Txn) -> bool {
        txn.0.iter().all(|m| matches!(m, Micro::Read { .. }))
    }

    fn blind(&self, txn: &Txn) -> bool {
        !txn.0.iter().any(|m| matches!(m, Micro::Read { value: Some(_), .. }))
    }

    fn prunes(&self) -> bool {
        true
    }

    fn explains(&self, writer: &Txn, reader: &Txn) -> bool {
        reader.external_reads().any(|(k, v)| writer.writes(k, v))
    }

    fn may_reach(&self, state: &Registers, reader: &Txn) -> bool {
        reader.external_reads().all(|(k, v)| self.get(state, k) == v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{info, ok};

    fn m(nil_read: NilRead) -> MultiRegister {
        MultiRegister { init: 0.into(), nil_read }
    }

    fn micro(f: &str, k: &str, v: Value) -> Value {
        Value::List(vec![f.into(), k.into(), v])
    }

    fn txn(model: &MultiRegister, items: Vec<Value>) -> Txn {
        model.compile(&ok("txn", Value::List(items.clone()), Value::List(items))).unwrap()
    }

    #[test]
    fn micro_operations_apply_in_order_and_atomically() {
        let model = m(NilRead::Absent);
        let write = txn(&model, vec![micro("write", "x", 1.into()), micro("write", "y", 2.into())]);
        let s = model.step(&model.init(), &write).unwrap();
        let read = txn(&model, vec![micro("read", "x", 1.into()), micro("read", "y", 2.into())]);
        assert_eq!(model.step(&s, &read), Some(s.clone()));
        let torn = txn(&model, vec![micro("read", "x", 1.into()), micro("read", "y", 0.into())]);
        assert_eq!(model.step(&s, &torn), None);
        let own = txn(&model, vec![micro("write", "x", 5.into()), micro("read", "x", 5.into())]);
        assert!(model.step(&model.init(), &own).is_some(), "a read sees its own transaction's write");
        let back = txn(&model, vec![micro("write", "x", 0.into()), micro("write", "y", 0.into())]);
        assert_eq!(model.step(&s, &back), Some(model.init()), "keys back at the initial value");
    }

    #[test]
    fn nil_reads_follow_the_chosen_meaning() {
        let nil_x = vec![micro("read", "x", Value::Nil)];
        let any = m(NilRead::Any);
        assert!(any.step(&any.init(), &txn(&any, nil_x.clone())).is_some());
        let absent = m(NilRead::Absent);
        assert!(absent.step(&absent.init(), &txn(&absent, nil_x)).is_none(), "x holds 0, not nil");
        let unknown = absent.compile(&info("txn", Value::List(vec![micro("read", "x", 7.into())]))).unwrap();
        assert_eq!(unknown, Txn(vec![Micro::Read { key: "x".into(), value: None }]));
    }

    #[test]
    fn hints_use_external_reads_only() {
        let model = m(NilRead::Absent);
        let reader = txn(
            &model,
            vec![micro("write", "x", 3.into()), micro("read", "x", 3.into()), micro("read", "y", 4.into())],
        );
        let writes_y4 = txn(&model, vec![micro("write", "y", 4.into())]);
        let writes_x3 = txn(&model, vec![micro("write", "x", 3.into())]);
        assert!(model.explains(&writes_y4, &reader));
        assert!(!model.explains(&writes_x3, &reader), "x is read after the reader's own write");
        assert!(!model.may_reach(&model.init(), &reader));
        let y4 = model.step(&model.init(), &writes_y4).unwrap();
        assert!(model.may_reach(&y4, &reader));
        assert!(model.blind(&writes_y4) && !model.blind(&reader) && !model.read_only(&reader));
    }

    #[test]
    fn ill_formed_transactions_are_errors() {
        let model = m(NilRead::Any);
        let bad = |v: Value| model.compile(&ok("txn", v.clone(), v)).unwrap_err();
        assert!(bad(3.into()).contains("list of"));
        assert!(bad(Value::List(vec![micro("append", "x", 1.into())])).contains("[read key value]"));
        assert!(model.compile(&ok("read", Value::Nil, Value::Nil)).unwrap_err().contains("unknown function"));
    }
}
