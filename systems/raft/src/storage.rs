//! Persistence: term, vote, log and snapshot on the node's disk, and recovery that never trusts
//! a bad record (protocol-aware recovery, Alagappan et al., FAST 2018).
//!
//! Files:
//! - `raft.meta.a`, `raft.meta.b`: the hard state (term, vote, promise), each a `SealedFile`
//!   (checksummed, replaced atomically), written one after the other, each with a version
//!   number. Metadata cannot be fetched from peers (a vote is this node's own promise), so it
//!   is kept twice, as CTRL does: recovery takes the newest copy that passes its checksum and
//!   rewrites the other.
//! - `raft.snapshot`: the latest snapshot, a `SealedFile`.
//! - `raft.log`: a `TypedLog` of `LogRecord`s: a `Base` naming the snapshot the log follows,
//!   then entries, each batch followed by a *persist record*.
//!
//! Crash or corruption? A batch of entries is appended and synced, then a persist record naming
//! the last entry is appended and synced, and only then may the node acknowledge the entries.
//! This is CTRL's persist record: a damaged entry that has an intact persist record after it
//! was durable before the node could have acknowledged it, so its loss is corruption and it
//! must be repaired; a damaged entry with no persist record after it was never acknowledged
//! (the crash happened before its batch was marked), so cutting it off loses nothing anyone
//! counted on. `RecordLog` already cuts a damaged tail (damage with nothing intact after it).
//! When that tail can hold only one record (`TornTail::single_record`), the persist records
//! answer the question exactly: the last record alone is either an unmarked entry (never
//! acknowledged) or a persist record (whose entries are intact before it; the node marks them
//! again when it starts, since a bit flipped at rest in that persist record reads like a
//! tear). A longer damaged tail is ambiguous: a crash tears only the last write, but records
//! damaged at rest one after another to the end of the file look the same, and they may be
//! acknowledged entries with their persist records (found by the sweep: three bit flips in
//! the last three records of a follower's log, a committed entry among them). So is a damaged
//! record after the last intact persist record that is *not* in the tail: a crash that kept a
//! later unsynced write and lost an earlier one makes it, but so do two corruptions at once
//! (an entry and the persist record after it). Both are cut, and treated like an unreadable
//! tail (below).
//!
//! A damaged, acknowledged entry becomes a *hole* in the in-memory log: the node knows the
//! position (and, when a persist record names it, the term) but not the content. Holes are
//! refilled only from the leader's AppendEntries or InstallSnapshot. Until then the node does
//! not campaign, and never acknowledges an index at or beyond its first hole, so no quorum
//! counts it as holding entries it cannot read. It does vote: the election restriction compares
//! log ends, and the node knows its own (the persist records and the promise name it) even when
//! entries before it are unreadable, so a healthy candidate can be elected with its vote and
//! then repair it. A damaged snapshot makes every index it covered a hole. Repair needs a
//! leader, so a cluster stalls while only nodes with holes have the most up-to-date logs;
//! CTRL avoids that with leader-side recovery (a damaged node may lead and fetch or safely
//! discard its faulty entries); we do not implement it.
//!
//! If the newest metadata copy is lost and the surviving one is older than the log (the log
//! holds entries of a later term), the node adopts the log's last term and counts its vote in
//! it as given, so it cannot vote twice in that term; a vote the lost copy recorded in a still
//! later term is the residual risk of keeping two copies. Two damaged metadata copies leave the
//! node unable to know its term or vote: it takes no further part (see `Role::Failed`) rather
//! than risk a second vote in one term.
//!
//! An unreadable tail (a latent sector error at the end of the log, found by `RecordLog`), or an
//! ambiguous damaged one, is the loss the persist records cannot bound: they were in it. The
//! node then knows only that everything it ever acknowledged came from leaders of terms up to its current term, so it
//! promises (durably, before anything else) to vote only for candidates whose log ends in a
//! later term: such a log holds every entry committed up to its current term (leader
//! completeness and log matching), whatever the lost tail held. A lost snapshot whose `Base`
//! record is damaged too (no surviving record says where the log continued) is the same kind of
//! unbounded loss and gets the same promise.
//!
//! The *promise* is the most up-to-date log end (term, then index) this node ever acknowledged.
//! While the log holds those entries it is simply the log's end. Repairing a hole drops the
//! intact entries after it too, and those may be committed entries this node was counted for;
//! so before such a drop the promise is written to the hard state, and the node grants votes
//! only to candidates at least as up-to-date as it, and campaigns only once its log has caught
//! up with it. That keeps the election restriction (section 5.4.1) sound for entries this node
//! helped commit and then lost. (Entries dropped because they conflict with the leader's are
//! uncommitted by leader completeness, so an ordinary conflict lets the promise fall back.)

use crate::log::{digest, RaftLog, Slot};
use crate::machine::{KvMachine, StateMachine};
use crate::msg::{Entry, LogId, Snapshot};
use faultline_sim::disk::{typed_log, Sealed, SealedFile, TypedLog};
use faultline_sim::{DiskError, NodeId, Storage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The two copies of the hard state.
pub const META_FILES: [&str; 2] = ["raft.meta.a", "raft.meta.b"];
/// The latest snapshot.
pub const SNAPSHOT_FILE: &str = "raft.snapshot";
/// The write-ahead log (a `TypedLog` of `LogRecord`s).
pub const LOG_FILE: &str = "raft.log";

fn meta_file(name: &'static str) -> SealedFile<MetaRecord> {
    SealedFile::new(name)
}

fn snapshot_file<M: StateMachine>() -> SealedFile<Snapshot<M>> {
    SealedFile::new(SNAPSHOT_FILE)
}

/// What must be on disk before the node answers (Figure 2's persistent state, plus the promise).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HardState {
    pub term: u64,
    pub voted_for: Option<NodeId>,
    pub promise: LogId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct MetaRecord {
    version: u64,
    hard: HardState,
}

#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
enum LogRecord<M: StateMachine> {
    /// First record of a rewritten log: the snapshot position the log continues from.
    Base {
        snapshot: LogId,
    },
    Entry(Entry<M>),
    /// Everything before this record is durable, and the log ended at `last`.
    Persisted {
        last: LogId,
    },
}

/// What recovery found and did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Acknowledged entries found unreadable (now holes awaiting repair).
    pub holes: u64,
    /// Unacknowledged records cut from the end of the log (damaged and unmarked).
    pub records_cut: u64,
    /// Bytes of a torn tail cut off.
    pub torn_bytes: u64,
    /// The cut tail could not be read (a latent sector error, not a tear): acknowledged entries
    /// may be gone, and how many is unknown.
    pub tail_unreadable: bool,
    /// The torn tail may hold more than one record (see `TornTail::single_record`): it may have
    /// been synced records damaged at rest, acknowledged, and how many is unknown.
    pub tail_ambiguous: bool,
    /// One metadata copy was bad and has been rewritten from the other.
    pub meta_repaired: bool,
    /// Both metadata copies were bad: the node cannot know its term or vote.
    pub meta_lost: bool,
    /// The snapshot file was damaged.
    pub snapshot_lost: bool,
}

/// Everything recovered from disk.
pub(crate) struct Recovery<M: StateMachine = KvMachine> {
    pub store: Store<M>,
    pub hard: HardState,
    pub snapshot: Option<Snapshot<M>>,
    pub log: RaftLog<M>,
    /// The highest log end named by a persist record (acknowledgeable up to here).
    pub marked: LogId,
    pub report: RecoveryReport,
    /// The disk held nothing of Raft's: no metadata, no snapshot, no log record. A new node at
    /// its first boot, or a node whose disk was lost and replaced (see `Raft::start`).
    pub blank: bool,
}

/// The node's open files.
pub(crate) struct Store<M: StateMachine = KvMachine> {
    wal: TypedLog<LogRecord<M>>,
    /// `seqs[k]` is the record holding log index `base + 1 + k` (a hole: its damaged region).
    seqs: Vec<u64>,
    meta_version: u64,
    /// False only under the planted bug `AckBeforeSync`.
    sync_appends: bool,
}

enum Item<M: StateMachine> {
    Base(LogId),
    Entry(Entry<M>),
    Marker(LogId),
    Damaged,
}

fn decode_items<M: StateMachine>(slots: Vec<typed_log::Slot<LogRecord<M>>>) -> Vec<(u64, Item<M>)> {
    slots
        .into_iter()
        .map(|slot| match slot {
            typed_log::Slot::Intact { seq, record } => {
                let item = match record {
                    LogRecord::Base { snapshot } => Item::Base(snapshot),
                    LogRecord::Entry(e) => Item::Entry(e),
                    LogRecord::Persisted { last } => Item::Marker(last),
                };
                (seq, item)
            }
            typed_log::Slot::Damaged { seq_first, .. } => (seq_first, Item::Damaged),
        })
        .collect()
}

/// The log as the records describe it, before it is aligned with the snapshot.
struct Rebuilt<M: StateMachine> {
    slots: BTreeMap<u64, (Slot<M>, u64)>,
    base_record: Option<LogId>,
    marked: LogId,
    /// Cut the file here: the first damaged record after the last persist record.
    cut: Option<u64>,
}

impl<M: StateMachine> Default for Rebuilt<M> {
    fn default() -> Self {
        Rebuilt { slots: BTreeMap::new(), base_record: None, marked: LogId::default(), cut: None }
    }
}

impl<M: StateMachine> Rebuilt<M> {
    fn holes(&mut self, from: u64, to_excl: u64, seq: u64) {
        for index in from..to_excl {
            self.slots.insert(index, (Slot::Hole { term: None }, seq));
        }
    }

    fn name_hole(&mut self, at: LogId) {
        if let Some((Slot::Hole { term }, _)) = self.slots.get_mut(&at.index) {
            *term = Some(at.term);
        }
    }
}

/// Walks the records in file order. `start` is the first index when no `Base` record says.
fn rebuild<M: StateMachine>(items: &[(u64, Item<M>)], start: u64) -> Rebuilt<M> {
    let last_marker = items.iter().rposition(|(_, item)| matches!(item, Item::Marker(_)));
    let mut r = Rebuilt::default();
    let (mut next, mut damage) = (start, None::<u64>);
    for (pos, (seq, item)) in items.iter().enumerate() {
        match item {
            Item::Damaged if last_marker.is_none_or(|m| pos > m) => {
                r.cut = Some(*seq);
                break;
            }
            Item::Damaged => {
                damage.get_or_insert(*seq);
            }
            Item::Base(base) => {
                r.base_record = Some(*base);
                next = base.index + 1;
            }
            Item::Entry(e) => {
                if let Some(s) = damage.take() {
                    r.holes(next, e.index, s);
                }
                r.slots.split_off(&e.index);
                r.slots.insert(e.index, (Slot::Entry { digest: digest(e), entry: e.clone() }, *seq));
                next = e.index + 1;
            }
            Item::Marker(last) => {
                if let Some(s) = damage.take() {
                    r.holes(next, last.index + 1, s);
                }
                r.name_hole(*last);
                r.marked = r.marked.max(*last);
                next = next.max(last.index + 1);
            }
        }
    }
    r
}

/// Lays the rebuilt slots after `base`, filling any gap with holes. Returns the log and seqs.
fn assemble<M: StateMachine>(base: LogId, lost: Option<LogId>, r: &Rebuilt<M>) -> (RaftLog<M>, Vec<u64>) {
    let mut log = RaftLog::new(base);
    let mut seqs = Vec::new();
    if let Some(lost) = lost {
        // The damaged snapshot covered 1..=lost.index; truncating there rewrites the file.
        for index in 1..=lost.index {
            let term = (index == lost.index).then_some(lost.term);
            log.push_slot(Slot::Hole { term });
            seqs.push(0);
        }
    }
    for (&index, (slot, seq)) in r.slots.range(log.last_index() + 1..) {
        while log.last_index() + 1 < index {
            log.push_slot(Slot::Hole { term: None });
            seqs.push(*seq);
        }
        log.push_slot(slot.clone());
        seqs.push(*seq);
    }
    (log, seqs)
}

enum MetaFound {
    Fresh,
    Intact { version: u64, hard: HardState, repaired: bool },
    Lost,
}

fn read_meta(disk: &mut dyn Storage) -> Result<MetaFound, DiskError> {
    let mut copies = Vec::new();
    for file in META_FILES {
        copies.push(meta_file(file).read(disk)?);
    }
    let intact = |c: &Sealed<MetaRecord>| match c {
        Sealed::Intact(m) => Some(m.clone()),
        Sealed::Missing | Sealed::Damaged(_) => None,
    };
    let best = copies.iter().filter_map(intact).max_by_key(|m| m.version);
    Ok(match best {
        Some(m) => {
            let repaired = copies.iter().any(|c| !matches!(c, Sealed::Intact(o) if o.version == m.version));
            MetaFound::Intact { version: m.version, hard: m.hard, repaired }
        }
        None if copies.iter().all(|c| *c == Sealed::Missing) => MetaFound::Fresh,
        None => MetaFound::Lost,
    })
}

impl<M: StateMachine> Store<M> {
    /// Reads everything back after a start. Damage is repaired where the data allows (a
    /// metadata copy, a cut of unacknowledged records) and reported otherwise (holes).
    pub fn recover(disk: &mut dyn Storage, sync_appends: bool) -> Result<Recovery<M>, DiskError> {
        let mut report = RecoveryReport::default();
        let meta = read_meta(disk)?;
        let fresh_meta = matches!(meta, MetaFound::Fresh);
        let (meta_version, hard) = match meta {
            MetaFound::Fresh => (0, HardState::default()),
            MetaFound::Intact { version, hard, repaired } => {
                report.meta_repaired = repaired;
                (version, hard)
            }
            MetaFound::Lost => {
                report.meta_lost = true;
                (0, HardState::default())
            }
        };
        let snapshot = snapshot_file::<M>().read(disk)?;
        let no_snapshot = matches!(snapshot, Sealed::Missing);
        report.snapshot_lost = snapshot.is_damaged();
        let snapshot = snapshot.intact();
        let (mut wal, found) = TypedLog::open(disk, LOG_FILE)?;
        let blank = fresh_meta && no_snapshot && found.slots.is_empty() && found.torn_tail.is_none();
        report.torn_bytes = found.torn_tail.as_ref().map_or(0, |t| t.bytes);
        report.tail_unreadable = found.torn_tail.as_ref().is_some_and(|t| t.unreadable);
        report.tail_ambiguous = found.torn_tail.as_ref().is_some_and(|t| !t.unreadable && !t.single_record);
        let start = snapshot.as_ref().map_or(1, |s| s.last.index + 1);
        let rebuilt = rebuild(&decode_items(found.slots), start);
        let lost = report.snapshot_lost.then(|| lost_snapshot_position(&rebuilt));
        // A lost snapshot whose position no surviving record names (its `Base` record damaged
        // too) hides how far the log reached, like an unreadable tail; so does an ambiguous
        // damaged tail (see the module docs).
        let unknown_loss = report.tail_unreadable
            || report.tail_ambiguous
            || rebuilt.cut.is_some()
            || lost.is_some_and(|l| l.index == 0);
        let lost = lost.filter(|l| l.index > 0);
        // With both metadata copies lost the node takes no further part (`Role::Failed`), and
        // recovery must leave the disk as it found it: writing the promise here would store a
        // default term and vote over the lost ones, and the next start would read them back as
        // intact and vote again in terms it already voted in.
        let may_write = !report.meta_lost;
        let (mut meta_version, mut hard) = (meta_version, hard);
        if unknown_loss && may_write {
            // Before anything cuts the damaged records from the disk: promise, durably, to vote
            // only for logs that end in a later term (see the module docs).
            hard.promise = hard.promise.max(LogId { term: hard.term, index: u64::MAX });
            meta_version += 1;
            write_meta(disk, meta_version, &hard)?;
        }
        if let Some(seq) = rebuilt.cut.filter(|_| may_write) {
            report.records_cut = wal.len() - seq;
            wal.truncate(disk, seq)?;
            wal.sync(disk)?;
        }
        let base = snapshot.as_ref().map_or(LogId::default(), |s| s.last);
        let mut rebuilt = rebuilt;
        if may_write && conflicts_with_snapshot(&rebuilt, base) {
            wal = rewrite_empty(disk, base)?;
            rebuilt = Rebuilt { base_record: Some(base), marked: base, ..Rebuilt::default() };
        }
        let (log, seqs) = assemble(base, lost, &rebuilt);
        report.holes = (base.index + 1..=log.last_index()).filter(|&i| log.is_hole(i)).count() as u64;
        let store = Store { wal, seqs, meta_version, sync_appends };
        Ok(Recovery { store, hard, snapshot, log, marked: rebuilt.marked, report, blank })
    }

    /// Writes both metadata copies, one after the other, each atomically and durably.
    pub fn save_hard_state(&mut self, disk: &mut dyn Storage, hard: &HardState) -> Result<(), DiskError> {
        self.meta_version += 1;
        write_meta(disk, self.meta_version, hard)
    }
}

/// Writes both metadata copies, one after the other, each atomically and durably.
fn write_meta(disk: &mut dyn Storage, version: u64, hard: &HardState) -> Result<(), DiskError> {
    let record = MetaRecord { version, hard: hard.clone() };
    for file in META_FILES {
        meta_file(file).replace(disk, &record)?;
    }
    Ok(())
}

impl<M: StateMachine> Store<M> {
    /// Appends `entries` (the log's new tail, which now ends at `last`), syncs, then appends and
    /// syncs a persist record. On `Full` the batch is rolled back (the caller drops it too).
    pub fn append(
        &mut self,
        disk: &mut dyn Storage,
        entries: &[Entry<M>],
        last: LogId,
    ) -> Result<(), DiskError> {
        let (records, slots) = (self.wal.len(), self.seqs.len());
        let result = self.try_append(disk, entries, last);
        if matches!(result, Err(DiskError::Full(_))) {
            self.seqs.truncate(slots);
            self.wal.truncate(disk, records)?;
        }
        result
    }

    fn try_append(
        &mut self,
        disk: &mut dyn Storage,
        entries: &[Entry<M>],
        last: LogId,
    ) -> Result<(), DiskError> {
        for e in entries {
            let seq = self.wal.append(disk, &LogRecord::Entry(e.clone()))?;
            self.seqs.push(seq);
        }
        // BUG(AckBeforeSync): with the bug, nothing here reaches the disk before the ack.
        if self.sync_appends {
            self.wal.sync(disk)?;
        }
        self.mark(disk, last)
    }

    /// Appends and syncs a persist record: everything before it was acknowledgeable.
    pub fn mark(&mut self, disk: &mut dyn Storage, last: LogId) -> Result<(), DiskError> {
        self.wal.append(disk, &LogRecord::Persisted { last })?;
        if self.sync_appends {
            self.wal.sync(disk)?;
        }
        Ok(())
    }

    /// Drops log index `index` and everything after it (durable with the next sync).
    pub fn truncate_from(&mut self, disk: &mut dyn Storage, base: u64, index: u64) -> Result<(), DiskError> {
        let k = (index - base - 1) as usize;
        let Some(&seq) = self.seqs.get(k) else { return Ok(()) };
        self.wal.truncate(disk, seq)?;
        self.seqs.truncate(k);
        Ok(())
    }

    /// Replaces the whole log, durably: a `Base` record, `entries`, and a persist record.
    pub fn rewrite<'a>(
        &mut self,
        disk: &mut dyn Storage,
        base: LogId,
        entries: impl Iterator<Item = &'a Entry<M>>,
        last: LogId,
    ) -> Result<(), DiskError> {
        let mut records = vec![LogRecord::Base { snapshot: base }];
        records.extend(entries.map(|e| LogRecord::Entry(e.clone())));
        records.push(LogRecord::Persisted { last });
        self.wal = TypedLog::rewrite(disk, LOG_FILE, &records)?;
        self.seqs = (1..records.len() as u64 - 1).collect();
        Ok(())
    }

    pub fn save_snapshot(&mut self, disk: &mut dyn Storage, snapshot: &Snapshot<M>) -> Result<(), DiskError> {
        snapshot_file::<M>().replace(disk, snapshot)
    }
}

/// Whether the log holds another term at the snapshot's last index: a crash came between
/// replacing the snapshot and rewriting the log (InstallSnapshot writes them in that order), so
/// the entries after it belong to a history the snapshot's committed prefix contradicts. They
/// are uncommitted (leader completeness), and Figure 13 step 6 discards them.
fn conflicts_with_snapshot<M: StateMachine>(r: &Rebuilt<M>, base: LogId) -> bool {
    let term = match r.slots.get(&base.index) {
        Some((Slot::Entry { entry, .. }, _)) => Some(entry.term),
        Some((Slot::Hole { term }, _)) => *term,
        None => None,
    };
    base.index > 0 && term.is_some_and(|t| t != base.term)
}

/// The log as InstallSnapshot leaves it with no suffix: a `Base` record and a persist record.
fn rewrite_empty<M: StateMachine>(
    disk: &mut dyn Storage,
    base: LogId,
) -> Result<TypedLog<LogRecord<M>>, DiskError> {
    let records = [LogRecord::Base { snapshot: base }, LogRecord::Persisted { last: base }];
    TypedLog::rewrite(disk, LOG_FILE, &records)
}

/// Where a damaged snapshot ended: the log's `Base` record says, else the entry before the
/// first one the log holds.
fn lost_snapshot_position<M: StateMachine>(r: &Rebuilt<M>) -> LogId {
    r.base_record.unwrap_or_else(|| {
        let first = r.slots.keys().next().map_or(1, |&i| i);
        LogId::new(first.saturating_sub(1), 0)
    })
}

#[cfg(test)]
mod tests;
