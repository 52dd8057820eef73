//! Protocol invariants: properties of the node states a run observed, one module per protocol.
//!
//! A history checker (linearizability, transactions) sees only what clients were told; these
//! checkers see inside the nodes. The protocol crate turns its state into plain observation
//! records after each step, and each property is an incremental checker fed those records in
//! the order they were taken, so a long run never needs them all in memory at once.
//!
//! Modules:
//! - [`raft`]: election safety, log matching, leader completeness, state machine safety and
//!   leader append-only (Ongaro and Ousterhout, 2014, Figure 3).

pub mod raft;
