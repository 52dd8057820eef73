//! What the outside may see of a node: observations for the invariant checkers, a status
//! summary for the harness (leaders, convergence, why a run is not done), and the local
//! invariants checked after every step.

use crate::machine::StateMachine;
use crate::msg::LogId;
use crate::state::Role;
use crate::Raft;
use faultline_checkers::invariants::log::{LogObservation, ObservedEntry, Role as ObservedRole, Vocabulary};
use faultline_sim::NodeId;

/// A node's role, for status reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusRole {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
    /// Its disk could not be read at start; retrying.
    Recovering,
    /// Both metadata copies are damaged; it takes no part.
    Failed,
}

/// A summary of a node's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftStatus {
    pub id: NodeId,
    pub role: StatusRole,
    pub term: u64,
    pub voted_for: Option<NodeId>,
    /// The leader of its term, if known.
    pub leader: Option<NodeId>,
    pub commit_index: u64,
    pub applied_index: u64,
    pub last_log: LogId,
    pub snapshot: LogId,
    /// The latest configuration in its log.
    pub members: Vec<NodeId>,
    /// The first entry it cannot read (awaiting repair), if any.
    pub first_hole: Option<u64>,
    /// A digest of its state machine (data and sessions): equal on converged nodes.
    pub state_digest: u64,
}

/// Why a cluster has not converged yet, or `Ok` once it has: exactly one leader, known to
/// every active member, and every active member's state machine at the same index with the
/// same digest, nothing awaiting repair. Members that lost their metadata for good are left
/// out, as long as the others are a majority. For the harness's liveness phase ("pending: ...").
pub fn convergence(statuses: &[RaftStatus]) -> Result<(), String> {
    let leaders: Vec<&RaftStatus> = statuses.iter().filter(|s| s.role == StatusRole::Leader).collect();
    let [leader] = leaders.as_slice() else {
        let nodes: Vec<String> = statuses.iter().map(RaftStatus::summary).collect();
        return Err(format!("{} leaders [{}]", leaders.len(), nodes.join("; ")));
    };
    // A node that lost both copies of its metadata takes no further part (see `storage.rs`);
    // the rest must still converge, and must still be a majority of the configuration.
    let members: Vec<&RaftStatus> = statuses.iter().filter(|s| leader.members.contains(&s.id)).collect();
    let failed = members.iter().filter(|s| s.role == StatusRole::Failed).count();
    if 2 * (leader.members.len() - failed) <= leader.members.len() {
        return Err(format!("{failed} of {} members lost their metadata", leader.members.len()));
    }
    for s in members.into_iter().filter(|s| s.role != StatusRole::Failed) {
        if s.role == StatusRole::Recovering {
            return Err(format!("{} is {:?}", s.id, s.role));
        }
        if let Some(hole) = s.first_hole {
            return Err(format!("{} is waiting to repair entry {hole}", s.id));
        }
        if s.leader != Some(leader.id) || s.term != leader.term {
            return Err(format!(
                "{} follows {:?} in term {}, not {} in term {}",
                s.id, s.leader, s.term, leader.id, leader.term
            ));
        }
        if (s.applied_index, s.state_digest) != (leader.applied_index, leader.state_digest) {
            return Err(format!(
                "{} applied {} but the leader {}",
                s.id, s.applied_index, leader.applied_index
            ));
        }
    }
    Ok(())
}

impl RaftStatus {
    /// `n2 Follower t7 commit 12/14 hole@9 members n0,n1,n2`: for liveness reports.
    pub fn summary(&self) -> String {
        let hole = self.first_hole.map(|h| format!(" hole@{h}")).unwrap_or_default();
        let members: Vec<String> = self.members.iter().map(|m| m.to_string()).collect();
        format!(
            "{} {:?} t{} commit {}/{}{hole} members {}",
            self.id,
            self.role,
            self.term,
            self.commit_index,
            self.last_log.index,
            members.join(",")
        )
    }
}

impl<M: StateMachine> Raft<M> {
    /// This node's state for the invariant checkers (`time` is the node's own clock; the
    /// harness may overwrite it with simulated time). `applied` lists what the last step
    /// applied, so observe after every step to see every applied entry.
    pub fn observe(&self) -> LogObservation {
        let base = self.log.base();
        LogObservation {
            node: self.id.0,
            time: self.now.as_nanos(),
            epoch: self.hard.term,
            role: match self.role {
                Role::Follower => ObservedRole::Follower,
                Role::PreCandidate { .. } => ObservedRole::PreCandidate,
                Role::Candidate { .. } => ObservedRole::Candidate,
                Role::Leader(_) => ObservedRole::Leader,
                Role::Recovering | Role::Failed => ObservedRole::Inactive,
            },
            commit_index: self.commit,
            snapshot: (base.index, base.term),
            log: self
                .log
                .iter()
                .map(|(e, digest)| ObservedEntry { index: e.index, epoch: e.term, digest })
                .collect(),
            applied: self.applied_in_step.clone(),
            words: Vocabulary::RAFT,
        }
    }

    pub fn status(&self) -> RaftStatus {
        RaftStatus {
            id: self.id,
            role: match self.role {
                Role::Follower => StatusRole::Follower,
                Role::PreCandidate { .. } => StatusRole::PreCandidate,
                Role::Candidate { .. } => StatusRole::Candidate,
                Role::Leader(_) => StatusRole::Leader,
                Role::Recovering => StatusRole::Recovering,
                Role::Failed => StatusRole::Failed,
            },
            term: self.hard.term,
            voted_for: self.hard.voted_for,
            leader: self.leader,
            commit_index: self.commit,
            applied_index: self.applied,
            last_log: self.log.last(),
            snapshot: self.log.base(),
            members: self.members.latest().to_vec(),
            first_hole: self.log.first_hole(),
            state_digest: self.kv.digest(),
        }
    }

    /// Local invariants (asserted by the shell after every step in simulation). Each is O(1)
    /// or O(cluster size), so checking after every step costs little.
    pub(crate) fn assert_invariants(&self) {
        if matches!(self.role, Role::Recovering | Role::Failed) {
            return;
        }
        let last = self.log.last_index();
        assert!(self.commit <= last, "commit index {} beyond the last entry {last}", self.commit);
        assert!(self.applied <= self.commit, "applied {} beyond commit {}", self.applied, self.commit);
        assert!(self.log.base().index <= self.applied, "snapshot beyond the applied index");
        if let Some(hole) = self.log.first_hole() {
            assert!(self.commit < hole, "commit index {} reaches the unreadable entry {hole}", self.commit);
        }
        assert!(self.hard.term >= self.term_at_step.get(), "term went backwards");
        assert!(self.log.last().term <= self.hard.term, "an entry's term exceeds the current term");
        assert!(self.promise >= self.hard.promise, "the durable promise exceeds the in-memory one");
        assert!(self.marked <= last, "a persist record names an entry beyond the log");
        if let Role::Leader(leader) = &self.role {
            assert!(self.log.first_hole().is_none(), "a leader with unreadable entries");
            assert!(!leader.progress.contains_key(&self.id), "a leader tracks itself as a follower");
            for (peer, p) in &leader.progress {
                assert!(p.matched <= last, "leader's match index for {peer} is beyond its log");
            }
        }
    }
}
