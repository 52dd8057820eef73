//! Disk fault options, the counters of faults that fired, and where corruption may be placed.
//!
//! Two kinds of disk fault differ in what a correct cluster can survive:
//!
//! - faults that touch only **unsynced** data (lost or torn unsynced writes at a crash, fsync
//!   errors, a full disk, slow I/O) lose nothing a correct protocol acknowledged, so any node may
//!   suffer them at any time;
//! - faults that destroy **synced** data (bit flips at rest, bit flips on read, latent sector
//!   errors, a wiped disk) can destroy acknowledged records. A cluster of `n` replicas survives them only if
//!   every record stays intact on a majority. As in TigerBeetle's fault atlas, [`place_corruption`]
//!   chooses, once per run, the one node (in clusters of three or more) whose disk may suffer
//!   them; every other disk is [`Corruption::Forbidden`] and `SimDisk` refuses to corrupt it. No
//!   record can then be corrupt on a majority of any configuration of three or more members, so
//!   a protocol that detects corruption and repairs from its peers always can.
//!
//! The placement is per node rather than per record (TigerBeetle places faults per WAL slot and
//! grid block) because replicas of a log need not store a record at the same offset: a per-node
//! choice holds for every layout. Clusters of one or two nodes get no corruptible disk.

use crate::rng::Rng;
use crate::validate::{self, InvalidOption};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// What a crash keeps of a file's unsynced changes (writes and truncations), in order.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashKeeps {
    /// Every unsynced change is lost: the exact semantics of a power cut with an empty cache.
    #[default]
    Nothing,
    /// A random prefix of the changes survives (ordered write-back, e.g. a journaled file system).
    Prefix,
    /// Each change survives with probability 1/2, independently (unordered write-back), except
    /// that a lost truncation loses every later change of the file too: a file system commits a
    /// truncation before it reuses the freed range, so later writes into it cannot land alone.
    Subset,
    /// Every change survives (a process crash: the operating system still had the data).
    Everything,
    /// Each crash draws one of the four above for each file.
    Any,
}

/// The disk fault options of one run. Plain data: `Default` is a perfect disk.
///
/// The probabilities are drawn by each `SimDisk` from its own seeded stream. Faults the nemesis
/// decides on (bit flips at rest, latent sector errors, full-disk windows) are methods of
/// `SimDisk`, not probabilities here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiskFaults {
    /// What a crash keeps of each file's unsynced changes.
    pub crash_keeps: CrashKeeps,
    /// Per crash and file whose last surviving unsynced change is a write of two bytes or more:
    /// that write is torn at a random byte. Bytes before the tear are written; the rest of the
    /// sector holding the tear is garbage or stale (even odds); the rest of the write is stale.
    pub torn_write_probability: f64,
    /// Per read of a corruptible disk: the copy returned has one bit flipped (the stored data is
    /// intact, so a second read may succeed).
    pub read_bitflip_probability: f64,
    /// Per read of a corruptible disk: one sector of the range read becomes a latent sector
    /// error, and this and every later read of it fail until a write covers it.
    pub read_error_probability: f64,
    /// Per sync: it fails with `SyncFailed` and the file's unsynced changes are lost (as Linux
    /// may drop dirty pages after a failed writeback).
    pub sync_error_probability: f64,
    /// Latency every call adds, microseconds.
    pub io_latency_us: u64,
    /// Latency added per byte read or written, nanoseconds.
    pub io_latency_ns_per_byte: u64,
    /// Latency a sync adds on top, microseconds.
    pub sync_latency_us: u64,
    /// Per call: the call is a slow outlier and adds a latency drawn from the range below.
    pub slow_io_probability: f64,
    /// Shortest latency of a slow outlier, in milliseconds.
    pub slow_io_latency_ms_min: u64,
    /// Longest latency of a slow outlier, in milliseconds.
    pub slow_io_latency_ms_max: u64,
    /// Bytes the disk holds (the current contents of every file); `None` is unlimited.
    pub capacity_bytes: Option<u64>,
    /// The unit of torn writes and latent sector errors, bytes: a positive multiple of 512.
    pub sector_size_bytes: u64,
}

impl Default for DiskFaults {
    fn default() -> Self {
        DiskFaults {
            crash_keeps: CrashKeeps::Nothing,
            torn_write_probability: 0.0,
            read_bitflip_probability: 0.0,
            read_error_probability: 0.0,
            sync_error_probability: 0.0,
            io_latency_us: 0,
            io_latency_ns_per_byte: 0,
            sync_latency_us: 0,
            slow_io_probability: 0.0,
            slow_io_latency_ms_min: 0,
            slow_io_latency_ms_max: 0,
            capacity_bytes: None,
            sector_size_bytes: SECTOR_SIZE_BYTES_DEFAULT,
        }
    }
}

/// The sector size of a default disk, bytes.
pub const SECTOR_SIZE_BYTES_DEFAULT: u64 = 512;

impl DiskFaults {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), InvalidOption> {
        validate::probability("torn_write_probability", self.torn_write_probability)?;
        validate::probability("read_bitflip_probability", self.read_bitflip_probability)?;
        validate::probability("read_error_probability", self.read_error_probability)?;
        validate::probability("sync_error_probability", self.sync_error_probability)?;
        validate::probability("slow_io_probability", self.slow_io_probability)?;
        validate::ordered(
            "slow_io_latency_ms_min",
            self.slow_io_latency_ms_min,
            self.slow_io_latency_ms_max,
        )?;
        // Latencies past an hour per call are a typo, and would overflow sums of many calls.
        let hour_us = 3_600_000_000;
        validate::at_most("io_latency_us", self.io_latency_us, hour_us, "an hour")?;
        validate::at_most("io_latency_ns_per_byte", self.io_latency_ns_per_byte, 1_000_000, "1 ms per byte")?;
        validate::at_most("sync_latency_us", self.sync_latency_us, hour_us, "an hour")?;
        validate::at_most("slow_io_latency_ms_max", self.slow_io_latency_ms_max, hour_us / 1000, "an hour")?;
        let sector = self.sector_size_bytes;
        if sector == 0 || sector % 512 != 0 || sector > 1 << 20 {
            return Err(InvalidOption::new(
                "sector_size_bytes",
                format!("{sector} is not a multiple of 512 up to 1 MiB"),
            ));
        }
        Ok(())
    }

    /// Every knob drawn from `rng` (swarm testing): each fault is on or off for the run, and its
    /// strength is drawn when on. Capacity stays unlimited; full-disk windows are the nemesis's.
    pub fn swarm(rng: &mut Rng) -> DiskFaults {
        let mut maybe = |p_max: f64| if rng.gen_bool(0.5) { rng.gen_range(0.0..p_max) } else { 0.0 };
        let torn_write_probability = maybe(1.0);
        let read_bitflip_probability = maybe(0.01);
        let read_error_probability = maybe(0.01);
        let sync_error_probability = maybe(0.05);
        let slow_io_probability = maybe(0.05);
        let crash_keeps = [CrashKeeps::Nothing, CrashKeeps::Prefix, CrashKeeps::Subset, CrashKeeps::Any]
            [rng.gen_range(0..4)];
        let slow_io_latency_ms_min = rng.gen_range(10..100);
        DiskFaults {
            crash_keeps,
            torn_write_probability,
            read_bitflip_probability,
            read_error_probability,
            sync_error_probability,
            io_latency_us: rng.gen_range(0..200),
            io_latency_ns_per_byte: rng.gen_range(0..4),
            sync_latency_us: rng.gen_range(0..5_000),
            slow_io_probability,
            slow_io_latency_ms_min,
            slow_io_latency_ms_max: slow_io_latency_ms_min + rng.gen_range(0..1_000),
            capacity_bytes: None,
            sector_size_bytes: [512, 4096][rng.gen_range(0..2)],
        }
    }
}

/// Whether a node's disk may suffer faults that destroy synced data. See the module docs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corruption {
    /// The disk may suffer faults that destroy synced data: bit flips at rest and on read, latent
    /// sector errors, a wipe.
    Allowed,
    /// Synced data on this disk stays intact (the default).
    #[default]
    Forbidden,
}

/// Chooses, for a cluster of `nodes`, which disks may suffer corruption: one node, uniformly,
/// when the cluster has three nodes or more; none otherwise. One node is a minority of every
/// configuration of three or more members, so the rule holds even when a protocol's membership
/// changes during the run (a larger corruptible set could become a majority of a smaller
/// configuration).
pub fn place_corruption(nodes: usize, rng: &mut Rng) -> Vec<Corruption> {
    let mut placement = vec![Corruption::Forbidden; nodes];
    if nodes >= 3 {
        placement[rng.gen_range(0..nodes)] = Corruption::Allowed;
    }
    placement
}

/// How often each disk fault actually fired. A fault counts only when it changed something: a
/// crash with nothing unsynced loses nothing, a tear needs an unsynced write to tear.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskFaultCounts {
    /// Unsynced changes (writes, truncations) lost at a crash or by a failed sync.
    pub lost_unsynced_writes: u64,
    /// Unsynced creations, renames and removals undone by a crash.
    pub lost_namespace_changes: u64,
    /// Writes torn at a crash.
    pub torn_writes: u64,
    /// Bits flipped in durable data.
    pub bitflips_at_rest: u64,
    /// Reads that returned a copy with a flipped bit.
    pub bitflips_on_read: u64,
    /// Sectors that became latent sector errors.
    pub latent_sectors: u64,
    /// Reads that failed on a latent sector error.
    pub read_errors: u64,
    /// Syncs that failed.
    pub fsync_errors: u64,
    /// Writes and truncations refused because the disk was full.
    pub full_rejections: u64,
    /// Calls that were slow outliers.
    pub slow_ios: u64,
    /// Disks replaced by empty ones (a lost disk).
    pub wiped: u64,
}

impl DiskFaultCounts {
    /// Each counter with its name, in a fixed order (for reports).
    pub fn entries(&self) -> [(&'static str, u64); 11] {
        [
            ("lost_unsynced_writes", self.lost_unsynced_writes),
            ("lost_namespace_changes", self.lost_namespace_changes),
            ("torn_writes", self.torn_writes),
            ("bitflips_at_rest", self.bitflips_at_rest),
            ("bitflips_on_read", self.bitflips_on_read),
            ("latent_sectors", self.latent_sectors),
            ("read_errors", self.read_errors),
            ("fsync_errors", self.fsync_errors),
            ("full_rejections", self.full_rejections),
            ("slow_ios", self.slow_ios),
            ("wiped", self.wiped),
        ]
    }

    /// Adds another disk's counts (cluster totals).
    pub fn add(&mut self, other: &DiskFaultCounts) {
        self.lost_unsynced_writes += other.lost_unsynced_writes;
        self.lost_namespace_changes += other.lost_namespace_changes;
        self.torn_writes += other.torn_writes;
        self.bitflips_at_rest += other.bitflips_at_rest;
        self.bitflips_on_read += other.bitflips_on_read;
        self.latent_sectors += other.latent_sectors;
        self.read_errors += other.read_errors;
        self.fsync_errors += other.fsync_errors;
        self.full_rejections += other.full_rejections;
        self.slow_ios += other.slow_ios;
        self.wiped += other.wiped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::derive;

    #[test]
    fn default_is_valid_and_swarm_draws_valid_options() {
        DiskFaults::default().validate().unwrap();
        for i in 0..200 {
            DiskFaults::swarm(&mut derive(1, "swarm", i)).validate().unwrap();
        }
    }

    #[test]
    fn validate_names_the_bad_field() {
        let bad = DiskFaults { sync_error_probability: 2.0, ..DiskFaults::default() };
        assert_eq!(bad.validate().unwrap_err().field, "sync_error_probability");
        let bad = DiskFaults { sector_size_bytes: 1000, ..DiskFaults::default() };
        assert_eq!(bad.validate().unwrap_err().field, "sector_size_bytes");
        let bad =
            DiskFaults { slow_io_latency_ms_min: 5, slow_io_latency_ms_max: 1, ..DiskFaults::default() };
        assert_eq!(bad.validate().unwrap_err().field, "slow_io_latency_ms_min");
    }

    #[test]
    fn options_round_trip_through_json_and_unknown_fields_are_refused() {
        let faults = DiskFaults::swarm(&mut derive(2, "swarm", 0));
        let text = serde_json::to_string(&faults).unwrap();
        assert_eq!(serde_json::from_str::<DiskFaults>(&text).unwrap(), faults);
        assert_eq!(serde_json::from_str::<DiskFaults>("{}").unwrap(), DiskFaults::default());
        assert!(serde_json::from_str::<DiskFaults>(r#"{"torn_writes": 1}"#).is_err());
    }
}
