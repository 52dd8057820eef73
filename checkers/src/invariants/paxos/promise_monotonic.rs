//! Promise monotonicity ("Paxos Made Simple", section 2.3: an acceptor "must remember ... the
//! number of the highest-numbered prepare request to which it has responded ... even if it
//! fails and is then restarted"; section 2.2, P1a: it accepts a proposal only if it has not
//! responded to a prepare request with a higher number): an acceptor's promise never goes
//! backwards, across restarts too. A promise forgotten in a crash lets the acceptor accept a
//! lower ballot it promised to refuse, and a new leader then builds on a report it no longer
//! stands by.
//!
//! An acceptor that lost its disk forgets its promise however carefully it wrote it. It keeps
//! the rule by taking no part in quorums (`promise: None`) until it has learned a promise at
//! least as high as any a proposer can have received from it ("Paxos Made Live", section 5.1);
//! so the check skips such observations and, once it votes again, holds it to every promise a
//! proposer received from it. (The ballots it promised only itself, as a proposer whose phase 1
//! died with its disk, nobody relies on: they are forgotten with the disk.)
//!
//! Method: per acceptor, the highest promise it is known to have made: one a proposer received
//! (an acknowledgement in another node's observation: a promise or an acceptance at that
//! ballot), or one it showed in a step that was followed by a further step of the same
//! incarnation (a step whose power went out shows state that never became durable, and is
//! always the last of its incarnation). Every later promise it shows must be at least that,
//! and within an incarnation at least its previous one. An acknowledgement is also checked
//! against the acceptor's latest observation when it arrives, since the acceptor may have
//! restarted, with a lower promise, before its answer was delivered.

use super::{ballot_text, PaxosObservation, Witness};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
struct Acceptor {
    /// The promise of its latest observation, when that incarnation had taken a step.
    last: Option<u64>,
    /// The highest promise it showed in a step a further step confirmed, and where.
    shown: Option<(u64, Witness)>,
    /// The highest promise a proposer received from it, and who received it.
    received: Option<(u64, Witness)>,
}

fn raise(known: &mut Option<(u64, Witness)>, ballot: u64, at: Witness) {
    if known.is_none_or(|(k, _)| ballot > k) {
        *known = Some((ballot, at));
    }
}

impl Acceptor {
    fn below_known(&self, node: u32, promise: u64) -> Option<String> {
        let shown = self
            .shown
            .filter(|(k, _)| promise < *k)
            .map(|(k, at)| (k, format!("promised by n{node} in a completed step, {at}")));
        let received = (self.received)
            .filter(|(k, _)| promise < *k)
            .map(|(k, at)| (k, format!("n{node}'s answer, received by {at}")));
        let (known, how) = [shown, received].into_iter().flatten().max_by_key(|(k, _)| *k)?;
        Some(format!("{} ({how})", ballot_text(known)))
    }
}

#[derive(Default)]
pub struct PromiseMonotonic {
    acceptors: BTreeMap<u32, Acceptor>,
}

impl PromiseMonotonic {
    fn observe_own(&mut self, obs: &PaxosObservation) -> Result<(), String> {
        let a = self.acceptors.entry(obs.node).or_default();
        if obs.started {
            a.last = None;
        } else if let Some(previous) = a.last {
            // The previous step was followed by this one: it was not cut, its promise is durable.
            raise(&mut a.shown, previous, obs.witness());
            if obs.promise.is_some_and(|p| p < previous) {
                return Err(format!("{} went back from promise {}", obs.label(), ballot_text(previous)));
            }
        }
        if obs.promise.is_none() {
            // Rebuilding a lost disk: what it showed itself is gone; what others received stays.
            a.shown = None;
        }
        if let Some(p) = obs.promise {
            if let Some(known) = a.below_known(obs.node, p) {
                return Err(format!("{} shows promise {}, below {known}", obs.label(), ballot_text(p)));
            }
        }
        a.last = obs.promise;
        Ok(())
    }

    fn observe_acks(&mut self, obs: &PaxosObservation) -> Result<(), String> {
        for &(acceptor, ballot) in &obs.acks {
            let a = self.acceptors.entry(acceptor).or_default();
            raise(&mut a.received, ballot, obs.witness());
            if let Some(last) = a.last.filter(|l| *l < ballot) {
                return Err(format!(
                    "n{acceptor} answered at ballot {} (received by {}) but now shows promise {}",
                    ballot_text(ballot),
                    obs.label(),
                    ballot_text(last)
                ));
            }
        }
        Ok(())
    }
}

impl Invariant<PaxosObservation> for PromiseMonotonic {
    fn check(&mut self, obs: &PaxosObservation) -> Result<(), String> {
        self.observe_own(obs)?;
        self.observe_acks(obs)
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::*;
    use super::super::PaxosObservation;
    use super::*;
    use crate::invariants::check_with;
    use crate::Verdict;

    fn promise(node: u32, time: u64, p: Option<u64>, started: bool) -> PaxosObservation {
        PaxosObservation { promise: p, started, ..obs(node, time) }
    }

    fn acks(node: u32, time: u64, acks: &[(u32, u64)]) -> PaxosObservation {
        PaxosObservation { acks: acks.to_vec(), ..obs(node, time) }
    }

    #[test]
    fn promises_that_only_grow_pass_and_a_rebuilding_acceptor_is_not_held_to_them() {
        let seq = [
            promise(1, 1, Some(b(1, 0)), true),
            promise(1, 2, Some(b(2, 0)), false),
            acks(0, 3, &[(1, b(2, 0))]),
            promise(1, 4, Some(b(2, 0)), true), // restarted with its promise
            promise(1, 5, None, true),          // lost its disk: takes no part
            promise(1, 6, Some(b(5, 2)), false), // votes again above everything it promised
        ];
        assert_eq!(check_with(PromiseMonotonic::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_promise_lost_in_a_cut_step_is_not_held_against_the_acceptor() {
        // The step showing 3.0 was the last of its incarnation and nobody received an answer.
        let seq = [
            promise(1, 1, Some(b(1, 0)), true),
            promise(1, 2, Some(b(1, 0)), false),
            promise(1, 3, Some(b(3, 0)), false),
            promise(1, 4, Some(b(1, 0)), true),
        ];
        assert_eq!(check_with(PromiseMonotonic::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn a_restart_below_an_answered_promise_fails_whichever_comes_first() {
        let answered = acks(0, 3, &[(1, b(3, 0))]);
        let restarted = promise(1, 4, Some(b(1, 0)), true);
        let first = promise(1, 1, Some(b(1, 0)), true);
        for seq in [[first.clone(), answered.clone(), restarted.clone()], [first, restarted, answered]] {
            let v = check_with(PromiseMonotonic::default(), &seq);
            let Verdict::Violation(why) = v else { panic!("expected a violation, got {v}") };
            assert!(why.contains("3.0") && why.contains("n1"), "{why}");
        }
    }

    #[test]
    fn a_rebuilt_acceptor_is_held_to_what_proposers_received_not_to_its_own_ballots() {
        let seq = [
            promise(2, 1, Some(b(4, 1)), true),
            acks(1, 2, &[(2, b(4, 1))]),
            promise(2, 3, Some(b(6, 2)), false), // its own candidacy, received by nobody
            promise(2, 4, Some(b(6, 2)), false),
            promise(2, 5, None, true), // lost its disk
            promise(2, 6, Some(b(5, 0)), false),
        ];
        assert_eq!(check_with(PromiseMonotonic::default(), &seq), Verdict::Ok);
        let mut below = seq.to_vec();
        below[5] = promise(2, 6, Some(b(3, 0)), false);
        let v = check_with(PromiseMonotonic::default(), &below);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("below 4.1")), "{v}");
    }

    #[test]
    fn a_restart_below_a_confirmed_promise_fails() {
        let seq = [
            promise(2, 1, Some(b(4, 1)), true),
            promise(2, 2, Some(b(4, 1)), false), // confirms 4.1
            promise(2, 3, Some(b(2, 0)), true),
        ];
        let v = check_with(PromiseMonotonic::default(), &seq);
        assert!(matches!(&v, Verdict::Violation(w) if w.contains("below 4.1")), "{v}");
    }
}
