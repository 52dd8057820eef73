//! faultline-sim: the runtime protocols compile against, and the harness that drives it.
//!
//! A protocol is a deterministic state machine ([`Node`]) that reads time, randomness and its
//! disk through a [`Context`] and emits commands; one generic async shell runs every protocol,
//! on madsim's simulated time and scheduler (`--cfg madsim`) or over TCP and real files.
//!
//! Modules:
//! - [`node`]: the protocol API: `Node`, `Context`, `Command`, ids and the node's clock reading.
//! - [`disk`]: the `Storage` trait a node's durable state goes through, its in-memory,
//!   simulated (faulty) and real backends, `RecordLog` (a checksummed write-ahead log) with
//!   `TypedLog` (its serde records) on top, `SealedFile` (one checksummed value replaced whole),
//!   and `DiskError::requires_halt`, the halt policy every system follows.
//! - [`clock`]: each node's own clock (offset, linear drift, steps, periodic wobble) and the
//!   conversion of its timers to simulated time.
//! - [`buggify`](mod@buggify): FoundationDB-style two-level `buggify!` sites.
//! - [`bugs`]: the bug zoo, written once: `bug_zoo!` declares a system's planted bugs.
//! - [`events`]: a system's own events, counted with the moment (and again under faults).
//! - [`rng`]: the named, version-stable PRNG and seed derivation every random draw uses.
//! - [`testing`]: the test kit: one node by hand with exact command vectors (`TestNode`), a
//!   scripted cluster for scenario tests (`Cluster`), and seeded faults for it (`Nemesis`).
//! - [`codec`]: serde values in checksummed frames; [`wire`]: what the frames carry.
//! - [`options`]: `SimOptions`, plain data with presets (`nofault`, `lite`, `swarm`).
//! - [`layout`]: a system's nodes as groups of kinds (servers, a coordinator, client-side
//!   nodes...) and which faults may hit each kind.
//! - [`schedule`]: the nemesis's fault schedule, planned from the seed as plain data.
//! - [`shell`]: the transport-independent core of the generic shell (one node, its timers, a step).
//! - [`net`]: the network fault layer (partitions, loss, delay, duplication, corruption).
//! - [`faults`]: the catalogue of fault kinds and their counters; [`stats`]: the counters.
//! - [`system`]: the `System` trait that binds a protocol to a workload and its checks.
//! - [`trace`]: the trace hash that makes determinism testable.
//! - [`spec`]: `RunSpec`, everything that defines a run; [`report`]: what a run produced.
//! - [`shrink`]: reduce a failing run to a smaller one that fails the same way.
//! - [`timeline`]: a run's fault schedule as bands and lines for the HTML timeline.
//! - [`attempts`]: how a client retries an operation and what it records when it gives up.
//! - `real` (real-mode builds): nodes as processes over TCP, and the cluster command.
//! - `harness` (simulation builds): one seed becomes a whole run.
//! - `check` (simulation builds): the test API, `check::<S>(scenario).seeds(n).run()`.
//! - `conformance` (simulation builds): `conformance_tests!`, every system's definition of done
//!   as tests written in one call.
//! - `fuzzing` (simulation builds): the fuzz body shared by every system.
//! - [`validate`]: the typed error and checks shared by the plain-data fault options.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod attempts;
pub mod buggify;
pub mod bugs;
#[cfg(madsim)]
pub mod check;
pub mod clock;
pub mod codec;
#[cfg(madsim)]
pub mod conformance;
pub mod disk;
pub mod events;
pub mod faults;
#[cfg(madsim)]
pub mod fuzzing;
#[cfg(madsim)]
pub mod harness;
pub mod layout;
pub mod net;
pub mod node;
pub mod options;
#[cfg(not(madsim))]
pub mod real;
pub mod report;
pub mod rng;
pub mod schedule;
pub mod shell;
pub mod shrink;
pub mod spec;
pub mod stats;
pub mod system;
pub mod testing;
pub mod timeline;
pub mod trace;
pub mod validate;
pub mod wire;

pub use disk::{DiskError, Storage};
pub use layout::{FaultPermissions, Layout, Role};
pub use node::{ClientId, Command, Context, Message, Node, NodeId, RequestId, Time};
