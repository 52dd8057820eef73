//! Every test of the counter, in one binary (`cargo test --test counter`, or `cargo test -p
//! faultline-counter`); each module is one topic.
//!
//! - `scenarios`: seed sweeps through the harness (simulation builds only): fault profiles,
//!   planted bugs found within their budgets, determinism, the pinned trace of seed 7.

// Simulation only: these drive the simulator, which a real-mode build does not have.
#[cfg(madsim)]
mod scenarios;
