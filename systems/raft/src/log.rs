//! The in-memory log: a snapshot base followed by entries, some of which may be unreadable.
//!
//! Index `base.index` is the last entry the snapshot covers (0 and term 0 without one); the
//! log holds indices `base.index + 1 ..= last_index()`. A slot is either an entry (kept with a
//! digest of its encoding, for observations) or a *hole*: an entry this node acknowledged but
//! can no longer read because its disk record is damaged (see `storage.rs`). A hole's term is
//! known when a persist record named it. Holes are refilled only by the leader (the consistency
//! check treats a hole as unknown), and a node with holes neither votes nor campaigns.

use crate::machine::{KvMachine, StateMachine};
use crate::msg::{Entry, LogId};

/// One position of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Slot<M: StateMachine = KvMachine> {
    Entry { entry: Entry<M>, digest: u64 },
    Hole { term: Option<u64> },
}

/// A digest of an entry's encoding (index, term and command).
pub(crate) fn digest<M: StateMachine>(entry: &Entry<M>) -> u64 {
    let bytes = postcard::to_allocvec(entry).expect("an entry always encodes");
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

#[derive(Clone, Debug)]
pub(crate) struct RaftLog<M: StateMachine = KvMachine> {
    base: LogId,
    slots: Vec<Slot<M>>,
}

impl<M: StateMachine> Default for RaftLog<M> {
    fn default() -> Self {
        RaftLog { base: LogId::default(), slots: Vec::new() }
    }
}

impl<M: StateMachine> RaftLog<M> {
    /// An empty log after `base`.
    pub fn new(base: LogId) -> Self {
        RaftLog { base, slots: Vec::new() }
    }

    pub fn base(&self) -> LogId {
        self.base
    }

    pub fn last_index(&self) -> u64 {
        self.base.index + self.slots.len() as u64
    }

    /// The last position; a trailing hole of unknown term reads as term 0 (recovery names the
    /// term of every trailing hole, so this does not happen in practice).
    pub fn last(&self) -> LogId {
        let index = self.last_index();
        LogId::new(index, self.term_at(index).unwrap_or(0))
    }

    fn slot(&self, index: u64) -> Option<&Slot<M>> {
        let offset = index.checked_sub(self.base.index + 1)?;
        self.slots.get(offset as usize)
    }

    /// The term at `index`, if known (the base counts; a hole may know its term).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.base.index {
            return Some(self.base.term);
        }
        match self.slot(index)? {
            Slot::Entry { entry, .. } => Some(entry.term),
            Slot::Hole { term } => *term,
        }
    }

    /// The term at `index` if this node can vouch for the entry there: holes cannot be matched
    /// against a leader's entry, because their content is unknown.
    pub fn readable_term_at(&self, index: u64) -> Option<u64> {
        match self.slot(index) {
            Some(Slot::Hole { .. }) => None,
            _ => self.term_at(index),
        }
    }

    pub fn entry(&self, index: u64) -> Option<&Entry<M>> {
        match self.slot(index)? {
            Slot::Entry { entry, .. } => Some(entry),
            Slot::Hole { .. } => None,
        }
    }

    pub fn is_hole(&self, index: u64) -> bool {
        matches!(self.slot(index), Some(Slot::Hole { .. }))
    }

    pub fn first_hole(&self) -> Option<u64> {
        let at = self.slots.iter().position(|s| matches!(s, Slot::Hole { .. }))?;
        Some(self.base.index + 1 + at as u64)
    }

    /// The first index of the run of holes containing `index`.
    pub fn hole_run_start(&self, mut index: u64) -> u64 {
        while index > self.base.index + 1 && self.is_hole(index - 1) {
            index -= 1;
        }
        index
    }

    pub fn append(&mut self, entry: Entry<M>) {
        assert_eq!(entry.index, self.last_index() + 1, "log appends must be contiguous");
        let digest = digest(&entry);
        self.slots.push(Slot::Entry { entry, digest });
    }

    /// Appends a slot recovered from disk (an entry or a hole) at the next index.
    pub fn push_slot(&mut self, slot: Slot<M>) {
        self.slots.push(slot);
    }

    /// Drops `index` and everything after it.
    pub fn truncate_from(&mut self, index: u64) {
        assert!(index > self.base.index, "cannot truncate into the snapshot");
        self.slots.truncate((index - self.base.index - 1) as usize);
    }

    /// Drops the entries up to `upto` (which must be in the log), making it the new base.
    pub fn compact_to(&mut self, upto: LogId) {
        assert_eq!(self.term_at(upto.index), Some(upto.term), "compaction point must be in the log");
        let drop = (upto.index - self.base.index) as usize;
        self.slots.drain(..drop);
        self.base = upto;
    }

    /// Up to `max` entries from `from` on, stopping at a hole.
    pub fn entries(&self, from: u64, max: usize) -> Vec<Entry<M>> {
        (from..=self.last_index()).take(max).map_while(|i| self.entry(i).cloned()).collect()
    }

    /// The entries after the base with their digests (holes skipped), in index order.
    pub fn iter(&self) -> impl Iterator<Item = (&Entry<M>, u64)> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Entry { entry, digest } => Some((entry, *digest)),
            Slot::Hole { .. } => None,
        })
    }

    pub fn digest_at(&self, index: u64) -> Option<u64> {
        match self.slot(index)? {
            Slot::Entry { digest, .. } => Some(*digest),
            Slot::Hole { .. } => None,
        }
    }

    /// The first index holding `term`, scanning back from `index` (fast back-off, section 5.3).
    pub fn first_index_of_term(&self, term: u64, index: u64) -> u64 {
        let mut first = index;
        while first > self.base.index + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// The last index holding `term`, if any (the leader's side of fast back-off).
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        (self.base.index..=self.last_index()).rev().find(|&i| self.term_at(i) == Some(term))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Command;

    fn entry(index: u64, term: u64) -> Entry {
        Entry { index, term, command: Command::Noop }
    }

    fn log_with(base: LogId, terms: &[u64]) -> RaftLog {
        let mut log = RaftLog::new(base);
        for (k, &t) in terms.iter().enumerate() {
            log.append(entry(base.index + 1 + k as u64, t));
        }
        log
    }

    #[test]
    fn positions_count_from_the_snapshot_base() {
        let log = log_with(LogId::new(10, 2), &[2, 3, 3]);
        assert_eq!(log.last(), LogId::new(13, 3));
        assert_eq!(log.term_at(10), Some(2));
        assert_eq!(log.term_at(9), None);
        assert_eq!(log.term_at(14), None);
        assert_eq!(log.entries(12, 10).iter().map(|e| e.index).collect::<Vec<_>>(), vec![12, 13]);
        assert_eq!(log.first_index_of_term(3, 13), 12);
        assert_eq!(log.last_index_of_term(2), Some(11));
        assert_eq!(log.last_index_of_term(7), None);
    }

    #[test]
    fn truncation_and_compaction() {
        let mut log = log_with(LogId::default(), &[1, 1, 2, 2]);
        log.truncate_from(3);
        assert_eq!(log.last(), LogId::new(2, 1));
        log.compact_to(LogId::new(1, 1));
        assert_eq!(log.base(), LogId::new(1, 1));
        assert_eq!(log.iter().map(|(e, _)| e.index).collect::<Vec<_>>(), vec![2]);
        log.append(entry(3, 4));
        assert_eq!(log.last(), LogId::new(3, 4));
    }

    #[test]
    fn holes_are_known_positions_with_unreadable_content() {
        let mut log = RaftLog::new(LogId::default());
        log.append(entry(1, 1));
        log.push_slot(Slot::Hole { term: None });
        log.push_slot(Slot::Hole { term: Some(2) });
        log.append(entry(4, 2));
        assert_eq!(log.first_hole(), Some(2));
        assert_eq!(log.hole_run_start(3), 2);
        assert_eq!(log.term_at(3), Some(2));
        assert_eq!(log.readable_term_at(3), None);
        assert_eq!(log.entries(1, 10).len(), 1, "entries stop at the first hole");
        assert_eq!(log.iter().count(), 2);
        assert_eq!(log.last(), LogId::new(4, 2));
    }
}
