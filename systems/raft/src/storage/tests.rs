//! Recovery tests: each damages a `MemDisk` in one precise way between a write and a restart,
//! and checks that recovery classifies the damage as protocol-aware recovery requires (Alagappan
//! et al., FAST 2018): unacknowledged damage is cut, acknowledged damage becomes a hole.

use super::*;
use crate::msg::Command;
use faultline_services::KvStore;
use faultline_sim::disk::log::HEADER_LEN;
use faultline_sim::disk::MemDisk;

fn entry(index: u64, term: u64) -> Entry {
    Entry { index, term, command: Command::Noop }
}

fn open(disk: &mut MemDisk) -> Recovery {
    Store::recover(disk, true).expect("recovery reads a MemDisk")
}

/// Byte offset of record `seq` in the log file, found by walking the headers.
fn record_offset(disk: &mut MemDisk, seq: u64) -> u64 {
    let data = disk.read_all(LOG_FILE).unwrap().unwrap();
    let mut at = 0usize;
    for _ in 0..seq {
        let len = u32::from_le_bytes(data[at + 12..at + 16].try_into().unwrap()) as usize;
        at += HEADER_LEN + len;
    }
    at as u64
}

/// Flips a byte inside record `seq`'s payload and makes the damage durable.
fn corrupt_record(disk: &mut MemDisk, seq: u64) {
    let at = record_offset(disk, seq) + HEADER_LEN as u64;
    let mut byte = disk.read(LOG_FILE, at, 1).unwrap();
    byte[0] ^= 0x5a;
    disk.write(LOG_FILE, at, &byte).unwrap();
    disk.sync(LOG_FILE).unwrap();
}

fn flip_file(disk: &mut MemDisk, file: &str) {
    let mut data = disk.read_all(file).unwrap().unwrap();
    let last = data.len() - 1;
    data[last] ^= 0xff;
    disk.write(file, 0, &data).unwrap();
    disk.sync(file).unwrap();
}

/// Three acknowledged batches: records are E1 M E2 E3 M E4 M (seqs 0..=6).
fn three_batches(disk: &mut MemDisk) {
    let mut store = open(disk).store;
    store.append(disk, &[entry(1, 1)], LogId::new(1, 1)).unwrap();
    store.append(disk, &[entry(2, 1), entry(3, 2)], LogId::new(3, 2)).unwrap();
    store.append(disk, &[entry(4, 2)], LogId::new(4, 2)).unwrap();
}

fn terms(log: &RaftLog) -> Vec<Option<u64>> {
    (1..=log.last_index()).map(|i| if log.is_hole(i) { None } else { log.term_at(i) }).collect()
}

#[test]
fn a_fresh_disk_recovers_to_nothing() {
    let mut disk = MemDisk::new();
    let r = open(&mut disk);
    assert_eq!(r.hard, HardState::default());
    assert_eq!(r.log.last(), LogId::default());
    assert_eq!(r.report, RecoveryReport::default());
}

#[test]
fn synced_state_survives_a_crash_and_unsynced_appends_do_not() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    let mut store = open(&mut disk).store;
    let hard = HardState { term: 2, voted_for: Some(NodeId(1)), promise: LogId::new(4, 2) };
    store.save_hard_state(&mut disk, &hard).unwrap();
    // An append that never reached its sync.
    store.wal.append(&mut disk, &LogRecord::Entry(entry(5, 2))).unwrap();
    disk.crash();
    let r = open(&mut disk);
    assert_eq!(r.hard, hard);
    assert_eq!(terms(&r.log), vec![Some(1), Some(1), Some(2), Some(2)]);
    assert_eq!(r.marked, LogId::new(4, 2));
}

#[test]
fn a_damaged_entry_before_a_persist_record_becomes_a_hole() {
    // Entry 2 (record 2) was synced and marked, so it may have been acknowledged: corruption.
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    corrupt_record(&mut disk, 2);
    let r = open(&mut disk);
    assert_eq!(terms(&r.log), vec![Some(1), None, Some(2), Some(2)]);
    assert_eq!(r.report.holes, 1);
    assert_eq!(r.report.records_cut, 0);
}

#[test]
fn a_damaged_last_entry_keeps_its_term_from_the_persist_record() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    corrupt_record(&mut disk, 5); // entry 4; the persist record after it names (4, term 2)
    let r = open(&mut disk);
    assert!(r.log.is_hole(4));
    assert_eq!(r.log.last(), LogId::new(4, 2));
}

#[test]
fn damage_after_the_last_persist_record_was_never_acknowledged_and_is_cut() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    let mut store = open(&mut disk).store;
    // Entries 5 and 6 synced, but the node crashed before their persist record.
    for e in [entry(5, 3), entry(6, 3)] {
        store.wal.append(&mut disk, &LogRecord::Entry(e)).unwrap();
    }
    store.wal.sync(&mut disk).unwrap();
    corrupt_record(&mut disk, 7); // entry 5; entry 6 is intact after it
    let r = open(&mut disk);
    assert_eq!(r.log.last(), LogId::new(4, 2));
    assert_eq!(r.report.holes, 0);
    assert_eq!(r.report.records_cut, 2);
    // A crash or two corruptions (entry 6's persist record too)? Ambiguous: the node promises
    // to vote only for logs that end in a later term.
    assert_eq!(r.hard.promise.index, u64::MAX);
    // The cut is durable: a second recovery sees the same log and cuts nothing more.
    disk.crash();
    let again = open(&mut disk);
    assert_eq!(again.log.last(), LogId::new(4, 2));
    assert_eq!(again.report.records_cut, 0);
}

#[test]
fn a_torn_persist_record_loses_nothing() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    let len = disk.len(LOG_FILE).unwrap().unwrap();
    disk.truncate(LOG_FILE, len - 3).unwrap(); // tear the last record (a persist record)
    disk.sync(LOG_FILE).unwrap();
    let r = open(&mut disk);
    assert_eq!(r.log.last(), LogId::new(4, 2));
    assert!(r.report.torn_bytes > 0);
    assert_eq!(r.report.holes, 0);
}

#[test]
fn a_torn_persist_record_with_garbage_to_its_end_loses_nothing_either() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    corrupt_record(&mut disk, 6); // the last persist record, at full length
    let r = open(&mut disk);
    assert_eq!(r.log.last(), LogId::new(4, 2));
    assert!(!r.report.tail_ambiguous, "{:?}", r.report);
    assert_eq!(r.hard.promise, LogId::default(), "one record cannot hide an acknowledgement");
}

/// Found by the sweep (seed 1048 after crash points were added): bit flips at rest in the last
/// three records, an acknowledged entry and its persist record among them, read as one torn
/// tail; the node cut them and then voted for a candidate that lacked a committed entry.
#[test]
fn a_damaged_tail_of_several_records_is_an_unknown_loss() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    for seq in 4..=6 {
        corrupt_record(&mut disk, seq); // M E4 M: the last three records, E4 acknowledged
    }
    let r = open(&mut disk);
    assert!(r.report.tail_ambiguous, "{:?}", r.report);
    assert_eq!(r.hard.promise, LogId { term: r.hard.term, index: u64::MAX });
}

#[test]
fn a_damaged_metadata_copy_is_repaired_from_the_other() {
    let mut disk = MemDisk::new();
    let mut store = open(&mut disk).store;
    let hard = HardState { term: 7, voted_for: Some(NodeId(2)), promise: LogId::default() };
    store.save_hard_state(&mut disk, &hard).unwrap();
    flip_file(&mut disk, META_FILES[0]);
    let r = open(&mut disk);
    assert_eq!(r.hard, hard);
    assert!(r.report.meta_repaired && !r.report.meta_lost);
}

#[test]
fn the_newer_metadata_copy_wins_after_a_crash_between_the_two_writes() {
    let mut disk = MemDisk::new();
    let mut store = open(&mut disk).store;
    store.save_hard_state(&mut disk, &HardState { term: 1, ..HardState::default() }).unwrap();
    // Only the first copy of the next write made it.
    let newer = MetaRecord { version: 2, hard: HardState { term: 2, ..HardState::default() } };
    meta_file(META_FILES[0]).replace(&mut disk, &newer).unwrap();
    let r = open(&mut disk);
    assert_eq!(r.hard.term, 2);
}

#[test]
fn both_metadata_copies_damaged_is_reported_as_lost() {
    let mut disk = MemDisk::new();
    let mut store = open(&mut disk).store;
    store.save_hard_state(&mut disk, &HardState { term: 3, ..HardState::default() }).unwrap();
    flip_file(&mut disk, META_FILES[0]);
    flip_file(&mut disk, META_FILES[1]);
    assert!(open(&mut disk).report.meta_lost);
}

#[test]
fn a_damaged_snapshot_makes_everything_it_covered_a_hole() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    let mut store = open(&mut disk).store;
    let snap = Snapshot { last: LogId::new(3, 2), members: vec![NodeId(0)], kv: KvStore::default() };
    store.save_snapshot(&mut disk, &snap).unwrap();
    store.rewrite(&mut disk, snap.last, [entry(4, 2)].iter(), LogId::new(4, 2)).unwrap();
    let intact = open(&mut disk);
    assert_eq!(intact.log.base(), LogId::new(3, 2));
    assert_eq!(intact.snapshot.map(|s| s.last), Some(LogId::new(3, 2)));
    flip_file(&mut disk, SNAPSHOT_FILE);
    let r = open(&mut disk);
    assert!(r.report.snapshot_lost);
    assert_eq!(r.log.base(), LogId::default());
    assert_eq!(terms(&r.log), vec![None, None, None, Some(2)]);
    assert_eq!(r.log.term_at(3), Some(2), "the Base record names the snapshot's last term");
}

#[test]
fn truncation_then_append_reads_back_as_the_new_history() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    let mut r = open(&mut disk);
    r.store.truncate_from(&mut disk, 0, 3).unwrap();
    r.store.append(&mut disk, &[entry(3, 5)], LogId::new(3, 5)).unwrap();
    disk.crash();
    let back = open(&mut disk);
    assert_eq!(terms(&back.log), vec![Some(1), Some(1), Some(5)]);
    assert_eq!(back.marked, LogId::new(3, 5));
}

#[test]
fn a_full_disk_rolls_the_batch_back() {
    // A disk that refuses writes past a size limit.
    struct Small(MemDisk, u64);
    impl Storage for Small {
        fn read(&mut self, f: &str, o: u64, l: usize) -> Result<Vec<u8>, DiskError> {
            self.0.read(f, o, l)
        }
        fn write(&mut self, f: &str, o: u64, d: &[u8]) -> Result<(), DiskError> {
            if o + d.len() as u64 > self.1 {
                return Err(DiskError::Full(f.into()));
            }
            self.0.write(f, o, d)
        }
        fn append(&mut self, f: &str, d: &[u8]) -> Result<u64, DiskError> {
            self.0.append(f, d)
        }
        fn len(&mut self, f: &str) -> Result<Option<u64>, DiskError> {
            self.0.len(f)
        }
        fn truncate(&mut self, f: &str, l: u64) -> Result<(), DiskError> {
            self.0.truncate(f, l)
        }
        fn sync(&mut self, f: &str) -> Result<(), DiskError> {
            self.0.sync(f)
        }
        fn rename(&mut self, a: &str, b: &str) -> Result<(), DiskError> {
            self.0.rename(a, b)
        }
        fn remove(&mut self, f: &str) -> Result<(), DiskError> {
            self.0.remove(f)
        }
        fn list(&mut self) -> Result<Vec<String>, DiskError> {
            self.0.list()
        }
    }
    let mut disk = Small(MemDisk::new(), 200);
    let mut store = Store::recover(&mut disk, true).unwrap().store;
    store.append(&mut disk, &[entry(1, 1)], LogId::new(1, 1)).unwrap();
    let many: Vec<Entry> = (2..20).map(|i| entry(i, 1)).collect();
    let err = store.append(&mut disk, &many, LogId::new(19, 1)).unwrap_err();
    assert!(matches!(err, DiskError::Full(_)));
    assert_eq!(store.seqs.len(), 1);
    disk.0.crash();
    let r: Recovery = Store::recover(&mut disk, true).unwrap();
    assert_eq!(r.log.last(), LogId::new(1, 1));
}

/// A `MemDisk` with latent sector errors: reads that reach `bad[file]` fail until the file is
/// replaced or truncated below it, as on the simulator's disk.
struct Latent {
    disk: MemDisk,
    bad: BTreeMap<String, u64>,
}

impl Storage for Latent {
    fn read(&mut self, f: &str, o: u64, l: usize) -> Result<Vec<u8>, DiskError> {
        match self.bad.get(f) {
            Some(&from) if o + l as u64 > from => Err(DiskError::ReadError { file: f.into(), offset: from }),
            _ => self.disk.read(f, o, l),
        }
    }
    fn write(&mut self, f: &str, o: u64, d: &[u8]) -> Result<(), DiskError> {
        self.disk.write(f, o, d)
    }
    fn append(&mut self, f: &str, d: &[u8]) -> Result<u64, DiskError> {
        self.disk.append(f, d)
    }
    fn len(&mut self, f: &str) -> Result<Option<u64>, DiskError> {
        self.disk.len(f)
    }
    fn truncate(&mut self, f: &str, l: u64) -> Result<(), DiskError> {
        if self.bad.get(f).is_some_and(|&from| l <= from) {
            self.bad.remove(f);
        }
        self.disk.truncate(f, l)
    }
    fn sync(&mut self, f: &str) -> Result<(), DiskError> {
        self.disk.sync(f)
    }
    fn rename(&mut self, a: &str, b: &str) -> Result<(), DiskError> {
        self.bad.remove(b);
        self.disk.rename(a, b)
    }
    fn remove(&mut self, f: &str) -> Result<(), DiskError> {
        self.bad.remove(f);
        self.disk.remove(f)
    }
    fn list(&mut self) -> Result<Vec<String>, DiskError> {
        self.disk.list()
    }
}

#[test]
fn lost_metadata_with_an_unreadable_tail_stays_lost_across_restarts() {
    // Both metadata copies and the log's tail are unreadable. Recovery used to write its
    // "later terms only" promise with the default term 0 over the lost copies and cut the
    // tail; the next start then read term 0 and no vote as intact, and voted for a shorter
    // log that lacked entries this node had acknowledged (a leader completeness violation).
    let mut mem = MemDisk::new();
    three_batches(&mut mem);
    let mut store = open(&mut mem).store;
    store.save_hard_state(&mut mem, &HardState { term: 2, ..HardState::default() }).unwrap();
    let tail = record_offset(&mut mem, 5);
    let bad = META_FILES.iter().map(|f| (f.to_string(), 0)).chain([(LOG_FILE.to_string(), tail)]);
    let mut disk = Latent { disk: mem, bad: bad.collect() };
    let log_len = disk.len(LOG_FILE).unwrap();
    for _ in 0..2 {
        let r: Recovery = Store::recover(&mut disk, true).unwrap();
        assert!(r.report.meta_lost && r.report.tail_unreadable, "{:?}", r.report);
        assert_eq!(disk.len(LOG_FILE).unwrap(), log_len, "a failed node leaves its log alone");
    }
}

#[test]
fn a_lost_snapshot_with_no_record_naming_it_promises_later_terms_only() {
    // Records after the snapshot: Base E4 M (seqs 0..=2). Damage to the snapshot, the Base
    // record and the persist record leaves nothing that says how far the log reached; the node
    // had acknowledged up to index 4, so voting for a log that ends at index 1 of term 2 would
    // break the election restriction (swarm seed 1019 with a small snapshot threshold).
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    let mut store = open(&mut disk).store;
    store.save_hard_state(&mut disk, &HardState { term: 2, ..HardState::default() }).unwrap();
    let snap = Snapshot { last: LogId::new(3, 2), members: vec![NodeId(0)], kv: KvStore::default() };
    store.save_snapshot(&mut disk, &snap).unwrap();
    store.rewrite(&mut disk, snap.last, [entry(4, 2)].iter(), LogId::new(4, 2)).unwrap();
    flip_file(&mut disk, SNAPSHOT_FILE);
    corrupt_record(&mut disk, 0);
    corrupt_record(&mut disk, 2);
    let r = open(&mut disk);
    assert!(r.report.snapshot_lost && r.report.holes == 0, "{:?}", r.report);
    assert_eq!(r.hard.promise, LogId { term: 2, index: u64::MAX });
    assert_eq!(open(&mut disk).hard.promise, LogId { term: 2, index: u64::MAX }, "durably");
}

#[test]
fn a_crash_between_installing_a_snapshot_and_rewriting_the_log_drops_the_conflicting_suffix() {
    // The log holds 1..=4 with (3, t2); a leader's snapshot ends at (3, t3). The snapshot file is
    // replaced, then the node crashes before the log is rewritten. Keeping (4, t2) after a base
    // of (3, t3) would break log matching (swarm seed 378 with one entry per message).
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    let mut store = open(&mut disk).store;
    let snap = Snapshot { last: LogId::new(3, 3), members: vec![NodeId(0)], kv: KvStore::default() };
    store.save_snapshot(&mut disk, &snap).unwrap();
    disk.crash();
    for _ in 0..2 {
        let r = open(&mut disk);
        assert_eq!(r.log.base(), LogId::new(3, 3));
        assert_eq!(r.log.last(), LogId::new(3, 3), "the term-2 suffix is gone");
    }
}

#[test]
fn a_crash_after_installing_a_matching_snapshot_keeps_the_suffix() {
    let mut disk = MemDisk::new();
    three_batches(&mut disk);
    let mut store = open(&mut disk).store;
    let snap = Snapshot { last: LogId::new(3, 2), members: vec![NodeId(0)], kv: KvStore::default() };
    store.save_snapshot(&mut disk, &snap).unwrap();
    disk.crash();
    assert_eq!(open(&mut disk).log.last(), LogId::new(4, 2));
}
