//! Every test of two-phase commit, in one binary (`cargo test --test twopc`, or `cargo test -p
//! faultline-twopc`); each module is one topic.
//!
//! - `handlers`: one node stepped by hand, exact command vectors (`TestNode`).
//! - `scripted`: blocking, cooperative termination and recovery on the kit's scripted cluster.
//! - `bugs`: one scripted scenario per planted bug, passing without it and failing with it.
//! - `scenarios`: seed sweeps through the harness (simulation builds only), one fault family at
//!   a time.
//! - `conformance` (written by `conformance_tests!`, simulation builds only): the swarm sweep
//!   with every fault kind the layout permits, determinism, the pinned trace of seed 7, each
//!   planted bug within its budget, the fuzz corpus.
//! - `cluster`: two-phase commit's layer over the kit's scripted cluster (the invariants fed
//!   every step, client calls).

mod cluster;

mod bugs;
mod handlers;
// Simulation only: these drive the simulator, which a real-mode build does not have.
#[cfg(madsim)]
mod scenarios;
mod scripted;

// The definition of done for a system, in one call: the swarm sweep with every fault kind
// fired, determinism, the pinned trace, each planted bug within its budget, the fuzz corpus.
#[cfg(madsim)]
use faultline_twopc::TwoPcSystem;
#[cfg(madsim)]
faultline_sim::conformance_tests! {
    system: TwoPcSystem,
    swarm_seeds: 300,
    determinism_seeds: 10,
    pinned_seed: 7,
    bugs: {
        CommitBeforeDecisionDurable: 100,
        PreparedNotDurable: 100,
        HeuristicAbortInDoubt: 40,
        CooperativeTerminationWrong: 100,
        DecisionForgottenEarly: 40,
    },
}
