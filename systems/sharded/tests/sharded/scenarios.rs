//! Sharded-store scenarios through the harness, one fault family at a time: the history stays
//! linearizable across migrations, no key is served by two groups in one epoch, and every
//! migration completes after the heal.

use faultline_sharded::ShardedSystem;
use faultline_sim::check::{check, Scenario};
use faultline_sim::options::{PartitionKind, Preset};

#[test]
fn sharded_without_faults_serves_every_client_across_migrations() {
    let sweep =
        check::<ShardedSystem>(Scenario::new("sharded: no faults").preset(Preset::Nofault)).seeds(8).run();
    assert!(sweep.counters.get("sharded.migrations") > 0, "no migration in 8 seeds");
}

#[test]
fn sharded_survives_crashes_of_every_kind_of_node() {
    check::<ShardedSystem>(Scenario::new("sharded: crashes only").preset(Preset::Lite))
        .expect_faults(&["process.crash"])
        .seeds(12)
        .run();
}

#[test]
fn sharded_survives_partitions_between_groups_and_routers() {
    let scenario = Scenario::new("sharded: partitions").options(|o| {
        o.partition.kinds = PartitionKind::ALL.to_vec();
        o.partition.interval_ms_mean = 800;
    });
    check::<ShardedSystem>(scenario)
        .expect_faults(&["partition.symmetric", "partition.one_way"])
        .seeds(12)
        .run();
}

#[test]
fn sharded_survives_lossy_duplicating_reordering_networks() {
    let scenario = Scenario::new("sharded: lossy network").options(|o| {
        o.net.loss_probability = 0.05;
        o.net.duplicate_probability = 0.05;
        o.net.reorder_probability = 0.1;
        o.net.reorder_delay_ms_max = 50;
    });
    check::<ShardedSystem>(scenario)
        .expect_faults(&["net.loss", "net.duplicate", "net.reorder"])
        .seeds(12)
        .run();
}
