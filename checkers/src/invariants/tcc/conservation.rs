//! Conservation of money in TCC, counting frozen funds and money in flight: at every moment,
//! the sum over all accounts of available plus frozen funds equals the bank's total plus what
//! confirmed branches moved in, minus what they moved out.
//!
//! Source: the invariant of Jepsen's bank workload (the total never changes), restated for a
//! protocol whose transfers take effect shard by shard. A Try on the source shard moves the
//! amount from available to frozen (the sum is unchanged); a Confirm there lets it leave (the
//! sum drops by it); the destination's Try only notes an incoming credit, and its Confirm adds
//! it (the sum rises again). Between the two Confirms the money is in flight: confirmed out of
//! one shard and not yet into the other. Each confirmed branch's net movement is known from its
//! Try, so the money in flight is the sum of those nets, and
//!
//! `sum(available + frozen) - sum over confirmed branches of (in - out) = total`
//!
//! holds after every step of every shard. A Confirm applied twice (a retried Confirm that is not
//! idempotent) moves money a second time while its branch is counted once, and breaks it.
//!
//! Method: keep each shard's latest accounts and the net of every branch tried, count each
//! confirmed branch once, and check the equation after each shard's step once every shard has
//! been seen.

use super::{Event, Observation, Txn};
use crate::invariants::Invariant;
use std::collections::{BTreeMap, BTreeSet};

pub struct Conservation {
    total: i64,
    shards: usize,
    /// Each shard's latest sum of available plus frozen funds.
    held: BTreeMap<u32, i64>,
    /// (shard, transaction) -> the branch's net movement (in - out), from its Try.
    nets: BTreeMap<(u32, Txn), i64>,
    confirmed: BTreeSet<(u32, Txn)>,
    /// The sum of the confirmed branches' nets.
    moved: i64,
}

impl Conservation {
    /// Conservation of `total` over `shards` shards.
    pub fn new(total: i64, shards: usize) -> Self {
        Conservation {
            total,
            shards,
            held: BTreeMap::new(),
            nets: BTreeMap::new(),
            confirmed: BTreeSet::new(),
            moved: 0,
        }
    }
}

impl Invariant<Observation> for Conservation {
    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        let Some(accounts) = &obs.accounts else { return Ok(()) };
        for (txn, event) in &obs.facts {
            let branch = (obs.node, *txn);
            match event {
                Event::Tried { moved_in, moved_out } => {
                    self.nets.insert(branch, moved_in - moved_out);
                }
                Event::Confirmed if self.confirmed.insert(branch) => {
                    self.moved += self.nets.get(&branch).copied().unwrap_or(0);
                }
                _ => {}
            }
        }
        self.held.insert(obs.node, accounts.iter().map(|a| a.available + a.frozen).sum());
        if self.held.len() < self.shards {
            return Ok(());
        }
        let held: i64 = self.held.values().sum();
        if held - self.moved != self.total {
            return Err(format!(
                "after a step of {}: accounts hold {held} (available plus frozen) and confirmed branches moved a net {} in flight, so the bank holds {} instead of {}",
                obs.label(),
                -self.moved,
                held - self.moved,
                self.total
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::*;
    use super::*;
    use crate::invariants::check_with;
    use crate::Verdict;

    fn tried(moved_in: i64, moved_out: i64) -> Event {
        Event::Tried { moved_in, moved_out }
    }

    #[test]
    fn money_in_flight_between_two_confirms_is_counted() {
        let t = (3, 1);
        let seq = [
            shard(0, 1, &[acct(0, 6, 4, 0)], &[(t, tried(0, 4))]),
            shard(1, 1, &[acct(1, 10, 0, 4)], &[(t, tried(4, 0))]),
            // Out of shard 0, not yet into shard 1: 16 held, 4 in flight.
            shard(0, 2, &[acct(0, 6, 0, 0)], &[(t, Event::Confirmed)]),
            // A duplicated Confirm that is idempotent changes nothing.
            shard(0, 3, &[acct(0, 6, 0, 0)], &[(t, Event::Confirmed)]),
            shard(1, 4, &[acct(1, 14, 0, 0)], &[(t, Event::Confirmed)]),
        ];
        assert_eq!(check_with(Conservation::new(20, 2), &seq), Verdict::Ok);
    }

    #[test]
    fn a_confirm_applied_twice_makes_money() {
        let t = (3, 1);
        let seq = [
            shard(0, 1, &[acct(0, 10, 0, 0)], &[]),
            shard(1, 1, &[acct(1, 10, 0, 3)], &[(t, tried(3, 0))]),
            shard(1, 2, &[acct(1, 13, 0, 0)], &[(t, Event::Confirmed)]),
            shard(1, 3_000_000_000, &[acct(1, 16, 0, -3)], &[(t, Event::Confirmed)]),
        ];
        let Verdict::Violation(why) = check_with(Conservation::new(20, 2), &seq) else { panic!("passed") };
        assert!(why.starts_with("after a step of n1 at 3.000 s: accounts hold 26"), "{why}");
        assert!(why.ends_with("so the bank holds 23 instead of 20"), "{why}");
    }
}
