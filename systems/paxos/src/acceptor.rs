//! The acceptor: phase 1b (promise) and phase 2b (accept), each made durable before the answer
//! ("Paxos Made Simple", sections 2.2 and 2.3).
//!
//! An acceptor promises a ballot at least as high as any it promised (P1a: it never accepts
//! below a promise), reporting every value it accepted from the requested slot on; it accepts a
//! value at a ballot at least its promise, which promises that ballot too. Both are written,
//! synced and marked (`storage.rs`) before the answer leaves, so a crash cannot make it answer
//! differently afterwards. A lower ballot is refused with the promise it lost to, which tells
//! that proposer to give up. An acceptor that heard from its leader within the minimum election
//! timeout ignores other nodes' prepares (leader stickiness), so a node returning from a
//! partition does not depose a working leader.

use crate::msg::{Accept, AcceptedValue, Ballot, Msg, Slot};
use crate::state::Role;
use crate::{Paxos, Stop};
use faultline_sim::{Context, NodeId};

impl Paxos {
    /// Makes a higher `promise` and `accepts` durable, then adopts them in memory.
    pub(crate) fn persist_acceptor(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        promise: Option<Ballot>,
        accepts: Vec<AcceptedValue>,
    ) -> Result<(), Stop> {
        let promise = promise.filter(|p| *p > self.acceptor.promise);
        let bound = promise.unwrap_or(self.acceptor.promise);
        assert!(accepts.iter().all(|a| a.ballot <= bound), "accepting above the promise {bound}");
        if promise.is_none() && accepts.is_empty() {
            return Ok(());
        }
        let result = self.store().persist(cx.disk(), promise, accepts);
        let accepts = self.disk(result)?;
        if let Some(p) = promise {
            self.acceptor.promise = p;
        }
        for a in accepts {
            self.acceptor.accepted.insert(a.slot, (a.ballot, a.value));
        }
        Ok(())
    }

    /// The ballot this node runs phase 1 or leads with, if it does.
    pub(crate) fn own_ballot(&self) -> Option<Ballot> {
        match &self.role {
            Role::Candidate(c) => Some(c.ballot),
            Role::Leader(l) => Some(l.ballot),
            _ => None,
        }
    }

    pub(crate) fn handle_prepare(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
    ) -> Result<(), Stop> {
        self.seen = self.seen.max(ballot);
        if ballot < self.acceptor.promise {
            self.send(from, Msg::Nack { ballot, promised: self.acceptor.promise });
            return Ok(());
        }
        if ballot > self.acceptor.promise && self.sticks_to_leader(from) {
            return Ok(());
        }
        if self.own_ballot().is_some_and(|own| own < ballot) {
            self.step_down(cx);
        }
        self.persist_acceptor(cx, Some(ballot), Vec::new())?;
        let promise = self.promise_for(ballot, slot);
        self.send(from, promise);
        self.reset_election_timer(cx);
        // A promise is what an acceptor must never forget (section 2.3): rebooting right after
        // making one is when a promise kept only in memory is lost.
        cx.crash_point();
        Ok(())
    }

    /// Phase 1b: what this acceptor accepted from `from` on, or its snapshot if it compacted
    /// slots at or after `from` (they are chosen; the snapshot stands for their values).
    fn promise_for(&self, ballot: Ballot, from: Slot) -> Msg {
        let accepted = (self.acceptor.accepted.range(from.max(self.base + 1)..))
            .map(|(slot, (b, value))| AcceptedValue { slot: *slot, ballot: *b, value: value.clone() })
            .collect();
        let snapshot = self.snapshot.clone().filter(|s| s.slot >= from).map(Box::new);
        Msg::Promise { ballot, accepted, snapshot, learned: self.chosen_upto }
    }

    pub(crate) fn handle_accept(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        from: NodeId,
        a: Accept,
    ) -> Result<(), Stop> {
        self.seen = self.seen.max(a.ballot);
        if a.ballot < self.acceptor.promise {
            self.send(from, Msg::Nack { ballot: a.ballot, promised: self.acceptor.promise });
            return Ok(());
        }
        if self.own_ballot() == Some(a.ballot) {
            return Ok(()); // this node's own ballot from another node: only a planted bug
        }
        self.follow(cx, from);
        if a.entries.is_empty() && a.ballot == self.acceptor.promise {
            // A heartbeat: nothing to accept, only the commit to learn.
            self.learn_commit(cx, a.ballot, a.commit)?;
            let learned = self.chosen_upto;
            let reply = Msg::Accepted {
                ballot: a.ballot,
                slots: Vec::new(),
                learned,
                commit: a.commit,
                round: a.round,
            };
            self.send(from, reply);
            return Ok(());
        }
        let base = self.base;
        let fresh: Vec<AcceptedValue> = (a.entries.iter())
            .filter(|(slot, value)| {
                *slot > base
                    && self.acceptor.accepted.get(slot).is_none_or(|(b, v)| *b != a.ballot || v != value)
            })
            .map(|(slot, value)| AcceptedValue { slot: *slot, ballot: a.ballot, value: value.clone() })
            .collect();
        let accepted_any = !fresh.is_empty();
        self.persist_acceptor(cx, Some(a.ballot), fresh)?;
        let slots = a.entries.iter().map(|(slot, _)| *slot).filter(|slot| *slot > base).collect();
        self.learn_commit(cx, a.ballot, a.commit)?;
        let learned = self.chosen_upto;
        self.send(from, Msg::Accepted { ballot: a.ballot, slots, learned, commit: a.commit, round: a.round });
        if accepted_any {
            // An accepted value must survive a crash: a reboot right after the answer left is
            // when one kept only in memory is lost.
            cx.crash_point();
        }
        Ok(())
    }
}
