//! Every test of the counter, in one binary (`cargo test --test counter`, or `cargo test -p
//! faultline-counter`); each module is one topic.
//!
//! - `handlers`: one node stepped by hand, exact command vectors (`TestNode`).
//! - `scripted`: recovery and exactly-once on the kit's scripted cluster.
//! - `scenarios`: seed sweeps through the harness (simulation builds only), one fault profile
//!   at a time.
//! - `conformance` (written by `conformance_tests!`, simulation builds only): the swarm sweep
//!   with every fault kind, determinism, the pinned trace of seed 7, each planted bug within
//!   its budget, the fuzz corpus.

mod handlers;
// Simulation only: these drive the simulator, which a real-mode build does not have.
#[cfg(madsim)]
mod scenarios;
mod scripted;

// The definition of done for a system, in one call: the swarm sweep with every fault kind
// fired, determinism, the pinned trace, each planted bug within its budget, the fuzz corpus.
#[cfg(madsim)]
use faultline_counter::Counter;
#[cfg(madsim)]
faultline_sim::conformance_tests! {
    system: Counter,
    swarm_seeds: 1000,
    determinism_seeds: 40,
    pinned_seed: 7,
    bugs: { AckBeforeDurable: 200, NoDedup: 200, ReadFromBackup: 200 },
}
