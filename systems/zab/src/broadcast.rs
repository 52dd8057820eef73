//! Broadcast (Zab phase 3): proposals, acknowledgements, commits, heartbeats, and delivery.
//!
//! The leader gives each proposal the next zxid of its epoch, makes it durable, counts itself,
//! and sends it to every synchronized follower. A follower appends what follows its history
//! (a proposal names the position and zxid it follows; anything else is a resend or reordered,
//! and the follower answers with what it holds), makes it durable, then acknowledges. The leader
//! commits the highest position a quorum of trusted voters holds durably; its whole history is
//! its own epoch's proposals after the initial history a quorum acknowledged with NEWLEADER, so
//! any position a quorum holds can commit. Every tick the leader sends each follower what it has
//! not acknowledged (a heartbeat when nothing), and gives up leading when it has not heard from
//! a quorum for the sync limit. Servers deliver committed transactions in order, answer the
//! clients that wait on them, and snapshot their tree every `snapshot_every` transactions.

use crate::api::ZkResponse;
use crate::bugs::ZabBug;
use crate::msg::{Msg, Pos, Snapshot, Txn, TxnBody};
use crate::state::{FollowerPhase, LeaderPhase, Role};
use crate::{Stop, Zab};
use faultline_checkers::invariants::zab::{ObservedTxn, Zxid as ObservedZxid};
use faultline_sim::{Context, NodeId};

/// The observed form of a zxid.
pub(crate) fn observed(z: crate::msg::Zxid) -> ObservedZxid {
    ObservedZxid::new(z.epoch, z.counter)
}

impl Zab {
    pub(crate) fn leader_tick(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        let gap = self.now.saturating_since(l.last_tick);
        l.last_tick = self.now;
        if gap > self.config.tick * 4 {
            // Paused, or the clock jumped: the sessions did not go quiet, this server did.
            let now = self.now;
            l.tracker.values_mut().for_each(|t| *t = now);
        }
        if l.phase != LeaderPhase::Broadcast {
            return self.discovery_tick(cx);
        }
        self.discovery_tick(cx)?;
        if !self.hears_quorum() {
            tracing::info!(node = %self.id, "lost the quorum: looking again");
            self.look(cx);
            return Ok(());
        }
        self.one_per_message = faultline_sim::buggify!(cx);
        self.heartbeat();
        self.expire_sessions(cx)
    }

    /// Whether a quorum of trusted voters (this leader included) was heard within the sync limit.
    fn hears_quorum(&self) -> bool {
        let Role::Leading(l) = &self.role else { return false };
        let heard = l.learners.values().filter(|x| {
            x.voter
                && x.trusted
                && x.synced
                && self.now.saturating_since(x.last_heard) <= self.config.sync_limit
        });
        self.is_quorum(heard.count(), true)
    }

    /// A new heartbeat round: everything unacknowledged again to every synchronized follower.
    pub(crate) fn heartbeat(&mut self) {
        let Role::Leading(l) = &mut self.role else { return };
        l.round += 1;
        let mut synced = Vec::new();
        for (id, x) in l.learners.iter_mut().filter(|(_, x)| x.synced) {
            x.next = x.matched + 1;
            synced.push(*id);
        }
        for to in synced {
            self.send_propose(to);
        }
    }

    /// The next PROPOSAL for `to`: what follows its `next` position, or a heartbeat.
    pub(crate) fn send_propose(&mut self, to: NodeId) {
        let (base, last, commit) = (self.history.base(), self.history.last(), self.commit);
        let max = if self.one_per_message { 1 } else { self.config.max_txns_per_message };
        let Role::Leading(l) = &mut self.role else { return };
        let (epoch, round) = (l.epoch, l.round);
        let Some(x) = l.learners.get_mut(&to).filter(|x| x.synced) else { return };
        let next = x.next.min(last.index + 1);
        if next <= base.index {
            // It fell behind the log's start: a snapshot it is.
            x.synced = false;
            x.wants_snap = true;
            x.sync_sent = None;
            return;
        }
        let prev = self.history.pos(next - 1).expect("positions after the base are held");
        let txns = self.history.after(prev.index, max);
        x.next = next + txns.len() as u64;
        self.send(to, Msg::Propose { epoch, prev, txns, commit, round });
    }

    /// Leader: orders `body` as the next transaction of its epoch, durably, and sends it out.
    pub(crate) fn propose(&mut self, cx: &mut Context<'_, Zab>, body: TxnBody) -> Result<Pos, Stop> {
        let Role::Leading(l) = &mut self.role else { return Err(Stop) };
        debug_assert_eq!(l.phase, LeaderPhase::Broadcast);
        let zxid = crate::msg::Zxid::new(l.epoch, l.counter + 1);
        let txn = Txn { zxid, body };
        let index = self.history.last().index + 1;
        let proposed = ObservedTxn { index, zxid: observed(zxid), digest: txn.digest() };
        let result = self.persist_append(cx, vec![txn], true);
        // Proposed from the moment it is written: a write that fails and halts (a failed sync)
        // may still leave it on disk, to return at a restart. A write a full disk refused left
        // nothing, and the zxid goes to the next transaction.
        if result.is_ok() || self.halt.is_some() {
            self.step.proposed.push(proposed);
        }
        let pos = result?;
        let Role::Leading(l) = &mut self.role else { return Err(Stop) };
        l.counter += 1;
        let ready: Vec<NodeId> =
            l.learners.iter().filter(|(_, x)| x.synced && x.next == pos.index).map(|(id, _)| *id).collect();
        for to in ready {
            self.send_propose(to);
        }
        // Proposed, whatever happens next: a full disk while delivering does not unpropose it.
        if self.advance_commit(cx).is_err() && self.halt.is_some() {
            return Err(Stop);
        }
        Ok(pos)
    }

    pub(crate) fn on_ack(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        epoch: u64,
        matched: u64,
        round: u64,
        touched: Vec<crate::api::SessionId>,
    ) -> Result<(), Stop> {
        let (now, last) = (self.now, self.history.last().index);
        let Role::Leading(l) = &mut self.role else { return Ok(()) };
        if epoch != l.epoch || l.phase != LeaderPhase::Broadcast {
            return Ok(());
        }
        let Some(x) = l.learners.get_mut(&from).filter(|x| x.synced) else { return Ok(()) };
        x.last_heard = now;
        x.round = x.round.max(round);
        // An acknowledgement at the position the leader has on record, short of what was sent:
        // what followed was lost. One below the record is an old one that arrived late.
        let behind = matched == x.matched && x.matched + 1 < x.next;
        x.matched = x.matched.max(matched.min(last));
        for s in touched {
            if let Some(t) = l.tracker.get_mut(&s) {
                *t = now;
            }
        }
        if behind || x.next <= x.matched {
            x.next = x.matched + 1;
        }
        if behind {
            self.send_propose(from);
        }
        self.advance_commit(cx)?;
        self.serve_reads();
        Ok(())
    }

    /// Leader: commits the highest position a quorum of trusted voters holds durably.
    pub(crate) fn advance_commit(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let Role::Leading(l) = &self.role else { return Ok(()) };
        if l.phase != LeaderPhase::Broadcast {
            return Ok(());
        }
        let mut held: Vec<u64> =
            l.learners.values().filter(|x| x.voter && x.trusted && x.synced).map(|x| x.matched).collect();
        held.push(self.marked);
        held.sort_unstable_by(|a, b| b.cmp(a));
        let needed = if self.has_bug(ZabBug::CommitBeforeQuorumAck) {
            // BUG(CommitBeforeQuorumAck): half the ensemble, rounded down, is one short of a
            // majority (and just the leader in a three-server ensemble).
            (self.config.members.len() / 2).max(1)
        } else {
            self.config.quorum()
        };
        let Some(&candidate) = held.get(needed - 1) else { return Ok(()) };
        if candidate <= self.commit {
            return Ok(());
        }
        self.commit = candidate;
        let epoch = l.epoch;
        let synced: Vec<NodeId> = l.learners.iter().filter(|(_, x)| x.synced).map(|(id, _)| *id).collect();
        for to in synced {
            self.send(to, Msg::Commit { epoch, commit: candidate });
        }
        self.apply_committed(cx)?;
        self.serve_reads();
        Ok(())
    }

    /// Follower: a PROPOSAL (or heartbeat) from its leader.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_propose(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        epoch: u64,
        prev: Pos,
        txns: Vec<Txn>,
        commit: u64,
        round: u64,
    ) -> Result<(), Stop> {
        let now = self.now;
        let Role::Following(f) = &mut self.role else { return Ok(()) };
        if from != f.leader
            || epoch != f.epoch
            || !matches!(f.phase, FollowerPhase::Synced | FollowerPhase::Serving)
        {
            return Ok(());
        }
        f.last_heard = now;
        // Proposals flow only once the leader is established: this is as good as UPTODATE.
        self.become_up_to_date(cx)?;
        self.accept(cx, prev, txns)?;
        let touched = std::mem::take(&mut self.touched).into_iter().collect();
        let matched = self.marked;
        self.send(from, Msg::Ack { epoch, matched, round, touched });
        cx.crash_point();
        self.learn_commit(cx, commit)
    }

    /// Appends the transactions of a proposal that follow this history, durably. A follower
    /// never truncates during broadcast: a proposal that does not fit is ignored (a resend, or
    /// one that overtook another), and the acknowledgement tells the leader where it stands.
    fn accept(&mut self, cx: &mut Context<'_, Zab>, prev: Pos, txns: Vec<Txn>) -> Result<(), Stop> {
        let last = self.history.last();
        if prev.index > last.index || txns.is_empty() {
            return Ok(());
        }
        let skip = (last.index - prev.index) as usize;
        if skip >= txns.len() {
            return Ok(());
        }
        let joins =
            self.history.zxid_at(last.index) == Some(if skip == 0 { prev.zxid } else { txns[skip - 1].zxid });
        if !joins {
            tracing::warn!(node = %self.id, ?prev, ?last, "a proposal does not follow this history: looking again");
            self.look(cx);
            return Err(Stop);
        }
        self.persist_append(cx, txns[skip..].to_vec(), true)?;
        Ok(())
    }

    pub(crate) fn on_commit(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        epoch: u64,
        commit: u64,
    ) -> Result<(), Stop> {
        let now = self.now;
        let Role::Following(f) = &mut self.role else { return Ok(()) };
        if from != f.leader
            || epoch != f.epoch
            || !matches!(f.phase, FollowerPhase::Synced | FollowerPhase::Serving)
        {
            return Ok(());
        }
        f.last_heard = now;
        self.become_up_to_date(cx)?;
        self.learn_commit(cx, commit)
    }

    /// Follower: the leader's commit position, as far as this history reaches.
    pub(crate) fn learn_commit(&mut self, cx: &mut Context<'_, Zab>, commit: u64) -> Result<(), Stop> {
        let Role::Following(f) = &self.role else { return Ok(()) };
        if f.phase != FollowerPhase::Serving {
            return Ok(());
        }
        let commit = commit.min(self.marked);
        if commit > self.commit {
            self.commit = commit;
            self.apply_committed(cx)?;
        }
        Ok(())
    }

    /// Delivers committed transactions in order, answering the clients that wait on them.
    pub(crate) fn apply_committed(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let upto = self.commit.min(self.history.last().index);
        while self.applied.index < upto {
            let index = self.applied.index + 1;
            let txn = self.history.get(index).expect("committed positions are held").clone();
            let digest = self.history.digest_at(index).expect("committed positions are held");
            if self.step.delivered.is_empty() {
                self.step.delivered_from = Some(self.applied.zxid);
            }
            let reply = self.tree.apply(&txn);
            self.applied = Pos::new(index, txn.zxid);
            self.step.delivered.push(ObservedTxn { index, zxid: observed(txn.zxid), digest });
            self.step.trees.push((index, self.tree.digest()));
            self.track_applied(&txn);
            self.step.delivered_txns.push(txn.clone());
            if let TxnBody::Client { session, xid, .. } = &txn.body {
                if self.pending.get(session).is_some_and(|(x, _)| x == xid) {
                    let (_, origin) = self.pending.remove(session).expect("just found");
                    self.respond(origin, ZkResponse::Done { zxid: txn.zxid, reply });
                }
            }
        }
        self.maybe_snapshot(cx)
    }

    /// Snapshots the tree every `snapshot_every` deliveries, and compacts the log: up to the
    /// snapshot on a follower, and on the leader only as far as every live follower holds,
    /// so that they can still be sent a DIFF.
    fn maybe_snapshot(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let due = self.applied.index >= self.snapshot_at + self.config.snapshot_every;
        if !(due || self.applied.index > self.snapshot_at && faultline_sim::buggify!(cx)) {
            return Ok(());
        }
        let snapshot = Snapshot { pos: self.applied, tree: self.tree.clone() };
        let result = self.store().save_snapshot(cx.disk(), &snapshot);
        self.disk(result)?;
        self.snapshot_at = self.applied.index;
        let mut upto = self.applied.index;
        if let Role::Leading(l) = &self.role {
            let live = l
                .learners
                .values()
                .filter(|x| x.synced && self.now.saturating_since(x.last_heard) <= self.config.sync_limit);
            upto = live.map(|x| x.matched).fold(upto, u64::min);
        }
        let Some(base) = self.history.pos(upto).filter(|p| p.index > self.history.base().index) else {
            return Ok(());
        };
        let txns = self.history.after(base.index, usize::MAX);
        let marked = self.history.pos(self.marked);
        let result = self.store().rewrite(cx.disk(), base, &txns, marked);
        self.disk(result)?;
        self.history.compact(base);
        let keep = self.snapshot_at;
        let result = self.store().prune_snapshots(cx.disk(), keep);
        self.disk(result)?;
        Ok(())
    }
}
