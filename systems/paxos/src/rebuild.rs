//! Starting from disk, and taking part again after losing state ("Paxos Made Live", section
//! 5.1: a replica with a lost or corrupted disk "participates in Paxos as a non-voting member
//! ... until it observes one complete instance of Paxos that was started after the replica
//! started rebuilding its state").
//!
//! What the rule protects: a node that lost its disk (or records it may have answered for) may
//! have promised a ballot `b` it no longer remembers, and accepted values it no longer reports.
//! If it voted at once, a proposer still holding its old promise for `b` could win phase 1 with
//! it while the node accepts, in between, values at lower ballots that promise forbids; and a
//! new leader could build phase 1 on its silence about a value it helped choose. So it rebuilds:
//!
//! 1. It records durably that it is rebuilding (a restart keeps it rebuilding), then asks every
//!    peer for its promise and takes the highest as its *floor*. Every ballot it can have
//!    promised was promised durably by its own proposer first, so it is at most the floor (a
//!    proposer that lost its disk too lost the phase 1 it ran with that ballot).
//! 2. It waits for a leader whose ballot is above the floor (it asks the leader to run phase 1
//!    again, higher, if it is not) and that has chosen every slot its phase 1 adopted, and it
//!    learns those values by catch-up. That leader's ballot was issued after the probe, so this
//!    node never promised it, and its phase 1 ran without this node: every value the node helped
//!    choose before was adopted from the other acceptors and chosen again at the new ballot by a
//!    majority without it; every ballot at or below the floor is dead, since a majority promised
//!    the new one.
//! 3. It promises that ballot and accepts, at it, every value it learned chosen, durably, and
//!    votes from then on. (Values chosen below the leader's phase 1 were not proposed again:
//!    the leader knew them chosen. Their original majority may have counted this node, so it
//!    must report them again; it reports them at the new ballot, where the leader could have
//!    proposed nothing else: P2b.)
//!
//! While it rebuilds the node answers no prepare and no accept, counts in no read round, and
//! never campaigns; it learns chosen values like any replica and serves probes.

use crate::bugs::PaxosBug;
use crate::msg::{Accept, Ballot, Msg, Snapshot, Value};
use crate::state::{Rebuild, Role};
use crate::storage::{Acceptor, Durable, Store};
use crate::{Paxos, Stop, Timer};
use faultline_sim::{Context, DiskError, NodeId};
use std::collections::BTreeMap;

impl Paxos {
    /// Recovers from disk at a start and takes the role what it found allows.
    pub(crate) fn start(&mut self, cx: &mut Context<'_, Paxos>) {
        self.id = cx.id();
        // BUG(WipedAcceptorVotes): an empty disk reads as a new node's, whatever the boot.
        let first_boot = cx.first_boot() || self.has_bug(PaxosBug::WipedAcceptorVotes);
        let sync = !self.has_bug(PaxosBug::AcceptorRepliesBeforeSync);
        let recovery = match Store::recover(cx.disk(), first_boot, sync) {
            Ok(r) => r,
            Err(e) => return self.recovery_failed(cx, e),
        };
        self.report = recovery.report;
        if let Some(why) = &self.report.loss {
            tracing::warn!(node = %self.id, %why, "lost state it may have answered for: rebuilding");
        }
        if let Some(s) = recovery.snapshot {
            self.restore(s);
        }
        self.store = Some(recovery.store);
        match recovery.durable {
            Durable::Fresh => self.acceptor = Acceptor::default(),
            Durable::Voting(mut a) => {
                a.accepted.retain(|slot, _| *slot > self.base);
                self.report_own_proposals(&a);
                self.acceptor = a;
            }
            Durable::Rebuilding => return self.begin_rebuild(cx),
        }
        self.role = Role::Follower;
        self.reset_election_timer(cx);
    }

    /// Shows the checkers the client values this node accepted at its own ballots: it
    /// proposed them, so it received them from clients (or adopted them from a phase 1 that
    /// heard of them). A step in which the power went out is never observed, but what it synced
    /// survives: a leader that got a request, made its proposal durable and lost power before
    /// the step ended received that request unseen, and validity must still know of it.
    fn report_own_proposals(&mut self, a: &Acceptor) {
        let own = a.accepted.values().filter(|(b, v)| b.node == self.id.0 && *v != Value::Noop);
        let digests: Vec<u64> = own.map(|(_, v)| v.digest()).collect();
        self.trail.requested.extend(digests);
    }

    /// The state machine as of a snapshot read back from disk.
    fn restore(&mut self, snapshot: Snapshot) {
        self.base = snapshot.slot;
        self.applied = snapshot.slot;
        self.chosen_upto = snapshot.slot;
        self.kv = snapshot.kv.clone();
        self.snapshot = Some(snapshot);
    }

    fn recovery_failed(&mut self, cx: &mut Context<'_, Paxos>, e: DiskError) {
        tracing::warn!(node = %self.id, error = %e, "cannot recover the disk at start");
        if self.disk::<()>(Err(e)).is_err() && self.halt.is_none() {
            self.role = Role::Recovering;
            cx.set_timer(Timer::Recover, self.config.election_timeout_max);
        }
    }

    /// Step 1: ask every peer for its promise.
    fn begin_rebuild(&mut self, cx: &mut Context<'_, Paxos>) {
        self.acceptor = Acceptor::default();
        self.trail.rebuild = self.report.loss.is_some();
        self.role = Role::Rebuilding(Rebuild::Probing { replies: BTreeMap::new() });
        if self.peers().is_empty() {
            // Alone, the node is every quorum: nothing it forgot can be outvoted or repeated.
            self.role = Role::Follower;
            self.reset_election_timer(cx);
            return;
        }
        for peer in self.peers() {
            self.send(peer, Msg::Probe);
        }
        cx.set_timer(Timer::Probe, self.config.heartbeat_interval);
    }

    /// The floor a rebuilding node waits for a leader above, once it knows it.
    pub(crate) fn rebuild_floor(&self) -> Option<Ballot> {
        match &self.role {
            Role::Rebuilding(Rebuild::Waiting { floor }) => Some(*floor),
            _ => None,
        }
    }

    /// Any node: a rebuilding peer asks for this node's promise.
    pub(crate) fn handle_probe(&mut self, from: NodeId) -> Result<(), Stop> {
        self.send(from, Msg::ProbeReply { promised: self.acceptor.promise });
        Ok(())
    }

    pub(crate) fn handle_probe_reply(
        &mut self,
        _cx: &mut Context<'_, Paxos>,
        from: NodeId,
        promised: Ballot,
    ) -> Result<(), Stop> {
        let peers = self.peers().len();
        let Role::Rebuilding(Rebuild::Probing { replies }) = &mut self.role else { return Ok(()) };
        replies.insert(from, promised);
        if replies.len() < peers {
            return Ok(());
        }
        let floor = replies.values().copied().max().unwrap_or(Ballot::ZERO);
        tracing::info!(node = %self.id, %floor, "every peer answered: waiting for a leader above the floor");
        self.role = Role::Rebuilding(Rebuild::Waiting { floor });
        self.announce_floor();
        Ok(())
    }

    /// Tells the leader (every peer, when none is known) how far this node learned and which
    /// ballot it waits for.
    fn announce_floor(&mut self) {
        let msg = Msg::Learned { learned: self.chosen_upto, floor: self.rebuild_floor() };
        let to = self.leader.map_or_else(|| self.peers(), |l| vec![l]);
        for peer in to {
            self.send(peer, msg.clone());
        }
    }

    /// Rebuilding: probes again, or reminds the leader of the floor.
    pub(crate) fn on_probe_timer(&mut self, cx: &mut Context<'_, Paxos>) -> Result<(), Stop> {
        let Role::Rebuilding(stage) = &self.role else { return Ok(()) };
        match stage {
            Rebuild::Probing { replies } => {
                let missing: Vec<NodeId> =
                    self.peers().into_iter().filter(|p| !replies.contains_key(p)).collect();
                for peer in missing {
                    self.send(peer, Msg::Probe);
                }
            }
            Rebuild::Waiting { .. } => self.announce_floor(),
        }
        cx.set_timer(Timer::Probe, self.config.heartbeat_interval);
        Ok(())
    }

    /// Rebuilding: a leader's phase 2a. Step 3 once the leader qualifies (then the message is
    /// handled as any acceptor would); otherwise only a report of how far this node learned.
    pub(crate) fn rebuilding_accept(
        &mut self,
        cx: &mut Context<'_, Paxos>,
        from: NodeId,
        a: Accept,
    ) -> Result<(), Stop> {
        self.leader = Some(from);
        self.leader_contact = Some(self.now);
        let qualifies = self.rebuild_floor().is_some_and(|floor| a.ballot > floor)
            && a.commit >= a.adopted
            && self.chosen_upto >= a.adopted;
        if !qualifies {
            let msg = Msg::Learned { learned: self.chosen_upto, floor: self.rebuild_floor() };
            self.send(from, msg);
            return Ok(());
        }
        // Every value it learned chosen it now holds as accepted at the new ballot, durably: it may
        // have helped choose some of them before it lost its disk, at ballots below the leader's
        // phase 1 (the leader knew them chosen and did not propose them again), and a later
        // phase 1 must still hear of them from it.
        let known = self.chosen.range(self.base + 1..).take_while(|(s, _)| **s <= self.chosen_upto);
        let accepted = known.map(|(s, (v, _))| (*s, (a.ballot, v.clone())));
        let acceptor = Acceptor { promise: a.ballot, accepted: accepted.collect() };
        let base = self.base;
        let result = self.store().rewrite(cx.disk(), base, &Durable::Voting(acceptor.clone()));
        self.disk(result)?;
        tracing::info!(node = %self.id, ballot = %a.ballot, "rebuilt: voting again");
        cx.sometimes("paxos.rebuilt_node_votes_again");
        self.acceptor = acceptor;
        self.role = Role::Follower;
        cx.cancel_timer(Timer::Probe);
        self.handle_accept(cx, from, a)
    }
}
