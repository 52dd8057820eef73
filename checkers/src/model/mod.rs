//! Sequential specifications ("models") that the linearizability checker checks histories
//! against: a model says which operations are valid in which state, and what state follows.
//!
//! Models:
//! - [`register`]: `register` (read/write) and `cas-register` (adds compare-and-set).
//! - [`kv`]: `key-value` with get/put/append/cas, partitioned by key.
//! - [`multi_register`]: `multi-register`, Knossos's transactions of reads and writes over
//!   several registers.
//! - [`counter`]: `counter` with incr/read.
//! - [`set`]: `set` with add/read.
//! - [`queue`]: `queue`, a FIFO queue with enqueue/dequeue.
//! - [`lock`]: `lock` and `lease`, with fencing tokens and fenced writes.
//! - [`mutex`]: `mutex`, Knossos's lock: acquire and release, nothing else.
//! - [`independent`]: any single-key model lifted to Jepsen's independent `[key value]`
//!   tuples, one key at a time.
//!
//! Every model documents its input/output conventions in its own header. They share the
//! Jepsen conventions for outcomes: a `fail` operation did not take effect (the checker drops
//! it); an `info` operation, and one that never completed, may take effect at any point after
//! its invocation, or never, and its output is unknown. What an `ok` read of nil means differs
//! between the tools histories come from; [`NilRead`] chooses.
//!
//! Besides `init` and `step`, a model may tell the search what it knows about its operations
//! ([`Model::read_only`], [`Model::blind`], and the reachability pair [`Model::explains`] /
//! [`Model::may_reach`]); the defaults are always correct, only slower. The property tests in
//! `checkers/tests/` check every model's hints against a brute-force checker that ignores them.

pub mod counter;
pub mod independent;
pub mod kv;
pub mod lock;
pub mod multi_register;
pub mod mutex;
pub mod queue;
pub mod register;
pub mod set;

use crate::history::{Operation, Value};
use independent::Independent;
use std::fmt::{self, Debug};
use std::hash::Hash;
use std::str::FromStr;

/// What an `ok` read that returned nil says about a register (or a key).
///
/// The tools disagree. Knossos's `register`, `cas-register` and `multi-register` models accept a
/// nil read in every state: Jepsen records nil when it does not know what a read saw. Porcupine's
/// etcd and key-value models, and faultline's own histories, read nil (or the initial value)
/// when nothing was written: a nil read must find the register holding nil.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NilRead {
    /// Nil is a value like any other: the register holds nil (never written, with a nil initial
    /// value). Porcupine's meaning, and faultline's.
    #[default]
    Absent,
    /// Nil means the read's value is unknown: it is consistent with every state. Knossos's
    /// meaning.
    Any,
}

impl NilRead {
    pub const ALL: [NilRead; 2] = [NilRead::Any, NilRead::Absent];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            NilRead::Absent => "absent",
            NilRead::Any => "any",
        }
    }

    /// The value a read returned, as the model should check it: `None` when it says nothing.
    pub(crate) fn observed(self, value: Option<&Value>) -> Option<&Value> {
        match (self, value) {
            (NilRead::Any, Some(Value::Nil)) => None,
            (_, v) => v,
        }
    }
}

impl fmt::Display for NilRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NilRead {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NilRead::ALL
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| format!("unknown nil-read meaning `{s}` (expected any or absent)"))
    }
}

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
pub const MODEL_NAMES: [&str; 10] = [
    "register",
    "cas-register",
    "key-value",
    "multi-register",
    "counter",
    "set",
    "queue",
    "lock",
    "lease",
    "mutex",
];

/// One of the built-in models, chosen by name at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyModel {
    Register(register::Register),
    KeyValue(kv::KeyValue),
    MultiRegister(multi_register::MultiRegister),
    Counter(counter::Counter),
    Set(set::SetModel),
    Queue(queue::Queue),
    Lock(lock::Lock),
    Mutex(mutex::Mutex),
    IndependentRegister(Independent<register::Register>),
    IndependentCounter(Independent<counter::Counter>),
    IndependentSet(Independent<set::SetModel>),
    IndependentQueue(Independent<queue::Queue>),
    IndependentLock(Independent<lock::Lock>),
    IndependentMutex(Independent<mutex::Mutex>),
}

impl AnyModel {
    /// The model called `name`, starting from `init` where the model has an initial value
    /// (`register`, `cas-register`, `key-value` and `multi-register`: every key; `counter`).
    /// `None` means the model's default (nil, or 0 for the counter). Nil reads have faultline's
    /// meaning ([`NilRead::Absent`]); [`AnyModel::with_nil_read`] changes it.
    pub fn by_name(name: &str, init: Option<Value>) -> Result<AnyModel, String> {
        let nil_read = NilRead::Absent;
        let reg = |cas| register::Register { init: init.clone().unwrap_or(Value::Nil), cas, nil_read };
        let needs_no_init = |m: AnyModel| match &init {
            Some(v) => Err(format!("model {name} has no initial value to set (got {v})")),
            None => Ok(m),
        };
        match name {
            "register" => Ok(AnyModel::Register(reg(false))),
            "cas-register" => Ok(AnyModel::Register(reg(true))),
            "key-value" | "kv" => {
                Ok(AnyModel::KeyValue(kv::KeyValue { init: init.unwrap_or(Value::Nil), nil_read }))
            }
            "multi-register" => Ok(AnyModel::MultiRegister(multi_register::MultiRegister {
                init: init.unwrap_or(Value::Nil),
                nil_read,
            })),
            "counter" => match init.unwrap_or(Value::Int(0)) {
                Value::Int(i) => Ok(AnyModel::Counter(counter::Counter { init: i as i128 })),
                other => Err(format!("a counter starts from an integer, not {other}")),
            },
            "set" => needs_no_init(AnyModel::Set(set::SetModel)),
            "queue" => needs_no_init(AnyModel::Queue(queue::Queue)),
            "lock" => needs_no_init(AnyModel::Lock(lock::Lock { lease: false })),
            "lease" => needs_no_init(AnyModel::Lock(lock::Lock { lease: true })),
            "mutex" => needs_no_init(AnyModel::Mutex(mutex::Mutex)),
            _ => Err(format!("unknown model `{name}` (expected one of: {})", MODEL_NAMES.join(", "))),
        }
    }

    pub fn name(&self) -> &'static str {
        crate::with_model!(self, m => m.name())
    }

    /// The meaning of a nil read, for the models whose reads return a register's value (the
    /// registers, `key-value` and `multi-register`, independent or not); `None` for the others.
    pub fn nil_read(&self) -> Option<NilRead> {
        match self {
            AnyModel::Register(m) | AnyModel::IndependentRegister(Independent { inner: m }) => {
                Some(m.nil_read)
            }
            AnyModel::KeyValue(m) => Some(m.nil_read),
            AnyModel::MultiRegister(m) => Some(m.nil_read),
            _ => None,
        }
    }

    /// The same model with nil reads meaning `nil_read`; models without such reads are unchanged.
    pub fn with_nil_read(mut self, nil_read: NilRead) -> AnyModel {
        match &mut self {
            AnyModel::Register(m) | AnyModel::IndependentRegister(Independent { inner: m }) => {
                m.nil_read = nil_read
            }
            AnyModel::KeyValue(m) => m.nil_read = nil_read,
            AnyModel::MultiRegister(m) => m.nil_read = nil_read,
            _ => {}
        }
        self
    }

    /// Whether the model reads Jepsen's independent `[key value]` tuples.
    pub fn is_independent(&self) -> bool {
        matches!(
            self,
            AnyModel::IndependentRegister(_)
                | AnyModel::IndependentCounter(_)
                | AnyModel::IndependentSet(_)
                | AnyModel::IndependentQueue(_)
                | AnyModel::IndependentLock(_)
                | AnyModel::IndependentMutex(_)
        )
    }

    /// The same model over Jepsen's independent keys (see [`independent`]). Only single-key
    /// models can be lifted: `key-value` and `multi-register` have keys of their own.
    pub fn independent(self) -> Result<AnyModel, String> {
        match self {
            AnyModel::Register(inner) => Ok(AnyModel::IndependentRegister(Independent { inner })),
            AnyModel::Counter(inner) => Ok(AnyModel::IndependentCounter(Independent { inner })),
            AnyModel::Set(inner) => Ok(AnyModel::IndependentSet(Independent { inner })),
            AnyModel::Queue(inner) => Ok(AnyModel::IndependentQueue(Independent { inner })),
            AnyModel::Lock(inner) => Ok(AnyModel::IndependentLock(Independent { inner })),
            AnyModel::Mutex(inner) => Ok(AnyModel::IndependentMutex(Independent { inner })),
            m if m.is_independent() => Ok(m),
            m => Err(format!(
                "model {} has keys of its own and cannot be split into independent keys",
                m.name()
            )),
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
            $crate::model::AnyModel::MultiRegister($m) => $body,
            $crate::model::AnyModel::Counter($m) => $body,
            $crate::model::AnyModel::Set($m) => $body,
            $crate::model::AnyModel::Queue($m) => $body,
            $crate::model::AnyModel::Lock($m) => $body,
            $crate::model::AnyModel::Mutex($m) => $body,
            $crate::model::AnyModel::IndependentRegister($m) => $body,
            $crate::model::AnyModel::IndependentCounter($m) => $body,
            $crate::model::AnyModel::IndependentSet($m) => $body,
            $crate::model::AnyModel::IndependentQueue($m) => $body,
            $crate::model::AnyModel::IndependentLock($m) => $body,
            $crate::model::AnyModel::IndependentMutex($m) => $body,
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
        assert!(AnyModel::by_name("mutex", Some(Value::Int(0))).is_err());
    }

    #[test]
    fn nil_read_meanings_apply_to_the_models_with_nil_reads() {
        assert_eq!("any".parse::<NilRead>(), Ok(NilRead::Any));
        assert!("unknown".parse::<NilRead>().unwrap_err().contains("any or absent"));
        for name in ["register", "cas-register", "key-value", "multi-register"] {
            let m = AnyModel::by_name(name, None).unwrap();
            assert_eq!(m.nil_read(), Some(NilRead::Absent), "{name}: faultline's meaning by default");
            assert_eq!(m.with_nil_read(NilRead::Any).nil_read(), Some(NilRead::Any), "{name}");
        }
        let mutex = AnyModel::by_name("mutex", None).unwrap();
        assert_eq!(mutex.clone().with_nil_read(NilRead::Any), mutex);
        assert_eq!(mutex.nil_read(), None);
    }

    #[test]
    fn single_key_models_lift_to_independent_keys() {
        for name in ["register", "cas-register", "counter", "set", "queue", "lock", "lease", "mutex"] {
            let lifted = AnyModel::by_name(name, None).unwrap().independent().unwrap();
            assert!(lifted.is_independent(), "{name}");
            assert_eq!(lifted.name(), name);
            assert_eq!(lifted.clone().independent().unwrap(), lifted, "lifting twice is lifting once");
        }
        let reg = AnyModel::by_name("register", None).unwrap().independent().unwrap();
        assert_eq!(reg.with_nil_read(NilRead::Any).nil_read(), Some(NilRead::Any));
        for name in ["key-value", "multi-register"] {
            let err = AnyModel::by_name(name, None).unwrap().independent().unwrap_err();
            assert!(err.contains("keys of its own"), "{name}: {err}");
        }
    }
}
