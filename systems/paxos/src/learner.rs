//! The learner and replica: learning which values are chosen, applying them in slot order, and
//! compacting the log into snapshots.
//!
//! A replica learns a slot is chosen three ways: as the leader, by counting a majority of
//! acceptances at its ballot; from the leader's commit, for every slot up to it where the
//! replica accepted a value at the leader's ballot (that value is the leader's, hence the chosen
//! one); and from catch-up, which hands it chosen values or a snapshot outright. It applies
//! chosen values in slot order to the key-value state machine, whose client sessions apply each
//! write once even when a new leader re-proposed a retried request at a second slot. Once
//! `snapshot_threshold` applied slots sit in the log it snapshots the state machine, writes it
//! durably, and rewrites its log without the slots the snapshot covers (their accepted values
//! are no longer needed: a promise for them sends the snapshot instead). A replica behind a
//! snapshot it is sent installs it, keeping what it accepted after it.

use crate::msg::{Ballot, Msg, Slot, Snapshot, Value};
use crate::state::Role;
use crate::storage::Durable;
use crate::{Paxos, Stop};
use faultline_checkers::invariants::paxos::Learned;
use faultline_sim::{Context, NodeId};

/// Applied slots after which a buggified node may snapshot early.
const EARLY_SNAPSHOT_SLOTS: u64 = 4;

impl Paxos {
    /// Records that `value` is chosen at `slot` (known at `ballot`, when the learner knows it).
    pub(crate) fn record_chosen(&mut self, slot: Slot, value: Value, ballot: Option<Ballot>) {
        if slot <= self.chosen_upto {
            return;
        }
        let noop = value == Value::Noop;
        let digest = value.digest();
        let learned = Learned { slot, digest, ballot: ballot.map(Ballot::as_u64), noop };
        match self.chosen.get(&slot) {
            Some((_, known)) if *known == digest => return,
            // Two values learned chosen at one slot: let the checkers see it; keep the first.
            Some(_) => {}
            None => {
                self.chosen.insert(slot, (value, digest));
            }
        }
        self.trail.learned.push(learned);
    }

    /// Follower: every slot up to `commit` is chosen, with the leader's value at `ballot`.
    pub(crate) fn learn_commit(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        ballot: Ballot,
        commit: Slot,
    ) -> Result<(), Stop> {
        if commit <= self.chosen_upto {
            return Ok(());
        }
        let known: Vec<(Slot, Value)> = (self.acceptor.accepted.range(self.chosen_upto + 1..=commit))
            .filter(|(_, (b, _))| *b == ballot)
            .map(|(s, (_, v))| (*s, v.clone()))
            .collect();
        for (slot, value) in known {
            self.record_chosen(slot, value, Some(ballot));
        }
        self.advance_applied(cx)
    }

    /// Moves the known-chosen prefix forward, applies it, and compacts when due.
    pub(crate) fn advance_applied(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        while self.chosen.contains_key(&(self.chosen_upto + 1)) {
            self.chosen_upto += 1;
        }
        let upto = self.chosen_upto;
        if let Some(l) = self.leader_state_mut() {
            l.proposals.retain(|slot, _| *slot > upto);
        }
        while self.applied < self.chosen_upto {
            self.apply(self.applied + 1);
        }
        self.maybe_snapshot(cx)?;
        self.serve_reads();
        Ok(())
    }

    fn apply(&mut self, slot: Slot) {
        let (value, digest) = self.chosen[&slot].clone();
        self.trail.applied.push((slot, digest));
        self.applied = slot;
        if let Value::Write { id, op } = value {
            if let Some(resp) = self.kv.apply(id, &op).response() {
                let waiting =
                    self.leader_state_mut().and_then(|l| l.writes.remove(&slot).filter(|w| *w == id));
                if waiting.is_some() {
                    self.reply(id, resp);
                }
            }
        }
    }

    /// Catch-up: chosen values sent by a leader (or by a peer this node fetched from).
    pub(crate) fn handle_learn(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        from: NodeId,
        entries: Vec<(Slot, Value)>,
    ) -> Result<(), Stop> {
        let before = self.chosen_upto;
        for (slot, value) in entries {
            self.record_chosen(slot, value, None);
        }
        self.advance_applied(cx)?;
        self.trail.catch_up |= self.chosen_upto > before;
        self.report_learned(from);
        Ok(())
    }

    pub(crate) fn handle_install_snapshot(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        from: NodeId,
        snapshot: Snapshot,
    ) -> Result<(), Stop> {
        if snapshot.slot > self.chosen_upto {
            self.install_snapshot(cx, snapshot)?;
            self.trail.catch_up = true;
            self.advance_applied(cx)?;
        }
        self.report_learned(from);
        Ok(())
    }

    /// Tells `to` how far this node has learned (and, rebuilding, the ballot it waits for).
    fn report_learned(&mut self, to: NodeId) {
        if self.is_leader() {
            return;
        }
        let floor = self.rebuild_floor();
        self.send(to, Msg::Learned { learned: self.chosen_upto, floor });
    }

    /// The acceptor's state as the log must keep it.
    fn durable_state(&self) -> Durable {
        match self.role {
            Role::Rebuilding(_) => Durable::Rebuilding,
            _ => Durable::Voting(self.acceptor.clone()),
        }
    }

    /// Replaces everything up to `snapshot.slot` with the snapshot, durably.
    pub(crate) fn install_snapshot(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        snapshot: Snapshot,
    ) -> Result<(), Stop> {
        tracing::debug!(node = %self.id, slot = snapshot.slot, "installing a snapshot");
        self.compact(cx, snapshot)?;
        self.kv = self.snapshot.as_ref().expect("just installed").kv.clone();
        self.applied = self.base;
        self.chosen_upto = self.chosen_upto.max(self.base);
        Ok(())
    }

    /// Writes `snapshot`, then a log without the slots it covers, and forgets them.
    fn compact(&mut self, cx: &mut Context<'_, Paxos>, snapshot: Snapshot) -> Result<(), Stop> {
        let slot = snapshot.slot;
        let result = self.store().save_snapshot(cx.disk(), &snapshot);
        self.disk(result)?;
        let state = self.durable_state();
        let result = self.store().rewrite(cx.disk(), slot, &state);
        self.disk(result)?;
        self.base = slot;
        self.snapshot = Some(snapshot);
        self.acceptor.accepted.retain(|s, _| *s > slot);
        let window = slot.saturating_sub(self.config.snapshot_threshold);
        self.chosen.retain(|s, _| *s > window);
        Ok(())
    }

    /// Compacts the log if enough applied slots have accumulated.
    fn maybe_snapshot(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        // buggify: compact early and often, so lagging replicas need snapshots while faults are
        // going on, not only in long runs.
        let due = self.applied >= self.base + self.config.snapshot_threshold
            || (self.applied >= self.base + EARLY_SNAPSHOT_SLOTS && faultline_sim::buggify!(cx));
        if !due {
            return Ok(());
        }
        let snapshot = Snapshot { slot: self.applied, kv: self.kv.clone() };
        if self.compact(cx, snapshot).is_err() {
            // A full disk: keep the longer log for now. (A failed sync has already halted.)
            return if self.halt.is_some() { Err(Stop) } else { Ok(()) };
        }
        self.trail.snapshot = true;
        Ok(())
    }
}
