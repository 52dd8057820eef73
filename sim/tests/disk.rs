//! The disk model's fault mechanisms, one spec-named test each, and the property that
//! `RecordLog` detects every corruption the model can make.
//!
//! Method: drive a `SimDisk` directly (no runtime: the model is synchronous) with one fault
//! switched on at a time, and assert what a reader sees afterwards. The property tests run
//! random appends, syncs, truncations, crashes and corruptions against a `RecordLog` on a
//! `SimDisk` and compare recovery with an oracle of the log's logical states.

mod disk {
    mod faults;
    mod record_log;
    mod semantics;
}

use faultline_sim::disk::{Corruption, DiskFaults, SimDisk};
use faultline_sim::rng;

/// A disk with these faults, drawing from a stream of `seed`.
pub fn sim_disk(faults: DiskFaults, corruption: Corruption, seed: u64) -> SimDisk {
    faults.validate().expect("test options are valid");
    SimDisk::new(faults, corruption, rng::derive(seed, "disk", 0))
}

/// Property-test cases: `default`, or `PROPTEST_CASES` when set (for longer local runs).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
