//! Every test of the counter, in one binary (`cargo test --test counter`, or `cargo test -p
//! faultline-counter`); each module is one topic.
//!
//! - `handlers`: one node stepped by hand, exact command vectors (`TestNode`).
//! - `scripted`: recovery and exactly-once on the kit's scripted cluster.
//! - `scenarios`: seed sweeps through the harness (simulation builds only): fault profiles,
//!   planted bugs found within their budgets, determinism, the pinned trace of seed 7.

mod handlers;
// Simulation only: these drive the simulator, which a real-mode build does not have.
#[cfg(madsim)]
mod scenarios;
mod scripted;
