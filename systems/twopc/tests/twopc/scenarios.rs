//! Two-phase commit scenarios through the harness, one fault family at a time, over many seeds.
//!
//! Goal: every read of the bank sums to the total, the list-append transactions are strict
//! serializable, and AC1 to AC3 hold, whatever the faults; and the cluster settles after the
//! heal (nothing in doubt, every commit acknowledged). Method: seed sweeps of the simulated
//! cluster, each run checked by the system's checks.

use faultline_sim::check::{check, Scenario};
use faultline_sim::options::{PartitionKind, Preset, SimOptions};
use faultline_twopc::TwoPcSystem;

#[test]
fn twopc_without_faults_commits_and_serves_every_client() {
    check::<TwoPcSystem>(Scenario::new("twopc: no faults").preset(Preset::Nofault)).seeds(5).run();
}

#[test]
fn twopc_survives_crashes_of_the_coordinator_and_the_participants() {
    check::<TwoPcSystem>(Scenario::new("twopc: crashes only").preset(Preset::Lite))
        .expect_faults(&["process.crash", "kind.coordinator.process.crash", "kind.participant.process.crash"])
        .expect_reached(&[
            "twopc.coordinator_resends_commits_after_a_crash",
            "twopc.participant_recovers_in_doubt",
        ])
        .seeds(10)
        .run();
}

fn partitions_only(o: &mut SimOptions) {
    *o = SimOptions { nodes: o.nodes, clients: o.clients, ..SimOptions::default() };
    o.partition.kinds = PartitionKind::ALL.to_vec();
    o.partition.interval_ms_mean = 800;
}

#[test]
fn twopc_partitions_block_participants_in_doubt_until_they_heal() {
    check::<TwoPcSystem>(Scenario::new("twopc: partitions only").options(partitions_only))
        .expect_faults(&["partition.isolate_one", "partition.majority_minority", "partition.bridge"])
        .expect_reached(&[
            "twopc.in_doubt_asks_peers",
            "twopc.peer_in_doubt_too",
            "twopc.outcome_learned_from_a_peer",
        ])
        .seeds(15)
        .run();
}
