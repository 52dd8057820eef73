//! Integrity (Zab, DSN 2011, section III, and `Integrity` in `Zab.tla`): if some process
//! delivers a transaction, then some primary has broadcast it.
//!
//! Method: remember every transaction (zxid and digest) a primary was observed proposing; any
//! delivery of a transaction that is not among them is a violation. Proposals are observed in
//! the step that makes them, before any message carries them, so a delivery can never be seen
//! before its proposal.

use super::{ObservedTxn, ZabObservation, Zxid};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Integrity {
    /// zxid -> digest of every proposal seen.
    broadcast: BTreeMap<Zxid, u64>,
}

impl Invariant<ZabObservation> for Integrity {
    fn check(&mut self, obs: &ZabObservation) -> Result<(), String> {
        for t in &obs.proposed {
            self.broadcast.entry(t.zxid).or_insert(t.digest);
        }
        match obs.delivered.iter().find(|t| self.broadcast.get(&t.zxid) != Some(&t.digest)) {
            None => Ok(()),
            Some(ObservedTxn { zxid, digest, .. }) => Err(match self.broadcast.get(zxid) {
                Some(d) => format!(
                    "{} delivered {zxid} ({digest:016x}), but the primary broadcast {zxid} as {d:016x}",
                    obs.label()
                ),
                None => format!("{} delivered {zxid}, which no primary broadcast", obs.label()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::*;
    use super::*;
    use crate::invariants::check_with;
    use crate::invariants::log::Role::*;
    use crate::Verdict;

    #[test]
    fn broadcast_transactions_may_be_delivered() {
        let zero = Zxid::default();
        let seq = [primary(0, 1, 1, zero, &[txn(1, 1, 1)]), obs(1, 2, Follower, zero, &[txn(1, 1, 1)])];
        assert_eq!(check_with(Integrity::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_transaction_no_primary_broadcast_fails() {
        let zero = Zxid::default();
        let changed = ObservedTxn { digest: 77, ..txn(1, 1, 1) };
        let seq = [primary(0, 1, 1, zero, &[txn(1, 1, 1)]), obs(1, 2, Follower, zero, &[changed])];
        let v = check_with(Integrity::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("broadcast 1:1 as")), "{v}");
        let seq = [obs(1, 2, Follower, zero, &[txn(1, 2, 1)])];
        assert!(check_with(Integrity::default(), &seq).is_violation());
    }
}
