//! Fast leader election (ZooKeeper's `FastLeaderElection`), the way a server leaves LOOKING.
//!
//! A looking server starts a new round (its logical clock), votes for itself and sends its
//! vote to everyone. A vote from a later round makes it join that round, forgetting the votes
//! it had, and vote for the better of its own and the one received; within a round it adopts
//! any better vote it hears and tells everyone. Once a quorum of voters vote alike, it waits
//! `finalize_wait` for a better vote and, if none came, decides: it leads if the vote is its
//! own, else follows. Servers that follow or lead answer a looking server with their leader;
//! once a quorum (this server included) names a leader that says it leads, the looking server
//! follows it without a new round. Votes compare trusted histories first, so a repairing
//! server is never chosen while a healthy one is in sight, and it refuses to lead if it is.
//! An observer's vote counts for nothing; it follows whom the voters chose.
//!
//! Election decides nothing that safety depends on: two servers may each believe they lead.
//! Discovery's quorums (see `discovery.rs`) make sure at most one of them establishes an epoch.

use crate::msg::{Msg, PeerState, Vote};
use crate::state::{Election, Follower, FollowerPhase, Leader, Role};
use crate::{Stop, Timer, Zab};
use faultline_sim::{Context, NodeId};
use std::collections::BTreeMap;

impl Zab {
    fn own_vote(&self) -> Vote {
        Vote {
            trusted: self.trusted(),
            epoch: self.meta.current_epoch,
            zxid: self.history.last().zxid,
            leader: self.id,
        }
    }

    /// What this server tells others: its vote (or its leader) and what it is doing.
    fn notification(&self) -> Msg {
        let (vote, state) = match &self.role {
            Role::Looking(e) => (e.vote, PeerState::Looking),
            Role::Following(f) => (Vote { leader: f.leader, ..self.own_vote() }, PeerState::Following),
            Role::Leading(_) => (self.own_vote(), PeerState::Leading),
            Role::Recovering => (self.own_vote(), PeerState::Looking),
        };
        Msg::Notification { round: self.round, vote, state, voter: self.voter() }
    }

    /// Starts looking for a leader: a new round, voting for itself.
    pub(crate) fn look(&mut self, cx: &mut Context<'_, Zab>) {
        self.round += 1;
        let vote = self.own_vote();
        let mut votes = BTreeMap::new();
        if self.voter() {
            votes.insert(self.id, vote);
        }
        let resend_after = self.config.vote_resend;
        let resend_at = self.now + resend_after;
        let settled = BTreeMap::new();
        self.role =
            Role::Looking(Election { vote, votes, settled, finalizing: false, resend_at, resend_after });
        self.pending.clear();
        cx.cancel_timer(Timer::Finalize);
        let msg = self.notification();
        self.broadcast_to_peers(&msg);
        self.check_agreement(cx);
    }

    pub(crate) fn election_tick(&mut self) {
        let now = self.now;
        let Role::Looking(e) = &mut self.role else { return };
        if now >= e.resend_at {
            e.resend_after = (e.resend_after * 2).min(self.config.vote_resend * 8);
            e.resend_at = now + e.resend_after;
            let msg = self.notification();
            self.broadcast_to_peers(&msg);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_notification(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        round: u64,
        vote: Vote,
        state: PeerState,
        voter: bool,
    ) -> Result<(), Stop> {
        match &self.role {
            Role::Looking(_) if voter => self.looking_notification(cx, from, round, vote, state),
            Role::Looking(_) | Role::Recovering => {}
            // A looking server learns who leads from those who know.
            Role::Following(_) | Role::Leading(_) if state == PeerState::Looking => {
                let msg = self.notification();
                self.send(from, msg);
            }
            Role::Following(_) | Role::Leading(_) => {}
        }
        Ok(())
    }

    fn looking_notification(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        round: u64,
        vote: Vote,
        state: PeerState,
    ) {
        if state != PeerState::Looking {
            if let Role::Looking(e) = &mut self.role {
                e.settled.insert(from, (vote, state));
            }
            return self.try_join(cx);
        }
        let (own, me, voter) = (self.own_vote(), self.id, self.voter());
        let Role::Looking(e) = &mut self.role else { return };
        let mut changed = false;
        if round > self.round {
            self.round = round;
            e.votes.clear();
            e.vote = own.max(vote);
            changed = true;
        } else if round < self.round {
            // It is behind: tell it where this round stands.
            let msg = self.notification();
            return self.send(from, msg);
        } else if vote > e.vote {
            e.vote = vote;
            changed = true;
        }
        if voter {
            e.votes.insert(me, e.vote);
        }
        e.votes.insert(from, vote);
        if changed {
            let msg = self.notification();
            self.broadcast_to_peers(&msg);
        }
        self.check_agreement(cx);
    }

    /// Arms the finalize timer once a quorum of voters vote like this server.
    fn check_agreement(&mut self, cx: &mut Context<'_, Zab>) {
        let quorum = self.config.quorum();
        let Role::Looking(e) = &mut self.role else { return };
        let agree = e.votes.values().filter(|v| **v == e.vote).count();
        if agree >= quorum && !e.finalizing {
            e.finalizing = true;
            cx.set_timer(Timer::Finalize, self.config.finalize_wait);
        }
    }

    /// The finalize wait is over: decide, unless the quorum no longer agrees.
    pub(crate) fn on_finalize(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let quorum = self.config.quorum();
        let Role::Looking(e) = &mut self.role else { return Ok(()) };
        e.finalizing = false;
        let vote = e.vote;
        if e.votes.values().filter(|v| **v == vote).count() < quorum {
            return Ok(());
        }
        if vote.leader != self.id {
            self.follow(cx, vote.leader);
        } else if self.trusted() {
            self.lead(cx)?;
        }
        Ok(())
    }

    /// Follows a leader that a quorum (this server included) says leads.
    fn try_join(&mut self, cx: &mut Context<'_, Zab>) {
        let own = self.own_vote();
        let Role::Looking(e) = &self.role else { return };
        // A leader with a worse history than this server's would only give up on it in
        // discovery; staying in the election lets the better vote win.
        let leading = e
            .settled
            .iter()
            .filter(|(id, (v, s))| *s == PeerState::Leading && v.leader == **id && !own.better_history(v));
        let mine = usize::from(self.voter());
        let chosen = leading.map(|(id, _)| *id).find(|l| {
            let support = e.settled.values().filter(|(v, _)| v.leader == *l).count();
            support + mine >= self.config.quorum()
        });
        if let Some(leader) = chosen {
            self.follow(cx, leader);
        }
    }

    fn follow(&mut self, cx: &mut Context<'_, Zab>, leader: NodeId) {
        cx.cancel_timer(Timer::Finalize);
        let now = self.now;
        self.role = Role::Following(Follower {
            leader,
            phase: FollowerPhase::Connecting,
            epoch: 0,
            promised: false,
            sync: 0,
            last_heard: now,
            since: now,
        });
        let info = Msg::FollowerInfo { accepted_epoch: self.meta.accepted_epoch, voter: self.voter() };
        self.send(leader, info);
    }

    fn lead(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        cx.cancel_timer(Timer::Finalize);
        self.role = Role::Leading(Box::new(Leader::new(self.now, self.meta.current_epoch)));
        self.step.events.push("elections");
        let msg = self.notification();
        self.broadcast_to_peers(&msg);
        self.try_decide_epoch(cx)
    }
}
