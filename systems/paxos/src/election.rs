//! Leadership: timeouts, ballots, phase 1 on the proposer's side, leading and stepping down.
//!
//! A node that hears no leader for a randomized timeout (on its own clock) picks a ballot whose
//! round is above every ballot it has promised or seen, promises it to itself durably (so a
//! restart never issues it again: "Paxos Made Simple", section 2.5), and sends
//! `Prepare(ballot, first unchosen slot)` to every peer. A promise counts only if it answers
//! this very ballot; a refusal carrying a higher ballot ends the attempt, and so does any higher
//! ballot the node sees. Each failed attempt doubles the top of the next timeout's range (up to
//! eight times), so dueling proposers drift apart (randomized backoff); hearing a leader resets
//! it. With a majority of promises the node leads: for every slot from its first unchosen one up
//! to the highest any promise reported it proposes the value of the highest reported ballot (a
//! value it knows chosen as it is, a no-op where nothing was reported: P2c), at its ballot.

use crate::bugs::PaxosBug;
use crate::msg::{AcceptedValue, Ballot, Msg, Slot, Snapshot, Value};
use crate::state::{Candidate, Leader, Peer, Proposal, Role};
use crate::{Paxos, Stop, Timer};
use faultline_checkers::invariants::paxos::Proposal as Observed;
use faultline_sim::{Context, NodeId};
use rand::Rng as _;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The most the backoff doubles the top of the election timeout range.
const BACKOFF_DOUBLINGS_MAX: u32 = 3;

impl Paxos {
    pub(crate) fn reset_election_timer(&mut self, cx: &mut Context<'_, Paxos>) {
        let after = self.election_timeout(cx);
        cx.set_timer(Timer::Election, after);
    }

    fn election_timeout(&self, cx: &mut Context<'_, Paxos>) -> Duration {
        let (min, max) = (self.config.election_timeout_min, self.config.election_timeout_max);
        if faultline_sim::buggify!(cx) {
            // Everyone times out together: dueling proposers, which the backoff must resolve.
            return min;
        }
        let top = max * (1 << self.attempts.min(BACKOFF_DOUBLINGS_MAX));
        Duration::from_nanos(cx.rng().gen_range(min.as_nanos() as u64..top.as_nanos() as u64))
    }

    /// Heard from the leader it follows within the minimum election timeout (or leads itself).
    fn leader_is_recent(&self) -> bool {
        let min = self.config.election_timeout_min;
        self.is_leader() || self.leader_contact.is_some_and(|t| self.now.saturating_since(t) < min)
    }

    /// Whether a prepare from `from` is ignored: this node follows another, live leader.
    pub(crate) fn sticks_to_leader(&self, from: NodeId) -> bool {
        self.leader != Some(from) && self.leader_is_recent()
    }

    pub(crate) fn on_election_timeout(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        if !matches!(self.role, Role::Follower | Role::Candidate(_)) {
            return Ok(());
        }
        if matches!(self.role, Role::Candidate(_)) {
            self.attempts += 1; // the attempt under way did not lead in time
        }
        self.reset_election_timer(cx);
        self.campaign(cx)
    }

    /// A ballot above everything promised or seen.
    fn next_ballot(&self) -> Ballot {
        Ballot::new(self.acceptor.promise.max(self.seen).round + 1, self.id)
    }

    /// BUG(BallotReusedAfterRestart): a restarted proposer resumes the ballot its durable
    /// promise names (its own last one) instead of moving past it, as phxpaxos issue 145 feared.
    /// Its acceptor, which promised that ballot already, does not promise it again (as
    /// phxpaxos's acceptors promise only higher ballots), so phase 1 runs on the other
    /// acceptors' promises alone, blind to what the proposer accepted from itself.
    fn reused_ballot(&self) -> Option<Ballot> {
        let own = self.acceptor.promise;
        let reuse = self.has_bug(PaxosBug::BallotReusedAfterRestart) && !self.campaigned;
        (reuse && own.node == self.id.0 && own.round > 0).then_some(own)
    }

    /// Starts phase 1 with a new ballot, promised to itself durably before any prepare leaves.
    pub(crate) fn campaign(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        let reused = self.reused_ballot();
        let ballot = reused.unwrap_or_else(|| self.next_ballot());
        self.persist_acceptor(cx, Some(ballot), Vec::new())?;
        self.campaigned = true;
        self.end_role(cx);
        let from = self.chosen_upto + 1;
        let (mut granted, mut reports) = (BTreeSet::new(), BTreeMap::new());
        if let Some((earlier, reported)) = self.earlier_grants.take() {
            // BUG(StalePromiseCounted): the promises that won the last phase 1 count again,
            // with what they reported then.
            granted = earlier;
            reports = reported.into_iter().filter(|(s, _)| *s >= from).collect();
        }
        if reused.is_none() {
            granted.insert(self.id);
            for (s, (b, v)) in self.acceptor.accepted.range(from..) {
                if reports.get(s).is_none_or(|(rb, _)| b > rb) {
                    reports.insert(*s, (*b, v.clone()));
                }
            }
        }
        tracing::debug!(node = %self.id, %ballot, from, "phase 1");
        let own = granted.len();
        self.role = Role::Candidate(Candidate { ballot, granted, reports, learned: BTreeMap::new() });
        self.leader = None;
        self.trail.phase1 = true;
        if self.config.is_quorum(own) {
            return self.become_leader(cx);
        }
        for peer in self.peers() {
            self.send(peer, Msg::Prepare { ballot, from });
        }
        Ok(())
    }

    pub(crate) fn handle_promise(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        from: NodeId,
        ballot: Ballot,
        accepted: Vec<AcceptedValue>,
        snapshot: Option<Box<Snapshot>>,
        learned: Slot,
    ) -> Result<(), Stop> {
        let Role::Candidate(c) = &self.role else { return Ok(()) };
        // BUG(StalePromiseCounted): a promise to an earlier ballot of this node counts too.
        let stale =
            self.has_bug(PaxosBug::StalePromiseCounted) && ballot.node == self.id.0 && ballot < c.ballot;
        if ballot != c.ballot && !stale {
            return Ok(());
        }
        if let Some(s) = snapshot.filter(|s| s.slot > self.chosen_upto) {
            self.install_snapshot(cx, *s)?;
        }
        let Role::Candidate(c) = &mut self.role else { return Ok(()) };
        for a in accepted {
            let better = c.reports.get(&a.slot).is_none_or(|(b, _)| a.ballot > *b);
            if better {
                c.reports.insert(a.slot, (a.ballot, a.value));
            }
        }
        c.granted.insert(from);
        c.learned.insert(from, learned);
        let granted = c.granted.len();
        self.trail.acks.push((from.0, ballot.as_u64()));
        if self.config.is_quorum(granted) {
            return self.become_leader(cx);
        }
        Ok(())
    }

    pub(crate) fn handle_nack(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        ballot: Ballot,
        promised: Ballot,
    ) -> Result<(), Stop> {
        self.seen = self.seen.max(promised);
        if self.own_ballot() == Some(ballot) && promised > ballot {
            tracing::debug!(node = %self.id, %ballot, %promised, "refused: giving up");
            if matches!(self.role, Role::Candidate(_)) {
                self.attempts += 1;
            }
            self.step_down(cx);
        }
        Ok(())
    }

    /// Phase 1 won: adopt a value for every slot up to the highest reported, propose them all.
    fn become_leader(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        let Role::Candidate(c) = std::mem::replace(&mut self.role, Role::Follower) else { return Ok(()) };
        if self.has_bug(PaxosBug::StalePromiseCounted) {
            self.earlier_grants = Some((c.granted.clone(), c.reports.clone()));
        }
        let ballot = c.ballot;
        let adopted = c.reports.keys().next_back().copied().unwrap_or(0).max(self.chosen_upto);
        let values: Vec<(Slot, Value)> =
            (self.chosen_upto + 1..=adopted).map(|slot| (slot, self.adopt(&c, slot))).collect();
        let accepts =
            values.iter().map(|(slot, value)| AcceptedValue { slot: *slot, ballot, value: value.clone() });
        if self.persist_acceptor(cx, None, accepts.collect()).is_err() {
            // A full disk: this node cannot accept even its own proposals; let another lead.
            return if self.halt.is_some() { Err(Stop) } else { self.step_down_quietly(cx) };
        }
        tracing::info!(node = %self.id, %ballot, adopted, "leading");
        self.cover_adoption(cx, &values);
        let me = self.id;
        let mut proposals = BTreeMap::new();
        for (slot, value) in values {
            self.trail.proposed.push(Observed { slot, ballot: ballot.as_u64(), digest: value.digest() });
            proposals.insert(slot, Proposal { value, votes: BTreeSet::from([me]) });
        }
        let peers = (self.peers().into_iter())
            .map(|p| {
                (
                    p,
                    Peer {
                        learned: c.learned.get(&p).copied().unwrap_or(0),
                        active: true,
                        ..Peer::default()
                    },
                )
            })
            .collect();
        self.role = Role::Leader(Box::new(Leader {
            ballot,
            next: adopted + 1,
            adopted,
            proposals,
            peers,
            round: 0,
            ticks: 0,
            writes: BTreeMap::new(),
            reads: Vec::new(),
            one_per_message: false,
        }));
        self.leader = Some(me);
        self.attempts = 0;
        cx.cancel_timer(Timer::Election);
        cx.set_timer(Timer::Heartbeat, self.config.heartbeat_interval);
        self.crash_here(cx, "as a new leader, before its proposals left")?;
        // Sometimes trickle the adopted values one per message, so they reach a majority one by
        // one, as over a slow link.
        let trickle = faultline_sim::buggify!(cx);
        if let Some(l) = self.leader_state_mut() {
            l.one_per_message = trickle;
        }
        self.broadcast();
        self.advance_chosen(cx)?;
        // A leader change is when a proposer that forgets its ballot reuses it.
        cx.crash_point();
        Ok(())
    }

    /// A new leader with values of earlier ballots to finish is where a partition exposes most:
    /// cut off now, it leaves them accepted by some acceptors only.
    fn cover_adoption(&self, cx: &mut Context<'_, Paxos>, values: &[(Slot, Value)]) {
        if !values.is_empty() && cx.partition_point() {
            cx.sometimes("paxos.leader_cut_off_while_finishing_phase_1");
        }
    }

    /// The value phase 1 adopts at `slot`: one known chosen, else the highest-ballot report,
    /// else a no-op.
    fn adopt(&self, c: &Candidate, slot: Slot) -> Value {
        if let Some((v, _)) = self.chosen.get(&slot) {
            return v.clone();
        }
        if self.has_bug(PaxosBug::IgnoreAcceptedInPhase1) {
            // BUG(IgnoreAcceptedInPhase1): only this node's own log counts.
            return self.acceptor.accepted.get(&slot).map_or(Value::Noop, |(_, v)| v.clone());
        }
        c.reports.get(&slot).map_or(Value::Noop, |(_, v)| v.clone())
    }

    /// Becomes a follower of `leader`, whose message at a ballot this node accepts just came.
    pub(crate) fn follow(&mut self, cx: &mut Context<'_, Paxos>, leader: NodeId) {
        if !matches!(self.role, Role::Follower) {
            self.end_role(cx);
            self.role = Role::Follower;
        }
        self.leader = Some(leader);
        self.leader_contact = Some(self.now);
        self.attempts = 0;
        self.reset_election_timer(cx);
    }

    /// Stops running phase 1 or leading (a higher ballot, a failed quorum check).
    pub(crate) fn step_down(&mut self, cx: &mut Context<'_, Paxos>) {
        if self.own_ballot().is_some() {
            tracing::info!(node = %self.id, promise = %self.acceptor.promise, "stepped down");
        }
        self.end_role(cx);
        self.role = Role::Follower;
        self.leader = None;
        self.reset_election_timer(cx);
    }

    fn step_down_quietly(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        self.step_down(cx);
        Ok(())
    }

    /// Leaving the current role: a leader answers everything still waiting with `NotLeader`
    /// (the client retries; a write may still be chosen, and its session makes the retry safe).
    pub(crate) fn end_role(&mut self, cx: &mut Context<'_, Paxos>) {
        if !self.is_leader() {
            return;
        }
        let Role::Leader(leader) = std::mem::replace(&mut self.role, Role::Follower) else { return };
        cx.cancel_timer(Timer::Heartbeat);
        let waiting = leader.reads.iter().map(|r| r.id).chain(leader.writes.values().copied());
        for id in waiting.collect::<Vec<_>>() {
            self.reply_not_leader(id);
        }
    }
}
