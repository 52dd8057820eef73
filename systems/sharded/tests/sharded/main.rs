//! Every test of the sharded store, in one binary (`cargo test -p faultline-sharded`); each
//! module is one topic.
//!
//! - `machine`: the shard and configuration state machines, command by command.
//! - `handlers`: one router or configuration node stepped by hand, exact command vectors.
//! - `migration`: scripted migrations on the kit's cluster (data and sessions travel).
//! - `bugs`: one scripted scenario per planted bug, passing without it and failing with it.
//! - `scenarios`: seed sweeps through the harness (simulation builds only), one fault family
//!   at a time.
//! - `conformance` (written by `conformance_tests!`, simulation builds only): the swarm sweep
//!   with every fault kind, determinism, the pinned trace of seed 7, each planted bug within
//!   its budget, the fuzz corpus.
//! - `cluster`: the store on the kit's scripted cluster (observer, client calls).

mod bugs;
mod cluster;
mod handlers;
mod machine;
mod migration;
#[cfg(madsim)]
mod scenarios;

// The definition of done for a system, in one call: the swarm sweep with every fault kind
// fired, determinism, the pinned trace, each planted bug within its budget, the fuzz corpus.
#[cfg(madsim)]
use faultline_sharded::ShardedSystem;
#[cfg(madsim)]
faultline_sim::conformance_tests! {
    system: ShardedSystem,
    swarm_seeds: 400,
    determinism_seeds: 10,
    pinned_seed: 7,
    bugs: {
        NoEpochCheck: 40,
        ImportAckLostBothServe: 200,
        ServeBeforeHandoffApplied: 100,
        ClientsDisagreeOnVnodes: 20,
    },
}
