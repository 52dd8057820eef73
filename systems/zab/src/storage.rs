//! Persistence: epochs, snapshots of the data tree and the transaction log on the node's disk,
//! and recovery that never trusts a damaged record (protocol-aware recovery, after Alagappan et
//! al., FAST 2018, as Raft's storage does here).
//!
//! Files:
//! - `zab.meta.a`, `zab.meta.b`: the accepted and current epochs and the node's standing,
//!   checksummed, each replaced atomically, with a version. ZooKeeper keeps `acceptedEpoch` and
//!   `currentEpoch` in files of their own; here they are one record kept twice, because an
//!   epoch is this node's own promise and cannot be fetched from a peer: recovery takes the
//!   newest intact copy and rewrites the other.
//! - `zab.snap.<position>`: the data tree as of a history position, checksummed, written
//!   atomically. As in ZooKeeper, a new snapshot never overwrites the last one: a crash between
//!   writing it and rewriting the log must leave a snapshot the old log continues. Once the log
//!   is rewritten, the others are removed.
//! - `zab.log`: a `RecordLog`: a `Base` naming the position the log continues from, then one
//!   `Batch` record per durable append and a `Marker` after it. Recovery starts from the newest
//!   intact snapshot the log continues (it holds no earlier position than the log's base, and
//!   agrees on the zxid at the snapshot's position).
//!
//! The durability rule: a batch is appended and synced, then a marker naming its last position
//! is appended and synced, and only then may the node acknowledge those transactions. Between
//! two syncs there is one write, so a crash can tear or lose only the last record: the torn tail
//! is either an unmarked batch (never acknowledged, safe to drop) or a marker (whose batch
//! before it is intact). Any other damage (a damaged record with records after it, a tail that
//! may hold more than one record, an unreadable tail, a damaged snapshot) may have taken
//! acknowledged transactions: the node then marks itself `Repairing` (durably, before it cuts
//! anything) and keeps the intact prefix. A repairing node does not count in any quorum and
//! never leads until an established leader has synchronized it (see `lib.rs`).
//!
//! Both metadata copies damaged: the node cannot know which epochs it promised. It becomes an
//! `Observer` for good: it follows, syncs and serves reads, but never votes, leads or counts,
//! since a forgotten promise could let two leaders establish one epoch. A disk found empty at a
//! restart (wiped, replaced) lost the same promises and the history with them: the node
//! observes too. The metadata is written at the first boot, so an empty disk at any later
//! start is a lost one.

use crate::history::History;
use crate::msg::{Pos, Snapshot, Txn};
use faultline_sim::disk::{RecordLog, RecordSlot};
use faultline_sim::{DiskError, Storage};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The two copies of the metadata.
pub const META_FILES: [&str; 2] = ["zab.meta.a", "zab.meta.b"];
/// Snapshots of the data tree are `zab.snap.<position>`.
pub const SNAPSHOT_PREFIX: &str = "zab.snap.";
/// The transaction log.
pub const LOG_FILE: &str = "zab.log";

/// Whether a node may take part in quorums.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standing {
    /// A full member.
    #[default]
    Voter,
    /// Its history may lack transactions it acknowledged: it votes in elections (its epochs are
    /// intact) but counts in no quorum and never leads until a leader synchronizes it.
    Repairing,
    /// It lost its epochs: it only ever follows.
    Observer,
}

/// What must be durable before the node answers: its promises and its standing.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The last epoch it accepted from a prospective leader (the paper's f.p).
    pub accepted_epoch: u64,
    /// The last epoch whose NEWLEADER it acknowledged (the paper's f.a).
    pub current_epoch: u64,
    pub standing: Standing,
}

#[derive(Serialize, Deserialize)]
struct MetaRecord {
    version: u64,
    meta: Meta,
}

#[derive(Serialize, Deserialize)]
enum LogRecord {
    /// The first record of a rewritten log: the position the log continues from.
    Base { pos: Pos },
    /// Transactions at positions `first ..`.
    Batch { first: u64, txns: Vec<Txn> },
    /// Everything before this record is durable, and the history ended at `last`.
    Marker { last: Pos },
}

/// A checksum in front of an encoding, for files replaced whole.
fn seal<T: Serialize>(value: &T) -> Vec<u8> {
    let body = postcard::to_allocvec(value).expect("state always encodes");
    let mut out = crc32c::crc32c(&body).to_le_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

fn unseal<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    let (crc, body) = data.split_first_chunk::<4>()?;
    (u32::from_le_bytes(*crc) == crc32c::crc32c(body)).then(|| postcard::from_bytes(body).ok())?
}

/// A sealed file: `Ok(None)` missing, `Ok(Some(None))` damaged or unreadable.
fn read_sealed<T: DeserializeOwned>(
    disk: &mut dyn Storage,
    file: &str,
) -> Result<Option<Option<T>>, DiskError> {
    match disk.read_all(file) {
        Ok(None) => Ok(None),
        Ok(Some(data)) => Ok(Some(unseal(&data))),
        Err(DiskError::ReadError { .. }) => Ok(Some(None)),
        Err(e) => Err(e),
    }
}

fn encode(record: &LogRecord) -> Vec<u8> {
    postcard::to_allocvec(record).expect("records always encode")
}

/// What recovery found, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes of a torn tail cut off (a crash in the middle of a write).
    pub torn_bytes: u64,
    /// One metadata copy was bad and has been rewritten from the other.
    pub meta_repaired: bool,
    /// Both metadata copies were bad: the node observes from now on.
    pub meta_lost: bool,
    /// The disk was empty at a restart (wiped or replaced): the node's epochs and history are
    /// gone, and it observes from now on.
    pub disk_lost: bool,
    /// No intact snapshot the log continues (one was damaged): the node starts empty and
    /// repairs.
    pub snapshot_lost: bool,
    /// Snapshot files found damaged (whether or not one was needed).
    pub snapshots_damaged: u64,
    /// The log held damage that may have taken acknowledged transactions: the node repairs.
    pub log_damaged: bool,
}

/// Everything recovered.
pub(crate) struct Recovery {
    pub store: Store,
    pub meta: Meta,
    pub snapshot: Option<Snapshot>,
    pub history: History,
    /// The highest position a marker covers.
    pub marked: u64,
    pub report: RecoveryReport,
}

/// The node's open files.
pub(crate) struct Store {
    wal: RecordLog,
    meta_version: u64,
}

enum MetaFound {
    Fresh,
    Intact { version: u64, meta: Meta, repaired: bool },
    Lost,
}

fn read_meta(disk: &mut dyn Storage) -> Result<MetaFound, DiskError> {
    let mut copies = Vec::new();
    for file in META_FILES {
        copies.push(read_sealed::<MetaRecord>(disk, file)?);
    }
    let best = copies.iter().flatten().flatten().max_by_key(|m| m.version);
    Ok(match best {
        Some(m) => {
            let repaired = copies.iter().any(|c| !matches!(c, Some(Some(o)) if o.version == m.version));
            MetaFound::Intact { version: m.version, meta: m.meta, repaired }
        }
        None if copies.iter().all(Option::is_none) => MetaFound::Fresh,
        None => MetaFound::Lost,
    })
}

/// The log's records up to the first damage: the base it names, its transactions in order
/// (position, transaction, record seq), the highest marker, and whether damage was found.
#[derive(Default)]
struct Scanned {
    /// The position the log continues from (its `Base`; the empty history when none).
    start: Pos,
    txns: Vec<(u64, Txn, u64)>,
    marked: u64,
    damaged: bool,
}

fn scan(slots: &[RecordSlot]) -> Scanned {
    let mut s = Scanned::default();
    for slot in slots {
        let RecordSlot::Intact { seq, payload } = slot else {
            s.damaged = true;
            break;
        };
        match postcard::from_bytes::<LogRecord>(payload) {
            Ok(LogRecord::Base { pos }) => s.start = pos,
            Ok(LogRecord::Batch { first, txns }) => {
                // Batches follow each other; one that does not is damage the checksum missed.
                if s.txns.last().is_some_and(|(i, _, _)| *i + 1 != first) {
                    s.damaged = true;
                    break;
                }
                s.txns.extend(txns.into_iter().enumerate().map(|(k, t)| (first + k as u64, t, *seq)));
            }
            Ok(LogRecord::Marker { last }) => s.marked = s.marked.max(last.index),
            Err(_) => {
                s.damaged = true;
                break;
            }
        }
    }
    s
}

impl Store {
    /// Reads everything back after a start (see the module documentation). Standing changes
    /// are made durable here, before the log is cut. At its `first_boot` a node with no
    /// metadata writes its initial metadata, so that a later start that finds none knows the
    /// disk was lost with the promises on it.
    pub fn recover(disk: &mut dyn Storage, first_boot: bool) -> Result<Recovery, DiskError> {
        let mut report = RecoveryReport::default();
        let mut fresh = false;
        let (meta_version, mut meta) = match read_meta(disk)? {
            MetaFound::Fresh if first_boot => {
                fresh = true;
                (0, Meta::default())
            }
            MetaFound::Fresh => {
                report.disk_lost = true;
                (0, Meta { standing: Standing::Observer, ..Meta::default() })
            }
            MetaFound::Intact { version, meta, repaired } => {
                report.meta_repaired = repaired;
                (version, meta)
            }
            MetaFound::Lost => {
                report.meta_lost = true;
                (0, Meta { standing: Standing::Observer, ..Meta::default() })
            }
        };
        let (wal, found) = RecordLog::open(disk, LOG_FILE)?;
        report.torn_bytes = found.torn_tail.as_ref().map_or(0, |t| t.bytes);
        let ambiguous_tail = found.torn_tail.as_ref().is_some_and(|t| t.unreadable || !t.single_record);
        let scanned = scan(&found.slots);
        report.log_damaged = scanned.damaged || ambiguous_tail;
        if report.log_damaged {
            describe_damage(&found);
        }
        let (snapshots, damaged) = read_snapshots(disk)?;
        report.snapshots_damaged = damaged;
        let snapshot = snapshots.into_iter().rev().find(|s| continues(&scanned, s.pos));
        let genesis_fits = continues(&scanned, Pos::default());
        report.snapshot_lost = snapshot.is_none() && !genesis_fits;
        let base = snapshot.as_ref().map_or(Pos::default(), |s| s.pos);
        // With no snapshot the log continues, its transactions have nothing to follow.
        let history = if report.snapshot_lost { History::new(Pos::default()) } else { after(base, &scanned) };
        let before = meta.standing;
        if (report.log_damaged || report.snapshot_lost) && meta.standing == Standing::Voter {
            meta.standing = Standing::Repairing;
        }
        let mut store = Store { wal, meta_version };
        if fresh || report.meta_repaired || report.meta_lost || report.disk_lost || meta.standing != before {
            store.save_meta(disk, &meta)?;
        }
        let marked = scanned.marked.min(history.last().index).max(base.index);
        // A log cut at damage, or one that starts before the snapshot chosen, is rewritten to
        // start at the snapshot: the positions in between are the snapshot's, and a log whose
        // batches skip them would read as damaged next time.
        if report.log_damaged || report.snapshot_lost || base.index > scanned.start.index {
            let kept = history.after(0, usize::MAX);
            store.rewrite(disk, base, &kept, history.pos(marked).filter(|p| p.index > base.index))?;
        }
        Ok(Recovery { store, meta, snapshot, history, marked, report })
    }

    /// Writes both metadata copies durably, one after the other.
    pub fn save_meta(&mut self, disk: &mut dyn Storage, meta: &Meta) -> Result<(), DiskError> {
        let record = MetaRecord { version: self.meta_version + 1, meta: *meta };
        let data = seal(&record);
        for file in META_FILES {
            disk.replace_durably(file, &data)?;
        }
        self.meta_version += 1;
        Ok(())
    }

    /// The planted bug `EpochUpdatedBeforeWrite`: the first copy is overwritten in place and
    /// nothing is synced, so a crash keeps the old epochs (or tears the copy, and the other,
    /// older one wins).
    pub fn save_meta_unsynced(&mut self, disk: &mut dyn Storage, meta: &Meta) -> Result<(), DiskError> {
        let record = MetaRecord { version: self.meta_version + 1, meta: *meta };
        let data = seal(&record);
        disk.write(META_FILES[0], 0, &data)?;
        disk.truncate(META_FILES[0], data.len() as u64)?;
        self.meta_version += 1;
        Ok(())
    }

    /// Appends `txns` at positions `first ..` as one record; synced when `sync`.
    pub fn append(
        &mut self,
        disk: &mut dyn Storage,
        first: u64,
        txns: &[Txn],
        sync: bool,
    ) -> Result<(), DiskError> {
        if txns.is_empty() {
            return Ok(());
        }
        self.wal.append(disk, &encode(&LogRecord::Batch { first, txns: txns.to_vec() }))?;
        if sync {
            self.wal.sync(disk)?;
        }
        Ok(())
    }

    /// Appends a marker naming `last` as durable; synced when `sync`.
    pub fn mark(&mut self, disk: &mut dyn Storage, last: Pos, sync: bool) -> Result<(), DiskError> {
        self.wal.append(disk, &encode(&LogRecord::Marker { last }))?;
        if sync {
            self.wal.sync(disk)?;
        }
        Ok(())
    }

    /// Makes everything written so far durable (a truncation with nothing appended after it).
    pub fn sync(&mut self, disk: &mut dyn Storage) -> Result<(), DiskError> {
        self.wal.sync(disk)
    }

    /// Drops every transaction after position `index`, durably: the log is rewritten with the
    /// transactions of `history` up to it (a TRUNC sync is rare and the log is short, and a
    /// whole-file replacement leaves no half-cut record to recover from).
    pub fn truncate_after(
        &mut self,
        disk: &mut dyn Storage,
        index: u64,
        history: &History,
    ) -> Result<(), DiskError> {
        let base = history.base();
        let kept: Vec<Txn> = (base.index + 1..=index).filter_map(|i| history.get(i).cloned()).collect();
        let last = history.pos(index.max(base.index).min(history.last().index));
        self.rewrite(disk, base, &kept, last)
    }

    /// Replaces the whole log, durably: a `Base`, the transactions after it, and a marker
    /// naming `marked` when given.
    pub fn rewrite(
        &mut self,
        disk: &mut dyn Storage,
        base: Pos,
        txns: &[Txn],
        marked: Option<Pos>,
    ) -> Result<(), DiskError> {
        let mut payloads = vec![encode(&LogRecord::Base { pos: base })];
        if !txns.is_empty() {
            payloads.push(encode(&LogRecord::Batch { first: base.index + 1, txns: txns.to_vec() }));
        }
        if let Some(last) = marked {
            payloads.push(encode(&LogRecord::Marker { last }));
        }
        self.wal = RecordLog::rewrite(disk, LOG_FILE, payloads.iter().map(Vec::as_slice))?;
        Ok(())
    }

    /// Writes a snapshot durably, beside the others.
    pub fn save_snapshot(&mut self, disk: &mut dyn Storage, snapshot: &Snapshot) -> Result<(), DiskError> {
        disk.replace_durably(&snapshot_file(snapshot.pos.index), &seal(snapshot))
    }

    /// Removes every snapshot but the one at `keep` (once the log no longer needs them; the
    /// removals are durable with the next sync, and a crash that loses them leaves snapshots
    /// recovery can tell apart).
    pub fn prune_snapshots(&mut self, disk: &mut dyn Storage, keep: u64) -> Result<(), DiskError> {
        for file in disk.list()? {
            if snapshot_index(&file).is_some_and(|i| i != keep) {
                disk.remove(&file)?;
            }
        }
        Ok(())
    }
}

/// Logs, at debug level, what the records of a damaged log were.
fn describe_damage(found: &faultline_sim::disk::Recovered) {
    tracing::debug!(torn = ?found.torn_tail, records = found.slots.len(), "the log is damaged");
    for slot in &found.slots {
        match slot {
            RecordSlot::Intact { seq, payload } => match postcard::from_bytes::<LogRecord>(payload) {
                Ok(LogRecord::Batch { first, txns }) => tracing::debug!(seq, first, n = txns.len(), "batch"),
                Ok(LogRecord::Marker { last }) => tracing::debug!(seq, ?last, "marker"),
                Ok(LogRecord::Base { pos }) => tracing::debug!(seq, ?pos, "base"),
                Err(_) => tracing::debug!(seq, "undecodable"),
            },
            RecordSlot::Damaged { seq_first, seq_last } => tracing::debug!(seq_first, seq_last, "damaged"),
        }
    }
}

/// The file of the snapshot at position `index`.
pub fn snapshot_file(index: u64) -> String {
    format!("{SNAPSHOT_PREFIX}{index}")
}

fn snapshot_index(file: &str) -> Option<u64> {
    file.strip_prefix(SNAPSHOT_PREFIX)?.parse().ok()
}

/// The intact snapshots, oldest first, and how many snapshot files were damaged.
fn read_snapshots(disk: &mut dyn Storage) -> Result<(Vec<Snapshot>, u64), DiskError> {
    let mut files: Vec<(u64, String)> =
        disk.list()?.into_iter().filter_map(|f| snapshot_index(&f).map(|i| (i, f))).collect();
    files.sort();
    let (mut intact, mut damaged) = (Vec::new(), 0);
    for (index, file) in files {
        match read_sealed::<Snapshot>(disk, &file)? {
            Some(Some(s)) if s.pos.index == index => intact.push(s),
            Some(_) => damaged += 1,
            None => {}
        }
    }
    Ok((intact, damaged))
}

/// Whether the log continues a snapshot at `pos`: it starts at or before it, and where it
/// holds `pos` it holds the same zxid (a snapshot written by a SNAP whose log rewrite a crash
/// prevented may contradict the old log, or start after it).
fn continues(s: &Scanned, pos: Pos) -> bool {
    let at = s.txns.iter().find(|(i, _, _)| *i == pos.index).map(|(_, t, _)| t.zxid);
    let starts_before = s.start.index < pos.index || s.start == pos;
    let first_fits = s.txns.first().is_none_or(|(first, _, _)| *first <= pos.index + 1);
    starts_before && first_fits && at.is_none_or(|z| z == pos.zxid)
}

/// The history after the snapshot position `base` (which the log continues).
fn after(base: Pos, s: &Scanned) -> History {
    let mut history = History::new(base);
    for (_, t, _) in s.txns.iter().filter(|(i, _, _)| *i > base.index) {
        history.append(t.clone());
    }
    history
}

#[cfg(test)]
mod tests;
