//! Consistency models and which anomalies rule them out.
//!
//! The models and their order follow Adya's thesis (PL-1 read uncommitted, PL-2 read committed,
//! PL-2.99 repeatable read, PL-SI snapshot isolation, PL-3 serializable) and the session and
//! real-time strengthenings that Elle adds (Kingsbury and Alvaro, VLDB 2020, and Elle's
//! `consistency-model` namespace): "strong session" models also forbid cycles through a
//! process's own order, "strong"/"strict" models forbid cycles through real-time order.
//!
//! Each anomaly is prohibited directly by the weakest models listed in [`direct`]; every model
//! stronger than one of those (see [`weaker`]) is ruled out too. Item-only workloads (list
//! append, registers) have no predicates, so G2 and G2-item coincide and repeatable read forbids
//! the same cycles as serializability; they still differ on `internal` anomalies (Elle counts
//! those against snapshot isolation and serializability only).

use super::anomaly::{AnomalyKind, CycleShape, Order};
use std::fmt;
use std::str::FromStr;

/// A transactional consistency model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConsistencyModel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    SnapshotIsolation,
    Serializable,
    StrongSessionSnapshotIsolation,
    StrongSessionSerializable,
    StrongSnapshotIsolation,
    StrictSerializable,
}

use ConsistencyModel as M;

impl ConsistencyModel {
    /// Every model, weakest first.
    pub const ALL: [ConsistencyModel; 9] = [
        M::ReadUncommitted,
        M::ReadCommitted,
        M::RepeatableRead,
        M::SnapshotIsolation,
        M::Serializable,
        M::StrongSessionSnapshotIsolation,
        M::StrongSessionSerializable,
        M::StrongSnapshotIsolation,
        M::StrictSerializable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            M::ReadUncommitted => "read-uncommitted",
            M::ReadCommitted => "read-committed",
            M::RepeatableRead => "repeatable-read",
            M::SnapshotIsolation => "snapshot-isolation",
            M::Serializable => "serializable",
            M::StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            M::StrongSessionSerializable => "strong-session-serializable",
            M::StrongSnapshotIsolation => "strong-snapshot-isolation",
            M::StrictSerializable => "strict-serializable",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The models a model directly implies (the next weaker ones).
fn weaker(m: ConsistencyModel) -> &'static [ConsistencyModel] {
    match m {
        M::ReadUncommitted => &[],
        M::ReadCommitted => &[M::ReadUncommitted],
        M::RepeatableRead | M::SnapshotIsolation => &[M::ReadCommitted],
        M::Serializable => &[M::RepeatableRead, M::SnapshotIsolation],
        M::StrongSessionSnapshotIsolation => &[M::SnapshotIsolation],
        M::StrongSessionSerializable => &[M::Serializable, M::StrongSessionSnapshotIsolation],
        M::StrongSnapshotIsolation => &[M::StrongSessionSnapshotIsolation],
        M::StrictSerializable => &[M::Serializable, M::StrongSnapshotIsolation, M::StrongSessionSerializable],
    }
}

/// The weakest models that prohibit an anomaly outright.
fn direct(kind: AnomalyKind) -> &'static [ConsistencyModel] {
    match kind {
        AnomalyKind::Cycle(shape, order) => direct_cycle(shape, order),
        AnomalyKind::DuplicateElements | AnomalyKind::GarbageRead => &[M::ReadUncommitted],
        AnomalyKind::AbortedRead
        | AnomalyKind::IntermediateRead
        | AnomalyKind::IncompatibleOrder
        | AnomalyKind::FutureRead => &[M::ReadCommitted],
        AnomalyKind::Internal => &[M::SnapshotIsolation, M::Serializable],
    }
}

fn direct_cycle(shape: CycleShape, order: Order) -> &'static [ConsistencyModel] {
    use CycleShape as S;
    match (shape, order) {
        (S::G0, Order::Data) => &[M::ReadUncommitted],
        (S::G1c, Order::Data) => &[M::ReadCommitted],
        // G-single and G-nonadjacent over items are also G2-item cycles.
        (S::GSingle | S::GNonadjacent, Order::Data) => &[M::SnapshotIsolation, M::RepeatableRead],
        (S::G2Item, Order::Data) => &[M::RepeatableRead],
        (S::G2Item, Order::Process) => &[M::StrongSessionSerializable],
        (_, Order::Process) => &[M::StrongSessionSnapshotIsolation],
        (S::G2Item, Order::Realtime) => &[M::StrictSerializable],
        (_, Order::Realtime) => &[M::StrongSnapshotIsolation],
    }
}

/// A set of consistency models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ModelSet(u16);

impl ModelSet {
    pub fn contains(self, m: ConsistencyModel) -> bool {
        self.0 & m.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every model of `self` is also in `other`.
    pub fn is_subset(self, other: ModelSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn union(self, other: ModelSet) -> ModelSet {
        ModelSet(self.0 | other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = ConsistencyModel> {
        ConsistencyModel::ALL.into_iter().filter(move |m| self.contains(*m))
    }

    /// The members no weaker member implies: "not X" for these says everything.
    pub fn weakest(self) -> impl Iterator<Item = ConsistencyModel> {
        self.iter().filter(move |m| {
            !ConsistencyModel::ALL.iter().any(|w| *w != *m && self.contains(*w) && implies(*m, *w))
        })
    }
}

impl FromIterator<ConsistencyModel> for ModelSet {
    fn from_iter<I: IntoIterator<Item = ConsistencyModel>>(iter: I) -> Self {
        ModelSet(iter.into_iter().fold(0, |set, m| set | m.bit()))
    }
}

/// True when `strong` implies `weak` (every history valid under `strong` is valid under `weak`).
pub fn implies(strong: ConsistencyModel, weak: ConsistencyModel) -> bool {
    strong == weak || weaker(strong).iter().any(|w| implies(*w, weak))
}

/// Every model a history showing `kind` cannot satisfy.
pub fn ruled_out(kind: AnomalyKind) -> ModelSet {
    let direct = direct(kind);
    let mut set = 0;
    for m in ConsistencyModel::ALL {
        if direct.iter().any(|d| implies(m, *d)) {
            set |= m.bit();
        }
    }
    ModelSet(set)
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown model name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown consistency model `{0}` (known: read-uncommitted, read-committed, repeatable-read, snapshot-isolation, serializable, strong-session-snapshot-isolation, strong-session-serializable, strong-snapshot-isolation, strict-serializable)")]
pub struct UnknownModel(pub String);

impl FromStr for ConsistencyModel {
    type Err = UnknownModel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let alias = match s {
            "strong-serializable" => Some(M::StrictSerializable),
            "PL-1" => Some(M::ReadUncommitted),
            "PL-2" => Some(M::ReadCommitted),
            "PL-2.99" => Some(M::RepeatableRead),
            "PL-SI" => Some(M::SnapshotIsolation),
            "PL-3" => Some(M::Serializable),
            "PL-SS" => Some(M::StrictSerializable),
            _ => None,
        };
        alias
            .or_else(|| ConsistencyModel::ALL.into_iter().find(|m| m.name() == s))
            .ok_or_else(|| UnknownModel(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: the closure matches Elle's model graph on the cases the corpus relies on.
    #[test]
    fn g2_item_rules_out_repeatable_read_but_not_snapshot_isolation() {
        let set = ruled_out(AnomalyKind::Cycle(CycleShape::G2Item, Order::Data));
        assert!(set.contains(M::RepeatableRead));
        assert!(set.contains(M::Serializable));
        assert!(set.contains(M::StrictSerializable));
        assert!(!set.contains(M::SnapshotIsolation));
        assert!(!set.contains(M::ReadCommitted));
        assert_eq!(set.weakest().collect::<Vec<_>>(), vec![M::RepeatableRead]);
    }

    #[test]
    fn realtime_g_single_rules_out_strong_si_and_strict_only() {
        let set = ruled_out(AnomalyKind::Cycle(CycleShape::GSingle, Order::Realtime));
        let names: Vec<_> = set.iter().collect();
        assert_eq!(names, vec![M::StrongSnapshotIsolation, M::StrictSerializable]);
        let g2 = ruled_out(AnomalyKind::Cycle(CycleShape::G2Item, Order::Realtime));
        assert_eq!(g2.iter().collect::<Vec<_>>(), vec![M::StrictSerializable]);
    }

    #[test]
    fn g0_rules_out_everything_and_internal_spares_repeatable_read() {
        assert_eq!(ruled_out(AnomalyKind::Cycle(CycleShape::G0, Order::Data)).iter().count(), 9);
        let internal = ruled_out(AnomalyKind::Internal);
        assert!(!internal.contains(M::RepeatableRead));
        assert!(internal.contains(M::SnapshotIsolation));
        assert!(internal.contains(M::StrongSessionSnapshotIsolation));
    }

    #[test]
    fn names_round_trip() {
        for m in ConsistencyModel::ALL {
            assert_eq!(m.name().parse::<ConsistencyModel>(), Ok(m));
        }
        assert!("linearizable".parse::<ConsistencyModel>().is_err());
    }
}
