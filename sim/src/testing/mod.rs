//! The test kit: drive a protocol by hand, one node or a whole cluster, with no runtime.
//!
//! Every system tests itself at three levels, and this module holds the first two (the third
//! is the harness's seed sweeps, `crate::check`):
//!
//! - handler tests: a [`TestNode`] takes one input and the test compares the exact command
//!   vector it emits (openraft's `engine/tests`);
//! - scenario tests: a [`Cluster`] of nodes on a scripted network, where the test decides every
//!   delivery, drop, duplicate, partition, crash, pause and clock tick, and an [`Observer`]
//!   feeds the system's invariant checkers after every step; a seeded [`Nemesis`] turns it into
//!   a randomized test that needs no harness.
//!
//! Buggify is off throughout: scripts are exact, so `buggify!` sites and crash points never
//! fire. A system adds only what is its own (how to find its leader, how a client call retries)
//! as a thin layer in its test crate.
//!
//! Modules:
//! - `node`: [`TestNode`], one node stepped by hand.
//! - `disk`: [`TestDisk`], a `MemDisk` whose syncs can be made to fail and which can be filled.
//! - `cluster`: [`Cluster`] itself: nodes, steps, crashes, pauses, clocks, timers, clients.
//! - `network`: the cluster's message queue and links.
//! - `nemesis`: [`Nemesis`], seeded random faults for a cluster.

mod cluster;
mod disk;
mod nemesis;
mod network;
mod node;

pub use cluster::{Cluster, Envelope, IntoNodeId, Observer, Reply};
pub use disk::TestDisk;
pub use nemesis::{Fault, Nemesis, NemesisRates};
pub use node::TestNode;

#[cfg(test)]
mod tests;
