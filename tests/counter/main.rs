//! Counter scenarios: the distributed counter under each fault profile, over many seeds.
//!
//! Goal: the counter never loses or double-applies an acknowledged increment and never serves a
//! stale read, whatever the faults; and each planted bug is found. Method: seed sweeps of the
//! simulated cluster, each run checked by exact bounds on every read.

// Simulation only: these drive the simulator, which a real-mode build does not have.
#![cfg(madsim)]

use faultline_counter::Counter;
use faultline_sim::check::{check, Scenario};
use faultline_sim::options::Preset;

#[test]
fn counter_without_faults_serves_every_client() {
    check::<Counter>(Scenario::new("counter: no faults").preset(Preset::Nofault)).seeds(5).run();
}

#[test]
fn counter_survives_crashes() {
    check::<Counter>(Scenario::new("counter: crashes only").preset(Preset::Lite))
        .expect_faults(&["process.crash"])
        .seeds(10)
        .run();
}

faultline_sim::conformance_tests! {
    system: Counter,
    swarm_seeds: 1000,
    determinism_seeds: 40,
    pinned_seed: 7,
    bugs: { AckBeforeDurable: 200, NoDedup: 200, ReadFromBackup: 200 },
}
