//! The committed state of one shard: the balances of its accounts and its lists.
//!
//! A protocol keeps its own pending state (locks and prepared writes, frozen funds) beside it and
//! applies an op here only once it is committed (two-phase commit) or confirmed (TCC).

use super::{Bank, ShardOp, ShardResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Balances and lists of one shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardData {
    balances: BTreeMap<u32, i64>,
    lists: BTreeMap<u32, Vec<i64>>,
}

impl ShardData {
    /// Shard `shard` of `bank` at the start: its accounts at their initial balance, no lists.
    pub fn new(bank: &Bank, shard: u32) -> Self {
        let balances = bank.accounts_of(shard).map(|a| (a, bank.initial_balance)).collect();
        ShardData { balances, lists: BTreeMap::new() }
    }

    /// The balance of `account` (0 for an account this shard does not hold).
    pub fn balance(&self, account: u32) -> i64 {
        self.balances.get(&account).copied().unwrap_or(0)
    }

    /// `(account, balance)` for every account, in order.
    pub fn balances(&self) -> Vec<(u32, i64)> {
        self.balances.iter().map(|(a, b)| (*a, *b)).collect()
    }

    /// The sum of the shard's balances.
    pub fn total(&self) -> i64 {
        self.balances.values().sum()
    }

    /// Whether this shard holds `account`.
    pub fn holds(&self, account: u32) -> bool {
        self.balances.contains_key(&account)
    }

    /// The list at `key` (empty when never appended to).
    pub fn list(&self, key: u32) -> &[i64] {
        self.lists.get(&key).map_or(&[], Vec::as_slice)
    }

    /// What a read op returns now, reading lists as `pending` appends (the reading
    /// transaction's own, earlier in its order) would leave them; `None` for an op that is not
    /// a read.
    pub fn read(&self, op: &ShardOp, pending: &[(u32, i64)]) -> Option<ShardResult> {
        match op {
            ShardOp::ReadBalances => Some(ShardResult::Balances(self.balances())),
            ShardOp::ReadList { key } => {
                let mut list = self.list(*key).to_vec();
                list.extend(pending.iter().filter(|(k, _)| k == key).map(|(_, v)| *v));
                Some(ShardResult::List(list))
            }
            _ => None,
        }
    }

    /// Applies a committed op: debits, credits and appends change the state, reads nothing.
    pub fn apply(&mut self, op: &ShardOp) {
        match op {
            ShardOp::Debit { account, amount } => *self.balances.entry(*account).or_default() -= amount,
            ShardOp::Credit { account, amount } => *self.balances.entry(*account).or_default() += amount,
            ShardOp::Append { key, value } => self.lists.entry(*key).or_default().push(*value),
            ShardOp::ReadBalances | ShardOp::ReadList { .. } => {}
        }
    }

    /// Executes `ops` as one transaction would see them: each read sees the committed state
    /// plus the transaction's own earlier appends; debits and credits are not applied (they
    /// commit later). Returns the reads' results in order, or the first debit the committed
    /// balance cannot cover.
    pub fn execute(&self, ops: &[ShardOp]) -> Result<Vec<ShardResult>, Refusal> {
        let mut pending = Vec::new();
        let mut results = Vec::new();
        for op in ops {
            match op {
                ShardOp::Debit { account, amount } if self.balance(*account) < *amount => {
                    return Err(Refusal::InsufficientFunds { account: *account });
                }
                ShardOp::Append { key, value } => pending.push((*key, *value)),
                _ => results.extend(self.read(op, &pending)),
            }
        }
        Ok(results)
    }
}

/// Why a shard refused an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Refusal {
    /// A debit of more than the account holds.
    InsufficientFunds {
        /// The account.
        account: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::options::WorkloadOptions;

    #[test]
    fn a_transaction_sees_its_own_appends_and_is_refused_an_overdraft() {
        let bank = Bank::new(2, &WorkloadOptions::default());
        let mut d = ShardData::new(&bank, 1);
        assert_eq!(d.total(), 40);
        d.apply(&ShardOp::Append { key: 3, value: 1 });
        let ops = [
            ShardOp::Append { key: 3, value: 2 },
            ShardOp::ReadList { key: 3 },
            ShardOp::ReadList { key: 5 },
        ];
        assert_eq!(d.execute(&ops), Ok(vec![ShardResult::List(vec![1, 2]), ShardResult::List(vec![])]));
        assert_eq!(d.list(3), &[1], "executing applies nothing");
        let overdraft = [ShardOp::Debit { account: 3, amount: 11 }];
        assert_eq!(d.execute(&overdraft), Err(Refusal::InsufficientFunds { account: 3 }));
        d.apply(&ShardOp::Debit { account: 3, amount: 4 });
        d.apply(&ShardOp::Credit { account: 1, amount: 4 });
        assert_eq!((d.balance(3), d.balance(1), d.total()), (6, 14, 40));
    }
}
