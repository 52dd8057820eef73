//! Global primary order (Zab, DSN 2011, section III, and `GlobalPrimaryOrder` in `Zab.tla`): if
//! a process delivers a, proposed in epoch e, and b, proposed in a later epoch e', then it
//! delivers a before b.
//!
//! Method: a process's deliveries, each compared with the one before it (or with the
//! snapshot's transaction it started from), must go up in zxid order: epochs never go back, and
//! within an epoch the counter rises. A delivery at or below the previous one is a violation.

use super::ZabObservation;
use crate::invariants::Invariant;

#[derive(Default)]
pub struct GlobalPrimaryOrder;

impl Invariant<ZabObservation> for GlobalPrimaryOrder {
    fn check(&mut self, obs: &ZabObservation) -> Result<(), String> {
        match obs.deliveries().find(|(before, t)| t.zxid <= *before) {
            None => Ok(()),
            Some((before, t)) => {
                Err(format!("{} delivered {} after {before}: zxids must go up", obs.label(), t.zxid))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::*;
    use super::super::Zxid;
    use super::*;
    use crate::invariants::check_with;
    use crate::invariants::log::Role::*;
    use crate::Verdict;

    #[test]
    fn rising_zxids_pass_and_an_earlier_epoch_after_a_later_one_fails() {
        let zero = Zxid::default();
        let ok = [obs(0, 1, Follower, zero, &[txn(1, 1, 1), txn(2, 1, 2), txn(3, 3, 1)])];
        assert_eq!(check_with(GlobalPrimaryOrder, &ok), Verdict::Ok);
        let bad = [obs(0, 1, Follower, Zxid::new(2, 4), &[txn(5, 1, 7)])];
        let v = check_with(GlobalPrimaryOrder, &bad);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("delivered 1:7 after 2:4")), "{v}");
    }
}
