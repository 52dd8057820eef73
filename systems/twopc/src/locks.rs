//! Strict two-phase locking on one participant, with wait-die against deadlock.
//!
//! A transaction asks for all the locks of its part on this shard at once, when it prepares:
//! shared for what it only reads (a read of every balance locks every account of the shard),
//! exclusive for what it writes. It holds them until its outcome is known here (strict 2PL,
//! Eswaran et al. 1976; Bernstein, Hadzilacos and Goodman 1987, section 3.2), which makes the
//! committed transactions serializable in commit order, and strictly so since a transaction
//! commits only while holding every lock it took.
//!
//! Across shards, transactions can wait for each other in a cycle. Wait-die (Rosenkrantz,
//! Stearns and Lewis, 1978) breaks every such cycle before it forms: a transaction may wait only
//! for younger ones (larger ids); a younger one that meets an older holder dies (votes no, and
//! the coordinator aborts it). A waiting prepare holds nothing and is retried whenever locks
//! are released.

use crate::msg::TxnId;
use faultline_services::bank::ShardOp;
use std::collections::{BTreeMap, BTreeSet};

/// What can be locked.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Account(u32),
    Key(u32),
}

/// A lock mode.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Shared,
    Exclusive,
}

/// Whether a prepare may take its locks now.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    Grant,
    /// Older than every conflicting holder: wait.
    Wait,
    /// Younger than some conflicting holder: die.
    Die,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Held {
    Shared(BTreeSet<TxnId>),
    Exclusive(TxnId),
}

/// The lock table of one participant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locks {
    held: BTreeMap<Resource, Held>,
}

/// The locks `ops` need on a shard whose accounts are `accounts`: the strongest mode each
/// resource is used in.
pub fn wanted(ops: &[ShardOp], accounts: &[u32]) -> Vec<(Resource, Mode)> {
    let mut want: BTreeMap<Resource, Mode> = BTreeMap::new();
    let mut add = |r: Resource, m: Mode| {
        let e = want.entry(r).or_insert(m);
        *e = (*e).max(m);
    };
    for op in ops {
        match op {
            ShardOp::ReadBalances => accounts.iter().for_each(|a| add(Resource::Account(*a), Mode::Shared)),
            ShardOp::Debit { account, .. } | ShardOp::Credit { account, .. } => {
                add(Resource::Account(*account), Mode::Exclusive)
            }
            ShardOp::Append { key, .. } => add(Resource::Key(*key), Mode::Exclusive),
            ShardOp::ReadList { key } => add(Resource::Key(*key), Mode::Shared),
        }
    }
    want.into_iter().collect()
}

impl Locks {
    /// The transactions other than `txn` whose locks conflict with `wants`.
    pub fn conflicts(&self, txn: TxnId, wants: &[(Resource, Mode)]) -> BTreeSet<TxnId> {
        let mut found = BTreeSet::new();
        for (resource, mode) in wants {
            match (self.held.get(resource), mode) {
                (None, _) => {}
                (Some(Held::Exclusive(h)), _) => _ = (*h != txn).then(|| found.insert(*h)),
                (Some(Held::Shared(hs)), Mode::Exclusive) => found.extend(hs.iter().filter(|h| **h != txn)),
                (Some(Held::Shared(_)), Mode::Shared) => {}
            }
        }
        found
    }

    /// Wait-die's answer for `txn` asking for `wants`.
    pub fn admit(&self, txn: TxnId, wants: &[(Resource, Mode)]) -> Admission {
        let conflicts = self.conflicts(txn, wants);
        if conflicts.is_empty() {
            Admission::Grant
        } else if conflicts.iter().all(|holder| txn < *holder) {
            Admission::Wait
        } else {
            Admission::Die
        }
    }

    /// Gives `txn` its locks. Recovery re-grants the locks of prepared transactions this way
    /// without asking: they held them together before the crash.
    pub fn grant(&mut self, txn: TxnId, wants: &[(Resource, Mode)]) {
        for (resource, mode) in wants {
            let held = self.held.entry(*resource).or_insert_with(|| match mode {
                Mode::Shared => Held::Shared(BTreeSet::new()),
                Mode::Exclusive => Held::Exclusive(txn),
            });
            match (held, mode) {
                (Held::Shared(hs), Mode::Shared) => _ = hs.insert(txn),
                (held @ Held::Shared(_), Mode::Exclusive) => *held = Held::Exclusive(txn),
                (Held::Exclusive(_), _) => {}
            }
        }
    }

    /// Releases every lock of `txn`.
    pub fn release(&mut self, txn: TxnId) {
        self.held.retain(|_, held| match held {
            Held::Exclusive(h) => *h != txn,
            Held::Shared(hs) => {
                hs.remove(&txn);
                !hs.is_empty()
            }
        });
    }

    /// Whether `txn` holds any lock.
    pub fn holds_any(&self, txn: TxnId) -> bool {
        self.held.values().any(|h| match h {
            Held::Exclusive(x) => *x == txn,
            Held::Shared(hs) => hs.contains(&txn),
        })
    }

    /// Whether nothing is locked.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seq: u64) -> TxnId {
        TxnId { epoch: 1, seq }
    }

    #[test]
    fn readers_share_writers_exclude_and_the_younger_dies() {
        let mut locks = Locks::default();
        let read_all = wanted(&[ShardOp::ReadBalances], &[0, 3]);
        assert_eq!(
            read_all,
            vec![(Resource::Account(0), Mode::Shared), (Resource::Account(3), Mode::Shared)]
        );
        locks.grant(t(5), &read_all);
        assert_eq!(locks.admit(t(6), &read_all), Admission::Grant);
        let debit = wanted(&[ShardOp::Debit { account: 3, amount: 1 }, ShardOp::ReadBalances], &[0, 3]);
        assert_eq!(debit[1], (Resource::Account(3), Mode::Exclusive), "the strongest mode wins");
        assert_eq!(locks.admit(t(4), &debit), Admission::Wait, "older than the reader: waits");
        assert_eq!(locks.admit(t(9), &debit), Admission::Die, "younger than the reader: dies");
        locks.release(t(5));
        assert_eq!(locks.admit(t(9), &debit), Admission::Grant);
        locks.grant(t(9), &debit);
        assert!(locks.holds_any(t(9)) && !locks.holds_any(t(5)));
        locks.release(t(9));
        assert!(locks.is_empty());
    }
}
