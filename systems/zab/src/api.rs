//! The coordination service's client API: sessions, requests and responses.
//!
//! A client owns a *session*, named by the client itself: `SessionId { owner, gen }`, where
//! `owner` identifies the client and `gen` grows each time it starts a new session (a session
//! id is never reused, and closing generation `gen` of an owner closes every older one too).
//! It opens the session with a `Connect` write, which the leader replicates as a createSession
//! transaction; every later request names the session, and the leader expires a session that
//! no server has heard from for its timeout, with a replicated transaction that deletes its
//! ephemeral nodes. Requests from a session carry a per-session `xid` that grows with every
//! request: a retried write is applied once (the tree keeps each session's last reply), and a
//! client may send its retry to any server.
//!
//! Every request also carries `min_zxid`, the highest zxid the client has seen: a server that
//! has applied less refuses it (`Unavailable::Behind`), which is how ZooKeeper keeps a session's
//! view from going back in time when it moves to another server. Writes and linearizable reads
//! go to the leader (followers forward them); local reads are answered by any serving server
//! from its own applied tree, at the zxid the answer carries.
//!
//! Client-side nodes (a lock client, say) speak the same API through `Msg::Request` and
//! `Msg::Response`, tagged so they can match answers; the workload's clients use the harness's
//! request path.

use crate::msg::Zxid;
use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

/// A session, named by its client (see the module documentation).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId {
    /// The client that owns it.
    pub owner: u64,
    /// Its generation: each new session of the owner takes a higher one.
    pub gen: u64,
}

/// A znode's metadata, as ZooKeeper's `Stat`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stat {
    /// The transaction that created it: a fencing token that grows with every create.
    pub czxid: Zxid,
    /// The transaction that last changed its data.
    pub mzxid: Zxid,
    /// Data changes since creation.
    pub version: u64,
    /// Child creations and deletions since creation (sequential names come from it).
    pub cversion: u64,
    /// The session that owns it, for an ephemeral node.
    pub ephemeral_owner: Option<SessionId>,
    /// How many children it has.
    pub children: u64,
}

/// A write: it goes through the leader as a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WriteOp {
    /// Opens the session (createSession) with this timeout; answered `Connected`.
    Connect { timeout_ms: u64 },
    /// Closes the session (closeSession), deleting its ephemeral nodes; answered `Closed`.
    Close,
    /// Creates `path`. Sequential: a ten-digit counter from the parent is appended to the name.
    Create { path: String, data: String, ephemeral: bool, sequential: bool },
    /// Deletes `path` if its version is `version` (any version when `None`).
    Delete { path: String, version: Option<u64> },
    /// Sets `path`'s data if its version is `version` (any version when `None`).
    SetData { path: String, data: String, version: Option<u64> },
}

/// A read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReadOp {
    GetData { path: String },
    Exists { path: String },
    GetChildren { path: String },
}

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ZkOp {
    Write(WriteOp),
    /// A read; `linearizable` reads are served by the leader once a quorum confirmed it still
    /// leads, the others by the server asked, from its own state.
    Read {
        op: ReadOp,
        linearizable: bool,
    },
    /// Keeps the session alive (any server; answered `Pong`).
    Ping,
    /// Answered `Closed` by a server that has applied the session's close, `NotYet` otherwise.
    /// It does not keep the session alive: a client that gives a session up asks this.
    AwaitClosed,
}

/// One request of a session.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ZkRequest {
    pub session: SessionId,
    /// Grows with every request of the session; a retry keeps it.
    pub xid: u64,
    /// The highest zxid the client has seen (see the module documentation).
    pub min_zxid: Zxid,
    pub op: ZkOp,
}

/// Why an operation did not succeed. Every one is an answer: the request was ordered (writes)
/// or read at a zxid, and this is its outcome.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ZkError {
    NodeExists,
    NoNode,
    BadVersion,
    NotEmpty,
    NoChildrenForEphemerals,
    /// The session is closed (or was never opened): nothing of this request took effect.
    SessionExpired,
    /// A malformed path, or a request older than the session's last.
    BadArguments,
}

/// A successful (or refused, `Error`) outcome.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    Connected,
    Closed,
    /// The session is not closed (yet).
    NotYet,
    /// The node created, with its full name (sequential suffix included).
    Created {
        path: String,
    },
    Deleted,
    /// A setData's new metadata.
    Set(Stat),
    Data {
        data: String,
        stat: Stat,
    },
    Exists(Option<Stat>),
    Children(Vec<String>),
    Pong,
    Error(ZkError),
}

/// Why a server cannot take a request now; the client tries again, elsewhere or later.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unavailable {
    /// No leader is known, or this server is not synchronized with one.
    NotServing,
    /// This server has applied less than the client has seen.
    Behind,
    /// The leader's disk is full: nothing was proposed.
    DiskFull,
}

/// What a client is told.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ZkResponse {
    /// The outcome, at `zxid`: the transaction's for a write, the state's for a read.
    Done { zxid: Zxid, reply: Reply },
    /// Not taken: nothing happened; try `hint` (the leader) or another server.
    Unavailable { reason: Unavailable, hint: Option<NodeId> },
}
