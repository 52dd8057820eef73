//! Primary integrity (Zab, DSN 2011, section III, and `PrimaryIntegrity` in `Zab.tla`): if a
//! primary of epoch e broadcasts a, and some process delivers b of an epoch before e, then the
//! primary delivered b before it broadcast a.
//!
//! Method: a primary is observed with the last transaction it had delivered when it began
//! broadcasting in epoch e (`Primary::delivered_through`). Every transaction of an epoch before
//! e that anyone delivers, before or after that moment, must be at or below it in zxid order:
//! the primary delivers in zxid order, so it delivered every such transaction (which one sits
//! at each point is the prefix-consistency checker's business). The checker keeps the highest
//! zxid delivered in each epoch and each primary's mark.

use super::{ZabObservation, Zxid};
use crate::invariants::log::Witness;
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct PrimaryIntegrity {
    /// epoch -> the primary's mark when it began broadcasting, and who it was.
    marks: BTreeMap<u64, (Zxid, Witness)>,
    /// epoch -> the highest zxid of that epoch anyone delivered, and who.
    delivered: BTreeMap<u64, (Zxid, Witness)>,
}

impl PrimaryIntegrity {
    /// The first mark of a primary of an epoch after `zxid`'s that `zxid` lies beyond.
    fn missed_by(&self, zxid: Zxid) -> Option<(u64, Zxid, Witness)> {
        let later = self.marks.range(zxid.epoch + 1..);
        later.filter(|(_, (mark, _))| zxid > *mark).map(|(e, (mark, by))| (*e, *mark, *by)).next()
    }
}

impl Invariant<ZabObservation> for PrimaryIntegrity {
    fn check(&mut self, obs: &ZabObservation) -> Result<(), String> {
        if let Some(p) = obs.primary.filter(|p| !self.marks.contains_key(&p.epoch)) {
            self.marks.insert(p.epoch, (p.delivered_through, obs.log.witness()));
            let past = self.delivered.range(..p.epoch).map(|(_, seen)| seen);
            if let Some((z, by)) = past.into_iter().find(|(z, _)| *z > p.delivered_through) {
                return Err(format!(
                    "{} began broadcasting in epoch {} having delivered through {}, but {by} had delivered {z}",
                    obs.label(),
                    p.epoch,
                    p.delivered_through
                ));
            }
        }
        for t in &obs.delivered {
            let entry = self.delivered.entry(t.zxid.epoch).or_insert((t.zxid, obs.log.witness()));
            if t.zxid > entry.0 {
                *entry = (t.zxid, obs.log.witness());
            }
            if let Some((epoch, mark, by)) = self.missed_by(t.zxid) {
                return Err(format!(
                    "{} delivered {}, but the primary of epoch {epoch} ({by}) began broadcasting having delivered only through {mark}",
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
    fn a_primary_that_delivered_the_past_first_passes() {
        let zero = Zxid::default();
        let (a, b) = (txn(1, 1, 1), txn(2, 1, 2));
        let seq = [
            obs(0, 1, Follower, zero, &[a, b]),
            primary(1, 2, 2, b.zxid, &[txn(3, 2, 1)]),
            obs(2, 3, Follower, zero, &[a, b]),
        ];
        assert_eq!(check_with(PrimaryIntegrity::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn an_earlier_epoch_delivered_past_the_primarys_mark_fails_either_way_round() {
        let zero = Zxid::default();
        let (a, b) = (txn(1, 1, 1), txn(2, 1, 2));
        let seen_first = [obs(0, 1, Follower, zero, &[a, b]), primary(1, 2, 2, a.zxid, &[])];
        let v = check_with(PrimaryIntegrity::default(), &seen_first);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("had delivered 1:2")), "{v}");
        let seen_after = [primary(1, 2, 2, a.zxid, &[]), obs(0, 3, Follower, zero, &[a, b])];
        let v = check_with(PrimaryIntegrity::default(), &seen_after);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("only through 1:1")), "{v}");
    }
}
