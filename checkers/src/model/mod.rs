//! Sequential specifications ("models") that the linearizability checker checks histories
//! against: a model says which operations are valid in which state, and what state follows.
//!
//! Models:
//! - [`register`]: `register` (read/write) and `cas-register` (adds compare-and-set).
//! - [`kv`]: `key-value` with get/put/append/cas, partitioned by key.
//! - [`counter`]: `counter` with incr/read.
//! - [`set`]: `set` with add/read.
//! - [`queue`]: `queue`, a FIFO queue with enqueue/dequeue.
//! - [`lock`]: `lock` and `lease`, with fencing tokens and fenced writes.
//! - [`znode`]: `znode`, a ZooKeeper-style tree checked per path (versions, ephemeral nodes).
//!
//! Every model documents its input/output conventions in its own header. They share the
//! Jepsen conventions for outcomes: a `fail` operation did not take effect (the checker drops
//! it); an `info` operation, and one that never completed, may take effect at any point after
//! its invocation, or never, and its output is unknown.
//!
//! Besides `init` and `step`, a model may tell the search what it knows about its operations
//! ([`Model::read_only`], [`Model::blind`], and the reachability pair [`Model::explains`] /
//! [`Model::may_reach`]); the defaults are always correct, only slower. The property tests in
//! `checkers/tests/` check every model's hints against a brute-force checker that ignores them.

pub mod counter;
pub mod kv;
pub mod lock;
pub mod queue;
pub mod register;
pub mod set;
pub mod znode;

use crate::history::{Operation, Value};
use std::fmt::Debug;
use std::hash::Hash;

/// A sequential specification.
pub trait Model: Sync {
    /// An operation as the model understands it: its input and, for completed ones, its output.
    type Op: Clone + Debug + Eq + Hash + Send + Sync;
    /// The model's state; compared and hashed to memoize the search.
    type State: Clone + Debug + Eq + Hash + Send + Sync;

    /// The name used on the command line (`cas-register`).
    fn name(&self) -> &'static str;

    fn init(&self) -> Self::State;

    /// Translates a history operation; `Err` says why it is ill-formed for this model (an
    /// unknown function, an input or output of the wrong shape). `op.output` is `None` when the
    /// outcome is unknown (`info`, or never completed).
    fn compile(&self, op: &Operation) -> Result<Self::Op, String>;

    /// The state after `op`, or `None` when `op` (with its output) is impossible in `state`.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// The part of the history `op` belongs to. Parts are checked independently, which is sound
    /// when the model is a product of independent objects (P-compositionality, Horn and
    /// Kroening, FORTE 2015): the key-value model returns the key. Default: one part.
    fn part(&self, _op: &Self::Op) -> Value {
        Value::Nil
    }

    fn describe_op(&self, op: &Self::Op) -> String;

    fn describe_state(&self, state: &Self::State) -> String;

    /// True when `op`, wherever it is valid, leaves the state unchanged (a read). The search
    /// linearizes such operations as soon as they are valid.
    fn read_only(&self, _op: &Self::Op) -> bool {
        false
    }

    /// True when `op` is valid in every state (a write, an append). When every operation still
    /// to be linearized is blind, the rest of the history is certainly linearizable.
    fn blind(&self, _op: &Self::Op) -> bool {
        false
    }

    /// True when `op` is valid in every state and leaves a state that does not depend on the
    /// state before it (a write, a put). Lets the search merge states that no remaining
    /// observer can see when every operation that could make them visible again overwrites.
    fn overwrites(&self, _op: &Self::Op) -> bool {
        false
    }

    /// Whether this model implements [`Model::may_reach`]; when false the search skips the
    /// reachability pruning and its set-up.
    fn prunes(&self) -> bool {
        false
    }

    /// True when applying `writer` could help make `reader` valid later. Must be true for every
    /// pair the [`Model::may_reach`] contract needs (when in doubt, true).
    fn explains(&self, _writer: &Self::Op, _reader: &Self::Op) -> bool {
        true
    }

    /// False only when no sequence of operations that do not [`Model::explains`] `reader` can
    /// lead from `state` to a state where `reader` is valid. The search uses it to drop states
    /// that can no longer satisfy a pending or upcoming reader (e.g. a register holding 3 when
    /// the next read returns 4 and no write of 4 can still happen).
    fn may_reach(&self, _state: &Self::State, _reader: &Self::Op) -> bool {
        true
    }
}

/// Fails compilation with the standard message for an unknown function.
pub(crate) fn unknown_function<T>(model: &str, f: &str, expected: &str) -> Result<T, String> {
    Err(format!("unknown function `{f}` for model {model} (expected {expected})"))
}

/// The output of a completed operation, or `None` when its outcome is unknown.
pub(crate) fn known_output(op: &Operation) -> Option<&Value> {
    match op.status {
        crate::history::Status::Ok => op.output.as_ref(),
        _ => None,
    }
}

/// Names of the models [`AnyModel::by_name`] knows, for help texts.
pub const MODEL_NAMES: [&str; 9] =
    ["register", "cas-register", "key-value", "counter", "set", "queue", "lock", "lease", "znode"];

/// One of the built-in models, chosen by name at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyModel {
    Register(register::Register),
    KeyValue(kv::KeyValue),
    Counter(counter::Counter),
    Set(set::SetModel),
    Queue(queue::Queue),
    Lock(lock::Lock),
    Znode(znode::Znode),
}

impl AnyModel {
    /// The model called `name`, starting from `init` where the model has an initial value
    /// (`register`, `cas-register`, `key-value`: every key; `counter`). `None` means the
    /// model's default (nil, or 0 for the counter).
    pub fn by_name(name: &str, init: Option<Value>) -> Result<AnyModel, String> {
        let reg = |cas| register::Register { init: init.clone().unwrap_or(Value::Nil), cas };
        let needs_no_init = |m: AnyModel| match &init {
            Some(v) => Err(format!("model {name} has no initial value to set (got {v})")),
            None => Ok(m),
        };
        match name {
            "register" => Ok(AnyModel::Register(reg(false))),
            "cas-register" => Ok(AnyModel::Register(reg(true))),
            "key-value" | "kv" => Ok(AnyModel::KeyValue(kv::KeyValue { init: init.unwrap_or(Value::Nil) })),
            "counter" => match init.unwrap_or(Value::Int(0)) {
                Value::Int(i) => Ok(AnyModel::Counter(counter::Counter { init: i as i128 })),
                other => Err(format!("a counter starts from an integer, not {other}")),
            },
            "set" => needs_no_init(AnyModel::Set(set::SetModel)),
            "queue" => needs_no_init(AnyModel::Queue(queue::Queue)),
            "lock" => needs_no_init(AnyModel::Lock(lock::Lock { lease: false })),
            "lease" => needs_no_init(AnyModel::Lock(lock::Lock { lease: true })),
            "znode" => needs_no_init(AnyModel::Znode(znode::Znode)),
            _ => Err(format!("unknown model `{name}` (expected one of: {})", MODEL_NAMES.join(", "))),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            AnyModel::Register(m) => m.name(),
            AnyModel::KeyValue(m) => m.name(),
            AnyModel::Counter(m) => m.name(),
            AnyModel::Set(m) => m.name(),
            AnyModel::Queue(m) => m.name(),
            AnyModel::Lock(m) => m.name(),
            AnyModel::Znode(m) => m.name(),
        }
    }
}

/// Calls `$body` with `$m` bound to the concrete model inside an [`AnyModel`].
#[macro_export]
#[doc(hidden)]
macro_rules! with_model {
    ($any:expr, $m:ident => $body:expr) => {
        match $any {
            $crate::model::AnyModel::Register($m) => $body,
            $crate::model::AnyModel::KeyValue($m) => $body,
            $crate::model::AnyModel::Counter($m) => $body,
            $crate::model::AnyModel::Set($m) => $body,
            $crate::model::AnyModel::Queue($m) => $body,
            $crate::model::AnyModel::Lock($m) => $body,
            $crate::model::AnyModel::Znode($m) => $body,
        }
    };
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builds single operations for the models' unit tests.
    use crate::history::{Operation, Status, Value};

    pub fn op(f: &str, input: Value, status: Status, output: Option<Value>) -> Operation {
        Operation {
            id: 0,
            process: 0,
            f: f.into(),
            input,
            output,
            status,
            invoke_index: 0,
            complete_index: None,
            invoke_time: 0,
            complete_time: None,
        }
    }

    pub fn ok(f: &str, input: Value, output: Value) -> Operation {
        op(f, input, Status::Ok, Some(output))
    }

    pub fn info(f: &str, input: Value) -> Operation {
        op(f, input, Status::Info, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_found_by_name_with_their_initial_values() {
        for name in MODEL_NAMES {
            assert_eq!(AnyModel::by_name(name, None).unwrap().name(), name);
        }
        let AnyModel::Register(r) = AnyModel::by_name("cas-register", Some(Value::Int(3))).unwrap() else {
            panic!("not a register")
        };
        assert_eq!((r.init, r.cas), (Value::Int(3), true));
        assert!(AnyModel::by_name("counter", Some(Value::from("x"))).is_err());
        assert!(AnyModel::by_name("set", Some(Value::Int(1))).is_err());
        assert!(AnyModel::by_name("list-append", None).unwrap_err().contains("unknown model"));
    }
}
