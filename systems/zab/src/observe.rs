//! What the outside may see of a server: observations for the invariant checkers, a status
//! summary for the harness (leaders, convergence, why a run is not done), and the local
//! invariants checked after every step.

use crate::broadcast::observed;
use crate::state::{FollowerPhase, LeaderPhase, Role};
use crate::storage::Standing;
use crate::Zab;
use faultline_checkers::invariants::log::{LogObservation, ObservedEntry, Role as ObservedRole, Vocabulary};
use faultline_checkers::invariants::zab::{Primary, ZabObservation};
use faultline_sim::NodeId;

/// A server's role, for status reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZabRole {
    Looking,
    /// Following, not yet serving.
    Syncing,
    /// Following an established leader and serving clients.
    Following,
    /// Leading, not yet established (discovery).
    Discovering,
    /// Established: synchronizing a quorum.
    Establishing,
    /// Broadcasting.
    Leading,
    /// Its disk could not be read; retrying.
    Recovering,
}

/// A summary of a server's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZabStatus {
    pub id: NodeId,
    pub role: ZabRole,
    pub standing: Standing,
    /// The epoch it leads or follows in (its current epoch otherwise).
    pub epoch: u64,
    /// The leader it follows (itself when leading).
    pub leader: Option<NodeId>,
    /// Its accepted and current epochs (what it promised, what it acknowledged).
    pub accepted_epoch: u64,
    pub current_epoch: u64,
    pub applied: u64,
    pub last: u64,
    /// The zxid of its last transaction.
    pub last_zxid: crate::msg::Zxid,
    pub commit: u64,
    /// Its snapshot base position.
    pub base: u64,
    /// The running digest of its data tree: equal on servers that applied the same.
    pub tree_digest: u64,
}

impl ZabStatus {
    /// `n2 Following e3 applied 12/14 (Voter)`: for liveness reports.
    pub fn summary(&self) -> String {
        format!(
            "{} {:?} e{} applied {}/{} ({:?})",
            self.id, self.role, self.epoch, self.applied, self.last, self.standing
        )
    }
}

/// Why the ensemble has not converged yet, or `Ok` once it has: one broadcasting leader, every
/// server following it and serving, each having applied what the leader applied, to the same
/// tree.
pub fn convergence(statuses: &[ZabStatus]) -> Result<(), String> {
    let leaders: Vec<&ZabStatus> = statuses.iter().filter(|s| s.role == ZabRole::Leading).collect();
    let [leader] = leaders.as_slice() else {
        let all: Vec<String> = statuses.iter().map(ZabStatus::summary).collect();
        return Err(format!("{} broadcasting leaders [{}]", leaders.len(), all.join("; ")));
    };
    for s in statuses.iter().filter(|s| s.id != leader.id) {
        if s.role != ZabRole::Following || s.leader != Some(leader.id) || s.epoch != leader.epoch {
            return Err(format!(
                "{} is {:?} with leader {:?} in epoch {}, not following {} in epoch {}",
                s.id, s.role, s.leader, s.epoch, leader.id, leader.epoch
            ));
        }
        if (s.applied, s.tree_digest) != (leader.applied, leader.tree_digest) {
            return Err(format!("{} applied {} but the leader {}", s.id, s.applied, leader.applied));
        }
    }
    Ok(())
}

impl Zab {
    /// This server's state for the invariant checkers, covering the last step (observe after
    /// every step to see every delivery). `time` is the node's own clock; the harness may
    /// overwrite it with simulated time.
    pub fn observe(&self) -> ZabObservation {
        let (epoch, role) = match &self.role {
            Role::Leading(l) if l.phase != LeaderPhase::Discovery => (l.epoch, ObservedRole::Leader),
            Role::Leading(_) => (self.meta.current_epoch, ObservedRole::Candidate),
            Role::Following(_) | Role::Looking(_) => (self.meta.current_epoch, ObservedRole::Follower),
            Role::Recovering => (self.meta.current_epoch, ObservedRole::Inactive),
        };
        let base = self.history.base();
        let log = LogObservation {
            node: self.id.0,
            time: self.now.as_nanos(),
            epoch,
            role,
            commit_index: self.commit,
            snapshot: (base.index, base.zxid.epoch),
            log: self
                .history
                .entries()
                .map(|(index, zxid, digest)| ObservedEntry { index, epoch: zxid.epoch, digest })
                .collect(),
            applied: self.step.delivered.iter().map(|t| (t.index, t.digest)).collect(),
            words: Vocabulary::ZAB,
        };
        let primary = match &self.role {
            Role::Leading(l) => l.primary.map(|z| Primary { epoch: l.epoch, delivered_through: observed(z) }),
            _ => None,
        };
        ZabObservation {
            log,
            delivered: self.step.delivered.clone(),
            delivered_from: observed(self.step.delivered_from.unwrap_or(self.applied.zxid)),
            proposed: self.step.proposed.clone(),
            primary,
        }
    }

    /// (position, tree digest) after each delivery of the last step.
    pub fn trees(&self) -> &[(u64, u64)] {
        &self.step.trees
    }

    /// Whether the last step proposed a transaction. A proposal whose write then failed leaves
    /// the status as it was, yet the transaction may be on disk and come back at a restart:
    /// the observer must see it proposed.
    pub fn proposed_in_step(&self) -> bool {
        !self.step.proposed.is_empty()
    }

    /// The events of the last step (`elections`, `snap_syncs`...).
    pub fn events(&self) -> &[&'static str] {
        &self.step.events
    }

    /// The transactions delivered in the last step, in order.
    pub fn delivered(&self) -> impl Iterator<Item = (u64, &crate::msg::Txn)> + '_ {
        self.step.delivered.iter().map(|t| t.index).zip(&self.step.delivered_txns)
    }

    pub fn status(&self) -> ZabStatus {
        let (role, epoch, leader) = match &self.role {
            Role::Looking(_) => (ZabRole::Looking, self.meta.current_epoch, None),
            Role::Following(f) if f.phase == FollowerPhase::Serving => {
                (ZabRole::Following, f.epoch, Some(f.leader))
            }
            Role::Following(f) => (ZabRole::Syncing, f.epoch, Some(f.leader)),
            Role::Leading(l) => {
                let role = match l.phase {
                    LeaderPhase::Discovery => ZabRole::Discovering,
                    LeaderPhase::Sync => ZabRole::Establishing,
                    LeaderPhase::Broadcast => ZabRole::Leading,
                };
                (role, l.epoch, Some(self.id))
            }
            Role::Recovering => (ZabRole::Recovering, self.meta.current_epoch, None),
        };
        ZabStatus {
            id: self.id,
            role,
            standing: self.meta.standing,
            epoch,
            leader,
            accepted_epoch: self.meta.accepted_epoch,
            current_epoch: self.meta.current_epoch,
            applied: self.applied.index,
            last: self.history.last().index,
            last_zxid: self.history.last().zxid,
            commit: self.commit,
            base: self.history.base().index,
            tree_digest: self.tree.digest(),
        }
    }

    /// Local invariants (asserted after every step in simulation), each O(1) or O(ensemble).
    pub(crate) fn assert_invariants(&self) {
        if matches!(self.role, Role::Recovering) {
            return;
        }
        let last = self.history.last();
        assert!(
            self.applied.index <= last.index,
            "applied {} beyond the history's end {}",
            self.applied.index,
            last.index
        );
        assert!(self.history.base().index <= self.applied.index, "the history starts after what was applied");
        assert!(self.marked <= last.index, "a marker names a position beyond the history");
        let (current, accepted) = (self.meta.current_epoch, self.meta.accepted_epoch);
        assert!(current <= accepted, "current epoch {current} beyond accepted epoch {accepted}");
        if let Role::Leading(l) = &self.role {
            assert!(self.trusted(), "a server that is not a trusted voter leads");
            assert!(!l.learners.contains_key(&self.id), "a leader tracks itself as a learner");
            if l.phase != LeaderPhase::Discovery {
                assert_eq!(self.meta.current_epoch, l.epoch, "an established leader's current epoch");
            }
            for (id, x) in &l.learners {
                assert!(x.matched <= last.index, "{id}'s matched position is beyond the leader's history");
            }
        }
    }
}
