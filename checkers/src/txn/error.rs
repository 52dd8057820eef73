//! Why a history cannot be checked: it is ill-formed, so there is no verdict to give.

use crate::history::HistoryError;

/// An ill-formed transactional history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    /// Invocations and completions do not pair up.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A transaction or micro-operation that is not shaped as the workload requires.
    #[error("event {event}: {reason}")]
    Malformed { event: usize, reason: String },
    /// Version orders are inferred from values, so every write to a key must be unique.
    #[error(
        "key {key}: value {value} is written by both operation {first} and operation {second}; \
         the checker needs every write to a key to be unique"
    )]
    DuplicateWrite { key: String, value: String, first: usize, second: usize },
    /// Transaction, micro-op and node ids are 32-bit.
    #[error("history too large: {0} events or micro-operations (ids are 32-bit)")]
    TooLarge(usize),
}
