//! Client requests: who answers what.
//!
//! - Local reads, pings and `AwaitClosed` are answered by the server asked, from the tree it
//!   has applied, once it serves (it follows an established leader, or is one) and has applied
//!   at least what the client has seen (`min_zxid`). ZooKeeper promises such reads sequential
//!   consistency per session, no more.
//! - Writes and linearizable reads go to the leader: a follower forwards them and passes the
//!   answer on. The follower that forwarded a write answers it itself once it delivers the
//!   transaction (the answer is the same on every server), as ZooKeeper's servers do.
//! - The leader answers a write that its session already applied with the saved reply, leaves
//!   alone one that is in flight, refuses one from a closed session, and proposes the rest.
//! - A linearizable read waits for a heartbeat round that a quorum answers (this server still
//!   leads), and for the leader to have applied what was committed when the read came, then is
//!   answered from the leader's tree (the read index of Raft's thesis, section 6.4).

use crate::api::{ReadOp, Reply, SessionId, Unavailable, WriteOp, ZkError, ZkOp, ZkRequest, ZkResponse};
use crate::msg::{Msg, ReplyTo, TxnBody};
use crate::state::{FollowerPhase, LeaderPhase, PendingRead, Role};
use crate::tree::SessionState;
use crate::{Stop, Zab};
use faultline_sim::{Context, NodeId};

impl Zab {
    /// The leader this server follows or is, when it serves clients.
    fn serving_leader(&self) -> Option<NodeId> {
        match &self.role {
            Role::Following(f) if f.phase == FollowerPhase::Serving => Some(f.leader),
            Role::Leading(l) if l.phase == LeaderPhase::Broadcast => Some(self.id),
            _ => None,
        }
    }

    /// The leader to point a client to, if this server knows one.
    fn leader_hint(&self) -> Option<NodeId> {
        match &self.role {
            Role::Following(f) => Some(f.leader),
            Role::Leading(_) => Some(self.id),
            _ => None,
        }
    }

    fn unavailable(&self, reason: Unavailable) -> ZkResponse {
        ZkResponse::Unavailable { reason, hint: self.leader_hint().filter(|l| *l != self.id) }
    }

    fn done(&self, reply: Reply) -> ZkResponse {
        ZkResponse::Done { zxid: self.applied.zxid, reply }
    }

    /// A client's request reaching this server.
    pub(crate) fn on_client(
        &mut self,
        cx: &mut Context<'_, Zab>,
        origin: ReplyTo,
        req: ZkRequest,
    ) -> Result<(), Stop> {
        let Some(leader) = self.serving_leader() else {
            let resp = self.unavailable(Unavailable::NotServing);
            self.respond(origin, resp);
            return Ok(());
        };
        if self.applied.zxid < req.min_zxid {
            let resp = self.unavailable(Unavailable::Behind);
            self.respond(origin, resp);
            return Ok(());
        }
        match &req.op {
            ZkOp::Read { op, linearizable: false } => {
                self.touch(req.session);
                let resp = self.local_read(req.session, op);
                self.respond(origin, resp);
            }
            ZkOp::Ping => {
                self.touch(req.session);
                let reply = if self.tree.session(req.session) == SessionState::Open {
                    Reply::Pong
                } else {
                    Reply::Error(ZkError::SessionExpired)
                };
                let resp = self.done(reply);
                self.respond(origin, resp);
            }
            ZkOp::AwaitClosed => {
                let reply = if self.tree.session(req.session) == SessionState::Closed {
                    Reply::Closed
                } else {
                    Reply::NotYet
                };
                let resp = self.done(reply);
                self.respond(origin, resp);
            }
            ZkOp::Write(_) | ZkOp::Read { linearizable: true, .. } if leader == self.id => {
                let me = self.id;
                self.leader_request(cx, me, origin, req)?;
            }
            ZkOp::Write(_) | ZkOp::Read { linearizable: true, .. } => {
                self.touch(req.session);
                if matches!(req.op, ZkOp::Write(_)) {
                    self.pending.insert(req.session, (req.xid, origin));
                }
                self.send(leader, Msg::Forward { origin, req });
            }
        }
        Ok(())
    }

    fn local_read(&self, session: SessionId, op: &ReadOp) -> ZkResponse {
        if self.tree.session(session) != SessionState::Open {
            return self.done(Reply::Error(ZkError::SessionExpired));
        }
        self.done(self.tree.read(op))
    }

    /// Notes that a client of `session` was heard from (the leader's tracker, or the report a
    /// follower sends with its next ACK).
    fn touch(&mut self, session: SessionId) {
        let now = self.now;
        match &mut self.role {
            Role::Leading(l) => {
                if let Some(t) = l.tracker.get_mut(&session) {
                    *t = now;
                }
            }
            _ => {
                self.touched.insert(session);
            }
        }
    }

    /// The leader: a request forwarded by `from`.
    pub(crate) fn on_forward(
        &mut self,
        cx: &mut Context<'_, Zab>,
        from: NodeId,
        origin: ReplyTo,
        req: ZkRequest,
    ) -> Result<(), Stop> {
        if self.serving_leader() != Some(self.id) {
            let resp = self.unavailable(Unavailable::NotServing);
            self.send(from, Msg::Reply { origin, resp });
            return Ok(());
        }
        self.leader_request(cx, from, origin, req)
    }

    /// Answers a request the leader handles: directly, or through the follower it came from.
    fn answer(&mut self, via: NodeId, origin: ReplyTo, resp: ZkResponse) {
        if via == self.id {
            self.respond(origin, resp);
        } else {
            self.send(via, Msg::Reply { origin, resp });
        }
    }

    /// The leader: a write or a linearizable read, asked at `via`.
    fn leader_request(
        &mut self,
        cx: &mut Context<'_, Zab>,
        via: NodeId,
        origin: ReplyTo,
        req: ZkRequest,
    ) -> Result<(), Stop> {
        self.touch(req.session);
        match &req.op {
            ZkOp::Write(op) => self.leader_write(cx, via, origin, &req, op.clone()),
            ZkOp::Read { .. } => {
                if self.tree.session(req.session) != SessionState::Open {
                    let resp = self.done(Reply::Error(ZkError::SessionExpired));
                    self.answer(via, origin, resp);
                    return Ok(());
                }
                self.start_read(via, origin, req);
                Ok(())
            }
            ZkOp::Ping | ZkOp::AwaitClosed => Ok(()),
        }
    }

    fn leader_write(
        &mut self,
        cx: &mut Context<'_, Zab>,
        via: NodeId,
        origin: ReplyTo,
        req: &ZkRequest,
        op: WriteOp,
    ) -> Result<(), Stop> {
        let (session, xid) = (req.session, req.xid);
        if let Some((zxid, reply)) = self.tree.last_reply(session, xid) {
            self.answer(via, origin, ZkResponse::Done { zxid, reply });
            return Ok(());
        }
        if self.tree.last_xid(session).is_some_and(|x| x > xid)
            || self.in_flight(|s, x, _| s == session && x == xid)
        {
            return Ok(()); // stale, or already ordered: its delivery answers it
        }
        let opens = matches!(op, WriteOp::Connect { .. });
        let open = self.tree.session(session) == SessionState::Open
            || self.in_flight(|s, _, o| s == session && matches!(o, WriteOp::Connect { .. }));
        if !opens && !open {
            let resp = self.done(Reply::Error(ZkError::SessionExpired));
            self.answer(via, origin, resp);
            return Ok(());
        }
        match self.propose(cx, TxnBody::Client { session, xid, op }) {
            Ok(_) if via == self.id => {
                self.pending.insert(session, (xid, origin));
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(Stop) if self.halt.is_none() => {
                let resp = self.unavailable(Unavailable::DiskFull);
                self.answer(via, origin, resp);
                Err(Stop)
            }
            Err(Stop) => Err(Stop),
        }
    }

    /// Whether a client transaction matching `f` is ordered but not yet delivered here.
    fn in_flight(&self, f: impl Fn(SessionId, u64, &WriteOp) -> bool) -> bool {
        (self.applied.index + 1..=self.history.last().index).filter_map(|i| self.history.get(i)).any(|t| {
            match &t.body {
                TxnBody::Client { session, xid, op } => f(*session, *xid, op),
                TxnBody::Expire { .. } => false,
            }
        })
    }

    /// Queues a linearizable read and starts a heartbeat round to confirm leadership.
    fn start_read(&mut self, via: NodeId, origin: ReplyTo, req: ZkRequest) {
        let read_index = self.commit;
        let Role::Leading(l) = &mut self.role else { return };
        let round = l.round + 1;
        l.reads.push(PendingRead { via, origin, req, read_index, round });
        self.heartbeat();
        self.serve_reads();
    }

    /// Answers the linearizable reads whose round a quorum confirmed and whose index is applied.
    pub(crate) fn serve_reads(&mut self) {
        let Role::Leading(l) = &self.role else { return };
        if l.reads.is_empty() {
            return;
        }
        let mut rounds: Vec<u64> =
            l.learners.values().filter(|x| x.voter && x.trusted && x.synced).map(|x| x.round).collect();
        rounds.push(l.round);
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&confirmed) = rounds.get(self.config.quorum() - 1) else { return };
        let applied = self.applied.index;
        let Role::Leading(l) = &mut self.role else { return };
        let (ready, waiting): (Vec<PendingRead>, Vec<PendingRead>) = std::mem::take(&mut l.reads)
            .into_iter()
            .partition(|r| r.round <= confirmed && r.read_index <= applied);
        l.reads = waiting;
        for r in ready {
            let resp = match &r.req.op {
                ZkOp::Read { op, .. } => self.local_read(r.req.session, op),
                _ => continue,
            };
            self.answer(r.via, r.origin, resp);
        }
    }
}
