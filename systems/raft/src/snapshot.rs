//! Snapshots and log compaction (section 7, Figures 12 and 13).
//!
//! Once `snapshot_threshold` applied entries sit in the log, a node snapshots its state machine
//! (data, client sessions and the membership as of the last applied entry), writes it durably,
//! then rewrites its log to hold only the entries after it. A leader whose follower needs an
//! entry it has compacted sends the whole snapshot in one InstallSnapshot message (no
//! chunking). The follower keeps its entries after the snapshot only if its entry at the
//! snapshot's index has the snapshot's term (then, by log matching, the rest of its log
//! follows the same history); otherwise it discards the whole log (Figure 13, steps 6 and 7).
//! Unreadable entries (holes) are never written back, so a node with holes does not compact,
//! and an installed snapshot fills every hole it covers.

use crate::log::RaftLog;
use crate::machine::StateMachine;
use crate::membership::Membership;
use crate::msg::{Command, Entry, LogId, Msg, Snapshot};
use crate::{Raft, RaftBug, Stop};
use faultline_sim::{Context, NodeId};

/// Applied entries after which a buggified node may snapshot early.
const EARLY_SNAPSHOT_ENTRIES: u64 = 4;

impl<M: StateMachine> Raft<M> {
    /// Compacts the log if enough applied entries have accumulated.
    pub(crate) fn maybe_snapshot(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        let base = self.log.base().index;
        // buggify: compact early and often, so that lagging followers need InstallSnapshot
        // (section 7) while faults are going on, not only in long runs.
        let due = self.applied >= base + self.config.snapshot_threshold
            || (self.applied >= base + EARLY_SNAPSHOT_ENTRIES && faultline_sim::buggify!(cx));
        if !due || self.log.first_hole().is_some() {
            return Ok(());
        }
        let last =
            LogId::new(self.applied, self.log.term_at(self.applied).expect("applied entries are in the log"));
        let snapshot =
            Snapshot { last, members: self.members.at(self.applied).to_vec(), kv: self.kv.clone() };
        let suffix = self.log.entries(self.applied + 1, usize::MAX);
        if self.write_snapshot(cx, &snapshot, &suffix).is_err() {
            // A full disk: keep the longer log for now. (A failed sync has already halted.)
            return if self.halt.is_some() { Err(Stop) } else { Ok(()) };
        }
        self.log.compact_to(last);
        self.members.compact_to(last.index);
        self.snapshot = Some(snapshot);
        Ok(())
    }

    /// Writes `snapshot`, then a log of `suffix` after it, both durably.
    fn write_snapshot(
        &mut self,
        cx: &mut Context<'_, Self>,
        snapshot: &Snapshot<M>,
        suffix: &[Entry<M>],
    ) -> Result<(), Stop> {
        let result = self.store().save_snapshot(cx.disk(), snapshot);
        self.disk(result)?;
        let last = suffix.last().map_or(snapshot.last, Entry::id);
        let result = self.store().rewrite(cx.disk(), snapshot.last, suffix.iter(), last);
        self.disk(result)?;
        self.marked = last.index;
        self.promise = self.promise.max(last);
        Ok(())
    }

    /// Leader: sends its snapshot to `to`, whose next entry it no longer has.
    pub(crate) fn send_snapshot(&mut self, to: NodeId) {
        let term = self.hard.term;
        let Some(snapshot) = self.snapshot.clone() else { return };
        let Some(leader) = self.leader_state_mut() else { return };
        let round = leader.round;
        if let Some(p) = leader.progress.get_mut(&to) {
            p.next = snapshot.last.index + 1;
            p.probing = true;
        }
        self.send(to, Msg::InstallSnapshot { term, round, snapshot: Box::new(snapshot) });
    }

    pub(crate) fn handle_install_snapshot(
        &mut self,
        cx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        round: u64,
        snapshot: Snapshot<M>,
    ) -> Result<(), Stop> {
        if term < self.hard.term {
            self.send(from, Msg::SnapshotReply { term: self.hard.term, round, index: 0 });
            return Ok(());
        }
        if self.is_leader() && term == self.hard.term {
            return Ok(()); // two leaders in one term: only possible with a planted bug
        }
        self.follow(cx, term, Some(from))?;
        let index = snapshot.last.index;
        if index > self.commit {
            self.install_snapshot(cx, snapshot)?;
        }
        self.send(from, Msg::SnapshotReply { term: self.hard.term, round, index });
        Ok(())
    }

    fn install_snapshot(&mut self, cx: &mut Context<'_, Self>, snapshot: Snapshot<M>) -> Result<(), Stop> {
        let last = snapshot.last;
        tracing::debug!(node = %self.id, index = last.index, term = last.term, "installing a snapshot");
        let mut keep = self.log.readable_term_at(last.index) == Some(last.term);
        if self.has_bug(RaftBug::SnapshotKeepsConflictingEntries) {
            // BUG(SnapshotKeepsConflictingEntries): keep what follows whatever its history.
            keep |= self.log.term_at(last.index).is_some();
        }
        if !keep && self.log.term_at(last.index).is_some() {
            // Figure 13, step 6: the log holds a different entry at the snapshot's index.
            cx.sometimes("raft.snapshot_replaces_a_conflicting_log");
        }
        let suffix = if keep { self.log.entries(last.index + 1, usize::MAX) } else { Vec::new() };
        // Entries dropped past a hole may be committed ones this node acknowledged: keep the
        // promise. Otherwise everything dropped is in the snapshot or conflicts with it.
        let holes = self.log.first_hole().is_some();
        if holes {
            self.save_promise(cx)?;
        }
        self.write_snapshot(cx, &snapshot, &suffix)?;
        self.log = RaftLog::new(last);
        self.members = Membership::new(last.index, snapshot.members.clone());
        for entry in suffix {
            if let Command::Config { members, .. } = &entry.command {
                self.members.append(entry.index, members.clone());
            }
            self.log.append(entry);
        }
        self.kv = snapshot.kv.clone();
        self.commit = last.index;
        self.applied = last.index;
        self.snapshot = Some(snapshot);
        if !holes {
            self.promise = self.log.last().max(self.hard.promise);
        }
        Ok(())
    }

    pub(crate) fn handle_snapshot_reply(
        &mut self,
        cx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        round: u64,
        index: u64,
    ) -> Result<(), Stop> {
        if term != self.hard.term {
            return self.observe_term(cx, term);
        }
        let last = self.log.last_index();
        let Some(p) = self.leader_state_mut().and_then(|l| l.progress.get_mut(&from)) else { return Ok(()) };
        p.active = true;
        p.round = p.round.max(round);
        p.matched = p.matched.max(index);
        p.next = p.next.max(index + 1);
        p.probing = false;
        let resend = p.next <= last;
        self.advance_commit(cx)?;
        if resend {
            self.send_append(from);
        }
        self.serve_reads();
        Ok(())
    }
}
