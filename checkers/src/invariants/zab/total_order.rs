//! Total order (Zab, DSN 2011, section III, and `TotalOrder` in `Zab.tla`): if some process
//! delivers a before b, then any process that delivers b must also deliver a, and deliver a
//! before b.
//!
//! Method: processes deliver one transaction after another, so "a before b everywhere" holds
//! for every pair exactly when every process delivers each transaction right after the same
//! predecessor (by induction along the sequence). The checker keeps the predecessor each
//! transaction was first delivered after, and flags a delivery after another one: a process
//! that skipped a transaction, or delivered two in the other order. A process that starts again
//! from a snapshot continues from the snapshot's transaction.

use super::{ZabObservation, Zxid};
use crate::invariants::log::Witness;
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct TotalOrder {
    /// zxid -> (the transaction it was first delivered after, by whom).
    previous: BTreeMap<Zxid, (Zxid, Witness)>,
}

impl Invariant<ZabObservation> for TotalOrder {
    fn check(&mut self, obs: &ZabObservation) -> Result<(), String> {
        for (before, t) in obs.deliveries() {
            let (first, by) = self.previous.entry(t.zxid).or_insert_with(|| (before, obs.log.witness()));
            if *first != before {
                return Err(format!(
                    "{} delivered {} after {before}, but {by} delivered it after {first}",
                    obs.label(),
                    t.zxid
                ));
            }
        }
        Ok(())
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
    fn one_order_everywhere_passes() {
        let zero = Zxid::default();
        let (a, b, c) = (txn(1, 1, 1), txn(2, 1, 2), txn(3, 2, 1));
        let seq = [
            obs(0, 1, Follower, zero, &[a, b, c]),
            obs(1, 2, Follower, zero, &[a, b]),
            obs(1, 3, Follower, b.zxid, &[c]),
        ];
        assert_eq!(check_with(TotalOrder::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_skipped_transaction_fails() {
        let zero = Zxid::default();
        let (a, b, c) = (txn(1, 1, 1), txn(2, 1, 2), txn(3, 2, 1));
        let seq = [obs(0, 1, Follower, zero, &[a, b, c]), obs(1, 2, Follower, zero, &[a, c])];
        let v = check_with(TotalOrder::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("delivered 2:1 after 1:1")), "{v}");
    }
}
