//! Recovery of the on-disk state: what a crash leaves is recovered without loss, and damage
//! that may have taken acknowledged transactions makes the server repair.

use super::*;
use crate::api::SessionId;
use crate::msg::{TxnBody, Zxid};
use crate::tree::DataTree;
use faultline_sim::disk::MemDisk;

fn txn(epoch: u64, counter: u64) -> Txn {
    Txn {
        zxid: Zxid::new(epoch, counter),
        body: TxnBody::Expire { session: SessionId { owner: counter, gen: 0 } },
    }
}

/// A fresh store with `n` transactions appended and marked, synced.
fn written(disk: &mut MemDisk, n: u64) -> Store {
    let mut store = Store::recover(disk, true).unwrap().store;
    let txns: Vec<Txn> = (1..=n).map(|c| txn(1, c)).collect();
    store.append(disk, 1, &txns, true).unwrap();
    store.mark(disk, Pos::new(n, Zxid::new(1, n)), true).unwrap();
    store
}

#[test]
fn a_first_boot_finds_nothing_and_a_restart_finds_everything_synced() {
    let mut disk = MemDisk::new();
    let r = Store::recover(&mut disk, true).unwrap();
    assert_eq!(
        (r.meta, r.history.last(), r.report.clone()),
        (Meta::default(), Pos::default(), RecoveryReport::default())
    );
    let mut store = written(&mut disk, 3);
    let meta = Meta { accepted_epoch: 2, current_epoch: 1, standing: Standing::Voter };
    store.save_meta(&mut disk, &meta).unwrap();
    disk.crash();
    let r = Store::recover(&mut disk, true).unwrap();
    assert_eq!((r.meta, r.history.last().index, r.marked), (meta, 3, 3));
    assert_eq!(r.report, RecoveryReport::default());
}

#[test]
fn an_unsynced_batch_is_lost_without_damage_and_truncation_keeps_a_straddled_head() {
    let mut disk = MemDisk::new();
    let mut store = written(&mut disk, 2);
    store.append(&mut disk, 3, &[txn(1, 3)], false).unwrap();
    disk.crash();
    let r = Store::recover(&mut disk, true).unwrap();
    assert_eq!(r.history.last().index, 2, "the unsynced batch is gone");
    assert_eq!(r.meta.standing, Standing::Voter);
    let mut store = r.store;
    let mut history = r.history;
    store.truncate_after(&mut disk, 1, &history).unwrap();
    history.truncate_after(1);
    store.append(&mut disk, 2, &[txn(2, 1)], true).unwrap();
    store.mark(&mut disk, Pos::new(2, Zxid::new(2, 1)), true).unwrap();
    disk.crash();
    let r = Store::recover(&mut disk, true).unwrap();
    let zxids: Vec<Zxid> = r.history.entries().map(|e| e.1).collect();
    assert_eq!(zxids, vec![Zxid::new(1, 1), Zxid::new(2, 1)]);
}

#[test]
fn damage_before_a_marker_makes_the_server_repair_and_keeps_the_intact_prefix() {
    let mut disk = MemDisk::new();
    let mut store = written(&mut disk, 1);
    store.append(&mut disk, 2, &[txn(1, 2)], true).unwrap();
    store.mark(&mut disk, Pos::new(2, Zxid::new(1, 2)), true).unwrap();
    // Flip a byte inside the second batch record (after the first batch and its marker).
    let data = disk.read_all(LOG_FILE).unwrap().unwrap();
    let second_batch = data.len() - 60;
    disk.write(LOG_FILE, second_batch as u64, &[data[second_batch] ^ 0xff]).unwrap();
    disk.sync(LOG_FILE).unwrap();
    let r = Store::recover(&mut disk, true).unwrap();
    assert!(r.report.log_damaged, "{:?}", r.report);
    assert_eq!(r.meta.standing, Standing::Repairing);
    assert_eq!(r.history.last().index, 1);
    // The standing was made durable.
    let again = Store::recover(&mut disk, true).unwrap();
    assert_eq!(again.meta.standing, Standing::Repairing);
}

#[test]
fn both_metadata_copies_lost_make_an_observer_for_good() {
    let mut disk = MemDisk::new();
    let mut store = written(&mut disk, 1);
    store
        .save_meta(&mut disk, &Meta { accepted_epoch: 4, current_epoch: 4, standing: Standing::Voter })
        .unwrap();
    for file in META_FILES {
        disk.write(file, 5, &[0xAA]).unwrap();
        disk.sync(file).unwrap();
    }
    let r = Store::recover(&mut disk, true).unwrap();
    assert!(r.report.meta_lost);
    assert_eq!(r.meta, Meta { accepted_epoch: 0, current_epoch: 0, standing: Standing::Observer });
    let again = Store::recover(&mut disk, true).unwrap();
    assert_eq!(again.meta.standing, Standing::Observer);
    assert!(!again.report.meta_lost);
}

#[test]
fn one_damaged_metadata_copy_is_repaired_from_the_other() {
    let mut disk = MemDisk::new();
    let mut store = written(&mut disk, 1);
    let meta = Meta { accepted_epoch: 3, current_epoch: 2, standing: Standing::Voter };
    store.save_meta(&mut disk, &meta).unwrap();
    disk.write(META_FILES[0], 5, &[0xAA]).unwrap();
    disk.sync(META_FILES[0]).unwrap();
    let r = Store::recover(&mut disk, true).unwrap();
    assert!(r.report.meta_repaired && !r.report.meta_lost);
    assert_eq!(r.meta, meta);
}

#[test]
fn snapshots_a_crash_left_behind_are_ignored() {
    let mut disk = MemDisk::new();
    let mut store = Store::recover(&mut disk, true).unwrap().store;
    // The log continues a snapshot at 3 (compaction writes the snapshot, then the log).
    let at3 = Snapshot { pos: Pos::new(3, Zxid::new(1, 3)), tree: DataTree::default() };
    store.save_snapshot(&mut disk, &at3).unwrap();
    let txns: Vec<Txn> = (4..=6).map(|c| txn(1, c)).collect();
    store.rewrite(&mut disk, at3.pos, &txns, Some(Pos::new(6, Zxid::new(1, 6)))).unwrap();
    // Two SNAP installs that a crash interrupted before the log was rewritten: one from behind
    // the log's start, one from a history with another transaction at position 5.
    for pos in [Pos::new(2, Zxid::new(1, 2)), Pos::new(5, Zxid::new(2, 1))] {
        store.save_snapshot(&mut disk, &Snapshot { pos, tree: DataTree::default() }).unwrap();
    }
    disk.crash();
    let r = Store::recover(&mut disk, true).unwrap();
    assert_eq!(r.report, RecoveryReport::default());
    assert_eq!(r.meta.standing, Standing::Voter);
    assert_eq!((r.snapshot.map(|s| s.pos), r.history.last().index), (Some(at3.pos), 6));
}

#[test]
fn the_newest_snapshot_the_log_continues_is_chosen() {
    let mut disk = MemDisk::new();
    let mut store = written(&mut disk, 3);
    let old = Snapshot { pos: Pos::new(1, Zxid::new(1, 1)), tree: DataTree::default() };
    let new = Snapshot { pos: Pos::new(2, Zxid::new(1, 2)), tree: DataTree::default() };
    store.save_snapshot(&mut disk, &old).unwrap();
    store.save_snapshot(&mut disk, &new).unwrap();
    let r = Store::recover(&mut disk, true).unwrap();
    assert_eq!(r.snapshot.map(|s| s.pos), Some(new.pos));
    assert_eq!((r.history.base(), r.history.last().index), (new.pos, 3));
}

#[test]
fn a_lost_snapshot_makes_the_server_repair_from_nothing() {
    let mut disk = MemDisk::new();
    let mut store = written(&mut disk, 3);
    let snapshot = Snapshot { pos: Pos::new(3, Zxid::new(1, 3)), tree: DataTree::default() };
    store.save_snapshot(&mut disk, &snapshot).unwrap();
    store.rewrite(&mut disk, snapshot.pos, &[], Some(snapshot.pos)).unwrap();
    let file = snapshot_file(3);
    disk.write(&file, 6, &[0x55]).unwrap();
    disk.sync(&file).unwrap();
    let r = Store::recover(&mut disk, true).unwrap();
    assert!(r.report.snapshot_lost && r.report.snapshots_damaged == 1);
    assert_eq!(r.meta.standing, Standing::Repairing);
    assert_eq!((r.history.last(), r.snapshot.is_none()), (Pos::default(), true));
}

#[test]
fn the_first_boot_writes_metadata_so_a_later_empty_disk_reads_as_lost() {
    let mut disk = MemDisk::new();
    let r = Store::recover(&mut disk, true).unwrap();
    assert_eq!(r.meta, Meta::default());
    assert!(!r.report.disk_lost);
    assert!(disk.read_all(META_FILES[0]).unwrap().is_some(), "the first boot leaves metadata behind");
    let restart = Store::recover(&mut disk, false).unwrap();
    assert_eq!(restart.meta.standing, Standing::Voter);
    assert!(!restart.report.disk_lost);
}

#[test]
fn an_empty_disk_at_a_restart_makes_an_observer_for_good() {
    let mut wiped = MemDisk::new();
    let r = Store::recover(&mut wiped, false).unwrap();
    assert!(r.report.disk_lost);
    assert_eq!(r.meta.standing, Standing::Observer);
    let again = Store::recover(&mut wiped, false).unwrap();
    assert_eq!(again.meta.standing, Standing::Observer);
    assert!(!again.report.disk_lost, "the standing is durable; the loss is reported once");
}
