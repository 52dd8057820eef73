//! The counter's node: a fixed primary that orders increments, and backups that copy its log.
//!
//! Node 0 is the primary. It appends each new increment to its log and, at the next group
//! commit (a flush about a millisecond later, covering every increment appended since), syncs
//! the log and sends the new entries to the backups; it acknowledges an increment once a
//! majority of nodes (itself included) hold it durably. It
//! answers reads with the sum of the committed increments. Backups append what the primary sends
//! after checking it extends what they hold (the log matching check of Raft, section 5.3),
//! sync, and acknowledge.
//!
//! Recovery: every node keeps the intact prefix of its log and cuts off anything after a damaged
//! record. The primary cannot tell which of its entries were committed, and its own log may be
//! damaged, so at every boot it first collects the logs of enough backups that any entry a
//! majority held is among them (`nodes - majority + 1`), adopts the most complete log (highest
//! last epoch, then longest, as Raft's election rule), starts a new epoch and appends a no-op.
//! Like Raft's leader (section 5.4.2) it commits by counting only entries of its own epoch, and
//! serves reads only once its no-op is committed, so reads never miss an acknowledged increment.
//!
//! Exactly once: each entry carries its client request id; a retried request that is already in
//! the log is answered when (or if) its entry is committed, never appended twice.
//!
//! A lost disk (an empty log at a start that is not the node's first boot, `cx.first_boot()`):
//! a backup starts empty and is refilled by the primary; the loss is one node's, and a majority
//! still holds every acknowledged increment. A primary that lost its disk has also forgotten the
//! epochs it used, so it waits for the logs of every backup, not only enough of them to cover a
//! majority: the highest epoch any of them holds is then above every epoch whose entries
//! survive anywhere, and its new epoch cannot reuse one of them.

use crate::bugs::CounterBug;
use crate::msg::{Entry, Msg, Request, Response, Timer};
use crate::storage;
use faultline_sim::disk::{DiskError, TypedLog};
use faultline_sim::{buggify, Context, Node, NodeId, RequestId};
use std::collections::BTreeMap;
use std::time::Duration;

/// The fixed primary.
pub const PRIMARY: NodeId = NodeId(0);
/// Most entries in one `Replicate`.
const BATCH: usize = 256;
const TICK: Duration = Duration::from_millis(30);
/// How long appended increments wait for a group commit.
const FLUSH: Duration = Duration::from_millis(1);

type Cx<'a> = Context<'a, CounterNode>;

/// One node of the counter.
pub struct CounterNode {
    id: NodeId,
    nodes: u32,
    bug: Option<CounterBug>,
    /// The node's log: durable, except entries appended under `AckBeforeDurable` before the tick.
    entries: Vec<Entry>,
    wal: Option<TypedLog<Entry>>,
    /// Entries known to be on this node's disk.
    synced: u64,
    /// Committed entries (the primary computes it; backups learn it).
    commit: u64,
    primary: Option<Primary>,
}

/// The primary's volatile state.
struct Primary {
    epoch: u64,
    /// While booting: the logs backups sent in answer to `Fetch`.
    recovering: Option<BTreeMap<NodeId, Vec<Entry>>>,
    /// For each backup: how much of the log it holds durably and matching.
    matched: BTreeMap<NodeId, u64>,
    /// For each backup: where the next `Replicate` starts.
    next: BTreeMap<NodeId, u64>,
    committed_value: i64,
    /// Reads wait until this many entries are committed (this epoch's no-op included).
    barrier: u64,
    index_of: BTreeMap<RequestId, u64>,
    waiters: BTreeMap<u64, Vec<RequestId>>,
    /// Whether a group commit is scheduled.
    flush_pending: bool,
    /// The node restarted on an empty log: recovery waits for every backup (module docs).
    lost_disk: bool,
}

/// Why a handler stopped early: a disk error. `Halted` when the error requires a halt
/// (`DiskError::requires_halt`), which the handler has asked for; `Abandoned` otherwise (a full
/// disk): memory still matches the disk, and the step answers nothing it did not store.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Stop {
    Halted,
    Abandoned,
}

impl CounterNode {
    pub fn new(id: NodeId, nodes: u32, bug: Option<CounterBug>) -> Self {
        CounterNode { id, nodes, bug, entries: Vec::new(), wal: None, synced: 0, commit: 0, primary: None }
    }

    pub fn is_primary(&self) -> bool {
        self.id == PRIMARY
    }

    /// Whether the primary is still collecting backup logs at boot.
    pub fn is_recovering(&self) -> bool {
        self.primary.as_ref().is_some_and(|p| p.recovering.is_some())
    }

    pub fn log_len(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn commit(&self) -> u64 {
        self.commit
    }

    fn majority(&self) -> usize {
        self.nodes as usize / 2 + 1
    }

    fn backups(&self) -> impl Iterator<Item = NodeId> {
        (1..self.nodes).map(NodeId)
    }

    fn len(&self) -> u64 {
        self.entries.len() as u64
    }
}

/// Stops the step on a disk error, halting the node when the error requires it: after a failed
/// sync the node's view of its disk is unknown, and only a restart and recovery make it known
/// again.
fn checked<T>(result: Result<T, DiskError>, cx: &mut Cx<'_>) -> Result<T, Stop> {
    result.map_err(|e| {
        if e.requires_halt() {
            cx.halt(format!("disk error: {e}"));
            return Stop::Halted;
        }
        Stop::Abandoned
    })
}

impl Node for CounterNode {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Response = Response;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        let _ = self.boot(cx);
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        let _ = match msg {
            Msg::Replicate { start, prev_epoch, entries, commit } => {
                self.on_replicate(cx, from, start, prev_epoch, entries, commit)
            }
            Msg::Ack { len } => self.on_ack(cx, from, len),
            Msg::Fetch => {
                cx.send(from, Msg::Log { entries: self.entries.clone() });
                Ok(())
            }
            Msg::Log { entries } => self.on_log(cx, from, entries),
        };
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        let _ = match timer {
            Timer::Tick => self.on_tick(cx),
            Timer::Flush => self.on_flush(cx),
        };
    }

    fn on_request(&mut self, cx: &mut Cx<'_>, id: RequestId, req: Request) {
        let _ = match req {
            Request::Incr { delta } => self.on_incr(cx, id, delta),
            Request::Read => {
                self.on_read(cx, id);
                Ok(())
            }
        };
    }

    fn check_invariants(&self) {
        assert!(self.commit <= self.len(), "commit {} beyond log length {}", self.commit, self.len());
        assert!(self.synced <= self.len(), "synced {} beyond log length {}", self.synced, self.len());
        if let Some(p) = &self.primary {
            assert!(p.matched.values().all(|m| *m <= self.len()), "a backup matched beyond the log");
        }
    }
}

// Boot and recovery.
impl CounterNode {
    fn boot(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        // Whatever the error, a node that cannot read its log has nothing to serve from: it
        // halts, and the restart is the retry.
        let recovered = storage::recover(cx.disk()).map_err(|e| {
            cx.halt(format!("disk error: {e}"));
            Stop::Halted
        })?;
        self.entries = recovered.entries;
        self.synced = self.len();
        let lost_disk = self.entries.is_empty() && !cx.first_boot();
        self.wal = Some(recovered.log);
        if !self.is_primary() {
            // Tell the primary what survived: it may count this backup as holding entries it
            // lost (a damaged or unreadable log cut short), and would otherwise never resend.
            cx.send(PRIMARY, Msg::Ack { len: self.len() });
            return Ok(());
        }
        self.primary = Some(Primary {
            epoch: 0,
            recovering: Some(BTreeMap::new()),
            matched: BTreeMap::new(),
            next: BTreeMap::new(),
            committed_value: 0,
            barrier: u64::MAX,
            index_of: BTreeMap::new(),
            waiters: BTreeMap::new(),
            flush_pending: false,
            lost_disk,
        });
        for b in self.backups() {
            cx.send(b, Msg::Fetch);
        }
        cx.set_timer(Timer::Tick, TICK);
        self.maybe_finish_recovery(cx)
    }

    fn on_log(&mut self, cx: &mut Cx<'_>, from: NodeId, entries: Vec<Entry>) -> Result<(), Stop> {
        let Some(responses) = self.primary.as_mut().and_then(|p| p.recovering.as_mut()) else {
            return Ok(());
        };
        responses.insert(from, entries);
        self.maybe_finish_recovery(cx)
    }

    /// Once enough backups answered, adopts the most complete log and starts a new epoch. The
    /// primary stays recovering until that is durable: a step abandoned on a full disk is
    /// retried at the next tick.
    fn maybe_finish_recovery(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        let mut needed = (self.nodes as usize - self.majority() + 1).min(self.nodes as usize - 1);
        if self.primary.as_ref().is_some_and(|p| p.lost_disk) {
            needed = self.nodes as usize - 1;
        }
        let Some(responses) =
            self.primary.as_ref().and_then(|p| p.recovering.as_ref()).filter(|r| r.len() >= needed)
        else {
            return Ok(());
        };
        let rank = |log: &Vec<Entry>| (log.last().map(|e| e.epoch), log.len());
        let best =
            responses.values().filter(|log| rank(log) > rank(&self.entries)).max_by_key(|log| rank(log));
        if let Some(best) = best.cloned() {
            // The primary's own log was short or stale: a backup's holds what it acknowledged.
            cx.sometimes("counter.primary_adopts_a_backup_log");
            self.wal = Some(checked(storage::rewrite(cx.disk(), &best), cx)?);
            self.entries = best;
            self.synced = self.len();
        }
        let floor = self.entries.iter().map(|e| e.epoch).max().unwrap_or(0);
        let epoch = checked(storage::next_epoch(cx.disk(), floor), cx)?;
        let index_of =
            (self.entries.iter().enumerate()).filter_map(|(i, e)| Some((e.id?, i as u64))).collect();
        let p = self.primary.as_mut().expect("primary");
        (p.epoch, p.index_of) = (epoch, index_of);
        self.append(cx, Entry { epoch, id: None, delta: 0 })?;
        self.primary.as_mut().expect("primary").barrier = self.len();
        self.sync(cx)?;
        self.primary.as_mut().expect("primary").recovering = None;
        self.replicate(cx);
        self.advance_commit(cx);
        Ok(())
    }
}

// The primary's side of replication.
impl CounterNode {
    fn append(&mut self, cx: &mut Cx<'_>, entry: Entry) -> Result<u64, Stop> {
        let wal = self.wal.as_mut().expect("booted");
        checked(wal.append(cx.disk(), &entry), cx)?;
        self.entries.push(entry);
        Ok(self.len() - 1)
    }

    fn sync(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        let wal = self.wal.as_ref().expect("booted");
        checked(wal.sync(cx.disk()), cx)?;
        self.synced = self.len();
        Ok(())
    }

    /// Sends each backup what it has not been sent yet (only what this node has synced).
    fn replicate(&mut self, cx: &mut Cx<'_>) {
        let backups: Vec<NodeId> = self.backups().collect();
        for b in backups {
            let p = self.primary.as_mut().expect("primary");
            let start = *p.next.get(&b).unwrap_or(&0);
            let end = self.synced.min(start + BATCH as u64);
            if start >= end {
                continue;
            }
            p.next.insert(b, end);
            let prev_epoch = start.checked_sub(1).map(|i| self.entries[i as usize].epoch);
            let entries = self.entries[start as usize..end as usize].to_vec();
            cx.send(b, Msg::Replicate { start, prev_epoch, entries, commit: self.commit });
        }
    }

    fn on_ack(&mut self, cx: &mut Cx<'_>, from: NodeId, len: u64) -> Result<(), Stop> {
        let Some(p) = self.primary.as_mut().filter(|p| p.recovering.is_none()) else { return Ok(()) };
        let len = len.min(self.entries.len() as u64);
        p.matched.insert(from, len);
        // Acks of earlier messages arrive while later ones are in flight, so `next` only moves
        // forward here; the tick rewinds it to `matched` to resend what was lost.
        let next = p.next.entry(from).or_insert(len);
        *next = (*next).max(len);
        self.advance_commit(cx);
        self.replicate(cx);
        Ok(())
    }

    /// Commits the longest prefix a majority holds durably, if its last entry is of this epoch,
    /// and answers the clients waiting on it.
    fn advance_commit(&mut self, cx: &mut Cx<'_>) {
        let majority = self.majority();
        let Some(p) = self.primary.as_mut() else { return };
        let mut held: Vec<u64> = p.matched.values().copied().collect();
        held.push(self.synced);
        held.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&k) = held.get(majority - 1) else { return };
        if k <= self.commit || self.entries[k as usize - 1].epoch != p.epoch {
            return;
        }
        for i in self.commit..k {
            p.committed_value += self.entries[i as usize].delta;
            for id in p.waiters.remove(&i).unwrap_or_default() {
                cx.reply(id, Response::Incremented);
            }
        }
        self.commit = k;
        // The window between acknowledging writes and telling the backups they are committed.
        cx.crash_point();
    }

    fn on_tick(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        cx.set_timer(Timer::Tick, TICK);
        let backups: Vec<NodeId> = self.backups().collect();
        let Some(p) = self.primary.as_mut() else { return Ok(()) };
        if let Some(responses) = &p.recovering {
            let silent: Vec<NodeId> = backups.into_iter().filter(|b| !responses.contains_key(b)).collect();
            for b in silent {
                cx.send(b, Msg::Fetch);
            }
            // Enough answers are in only if finishing was abandoned (a full disk): try again.
            return self.maybe_finish_recovery(cx);
        }
        // Legal slowness: skip a retransmission round.
        if buggify!(cx) {
            return Ok(());
        }
        // Resend from what each backup acknowledged: covers lost messages.
        p.next = p.matched.clone();
        self.replicate(cx);
        self.advance_commit(cx);
        Ok(())
    }
}

// Client requests.
impl CounterNode {
    fn on_incr(&mut self, cx: &mut Cx<'_>, id: RequestId, delta: i64) -> Result<(), Stop> {
        let Some(p) = self.primary.as_mut() else {
            cx.reply(id, Response::NotPrimary { primary: PRIMARY });
            return Ok(());
        };
        if p.recovering.is_some() {
            cx.reply(id, Response::Unavailable);
            return Ok(());
        }
        if self.bug != Some(CounterBug::NoDedup) {
            if let Some(&at) = p.index_of.get(&id) {
                cx.sometimes("counter.retried_increment_found_in_the_log");
                if at < self.commit {
                    cx.reply(id, Response::Incremented);
                } else {
                    p.waiters.entry(at).or_default().push(id);
                }
                return Ok(());
            }
        }
        let epoch = p.epoch;
        let at = self.append(cx, Entry { epoch, id: Some(id), delta })?;
        let p = self.primary.as_mut().expect("primary");
        p.index_of.insert(id, at);
        if self.bug == Some(CounterBug::AckBeforeDurable) {
            // Planted bug: acknowledged before the group commit made it durable anywhere.
            cx.reply(id, Response::Incremented);
        } else {
            p.waiters.entry(at).or_default().push(id);
        }
        if !p.flush_pending {
            p.flush_pending = true;
            cx.set_timer(Timer::Flush, FLUSH);
        }
        Ok(())
    }

    /// Group commit: one sync for every increment appended since the last flush.
    fn on_flush(&mut self, cx: &mut Cx<'_>) -> Result<(), Stop> {
        let Some(p) = self.primary.as_mut() else { return Ok(()) };
        // Legal slowness: put the flush off a little.
        if buggify!(cx) {
            cx.set_timer(Timer::Flush, FLUSH * 3);
            return Ok(());
        }
        p.flush_pending = false;
        self.sync(cx)?;
        self.replicate(cx);
        self.advance_commit(cx);
        Ok(())
    }

    fn on_read(&mut self, cx: &mut Cx<'_>, id: RequestId) {
        let response = match &self.primary {
            Some(p) if p.recovering.is_none() && self.commit >= p.barrier => {
                Response::Value(p.committed_value)
            }
            Some(_) => Response::Unavailable,
            None if self.bug == Some(CounterBug::ReadFromBackup) => {
                // Planted bug: a backup answers from its own copy, which may lag.
                let known = self.commit.min(self.len()) as usize;
                Response::Value(self.entries[..known].iter().map(|e| e.delta).sum())
            }
            None => Response::NotPrimary { primary: PRIMARY },
        };
        cx.reply(id, response);
    }
}

// The backups' side.
impl CounterNode {
    fn on_replicate(
        &mut self,
        cx: &mut Cx<'_>,
        from: NodeId,
        start: u64,
        prev_epoch: Option<u64>,
        entries: Vec<Entry>,
        commit: u64,
    ) -> Result<(), Stop> {
        // Legal misbehaviour: ignore the message, as if the network lost it.
        if self.is_primary() || buggify!(cx) {
            return Ok(());
        }
        if start > self.len() {
            cx.send(from, Msg::Ack { len: self.len() });
            return Ok(());
        }
        if let Some(prev) = start.checked_sub(1) {
            if Some(self.entries[prev as usize].epoch) != prev_epoch {
                // Log matching fails before `start`: drop the conflicting entry and what follows.
                self.truncate(cx, prev)?;
                cx.send(from, Msg::Ack { len: prev });
                return Ok(());
            }
        }
        let end = self.merge(cx, start, entries)?;
        self.commit = self.commit.max(commit.min(end));
        cx.send(from, Msg::Ack { len: end });
        Ok(())
    }

    /// Writes `entries` at `start`, replacing a conflicting suffix, and syncs. Returns the end of
    /// the matched range. If the disk fills part way, what was written is still synced: a later
    /// message finds those entries in place and acknowledges them, so they must be durable.
    fn merge(&mut self, cx: &mut Cx<'_>, start: u64, entries: Vec<Entry>) -> Result<u64, Stop> {
        let mut at = start;
        let mut changed = false;
        let mut stopped = Ok(());
        for entry in entries {
            if self.entries.get(at as usize) != Some(&entry) {
                stopped = self.replace_from(cx, at, entry);
                if stopped.is_err() {
                    break;
                }
                changed = true;
            }
            at += 1;
        }
        if changed && stopped != Err(Stop::Halted) {
            self.sync(cx)?;
        }
        stopped.map(|()| at)
    }

    /// Puts `entry` at position `at`, dropping what is there and after it.
    fn replace_from(&mut self, cx: &mut Cx<'_>, at: u64, entry: Entry) -> Result<(), Stop> {
        if at < self.len() {
            self.truncate(cx, at)?;
        }
        self.append(cx, entry).map(|_| ())
    }

    fn truncate(&mut self, cx: &mut Cx<'_>, keep: u64) -> Result<(), Stop> {
        let wal = self.wal.as_mut().expect("booted");
        checked(wal.truncate(cx.disk(), keep), cx)?;
        checked(wal.sync(cx.disk()), cx)?;
        self.entries.truncate(keep as usize);
        self.synced = self.synced.min(keep);
        self.commit = self.commit.min(keep);
        Ok(())
    }
}
