//! `key-value`: a map from keys to values, checked one key at a time.
//!
//! Conventions (keyed values are `[key value]` pairs, as Jepsen's `independent` workloads and
//! Porcupine's key-value logs, once read, write them):
//! - `get [k nil]` -> ok `[k v]`: `v` is the key's value; nil when the key was never written
//!   (or the initial value given with `--init`, for every key). With [`NilRead::Any`], an ok
//!   get of nil (`[k nil]`, or nil alone) says nothing: the value is unknown.
//! - `put [k v]`: sets the key to `v`.
//! - `append [k s]`: appends the string `s` to the key's string value; a missing (nil) key
//!   reads as "" for the append, so appending to it sets it to `s`. Appending to a key that
//!   holds a non-string (put an integer) is impossible, so such a history is a violation.
//! - `cas [k from to]`: if the key holds `from`, sets it to `to`; a `fail` cas did not take
//!   effect.
//!
//! The model is a product of independent keys, so the history is partitioned by key and each
//! key is checked alone (P-compositionality).
//!
//! Search hints: gets are read-only; puts, appends and gets of unknown values are blind. Between puts and cas, a key's
//! string only grows by appends, so a state `s` can satisfy a later get of `v` only if `s` is a
//! prefix of `v`, unless a put or cas whose value is a prefix of `v` comes first. Appends carry
//! unique values in practice, so the next get fixes the order of the appends before it: this
//! keeps the search small on Porcupine's 50-client logs.

use super::{known_output, unknown_function, Model, NilRead};
use crate::history::{Operation, Value};

/// The key-value model; `init` is every key's initial value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub init: Value,
    pub nil_read: NilRead,
}

/// A key-value operation. `Get { value: None }` is a get whose result is unknown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    Get { key: Value, value: Option<Value> },
    Put { key: Value, value: Value },
    Append { key: Value, value: String },
    Cas { key: Value, from: Value, to: Value },
}

impl KvOp {
    fn key(&self) -> &Value {
        match self {
            KvOp::Get { key, .. }
            | KvOp::Put { key, .. }
            | KvOp::Append { key, .. }
            | KvOp::Cas { key, .. } => key,
        }
    }

    /// The value a put or cas leaves behind.
    fn result(&self) -> Option<&Value> {
        match self {
            KvOp::Put { value, .. } => Some(value),
            KvOp::Cas { to, .. } => Some(to),
            _ => None,
        }
    }

    /// The value the key must hold for this operation to be valid.
    fn expected(&self) -> Option<&Value> {
        match self {
            KvOp::Get { value, .. } => value.as_ref(),
            KvOp::Cas { from, .. } => Some(from),
            _ => None,
        }
    }
}

/// Whether appends alone can turn `a` into `b`.
fn grows_into(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, _) => true,
        (Value::Str(a), Value::Str(b)) => b.starts_with(a.as_str()),
        _ => a == b,
    }
}

fn compile_get(op: &Operation, key: &Value, nil_read: NilRead) -> Result<KvOp, String> {
    let value = match nil_read.observed(known_output(op)) {
        None => None,
        Some(out) => match out.as_list() {
            Some([k, v]) if k == key => nil_read.observed(Some(v)).cloned(),
            _ => return Err(format!("get on key {key} must return [{key} value], got {out}")),
        },
    };
    Ok(KvOp::Get { key: key.clone(), value })
}

impl Model for KeyValue {
    type Op = KvOp;
    type State = Value;

    fn name(&self) -> &'static str {
        "key-value"
    }

    fn init(&self) -> Value {
        self.init.clone()
    }

    fn compile(&self, op: &Operation) -> Result<KvOp, String> {
        let args = op.input.as_list().unwrap_or(&[]);
        let key =
            || args.first().cloned().ok_or_else(|| format!("{} expects [key ...], got {}", op.f, op.input));
        match (op.f.as_str(), args) {
            ("get", [_] | [_, _]) => compile_get(op, &key()?, self.nil_read),
            ("put", [k, v]) => Ok(KvOp::Put { key: k.clone(), value: v.clone() }),
            ("append", [k, Value::Str(s)]) => Ok(KvOp::Append { key: k.clone(), value: s.clone() }),
            ("append", _) => Err(format!("append expects [key string], got {}", op.input)),
            ("cas", [k, from, to]) => Ok(KvOp::Cas { key: k.clone(), from: from.clone(), to: to.clone() }),
            ("get" | "put" | "cas", _) => {
                Err(format!("{} has the wrong arguments: {} (see the key-value conventions)", op.f, op.input))
            }
            (f, _) => unknown_function(self.name(), f, "get, put, append or cas"),
        }
    }

    fn step(&self, state: &Value, op: &KvOp) -> Option<Value> {
        match op {
            KvOp::Get { value: None, .. } => Some(state.clone()),
            KvOp::Get { value: Some(v), .. } => (state == v).then(|| state.clone()),
            KvOp::Put { value, .. } => Some(value.clone()),
            KvOp::Append { value, .. } => match state {
                Value::Nil => Some(Value::Str(value.clone())),
                Value::Str(s) => Some(Value::Str(format!("{s}{value}"))),
                _ => None,
            },
            KvOp::Cas { from, to, .. } => (state == from).then(|| to.clone()),
        }
    }

    fn part(&self, op: &KvOp) -> Value {
        op.key().clone()
    }

    fn describe_op(&self, op: &KvOp) -> String {
        match op {
            KvOp::Get { key, value: None } => format!("get {key} -> ?"),
            KvOp::Get { key, value: Some(v) } => format!("get {key} -> {v}"),
            KvOp::Put { key, value } => format!("put {key} {value}"),
            KvOp::Append { key, value } => format!("append {key} {value:?}"),
            KvOp::Cas { key, from, to } => format!("cas {key} {from} -> {to}"),
        }
    }

    fn describe_state(&self, state: &Value) -> String {
        state.to_string()
    }

    fn read_only(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get { .. })
    }

    fn blind(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Put { .. } | KvOp::Append { .. } | KvOp::Get { value: None, .. })
    }

    fn overwrites(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Put { .. })
    }

    fn prunes(&self) -> bool {
        true
    }

    fn explains(&self, writer: &KvOp, reader: &KvOp) -> bool {
        match (writer.result(), reader.expected()) {
            (Some(w), Some(r)) => grows_into(w, r),
            _ => false,
        }
    }

    fn may_reach(&self, state: &Value, reader: &KvOp) -> bool {
        reader.expected().is_none_or(|v| grows_into(state, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{info, ok};

    fn kv(op: Operation) -> KvOp {
        KeyValue { init: Value::Nil, nil_read: NilRead::Absent }.compile(&op).unwrap()
    }

    #[test]
    fn appends_concatenate_and_gets_compare() {
        let m = KeyValue { init: Value::Nil, nil_read: NilRead::Absent };
        let app = kv(ok("append", vec!["k", "ab"].into(), Value::Nil));
        let s = m.step(&Value::Nil, &app).unwrap();
        assert_eq!(s, Value::from("ab"));
        assert_eq!(m.step(&s, &app), Some(Value::from("abab")));
        assert_eq!(m.step(&Value::Int(1), &app), None);
        let get = kv(ok("get", vec![Value::from("k"), Value::Nil].into(), vec!["k", "ab"].into()));
        assert_eq!(m.step(&s, &get), Some(s.clone()));
        assert_eq!(m.step(&Value::Nil, &get), None);
        assert_eq!(m.part(&get), Value::from("k"));
        let cas = kv(ok("cas", vec!["k", "ab", "c"].into(), Value::Nil));
        assert_eq!(m.step(&s, &cas), Some(Value::from("c")));
        let unknown = kv(info("get", vec![Value::from("k"), Value::Nil].into()));
        assert_eq!(m.step(&Value::Int(3), &unknown), Some(Value::Int(3)));
    }

    #[test]
    fn ill_formed_operations_are_errors() {
        let m = KeyValue { init: Value::Nil, nil_read: NilRead::Absent };
        let wrong_key = ok("get", vec![Value::from("k"), Value::Nil].into(), vec!["j", "x"].into());
        assert!(m.compile(&wrong_key).unwrap_err().contains("must return"));
        assert!(m.compile(&ok("append", vec![Value::from("k"), 1.into()].into(), Value::Nil)).is_err());
        assert!(m.compile(&ok("put", Value::from("k"), Value::Nil)).is_err());
        assert!(m.compile(&ok("delete", vec!["k"].into(), Value::Nil)).unwrap_err().contains("unknown"));
    }

    #[test]
    fn a_nil_get_is_unknown_only_under_knossos_meaning() {
        let nil_get =
            ok("get", vec![Value::from("k"), Value::Nil].into(), vec![Value::from("k"), Value::Nil].into());
        let any = KeyValue { init: Value::Nil, nil_read: NilRead::Any };
        assert_eq!(any.compile(&nil_get).unwrap(), KvOp::Get { key: "k".into(), value: None });
        let bare_nil = ok("get", vec![Value::from("k"), Value::Nil].into(), Value::Nil);
        assert_eq!(any.compile(&bare_nil).unwrap(), KvOp::Get { key: "k".into(), value: None });
        assert_eq!(kv(nil_get), KvOp::Get { key: "k".into(), value: Some(Value::Nil) });
    }

    #[test]
    fn prefix_reachability() {
        let m = KeyValue { init: Value::Nil, nil_read: NilRead::Absent };
        let get = KvOp::Get { key: "k".into(), value: Some("abc".into()) };
        assert!(m.may_reach(&Value::Nil, &get));
        assert!(m.may_reach(&"ab".into(), &get));
        assert!(!m.may_reach(&"b".into(), &get));
        assert!(m.explains(&KvOp::Put { key: "k".into(), value: "a".into() }, &get));
        assert!(!m.explains(&KvOp::Put { key: "k".into(), value: "b".into() }, &get));
        assert!(!m.explains(&KvOp::Append { key: "k".into(), value: "a".into() }, &get));
    }
}
