//! Local primary order (Zab, DSN 2011, section III, and `LocalPrimaryOrder` in `Zab.tla`): if
//! a primary broadcasts a before it broadcasts b, then a process that delivers b must also
//! deliver a before b.
//!
//! Method: remember, for each proposal, the proposal its primary broadcast just before it in
//! the same epoch. When a process delivers b, the transaction it delivered last (or its
//! snapshot's) must be at least that predecessor in zxid order: a process that delivers in
//! zxid order and has passed a has delivered it (skipping is the total-order checker's
//! business). A primary's proposals of one epoch come from that primary alone, since one
//! epoch has one established leader.

use super::{ZabObservation, Zxid};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct LocalPrimaryOrder {
    /// zxid -> the zxid its primary proposed just before it in its epoch, if any.
    before: BTreeMap<Zxid, Option<Zxid>>,
    /// epoch -> the last zxid proposed in it.
    last: BTreeMap<u64, Zxid>,
}

impl Invariant<ZabObservation> for LocalPrimaryOrder {
    fn check(&mut self, obs: &ZabObservation) -> Result<(), String> {
        for t in &obs.proposed {
            let previous = self.last.insert(t.zxid.epoch, t.zxid);
            self.before.entry(t.zxid).or_insert(previous);
        }
        for (last, t) in obs.deliveries() {
            if let Some(Some(a)) = self.before.get(&t.zxid) {
                if last < *a {
                    return Err(format!(
                        "{} delivered {} having delivered only through {last}, but its primary broadcast {a} before it",
                        obs.label(),
                        t.zxid
                    ));
                }
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
    fn deliveries_in_broadcast_order_pass() {
        let zero = Zxid::default();
        let (a, b) = (txn(1, 1, 1), txn(2, 1, 2));
        let seq = [primary(0, 1, 1, zero, &[a, b]), obs(1, 2, Follower, zero, &[a, b])];
        assert_eq!(check_with(LocalPrimaryOrder::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn delivering_b_without_a_fails() {
        let zero = Zxid::default();
        let (a, b) = (txn(1, 1, 1), txn(2, 1, 2));
        let seq = [primary(0, 1, 1, zero, &[a, b]), obs(1, 2, Follower, zero, &[b])];
        let v = check_with(LocalPrimaryOrder::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("broadcast 1:1 before it")), "{v}");
    }
}
