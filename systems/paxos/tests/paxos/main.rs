//! Every test of Multi-Paxos, in one binary (`cargo test --test paxos`, or `cargo test -p
//! faultline-paxos`); each module is one topic.
//!
//! - `handlers`: one node stepped by hand, exact command vectors (`TestNode`).
//! - `scripted`: scenarios on the kit's scripted cluster (phase 1 after a leader's crash, catch-up
//!   and snapshots, quorum reads, a lost disk rebuilding), each citing what it checks.
//! - `bugs`: one scripted scenario per planted bug, passing without it and failing with it.
//! - `scenarios`: seed sweeps through the harness (simulation builds only), one fault family
//!   at a time.
//! - `conformance` (written by `conformance_tests!`, simulation builds only): the swarm sweep
//!   with every fault kind, determinism, the pinned trace of seed 7, each planted bug within
//!   its budget, the fuzz corpus.
//! - `cluster`: Paxos's layer over the kit's scripted cluster (the system's checks after every
//!   step, the leader, client calls).

mod cluster;

mod bugs;
mod handlers;
// Simulation only: these drive the simulator, which a real-mode build does not have.
#[cfg(madsim)]
mod scenarios;
mod scripted;

#[cfg(madsim)]
use faultline_paxos::system::PaxosSystem;
#[cfg(madsim)]
faultline_sim::conformance_tests! {
    system: PaxosSystem,
    swarm_seeds: 600,
    determinism_seeds: 10,
    pinned_seed: 7,
    bugs: {
        AcceptorRepliesBeforeSync: 20,
        IgnoreAcceptedInPhase1: 40,
        StaleLeaderRead: 150,
        BallotReusedAfterRestart: 300,
        StalePromiseCounted: 60,
        WipedAcceptorVotes: 60,
    },
}
