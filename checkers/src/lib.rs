//! faultline-checkers: a history in, a verdict out.
//!
//! Pure and synchronous: nothing here knows about madsim, async code or the rest of the
//! workspace, so every checker can be fuzzed, benchmarked and used on histories from elsewhere
//! (Jepsen, Knossos, Porcupine, Elle).
//!
//! Modules:
//! - [`history`]: the shared history type (events, operations, values) written by the harness.
//! - [`verdict`]: `Verdict = Ok | Violation | Unknown`, the answer every checker gives.
//! - [`txn`]: Elle-style transactional checker (list-append, rw-register): version orders,
//!   dependency cycles, Adya's anomalies, consistency models ruled out.

pub mod history;
pub mod txn;
pub mod verdict;

pub use history::{Event, EventKind, History, HistoryError, Operation, Status, Value};
pub use verdict::Verdict;
