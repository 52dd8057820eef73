//! faultline-checkers: a history in, a verdict out.
//!
//! Pure and synchronous: nothing here knows about madsim, async code or the rest of the
//! workspace, so every checker can be fuzzed, benchmarked and used on histories from elsewhere
//! (Jepsen, Knossos, Porcupine, Elle).
//!
//! Modules:
//! - [`history`]: the shared history type (events, operations, values) written by the harness.
//! - [`verdict`]: `Verdict = Ok | Violation | Unknown`, the answer every checker gives.
//! - [`invariants`]: protocol invariants over observed node states (replicated-log properties
//!   over (epoch, position), Raft's Figure 3 as one set, Multi-Paxos's per-slot properties).
//! - [`format`]: history files: faultline's JSON lines, Jepsen EDN, Porcupine's logs; guessing.
//! - [`conventions`]: what a file from elsewhere leaves open (initial value, what a nil read
//!   means, Jepsen's independent keys) and the defaults per format.
//! - [`model`]: sequential specifications: registers, key-value, multi-register, counter, set,
//!   queue, lock, mutex, znode, and any single-key model over independent keys.
//! - [`lin`]: the linearizability checker (P-compositional WGL search with just-in-time
//!   linearization, memoization, pruning, a deadline, parallel parts).
//! - [`explain`]: why a history is not linearizable, as text and as an HTML timeline.
//! - [`oracle`]: a brute-force linearizability checker for small histories, to test [`lin`].
//! - [`fuzzing`]: the bodies of the fuzz targets in `fuzz/`, also run by `cargo test`.
//! - [`bank`]: Jepsen's bank checker: every read of all balances sums to the total and no
//!   balance is negative; bank histories in EDN and in JSON lines with object values.
//! - [`txn`]: Elle-style transactional checker (list-append, rw-register): version orders,
//!   dependency cycles, Adya's anomalies, consistency models ruled out.

#![forbid(unsafe_code)]

pub mod bank;
pub mod conventions;
pub mod explain;
pub mod format;
pub mod fuzzing;
pub mod history;
pub mod invariants;
pub mod lin;
pub mod model;
pub mod oracle;
pub mod txn;
pub mod verdict;

pub use history::{Event, EventKind, History, HistoryError, Operation, Status, Value};
pub use lin::{check, check_model, check_named, CheckError, Options, Report};
pub use model::{AnyModel, Model, NilRead};
pub use verdict::Verdict;
