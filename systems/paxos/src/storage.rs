//! Persistence: the acceptor's promise and accepted values, and the replica's snapshot, on the
//! node's disk; recovery that never trusts a bad record.
//!
//! Files:
//! - `paxos.log`: a `TypedLog` of [`Record`]s. A `Base` names the snapshot the log follows; each
//!   step that changes the acceptor's state appends one `Batch` (its new promise and the values
//!   it accepted), syncs, then appends a `Mark` and syncs again, and only then answers. A
//!   `Rebuilding` record says the node lost state it may have answered for and takes no part in
//!   quorums (see `rebuild.rs`).
//! - `paxos.snapshot`: the latest snapshot (every slot up to its own applied), checksummed and
//!   replaced whole with `replace_durably`.
//!
//! Crash or corruption? The `Mark` after a batch says the batch was durable before the node
//! could have answered for it (CTRL's persist record, Alagappan et al., FAST 2018). A crash
//! tears only unsynced writes, and after the last intact mark only one step's records can be
//! unsynced: its batch and its mark. So damage after the last intact mark that covers one record
//! loses nothing the node answered for: it is a batch that was never marked, or a mark whose
//! batch is intact before it (marked again at start, since a second flip at rest would otherwise
//! cut the batch as a torn tail). Anything else may have been answered for and is an *unknown
//! loss*: damage before the last intact mark, two damaged records or more after it, a tail that
//! could not be read or may hold several records, a damaged snapshot, a log whose base no intact
//! snapshot covers, and an empty disk at a restart (`first_boot` false: a lost or replaced disk).
//! The node cannot know what it promised or accepted, so it does not guess: it writes a
//! `Rebuilding` log (keeping an intact snapshot, whose slots are chosen facts) and rebuilds.

use crate::msg::{AcceptedValue, Ballot, Slot, Snapshot, Value};
use faultline_sim::disk::log::HEADER_LEN;
use faultline_sim::disk::typed_log::{Recovery as Found, Slot as Position};
use faultline_sim::disk::{MemDisk, Sealed, SealedFile, TypedLog};
use faultline_sim::{DiskError, Storage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The write-ahead log (a `TypedLog` of [`Record`]s).
pub const LOG_FILE: &str = "paxos.log";
/// The latest snapshot.
pub const SNAPSHOT_FILE: &str = "paxos.snapshot";
const SNAPSHOT: SealedFile<Snapshot> = SealedFile::new(SNAPSHOT_FILE);
/// Reads of a snapshot or a log that showed damage before the damage is believed: a bit flipped
/// on the way from the disk is gone on the next read.
const READS: usize = 3;
/// Bytes read at a time when a read of the log fails: the smallest sector size.
const SALVAGE_BLOCK: usize = 512;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Record {
    /// First record of a rewritten log: the slot of the snapshot it follows.
    Base { slot: Slot },
    /// One step's change to the acceptor: a new promise and values accepted.
    Batch { promise: Option<Ballot>, accepts: Vec<AcceptedValue> },
    /// Everything before it was durable before the node answered.
    Mark,
    /// The node lost state it may have answered for; it takes no part until rebuilt.
    Rebuilding,
}

/// The acceptor's durable state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acceptor {
    pub promise: Ballot,
    /// slot -> (ballot, value) of the last value accepted there, for slots after the snapshot.
    pub accepted: BTreeMap<Slot, (Ballot, Value)>,
}

/// What the disk holds, as recovery understood it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Durable {
    /// A first boot on an empty disk: nothing was ever promised.
    Fresh,
    /// The acceptor's state, intact (or cut of records nobody was answered for).
    Voting(Acceptor),
    /// State the node may have answered for is lost (now, or before a restart that interrupted
    /// its rebuild): it takes no part in quorums until rebuilt.
    Rebuilding,
}

/// What recovery found and did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes of a torn tail cut off.
    pub torn_bytes: u64,
    /// Records cut after the last mark (unmarked, or damaged: never answered for).
    pub records_cut: u64,
    /// An intact batch after the last mark was marked again.
    pub remarked: bool,
    /// Why the node must rebuild, when it lost state it may have answered for now.
    pub loss: Option<String>,
}

/// Everything recovered from disk.
pub struct Recovery {
    pub store: Store,
    pub durable: Durable,
    pub snapshot: Option<Snapshot>,
    pub report: RecoveryReport,
}

/// The node's open log.
pub struct Store {
    wal: TypedLog<Record>,
    /// False only under the planted bug `AcceptorRepliesBeforeSync`.
    sync: bool,
}

/// The snapshot file, read again while it shows damage.
fn read_snapshot(disk: &mut dyn Storage) -> Result<Sealed<Snapshot>, DiskError> {
    let mut found = SNAPSHOT.read(disk)?;
    for _ in 1..READS {
        if !found.is_damaged() {
            break;
        }
        found = SNAPSHOT.read(disk)?;
    }
    Ok(found)
}

/// The fewest bytes a record and its mark take on disk, by what precedes the tail: two headers,
/// and postcard payloads of 1 byte for a mark or a `Rebuilding` record, at least 3 for a batch.
/// After an intact batch or mark only a batch and its mark can follow (a `Rebuilding` record
/// follows only a log's `Base`). A tail shorter than that holds no record whose mark was
/// written whole, so nobody was answered for anything in it.
fn marked_record_min(before: Option<&Position<Record>>) -> u64 {
    let batch_next =
        matches!(before, Some(Position::Intact { record: Record::Mark | Record::Batch { .. }, .. }));
    2 * HEADER_LEN as u64 + if batch_next { 4 } else { 2 }
}

/// How many records a cut tail may have held: one when it can only be the last write, or too
/// short for a record and its mark (a crash in the middle of a step tore its batch: seed 3187).
fn tail_records(found: &Found<Record>) -> u64 {
    match &found.torn_tail {
        None => 0,
        Some(t) if t.unreadable => 2,
        Some(t) if t.single_record || t.bytes < marked_record_min(found.slots.last()) => 1,
        Some(_) => 2,
    }
}

fn damaged_records(found: &Found<Record>) -> u64 {
    let regions: u64 = (found.slots.iter())
        .map(|s| if let Position::Damaged { seq_first, seq_last } = s { seq_last - seq_first + 1 } else { 0 })
        .sum();
    regions + tail_records(found)
}

/// Where the log's records stand after the last intact mark.
struct Scan {
    /// Why the node may have lost records it answered for, if it may have.
    loss: Option<String>,
    /// Cut the log at this seq: the one damaged record after the last intact mark.
    cut: Option<u64>,
}

fn scan(found: &Found<Record>) -> Scan {
    let items = &found.slots;
    let last_mark = items.iter().rposition(|p| matches!(p, Position::Intact { record: Record::Mark, .. }));
    let damaged = |p: &&Position<Record>| matches!(p, Position::Damaged { .. });
    if let Some(m) = last_mark {
        if items[..m].iter().any(|p| damaged(&p)) {
            return Scan { loss: Some("a damaged record before the last mark".into()), cut: None };
        }
    }
    let after = &items[last_mark.map_or(0, |m| m + 1)..];
    let records: u64 = (after.iter())
        .map(|p| if let Position::Damaged { seq_first, seq_last } = p { seq_last - seq_first + 1 } else { 0 })
        .sum();
    if records + tail_records(found) >= 2 || found.torn_tail.as_ref().is_some_and(|t| t.unreadable) {
        return Scan {
            loss: Some("damage after the last mark that may cover a marked batch".into()),
            cut: None,
        };
    }
    let cut = after.iter().find(damaged).map(|p| {
        if let Position::Damaged { seq_first, .. } = p {
            *seq_first
        } else {
            0
        }
    });
    Scan { loss: None, cut }
}

fn seq_of(p: &Position<Record>) -> u64 {
    match p {
        Position::Intact { seq, .. } | Position::Damaged { seq_first: seq, .. } => *seq,
    }
}

/// Replays intact records in order (up to `cut`): the base slot, the acceptor, and whether the
/// log says the node is rebuilding.
fn replay(found: &Found<Record>, cut: Option<u64>) -> (Slot, Acceptor, bool) {
    let (mut base, mut acceptor, mut rebuilding) = (0, Acceptor::default(), false);
    for p in found.slots.iter().take_while(|p| cut.is_none_or(|c| seq_of(p) < c)) {
        match p {
            Position::Intact { record: Record::Base { slot }, .. } => base = *slot,
            Position::Intact { record: Record::Batch { promise, accepts }, .. } => {
                acceptor.promise = acceptor.promise.max(promise.unwrap_or(Ballot::ZERO));
                for a in accepts {
                    acceptor.accepted.insert(a.slot, (a.ballot, a.value.clone()));
                }
            }
            Position::Intact { record: Record::Rebuilding, .. } => rebuilding = true,
            Position::Intact { record: Record::Mark, .. } | Position::Damaged { .. } => {}
        }
    }
    (base, acceptor, rebuilding)
}

/// Whether the last record kept lacks its mark (a batch whose mark was cut, or the record of a
/// rewritten log whose mark was): without one, a later flip in it would read as a tear too.
fn ends_unmarked(found: &Found<Record>, cut: Option<u64>) -> bool {
    let mut kept = found.slots.iter().filter(|p| cut.is_none_or(|c| seq_of(p) < c));
    matches!(kept.next_back(), Some(Position::Intact { record, .. }) if *record != Record::Mark)
}

/// What the log holds, found on a copy: opening a log cuts a torn tail from the file at once,
/// and a node must record a loss durably before the evidence of it goes. The log opened on the
/// copy holds no handle, only offsets, so it serves the real file once that is cut the same way.
struct Inspection {
    wal: TypedLog<Record>,
    found: Found<Record>,
    /// The file's length as read.
    len: u64,
    /// Part of the file could not be read (a latent sector error): never a tear.
    unreadable: bool,
}

/// Reads the log (around unreadable sectors, which read as zeros) into a scratch disk and
/// recovers it there; reads again while damage shows, keeping the read with the fewest damaged
/// records.
fn inspect(disk: &mut dyn Storage) -> Result<Inspection, DiskError> {
    let mut best: Option<(u64, Inspection)> = None;
    for _ in 0..READS {
        let (data, unreadable) = read_salvaging(disk)?;
        let len = data.len() as u64;
        let mut scratch = MemDisk::new();
        scratch.write(LOG_FILE, 0, &data)?;
        let (wal, found) = TypedLog::open(&mut scratch, LOG_FILE)?;
        let damage = damaged_records(&found);
        if best.as_ref().is_none_or(|(d, _)| damage < *d) {
            best = Some((damage, Inspection { wal, found, len, unreadable }));
        }
        if damage == 0 {
            break;
        }
    }
    Ok(best.expect("read at least once").1)
}

/// The whole log, and whether a block of it could not be read.
fn read_salvaging(disk: &mut dyn Storage) -> Result<(Vec<u8>, bool), DiskError> {
    let len = disk.len(LOG_FILE)?.unwrap_or(0) as usize;
    match disk.read(LOG_FILE, 0, len) {
        Err(DiskError::ReadError { .. }) => {}
        whole => return whole.map(|data| (data, false)),
    }
    let mut data = vec![0u8; len];
    for start in (0..len).step_by(SALVAGE_BLOCK) {
        let want = SALVAGE_BLOCK.min(len - start);
        match disk.read(LOG_FILE, start as u64, want) {
            Ok(block) => {
                let n = block.len().min(want);
                data[start..start + n].copy_from_slice(&block[..n]);
            }
            Err(DiskError::ReadError { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((data, true))
}

impl Store {
    /// Reads everything back at a start. `first_boot` tells a new node's empty disk from a lost
    /// one. An unknown loss is recorded durably (a `Rebuilding` log) before this returns, and
    /// before anything of the damaged log is cut.
    pub fn recover(disk: &mut dyn Storage, first_boot: bool, sync: bool) -> Result<Recovery, DiskError> {
        let mut report = RecoveryReport::default();
        if disk.len(LOG_FILE)?.is_none() {
            if first_boot {
                let (wal, _) = TypedLog::open(disk, LOG_FILE)?;
                return Ok(Recovery {
                    store: Store { wal, sync },
                    durable: Durable::Fresh,
                    snapshot: None,
                    report,
                });
            }
            report.loss = Some("an empty disk at a restart (a lost disk)".into());
            return Self::lost(disk, None, report, sync);
        }
        let snapshot = read_snapshot(disk)?;
        let inspection = inspect(disk)?;
        let mut scan = scan(&inspection.found);
        let (base, acceptor, rebuilding) = replay(&inspection.found, scan.cut);
        let damaged_snapshot = snapshot.is_damaged();
        let snapshot = snapshot.intact();
        if inspection.unreadable {
            scan.loss.get_or_insert("an unreadable sector in the log".into());
        } else if damaged_snapshot {
            scan.loss.get_or_insert("a damaged snapshot".into());
        } else if base > snapshot.as_ref().map_or(0, |s| s.slot) {
            scan.loss.get_or_insert(format!("the log follows slot {base}, which no intact snapshot covers"));
        }
        if let Some(why) = scan.loss {
            report.loss = Some(why);
            return Self::lost(disk, snapshot, report, sync);
        }
        let Inspection { mut wal, found, len, .. } = inspection;
        if let Some(tail) = &found.torn_tail {
            // Cut the real file as recovery cut the copy: a tail nobody was answered for.
            report.torn_bytes = tail.bytes;
            disk.truncate(LOG_FILE, len - tail.bytes)?;
            disk.sync(LOG_FILE)?;
        }
        if let Some(seq) = scan.cut {
            report.records_cut = wal.len() - seq;
            wal.truncate(disk, seq)?;
            wal.sync(disk)?;
        }
        let mut store = Store { wal, sync };
        if ends_unmarked(&found, scan.cut) {
            // A full disk leaves the batch unmarked for now; a failed sync may have lost the
            // mark while the log believes it written: that one the caller must halt on.
            match store.mark(disk) {
                Ok(()) => report.remarked = true,
                Err(e) if e.requires_halt() => return Err(e),
                Err(_) => {}
            }
        }
        let durable = if rebuilding { Durable::Rebuilding } else { Durable::Voting(acceptor) };
        Ok(Recovery { store, durable, snapshot, report })
    }

    /// Records an unknown loss durably: a log that says the node is rebuilding, after the
    /// intact snapshot if there is one (a damaged one is removed after: its slots are relearned).
    fn lost(
        disk: &mut dyn Storage,
        snapshot: Option<Snapshot>,
        report: RecoveryReport,
        sync: bool,
    ) -> Result<Recovery, DiskError> {
        let base = snapshot.as_ref().map_or(0, |s| s.slot);
        let wal = rewrite(disk, base, &Durable::Rebuilding)?;
        if snapshot.is_none() {
            disk.remove(SNAPSHOT_FILE)?;
            disk.sync(LOG_FILE)?;
        }
        Ok(Recovery { store: Store { wal, sync }, durable: Durable::Rebuilding, snapshot, report })
    }

    /// Appends one step's change to the acceptor, syncs, then marks it and syncs again: after
    /// this the node may answer for it. Hands `accepts` back for the caller to keep. On `Full`
    /// the records are rolled back.
    pub fn persist(
        &mut self,
        disk: &mut dyn Storage,
        promise: Option<Ballot>,
        accepts: Vec<AcceptedValue>,
    ) -> Result<Vec<AcceptedValue>, DiskError> {
        let before = self.wal.len();
        let batch = Record::Batch { promise, accepts };
        let result = self.try_persist(disk, &batch);
        if matches!(result, Err(DiskError::Full(_))) {
            self.wal.truncate(disk, before)?;
        }
        result?;
        let Record::Batch { accepts, .. } = batch else { unreachable!("built above") };
        Ok(accepts)
    }

    fn try_persist(&mut self, disk: &mut dyn Storage, batch: &Record) -> Result<(), DiskError> {
        self.wal.append(disk, batch)?;
        // BUG(AcceptorRepliesBeforeSync): with the bug, nothing here reaches the disk before
        // the answer leaves.
        if self.sync {
            self.wal.sync(disk)?;
        }
        self.mark(disk)
    }

    /// Appends and syncs a mark: every batch before it may be answered for.
    fn mark(&mut self, disk: &mut dyn Storage) -> Result<(), DiskError> {
        self.wal.append(disk, &Record::Mark)?;
        if self.sync {
            self.wal.sync(disk)?;
        }
        Ok(())
    }

    /// Makes `snapshot` durable (compaction, an installed snapshot). The log is rewritten after
    /// it ([`Store::rewrite`]); a crash in between leaves the new snapshot with the old log,
    /// whose records up to the snapshot's slot recovery ignores.
    pub fn save_snapshot(&mut self, disk: &mut dyn Storage, snapshot: &Snapshot) -> Result<(), DiskError> {
        SNAPSHOT.replace(disk, snapshot)
    }

    /// Replaces the whole log, durably, with `state` after the snapshot of slot `base`.
    pub fn rewrite(&mut self, disk: &mut dyn Storage, base: Slot, state: &Durable) -> Result<(), DiskError> {
        self.wal = rewrite(disk, base, state)?;
        Ok(())
    }
}

/// Replaces the whole log, durably: a base, the state, a mark.
fn rewrite(disk: &mut dyn Storage, base: Slot, state: &Durable) -> Result<TypedLog<Record>, DiskError> {
    let body = match state {
        Durable::Fresh => Record::Batch { promise: None, accepts: Vec::new() },
        Durable::Rebuilding => Record::Rebuilding,
        Durable::Voting(a) => Record::Batch {
            promise: Some(a.promise),
            accepts: (a.accepted.range(base + 1..))
                .map(|(slot, (ballot, value))| AcceptedValue {
                    slot: *slot,
                    ballot: *ballot,
                    value: value.clone(),
                })
                .collect(),
        },
    };
    TypedLog::rewrite(disk, LOG_FILE, &[Record::Base { slot: base }, body, Record::Mark])
}

#[cfg(test)]
mod tests;
