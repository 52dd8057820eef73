//! The leader: phase 2a, counting acceptances, heartbeats and catch-up.
//!
//! A client write goes to the next free slot: the leader accepts it itself (durably, as any
//! acceptor) and sends it to every peer at its ballot. A value accepted at the leader's ballot by
//! a majority is chosen; every slot up to the first not known chosen is the commit, which rides
//! on the next phase 2a message, so replicas learn the values they accepted at this ballot. Each
//! heartbeat starts a broadcast round (reads confirm leadership with it), resends to each peer
//! the values it has not accepted, and checks that a majority is still in contact ("check
//! quorum": a leader cut off steps down, so clients stop waiting on it).
//!
//! Catch-up: a peer that was told a commit it could not learn (it misses values of this ballot:
//! it restarted, was partitioned, or rebuilds) gets the chosen values from the leader's log, or
//! the leader's snapshot when the leader has compacted them. A leader that learns a peer knows
//! more slots chosen than it does (the peer compacted slots this leader still proposes) fetches
//! them from that peer: chosen values are facts, whoever tells them.

use crate::msg::{Accept, AcceptedValue, Ballot, KvWrite, Msg, Response, Slot, Unavailable, Value};
use crate::state::Proposal;
use crate::{Paxos, Stop, Timer};
use faultline_checkers::invariants::paxos::Proposal as Observed;
use faultline_sim::{Context, NodeId, RequestId};
use std::collections::BTreeSet;

impl Paxos {
    /// Leader: a client write. Duplicates of applied writes get the saved response; a retry of
    /// a write already proposed waits for it.
    pub(crate) fn request_write(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        id: RequestId,
        op: KvWrite,
    ) -> Result<(), Stop> {
        self.trail.requested.push(Value::Write { id, op: op.clone() }.digest());
        if let Some(resp) = self.kv.saved_response(id).cloned() {
            self.reply(id, resp);
            return Ok(());
        }
        if self.kv.is_stale(id) {
            return Ok(());
        }
        if let Some(slot) = self.slot_of(id) {
            if let Some(l) = self.leader_state_mut() {
                l.writes.insert(slot, id);
            }
            return Ok(());
        }
        let Some(slot) = self.leader_state().map(|l| l.next) else { return Ok(()) };
        if self.propose(cx, slot, Value::Write { id, op }).is_err() {
            if self.halt.is_none() {
                self.reply(id, Response::Unavailable(Unavailable::DiskFull));
            }
            return Err(Stop);
        }
        if let Some(l) = self.leader_state_mut() {
            l.writes.insert(slot, id);
        }
        self.crash_here(cx, "as a leader, with a new value on its own disk only")?;
        self.reboot_here(cx, "as a leader, with a new value on its own disk only")
    }

    /// The slot where `id`'s value is proposed or chosen but not applied yet, if any.
    fn slot_of(&self, id: RequestId) -> Option<Slot> {
        let l = self.leader_state()?;
        let proposed = l.proposals.iter().find(|(_, p)| p.value.request() == Some(id)).map(|(s, _)| *s);
        let chosen = || {
            self.chosen.range(self.applied + 1..).find(|(_, (v, _))| v.request() == Some(id)).map(|(s, _)| *s)
        };
        proposed.or_else(chosen)
    }

    /// Proposes `value` at `slot` with this leader's ballot: accepted here durably, then sent.
    fn propose(&mut self, cx: &mut Context<'_, Paxos>, slot: Slot, value: Value) -> Result<(), Stop> {
        let Some(ballot) = self.leader_state().map(|l| l.ballot) else { return Err(Stop) };
        self.persist_acceptor(cx, None, vec![AcceptedValue { slot, ballot, value: value.clone() }])?;
        self.trail.proposed.push(Observed { slot, ballot: ballot.as_u64(), digest: value.digest() });
        let (me, commit) = (self.id, self.chosen_upto);
        let l = self.leader_state_mut().expect("checked above");
        l.next = slot + 1;
        l.proposals.insert(slot, Proposal { value: value.clone(), votes: BTreeSet::from([me]) });
        let accept =
            Accept { ballot, entries: vec![(slot, value)], commit, adopted: l.adopted, round: l.round };
        for peer in self.peers() {
            self.send(peer, Msg::Accept(accept.clone()));
        }
        self.advance_chosen(cx)
    }

    /// Sends every peer its phase 2a message.
    pub(crate) fn broadcast(&mut self) {
        for peer in self.peers() {
            self.send_accept(peer);
        }
    }

    /// Phase 2a for `to`: the values it has not accepted yet (a heartbeat when none), the
    /// commit, and the current round.
    fn send_accept(&mut self, to: NodeId) {
        let (commit, max) = (self.chosen_upto, self.config.max_entries_per_message);
        let Some(l) = self.leader_state() else { return };
        let max = if l.one_per_message { 1 } else { max };
        let entries = (l.proposals.iter())
            .filter(|(_, p)| !p.votes.contains(&to))
            .take(max)
            .map(|(slot, p)| (*slot, p.value.clone()))
            .collect();
        let accept = Accept { ballot: l.ballot, entries, commit, adopted: l.adopted, round: l.round };
        self.send(to, Msg::Accept(accept));
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_accepted(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        from: NodeId,
        ballot: Ballot,
        slots: &[Slot],
        learned: Slot,
        commit: Slot,
        round: u64,
    ) -> Result<(), Stop> {
        let Some(l) = self.leader_state_mut().filter(|l| l.ballot == ballot) else { return Ok(()) };
        let Some(peer) = l.peers.get_mut(&from) else { return Ok(()) };
        peer.active = true;
        peer.round = peer.round.max(round);
        peer.learned = peer.learned.max(learned);
        for slot in slots {
            if let Some(p) = l.proposals.get_mut(slot) {
                p.votes.insert(from);
            }
        }
        // The first acceptance of this ballot tells the checkers the peer promised it; later ones
        // tell them nothing more.
        if !std::mem::replace(&mut peer.acked, true) {
            self.trail.acks.push((from.0, ballot.as_u64()));
        }
        self.advance_chosen(cx)?;
        if learned < commit.min(self.chosen_upto) {
            self.send_catch_up(from, learned);
        }
        self.serve_reads();
        Ok(())
    }

    /// Leader: every proposal a majority accepted at this ballot is chosen.
    pub(crate) fn advance_chosen(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        let Some(l) = self.leader_state() else { return Ok(()) };
        let ballot = l.ballot;
        let chosen: Vec<Slot> = (l.proposals.iter())
            .filter(|(_, p)| self.config.is_quorum(p.votes.len()))
            .map(|(s, _)| *s)
            .collect();
        if chosen.is_empty() {
            return Ok(());
        }
        for slot in chosen {
            let p = self.leader_state_mut().and_then(|l| l.proposals.remove(&slot)).expect("listed above");
            self.record_chosen(slot, p.value, Some(ballot));
        }
        let before = self.applied;
        self.advance_applied(cx)?;
        if self.applied > before {
            self.crash_here(cx, "as a leader that applied values no follower knows are chosen")?;
            // Clients have their answers; the followers learn the commit only with the next message.
            cx.crash_point();
        }
        Ok(())
    }

    /// Leader heartbeat: check that a majority is still in contact, fetch what a peer knows
    /// chosen beyond this leader, then send every peer its phase 2a message in a new round.
    pub(crate) fn on_heartbeat(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        if !self.is_leader() {
            return Ok(());
        }
        cx.set_timer(Timer::Heartbeat, self.config.heartbeat_interval);
        if !self.quorum_in_contact() {
            self.step_down(cx);
            return Ok(());
        }
        self.fetch_if_behind();
        // Until the next heartbeat, trickle values one per message (a leader may send fewer).
        let trickle = faultline_sim::buggify!(cx);
        let l = self.leader_state_mut().expect("checked above");
        l.one_per_message = trickle;
        l.round += 1;
        self.broadcast();
        Ok(())
    }

    /// "Check quorum": every election timeout, a leader that has not heard from a majority
    /// steps down.
    fn quorum_in_contact(&mut self) -> bool {
        let (interval, window) = (self.config.heartbeat_interval, self.config.election_timeout_max);
        let Some(l) = self.leader_state_mut() else { return false };
        l.ticks += 1;
        if interval * l.ticks < window {
            return true;
        }
        l.ticks = 0;
        let active = 1 + l.peers.values().filter(|p| p.active).count();
        l.peers.values_mut().for_each(|p| p.active = false);
        self.config.is_quorum(active)
    }

    /// Asks the peer that knows the most slots chosen for those this leader does not know.
    fn fetch_if_behind(&mut self) {
        let Some(l) = self.leader_state() else { return };
        let ahead =
            l.peers.iter().filter(|(_, p)| p.learned > self.chosen_upto).max_by_key(|(_, p)| p.learned);
        if let Some((peer, _)) = ahead.map(|(n, p)| (*n, p.learned)) {
            let from = self.chosen_upto + 1;
            self.send(peer, Msg::Fetch { from });
        }
    }

    /// Sends `to`, which knows every slot up to `learned` chosen, the chosen values after it (or
    /// this node's snapshot, if it compacted them).
    pub(crate) fn send_catch_up(&mut self, to: NodeId, learned: Slot) {
        if learned < self.base && !self.chosen.contains_key(&(learned + 1)) {
            self.send_snapshot(to);
            return;
        }
        if learned >= self.chosen_upto {
            return;
        }
        let entries: Vec<(Slot, Value)> = (self.chosen.range(learned + 1..=self.chosen_upto))
            .take(self.config.max_entries_per_message)
            .map(|(s, (v, _))| (*s, v.clone()))
            .collect();
        if !entries.is_empty() {
            self.send(to, Msg::Learn { entries });
        }
    }

    /// Sends this node's snapshot to `to`, at most once per broadcast round when leading: a
    /// lagging peer answers every message it gets, and one snapshot per round is plenty.
    fn send_snapshot(&mut self, to: NodeId) {
        if let Some(peer) = self.leader_state_mut().and_then(|l| {
            let round = l.round;
            l.peers.get_mut(&to).map(|p| (p, round))
        }) {
            let (p, round) = peer;
            if p.snapshot_round == Some(round) {
                return;
            }
            p.snapshot_round = Some(round);
        }
        if let Some(s) = self.snapshot.clone() {
            self.send(to, Msg::InstallSnapshot { snapshot: Box::new(s) });
        }
    }

    /// Any node: a peer asks for the chosen values from `from` on.
    pub(crate) fn handle_fetch(&mut self, from_node: NodeId, from: Slot) -> Result<(), Stop> {
        if from <= self.chosen_upto {
            self.send_catch_up(from_node, from - 1);
        }
        Ok(())
    }

    /// Leader: a peer that takes no part in quorums (or just caught up) says how far it learned;
    /// one rebuilding a lost disk also says which ballot it needs a leader above.
    pub(crate) fn handle_learned(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        from: NodeId,
        learned: Slot,
        floor: Option<Ballot>,
    ) -> Result<(), Stop> {
        let Some(l) = self.leader_state_mut() else { return Ok(()) };
        let ballot = l.ballot;
        if let Some(peer) = l.peers.get_mut(&from) {
            peer.learned = peer.learned.max(learned);
        }
        if learned < self.chosen_upto {
            self.send_catch_up(from, learned);
        }
        if let Some(floor) = floor.filter(|f| *f >= ballot) {
            // The peer may have promised up to `floor` before it lost its disk: only a leader
            // above it lets it vote again (see `rebuild.rs`), so run phase 1 again, higher.
            tracing::info!(node = %self.id, %floor, "a rebuilding peer needs a higher ballot");
            self.seen = self.seen.max(floor);
            return self.campaign(cx);
        }
        Ok(())
    }
}
