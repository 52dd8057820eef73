//! The history of a run: every operation a client invoked and what it was told.
//!
//! A history is a sequence of [`Event`]s in the order they happened, as Jepsen records them:
//! an `invoke`, then later one completion from the same process: `ok` (it took effect and this
//! is its result), `fail` (it certainly did not take effect) or `info` (the outcome is unknown:
//! it may take effect at any later time, or never). A process has at most one operation in
//! flight; after an `info` the process is crashed and never invokes again (Jepsen's clients
//! then continue under a fresh process id).
//!
//! [`History::operations`] pairs invocations with completions and rejects ill-formed
//! histories with a [`HistoryError`]; an ill-formed history is an error, never a verdict.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A dynamically typed value as Jepsen writes them. In JSON: `null`, `true`, `1`, `"s"`, `[..]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(untagged)]
pub enum Value {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
}

impl Value {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

/// What an event says about its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The client process; at most one operation in flight per process.
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The operation's function, e.g. `read`, `write`, `cas`, `incr`, `txn`.
    pub f: String,
    /// On `invoke` the input; on a completion the output (Jepsen's convention).
    #[serde(default)]
    pub value: Value,
    /// When it happened, in nanoseconds of the run's time (simulated time for faultline runs).
    pub time: u64,
}

impl Event {
    pub fn invoke(process: u64, f: &str, value: Value, time: u64) -> Self {
        Event { process, kind: EventKind::Invoke, f: f.to_string(), value, time }
    }

    pub fn complete(process: u64, kind: EventKind, f: &str, value: Value, time: u64) -> Self {
        Event { process, kind, f: f.to_string(), value, time }
    }
}

/// A history: events in the order they happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub events: Vec<Event>,
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Took effect; `output` is its result.
    Ok,
    /// Certainly did not take effect.
    Fail,
    /// Unknown: may take effect at any point after its invocation, or never.
    Info,
}

/// An invocation paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Position of this operation in invocation order; stable identifier in reports.
    pub id: usize,
    pub process: u64,
    pub f: String,
    pub input: Value,
    /// The completion's value; `None` for `info` and for never-completed invocations.
    pub output: Option<Value>,
    pub status: Status,
    /// Index of the invoke event in the history.
    pub invoke_index: usize,
    /// Index of the completion event, `None` when it never completed (`info` or cut off).
    pub complete_index: Option<usize>,
    pub invoke_time: u64,
    pub complete_time: Option<u64>,
}

/// Why a history is ill-formed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "event {index}: process {process} invoked again while operation at event {pending} is in flight"
    )]
    DoubleInvoke { index: usize, process: u64, pending: usize },
    #[error("event {index}: process {process} completed an operation it never invoked")]
    CompletionWithoutInvoke { index: usize, process: u64 },
    #[error("event {index}: process {process} completed `{got}` but invoked `{expected}`")]
    MismatchedFunction { index: usize, process: u64, expected: String, got: String },
    #[error("event {index}: time {time} is before the previous event's time {previous}")]
    TimeWentBackwards { index: usize, time: u64, previous: u64 },
}

impl History {
    pub fn new() -> Self {
        History::default()
    }

    pub fn push(&mut self, event: Event) {
        self.events.push(event);
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Pairs invocations with completions. An invocation with no completion is treated as
    /// `info` (the run ended while it was in flight).
    pub fn operations(&self) -> Result<Vec<Operation>, HistoryError> {
        let mut ops: Vec<Operation> = Vec::new();
        let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
        let mut previous_time = 0;
        for (index, e) in self.events.iter().enumerate() {
            if e.time < previous_time {
                return Err(HistoryError::TimeWentBackwards { index, time: e.time, previous: previous_time });
            }
            previous_time = e.time;
            if e.kind == EventKind::Invoke {
                if let Some(&op) = pending.get(&e.process) {
                    let pending = ops[op].invoke_index;
                    return Err(HistoryError::DoubleInvoke { index, process: e.process, pending });
                }
                pending.insert(e.process, ops.len());
                ops.push(Operation {
                    id: ops.len(),
                    process: e.process,
                    f: e.f.clone(),
                    input: e.value.clone(),
                    output: None,
                    status: Status::Info,
                    invoke_index: index,
                    complete_index: None,
                    invoke_time: e.time,
                    complete_time: None,
                });
                continue;
            }
            let Some(op) = pending.remove(&e.process) else {
                return Err(HistoryError::CompletionWithoutInvoke { index, process: e.process });
            };
            let op = &mut ops[op];
            if op.f != e.f {
                return Err(HistoryError::MismatchedFunction {
                    index,
                    process: e.process,
                    expected: op.f.clone(),
                    got: e.f.clone(),
                });
            }
            op.status = match e.kind {
                EventKind::Ok => Status::Ok,
                EventKind::Fail => Status::Fail,
                _ => Status::Info,
            };
            if op.status != Status::Info {
                op.output = Some(e.value.clone());
                op.complete_index = Some(index);
                op.complete_time = Some(e.time);
            }
        }
        Ok(ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(process: u64, kind: EventKind, f: &str, value: Value, time: u64) -> Event {
        Event { process, kind, f: f.into(), value, time }
    }

    #[test]
    fn pairs_invocations_with_completions() {
        let h = History {
            events: vec![
                ev(0, EventKind::Invoke, "write", 1.into(), 1),
                ev(1, EventKind::Invoke, "read", Value::Nil, 2),
                ev(0, EventKind::Ok, "write", 1.into(), 3),
                ev(1, EventKind::Info, "read", Value::Nil, 4),
            ],
        };
        let ops = h.operations().unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].status, Status::Ok);
        assert_eq!(ops[0].complete_time, Some(3));
        assert_eq!(ops[1].status, Status::Info);
        assert_eq!(ops[1].output, None);
    }

    #[test]
    fn rejects_double_invoke_and_orphan_completion() {
        let double = History {
            events: vec![
                ev(0, EventKind::Invoke, "read", Value::Nil, 1),
                ev(0, EventKind::Invoke, "read", Value::Nil, 2),
            ],
        };
        assert!(matches!(double.operations(), Err(HistoryError::DoubleInvoke { index: 1, .. })));
        let orphan = History { events: vec![ev(3, EventKind::Ok, "read", Value::Nil, 1)] };
        assert!(matches!(orphan.operations(), Err(HistoryError::CompletionWithoutInvoke { .. })));
    }

    #[test]
    fn json_shape_matches_the_documented_format() {
        let e = ev(2, EventKind::Ok, "cas", vec![1i64, 2].into(), 7);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"process":2,"type":"ok","f":"cas","value":[1,2],"time":7}"#);
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
