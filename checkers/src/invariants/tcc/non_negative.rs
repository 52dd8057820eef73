//! No negative balance in TCC: at every moment every account's available funds, frozen funds
//! and noted incoming credits are at least zero.
//!
//! Source: Jepsen's bank workload (no balance is ever negative: a transfer that would overdraw
//! is refused), restated for TCC's reservations: a Try freezes only what is available, a Confirm
//! or Cancel releases only what its Try froze, and a credit arrives only once. A Confirm applied
//! twice releases frozen funds twice, and a Cancel applied to a branch whose Try never froze
//! anything releases funds it never held: both drive a balance below zero.
//!
//! Method: check each account of each shard observation.

use super::Observation;
use crate::invariants::Invariant;

pub struct NonNegative;

impl Invariant<Observation> for NonNegative {
    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        for a in obs.accounts.iter().flatten() {
            if a.available < 0 || a.frozen < 0 || a.incoming < 0 {
                return Err(format!(
                    "account {} on {}: available {}, frozen {}, incoming {}",
                    a.account,
                    obs.label(),
                    a.available,
                    a.frozen,
                    a.incoming
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
    use crate::Verdict;

    #[test]
    fn frozen_funds_below_zero_fail() {
        let seq = [shard(0, 1, &[acct(0, 6, 4, 0)], &[]), shard(0, 2, &[acct(0, 6, -4, 0)], &[])];
        let Verdict::Violation(why) = check_with(NonNegative, &seq) else { panic!("passed") };
        assert_eq!(why, "account 0 on n0 at 0.000 s: available 6, frozen -4, incoming 0");
        assert_eq!(check_with(NonNegative, &seq[..1]), Verdict::Ok);
    }
}
