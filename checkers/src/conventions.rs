//! How to read a history recorded elsewhere: the choices that Jepsen, Knossos and Porcupine
//! files leave to the checker, and their defaults per format.
//!
//! - The initial value of a register, or of every key: nil unless given, except in Porcupine's
//!   key-value logs, whose model reads a missing key as "" ([`Format::default_init`]).
//! - What an ok read of nil means ([`NilRead`]): an unknown value in Jepsen/Knossos EDN, as
//!   Knossos's register models read it; a register holding nil in Porcupine's logs and in
//!   faultline's own JSON lines, as Porcupine's models and faultline's harness mean it
//!   ([`Format::default_nil_read`]). Without a format (a history built in Rust), faultline's.
//! - Whether values are Jepsen's independent `[key value]` tuples ([`Independence`]): for a
//!   single-key model, detected from the history unless told. EDN writes a tuple and a
//!   two-element vector alike, so the history decides: it is independent when every invocation
//!   carries a pair, and the model reads every operation that way, or cannot read them as one
//!   register anyway.
//!
//! [`setup`] settles all three for one history and keeps what it chose, for the report.

use crate::format::Format;
use crate::history::{History, Value};
use crate::model::independent::looks_independent;
use crate::model::{AnyModel, Model, NilRead};
use std::fmt;
use std::str::FromStr;

/// Whether to split a history by Jepsen's independent keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Independence {
    /// Split when the history reads as independent (see the module header).
    #[default]
    Auto,
    /// Every value is a `[key value]` tuple.
    Yes,
    /// The history is one object; pairs are values.
    No,
}

impl FromStr for Independence {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Independence::Auto),
            "yes" => Ok(Independence::Yes),
            "no" => Ok(Independence::No),
            _ => Err(format!("unknown independence `{s}` (expected auto, yes or no)")),
        }
    }
}

/// The choices a caller makes; `None` and `Auto` leave them to the format and the history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conventions {
    pub init: Option<Value>,
    pub nil_read: Option<NilRead>,
    pub independent: Independence,
}

/// What [`setup`] settled on for one history.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// The model to check the history against, with its initial value, nil-read meaning and
    /// independent keys.
    pub model: AnyModel,
    /// The meaning of a nil read, for models that have nil reads.
    pub nil_read: Option<NilRead>,
    /// Whether the history is split by Jepsen's independent keys.
    pub independent: bool,
}

impl fmt::Display for Setup {
    /// The choices that change a verdict, for a report line: `nil-read any`, `independent keys`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.independent {
            parts.push("independent keys".to_string());
        }
        if let Some(n) = self.nil_read {
            parts.push(format!("nil-read {n}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Settles the model for `history`, read in `format` (`None`: built in Rust), under the
/// caller's `conventions`. Errors: an unknown model, an initial value or nil-read meaning the
/// model has no use for, independent keys for a model with keys of its own.
pub fn setup(
    name: &str,
    conventions: &Conventions,
    format: Option<Format>,
    history: &History,
) -> Result<Setup, String> {
    let init = conventions.init.clone().or_else(|| format.and_then(Format::default_init));
    let mut model = AnyModel::by_name(name, init)?;
    let nil_read = match (model.nil_read(), conventions.nil_read) {
        (None, Some(_)) => return Err(format!("model {name} has no nil reads to give a meaning to")),
        (None, None) => None,
        (Some(_), given) => Some(given.or(format.map(Format::default_nil_read)).unwrap_or_default()),
    };
    if let Some(n) = nil_read {
        model = model.with_nil_read(n);
    }
    let model = match conventions.independent {
        Independence::No => model,
        Independence::Yes => model.independent()?,
        Independence::Auto => auto_independent(model, history),
    };
    Ok(Setup { independent: model.is_independent(), nil_read, model })
}

/// The model over independent keys when the history reads that way (see the module header).
fn auto_independent(model: AnyModel, history: &History) -> AnyModel {
    if !looks_independent(history) {
        return model;
    }
    let Ok(lifted) = model.clone().independent() else { return model };
    if compiles(&lifted, history) || !compiles(&model, history) {
        lifted
    } else {
        model
    }
}

/// Whether `model` reads every operation of `history` (false for an ill-formed history).
fn compiles(model: &AnyModel, history: &History) -> bool {
    let Ok(ops) = history.operations() else { return false };
    crate::with_model!(model, m => ops.iter().all(|op| m.compile(op).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventKind};

    fn history(values: &[(&str, Value, Value)]) -> History {
        let mut h = History::new();
        for (i, (f, input, output)) in values.iter().enumerate() {
            h.push(Event::invoke(0, f, input.clone(), 2 * i as u64));
            h.push(Event::complete(0, EventKind::Ok, f, output.clone(), 2 * i as u64 + 1));
        }
        h
    }

    fn pair(a: Value, b: Value) -> Value {
        Value::List(vec![a, b])
    }

    #[test]
    fn nil_reads_default_to_the_formats_checker() {
        let h = History::new();
        let conv = Conventions::default();
        let meaning = |f| setup("register", &conv, f, &h).unwrap().nil_read;
        assert_eq!(meaning(Some(Format::Edn)), Some(NilRead::Any));
        assert_eq!(meaning(Some(Format::PorcupineEtcd)), Some(NilRead::Absent));
        assert_eq!(meaning(Some(Format::Jsonl)), Some(NilRead::Absent));
        assert_eq!(meaning(None), Some(NilRead::Absent));
        let given = Conventions { nil_read: Some(NilRead::Absent), ..Conventions::default() };
        assert_eq!(setup("register", &given, Some(Format::Edn), &h).unwrap().nil_read, Some(NilRead::Absent));
        assert_eq!(setup("mutex", &conv, Some(Format::Edn), &h).unwrap().nil_read, None);
        assert!(setup("mutex", &given, None, &h).unwrap_err().contains("no nil reads"));
        let kv = setup("key-value", &conv, Some(Format::PorcupineKv), &h).unwrap();
        assert_eq!(kv.model, AnyModel::by_name("key-value", Some("".into())).unwrap());
    }

    #[test]
    fn independent_keys_are_detected_from_the_history() {
        let conv = Conventions::default();
        let keyed = history(&[
            ("write", pair(1.into(), 3.into()), pair(1.into(), 3.into())),
            ("read", pair(2.into(), Value::Nil), pair(2.into(), Value::Nil)),
        ]);
        let s = setup("cas-register", &conv, Some(Format::Edn), &keyed).unwrap();
        assert!(s.independent && s.model.is_independent());
        assert_eq!(s.to_string(), "independent keys, nil-read any");
        let single = history(&[("write", 3.into(), 3.into()), ("read", Value::Nil, 3.into())]);
        assert!(!setup("cas-register", &conv, None, &single).unwrap().independent);
        // Only cas operations: every value is a pair, but not one of the model's keyed values.
        let cas = pair(1.into(), 2.into());
        let cas_only = history(&[("cas", cas.clone(), cas)]);
        assert!(!setup("cas-register", &conv, None, &cas_only).unwrap().independent);
        assert!(!setup("key-value", &conv, None, &keyed).unwrap().independent, "key-value has its keys");
        let no = Conventions { independent: Independence::No, ..Conventions::default() };
        assert!(!setup("cas-register", &no, None, &keyed).unwrap().independent);
        let yes = Conventions { independent: Independence::Yes, ..Conventions::default() };
        assert!(setup("cas-register", &yes, None, &cas_only).unwrap().independent);
        assert!(setup("multi-register", &yes, None, &keyed).unwrap_err().contains("keys of its own"));
    }
}
