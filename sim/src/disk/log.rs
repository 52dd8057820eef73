//! `RecordLog`: an append-only file of checksummed records, and recovery that reports damage.
//!
//! Each record is a 24-byte header followed by its payload:
//!
//! ```text
//! magic u32 | seq u64 | len u32 | payload crc32c u32 | header crc32c u32 (of the 20 bytes before)
//! ```
//!
//! `seq` numbers the records of a file from 0, so recovery can tell how many records a damaged
//! region held and can find its way back to intact records after it. Recovery never trusts a
//! record whose checksums fail. It distinguishes two kinds of damage, because a protocol must
//! treat them differently (protocol-aware recovery, Alagappan et al., FAST 2018):
//!
//! - a damaged region followed by intact records ([`RecordSlot::Damaged`]) is corruption of
//!   records that may have been synced and acknowledged, so they must be repaired, from peers,
//!   before the node relies on them. (A disk that writes back unsynced pages out of order can
//!   also leave a hole of never-synced records before later never-synced ones; recovery cannot
//!   tell the two apart, and peers that never had those records say so during repair.)
//! - damage with nothing intact after it ([`Recovered::torn_tail`]) is what a crash in the middle
//!   of an unsynced append leaves, but a bit flip in the last synced record looks the same. It
//!   is cut off; the protocol learns the sequence numbers it may have lost and decides. A tail
//!   that could not be read at all (a latent sector error) is cut off too but flagged
//!   (`TornTail::unreadable`): that is never a tear, and it may have held synced records.
//!
//! Recovery reads around unreadable sectors (they count as damage) and, when it finds damage,
//! reads the file again before believing it: a bit flipped on the way from the disk is gone on
//! a second read, and only damage that persists may be cut off as a torn tail.

use super::{DiskError, Storage};

const MAGIC: u32 = 0x464C_5243; // "FLRC"
/// Bytes read at a time when salvaging around unreadable sectors: the smallest sector size.
const SALVAGE_BLOCK: usize = 512;
/// Extra reads of a log whose first read showed damage.
const REREADS: usize = 2;
/// Bytes of a record header.
pub const HEADER_LEN: usize = 24;

/// One position of a recovered log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordSlot {
    /// A record that passed its checksum.
    Intact {
        /// The record's sequence number, from 0 in append order.
        seq: u64,
        /// The bytes appended.
        payload: Vec<u8>,
    },
    /// Records `seq_first..=seq_last` are unreadable; intact records follow them.
    Damaged {
        /// The first unreadable record's sequence number.
        seq_first: u64,
        /// The last unreadable record's sequence number.
        seq_last: u64,
    },
}

/// The tail cut off during recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The sequence number the first lost record had (or would have had).
    pub seq: u64,
    /// Bytes removed from the end of the file.
    pub bytes: u64,
    /// Whether the first lost record's header was intact (only its payload failed): then its
    /// length and `seq` are certain, and a bit flip in a synced record is as likely as a tear.
    pub header_intact: bool,
    /// Whether the cut region held sectors that could not be read (latent sector errors). A
    /// crash tears writes but never makes sectors unreadable, so such a tail is not a tear: it
    /// may have held synced, acknowledged records, and how many is unknown.
    pub unreadable: bool,
    /// Whether the tail can hold only one record, the first lost one: its intact header says it
    /// reaches the end of the file (or past it: cut short), or fewer bytes than two headers
    /// remain. A crash tears only the last write, and damage at rest never shortens a file, so
    /// a longer tail may be synced records damaged at rest: recovery cannot tell how many.
    pub single_record: bool,
}

/// What recovery found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Every position of the log up to the torn tail, in sequence order.
    pub slots: Vec<RecordSlot>,
    /// The tail cut off, if recovery found one.
    pub torn_tail: Option<TornTail>,
}

impl Recovered {
    /// The payloads of intact records in order, or `None` if any region is damaged.
    pub fn intact_payloads(&self) -> Option<Vec<&[u8]>> {
        self.slots
            .iter()
            .map(|s| match s {
                RecordSlot::Intact { payload, .. } => Some(payload.as_slice()),
                RecordSlot::Damaged { .. } => None,
            })
            .collect()
    }
}

/// An open record log. Holds no file handle: every call takes the node's disk.
#[derive(Clone, Debug)]
pub struct RecordLog {
    file: String,
    end: u64,
    /// Start offset of each record (by seq) whose start is known, ascending.
    starts: Vec<(u64, u64)>,
    next_seq: u64,
    /// An unreadable tail still on disk past `end`: cut before the next append (see `open`).
    tail_on_disk: bool,
}

impl RecordLog {
    /// Opens (or creates, durably) the log, recovers it, and cuts off a torn tail (synced at
    /// once, so the cut itself survives a crash). Damaged regions are left in place for the
    /// caller. An unreadable tail (`TornTail::unreadable`) is dropped from the log but left on
    /// disk until the next append or `truncate`: a caller that must record what it learned from
    /// it (that acknowledged records may be gone) can do so durably first, and a crash before
    /// then finds the unreadable tail again.
    pub fn open(disk: &mut dyn Storage, file: &str) -> Result<(RecordLog, Recovered), DiskError> {
        if disk.len(file)?.is_none() {
            disk.write(file, 0, &[])?;
            disk.sync(file)?;
        }
        let (len, (recovered, starts, end, next_seq)) = recover(disk, file)?;
        let tail_on_disk = recovered.torn_tail.as_ref().is_some_and(|t| t.unreadable);
        if end < len && !tail_on_disk {
            disk.truncate(file, end)?;
            disk.sync(file)?;
        }
        Ok((RecordLog { file: file.to_string(), end, starts, next_seq, tail_on_disk }, recovered))
    }

    /// Replaces the log's whole contents with `payloads` durably and atomically (compaction,
    /// repair); the new records are numbered from 0.
    pub fn rewrite<'p>(
        disk: &mut dyn Storage,
        file: &str,
        payloads: impl IntoIterator<Item = &'p [u8]>,
    ) -> Result<RecordLog, DiskError> {
        let mut log = RecordLog {
            file: file.to_string(),
            end: 0,
            starts: Vec::new(),
            next_seq: 0,
            tail_on_disk: false,
        };
        let mut buf = Vec::new();
        for payload in payloads {
            log.starts.push((log.next_seq, buf.len() as u64));
            encode_into(&mut buf, log.next_seq, payload);
            log.next_seq += 1;
        }
        log.end = buf.len() as u64;
        disk.replace_durably(file, &buf)?;
        Ok(log)
    }

    /// The name of the log's file on the node's disk.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Records in the log, including damaged ones.
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    /// Whether the log holds no records, damaged ones included.
    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// Appends a record (not yet durable); returns its seq.
    pub fn append(&mut self, disk: &mut dyn Storage, payload: &[u8]) -> Result<u64, DiskError> {
        if self.tail_on_disk {
            disk.truncate(&self.file, self.end)?;
            self.tail_on_disk = false;
        }
        let mut buf = Vec::with_capacity(HEADER_LEN + payload.len());
        let seq = self.next_seq;
        encode_into(&mut buf, seq, payload);
        disk.write(&self.file, self.end, &buf)?;
        self.starts.push((seq, self.end));
        self.end += buf.len() as u64;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Makes every appended record durable.
    pub fn sync(&self, disk: &mut dyn Storage) -> Result<(), DiskError> {
        disk.sync(&self.file)
    }

    /// Keeps the first `keep` records and drops the rest (not yet durable). When `keep` falls
    /// inside a damaged region the whole region goes: its records were unreadable anyway.
    pub fn truncate(&mut self, disk: &mut dyn Storage, keep: u64) -> Result<(), DiskError> {
        if keep >= self.next_seq {
            if self.tail_on_disk {
                disk.truncate(&self.file, self.end)?;
                self.tail_on_disk = false;
            }
            return Ok(());
        }
        self.tail_on_disk = false;
        let at = self.starts.partition_point(|&(seq, _)| seq < keep);
        let (first_seq, offset) = match self.starts.get(at) {
            Some(&(seq, offset)) if seq == keep => (seq, offset),
            _ => self.starts.get(at.saturating_sub(1)).copied().unwrap_or((0, 0)),
        };
        self.starts.truncate(self.starts.partition_point(|&(seq, _)| seq < first_seq));
        disk.truncate(&self.file, offset)?;
        self.end = offset;
        self.next_seq = first_seq;
        Ok(())
    }
}

/// Reads and scans the log, reading again while damage shows, and keeps the scan with the most
/// intact records: (file length, scan).
fn recover(disk: &mut dyn Storage, file: &str) -> Result<(u64, Scan), DiskError> {
    let (data, unreadable) = read_salvaging(disk, file)?;
    let mut best = scan(&data, &unreadable);
    for _ in 0..REREADS {
        if best.0.torn_tail.is_none() && best.0.intact_payloads().is_some() {
            break;
        }
        let (data, unreadable) = read_salvaging(disk, file)?;
        let again = scan(&data, &unreadable);
        if intact_count(&again.0) > intact_count(&best.0) {
            best = again;
        }
    }
    Ok((data.len() as u64, best))
}

fn intact_count(recovered: &Recovered) -> usize {
    recovered.slots.iter().filter(|s| matches!(s, RecordSlot::Intact { .. })).count()
}

/// The whole file, and the offsets of the blocks that failed to read (latent sector errors).
/// Those read as zeros, which no record checksum accepts, so they surface as damage instead of
/// failing the whole recovery.
fn read_salvaging(disk: &mut dyn Storage, file: &str) -> Result<(Vec<u8>, Vec<usize>), DiskError> {
    let len = disk.len(file)?.unwrap_or(0) as usize;
    match disk.read(file, 0, len) {
        Err(DiskError::ReadError { .. }) => {}
        whole => return whole.map(|data| (data, Vec::new())),
    }
    let mut data = vec![0u8; len];
    let mut unreadable = Vec::new();
    for start in (0..len).step_by(SALVAGE_BLOCK) {
        let want = SALVAGE_BLOCK.min(len - start);
        match disk.read(file, start as u64, want) {
            Ok(block) => {
                let n = block.len().min(want);
                data[start..start + n].copy_from_slice(&block[..n]);
            }
            Err(DiskError::ReadError { .. }) => unreadable.push(start),
            Err(e) => return Err(e),
        }
    }
    Ok((data, unreadable))
}

fn encode_into(buf: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let start = buf.len();
    buf.extend_from_slice(&MAGIC.to_le_bytes());
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    let header_crc = crc32c::crc32c(&buf[start..start + 20]);
    buf.extend_from_slice(&header_crc.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// A header that passes its own checksum: (seq, payload len).
fn header_at(data: &[u8], offset: usize) -> Option<(u64, usize)> {
    let h = data.get(offset..offset + HEADER_LEN)?;
    let word = |at: usize| u32::from_le_bytes(h[at..at + 4].try_into().unwrap());
    if word(0) != MAGIC || word(20) != crc32c::crc32c(&h[..20]) {
        return None;
    }
    let seq = u64::from_le_bytes(h[4..12].try_into().unwrap());
    Some((seq, word(12) as usize))
}

/// A whole intact record at `offset`: (seq, payload range end).
fn record_at(data: &[u8], offset: usize) -> Option<(u64, usize)> {
    let (seq, len) = header_at(data, offset)?;
    let body = offset + HEADER_LEN;
    let payload = data.get(body..body.checked_add(len)?)?;
    let crc = u32::from_le_bytes(data[offset + 16..offset + 20].try_into().unwrap());
    (crc32c::crc32c(payload) == crc).then_some((seq, body + len))
}

/// The next intact record after damage at `offset` whose seq is at least `seq`.
fn resync(data: &[u8], offset: usize, seq: u64) -> Option<(usize, u64)> {
    (offset + 1..data.len().saturating_sub(HEADER_LEN - 1))
        .find_map(|at| record_at(data, at).filter(|(s, _)| *s >= seq).map(|(s, _)| (at, s)))
}

type Scan = (Recovered, Vec<(u64, u64)>, u64, u64);

/// Scans `data`; `unreadable` lists the offsets of blocks that could not be read.
fn scan(data: &[u8], unreadable: &[usize]) -> Scan {
    let (mut offset, mut seq) = (0usize, 0u64);
    let mut recovered = Recovered::default();
    let mut starts = Vec::new();
    while offset < data.len() {
        if let Some((s, next)) = record_at(data, offset).filter(|(s, _)| *s == seq) {
            let payload = data[offset + HEADER_LEN..next].to_vec();
            recovered.slots.push(RecordSlot::Intact { seq: s, payload });
            starts.push((seq, offset as u64));
            offset = next;
            seq += 1;
            continue;
        }
        let Some((at, found)) = resync(data, offset, seq) else {
            let header = header_at(data, offset).filter(|(s, _)| *s == seq);
            let bytes = (data.len() - offset) as u64;
            let single_record = bytes < 2 * HEADER_LEN as u64
                || header.is_some_and(|(_, len)| (HEADER_LEN + len) as u64 >= bytes);
            let unreadable = unreadable.iter().any(|block| block + SALVAGE_BLOCK > offset);
            let header_intact = header.is_some();
            recovered.torn_tail = Some(TornTail { seq, bytes, header_intact, unreadable, single_record });
            break;
        };
        if found > seq {
            recovered.slots.push(RecordSlot::Damaged { seq_first: seq, seq_last: found - 1 });
            starts.push((seq, offset as u64));
        }
        offset = at;
        seq = found;
    }
    (recovered, starts, offset as u64, seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::MemDisk;

    fn log_with(disk: &mut MemDisk, n: u64) -> RecordLog {
        let (mut log, rec) = RecordLog::open(disk, "wal").unwrap();
        assert!(rec.slots.is_empty());
        for i in 0..n {
            log.append(disk, format!("record-{i}").as_bytes()).unwrap();
        }
        log.sync(disk).unwrap();
        log
    }

    fn payloads(rec: &Recovered) -> Vec<String> {
        rec.intact_payloads().unwrap().iter().map(|p| String::from_utf8(p.to_vec()).unwrap()).collect()
    }

    #[test]
    fn reopen_returns_every_synced_record() {
        let mut d = MemDisk::new();
        log_with(&mut d, 5);
        d.crash();
        let (log, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(payloads(&rec), (0..5).map(|i| format!("record-{i}")).collect::<Vec<_>>());
        assert_eq!(rec.torn_tail, None);
        assert_eq!(log.len(), 5);
    }

    #[test]
    fn torn_tail_is_cut_and_reported() {
        let mut d = MemDisk::new();
        log_with(&mut d, 3);
        let len = d.len("wal").unwrap().unwrap();
        d.write("wal", len, &[0x43, 0x52, 0x4C]).unwrap(); // a partial header
        let (mut log, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(payloads(&rec).len(), 3);
        assert_eq!(
            rec.torn_tail,
            Some(TornTail { seq: 3, bytes: 3, header_intact: false, unreadable: false, single_record: true })
        );
        assert_eq!(d.len("wal").unwrap(), Some(len));
        log.append(&mut d, b"after").unwrap();
        log.sync(&mut d).unwrap();
        let (_, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(payloads(&rec).last().unwrap(), "after");
    }

    #[test]
    fn corruption_in_the_middle_is_damage_not_a_tail() {
        let mut d = MemDisk::new();
        log_with(&mut d, 5);
        // Flip a bit in record 1's payload: records 2..4 are still found.
        let record_len = (HEADER_LEN + "record-0".len()) as u64;
        let at = record_len + HEADER_LEN as u64 + 2;
        let mut byte = d.read("wal", at, 1).unwrap();
        byte[0] ^= 0x10;
        d.write("wal", at, &byte).unwrap();
        let (_, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(rec.slots.len(), 5);
        assert_eq!(rec.slots[1], RecordSlot::Damaged { seq_first: 1, seq_last: 1 });
        assert!(matches!(&rec.slots[4], RecordSlot::Intact { seq: 4, .. }));
        assert_eq!(rec.torn_tail, None);
    }

    #[test]
    fn corrupt_header_resyncs_to_the_next_record() {
        let mut d = MemDisk::new();
        log_with(&mut d, 4);
        let record_len = (HEADER_LEN + "record-0".len()) as u64;
        d.write("wal", 2 * record_len + 5, &[0xFF, 0xFF]).unwrap(); // record 2's seq field
        let (_, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(rec.slots[2], RecordSlot::Damaged { seq_first: 2, seq_last: 2 });
        assert!(matches!(&rec.slots[3], RecordSlot::Intact { seq: 3, .. }));
    }

    #[test]
    fn truncate_then_append_keeps_numbering() {
        let mut d = MemDisk::new();
        let mut log = log_with(&mut d, 5);
        log.truncate(&mut d, 2).unwrap();
        log.append(&mut d, b"new-2").unwrap();
        log.sync(&mut d).unwrap();
        let (log, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(payloads(&rec), vec!["record-0", "record-1", "new-2"]);
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn open_creates_the_file_durably() {
        let mut d = MemDisk::new();
        let (log, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(rec, Recovered::default());
        log.sync(&mut d).unwrap();
        d.crash();
        assert_eq!(d.list().unwrap(), vec!["wal".to_string()]);
    }

    /// A disk whose reads fail (or flip a bit) in a chosen way, over a `MemDisk`.
    struct Flaky {
        disk: MemDisk,
        /// Reads touching this byte fail with a read error.
        unreadable: Option<u64>,
        /// The next this-many reads flip bit 0 of this byte in the copy returned.
        flip: Option<(u64, usize)>,
    }

    impl Storage for Flaky {
        fn read(&mut self, file: &str, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
            if self.unreadable.is_some_and(|at| (offset..offset + len as u64).contains(&at)) {
                return Err(DiskError::ReadError { file: file.to_string(), offset });
            }
            let mut data = self.disk.read(file, offset, len)?;
            if let Some((at, reads)) = self.flip.filter(|(_, reads)| *reads > 0) {
                data[(at - offset) as usize] ^= 1;
                self.flip = Some((at, reads - 1));
            }
            Ok(data)
        }
        fn write(&mut self, file: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
            self.disk.write(file, offset, data)
        }
        fn append(&mut self, file: &str, data: &[u8]) -> Result<u64, DiskError> {
            self.disk.append(file, data)
        }
        fn len(&mut self, file: &str) -> Result<Option<u64>, DiskError> {
            self.disk.len(file)
        }
        fn truncate(&mut self, file: &str, len: u64) -> Result<(), DiskError> {
            self.disk.truncate(file, len)
        }
        fn sync(&mut self, file: &str) -> Result<(), DiskError> {
            self.disk.sync(file)
        }
        fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
            self.disk.rename(from, to)
        }
        fn remove(&mut self, file: &str) -> Result<(), DiskError> {
            self.disk.remove(file)
        }
        fn list(&mut self) -> Result<Vec<String>, DiskError> {
            self.disk.list()
        }
    }

    /// A log of 100 records of 26 bytes: 2600 bytes, several 512-byte blocks.
    fn flaky_log() -> Flaky {
        let mut disk = MemDisk::new();
        let (mut log, _) = RecordLog::open(&mut disk, "wal").unwrap();
        for i in 0..100 {
            log.append(&mut disk, format!("{i:02}").as_bytes()).unwrap();
        }
        log.sync(&mut disk).unwrap();
        Flaky { disk, unreadable: None, flip: None }
    }

    #[test]
    fn open_reads_around_an_unreadable_sector_and_reports_it_as_damage() {
        let mut d = flaky_log();
        d.unreadable = Some(1000);
        let (_, rec) = RecordLog::open(&mut d, "wal").unwrap();
        let damaged: Vec<_> = rec.slots.iter().filter(|s| matches!(s, RecordSlot::Damaged { .. })).collect();
        assert_eq!(damaged.len(), 1, "one damaged region: {damaged:?}");
        assert!(matches!(rec.slots.last(), Some(RecordSlot::Intact { seq: 99, .. })));
        assert_eq!(rec.torn_tail, None);
    }

    #[test]
    fn an_unreadable_tail_is_cut_but_flagged_as_no_tear() {
        // The last block cannot be read: nothing intact follows, so the tail is cut, but it is
        // flagged: a crash never makes sectors unreadable, so synced records may be gone.
        let mut d = flaky_log();
        d.unreadable = Some(2590);
        let (_, rec) = RecordLog::open(&mut d, "wal").unwrap();
        let tail = rec.torn_tail.expect("the unreadable block ends the log");
        assert!(tail.unreadable, "{tail:?}");
        assert!(tail.seq < 100 && tail.seq >= 2048 / 26 - 1, "{tail:?}");
        // Still on disk: a crash before the caller acts finds it again.
        let (mut log, again) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(again.torn_tail, Some(tail));
        // The next append cuts it, and the new record follows the intact ones.
        d.unreadable = None;
        log.append(&mut d, b"new").unwrap();
        log.sync(&mut d).unwrap();
        let (_, after) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(after.torn_tail, None);
        assert!(matches!(after.slots.last(), Some(RecordSlot::Intact { payload, .. }) if payload == b"new"));
    }

    #[test]
    fn open_reads_again_before_cutting_a_tail_a_read_flipped() {
        let mut d = flaky_log();
        let last_byte = 2599;
        d.flip = Some((last_byte, 1));
        let (log, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(rec.torn_tail, None, "the second read was clean");
        assert_eq!(log.len(), 100);
        // Damage that persists through every read is cut.
        d.flip = Some((last_byte, 1 + REREADS));
        let (log, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(rec.torn_tail.map(|t| t.seq), Some(99));
        assert_eq!(log.len(), 99);
    }

    #[test]
    fn rewrite_replaces_atomically() {
        let mut d = MemDisk::new();
        log_with(&mut d, 3);
        let parts: Vec<&[u8]> = vec![b"a", b"b"];
        RecordLog::rewrite(&mut d, "wal", parts).unwrap();
        d.crash();
        let (_, rec) = RecordLog::open(&mut d, "wal").unwrap();
        assert_eq!(payloads(&rec), vec!["a", "b"]);
    }
}
