//! Builders for the handler and bug tests: servers driven by hand into a role, and the
//! messages and requests they are fed.

use faultline_sim::testing::TestNode;
use faultline_sim::{ClientId, Command, NodeId, RequestId};
use faultline_zab::msg::{PeerState, SyncBase, Vote};
use faultline_zab::{
    Msg, Pos, ReadOp, SessionId, Timer, Txn, TxnBody, WriteOp, Zab, ZabBug, ZabConfig, ZabRole, ZkOp,
    ZkRequest, Zxid,
};
use std::time::Duration;

pub type Out = Vec<Command<Zab>>;

pub fn n(i: u32) -> NodeId {
    NodeId(i)
}

pub fn send(to: u32, msg: Msg) -> Command<Zab> {
    Command::Send { to: n(to), msg }
}

/// A server of an ensemble of `members`, with `bug`, started.
pub fn server(id: u32, members: u32, bug: Option<ZabBug>) -> TestNode<Zab> {
    let config = ZabConfig { bug, ..ZabConfig::with_members(members) };
    let mut t = TestNode::new(n(id), 7, move || Zab::new(config.clone()).unwrap());
    t.start();
    t
}

/// The vote of a healthy server `leader` whose history ends at `zxid` in current `epoch`.
pub fn vote(leader: u32, epoch: u64, zxid: Zxid) -> Vote {
    Vote { trusted: true, epoch, zxid, leader: n(leader) }
}

pub fn notification(round: u64, vote: Vote, state: PeerState) -> Msg {
    Msg::Notification { round, vote, state, voter: true }
}

/// Only the messages of a command vector (timers aside).
pub fn sent(out: &Out) -> Vec<(NodeId, Msg)> {
    out.iter()
        .filter_map(|c| match c {
            Command::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

pub fn txn(epoch: u64, counter: u64, path: &str) -> Txn {
    let op = WriteOp::Create { path: path.into(), data: "d".into(), ephemeral: false, sequential: false };
    Txn {
        zxid: Zxid::new(epoch, counter),
        body: TxnBody::Client { session: SessionId::default(), xid: counter, op },
    }
}

pub fn connect(session: SessionId, epoch: u64, counter: u64) -> Txn {
    let op = WriteOp::Connect { timeout_ms: 1_000 };
    Txn { zxid: Zxid::new(epoch, counter), body: TxnBody::Client { session, xid: 0, op } }
}

/// `id` (of `members`) elected leader by the others' votes, in round 1.
pub fn elected(id: u32, members: u32, bug: Option<ZabBug>) -> TestNode<Zab> {
    let mut t = server(id, members, bug);
    let mine = vote(id, 0, Zxid::default());
    for peer in (0..members).filter(|p| *p != id) {
        t.message(n(peer), notification(1, mine, PeerState::Looking));
    }
    t.timer(Timer::Finalize);
    assert_eq!(t.node.status().role, ZabRole::Discovering);
    t
}

/// `id` leading epoch 1 of `members` servers, every follower synchronized and up to date.
pub fn leader(id: u32, members: u32, bug: Option<ZabBug>) -> TestNode<Zab> {
    let mut t = elected(id, members, bug);
    let followers: Vec<u32> = (0..members).filter(|p| *p != id).collect();
    for f in &followers {
        t.message(n(*f), Msg::FollowerInfo { accepted_epoch: 0, voter: true });
    }
    for f in &followers {
        let ack =
            Msg::AckEpoch { epoch: 1, current_epoch: 0, last: Pos::default(), trusted: true, promised: true };
        t.message(n(*f), ack);
    }
    for f in &followers {
        t.message(n(*f), Msg::AckNewLeader { epoch: 1, sync: 1, last: Pos::default() });
    }
    assert_eq!(t.node.status().role, ZabRole::Leading);
    t
}

/// `id` following `leader` (both of `members`), epoch 1 accepted and acknowledged.
pub fn epoch_acked(id: u32, leader: u32, members: u32, bug: Option<ZabBug>) -> TestNode<Zab> {
    let mut t = server(id, members, bug);
    t.message(n(leader), notification(1, vote(leader, 0, Zxid::default()), PeerState::Leading));
    for other in (0..members).filter(|p| *p != id && *p != leader) {
        t.message(n(other), notification(1, vote(leader, 0, Zxid::default()), PeerState::Following));
    }
    assert_eq!(t.node.status().role, ZabRole::Syncing);
    t.message(n(leader), Msg::LeaderInfo { epoch: 1 });
    t
}

/// `id` following `leader`, synchronized (empty history) and serving in epoch 1.
pub fn follower(id: u32, leader: u32, members: u32, bug: Option<ZabBug>) -> TestNode<Zab> {
    let mut t = epoch_acked(id, leader, members, bug);
    t.message(
        n(leader),
        Msg::NewLeader { epoch: 1, sync: 1, base: SyncBase::Diff(Pos::default()), txns: Vec::new() },
    );
    t.message(n(leader), Msg::UpToDate { epoch: 1, commit: 0 });
    assert_eq!(t.node.status().role, ZabRole::Following);
    t
}

/// A request of `session` with `xid`.
pub fn request(session: SessionId, xid: u64, op: ZkOp) -> ZkRequest {
    ZkRequest { session, xid, min_zxid: Zxid::default(), op }
}

pub fn get(path: &str, linearizable: bool) -> ZkOp {
    ZkOp::Read { op: ReadOp::GetData { path: path.into() }, linearizable }
}

pub fn rid(client: u32, seq: u64) -> RequestId {
    RequestId { client: ClientId(client), seq }
}

pub fn tick() -> Duration {
    ZabConfig::default().tick
}
