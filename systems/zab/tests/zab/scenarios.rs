//! Zab scenarios: the coordination service under one fault family at a time, over many seeds,
//! named like specs.
//!
//! Goal: every run's writes and linearizable reads are linearizable (the `znode` model), local
//! reads keep session order and show committed states, Zab's invariants hold on every observed
//! state, and the ensemble serves every client again after the heal. Method: seed sweeps of the
//! simulated ensemble through the check API. Each scenario names the fault counters and events
//! it is about, and fails if they never happened, so it cannot pass by not doing what its name
//! says.

use faultline_sim::check::{check, Scenario};
use faultline_sim::options::{PartitionKind, SimOptions};
use faultline_zab::ZabSystem;

#[test]
fn partition_2_1_cuts_one_server_off_and_the_majority_carries_on() {
    let scenario = Scenario::new("zab: partition 2-1 isolates one server").options(|o| {
        *o = SimOptions::quiet(3);
        o.with_partitions(&[PartitionKind::IsolateOne, PartitionKind::MajorityMinority]);
    });
    check::<ZabSystem>(scenario)
        .expect_faults(&[
            "partition.isolate_one",
            "partition.majority_minority",
            "zab.elections_under_faults",
        ])
        .seeds(30)
        .run();
}

#[test]
fn leader_crashes_start_new_epochs_and_lose_nothing_committed() {
    // A leader that dies with proposals on some followers only: the next epoch's leader keeps
    // them if it holds them and has the others TRUNC them away otherwise (the restarted old
    // leader, mostly); whatever was committed survives.
    let scenario = Scenario::new("zab: the leader crashes mid-broadcast").options(|o| {
        *o = SimOptions::quiet(5);
        o.process.crash_interval_ms_mean = 800;
        o.process.leader_crash_probability = 1.0;
        o.process.restart_delay_ms_min = 100;
        o.process.restart_delay_ms_max = 600;
    });
    check::<ZabSystem>(scenario)
        .expect_faults(&["process.crash_leader", "zab.epochs_under_faults", "zab.diff_syncs_under_faults"])
        .seeds(40)
        .run();
}

#[test]
fn a_lagging_server_is_brought_back_with_a_snapshot() {
    // One server cut off while the others commit more than their logs keep: SNAP.
    let scenario = Scenario::new("zab: a lagging server gets a snapshot").options(|o| {
        *o = SimOptions::quiet(3);
        o.workload.ops_per_client = 80;
        o.workload.think_ms_max = 60;
        o.partition.kinds = vec![PartitionKind::IsolateOne];
        o.partition.interval_ms_mean = 500;
        o.partition.hold_ms_min = 1_500;
        o.partition.hold_ms_max = 3_000;
    });
    check::<ZabSystem>(scenario).expect_faults(&["partition.isolate_one", "zab.snap_syncs"]).seeds(20).run();
}

#[test]
fn abandoned_sessions_expire_and_their_ephemeral_nodes_go_everywhere() {
    // Clients give sessions up; the leader expires them with a transaction; linearizable reads
    // of their ephemeral nodes after the `expire` completes must find nothing.
    let scenario = Scenario::new("zab: sessions expire under partitions").options(|o| {
        *o = SimOptions::quiet(5);
        o.workload.ops_per_client = 50;
        o.with_partitions(&[PartitionKind::MajorityMinority, PartitionKind::Bridge]);
    });
    check::<ZabSystem>(scenario)
        .expect_faults(&["partition.bridge", "zab.session_expiries_under_faults"])
        .seeds(20)
        .run();
}

#[test]
fn disk_corruption_makes_a_server_repair_before_it_counts_again() {
    let scenario = Scenario::new("zab: disk corruption is repaired by synchronization").options(|o| {
        *o = SimOptions::quiet(3);
        o.disk.bitflip_interval_ms_mean = 300;
        o.process.crash_interval_ms_mean = 1_000;
    });
    check::<ZabSystem>(scenario)
        .expect_faults(&["disk.bitflips_at_rest", "process.crash", "zab.repairs"])
        .seeds(40)
        .run();
}

#[test]
fn a_server_restarted_on_a_wiped_disk_observes_and_the_quorum_carries_on() {
    // A wiped server forgot the epochs it promised and the transactions it acknowledged: it
    // must count in no quorum again (it observes), and the others keep every commit.
    let scenario = Scenario::new("zab: a disk is wiped").options(|o| {
        *o = SimOptions::quiet(5);
        o.disk.wipe_interval_ms_mean = 1_500;
    });
    check::<ZabSystem>(scenario)
        .expect_faults(&["disk.wiped", "zab.diff_syncs_under_faults"])
        .expect_reached(&["zab.a_server_restarts_on_a_lost_disk"])
        .seeds(20)
        .run();
}

#[test]
fn failed_syncs_and_full_disks_lose_nothing_acknowledged() {
    let scenario = Scenario::new("zab: failed fsyncs and full disks").options(|o| {
        *o = SimOptions::quiet(3);
        o.disk.faults.sync_error_probability = 0.01;
        o.disk.full_interval_ms_mean = 1_000;
        o.disk.full_ms_min = 100;
        o.disk.full_ms_max = 600;
    });
    check::<ZabSystem>(scenario)
        .expect_faults(&["disk.fsync_errors", "disk.full_rejections"])
        .seeds(30)
        .run();
}

#[test]
fn clock_skew_drift_and_steps_keep_reads_linearizable() {
    // Linearizable reads confirm leadership with a heartbeat round, never a lease; sessions
    // expire on the leader's clock, which may only make them expire early.
    let scenario = Scenario::new("zab: clock skew with reads").options(|o| {
        *o = SimOptions::quiet(3);
        o.with_clock_skew();
    });
    check::<ZabSystem>(scenario)
        .expect_faults(&["clock.offset_clocks", "clock.drifting_clocks", "clock.steps_taken"])
        .seeds(30)
        .run();
}

#[test]
fn duplicated_and_reordered_messages_change_nothing() {
    // Zab assumes FIFO channels (TCP); here proposals name what they follow and NEWLEADERs are
    // numbered, so duplicates and overtaking messages are recognized.
    let scenario = Scenario::new("zab: duplicated and reordered messages").options(|o| {
        *o = SimOptions::quiet(3);
        o.with_duplicates_and_reordering();
    });
    check::<ZabSystem>(scenario).expect_faults(&["net.duplicate", "net.reorder"]).seeds(30).run();
}
