//! Leader election (section 5.2) with pre-vote (thesis 9.6) and leader stickiness (thesis
//! 4.2.3).
//!
//! A follower whose randomized election timeout passes without word from a leader becomes a
//! pre-candidate: it asks every member whether it would get their vote in term + 1, without
//! changing its own term. A member grants a pre-vote only if it has not heard from a leader
//! within the minimum election timeout and the asker's log is at least as up-to-date as its
//! own. With a majority of pre-votes the node becomes a candidate: it increments its term,
//! votes for itself durably and requests votes, asking again every heartbeat interval those
//! that have not granted theirs until the election is decided (section 5.1: RPCs are retried). A member grants one vote per term, durably,
//! to a candidate at least as up-to-date as its own log and its promise (see `storage.rs`),
//! and ignores higher-term vote requests while it hears from a leader, so a removed or
//! partitioned node cannot force a working leader out. A node with unreadable entries votes
//! (against its known log end) but never campaigns; a node outside its latest configuration campaigns only while that
//! configuration is uncommitted (thesis 4.2.2), and never counts its own vote.
//!
//! Any message carrying a higher term makes a node adopt that term and become a follower
//! (section 5.1).

use crate::machine::StateMachine;
use crate::msg::{Command, LogId, Msg};
use crate::state::{LeaderState, Role};
use crate::storage::HardState;
use crate::{Raft, RaftBug, Stop, Timer};
use faultline_sim::{Context, NodeId};
use std::collections::BTreeSet;

impl<M: StateMachine> Raft<M> {
    pub(crate) fn reset_election_timer(&mut self, cx: &mut Context<'_, Self>) {
        let after = self.random_election_timeout(cx);
        cx.set_timer(Timer::Election, after);
    }

    /// The log end a candidate must match or beat to get this node's vote.
    pub(crate) fn vote_floor(&self) -> LogId {
        self.log.last().max(self.promise)
    }

    /// Whether this node may vote at all. Unreadable entries (holes) do not prevent it: the
    /// election restriction needs only the voter's log end, and `vote_floor` knows it even when
    /// entries before it are damaged (the persist records and the promise name it). Refusing to
    /// vote with a hole stalled any configuration in which every majority includes a damaged
    /// node, e.g. two members, one of them damaged.
    fn can_vote(&self) -> bool {
        matches!(self.role, Role::Follower | Role::PreCandidate { .. } | Role::Candidate { .. })
    }

    /// Whether this node may stand for election: its whole log readable and at least as far as
    /// everything it ever acknowledged, and a member of its latest configuration, or still
    /// needed because the configuration that removes it is not committed (thesis 4.2.2: "a
    /// server that is not part of its own latest configuration should still start new
    /// elections, as it might still be needed until the Cnew entry is committed"; its own vote
    /// does not count then).
    fn can_campaign(&self) -> bool {
        let needed = self.members.is_member(self.id) || self.members.latest_index() > self.commit;
        needed && self.log.first_hole().is_none() && self.log.last() >= self.promise
    }

    /// Heard from a leader of its term within the minimum election timeout (or leads itself).
    fn leader_is_recent(&self) -> bool {
        let min = self.config.election_timeout_min;
        self.is_leader() || self.leader_contact.is_some_and(|t| self.now.saturating_since(t) < min)
    }

    pub(crate) fn on_election_timeout(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        if self.is_leader() {
            return Ok(());
        }
        self.reset_election_timer(cx);
        if !self.can_campaign() {
            return Ok(());
        }
        self.role = Role::PreCandidate { granted: BTreeSet::from([self.id]) };
        self.leader = None;
        if self.solicit(Msg::PreVote { term: self.hard.term + 1, last: self.log.last() }) {
            return self.start_election(cx);
        }
        Ok(())
    }

    /// Asks every peer `msg` (a pre-vote or vote request); true if this node alone is a quorum.
    fn solicit(&mut self, msg: Msg<M>) -> bool {
        if self.members.is_quorum([self.id].into_iter()) {
            return true;
        }
        for peer in self.peers() {
            self.send(peer, msg.clone());
        }
        false
    }

    /// The other members of the latest configuration.
    pub(crate) fn peers(&self) -> Vec<NodeId> {
        self.members.latest().iter().copied().filter(|m| *m != self.id).collect()
    }

    pub(crate) fn handle_pre_vote(&mut self, from: NodeId, term: u64, last: LogId) -> Result<(), Stop> {
        let granted =
            term > self.hard.term && self.can_vote() && !self.leader_is_recent() && last >= self.vote_floor();
        let term = if granted { term } else { self.hard.term };
        self.send(from, Msg::PreVoteReply { term, granted });
        Ok(())
    }

    pub(crate) fn handle_pre_vote_reply(
        &mut self,
        cx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        granted: bool,
    ) -> Result<(), Stop> {
        if !granted {
            return self.observe_term(cx, term);
        }
        if term == self.hard.term + 1 && self.count_grant(from, true) {
            return self.start_election(cx);
        }
        Ok(())
    }

    /// Records `from`'s grant in the current pre-vote or vote round; true once it is a quorum.
    fn count_grant(&mut self, from: NodeId, pre_vote: bool) -> bool {
        let votes = match (&mut self.role, pre_vote) {
            (Role::PreCandidate { granted }, true) | (Role::Candidate { granted }, false) => granted,
            _ => return false,
        };
        votes.insert(from);
        let votes = votes.clone();
        if self.has_bug(RaftBug::VoteCountedFromNonMember) {
            // BUG(VoteCountedFromNonMember): every grant counts, a removed server's too.
            return votes.len() > self.members.latest().len() / 2;
        }
        self.members.is_quorum(votes.into_iter())
    }

    fn start_election(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        let me = self.id;
        tracing::debug!(node = %me, term = self.hard.term + 1, "pre-vote won; campaigning");
        let hard = HardState { term: self.hard.term + 1, voted_for: Some(me), ..self.hard.clone() };
        self.save_hard(cx, hard)?;
        self.role = Role::Candidate { granted: BTreeSet::from([me]) };
        self.reset_election_timer(cx);
        if self.solicit(Msg::Vote { term: self.hard.term, last: self.log.last() }) {
            return self.become_leader(cx);
        }
        cx.set_timer(Timer::Heartbeat, self.config.heartbeat_interval);
        Ok(())
    }

    /// Candidate: asks the members that have not granted their vote again, every heartbeat
    /// interval until the election is decided ("servers retry RPCs if they do not receive a
    /// response in a timely manner", section 5.1): a lost request or reply need not cost the
    /// whole election timeout.
    pub(crate) fn retry_vote_requests(&mut self, cx: &mut Context<'_, Self>) {
        let Role::Candidate { granted } = &self.role else { return };
        let missing: Vec<NodeId> = self.peers().into_iter().filter(|p| !granted.contains(p)).collect();
        let msg = Msg::Vote { term: self.hard.term, last: self.log.last() };
        for peer in missing {
            self.send(peer, msg.clone());
        }
        cx.set_timer(Timer::Heartbeat, self.config.heartbeat_interval);
    }

    pub(crate) fn handle_vote(
        &mut self,
        cx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        last: LogId,
    ) -> Result<(), Stop> {
        let adopted = term > self.hard.term;
        if adopted && self.leader_is_recent() {
            return Ok(()); // thesis 4.2.3: a disruptive server does not depose a live leader
        }
        let free = adopted || self.hard.voted_for.is_none_or(|v| v == from);
        let granted = term >= self.hard.term && free && self.can_vote() && last >= self.vote_floor();
        if adopted {
            // One write for the new term and the vote (or the new term alone).
            self.follow_voting(cx, term, None, granted.then_some(from))?;
        } else if granted {
            if self.hard.voted_for.is_none() {
                self.save_vote(cx, from)?;
            }
            self.reset_election_timer(cx);
        }
        let term = self.hard.term;
        self.send(from, Msg::VoteReply { term, granted });
        if granted {
            // A vote is the one thing a voter must not forget (section 5.2): rebooting right
            // after granting it is when a vote kept only in memory grants a second one.
            cx.crash_point();
        }
        Ok(())
    }

    fn save_vote(&mut self, cx: &mut Context<'_, Self>, to: NodeId) -> Result<(), Stop> {
        let hard = HardState { voted_for: Some(to), ..self.hard.clone() };
        if self.has_bug(RaftBug::VoteNotPersisted) {
            // BUG(VoteNotPersisted): the vote is remembered in memory only.
            self.hard = hard;
            return Ok(());
        }
        self.save_hard(cx, hard)
    }

    pub(crate) fn handle_vote_reply(
        &mut self,
        cx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        granted: bool,
    ) -> Result<(), Stop> {
        if term > self.hard.term {
            return self.observe_term(cx, term);
        }
        if granted && term == self.hard.term && self.count_grant(from, false) {
            return self.become_leader(cx);
        }
        Ok(())
    }

    fn become_leader(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        tracing::info!(node = %self.id, term = self.hard.term, last = self.log.last_index(), "became leader");
        let peers: Vec<NodeId> = self.peers();
        self.role = Role::Leader(Box::new(LeaderState::new(peers.into_iter(), self.log.last_index())));
        self.leader = Some(self.id);
        cx.cancel_timer(Timer::Election);
        cx.set_timer(Timer::Heartbeat, self.config.heartbeat_interval);
        if self.append_as_leader(cx, Command::Noop).is_err() {
            // Cannot even append its no-op (disk full): let someone else lead.
            return self.step_down(cx);
        }
        self.crash_here(cx, "as a new leader, before its first entry left")?;
        // Sometimes trickle the backlog to lagging followers one entry per message, so an old
        // entry can reach a majority before this term's first one does (Figure 8 (c)).
        self.one_entry_per_append = faultline_sim::buggify!(cx);
        self.on_config_change(cx)?;
        self.broadcast(true);
        Ok(())
    }

    /// A higher term was seen: adopt it and follow (no leader known yet).
    pub(crate) fn observe_term(&mut self, cx: &mut Context<'_, Self>, term: u64) -> Result<(), Stop> {
        if term > self.hard.term {
            self.follow(cx, term, None)?;
        }
        Ok(())
    }

    /// Becomes (or stays) a follower in `term` (at least the current one), of `leader` if known.
    pub(crate) fn follow(
        &mut self,
        cx: &mut Context<'_, Self>,
        term: u64,
        leader: Option<NodeId>,
    ) -> Result<(), Stop> {
        self.follow_voting(cx, term, leader, None)
    }

    /// `follow`, also voting for `vote` when the term is new (both written at once).
    fn follow_voting(
        &mut self,
        cx: &mut Context<'_, Self>,
        term: u64,
        leader: Option<NodeId>,
        vote: Option<NodeId>,
    ) -> Result<(), Stop> {
        if term > self.hard.term {
            self.adopt_term(cx, term, vote)?;
        }
        if !matches!(self.role, Role::Follower) {
            self.end_role(cx);
            self.role = Role::Follower;
        }
        if leader.is_some() {
            self.leader = leader;
            self.leader_contact = Some(self.now);
        }
        self.reset_election_timer(cx);
        Ok(())
    }

    fn adopt_term(
        &mut self,
        cx: &mut Context<'_, Self>,
        term: u64,
        vote: Option<NodeId>,
    ) -> Result<(), Stop> {
        let mut hard = HardState { term, voted_for: vote, ..self.hard.clone() };
        if self.is_leader() && self.has_bug(RaftBug::NoStepDownOnHigherTerm) {
            // BUG(NoStepDownOnHigherTerm): adopt the term, keep leading, drop the message.
            self.save_hard(cx, hard)?;
            return Err(Stop);
        }
        if vote.is_some() && self.has_bug(RaftBug::VoteNotPersisted) {
            // BUG(VoteNotPersisted): the new term is written, the vote only remembered.
            hard.voted_for = None;
            self.save_hard(cx, hard)?;
            self.hard.voted_for = vote;
        } else {
            self.save_hard(cx, hard)?;
        }
        self.leader = None;
        Ok(())
    }

    /// Stops leading in the current term (check quorum failed, removed, or disk full).
    pub(crate) fn step_down(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        tracing::info!(node = %self.id, term = self.hard.term, "stepped down");
        self.end_role(cx);
        self.role = Role::Follower;
        self.leader = None;
        self.reset_election_timer(cx);
        Ok(())
    }

    /// Leaving the current role: a leader answers everything still waiting with `NotLeader`
    /// (the client retries; a write may still commit, and its session makes the retry safe).
    fn end_role(&mut self, cx: &mut Context<'_, Self>) {
        let Role::Leader(leader) = std::mem::replace(&mut self.role, Role::Follower) else { return };
        cx.cancel_timer(Timer::Heartbeat);
        let waiting = leader.reads.iter().map(|r| r.id).chain(leader.writes.values().copied());
        for id in waiting.collect::<Vec<_>>() {
            let _ = self.reply_not_leader(id);
        }
    }
}
