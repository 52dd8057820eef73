//! `SimDisk`: one node's simulated disk, with the disk faults of faultline's fault model.
//!
//! The disk lives outside the node: the harness owns it, lends it to the node's steps as its
//! [`Storage`], and keeps it across crash and restart. The durability semantics are
//! [`MemDisk`]'s; on top of them this adds, each drawn from the disk's own seeded stream:
//!
//! - at a [`crash`](SimDisk::crash): the loss of some, all or a prefix of each file's unsynced
//!   changes, and torn writes ([`DiskFaults::crash_keeps`], [`DiskFaults::torn_write_probability`]);
//! - on reads of a [`Corruption::Allowed`] disk: bit flips in the returned copy, and latent
//!   sector errors that fail every read of a sector until a write covers it;
//! - on syncs: `SyncFailed`, which also loses the file's unsynced changes;
//! - on every call: a latency, added to an accumulator the shell drains with
//!   [`take_io_time`](SimDisk::take_io_time) and sleeps before the step's messages leave;
//! - a capacity, and full-disk windows, in which writes that would grow the disk fail with
//!   `Full` and write nothing.
//!
//! - a power cut in the middle of a step ([`arm_power_cut`](SimDisk::arm_power_cut)): the
//!   disk remembers its state just before one of the step's changing calls, and
//!   [`end_step`](SimDisk::end_step) rolls the disk back to it so that the crash that follows
//!   sees the writes the step had made, synced or not, up to that call and none after.
//!
//! The nemesis also calls [`flip_bit_at_rest`](SimDisk::flip_bit_at_rest),
//! [`inject_read_error`](SimDisk::inject_read_error) and [`wipe`](SimDisk::wipe), which act on
//! durable data and only on a disk whose corruption is allowed (see [`super::faults`] for the placement rule). Every fault
//! that fires is counted in [`DiskFaultCounts`].

use super::crash;
use super::faults::{Corruption, DiskFaultCounts, DiskFaults};
use super::mem::{write_end, MemDisk};
use super::{DiskError, Storage};
use crate::rng::{between, chance, Rng};
use rand::Rng as _;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::time::Duration;

/// The most sectors one latent sector error spans.
pub const LATENT_SECTORS_MAX: u64 = 4;

/// The most changing calls of a step that an armed power cut lets through.
pub const MAX_CALLS_BEFORE_CUT: u32 = 3;

/// A bit the nemesis flipped in durable data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitFlip {
    /// The file's durable name.
    pub file: String,
    /// Byte offset in the file of the flipped byte.
    pub offset: u64,
    /// Which bit of that byte was flipped, 0 (least significant) to 7.
    pub bit: u8,
}

/// Sectors that became unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatentSectors {
    /// The file's durable name.
    pub file: String,
    /// Byte offset of the first bad sector.
    pub offset: u64,
    /// Bytes covered (whole sectors).
    pub len: u64,
}

/// What one crash did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashSummary {
    /// Unsynced changes (writes, truncations) the crash lost.
    pub lost_unsynced_writes: u64,
    /// Unsynced creations, renames and removals the crash undid.
    pub lost_namespace_changes: u64,
    /// Writes the crash tore.
    pub torn_writes: u64,
}

/// One node's simulated disk. See the module documentation.
#[derive(Clone, Debug)]
pub struct SimDisk {
    mem: MemDisk,
    faults: DiskFaults,
    corruption: Corruption,
    rng: Rng,
    full_window: bool,
    /// Latent sector errors: inode -> bad sector indices.
    bad_sectors: BTreeMap<u64, BTreeSet<u64>>,
    io_time: Duration,
    counts: DiskFaultCounts,
    cut: PowerCut,
}

/// Where an armed power cut stands.
#[derive(Clone, Debug)]
enum PowerCut {
    Off,
    /// Cut before the changing call after this many more of them; `changes` counts this step's.
    Armed {
        after: u32,
        changes: u32,
    },
    /// The power went out; this is the disk as it was at that moment.
    Cut(Box<MemDisk>),
}

impl SimDisk {
    /// An empty disk with these faults; every draw comes from `rng`.
    pub fn new(faults: DiskFaults, corruption: Corruption, rng: Rng) -> Self {
        SimDisk {
            mem: MemDisk::new(),
            faults,
            corruption,
            rng,
            full_window: false,
            bad_sectors: BTreeMap::new(),
            io_time: Duration::ZERO,
            counts: DiskFaultCounts::default(),
            cut: PowerCut::Off,
        }
    }

    /// Arms a power cut for the next step that changes the disk: it goes out before one of
    /// that step's first `MAX_CALLS_BEFORE_CUT + 1` changing calls (write, truncate, sync,
    /// rename, remove), drawn at random, or at the end of the step if it makes fewer.
    pub fn arm_power_cut(&mut self) {
        let after = self.rng.gen_range(0..=MAX_CALLS_BEFORE_CUT);
        self.cut = PowerCut::Armed { after, changes: 0 };
    }

    /// Forgets a power cut that is armed but has not happened (the heal before the liveness
    /// phase).
    pub fn disarm_power_cut(&mut self) {
        if let PowerCut::Armed { .. } = self.cut {
            self.cut = PowerCut::Off;
        }
    }

    /// Ends a step. True when the power went out during it: the disk is back as it was at the
    /// cut, and the caller must crash the node without letting anything of the step out.
    pub fn end_step(&mut self) -> bool {
        match std::mem::replace(&mut self.cut, PowerCut::Off) {
            PowerCut::Cut(before) => {
                self.mem = *before;
                self.io_time = Duration::ZERO;
                true
            }
            PowerCut::Armed { changes, .. } if changes > 0 => {
                self.io_time = Duration::ZERO;
                true
            }
            PowerCut::Armed { after, .. } => {
                self.cut = PowerCut::Armed { after, changes: 0 };
                false
            }
            PowerCut::Off => false,
        }
    }

    /// Called before every changing call: takes the power-cut snapshot when its turn comes.
    fn before_change(&mut self) {
        if let PowerCut::Armed { after, changes } = &mut self.cut {
            if *after == 0 {
                self.cut = PowerCut::Cut(Box::new(self.mem.clone()));
            } else {
                *after -= 1;
                *changes += 1;
            }
        }
    }

    /// The fault rates the disk draws from now.
    pub fn faults(&self) -> &DiskFaults {
        &self.faults
    }

    /// Changes the faults from now on (e.g. `DiskFaults::default()` for the liveness phase).
    /// Damage already done (flipped bits, latent sectors) stays until the node repairs it.
    pub fn set_faults(&mut self, faults: DiskFaults) {
        self.faults = faults;
    }

    /// Whether the disk may suffer faults that destroy synced data.
    pub fn corruption(&self) -> Corruption {
        self.corruption
    }

    /// The faults that fired so far.
    pub fn counts(&self) -> &DiskFaultCounts {
        &self.counts
    }

    /// Bytes in use (the current contents of every file still reachable).
    pub fn used_bytes(&self) -> u64 {
        self.mem.used_bytes()
    }

    /// The I/O latency accumulated since the last call, and resets it. The shell sleeps this
    /// long after a step, before the step's messages and replies leave the node.
    pub fn take_io_time(&mut self) -> Duration {
        std::mem::take(&mut self.io_time)
    }

    /// A power cut: unsynced namespace changes are lost, each file keeps what
    /// [`DiskFaults::crash_keeps`] says of its unsynced changes, and the last may be torn.
    /// Pending I/O time is dropped with the step it belonged to.
    pub fn crash(&mut self) -> CrashSummary {
        let before = self.counts.clone();
        self.counts.lost_namespace_changes += self.mem.namespace_changes() as u64;
        let (faults, rng, counts) = (&self.faults, &mut self.rng, &mut self.counts);
        self.mem.crash_with(|pending| crash::survivors(pending, faults, rng, counts));
        let mem = &self.mem;
        self.bad_sectors.retain(|ino, _| mem.inode_exists(*ino));
        self.io_time = Duration::ZERO;
        self.cut = PowerCut::Off;
        CrashSummary {
            lost_unsynced_writes: self.counts.lost_unsynced_writes - before.lost_unsynced_writes,
            lost_namespace_changes: self.counts.lost_namespace_changes - before.lost_namespace_changes,
            torn_writes: self.counts.torn_writes - before.torn_writes,
        }
    }

    /// Starts a full-disk window: from now on, any write or truncation that would grow the disk
    /// fails with `Full`. Overwrites in place still succeed.
    pub fn begin_full_window(&mut self) {
        self.full_window = true;
    }

    /// Ends a full-disk window.
    pub fn end_full_window(&mut self) {
        self.full_window = false;
    }

    /// Whether a full-disk window is open: growing writes fail with `Full`.
    pub fn in_full_window(&self) -> bool {
        self.full_window
    }

    /// Flips one random bit of durable data (uniform over durable bytes). `None` when the disk's
    /// corruption is forbidden or it holds no durable data.
    pub fn flip_bit_at_rest(&mut self) -> Option<BitFlip> {
        let (file, offset) = self.random_durable_byte()?;
        let bit = self.rng.gen_range(0..8u8);
        self.mem.flip_durable_bit(&file, offset, bit);
        self.counts.bitflips_at_rest += 1;
        Some(BitFlip { file, offset, bit })
    }

    /// Makes a run of 1 to [`LATENT_SECTORS_MAX`] sectors of durable data unreadable, starting
    /// at a random durable byte's sector. `None` when corruption is forbidden, there is no
    /// durable data, or every sector chosen was bad already.
    pub fn inject_read_error(&mut self) -> Option<LatentSectors> {
        let (file, offset) = self.random_durable_byte()?;
        let ino = self.mem.durable_ino(&file).expect("durable file has an inode");
        let sector = self.faults.sector_size_bytes;
        let first = offset / sector;
        let run = self.rng.gen_range(1..=LATENT_SECTORS_MAX);
        let last_in_file = (self.mem.durable_len(ino) - 1) / sector;
        let sectors = first..=(first + run - 1).min(last_in_file);
        let added = sectors.clone().filter(|s| self.bad_sectors.entry(ino).or_default().insert(*s)).count();
        if added == 0 {
            return None;
        }
        self.counts.latent_sectors += added as u64;
        let len = (sectors.end() - sectors.start() + 1) * sector;
        Some(LatentSectors { file, offset: sectors.start() * sector, len })
    }

    /// Replaces the disk with an empty one, as after a disk failure: every file is gone, synced
    /// or not, and its latent sector errors with it. The node must be down (the nemesis crashes
    /// it first). False, and nothing done, when the disk's corruption is forbidden (a wipe
    /// destroys synced data) or it held no file; counted in `wiped` otherwise.
    pub fn wipe(&mut self) -> bool {
        if self.corruption == Corruption::Forbidden || self.mem.durable_files().is_empty() {
            return false;
        }
        self.mem = MemDisk::new();
        self.bad_sectors.clear();
        self.io_time = Duration::ZERO;
        self.cut = PowerCut::Off;
        self.counts.wiped += 1;
        true
    }

    /// A uniformly random byte of durable data on a corruptible disk: (durable name, offset).
    fn random_durable_byte(&mut self) -> Option<(String, u64)> {
        if self.corruption == Corruption::Forbidden {
            return None;
        }
        let files = self.mem.durable_files();
        let total: u64 = files.iter().map(|(_, len)| len).sum();
        if total == 0 {
            return None;
        }
        let mut at = self.rng.gen_range(0..total);
        for (file, len) in files {
            if at < len {
                return Some((file, at));
            }
            at -= len;
        }
        unreachable!("offset lies within the total")
    }

    /// Adds one call's latency to the accumulator.
    fn charge(&mut self, bytes: usize, sync: bool) {
        let f = &self.faults;
        let mut nanos = f.io_latency_us * 1_000 + (bytes as u64).saturating_mul(f.io_latency_ns_per_byte);
        if sync {
            nanos += f.sync_latency_us * 1_000;
        }
        if chance(&mut self.rng, f.slow_io_probability) {
            let slow_ms = between(&mut self.rng, f.slow_io_latency_ms_min, f.slow_io_latency_ms_max);
            if slow_ms > 0 {
                nanos += slow_ms * 1_000_000;
                self.counts.slow_ios += 1;
            }
        }
        self.io_time += Duration::from_nanos(nanos);
    }

    /// Refuses a change that would grow the disk past its capacity or during a full window.
    fn admit(&mut self, file: &str, new_len: u64) -> Result<(), DiskError> {
        let growth = new_len.saturating_sub(self.mem.current_len(file));
        if growth == 0 {
            return Ok(());
        }
        let over = self.faults.capacity_bytes.is_some_and(|cap| self.mem.used_bytes() + growth > cap);
        if self.full_window || over {
            self.counts.full_rejections += 1;
            return Err(DiskError::Full(file.to_string()));
        }
        Ok(())
    }

    /// Makes `sectors` of `file` readable again: a drive remaps a bad sector when it is
    /// written (even in part, since the drive then rewrites the whole sector), and a sector
    /// wholly past the end of a truncated file no longer exists.
    fn cure(&mut self, file: &str, sectors: RangeInclusive<u64>) {
        let Some(ino) = self.mem.ino(file) else { return };
        if let Some(bad) = self.bad_sectors.get_mut(&ino) {
            let covered: Vec<u64> = bad.range(sectors).copied().collect();
            for s in covered {
                bad.remove(&s);
            }
        }
    }

    /// The sectors a non-empty byte range touches.
    fn sectors(&self, offset: u64, len: u64) -> RangeInclusive<u64> {
        let sector = self.faults.sector_size_bytes;
        offset / sector..=(offset + len - 1) / sector
    }

    /// Fails a read that touches a bad sector, or turns one sector of it bad first.
    fn read_faults(&mut self, file: &str, offset: u64, len: usize) -> Result<(), DiskError> {
        let (Some(ino), true) = (self.mem.ino(file), len > 0) else { return Ok(()) };
        let sector = self.faults.sector_size_bytes;
        let (first, last) = self.sectors(offset, len as u64).into_inner();
        if self.corruption == Corruption::Allowed && chance(&mut self.rng, self.faults.read_error_probability)
        {
            let s = self.rng.gen_range(first..=last);
            if self.bad_sectors.entry(ino).or_default().insert(s) {
                self.counts.latent_sectors += 1;
            }
        }
        let bad = self.bad_sectors.get(&ino).and_then(|bad| bad.range(first..=last).next().copied());
        match bad {
            Some(s) => {
                self.counts.read_errors += 1;
                Err(DiskError::ReadError { file: file.to_string(), offset: (s * sector).max(offset) })
            }
            None => Ok(()),
        }
    }

    /// Flips one bit of a read's copy, on a corruptible disk, with the configured probability.
    fn read_bitflip(&mut self, data: &mut [u8]) {
        if data.is_empty() || self.corruption == Corruption::Forbidden {
            return;
        }
        if chance(&mut self.rng, self.faults.read_bitflip_probability) {
            let at = self.rng.gen_range(0..data.len());
            data[at] ^= 1 << self.rng.gen_range(0..8);
            self.counts.bitflips_on_read += 1;
        }
    }
}

impl Storage for SimDisk {
    fn read(&mut self, file: &str, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
        self.charge(len, false);
        let mut data = self.mem.read(file, offset, len)?;
        self.read_faults(file, offset, data.len())?;
        self.read_bitflip(&mut data);
        Ok(data)
    }

    fn write(&mut self, file: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        self.before_change();
        self.charge(data.len(), false);
        self.admit(file, write_end(offset, data.len()).unwrap_or(u64::MAX))?;
        self.mem.write(file, offset, data)?;
        if !data.is_empty() {
            self.cure(file, self.sectors(offset, data.len() as u64));
        }
        Ok(())
    }

    fn append(&mut self, file: &str, data: &[u8]) -> Result<u64, DiskError> {
        let offset = self.mem.current_len(file);
        self.write(file, offset, data)?;
        Ok(offset)
    }

    fn len(&mut self, file: &str) -> Result<Option<u64>, DiskError> {
        self.charge(0, false);
        self.mem.len(file)
    }

    fn truncate(&mut self, file: &str, len: u64) -> Result<(), DiskError> {
        self.before_change();
        self.charge(0, false);
        self.admit(file, len)?;
        self.mem.truncate(file, len)?;
        // Sectors wholly past the new end are gone; a sector the end falls in stays bad.
        self.cure(file, len.div_ceil(self.faults.sector_size_bytes)..=u64::MAX);
        Ok(())
    }

    fn sync(&mut self, file: &str) -> Result<(), DiskError> {
        self.before_change();
        self.charge(0, true);
        if self.mem.ino(file).is_some() && chance(&mut self.rng, self.faults.sync_error_probability) {
            let lost = self.mem.discard_pending(file)?;
            self.counts.lost_unsynced_writes += lost as u64;
            self.counts.fsync_errors += 1;
            return Err(DiskError::SyncFailed(file.to_string()));
        }
        self.mem.sync(file)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        self.before_change();
        self.charge(0, false);
        self.mem.rename(from, to)
    }

    fn remove(&mut self, file: &str) -> Result<(), DiskError> {
        self.before_change();
        self.charge(0, false);
        self.mem.remove(file)
    }

    fn list(&mut self) -> Result<Vec<String>, DiskError> {
        self.charge(0, false);
        self.mem.list()
    }
}
