//! faultline-sim: the runtime protocols compile against, and the harness that drives it.
//!
//! A protocol is a deterministic state machine ([`Node`]) that reads time, randomness and its
//! disk through a [`Context`] and emits commands; one generic async shell runs every protocol,
//! over madsim's simulated network and time (`--cfg madsim`) or over TCP and real files.
//!
//! Modules:
//! - [`node`]: the protocol API: `Node`, `Context`, `Command`, ids and the node's clock reading.
//! - [`disk`]: the `Storage` trait a node's durable state goes through, its in-memory,
//!   simulated (faulty) and real backends, and `RecordLog`, a checksummed write-ahead log on top.
//! - [`clock`]: each node's own clock (offset, linear drift, steps, periodic wobble) and the
//!   conversion of its timers to simulated time.
//! - [`buggify`]: FoundationDB-style two-level `buggify!` sites.
//! - [`rng`]: the named, version-stable PRNG and seed derivation every random draw uses.
//! - [`testing`]: drive one node by hand in unit tests and assert the exact commands it emits.
//! - [`validate`]: the typed error and checks shared by the plain-data fault options.

pub mod buggify;
pub mod clock;
pub mod disk;
pub mod node;
pub mod rng;
pub mod testing;
pub mod validate;

pub use disk::{DiskError, Storage};
pub use node::{ClientId, Command, Context, Message, Node, NodeId, RequestId, Time};
