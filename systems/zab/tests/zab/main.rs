//! Zab tests, one binary: conformance (the definition of done, in one call), scenarios over
//! seeds named like specifications, handler tests with exact command vectors, and a targeted
//! test per planted bug.

// Simulation only: these drive the simulator, which a real-mode build does not have.
#![cfg(madsim)]

mod bugs;
mod handlers;
mod scenarios;
mod support;

use faultline_zab::ZabSystem;

faultline_sim::conformance_tests! {
    system: ZabSystem,
    swarm_seeds: 600,
    determinism_seeds: 10,
    pinned_seed: 7,
    bugs: {
        AckNewleaderBeforePersist: 400,
        EpochUpdatedBeforeWrite: 100,
        SnapSyncInMemoryOnly: 400,
        SkipSynchronization: 200,
        CommitBeforeQuorumAck: 100,
        EphemeralsSurviveExpiry: 50,
    },
}
