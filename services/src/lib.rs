//! faultline-services: the service layers a replicated protocol serves, written once and free
//! of any protocol's types.
//!
//! A consensus protocol (Raft, Multi-Paxos, Zab...) orders commands; what the commands mean,
//! which commands the workload draws, and how they are written into the checked history are the
//! same for every protocol. Keeping them here is what lets users compare protocols on identical
//! seeds and workloads.
//!
//! Modules:
//! - [`kv`]: the key-value commands (get, put, append, cas) and their outcomes.
//! - [`store`]: the key-value state machine with exactly-once client sessions, generic over the
//!   response a protocol saves for a retried request.
//! - [`ring`]: a consistent-hashing ring with virtual nodes, and consistent hashing with
//!   bounded loads: where a key lives (a shard group) or goes (a backend).
//! - [`workload`]: the key-value workload (uniform or hot-key keys, the key count from the
//!   options) and its history encoding for the checkers' key-value model.
//! - [`bank`]: the sharded bank that the transaction protocols serve: accounts and list keys
//!   over shards, Jepsen's bank operations and Elle's list-append transactions, the workload
//!   mixing them, and their history encoding.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bank;
pub mod kv;
pub mod ring;
pub mod store;
pub mod workload;

pub use kv::{KvOp, KvOutcome, KvWrite};
pub use ring::Ring;
pub use store::{Applied, KvStore, Sessions};
pub use workload::KvWorkload;
