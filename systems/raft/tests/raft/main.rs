//! Every test of Raft, in one binary (`cargo test --test raft`, or `cargo test -p
//! faultline-raft`); each module is one topic.
//!
//! - `handlers`: one node stepped by hand, exact command vectors (`TestNode`).
//! - `disk_faults`: a failed sync halts, a full disk acknowledges nothing.
//! - `election`, `replication`, `reads`, `sessions`, `snapshots`, `membership`, `recovery`:
//!   scripted scenarios on the kit's cluster, each citing the section it checks.
//! - `bugs`: one scripted scenario per planted bug, passing without it and failing with it.
//! - `chaos`: the kit's seeded nemesis against the scripted cluster, over many seeds.
//! - `scenarios`: seed sweeps through the harness (simulation builds only): fault families,
//!   planted bugs found within their budgets, determinism, the pinned trace of seed 7.
//! - `cluster`: Raft's layer over the kit's scripted cluster (invariants, leader, client calls).

mod cluster;

mod bugs;
mod chaos;
mod disk_faults;
mod election;
mod handlers;
mod membership;
mod reads;
mod recovery;
mod replication;
// Simulation only: these drive the simulator, which a real-mode build does not have.
#[cfg(madsim)]
mod scenarios;
mod sessions;
mod snapshots;
