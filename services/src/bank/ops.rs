//! Client operations on the bank, what each does on each shard, and their history encoding.
//!
//! A client invokes a [`BankOp`]: a transfer, a read of every balance, or a list-append
//! transaction. [`BankOp::plan`] splits it into the [`ShardOp`]s each shard must execute (a
//! transfer debits one account and credits another, possibly on two shards; a read reads every
//! shard; a transaction's micro-ops go to their keys' shards, in order). Each shard answers its
//! reads with [`ShardResult`]s, one per read, in order, and [`BankOp::completion`] puts them
//! back together into what the history records.
//!
//! The history follows Jepsen. A transfer is `transfer` with `{:from a :to b :amount n}`, written
//! as the list of pairs `[["from" a] ["to" b] ["amount" n]]` (what faultline's readers make of an
//! EDN map); it completes `ok`, or `fail` when it was refused or aborted (it certainly did not
//! take effect). A read is `read` with `nil`, completing `ok` with `[[account balance] ...]` in
//! account order. A list-append transaction is Elle's `txn` with `[["append" k v] ["r" k nil]]`,
//! completing `ok` with each read's list filled in.

use super::Bank;
use faultline_checkers::{EventKind, Value};
use faultline_sim::system::Answer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One micro-operation of a list-append transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MicroOp {
    /// Appends `value` (unique in the run) to the list at `key`.
    Append {
        /// The list key.
        key: u32,
        /// The element appended.
        value: i64,
    },
    /// Reads the list at `key`.
    Read {
        /// The list key.
        key: u32,
    },
}

/// What a client asks of the bank.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BankOp {
    /// Moves `amount` from account `from` to account `to`, unless `from` holds less.
    Transfer {
        /// The account debited.
        from: u32,
        /// The account credited.
        to: u32,
        /// How much moves (positive).
        amount: i64,
    },
    /// Reads every balance.
    Read,
    /// A list-append transaction: its micro-ops, in order.
    Txn(Vec<MicroOp>),
}

/// What one shard executes for an operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ShardOp {
    /// Reads the balance of every account of the shard.
    ReadBalances,
    /// Takes `amount` from `account`: refused if the account holds less.
    Debit {
        /// The account.
        account: u32,
        /// How much.
        amount: i64,
    },
    /// Adds `amount` to `account`.
    Credit {
        /// The account.
        account: u32,
        /// How much.
        amount: i64,
    },
    /// Appends `value` to the list at `key`.
    Append {
        /// The list key.
        key: u32,
        /// The element.
        value: i64,
    },
    /// Reads the list at `key`.
    ReadList {
        /// The list key.
        key: u32,
    },
}

/// What a shard's read returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ShardResult {
    /// `(account, balance)` for every account of the shard, in account order.
    Balances(Vec<(u32, i64)>),
    /// A list's elements.
    List(Vec<i64>),
}

impl ShardOp {
    /// Whether the op changes nothing.
    pub fn is_read(&self) -> bool {
        matches!(self, ShardOp::ReadBalances | ShardOp::ReadList { .. })
    }
}

impl BankOp {
    /// Whether the operation changes nothing: a read, or a transaction of reads only.
    pub fn is_read_only(&self) -> bool {
        match self {
            BankOp::Read => true,
            BankOp::Transfer { .. } => false,
            BankOp::Txn(ops) => ops.iter().all(|m| matches!(m, MicroOp::Read { .. })),
        }
    }

    /// The history's function name and invocation value.
    pub fn invocation(&self) -> (&'static str, Value) {
        match self {
            BankOp::Transfer { from, to, amount } => {
                let pair = |k: &str, v: i64| Value::List(vec![k.into(), Value::Int(v)]);
                let value =
                    vec![pair("from", (*from).into()), pair("to", (*to).into()), pair("amount", *amount)];
                ("transfer", Value::List(value))
            }
            BankOp::Read => ("read", Value::Nil),
            BankOp::Txn(ops) => ("txn", Value::List(ops.iter().map(|m| micro(m, None)).collect())),
        }
    }

    /// The ops each shard executes, by shard, each shard's in the operation's order.
    pub fn plan(&self, bank: &Bank) -> BTreeMap<u32, Vec<ShardOp>> {
        let mut plan: BTreeMap<u32, Vec<ShardOp>> = BTreeMap::new();
        match self {
            BankOp::Transfer { from, to, amount } => {
                let amount = *amount;
                plan.entry(bank.shard_of_account(*from))
                    .or_default()
                    .push(ShardOp::Debit { account: *from, amount });
                plan.entry(bank.shard_of_account(*to))
                    .or_default()
                    .push(ShardOp::Credit { account: *to, amount });
            }
            BankOp::Read => {
                for shard in 0..bank.shards {
                    plan.insert(shard, vec![ShardOp::ReadBalances]);
                }
            }
            BankOp::Txn(ops) => {
                for m in ops {
                    let (key, op) = match m {
                        MicroOp::Append { key, value } => {
                            (*key, ShardOp::Append { key: *key, value: *value })
                        }
                        MicroOp::Read { key } => (*key, ShardOp::ReadList { key: *key }),
                    };
                    plan.entry(bank.shard_of_key(key)).or_default().push(op);
                }
            }
        }
        plan
    }

    /// The completion value of a committed operation, from each shard's read results (by
    /// shard, in order). `None` when the results do not answer the operation's reads: a
    /// protocol bug, which the caller leaves to the checks.
    pub fn completion(&self, bank: &Bank, results: &BTreeMap<u32, Vec<ShardResult>>) -> Option<Value> {
        match self {
            BankOp::Transfer { .. } => Some(self.invocation().1),
            BankOp::Read => {
                let mut balances: Vec<(u32, i64)> = Vec::new();
                for r in results.values().flatten() {
                    let ShardResult::Balances(b) = r else { return None };
                    balances.extend(b.iter().copied());
                }
                balances.sort_unstable();
                let complete = balances.iter().map(|(a, _)| *a).eq(0..bank.accounts);
                let pairs =
                    balances.iter().map(|(a, b)| Value::List(vec![Value::Int((*a).into()), Value::Int(*b)]));
                complete.then(|| Value::List(pairs.collect()))
            }
            BankOp::Txn(ops) => {
                let mut next: BTreeMap<u32, std::slice::Iter<'_, ShardResult>> =
                    results.iter().map(|(s, r)| (*s, r.iter())).collect();
                let mut filled = Vec::with_capacity(ops.len());
                for m in ops {
                    let read = match m {
                        MicroOp::Append { .. } => None,
                        MicroOp::Read { key } => match next.get_mut(&bank.shard_of_key(*key))?.next()? {
                            ShardResult::List(values) => Some(values.as_slice()),
                            ShardResult::Balances(_) => return None,
                        },
                    };
                    filled.push(micro(m, read));
                }
                Some(Value::List(filled))
            }
        }
    }

    /// The answer for a committed operation: its completion, or unknown when the results do
    /// not fit (see [`BankOp::completion`]).
    pub fn committed(&self, bank: &Bank, results: &BTreeMap<u32, Vec<ShardResult>>) -> Answer {
        match self.completion(bank, results) {
            Some(value) => Answer::Done(EventKind::Ok, value),
            None => Answer::Unknown { hint: None },
        }
    }

    /// The answer for an operation that certainly did not take effect (refused or aborted).
    pub fn aborted(&self) -> Answer {
        Answer::Done(EventKind::Fail, self.invocation().1)
    }
}

/// A micro-op as Elle writes it: `["append" k v]`, `["r" k nil]` or `["r" k [v ...]]`.
fn micro(m: &MicroOp, read: Option<&[i64]>) -> Value {
    match m {
        MicroOp::Append { key, value } => {
            Value::List(vec!["append".into(), Value::Int((*key).into()), Value::Int(*value)])
        }
        MicroOp::Read { key } => {
            let result = read.map_or(Value::Nil, |v| Value::List(v.iter().map(|x| Value::Int(*x)).collect()));
            Value::List(vec!["r".into(), Value::Int((*key).into()), result])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::options::WorkloadOptions;

    fn bank() -> Bank {
        Bank::new(3, &WorkloadOptions::default())
    }

    fn int(v: i64) -> Value {
        Value::Int(v)
    }

    #[test]
    fn a_transfer_debits_one_shard_and_credits_another() {
        let t = BankOp::Transfer { from: 1, to: 5, amount: 3 };
        let plan = t.plan(&bank());
        assert_eq!(plan[&1], vec![ShardOp::Debit { account: 1, amount: 3 }]);
        assert_eq!(plan[&2], vec![ShardOp::Credit { account: 5, amount: 3 }]);
        let (f, value) = t.invocation();
        let pair = |k: &str, v| Value::List(vec![k.into(), int(v)]);
        assert_eq!(
            (f, value.clone()),
            ("transfer", Value::List(vec![pair("from", 1), pair("to", 5), pair("amount", 3)]))
        );
        assert_eq!(t.committed(&bank(), &BTreeMap::new()), Answer::Done(EventKind::Ok, value.clone()));
        assert_eq!(t.aborted(), Answer::Done(EventKind::Fail, value));
        assert!(!t.is_read_only());
    }

    #[test]
    fn a_read_gathers_every_shards_balances_in_account_order() {
        let b = bank();
        let plan = BankOp::Read.plan(&b);
        assert_eq!(plan.len(), 3);
        let results: BTreeMap<u32, Vec<ShardResult>> = (0..3)
            .map(|s| {
                (s, vec![ShardResult::Balances(b.accounts_of(s).map(|a| (a, 10 + i64::from(a))).collect())])
            })
            .collect();
        let Some(Value::List(pairs)) = BankOp::Read.completion(&b, &results) else { panic!("not a list") };
        assert_eq!(pairs.len(), 8);
        assert_eq!(pairs[3], Value::List(vec![int(3), int(13)]));
        let mut missing = results.clone();
        missing.remove(&2);
        assert_eq!(BankOp::Read.completion(&b, &missing), None, "a read must cover every account");
    }

    #[test]
    fn a_transaction_gets_each_read_from_its_keys_shard_in_order() {
        let ops = vec![
            MicroOp::Append { key: 1, value: 7 },
            MicroOp::Read { key: 1 },
            MicroOp::Read { key: 2 },
            MicroOp::Read { key: 4 },
        ];
        let t = BankOp::Txn(ops);
        let plan = t.plan(&bank());
        assert_eq!(
            plan[&1],
            vec![
                ShardOp::Append { key: 1, value: 7 },
                ShardOp::ReadList { key: 1 },
                ShardOp::ReadList { key: 4 }
            ]
        );
        let results = BTreeMap::from([
            (1, vec![ShardResult::List(vec![3, 7]), ShardResult::List(vec![])]),
            (2, vec![ShardResult::List(vec![9])]),
        ]);
        let r = |k: i64, v: Value| Value::List(vec!["r".into(), int(k), v]);
        let expected = Value::List(vec![
            Value::List(vec!["append".into(), int(1), int(7)]),
            r(1, Value::List(vec![int(3), int(7)])),
            r(2, Value::List(vec![int(9)])),
            r(4, Value::List(vec![])),
        ]);
        assert_eq!(t.completion(&bank(), &results), Some(expected));
        assert_eq!(t.invocation().1.as_list().map(|l| l[1].clone()), Some(r(1, Value::Nil)));
        assert_eq!(t.committed(&bank(), &BTreeMap::new()), Answer::Unknown { hint: None });
    }
}
