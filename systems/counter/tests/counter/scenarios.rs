//! Counter scenarios through the harness: the distributed counter under each fault profile,
//! over many seeds.
//!
//! Goal: the counter never loses or double-applies an acknowledged increment and never serves a
//! stale read, whatever the faults; and each planted bug is found. Method: seed sweeps of the
//! simulated cluster, each run checked by exact bounds on every read.

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
