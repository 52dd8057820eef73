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
//! least as high as any it can have made ("Paxos Made Live", section 5.1); so the check skips
//! such observations and holds the acceptor to everything it promised once it votes again.
//!
//! Method: per acceptor, the highest promise it is known to have made: one a proposer received
//! (an acknowledgement in another node's observation: a promise or an acceptance at that
//! ballot), or one it showed in a step that was followed by a further step of the same
//! incarnation (a step whose power went out shows state that never became durable, and is
//! always the last of its incarnation). Every later promise it shows must be at least that,
//! and within an incarnation at least its previous one. An acknowledgement is also checked
//! against the acceptor's latest observation when it arrives, since the acceptor may have
//! restarted, with a lower promise, before its answer was delivered.

use super::{ballot_text, PaxosObservation};
use crate::invariants::Invariant;
use std::collections::BTreeMap;

#[derive(Default)]
struct Acceptor {
    /// The promise of its latest observation, when that incarnation had taken a step.
    last: Option<u64>,
    /// The highest promise it is known to have made, and how that is known.
    known: Option<(u64, String)>,
}

impl Acceptor {
    fn know(&mut self, ballot: u64, how: impl FnOnce() -> String) {
        if self.known.as_ref().is_none_or(|(k, _)| ballot > *k) {
            self.known = Some((ballot, how()));
        }
    }

    fn below_known(&self, promise: u64) -> Option<String> {
        let (known, how) = self.known.as_ref().filter(|(k, _)| promise < *k)?;
        Some(format!("{} ({how})", ballot_text(*known)))
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
            a.know(previous, || format!("promised by n{} in a completed step", obs.node));
            if obs.promise.is_some_and(|p| p < previous) {
                return Err(format!("{} went back from promise {}", obs.label(), ballot_text(previous)));
            }
        }
        if let Some(p) = obs.promise {
            if let Some(known) = a.below_known(p) {
                return Err(format!("{} shows promise {}, below {known}", obs.label(), ballot_text(p)));
            }
        }
        a.last = obs.promise;
        Ok(())
    }

    fn observe_acks(&mut self, obs: &PaxosObservation) -> Result<(), String> {
        for &(acceptor, ballot) in &obs.acks {
            let a = self.acceptors.entry(acceptor).or_default();
            a.know(ballot, || format!("n{acceptor}'s answer, received by {}", obs.label()));
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
        for seq in [
            [first.clone(), answered.clone(), restarted.clone()],
            [first, restarted, answered],
        ] {
            let v = check_with(PromiseMonotonic::default(), &seq);
            let Verdict::Violation(why) = v else { panic!("expected a violation, got {v}") };
            assert!(why.contains("3.0") && why.contains("n1"), "{why}");
        }
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
