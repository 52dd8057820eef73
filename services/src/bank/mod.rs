//! The sharded bank: accounts and list keys spread over shards, the operations clients invoke
//! on them, and the workload that draws those operations.
//!
//! Two transaction protocols (two-phase commit and TCC) serve the same bank so that their
//! histories can be compared on identical seeds. What the bank is (how many accounts, their
//! initial balances, which shard holds which account or key), what each client operation does on
//! each shard, and how operations are written into the checked history is the same for both, so
//! it lives here; how a protocol makes an operation atomic (or not) is its own.
//!
//! The operations follow Jepsen's bank workload: transfers of a few units between two accounts
//! (refused when the source would go negative) and reads of every balance, whose sum must always
//! be the total. Beside them, list-append transactions over a few keys (Elle's workload) give
//! the transactional checker histories whose dependency cycles it can find.
//!
//! Modules:
//! - [`ops`]: client operations ([`BankOp`]), what they do on each shard ([`ShardOp`]), their
//!   results, and their history encoding.
//! - [`data`]: the committed state of one shard ([`ShardData`]).
//! - [`workload`]: the mix of transfers, reads and list-append transactions clients invoke.

pub mod data;
pub mod ops;
pub mod workload;

pub use data::ShardData;
pub use ops::{BankOp, MicroOp, ShardOp, ShardResult};
pub use workload::BankWorkload;

use faultline_sim::options::WorkloadOptions;
use serde::{Deserialize, Serialize};

/// Accounts of the bank: Jepsen's bank workload uses eight.
pub const ACCOUNTS: u32 = 8;
/// Every account's balance at the start.
pub const INITIAL_BALANCE: i64 = 10;
/// The largest transfer the workload draws.
pub const MAX_TRANSFER: i64 = 5;

/// The shape of the bank: its accounts, its list keys, and the shards they are spread over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bank {
    /// Accounts `0..accounts`.
    pub accounts: u32,
    /// Each account's balance at the start.
    pub initial_balance: i64,
    /// List keys `0..keys` of the list-append transactions.
    pub keys: u32,
    /// Shards `0..shards`; account `a` lives on shard `a % shards`, key `k` on `k % shards`.
    pub shards: u32,
}

impl Bank {
    /// The bank of [`ACCOUNTS`] accounts over `shards` shards, with the options' key count for
    /// the list-append transactions.
    pub fn new(shards: u32, options: &WorkloadOptions) -> Self {
        Bank {
            accounts: ACCOUNTS,
            initial_balance: INITIAL_BALANCE,
            keys: options.keys.max(1),
            shards: shards.max(1),
        }
    }

    /// The money in the bank: constant, whatever transfers do.
    pub fn total(&self) -> i64 {
        i64::from(self.accounts) * self.initial_balance
    }

    /// The shard that holds `account`.
    pub fn shard_of_account(&self, account: u32) -> u32 {
        account % self.shards
    }

    /// The shard that holds list key `key`.
    pub fn shard_of_key(&self, key: u32) -> u32 {
        key % self.shards
    }

    /// The accounts `shard` holds, in order.
    pub fn accounts_of(&self, shard: u32) -> impl Iterator<Item = u32> + '_ {
        (0..self.accounts).filter(move |a| self.shard_of_account(*a) == shard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_spread_round_robin() {
        let bank = Bank::new(3, &WorkloadOptions::default());
        assert_eq!(bank.accounts_of(1).collect::<Vec<_>>(), vec![1, 4, 7]);
        assert_eq!((bank.shard_of_account(5), bank.shard_of_key(4)), (2, 1));
        assert_eq!(bank.total(), 80);
        let all: u32 = (0..3).map(|s| bank.accounts_of(s).count() as u32).sum();
        assert_eq!(all, ACCOUNTS);
    }
}
