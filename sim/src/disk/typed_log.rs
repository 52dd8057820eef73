//! `TypedLog`: a [`RecordLog`] of serde records, so a protocol appends and recovers values, not
//! bytes.
//!
//! Each record is one value encoded with postcard in one `RecordLog` record; the file format is
//! `RecordLog`'s. Recovery passes `RecordLog`'s findings through unchanged (damaged regions, the
//! torn tail), with one addition: an intact record that does not decode as `R` is reported as
//! damaged too, since the protocol cannot use it either way.

use super::log::{RecordLog, RecordSlot, TornTail};
use super::{DiskError, Storage};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

/// An open log of `R` records. Holds no file handle: every call takes the node's disk.
#[derive(Clone, Debug)]
pub struct TypedLog<R> {
    log: RecordLog,
    record: PhantomData<fn(R) -> R>,
}

/// One position of a recovered typed log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot<R> {
    /// Record `seq`, read back as written.
    Intact {
        /// The record's sequence number (its position in the file, from 0).
        seq: u64,
        /// The record.
        record: R,
    },
    /// Records `seq_first..=seq_last` are unreadable (or do not decode); intact records follow.
    Damaged {
        /// The first damaged record.
        seq_first: u64,
        /// The last damaged record.
        seq_last: u64,
    },
}

/// What recovery found: every position in order, and the tail it cut off (see [`TornTail`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery<R> {
    /// Every record position before the torn tail, in order.
    pub slots: Vec<Slot<R>>,
    /// The damaged end of the file that recovery cut off, if any.
    pub torn_tail: Option<TornTail>,
}

impl<R> Recovery<R> {
    /// The records before the first damaged position: what a protocol that trusts only an
    /// unbroken prefix keeps.
    pub fn intact_prefix(&self) -> impl Iterator<Item = &R> {
        self.slots.iter().map_while(|slot| match slot {
            Slot::Intact { record, .. } => Some(record),
            Slot::Damaged { .. } => None,
        })
    }
}

fn encode<R: Serialize>(record: &R) -> Vec<u8> {
    postcard::to_allocvec(record).expect("in-memory encoding cannot fail")
}

impl<R: Serialize + DeserializeOwned> TypedLog<R> {
    /// Opens (or creates) the log and recovers it: [`RecordLog::open`], then each intact payload
    /// decoded.
    pub fn open(disk: &mut dyn Storage, file: &str) -> Result<(Self, Recovery<R>), DiskError> {
        let (log, found) = RecordLog::open(disk, file)?;
        let slots = found
            .slots
            .into_iter()
            .map(|slot| match slot {
                RecordSlot::Intact { seq, payload } => match postcard::from_bytes(&payload) {
                    Ok(record) => Slot::Intact { seq, record },
                    Err(_) => Slot::Damaged { seq_first: seq, seq_last: seq },
                },
                RecordSlot::Damaged { seq_first, seq_last } => Slot::Damaged { seq_first, seq_last },
            })
            .collect();
        Ok((TypedLog { log, record: PhantomData }, Recovery { slots, torn_tail: found.torn_tail }))
    }

    /// Replaces the whole log with `records`, durably and atomically; they are numbered from 0.
    pub fn rewrite<'r>(
        disk: &mut dyn Storage,
        file: &str,
        records: impl IntoIterator<Item = &'r R>,
    ) -> Result<Self, DiskError>
    where
        R: 'r,
    {
        let payloads: Vec<Vec<u8>> = records.into_iter().map(encode).collect();
        let log = RecordLog::rewrite(disk, file, payloads.iter().map(Vec::as_slice))?;
        Ok(TypedLog { log, record: PhantomData })
    }

    /// Appends a record (not yet durable: [`TypedLog::sync`]); returns its seq.
    pub fn append(&mut self, disk: &mut dyn Storage, record: &R) -> Result<u64, DiskError> {
        self.log.append(disk, &encode(record))
    }

    /// Makes every appended record durable.
    pub fn sync(&self, disk: &mut dyn Storage) -> Result<(), DiskError> {
        self.log.sync(disk)
    }

    /// Keeps the first `keep` records (see [`RecordLog::truncate`]); durable with the next sync.
    pub fn truncate(&mut self, disk: &mut dyn Storage, keep: u64) -> Result<(), DiskError> {
        self.log.truncate(disk, keep)
    }

    /// Records in the log, damaged ones included.
    pub fn len(&self) -> u64 {
        self.log.len()
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// The log's file name.
    pub fn file(&self) -> &str {
        self.log.file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::MemDisk;
    use serde::Deserialize;

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    enum Rec {
        Put(u64, String),
        Mark(u64),
    }

    fn written(disk: &mut MemDisk, n: u64) -> TypedLog<Rec> {
        let (mut log, found) = TypedLog::open(disk, "wal").unwrap();
        assert!(found.slots.is_empty() && found.torn_tail.is_none());
        for i in 0..n {
            log.append(disk, &Rec::Put(i, format!("v{i}"))).unwrap();
        }
        log.append(disk, &Rec::Mark(n)).unwrap();
        log.sync(disk).unwrap();
        log
    }

    #[test]
    fn records_come_back_in_order_after_a_crash_and_unsynced_ones_do_not() {
        let mut disk = MemDisk::new();
        let mut log = written(&mut disk, 3);
        log.append(&mut disk, &Rec::Put(9, "unsynced".into())).unwrap();
        disk.crash();
        let (log, found) = TypedLog::<Rec>::open(&mut disk, "wal").unwrap();
        let back: Vec<Rec> = found.intact_prefix().cloned().collect();
        assert_eq!(
            back,
            vec![Rec::Put(0, "v0".into()), Rec::Put(1, "v1".into()), Rec::Put(2, "v2".into()), Rec::Mark(3)]
        );
        assert_eq!(log.len(), 4);
    }

    #[test]
    fn a_damaged_record_is_a_damaged_slot_and_the_prefix_stops_there() {
        let mut disk = MemDisk::new();
        written(&mut disk, 3);
        // The payload of record 1 starts after record 0 (header + payload) and its own header.
        let record0 = (crate::disk::log::HEADER_LEN + encode(&Rec::Put(0, "v0".into())).len()) as u64;
        let at = record0 + crate::disk::log::HEADER_LEN as u64;
        let byte = disk.read("wal", at, 1).unwrap()[0];
        disk.write("wal", at, &[byte ^ 0x40]).unwrap();
        let (_, found) = TypedLog::<Rec>::open(&mut disk, "wal").unwrap();
        assert_eq!(found.slots[1], Slot::Damaged { seq_first: 1, seq_last: 1 });
        assert!(matches!(found.slots[3], Slot::Intact { seq: 3, record: Rec::Mark(3) }));
        assert_eq!(found.intact_prefix().count(), 1);
    }

    #[test]
    fn an_intact_record_that_does_not_decode_is_damaged_and_a_torn_tail_is_passed_through() {
        let mut disk = MemDisk::new();
        let (mut raw, _) = RecordLog::open(&mut disk, "wal").unwrap();
        raw.append(&mut disk, &encode(&Rec::Mark(1))).unwrap();
        raw.append(&mut disk, &[0xff, 0xff]).unwrap();
        raw.append(&mut disk, &encode(&Rec::Mark(2))).unwrap();
        raw.sync(&mut disk).unwrap();
        let end = disk.len("wal").unwrap().unwrap();
        disk.write("wal", end, &[0x43, 0x52]).unwrap();
        let (log, found) = TypedLog::<Rec>::open(&mut disk, "wal").unwrap();
        assert_eq!(found.slots[1], Slot::Damaged { seq_first: 1, seq_last: 1 });
        assert_eq!(found.torn_tail.map(|t| (t.seq, t.bytes)), Some((3, 2)));
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn rewrite_and_truncate_keep_the_numbering() {
        let mut disk = MemDisk::new();
        written(&mut disk, 4);
        let records = [Rec::Mark(7), Rec::Put(8, "x".into()), Rec::Put(9, "y".into())];
        let mut log = TypedLog::rewrite(&mut disk, "wal", &records).unwrap();
        log.truncate(&mut disk, 2).unwrap();
        assert_eq!(log.append(&mut disk, &Rec::Mark(10)).unwrap(), 2);
        log.sync(&mut disk).unwrap();
        let (_, found) = TypedLog::<Rec>::open(&mut disk, "wal").unwrap();
        let back: Vec<Rec> = found.intact_prefix().cloned().collect();
        assert_eq!(back, vec![Rec::Mark(7), Rec::Put(8, "x".into()), Rec::Mark(10)]);
    }
}
