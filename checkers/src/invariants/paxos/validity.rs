//! Validity ("Paxos Made Simple", section 2.1: "Only a value that has been proposed may be
//! chosen"): every value learned chosen is a client's value some node received, or a no-op a
//! leader used to fill a gap in the log.
//!
//! Method: collect the digests of the client values nodes report receiving, and check every
//! learned value that is not a no-op against them. A node receives a value before anyone can
//! propose it, so the observations arrive in an order that lets the check be incremental.

use super::PaxosObservation;
use crate::invariants::Invariant;
use std::collections::BTreeSet;

#[derive(Default)]
pub struct Validity {
    requested: BTreeSet<u64>,
}

impl Invariant<PaxosObservation> for Validity {
    fn check(&mut self, obs: &PaxosObservation) -> Result<(), String> {
        self.requested.extend(obs.requested.iter().copied());
        match obs.learned.iter().find(|l| !l.noop && !self.requested.contains(&l.digest)) {
            Some(l) => Err(format!(
                "slot {}: {} learned {:016x} chosen, a value no client proposed",
                l.slot,
                obs.label(),
                l.digest
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::*;
    use super::super::{Learned, PaxosObservation};
    use super::*;
    use crate::invariants::check_with;
    use crate::Verdict;

    #[test]
    fn proposed_values_and_noops_pass() {
        let noop = Learned { slot: 2, digest: 7, ballot: None, noop: true };
        let seq = [
            PaxosObservation { requested: vec![10], ..obs(0, 1) },
            learned(1, 2, 1, 10, None),
            PaxosObservation { learned: vec![noop], ..obs(1, 3) },
        ];
        assert_eq!(check_with(Validity::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_value_nobody_proposed_fails() {
        let seq = [PaxosObservation { requested: vec![10], ..obs(0, 1) }, learned(1, 2, 1, 11, None)];
        let v = check_with(Validity::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.starts_with("slot 1")), "{v}");
    }
}
