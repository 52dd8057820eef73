//! Discovery and synchronization, both sides (Zab phases 1 and 2; ZooKeeper's FOLLOWERINFO,
//! LEADERINFO, ACKEPOCH, then DIFF, TRUNC or SNAP, NEWLEADER, UPTODATE).
//!
//! Discovery: a quorum of voters' accepted epochs decides the new epoch (one past the highest),
//! which the leader accepts durably before it tells anyone. A follower accepts it durably and
//! answers with its current epoch and history end; a leader that learns of a trusted history
//! later than its own gives up. A quorum of trusted voters' ACKEPOCHs establishes the leader;
//! it makes the epoch its current epoch, durably.
//!
//! Synchronization: for each follower the leader picks DIFF when its history holds the
//! follower's last position (send what follows), TRUNC when it holds an earlier position of
//! lower zxid (the follower drops its divergent suffix), SNAP otherwise (or when asked): the
//! data tree as the leader has applied it. The follower checks the position it is told to
//! continue from and asks for a snapshot if its history does not hold it; it makes everything
//! durable, and the epoch its current epoch, before it acknowledges NEWLEADER. Once a quorum of
//! trusted voters has acknowledged, the leader commits its whole history and broadcasts.
//! A repairing follower becomes a full voter again at UPTODATE: it then holds the history of a
//! leader that a quorum of trusted servers established.

use crate::bugs::ZabBug;
use crate::msg::{Msg, Pos, Snapshot, SyncBase, Txn};
use crate::state::{FollowerPhase, LeaderPhase, Learner, Role};
use crate::storage::{Meta, Standing};
use crate::{Stop, Zab};
use faultline_sim::{Context, NodeId};

impl Zab {
    /// Whether `ids` (this server included when `me`) make a quorum.
    pub(crate) fn is_quorum(&self, others: usize, me: bool) -> bool {
        others + usize::from(me) >= self.config.quorum()
    }

    // ---- leader side ----

    pub(crate) fn on_follower_info(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        accepted_epoch: u64,
        voter: bool,
    ) -> Result<(), Stop> {
        let now = self.now;
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        let learner = l.learners.entry(from).or_insert_with(|| Learner::new(now));
        learner.voter = voter;
        learner.accepted = Some(accepted_epoch);
        learner.last_heard = now;
        if l.epoch == 0 {
            return self.try_decide_epoch(cx);
        }
        if voter && accepted_epoch > l.epoch {
            // The follower promised a later epoch to another prospective leader, and can never
            // join this one (ZooKeeper's follower gives up on such a leader). Step down: the
            // next election decides an epoch past every promise, and the ensemble forms whole.
            tracing::info!(node = %self.id, follower = %from, accepted_epoch, "a follower accepted a later epoch: looking again");
            self.look(cx);
            return Ok(());
        }
        let epoch = l.epoch;
        self.send(from, Msg::LeaderInfo { epoch });
        Ok(())
    }

    /// Decides the new epoch once a quorum of voters told their accepted epochs.
    pub(crate) fn try_decide_epoch(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let Role::Leading(l) = &self.role else { return Ok(()) };
        let known: Vec<u64> = l.learners.values().filter(|x| x.voter).filter_map(|x| x.accepted).collect();
        if l.epoch != 0 || !self.is_quorum(known.len(), true) {
            return Ok(());
        }
        let epoch = known.into_iter().chain([self.meta.accepted_epoch]).max().unwrap_or(0) + 1;
        self.save_meta(cx, Meta { accepted_epoch: epoch, ..self.meta })?;
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        l.epoch = epoch;
        let told: Vec<NodeId> =
            l.learners.iter().filter(|(_, x)| x.accepted.is_some()).map(|(id, _)| *id).collect();
        for to in told {
            self.send(to, Msg::LeaderInfo { epoch });
        }
        self.try_establish(cx)
    }

    pub(crate) fn on_ack_epoch(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        epoch: u64,
        current_epoch: u64,
        last: Pos,
        trusted: bool,
    ) -> Result<(), Stop> {
        let (now, my_last) = (self.now, self.history.last());
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        if epoch != l.epoch {
            return Ok(());
        }
        let Some(learner) = l.learners.get_mut(&from) else { return Ok(()) };
        *learner =
            Learner { acked: Some((current_epoch, last)), trusted, last_heard: now, ..learner.clone() };
        if l.phase == LeaderPhase::Discovery
            && trusted
            && (current_epoch, last.zxid) > (l.current_before, my_last.zxid)
        {
            tracing::info!(node = %self.id, follower = %from, "a follower's history is later than the leader's: looking again");
            self.look(cx);
            return Ok(());
        }
        match l.phase {
            LeaderPhase::Discovery => self.try_establish(cx),
            LeaderPhase::Sync | LeaderPhase::Broadcast => {
                self.send_sync(cx, from);
                Ok(())
            }
        }
    }

    /// Establishes the epoch once a quorum of trusted voters acknowledged it.
    fn try_establish(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let Role::Leading(l) = &self.role else { return Ok(()) };
        let acked = l.learners.values().filter(|x| x.voter && x.trusted && x.acked.is_some()).count();
        if l.phase != LeaderPhase::Discovery || l.epoch == 0 || !self.is_quorum(acked, true) {
            return Ok(());
        }
        let epoch = l.epoch;
        self.save_meta(cx, Meta { current_epoch: epoch, ..self.meta })?;
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        l.phase = LeaderPhase::Sync;
        let followers: Vec<NodeId> =
            l.learners.iter().filter(|(_, x)| x.acked.is_some()).map(|(id, _)| *id).collect();
        for to in followers {
            self.send_sync(cx, to);
        }
        if self.has_bug(ZabBug::SkipSynchronization) {
            // BUG(SkipSynchronization): the history counts as committed the moment the epoch is
            // established, before any follower has it.
            return self.start_broadcast(cx);
        }
        self.try_start_broadcast(cx)
    }

    /// Sends `to` the sync its ACKEPOCH calls for, then NEWLEADER (one message).
    pub(crate) fn send_sync(&mut self, cx: &mut Context<'_, Zab>, to: NodeId) {
        let now = self.now;
        let Role::Leading(l) = &mut self.role else { return };
        let epoch = l.epoch;
        // Only an established leader synchronizes: its history holds everything committed.
        if l.phase == LeaderPhase::Discovery {
            return;
        }
        let Some(learner) = l.learners.get_mut(&to) else { return };
        let Some((_, last)) = learner.acked else { return };
        let snap = std::mem::take(&mut learner.wants_snap);
        learner.synced = false;
        learner.sync_sent = Some(now);
        learner.sync += 1;
        let sync = learner.sync;
        let base = if snap || faultline_sim::buggify!(cx) {
            None
        } else if self.history.holds(last) {
            Some(SyncBase::Diff(last))
        } else {
            self.history.last_below(last.index, last.zxid).map(SyncBase::Trunc)
        };
        let (base, after) = match base {
            Some(SyncBase::Diff(p)) => (SyncBase::Diff(p), p.index),
            Some(SyncBase::Trunc(p)) => (SyncBase::Trunc(p), p.index),
            _ => {
                let snapshot = Snapshot { pos: self.applied, tree: self.tree.clone() };
                (SyncBase::Snap(Box::new(snapshot)), self.applied.index)
            }
        };
        let txns = self.history.after(after, usize::MAX);
        self.send(to, Msg::NewLeader { epoch, sync, base, txns });
    }

    pub(crate) fn on_need_snap(&mut self, from: NodeId, epoch: u64) -> Result<(), Stop> {
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        if epoch != l.epoch {
            return Ok(());
        }
        if let Some(learner) = l.learners.get_mut(&from) {
            learner.wants_snap = true;
            learner.sync_sent = None;
        }
        Ok(())
    }

    pub(crate) fn on_ack_new_leader(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        epoch: u64,
        sync: u64,
        last: Pos,
    ) -> Result<(), Stop> {
        let (now, holds) = (self.now, self.history.holds(last));
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        let Some(learner) = l.learners.get_mut(&from).filter(|x| x.acked.is_some()) else { return Ok(()) };
        if epoch != l.epoch || !holds || learner.synced || sync != learner.sync {
            return Ok(());
        }
        learner.synced = true;
        learner.matched = last.index;
        learner.next = last.index + 1;
        learner.last_heard = now;
        match l.phase {
            LeaderPhase::Discovery => Ok(()),
            LeaderPhase::Sync => self.try_start_broadcast(cx),
            LeaderPhase::Broadcast => {
                let commit = self.commit;
                self.send(from, Msg::UpToDate { epoch, commit });
                self.send_propose(from);
                Ok(())
            }
        }
    }

    fn try_start_broadcast(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let Role::Leading(l) = &self.role else { return Ok(()) };
        let synced = l.learners.values().filter(|x| x.voter && x.trusted && x.synced).count();
        if l.phase != LeaderPhase::Sync || !self.is_quorum(synced, true) {
            return Ok(());
        }
        self.start_broadcast(cx)
    }

    /// A quorum holds the leader's history: it is committed, and broadcast begins.
    fn start_broadcast(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        self.commit = self.commit.max(self.history.last().index);
        self.apply_committed(cx)?;
        let (now, commit, applied) = (self.now, self.commit, self.applied.zxid);
        let sessions: Vec<_> = self.tree.open_sessions().map(|(s, _)| s).collect();
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        l.phase = LeaderPhase::Broadcast;
        l.primary = Some(applied);
        l.tracker = sessions.into_iter().map(|s| (s, now)).collect();
        let epoch = l.epoch;
        let synced: Vec<NodeId> = l.learners.iter().filter(|(_, x)| x.synced).map(|(id, _)| *id).collect();
        self.step.events.push("epochs");
        for to in synced {
            self.send(to, Msg::UpToDate { epoch, commit });
            self.send_propose(to);
        }
        // A leader cut off just as it starts broadcasting, with one follower: the others
        // elect a new leader while this one may still take requests.
        cx.partition_point();
        Ok(())
    }

    /// Leader tick: before broadcast, give up after the init limit; resend what was not
    /// answered (LEADERINFO, and once established NEWLEADER).
    pub(crate) fn discovery_tick(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let now = self.now;
        let resend_after = self.config.tick * 4;
        let Role::Leading(l) = &self.role else { return Ok(()) };
        if l.phase != LeaderPhase::Broadcast && now.saturating_since(l.since) > self.config.init_limit {
            tracing::info!(node = %self.id, "discovery and synchronization timed out: looking again");
            self.look(cx);
            return Ok(());
        }
        let epoch = l.epoch;
        let mut infos = Vec::new();
        let mut syncs = Vec::new();
        for (id, x) in &l.learners {
            if epoch != 0 && x.acked.is_none() && x.accepted.is_some() {
                infos.push(*id);
            } else if l.phase != LeaderPhase::Discovery
                && x.acked.is_some()
                && !x.synced
                && x.sync_sent.is_none_or(|t| now.saturating_since(t) >= resend_after)
            {
                syncs.push(*id);
            }
        }
        for to in infos {
            self.send(to, Msg::LeaderInfo { epoch });
        }
        for to in syncs {
            self.send_sync(cx, to);
        }
        Ok(())
    }

    // ---- follower side ----

    pub(crate) fn on_leader_info(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        epoch: u64,
    ) -> Result<(), Stop> {
        let now = self.now;
        let Role::Following(f) = &mut self.role else { return Ok(()) };
        if from != f.leader {
            return Ok(());
        }
        f.last_heard = now;
        if matches!(f.phase, FollowerPhase::Synced | FollowerPhase::Serving) && f.epoch == epoch {
            return Ok(());
        }
        if epoch < self.meta.accepted_epoch {
            tracing::info!(node = %self.id, epoch, accepted = self.meta.accepted_epoch, "a leader proposed a stale epoch");
            self.look(cx);
            return Ok(());
        }
        // A promise made to this leader is repeated to it (its LEADERINFO is resent when an
        // answer is lost); an epoch accepted before, from another leader, is no promise.
        let again = f.phase == FollowerPhase::EpochAcked && f.epoch == epoch;
        let promised = if again { f.promised } else { epoch > self.meta.accepted_epoch };
        self.save_meta(cx, Meta { accepted_epoch: epoch, ..self.meta })?;
        let (current_epoch, last, trusted) = (self.meta.current_epoch, self.history.last(), self.trusted());
        if let Role::Following(f) = &mut self.role {
            if f.epoch != epoch {
                f.sync = 0; // NEWLEADERs are numbered within an epoch
            }
            f.epoch = epoch;
            f.promised = promised;
            f.phase = FollowerPhase::EpochAcked;
        }
        self.send(from, Msg::AckEpoch { epoch, current_epoch, last, trusted, promised });
        cx.crash_point();
        Ok(())
    }

    pub(crate) fn on_new_leader(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        epoch: u64,
        sync: u64,
        base: SyncBase,
        txns: Vec<Txn>,
    ) -> Result<(), Stop> {
        let now = self.now;
        let Role::Following(f) = &mut self.role else { return Ok(()) };
        // A NEWLEADER older than the last one applied is a duplicate or overtook it: applying
        // it would cut what the follower has received since.
        if from != f.leader || epoch != f.epoch || f.phase == FollowerPhase::Connecting || sync <= f.sync {
            return Ok(());
        }
        f.last_heard = now;
        let synced = match base {
            SyncBase::Snap(snapshot) => self.install_snapshot(cx, *snapshot, txns)?,
            SyncBase::Diff(p) => self.sync_from(cx, p, txns, "diff_syncs")?,
            SyncBase::Trunc(p) => self.sync_from(cx, p, txns, "trunc_syncs")?,
        };
        if !synced {
            self.send(from, Msg::NeedSnap { epoch });
            return Ok(());
        }
        self.crash_here(cx, "before acknowledging NEWLEADER")?;
        self.save_meta(cx, Meta { current_epoch: epoch, ..self.meta })?;
        if let Role::Following(f) = &mut self.role {
            f.phase = FollowerPhase::Synced;
            f.sync = sync;
        }
        let last = self.history.last();
        self.send(from, Msg::AckNewLeader { epoch, sync, last });
        cx.crash_point();
        Ok(())
    }

    /// DIFF or TRUNC: continues the history from `from`, which it must hold, with `txns`.
    /// Returns false (send a snapshot) when it cannot.
    fn sync_from(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: Pos,
        txns: Vec<Txn>,
        event: &'static str,
    ) -> Result<bool, Stop> {
        if !self.history.holds(from) {
            return Ok(false);
        }
        // Transactions this server already holds (a resent NEWLEADER) are kept; the first
        // one that differs, and everything after it, goes.
        let same = txns
            .iter()
            .enumerate()
            .take_while(|(k, t)| self.history.zxid_at(from.index + 1 + *k as u64) == Some(t.zxid))
            .count();
        let cut = from.index + same as u64;
        if self.applied.index > cut && self.history.last().index > cut {
            return Ok(false);
        }
        let truncating = self.history.last().index > cut;
        if truncating {
            cx.sometimes("zab.a_sync_truncates_a_divergent_suffix");
            self.truncate_after(cx, cut)?;
            self.crash_here(cx, "during a TRUNC sync")?;
        }
        let sync = !self.has_bug(ZabBug::AckNewleaderBeforePersist);
        // BUG(AckNewleaderBeforePersist): without `sync` the synced transactions (and a
        // truncation) are only written, and NEWLEADER is acknowledged while they may still be
        // in the page cache.
        let fresh = txns[same..].to_vec();
        let appends = !fresh.is_empty();
        self.persist_append(cx, fresh, sync)?;
        if sync && truncating && !appends {
            let result = self.store().sync(cx.disk());
            self.disk(result)?;
        }
        self.step.events.push(event);
        Ok(true)
    }

    /// SNAP: replaces the tree and the history with the leader's, durably.
    fn install_snapshot(
        &mut self,
        cx: &mut Context<'_, Zab>,
        snapshot: Snapshot,
        txns: Vec<Txn>,
    ) -> Result<bool, Stop> {
        let mut history = crate::history::History::new(snapshot.pos);
        for t in &txns {
            history.append(t.clone());
        }
        let last = history.last();
        if !self.has_bug(ZabBug::SnapSyncInMemoryOnly) {
            let result = self.store().save_snapshot(cx.disk(), &snapshot);
            self.disk(result)?;
            self.crash_here(cx, "during a SNAP sync")?;
            let result = self.store().rewrite(cx.disk(), snapshot.pos, &txns, Some(last));
            self.disk(result)?;
            let result = self.store().prune_snapshots(cx.disk(), snapshot.pos.index);
            self.disk(result)?;
        }
        // BUG(SnapSyncInMemoryOnly): otherwise the snapshot and the log stay as they were on
        // disk, and a restart brings the old state back.
        self.history = history;
        self.marked = last.index;
        self.applied = snapshot.pos;
        self.commit = self.commit.max(snapshot.pos.index).min(last.index);
        self.tree = snapshot.tree;
        self.snapshot_at = snapshot.pos.index;
        self.step.events.push("snap_syncs");
        cx.sometimes("zab.a_follower_installs_a_snapshot");
        self.step.delivered_from = None;
        Ok(true)
    }

    pub(crate) fn on_up_to_date(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        epoch: u64,
        commit: u64,
    ) -> Result<(), Stop> {
        let Role::Following(f) = &self.role else { return Ok(()) };
        if from != f.leader || epoch != f.epoch || f.phase == FollowerPhase::Connecting {
            return Ok(());
        }
        self.become_up_to_date(cx)?;
        self.learn_commit(cx, commit)
    }

    /// The leader is established and this follower synchronized with it: it serves, and a
    /// repairing follower is whole again.
    pub(crate) fn become_up_to_date(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let Role::Following(f) = &mut self.role else { return Ok(()) };
        if f.phase != FollowerPhase::Synced {
            return Ok(());
        }
        if self.meta.standing == Standing::Repairing {
            self.save_meta(cx, Meta { standing: Standing::Voter, ..self.meta })?;
            self.step.events.push("repairs");
            cx.sometimes("zab.a_damaged_server_is_repaired");
        }
        if let Role::Following(f) = &mut self.role {
            f.phase = FollowerPhase::Serving;
        }
        Ok(())
    }

    /// Follower tick: give up on a silent leader; ask again for LEADERINFO.
    pub(crate) fn follower_tick(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let now = self.now;
        let Role::Following(f) = &self.role else { return Ok(()) };
        let silent = now.saturating_since(f.last_heard) > self.config.sync_limit;
        let slow =
            f.phase != FollowerPhase::Serving && now.saturating_since(f.since) > self.config.init_limit;
        if silent || slow {
            tracing::info!(node = %self.id, leader = %f.leader, "lost the leader: looking again");
            self.look(cx);
            return Ok(());
        }
        if f.phase == FollowerPhase::Connecting {
            let info = Msg::FollowerInfo { accepted_epoch: self.meta.accepted_epoch, voter: self.voter() };
            let leader = f.leader;
            self.send(leader, info);
        }
        Ok(())
    }
}
