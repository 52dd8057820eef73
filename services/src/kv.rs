//! Key-value commands and outcomes, and how they are written into the checked history.
//!
//! Values are strings. `put` sets, `append` concatenates (a missing key counts as empty), and
//! `cas` sets `to` only if the current value equals `from` (`None` meaning missing). A protocol
//! carries these inside its own request and response types (adding its redirects and refusals)
//! and converts at the edges: [`KvOp`] from a request, [`KvOutcome`] into a response.
//!
//! The history follows the checkers' key-value model (`faultline check --model key-value`):
//! `get [k nil]` completes `ok [k v]` (`nil` when missing); `put [k v]` and `append [k v]`
//! complete `ok [k v]`; `cas [k from to]` completes `ok [k from to]`, or `fail [k from to]` when
//! the compare failed (a failed cas certainly did not take effect).

use faultline_checkers::{EventKind, Value};
use faultline_sim::system::Answer;
use serde::{Deserialize, Serialize};

/// A write: it goes through the protocol's log and the client session.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvWrite {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Appends `value` to the current string (a missing key counts as empty).
    Append {
        /// The key.
        key: String,
        /// What is appended.
        value: String,
    },
    /// Sets `to` if the current value equals `from` (`None`: the key is missing).
    Cas {
        /// The key.
        key: String,
        /// The value expected now.
        from: Option<String>,
        /// The new value.
        to: String,
    },
}

/// A key-value command as the workload draws it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOp {
    /// Reads `key`.
    Get {
        /// The key.
        key: String,
    },
    /// A write.
    Write(KvWrite),
}

/// What executing a command gave.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOutcome {
    /// A get's result (`None`: the key is missing).
    Value(Option<String>),
    /// A put or an append took effect.
    Written,
    /// A cas took effect.
    Swapped,
    /// A cas did not take effect: the current value differs from `from`.
    CasFailed {
        /// The value found instead.
        current: Option<String>,
    },
}

impl KvWrite {
    /// The key written.
    pub fn key(&self) -> &str {
        match self {
            KvWrite::Put { key, .. } | KvWrite::Append { key, .. } | KvWrite::Cas { key, .. } => key,
        }
    }
}

impl KvOp {
    /// A get of `key`.
    pub fn get(key: &str) -> KvOp {
        KvOp::Get { key: key.into() }
    }

    /// A put of `value` at `key`.
    pub fn put(key: &str, value: &str) -> KvOp {
        KvOp::Write(KvWrite::Put { key: key.into(), value: value.into() })
    }

    /// An append of `value` to `key`.
    pub fn append(key: &str, value: &str) -> KvOp {
        KvOp::Write(KvWrite::Append { key: key.into(), value: value.into() })
    }

    /// A compare-and-set of `key` from `from` (`None`: missing) to `to`.
    pub fn cas(key: &str, from: Option<&str>, to: &str) -> KvOp {
        KvOp::Write(KvWrite::Cas { key: key.into(), from: from.map(Into::into), to: to.into() })
    }

    /// The key the command touches.
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key } => key,
            KvOp::Write(w) => w.key(),
        }
    }

    /// The history's function name and invocation value.
    pub fn invocation(&self) -> (&'static str, Value) {
        let pair = |k: &str, v: &str| Value::List(vec![k.into(), v.into()]);
        match self {
            KvOp::Get { key } => ("get", Value::List(vec![key.as_str().into(), Value::Nil])),
            KvOp::Write(KvWrite::Put { key, value }) => ("put", pair(key, value)),
            KvOp::Write(KvWrite::Append { key, value }) => ("append", pair(key, value)),
            KvOp::Write(KvWrite::Cas { key, from, to }) => {
                ("cas", Value::List(vec![key.as_str().into(), str_or_nil(from.as_ref()), to.as_str().into()]))
            }
        }
    }

    /// What `outcome` means for this command: a completion to record, or, when the outcome
    /// cannot answer the command (a protocol bug), an operation of unknown outcome, which the
    /// checks then judge.
    pub fn answer(&self, outcome: &KvOutcome) -> Answer {
        let input = || self.invocation().1;
        match (self, outcome) {
            (KvOp::Get { key }, KvOutcome::Value(v)) => {
                Answer::Done(EventKind::Ok, Value::List(vec![key.as_str().into(), str_or_nil(v.as_ref())]))
            }
            (KvOp::Write(KvWrite::Put { .. } | KvWrite::Append { .. }), KvOutcome::Written) => {
                Answer::Done(EventKind::Ok, input())
            }
            (KvOp::Write(KvWrite::Cas { .. }), KvOutcome::Swapped) => Answer::Done(EventKind::Ok, input()),
            (KvOp::Write(KvWrite::Cas { .. }), KvOutcome::CasFailed { .. }) => {
                Answer::Done(EventKind::Fail, input())
            }
            _ => Answer::Unknown { hint: None },
        }
    }
}

fn str_or_nil(v: Option<&String>) -> Value {
    v.map_or(Value::Nil, |s| Value::Str(s.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn commands_map_to_the_key_value_model() {
        let get = KvOp::get("k");
        assert_eq!(get.invocation(), ("get", Value::List(vec![s("k"), Value::Nil])));
        let ok = |v| Answer::Done(EventKind::Ok, Value::List(v));
        assert_eq!(get.answer(&KvOutcome::Value(Some("v".into()))), ok(vec![s("k"), s("v")]));
        assert_eq!(get.answer(&KvOutcome::Value(None)), ok(vec![s("k"), Value::Nil]));
        let append = KvOp::append("k", "x");
        assert_eq!(append.answer(&KvOutcome::Written), ok(vec![s("k"), s("x")]));
        assert_eq!(append.key(), "k");
    }

    #[test]
    fn a_failed_compare_is_a_fail_and_a_mismatch_is_unknown() {
        let cas = KvOp::cas("k", None, "1");
        let input = Value::List(vec![s("k"), Value::Nil, s("1")]);
        assert_eq!(cas.invocation(), ("cas", input.clone()));
        assert_eq!(cas.answer(&KvOutcome::Swapped), Answer::Done(EventKind::Ok, input.clone()));
        let failed = KvOutcome::CasFailed { current: Some("0".into()) };
        assert_eq!(cas.answer(&failed), Answer::Done(EventKind::Fail, input));
        assert_eq!(KvOp::get("k").answer(&KvOutcome::Written), Answer::Unknown { hint: None });
    }
}
