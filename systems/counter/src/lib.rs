//! The distributed counter: faultline's first system.
//!
//! Clients send `incr(n)` and `read`. A fixed primary orders increments in a checksummed log on
//! its disk, replicates them to the backups, and acknowledges each once a majority holds it
//! durably; it recovers from its disk and its backups after a crash, and answers a retried
//! request once. The run is checked by exact bounds on every read.
//!
//! Modules:
//! - [`node`]: the protocol (primary and backups), a pure state machine behind `Node`.
//! - [`msg`]: messages, requests, responses, timers.
//! - [`storage`]: the durable log and epoch on the node's disk.
//! - [`bugs`]: the planted bugs (`ack-before-durable`, `no-dedup`, `read-from-backup`).
//! - [`check`]: exact bounds on reads.
//! - [`system`]: the counter bound to the harness (workload, routing, checks).

#![forbid(unsafe_code)]

pub mod bugs;
pub mod check;
pub mod msg;
pub mod node;
pub mod storage;
pub mod system;

pub use bugs::CounterBug;
pub use node::CounterNode;
pub use system::Counter;
