//! What the outside may see of a node: observations for the invariant checkers, a status summary
//! for the harness (leaders, convergence, why a run is not done), and the local invariants
//! checked after every step.

use crate::msg::{Ballot, Slot};
use crate::state::Role;
use crate::Paxos;
use faultline_checkers::invariants::log::{LogObservation, Role as ObservedRole, Vocabulary};
use faultline_checkers::invariants::paxos::PaxosObservation;
use faultline_sim::NodeId;

/// A node's role, for status reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusRole {
    Follower,
    Candidate,
    Leader,
    /// Lost state it may have answered for: learns, takes no part in quorums.
    Rebuilding,
    /// Its disk could not be read at start; retrying.
    Recovering,
}

/// A summary of a node's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaxosStatus {
    pub id: NodeId,
    pub role: StatusRole,
    /// Its promise (a leader's or candidate's own ballot).
    pub promise: Ballot,
    /// The leader it follows, if known.
    pub leader: Option<NodeId>,
    pub chosen_upto: Slot,
    pub applied: Slot,
    /// The slot of its snapshot.
    pub base: Slot,
    /// A digest of its state machine (data and sessions): equal on converged nodes.
    pub state_digest: u64,
}

/// What one step did that the harness counts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct StepEvents {
    pub phase1: bool,
    pub catch_up: bool,
    pub snapshot: bool,
    pub rebuild: bool,
}

/// Why a cluster has not converged yet, or `Ok` once it has: exactly one leader, followed by
/// every other node at its ballot, every state machine at the same slot with the same digest,
/// nobody rebuilding. For the harness's liveness phase ("pending: ...").
pub fn convergence(statuses: &[PaxosStatus]) -> Result<(), String> {
    let leaders: Vec<&PaxosStatus> = statuses.iter().filter(|s| s.role == StatusRole::Leader).collect();
    let [leader] = leaders.as_slice() else {
        let nodes: Vec<String> = statuses.iter().map(PaxosStatus::summary).collect();
        return Err(format!("{} leaders [{}]", leaders.len(), nodes.join("; ")));
    };
    for s in statuses.iter().filter(|s| s.id != leader.id) {
        if matches!(s.role, StatusRole::Rebuilding | StatusRole::Recovering) {
            return Err(format!("{} is {:?}", s.id, s.role));
        }
        if s.leader != Some(leader.id) || s.promise != leader.promise {
            return Err(format!(
                "{} follows {:?} at ballot {}, not {} at {}",
                s.id, s.leader, s.promise, leader.id, leader.promise
            ));
        }
        if (s.applied, s.state_digest) != (leader.applied, leader.state_digest) {
            return Err(format!("{} applied {} but the leader {}", s.id, s.applied, leader.applied));
        }
    }
    Ok(())
}

impl PaxosStatus {
    /// `n2 Follower 3.1 chosen 12 applied 12 base 8`: for liveness reports.
    pub fn summary(&self) -> String {
        format!(
            "{} {:?} {} chosen {} applied {} base {}",
            self.id, self.role, self.promise, self.chosen_upto, self.applied, self.base
        )
    }
}

impl Paxos {
    /// What the last step showed the Paxos checkers (`time` is the node's own clock; the
    /// harness overwrites it with simulated time).
    pub fn observe(&self) -> PaxosObservation {
        let t = &self.trail;
        PaxosObservation {
            node: self.id.0,
            time: self.now.as_nanos(),
            started: t.started,
            promise: self.promise(),
            acks: t.acks.clone(),
            proposed: t.proposed.clone(),
            learned: t.learned.clone(),
            requested: t.requested.clone(),
        }
    }

    /// The node as a replicated log for the kit's checkers (one leader per ballot, agreement on
    /// the applied prefix): its ballot, role and what the last step applied. The log itself is
    /// left out: Paxos logs hold values of several ballots, with gaps, and the per-slot
    /// properties are checked from [`Paxos::observe`].
    pub fn log_observation(&self) -> LogObservation {
        LogObservation {
            node: self.id.0,
            time: self.now.as_nanos(),
            epoch: self.own_ballot().unwrap_or(self.acceptor.promise).as_u64(),
            role: match self.role {
                Role::Follower => ObservedRole::Follower,
                Role::Candidate(_) => ObservedRole::Candidate,
                Role::Leader(_) => ObservedRole::Leader,
                Role::Rebuilding(_) | Role::Recovering => ObservedRole::Inactive,
            },
            commit_index: self.chosen_upto,
            snapshot: (self.base, 0),
            log: Vec::new(),
            applied: self.trail.applied.clone(),
            words: Vocabulary::PAXOS,
        }
    }

    /// Whether the last step was a start (of any outcome).
    pub fn started_in_step(&self) -> bool {
        self.trail.started
    }

    /// The promise as the checkers see it (`None` while the node takes no part in quorums).
    pub fn promise(&self) -> Option<u64> {
        self.votes().then(|| self.acceptor.promise.as_u64())
    }

    /// Whether the last step did anything the Paxos checkers look at, besides the promise.
    pub fn has_events(&self) -> bool {
        let t = &self.trail;
        !(t.acks.is_empty() && t.proposed.is_empty() && t.learned.is_empty() && t.requested.is_empty())
    }

    /// Whether the last step applied anything.
    pub fn applied_in_step(&self) -> bool {
        !self.trail.applied.is_empty()
    }

    /// What the last step did that the harness counts.
    pub fn step_events(&self) -> StepEvents {
        let t = &self.trail;
        StepEvents { phase1: t.phase1, catch_up: t.catch_up, snapshot: t.snapshot, rebuild: t.rebuild }
    }

    /// Whether the node takes part in quorums (answers prepares and accepts).
    fn votes(&self) -> bool {
        !matches!(self.role, Role::Rebuilding(_) | Role::Recovering)
    }

    pub fn status(&self) -> PaxosStatus {
        PaxosStatus {
            id: self.id,
            role: match self.role {
                Role::Follower => StatusRole::Follower,
                Role::Candidate(_) => StatusRole::Candidate,
                Role::Leader(_) => StatusRole::Leader,
                Role::Rebuilding(_) => StatusRole::Rebuilding,
                Role::Recovering => StatusRole::Recovering,
            },
            promise: self.acceptor.promise,
            leader: self.leader,
            chosen_upto: self.chosen_upto,
            applied: self.applied,
            base: self.base,
            state_digest: self.kv.digest(),
        }
    }

    /// Local invariants (asserted by the shell after every step in simulation), each O(1) or
    /// O(cluster size).
    pub(crate) fn assert_invariants(&self) {
        if matches!(self.role, Role::Recovering) {
            return;
        }
        assert!(self.base <= self.applied, "snapshot {} beyond applied {}", self.base, self.applied);
        assert!(
            self.applied <= self.chosen_upto,
            "applied {} beyond chosen {}",
            self.applied,
            self.chosen_upto
        );
        if self.chosen_upto > self.base {
            assert!(self.chosen.contains_key(&self.chosen_upto), "chosen prefix without its last value");
        }
        assert!(
            self.chosen.keys().next().is_none_or(|s| *s + self.config.snapshot_threshold > self.base),
            "a chosen value kept beyond the catch-up window"
        );
        if let Some(ballot) = self.own_ballot() {
            assert_eq!(ballot, self.acceptor.promise, "leading or campaigning at a ballot not promised");
        }
        if let Role::Leader(l) = &self.role {
            assert!(!l.peers.contains_key(&self.id), "a leader tracks itself as a peer");
            assert!(
                l.proposals.keys().all(|s| *s > self.chosen_upto && *s < l.next),
                "a proposal outside the open slots"
            );
        }
    }
}
