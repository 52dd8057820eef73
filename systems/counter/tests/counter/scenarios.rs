//! Counter scenarios through the harness: the distributed counter under each fault profile,
//! over many seeds.
//!
//! Goal: the counter never loses or double-applies an acknowledged increment and never serves a
//! stale read, whatever the faults; and each planted bug is found. Method: seed sweeps of the
//! simulated cluster, each run checked by exact bounds on every read.

use faultline_counter::Counter;
use faultline_sim::check::{check, pinned_trace, Scenario};
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

#[test]
fn counter_survives_swarm_faults() {
    check::<Counter>(Scenario::new("counter: swarm")).seeds(20).run();
}

/// Each planted bug must be found within its seed budget, and its failing seed must fail the
/// same way (same trace hash) when run again.
fn finds(bug: &str, seeds: u64) {
    let sweep = check::<Counter>(Scenario::new(&format!("counter: bug {bug}")).bug(bug))
        .seeds(seeds)
        .run_expecting_failure();
    let (seed, class, message) = &sweep.failures[0];
    println!("{bug}: found at seed {seed} after {} seeds ({}): {message}", sweep.seeds.len(), class.name());
}

#[test]
fn counter_bug_ack_before_durable_is_found() {
    finds("AckBeforeDurable", 200);
}

#[test]
fn counter_bug_no_dedup_is_found() {
    finds("NoDedup", 200);
}

#[test]
fn counter_bug_read_from_backup_is_found() {
    finds("ReadFromBackup", 200);
}

#[test]
fn counter_runs_are_deterministic() {
    check::<Counter>(Scenario::new("counter: determinism")).seeds(40).assert_deterministic();
    check::<Counter>(Scenario::new("counter: determinism with a bug").bug("NoDedup"))
        .seeds(10)
        .assert_deterministic();
}

/// Pins the whole trace of one fixed seed: an unintended change to the runtime, the fault
/// schedule or the protocol shows up as a snapshot diff in review.
#[test]
fn counter_trace_of_seed_7_is_pinned() {
    let text = pinned_trace::<Counter>(&Scenario::new("counter: pinned trace"), 7);
    insta::assert_snapshot!(text);
}
