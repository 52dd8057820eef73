//! The bank workload: what each client invokes next.
//!
//! Half the operations are transfers of 1 to [`MAX_TRANSFER`](super::MAX_TRANSFER) units between
//! two distinct random accounts, a fifth are reads of every balance (Jepsen's bank workload),
//! and the rest are list-append transactions of one to four micro-ops, each an append or a read
//! of a list key (Elle's workload), keys drawn uniformly or with one hot key as the options say.
//! One history thus feeds both checkers: the bank checker reads the transfers and reads, the
//! transactional checker the `txn`s.
//!
//! Appended values are unique in the run (the transactional checker requires it), numbered from
//! 1 in the order operations are drawn: the harness draws operations in a deterministic order,
//! so the numbering is part of the seed's run.

use super::{Bank, BankOp, MicroOp, MAX_TRANSFER};
use faultline_sim::options::KeyDistribution;
use faultline_sim::rng::Rng;
use faultline_sim::system::Op;
use faultline_sim::ClientId;
use rand::Rng as _;
use std::sync::atomic::{AtomicI64, Ordering};

/// Share of operations that are transfers.
pub const TRANSFER_SHARE: f64 = 0.5;
/// Share of operations that are reads of every balance.
pub const READ_SHARE: f64 = 0.2;
/// Most micro-ops in one list-append transaction.
pub const MICRO_OPS_MAX: usize = 4;

/// Draws bank operations.
#[derive(Debug)]
pub struct BankWorkload {
    bank: Bank,
    distribution: KeyDistribution,
    /// The next value to append.
    next_value: AtomicI64,
}

impl BankWorkload {
    /// The workload over `bank`, keys drawn by `distribution`.
    pub fn new(bank: Bank, distribution: KeyDistribution) -> Self {
        BankWorkload { bank, distribution, next_value: AtomicI64::new(1) }
    }

    /// The bank the operations are about.
    pub fn bank(&self) -> &Bank {
        &self.bank
    }

    /// The next operation of a client.
    pub fn next(&self, rng: &mut Rng) -> BankOp {
        let p: f64 = rng.gen();
        if p < TRANSFER_SHARE {
            let from = rng.gen_range(0..self.bank.accounts);
            let to = (from + rng.gen_range(1..self.bank.accounts.max(2))) % self.bank.accounts;
            BankOp::Transfer { from, to, amount: rng.gen_range(1..=MAX_TRANSFER) }
        } else if p < TRANSFER_SHARE + READ_SHARE {
            BankOp::Read
        } else {
            let n = rng.gen_range(1..=MICRO_OPS_MAX);
            BankOp::Txn((0..n).map(|_| self.micro_op(rng)).collect())
        }
    }

    /// The next operation of `client`, as the harness drives it: the protocol's request built
    /// from the operation, recorded with its invocation.
    pub fn op<Req: From<BankOp>>(&self, _client: ClientId, rng: &mut Rng) -> Op<Req> {
        let op = self.next(rng);
        let (f, value) = op.invocation();
        Op::new(Req::from(op), f, value)
    }

    fn micro_op(&self, rng: &mut Rng) -> MicroOp {
        let key = match self.distribution {
            KeyDistribution::HotKey if rng.gen_bool(crate::workload::HOT_KEY_SHARE) => 0,
            _ => rng.gen_range(0..self.bank.keys),
        };
        if rng.gen_bool(0.5) {
            MicroOp::Append { key, value: self.next_value.fetch_add(1, Ordering::Relaxed) }
        } else {
            MicroOp::Read { key }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::options::WorkloadOptions;
    use faultline_sim::rng;
    use std::collections::BTreeSet;

    #[test]
    fn the_mix_has_every_kind_distinct_accounts_and_unique_appends() {
        let w = BankWorkload::new(Bank::new(3, &WorkloadOptions::default()), KeyDistribution::Uniform);
        let mut r = rng::derive(5, "test", 0);
        let (mut transfers, mut reads, mut txns) = (0, 0, 0);
        let mut appended = BTreeSet::new();
        for _ in 0..1000 {
            match w.next(&mut r) {
                BankOp::Transfer { from, to, amount } => {
                    assert!(from != to && from < 8 && to < 8 && (1..=MAX_TRANSFER).contains(&amount));
                    transfers += 1;
                }
                BankOp::Read => reads += 1,
                BankOp::Txn(ops) => {
                    assert!((1..=MICRO_OPS_MAX).contains(&ops.len()));
                    for m in ops {
                        if let MicroOp::Append { value, .. } = m {
                            assert!(appended.insert(value), "value {value} appended twice");
                        }
                    }
                    txns += 1;
                }
            }
        }
        assert!(transfers > 400 && reads > 120 && txns > 220, "{transfers} {reads} {txns}");
    }
}
