//! One test per disk fault mechanism: switch the fault on, provoke it, assert what a reader sees
//! and that the fault was counted (and only when it changed something).

use crate::sim_disk;
use faultline_sim::disk::{
    place_corruption, Corruption, CrashKeeps, DiskError, DiskFaults, RecordLog, RecordSlot, SimDisk, Storage,
};
use faultline_sim::rng;
use std::time::Duration;

fn faults() -> DiskFaults {
    DiskFaults::default()
}

fn contents(disk: &mut SimDisk, file: &str) -> Vec<u8> {
    disk.read_all(file).unwrap().unwrap_or_default()
}

#[test]
fn a_crash_loses_unsynced_writes_and_keeps_synced_ones() {
    let mut d = sim_disk(faults(), Corruption::Forbidden, 1);
    d.append("wal", b"synced").unwrap();
    d.sync("wal").unwrap();
    d.append("wal", b"+unsynced").unwrap();
    d.write("new", 0, b"never synced").unwrap();
    let summary = d.crash();
    assert_eq!(contents(&mut d, "wal"), b"synced");
    assert_eq!(d.len("new").unwrap(), None);
    assert_eq!(summary.lost_unsynced_writes, 1);
    assert_eq!(summary.lost_namespace_changes, 1, "the creation of `new`");
    assert_eq!(d.counts().lost_unsynced_writes, 1);
    // Nothing unsynced: a second crash loses nothing and counts nothing.
    assert_eq!(d.crash().lost_unsynced_writes, 0);
    assert_eq!(d.counts().lost_unsynced_writes, 1);
}

#[test]
fn a_crash_keeping_a_prefix_keeps_a_prefix_of_each_files_changes() {
    let states: Vec<&[u8]> = vec![b"base", b"base1", b"base12", b"base123"];
    let mut seen = [false; 4];
    for seed in 0..64 {
        let mut d =
            sim_disk(DiskFaults { crash_keeps: CrashKeeps::Prefix, ..faults() }, Corruption::Forbidden, seed);
        d.append("f", b"base").unwrap();
        d.sync("f").unwrap();
        for part in [b"1", b"2", b"3"] {
            d.append("f", part).unwrap();
        }
        d.crash();
        let got = contents(&mut d, "f");
        let i = states.iter().position(|s| *s == got).expect("a prefix of the changes");
        seen[i] = true;
    }
    assert_eq!(seen, [true; 4], "every prefix length occurs over 64 seeds");
}

#[test]
fn a_crash_keeping_a_subset_can_leave_holes_but_never_outruns_a_lost_truncation() {
    let mut holes = 0;
    for seed in 0..64 {
        let mut d =
            sim_disk(DiskFaults { crash_keeps: CrashKeeps::Subset, ..faults() }, Corruption::Forbidden, seed);
        d.write("f", 0, b"old-old-old").unwrap();
        d.sync("f").unwrap();
        d.append("f", b"A").unwrap();
        d.append("f", b"B").unwrap();
        d.truncate("f", 3).unwrap();
        d.append("f", b"C").unwrap();
        d.crash();
        let got = contents(&mut d, "f");
        holes += usize::from(got == b"old-old-old\0B");
        // `C` lands only if the truncation to 3 bytes did.
        assert!(got == b"oldC" || got == b"old" || got.len() >= 11, "{:?}", String::from_utf8_lossy(&got));
    }
    assert!(holes > 0, "some crash kept a later write and lost an earlier one");
}

#[test]
fn a_torn_write_leaves_a_partial_sector() {
    let sector = 512;
    let mut garbage = 0;
    for seed in 0..32 {
        let torn =
            DiskFaults { crash_keeps: CrashKeeps::Everything, torn_write_probability: 1.0, ..faults() };
        let mut d = sim_disk(torn, Corruption::Forbidden, seed);
        d.write("f", 0, &[0x11; 1024]).unwrap();
        d.sync("f").unwrap();
        d.write("f", 0, &[0xAA; 1024]).unwrap();
        assert_eq!(d.crash().torn_writes, 1);
        let got = contents(&mut d, "f");
        assert_eq!(got.len(), 1024);
        let cut = got.iter().position(|b| *b != 0xAA).expect("the write did not land whole");
        assert!(cut > 0, "the head of the write landed");
        let sector_end = (cut / sector + 1) * sector;
        assert!(got[sector_end..].iter().all(|b| *b == 0x11), "past the torn sector the old data stays");
        let rest = &got[cut..sector_end];
        garbage += usize::from(rest.iter().any(|b| *b != 0x11 && *b != 0xAA));
        assert!(
            rest.iter().all(|b| *b == 0x11) || garbage > 0,
            "the rest of the torn sector is stale or garbage"
        );
    }
    assert!(garbage > 0, "some tears leave garbage in the sector");
}

#[test]
fn a_torn_write_needs_an_unsynced_write_to_tear() {
    let torn = DiskFaults { crash_keeps: CrashKeeps::Everything, torn_write_probability: 1.0, ..faults() };
    let mut d = sim_disk(torn, Corruption::Forbidden, 3);
    d.write("f", 0, b"all synced").unwrap();
    d.sync("f").unwrap();
    assert_eq!(d.crash().torn_writes, 0);
    assert_eq!(contents(&mut d, "f"), b"all synced");
    assert_eq!(d.counts().torn_writes, 0);
}

#[test]
fn a_bit_flip_at_rest_is_caught_by_record_log() {
    for seed in 0..50 {
        let mut d = sim_disk(faults(), Corruption::Allowed, seed);
        let (mut log, _) = RecordLog::open(&mut d, "wal").unwrap();
        for i in 0..8 {
            log.append(&mut d, format!("record number {i}").as_bytes()).unwrap();
        }
        log.sync(&mut d).unwrap();
        let flip = d.flip_bit_at_rest().expect("a corruptible disk with data");
        assert_eq!(flip.file, "wal");
        assert_eq!(d.counts().bitflips_at_rest, 1);
        let (_, rec) = RecordLog::open(&mut d, "wal").unwrap();
        let damaged = rec.slots.iter().any(|s| matches!(s, RecordSlot::Damaged { .. }));
        assert!(damaged || rec.torn_tail.is_some(), "seed {seed}: flip at {flip:?} went unnoticed");
        for slot in &rec.slots {
            if let RecordSlot::Intact { seq, payload } = slot {
                assert_eq!(payload, format!("record number {seq}").as_bytes());
            }
        }
    }
}

#[test]
fn a_bit_flip_on_read_leaves_the_stored_data_intact() {
    let flips = DiskFaults { read_bitflip_probability: 1.0, ..faults() };
    let mut d = sim_disk(flips.clone(), Corruption::Allowed, 4);
    d.write("f", 0, b"precious").unwrap();
    d.sync("f").unwrap();
    let read = contents(&mut d, "f");
    assert_ne!(read, b"precious");
    let differing: u32 = read.iter().zip(b"precious").map(|(a, b)| (a ^ b).count_ones()).sum();
    assert_eq!(differing, 1, "exactly one bit flipped");
    d.set_faults(faults());
    assert_eq!(contents(&mut d, "f"), b"precious", "the stored data is fine");
    assert_eq!(d.counts().bitflips_on_read, 1);
}

#[test]
fn a_read_error_fails_the_read_until_the_range_is_rewritten() {
    let mut d = sim_disk(faults(), Corruption::Allowed, 5);
    d.write("f", 0, &[7; 2048]).unwrap();
    d.sync("f").unwrap();
    let bad = d.inject_read_error().expect("a corruptible disk with data");
    assert_eq!(bad.offset % 512, 0);
    assert!(matches!(d.read("f", bad.offset, 10), Err(DiskError::ReadError { .. })));
    assert!(matches!(d.read_all("f"), Err(DiskError::ReadError { .. })), "and again: the error is latent");
    // Sectors outside the range still read.
    let outside = if bad.offset > 0 { 0 } else { bad.offset + bad.len };
    if outside < 2048 {
        assert_eq!(d.read("f", outside, 1).unwrap(), vec![7]);
    }
    d.write("f", bad.offset, &vec![9; bad.len as usize]).unwrap();
    let data = d.read_all("f").unwrap().unwrap();
    assert_eq!(data[bad.offset as usize], 9);
    assert!(d.counts().read_errors >= 2 && d.counts().latent_sectors >= 1);
}

#[test]
fn an_fsync_error_loses_the_unsynced_writes() {
    let mut d = sim_disk(DiskFaults { sync_error_probability: 1.0, ..faults() }, Corruption::Forbidden, 6);
    d.write("f", 0, b"durable").unwrap();
    d.set_faults(faults());
    d.sync("f").unwrap();
    d.set_faults(DiskFaults { sync_error_probability: 1.0, ..faults() });
    d.append("f", b"+lost").unwrap();
    assert_eq!(d.sync("f"), Err(DiskError::SyncFailed("f".to_string())));
    assert_eq!(contents(&mut d, "f"), b"durable", "the unsynced append is gone at once");
    assert_eq!(d.counts().fsync_errors, 1);
    assert_eq!(d.counts().lost_unsynced_writes, 1);
}

#[test]
fn a_full_disk_rejects_a_write_and_keeps_the_old_data() {
    let mut d = sim_disk(DiskFaults { capacity_bytes: Some(10), ..faults() }, Corruption::Forbidden, 7);
    d.write("f", 0, b"12345678").unwrap();
    assert_eq!(d.append("f", b"abc"), Err(DiskError::Full("f".to_string())));
    assert_eq!(contents(&mut d, "f"), b"12345678");
    d.append("f", b"ab").unwrap();
    // A full window refuses growth but not overwrites in place.
    let mut d = sim_disk(faults(), Corruption::Forbidden, 7);
    d.write("f", 0, b"old").unwrap();
    d.begin_full_window();
    assert_eq!(d.append("f", b"x"), Err(DiskError::Full("f".to_string())));
    assert_eq!(d.truncate("f", 10), Err(DiskError::Full("f".to_string())));
    d.write("f", 0, b"new").unwrap();
    assert_eq!(contents(&mut d, "f"), b"new");
    d.end_full_window();
    d.append("f", b"x").unwrap();
    assert_eq!(d.counts().full_rejections, 2);
}

#[test]
fn slow_io_accumulates_latency() {
    let slow = DiskFaults {
        io_latency_us: 100,
        io_latency_ns_per_byte: 10,
        sync_latency_us: 1_000,
        slow_io_probability: 1.0,
        slow_io_latency_ms_min: 50,
        slow_io_latency_ms_max: 50,
        ..faults()
    };
    let mut d = sim_disk(slow, Corruption::Forbidden, 8);
    d.write("f", 0, &[0; 1000]).unwrap();
    d.sync("f").unwrap();
    // write: 100us + 10us + 50ms; sync: 100us + 1ms + 50ms.
    assert_eq!(d.take_io_time(), Duration::from_micros(100 + 10 + 50_000 + 100 + 1_000 + 50_000));
    assert_eq!(d.take_io_time(), Duration::ZERO, "taking drains the accumulator");
    assert_eq!(d.counts().slow_ios, 2);
    let mut quiet = sim_disk(faults(), Corruption::Forbidden, 8);
    quiet.write("f", 0, &[0; 1000]).unwrap();
    assert_eq!(quiet.take_io_time(), Duration::ZERO);
}

#[test]
fn the_placement_never_gives_a_majority_corruptible_disks() {
    for nodes in 0..=9usize {
        let mut counts = vec![0; nodes];
        for seed in 0..200 {
            let placement = place_corruption(nodes, &mut rng::derive(seed, "placement", 0));
            assert_eq!(placement.len(), nodes);
            let allowed = placement.iter().filter(|c| **c == Corruption::Allowed).count();
            assert!(allowed <= nodes.saturating_sub(1) / 2, "{nodes} nodes, {allowed} corruptible");
            assert!(
                allowed <= 1,
                "more than one corruptible disk could be a majority of a smaller configuration"
            );
            assert!(nodes < 3 || allowed >= 1, "a cluster of 3 or more gets a corruptible disk");
            for (i, c) in placement.iter().enumerate() {
                counts[i] += usize::from(*c == Corruption::Allowed);
            }
        }
        assert!(nodes < 3 || counts.iter().all(|c| *c > 0), "every node is sometimes chosen: {counts:?}");
    }
}

#[test]
fn a_forbidden_disk_is_never_corrupted() {
    let all = DiskFaults { read_bitflip_probability: 1.0, read_error_probability: 1.0, ..faults() };
    let mut d = sim_disk(all, Corruption::Forbidden, 9);
    d.write("f", 0, b"data").unwrap();
    d.sync("f").unwrap();
    assert_eq!(d.flip_bit_at_rest(), None);
    assert_eq!(d.inject_read_error(), None);
    assert_eq!(contents(&mut d, "f"), b"data");
    assert_eq!(d.counts(), &Default::default());
}

/// Every fault on, a fixed script of calls; returns everything observable.
fn scripted_run(seed: u64) -> String {
    let all = DiskFaults {
        crash_keeps: CrashKeeps::Any,
        torn_write_probability: 0.5,
        read_bitflip_probability: 0.1,
        read_error_probability: 0.05,
        sync_error_probability: 0.2,
        io_latency_us: 10,
        slow_io_probability: 0.1,
        slow_io_latency_ms_min: 1,
        slow_io_latency_ms_max: 100,
        ..faults()
    };
    let mut d = sim_disk(all, Corruption::Allowed, seed);
    let mut seen = Vec::new();
    for round in 0..20u8 {
        for i in 0..5u8 {
            seen.push(format!("{:?}", d.append("wal", &[round, i, 0xEE, 0xFF])));
        }
        seen.push(format!("{:?}", d.sync("wal")));
        seen.push(format!("{:?}", d.read_all("wal")));
        if round % 4 == 3 {
            seen.push(format!("{:?} {:?}", d.flip_bit_at_rest(), d.inject_read_error()));
            seen.push(format!("{:?}", d.crash()));
        }
    }
    let io = d.take_io_time();
    format!("{seen:?} {:?} {io:?}", d.counts())
}

#[test]
fn the_same_seed_gives_the_same_faults() {
    for seed in 0..5 {
        assert_eq!(scripted_run(seed), scripted_run(seed));
    }
    assert_ne!(scripted_run(1), scripted_run(2), "the seed matters");
}

/// One step of a protocol that writes a record and syncs it, twice, under an armed power cut.
fn step_with_power_cut(seed: u64) -> SimDisk {
    let mut d =
        sim_disk(DiskFaults { crash_keeps: CrashKeeps::Everything, ..faults() }, Corruption::Forbidden, seed);
    d.append("wal", b"").unwrap();
    d.sync("wal").unwrap();
    d.arm_power_cut();
    assert!(!d.end_step(), "a step that changed nothing does not take the cut");
    for record in [b"first".as_slice(), b"second"] {
        d.append("wal", record).unwrap();
        d.sync("wal").unwrap();
    }
    d
}

#[test]
fn a_mid_step_power_cut_keeps_what_came_before_the_cut_and_nothing_after() {
    // The cut comes before one of the step's first four changing calls (append, sync, append,
    // sync), so the disk ends as it was after 0 to 3 of them: the seed decides which.
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let mut d = step_with_power_cut(seed);
        assert!(d.end_step(), "seed {seed}: the cut happened in the step");
        assert!(!d.end_step(), "seed {seed}: a cut happens once");
        let before_crash = contents(&mut d, "wal");
        d.crash();
        let after = contents(&mut d, "wal");
        assert_eq!(after, before_crash, "seed {seed}: crash_keeps=everything keeps unsynced writes too");
        assert!(
            [&b""[..], b"first", b"firstsecond"].contains(&after.as_slice()),
            "seed {seed}: {after:?} is not a state the step passed through"
        );
        seen.insert(after);
    }
    assert_eq!(seen.len(), 3, "every cut point is drawn: {seen:?}");
}

#[test]
fn an_armed_power_cut_is_forgotten_by_a_crash_or_a_disarm() {
    let mut d = sim_disk(faults(), Corruption::Forbidden, 3);
    d.arm_power_cut();
    d.disarm_power_cut();
    d.append("wal", b"x").unwrap();
    assert!(!d.end_step());
    d.arm_power_cut();
    d.crash();
    d.append("wal", b"y").unwrap();
    assert!(!d.end_step());
}
