//! Roles and the volatile state of each: what a looking server, a follower and a leader keep
//! in memory (all of it lost at a crash).

use crate::api::{SessionId, ZkRequest};
use crate::msg::{PeerState, Pos, ReplyTo, Vote, Zxid};
use faultline_sim::{NodeId, Time};
use std::collections::{BTreeMap, BTreeSet};

/// What a server is doing.
pub(crate) enum Role {
    /// Its disk could not be read at start; it retries.
    Recovering,
    Looking(Election),
    Following(Follower),
    Leading(Box<Leader>),
}

/// Fast leader election in progress.
pub(crate) struct Election {
    /// This server's current vote.
    pub vote: Vote,
    /// Votes of looking voters in this round (this server's included).
    pub votes: BTreeMap<NodeId, Vote>,
    /// What following and leading servers said: their leader's vote and their state.
    pub settled: BTreeMap<NodeId, (Vote, PeerState)>,
    /// A quorum agreed and the finalize timer runs.
    pub finalizing: bool,
    /// When to send the vote again, and the wait before that (it doubles, as ZooKeeper's
    /// notification timeout does, so a server cut off for long does not flood the others).
    pub resend_at: Time,
    pub resend_after: std::time::Duration,
}

/// A follower's progress with its leader.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum FollowerPhase {
    /// FOLLOWERINFO sent; waiting for LEADERINFO.
    Connecting,
    /// ACKEPOCH sent; waiting for NEWLEADER.
    EpochAcked,
    /// NEWLEADER applied and acknowledged; waiting for UPTODATE.
    Synced,
    /// Up to date: delivering and serving clients.
    Serving,
}

pub(crate) struct Follower {
    pub leader: NodeId,
    pub phase: FollowerPhase,
    /// The epoch it accepted from this leader (0 until LEADERINFO).
    pub epoch: u64,
    /// Whether its ACKEPOCH to this leader was a promise (see `Msg::AckEpoch`).
    pub promised: bool,
    /// The number of the last NEWLEADER applied (0 before any).
    pub sync: u64,
    /// When it last heard from the leader.
    pub last_heard: Time,
    /// When it began following.
    pub since: Time,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum LeaderPhase {
    /// Gathering FOLLOWERINFO, then ACKEPOCH.
    Discovery,
    /// Established: synchronizing followers, waiting for a quorum of NEWLEADER acks.
    Sync,
    /// Broadcasting.
    Broadcast,
}

/// A follower, as its leader sees it.
#[derive(Clone, Debug)]
pub(crate) struct Learner {
    /// Votes (not an observer), and its history can be trusted (not repairing).
    pub voter: bool,
    pub trusted: bool,
    /// Its FOLLOWERINFO: the epoch it had accepted.
    pub accepted: Option<u64>,
    /// Its ACKEPOCH: current epoch and history end.
    pub acked: Option<(u64, Pos)>,
    /// It acknowledged NEWLEADER.
    pub synced: bool,
    /// It asked for (or needs) a snapshot.
    pub wants_snap: bool,
    /// When NEWLEADER was last sent to it, and its number.
    pub sync_sent: Option<Time>,
    pub sync: u64,
    /// The last position it durably holds, and the next to send it.
    pub matched: u64,
    pub next: u64,
    pub last_heard: Time,
    /// The last heartbeat round it answered.
    pub round: u64,
}

impl Learner {
    pub fn new(now: Time) -> Learner {
        Learner {
            voter: false,
            trusted: false,
            accepted: None,
            acked: None,
            synced: false,
            wants_snap: false,
            sync_sent: None,
            sync: 0,
            matched: 0,
            next: 0,
            last_heard: now,
            round: 0,
        }
    }
}

/// A linearizable read waiting for its heartbeat round and for the leader to apply its index.
pub(crate) struct PendingRead {
    /// The server the client asked (this one, or the follower that forwarded it).
    pub via: NodeId,
    pub origin: ReplyTo,
    pub req: ZkRequest,
    pub read_index: u64,
    pub round: u64,
}

pub(crate) struct Leader {
    pub phase: LeaderPhase,
    /// The epoch it leads (0 until a quorum's FOLLOWERINFO decided it).
    pub epoch: u64,
    pub since: Time,
    /// Its current epoch when it began, for the discovery check of followers' histories.
    pub current_before: u64,
    pub learners: BTreeMap<NodeId, Learner>,
    /// The counter of its last proposal in the epoch.
    pub counter: u64,
    /// The heartbeat round (confirms leadership for linearizable reads).
    pub round: u64,
    pub reads: Vec<PendingRead>,
    /// Session tracker: the last time any server heard from each open session (own clock).
    pub tracker: BTreeMap<SessionId, Time>,
    /// Sessions whose expiry has been proposed.
    pub expiring: BTreeSet<SessionId>,
    /// When broadcasting began: the last zxid it had delivered.
    pub primary: Option<Zxid>,
    /// When its last tick ran (a long gap means it was paused or its clock jumped).
    pub last_tick: Time,
}

impl Leader {
    pub fn new(now: Time, current_before: u64) -> Leader {
        Leader {
            phase: LeaderPhase::Discovery,
            epoch: 0,
            since: now,
            current_before,
            learners: BTreeMap::new(),
            counter: 0,
            round: 0,
            reads: Vec::new(),
            tracker: BTreeMap::new(),
            expiring: BTreeSet::new(),
            primary: None,
            last_tick: now,
        }
    }
}
