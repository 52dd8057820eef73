//! Multi-Paxos scenarios through the harness: the replicated key-value store under one fault
//! family at a time, over many seeds, named like specs.
//!
//! Goal: every run's client history is linearizable and Paxos's properties (agreement,
//! stability, validity, promise monotonic, unique proposals, one leader per ballot, agreement
//! on the applied prefix) hold on every step observed, whatever the scenario's faults; the
//! cluster serves every client again after the heal. Method: seed sweeps of the simulated
//! cluster through the check API. Each scenario names the counters it is about and fails if
//! they never fired, so a scenario cannot pass by not doing what its name says.

use faultline_paxos::PaxosSystem;
use faultline_sim::check::{check, Scenario};
use faultline_sim::options::{PartitionKind, SimOptions};

#[test]
fn paxos_partitions_cut_the_leader_off_and_a_new_ballot_takes_over() {
    let scenario = Scenario::new("paxos: partition 2-1 isolates one node").options(|o| {
        *o = SimOptions::quiet(3);
        o.with_partitions(&[PartitionKind::IsolateOne, PartitionKind::MajorityMinority]);
    });
    check::<PaxosSystem>(scenario)
        .expect_faults(&["partition.isolate_one", "partition.majority_minority", "paxos.leader_changes"])
        .seeds(30)
        .run();
}

#[test]
fn paxos_leader_crashes_start_phase_1_and_failed_syncs_lose_only_unanswered_state() {
    // A step is atomic in the simulator, so a crash alone never finds an unsynced batch; a
    // failed sync does lose it, and the node halts and recovers from its marks.
    let scenario = Scenario::new("paxos: crashes and failed syncs").options(|o| {
        *o = SimOptions::quiet(3);
        o.disk.faults.sync_error_probability = 0.01;
        o.process.crash_interval_ms_mean = 1_500;
        o.process.restart_delay_ms_min = 100;
        o.process.restart_delay_ms_max = 800;
    });
    check::<PaxosSystem>(scenario)
        .expect_faults(&["disk.fsync_errors", "process.crash", "paxos.phase1_rounds"])
        .seeds(30)
        .run();
}

#[test]
fn paxos_a_node_whose_disk_is_wiped_rebuilds_before_it_votes() {
    // Paxos Made Live 5.1: a replica with an empty disk answers no prepare and no accept until
    // a leader above every promise it can have made has chosen what its phase 1 adopted.
    let scenario = Scenario::new("paxos: wiped disks").options(|o| {
        *o = SimOptions::quiet(3);
        o.disk.wipe_interval_ms_mean = 1_500;
        o.process.crash_interval_ms_mean = 2_000;
    });
    check::<PaxosSystem>(scenario)
        .expect_faults(&["disk.wiped", "paxos.rebuilds", "paxos.leader_changes"])
        .seeds(30)
        .run();
}

#[test]
fn paxos_disk_corruption_makes_a_node_rebuild_from_its_peers() {
    let scenario = Scenario::new("paxos: bit flips at rest").options(|o| {
        *o = SimOptions::quiet(3);
        o.disk.bitflip_interval_ms_mean = 300;
        o.process.crash_interval_ms_mean = 1_500;
    });
    check::<PaxosSystem>(scenario)
        .expect_faults(&["disk.bitflips_at_rest", "process.crash", "paxos.rebuilds"])
        .seeds(30)
        .run();
}

#[test]
fn paxos_lagging_replicas_catch_up_from_snapshots_across_partitions() {
    let scenario = Scenario::new("paxos: snapshot install during partition").options(|o| {
        *o = SimOptions::quiet(3);
        o.workload.ops_per_client = 60;
        o.with_partitions(&[PartitionKind::IsolateOne]);
    });
    check::<PaxosSystem>(scenario)
        .expect_faults(&["partition.isolate_one", "paxos.catch_ups", "paxos.snapshots_under_faults"])
        .seeds(30)
        .run();
}

#[test]
fn paxos_clock_skew_drift_and_steps_keep_reads_linearizable() {
    // Reads are confirmed by a quorum round, not by a lease: clocks can delay them only.
    let scenario = Scenario::new("paxos: clock skew with reads").options(|o| {
        *o = SimOptions::quiet(3);
        o.with_clock_skew();
    });
    check::<PaxosSystem>(scenario)
        .expect_faults(&["clock.offset_clocks", "clock.drifting_clocks", "clock.steps_taken"])
        .seeds(30)
        .run();
}

#[test]
fn paxos_duplicated_and_reordered_messages_change_nothing() {
    let scenario = Scenario::new("paxos: duplicated and reordered messages").options(|o| {
        *o = SimOptions::quiet(5);
        o.with_duplicates_and_reordering();
    });
    check::<PaxosSystem>(scenario).expect_faults(&["net.duplicate", "net.reorder"]).seeds(30).run();
}
