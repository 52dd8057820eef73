//! Sharded-store scenarios through the harness, one fault profile at a time.

use faultline_sharded::ShardedSystem;
use faultline_sim::check::{check, Scenario};
use faultline_sim::options::Preset;

#[test]
fn sharded_without_faults_serves_every_client() {
    check::<ShardedSystem>(Scenario::new("sharded: no faults").preset(Preset::Nofault)).seeds(5).run();
}
