//! Zab's safety properties (Junqueira, Reed and Serafini, "Zab: High-performance broadcast for
//! primary-backup systems", DSN 2011, section III; and the invariants of the protocol
//! specification `Zab.tla` in ZooKeeper's `zookeeper-specifications`), checked on observations
//! of node states.
//!
//! A Zab node's history is a sequence of transactions named by zxids (epoch, counter). A
//! protocol crate reports, after each step, a [`ZabObservation`]: its history in the generic
//! [`LogObservation`] form (positions are history positions, epochs are the zxids' epochs, and
//! the role is `Leader` only for an *established* leader: one that has an epoch acknowledged by
//! a quorum, the specification's SYNCHRONIZATION and BROADCAST phases), the transactions it
//! delivered and proposed since its previous observation, and whether it broadcasts as primary.
//!
//! The properties where the replicated-log checkers fit are those checkers, under Zab's names:
//! - one established leader per epoch (`Leadership` in `Zab.tla`): [`ElectionSafety`];
//! - prefix consistency (`PrefixConsistency`: the delivered prefixes are the same):
//!   [`StateMachineSafety`] over delivered positions;
//! - history matching (same position and zxid epoch, same transaction and same prefix):
//!   [`LogMatching`];
//! - primary append-only (an established leader never drops a transaction of its own
//!   history): [`LeaderAppendOnly`].
//!
//! The others are Zab's own, one module each:
//! - [`integrity`]: only transactions some primary broadcast are delivered.
//! - [`agreement`]: the delivered sequences never fork.
//! - [`total_order`]: every node delivers a transaction right after the same predecessor.
//! - [`local_primary_order`]: a primary's broadcast order is kept by every delivery.
//! - [`global_primary_order`]: a node delivers earlier epochs' transactions first.
//! - [`primary_integrity`]: a primary has delivered every earlier epoch's delivered
//!   transaction before it broadcasts.

pub mod agreement;
pub mod global_primary_order;
pub mod integrity;
pub mod local_primary_order;
pub mod primary_integrity;
pub mod total_order;

use super::log::{ElectionSafety, LeaderAppendOnly, LogMatching, LogObservation, StateMachineSafety};
use super::{Invariant, InvariantSet};
use crate::Verdict;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use agreement::Agreement;
pub use global_primary_order::GlobalPrimaryOrder;
pub use integrity::Integrity;
pub use local_primary_order::LocalPrimaryOrder;
pub use primary_integrity::PrimaryIntegrity;
pub use total_order::TotalOrder;

/// A transaction id: the epoch of the primary that proposed it and its counter in that epoch.
/// Ordered by epoch, then counter, as Zab orders transactions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Zxid {
    /// The proposing primary's epoch.
    pub epoch: u64,
    /// Its position among that primary's proposals, from 1.
    pub counter: u64,
}

impl Zxid {
    /// The zxid `epoch:counter`.
    pub const fn new(epoch: u64, counter: u64) -> Zxid {
        Zxid { epoch, counter }
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.counter)
    }
}

/// One transaction as observed: its history position, its zxid and a digest of its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObservedTxn {
    /// Its position in the history, from 1.
    pub index: u64,
    /// Its zxid.
    pub zxid: Zxid,
    /// A digest of its content (zxid included).
    pub digest: u64,
}

/// An established leader that has begun broadcasting in `epoch`, having delivered everything
/// up to `delivered_through` first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Primary {
    /// The epoch it leads.
    pub epoch: u64,
    /// The last transaction it had delivered when it began broadcasting.
    pub delivered_through: Zxid,
}

/// A Zab node after one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZabObservation {
    /// Its history, role and delivered positions in the replicated-log form (see the module
    /// documentation); `log.applied` lists the deliveries as (position, digest).
    pub log: LogObservation,
    /// What it delivered since its previous observation, in order.
    pub delivered: Vec<ObservedTxn>,
    /// The last transaction it had delivered before the first of `delivered` (a snapshot's,
    /// after a restart or a snapshot sync; `0:0` before any).
    pub delivered_from: Zxid,
    /// What it proposed as primary since its previous observation, in order.
    pub proposed: Vec<ObservedTxn>,
    /// Set while it is a primary that has begun broadcasting.
    pub primary: Option<Primary>,
}

impl ZabObservation {
    /// `n2 at t=1500 (epoch 3, Leader)`.
    pub fn label(&self) -> String {
        self.log.label()
    }

    /// Each delivery with the one before it on this node: (previous zxid, transaction).
    pub fn deliveries(&self) -> impl Iterator<Item = (Zxid, &ObservedTxn)> {
        let before = std::iter::once(self.delivered_from).chain(self.delivered.iter().map(|t| t.zxid));
        before.zip(self.delivered.iter())
    }
}

/// A replicated-log property checked on the log part of Zab observations.
struct OnLog<I>(I);

impl<I: Invariant<LogObservation>> Invariant<ZabObservation> for OnLog<I> {
    fn check(&mut self, obs: &ZabObservation) -> Result<(), String> {
        self.0.check(&obs.log)
    }
}

/// Every Zab property at once, under the names of the paper and the specification.
pub struct ZabInvariants {
    set: InvariantSet<ZabObservation>,
}

impl Default for ZabInvariants {
    fn default() -> Self {
        let set = InvariantSet::new()
            .with("one established leader per epoch", OnLog(ElectionSafety::default()))
            .with("prefix consistency", OnLog(StateMachineSafety::default()))
            .with("history matching", OnLog(LogMatching::default()))
            .with("primary append-only", OnLog(LeaderAppendOnly::default()))
            .with("integrity", Integrity::default())
            .with("agreement", Agreement::default())
            .with("total order", TotalOrder::default())
            .with("local primary order", LocalPrimaryOrder::default())
            .with("global primary order", GlobalPrimaryOrder)
            .with("primary integrity", PrimaryIntegrity::default());
        ZabInvariants { set }
    }
}

impl ZabInvariants {
    /// Every property, nothing observed yet.
    pub fn new() -> Self {
        ZabInvariants::default()
    }

    /// Feeds the next observation.
    pub fn observe(&mut self, obs: &ZabObservation) {
        self.set.observe(obs);
    }

    /// Each property's name and verdict.
    pub fn verdicts(&self) -> Vec<(&'static str, Verdict)> {
        self.set.verdicts()
    }

    /// `Ok` when every property holds, else the first violation, prefixed with its name.
    pub fn verdict(&self) -> Verdict {
        self.set.verdict()
    }
}

/// Builders for hand-made observations in tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;
    use crate::invariants::log::{Role, Vocabulary};

    /// A transaction at `index` with zxid `epoch:counter`; its digest is made from both.
    pub fn txn(index: u64, epoch: u64, counter: u64) -> ObservedTxn {
        ObservedTxn { index, zxid: Zxid::new(epoch, counter), digest: epoch * 1000 + counter }
    }

    /// Node `node`, at `time`, in `epoch` with `role`, delivering `delivered` after `from`.
    pub fn obs(node: u32, time: u64, role: Role, from: Zxid, delivered: &[ObservedTxn]) -> ZabObservation {
        ZabObservation {
            log: LogObservation {
                node,
                time,
                epoch: delivered.last().map_or(from.epoch, |t| t.zxid.epoch),
                role,
                commit_index: 0,
                snapshot: (0, 0),
                log: Vec::new(),
                applied: delivered.iter().map(|t| (t.index, t.digest)).collect(),
                words: Vocabulary::ZAB,
            },
            delivered: delivered.to_vec(),
            delivered_from: from,
            proposed: Vec::new(),
            primary: None,
        }
    }

    /// A primary of `epoch` that proposes `proposed`.
    pub fn primary(
        node: u32,
        time: u64,
        epoch: u64,
        through: Zxid,
        proposed: &[ObservedTxn],
    ) -> ZabObservation {
        let mut o = obs(node, time, Role::Leader, through, &[]);
        o.log.epoch = epoch;
        o.proposed = proposed.to_vec();
        o.primary = Some(Primary { epoch, delivered_through: through });
        o
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;
    use crate::invariants::log::Role;

    #[test]
    fn a_clean_run_passes_every_property_and_a_fork_names_the_failing_ones() {
        let zero = Zxid::default();
        let (a, b, c) = (txn(1, 1, 1), txn(2, 1, 2), txn(2, 1, 9));
        let mut all = ZabInvariants::new();
        all.observe(&primary(0, 1, 1, zero, &[a, b]));
        all.observe(&obs(1, 2, Role::Follower, zero, &[a, b]));
        assert_eq!(all.verdict(), Verdict::Ok);
        // A second node delivers another transaction after `a`: a fork, which no primary
        // broadcast either.
        all.observe(&obs(2, 3, Role::Follower, zero, &[a, c]));
        let failing: Vec<&str> =
            all.verdicts().iter().filter(|(_, v)| v.is_violation()).map(|(n, _)| *n).collect();
        assert!(failing.contains(&"agreement") && failing.contains(&"integrity"), "{failing:?}");
        assert!(all.verdict().is_violation());
    }
}
