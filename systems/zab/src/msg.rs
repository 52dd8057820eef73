//! What crosses the network between servers, and what the history holds: zxids, transactions,
//! votes, and the messages of the four phases (election, discovery, synchronization, broadcast),
//! named as ZooKeeper names them.

use crate::api::{SessionId, WriteOp, ZkRequest, ZkResponse};
use crate::tree::DataTree;
use faultline_sim::{NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A transaction id: the proposing leader's epoch and a counter within it, from 1.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Zxid {
    pub epoch: u64,
    pub counter: u64,
}

impl Zxid {
    pub const fn new(epoch: u64, counter: u64) -> Zxid {
        Zxid { epoch, counter }
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.counter)
    }
}

/// A history position and the zxid there (position 0, zxid 0:0 is the empty history).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Pos {
    pub index: u64,
    pub zxid: Zxid,
}

impl Pos {
    pub const fn new(index: u64, zxid: Zxid) -> Pos {
        Pos { index, zxid }
    }
}

/// One transaction of the history.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    pub zxid: Zxid,
    pub body: TxnBody,
}

/// What a transaction does to the data tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnBody {
    /// A client's write, deduplicated by (session, xid).
    Client { session: SessionId, xid: u64, op: WriteOp },
    /// The leader expired the session: it closes, and its ephemeral nodes go.
    Expire { session: SessionId },
}

impl Txn {
    /// A digest of the whole transaction, zxid included (for the invariant checkers).
    pub fn digest(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&postcard::to_allocvec(self).expect("transactions encode"))
    }
}

/// A fast-leader-election vote: who should lead, and why. Ordered as votes compare: a server
/// whose history is trusted first, then the newer current epoch, then the higher last zxid,
/// then the higher id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Vote {
    pub trusted: bool,
    pub epoch: u64,
    pub zxid: Zxid,
    pub leader: NodeId,
}

impl Vote {
    /// Whether this vote names a strictly better history than `other` (ids aside): trusted
    /// over repairing, then the later current epoch, then the higher last zxid.
    pub fn better_history(&self, other: &Vote) -> bool {
        (self.trusted, self.epoch, self.zxid) > (other.trusted, other.epoch, other.zxid)
    }
}

/// What a server is doing, as its notifications say.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PeerState {
    Looking,
    Following,
    Leading,
}

/// How a follower is brought to the leader's history before NEWLEADER.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncBase {
    /// DIFF: the follower's history is a prefix of the leader's up to here; append the rest.
    Diff(Pos),
    /// TRUNC: the follower must drop everything after this position, then append the rest.
    Trunc(Pos),
    /// SNAP: the follower replaces its state with the leader's snapshot, then appends the rest.
    Snap(Box<Snapshot>),
}

/// The data tree as of a history position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub pos: Pos,
    pub tree: DataTree,
}

/// Where an answer goes: a workload client, or a client-side node that tagged its request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReplyTo {
    Client(RequestId),
    Node { node: NodeId, tag: u64 },
}

/// Server-to-server messages (and the client-node request path).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Fast leader election: the sender's vote in election `round`, and what it is doing.
    /// `voter` is false for a server that lost its epochs and may only observe.
    Notification { round: u64, vote: Vote, state: PeerState, voter: bool },
    /// FOLLOWERINFO (CEPOCH): a follower's accepted epoch.
    FollowerInfo { accepted_epoch: u64, voter: bool },
    /// LEADERINFO (NEWEPOCH): the epoch the leader proposes.
    LeaderInfo { epoch: u64 },
    /// ACKEPOCH: the follower accepted `epoch`; its current epoch and history end, and whether
    /// its history can be trusted (it is not repairing a damaged disk). `promised` is false when
    /// it had accepted this epoch before, from another leader (ZooKeeper answers -1 then): such
    /// an answer does not count toward the epoch's quorum, or two leaders could establish one
    /// epoch with the same follower's promise.
    AckEpoch { epoch: u64, current_epoch: u64, last: Pos, trusted: bool, promised: bool },
    /// The sync (DIFF, TRUNC or SNAP with the transactions after it), then NEWLEADER. `sync`
    /// numbers the leader's syncs of this follower, so that a duplicated or delayed one is not
    /// applied over a later one (the network here is not TCP).
    NewLeader { epoch: u64, sync: u64, base: SyncBase, txns: Vec<Txn> },
    /// The follower could not apply a DIFF or TRUNC (its history does not hold the position it
    /// names): send a snapshot.
    NeedSnap { epoch: u64 },
    /// ACK of NEWLEADER: after sync `sync`, the follower's history is durably the leader's up
    /// to `last`.
    AckNewLeader { epoch: u64, sync: u64, last: Pos },
    /// UPTODATE: the leader is established; the follower may serve clients.
    UpToDate { epoch: u64, commit: u64 },
    /// PROPOSAL: transactions after `prev`, with the leader's commit position and its
    /// heartbeat round (no transactions: a heartbeat).
    Propose { epoch: u64, prev: Pos, txns: Vec<Txn>, commit: u64, round: u64 },
    /// ACK: the follower durably holds the leader's history through `matched`; the sessions it
    /// heard from since its last ACK.
    Ack { epoch: u64, matched: u64, round: u64, touched: Vec<SessionId> },
    /// COMMIT: everything through `commit` is committed.
    Commit { epoch: u64, commit: u64 },
    /// A follower passes a client's write or linearizable read to the leader.
    Forward { origin: ReplyTo, req: ZkRequest },
    /// The leader's answer to a forwarded request, for the follower to pass on.
    Reply { origin: ReplyTo, resp: ZkResponse },
    /// A client-side node's request (tagged so it can match the answer).
    Request { tag: u64, req: ZkRequest },
    /// The answer to a client-side node's request.
    Response { tag: u64, resp: ZkResponse },
}

/// Timer keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Housekeeping: heartbeats, timeouts, resends, session expiry.
    Tick,
    /// Fast leader election: a quorum agreed on a vote; decide unless a better one came.
    Finalize,
    /// The disk could not be read at start: try again.
    Recover,
}
