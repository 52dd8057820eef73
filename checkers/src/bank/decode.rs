//! History values to bank operations.
//!
//! A map arrives as the list of its `[key value]` pairs (how faultline's readers turn an EDN map
//! or a JSON object into a [`Value`]). A transfer's value is the map `{from to amount}` (keys as
//! strings: EDN keywords lose their colon); a read's `ok` value maps each account (any value,
//! usually an integer) to its balance, an integer or nil. Operations with any other function (a
//! list-append `txn`, a nemesis's op) are not bank operations and are left out.

use super::BankError;
use crate::history::{History, Status, Value};
use std::collections::BTreeMap;

/// A transfer's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub from: Value,
    pub to: Value,
    pub amount: i64,
}

/// One bank operation of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankOperation {
    /// The operation's id (its position in invocation order among all operations).
    pub id: usize,
    pub process: u64,
    /// The event that carries the value decoded: the completion of a read, the invocation of a
    /// transfer.
    pub index: usize,
    pub status: Status,
    /// Set for a transfer.
    pub transfer: Option<Transfer>,
    /// Set for an `ok` read: each account's balance (nil: `None`).
    pub read: Option<BTreeMap<Value, Option<i64>>>,
}

/// The transfers and reads of `history`, in invocation order.
pub fn decode(history: &History) -> Result<Vec<BankOperation>, BankError> {
    let mut out = Vec::new();
    for op in history.operations()? {
        let fail = |index: usize, reason: String| BankError::Operation { id: op.id, index, reason };
        let base = BankOperation {
            id: op.id,
            process: op.process,
            index: op.invoke_index,
            status: op.status,
            transfer: None,
            read: None,
        };
        match op.f.as_str() {
            "transfer" => {
                let transfer = transfer(&op.input).map_err(|r| fail(op.invoke_index, r))?;
                out.push(BankOperation { transfer: Some(transfer), ..base });
            }
            "read" if op.status == Status::Ok => {
                let index = op.complete_index.unwrap_or(op.invoke_index);
                let value = op.output.as_ref().unwrap_or(&Value::Nil);
                let balances = balances(value).map_err(|r| fail(index, r))?;
                out.push(BankOperation { index, read: Some(balances), ..base });
            }
            "read" => out.push(base),
            _ => {}
        }
    }
    Ok(out)
}

/// The `[key value]` pairs of a map value.
pub fn pairs(value: &Value) -> Option<Vec<(&Value, &Value)>> {
    value
        .as_list()?
        .iter()
        .map(|pair| match pair.as_list() {
            Some([k, v]) => Some((k, v)),
            _ => None,
        })
        .collect()
}

fn transfer(value: &Value) -> Result<Transfer, String> {
    let shape = || format!("a transfer's value must be a map {{from to amount}}, found {value}");
    let pairs = pairs(value).ok_or_else(shape)?;
    let field = |name: &str| pairs.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| (*v).clone());
    let (Some(from), Some(to), Some(amount)) = (field("from"), field("to"), field("amount")) else {
        return Err(shape());
    };
    let amount =
        amount.as_int().ok_or_else(|| format!("a transfer's amount must be an integer, found {amount}"))?;
    Ok(Transfer { from, to, amount })
}

fn balances(value: &Value) -> Result<BTreeMap<Value, Option<i64>>, String> {
    let pairs = pairs(value)
        .ok_or_else(|| format!("a read's value must be a map {{account balance ...}}, found {value}"))?;
    let mut balances = BTreeMap::new();
    for (account, balance) in pairs {
        let balance = match balance {
            Value::Nil => None,
            Value::Int(b) => Some(*b),
            other => {
                return Err(format!("account {account}'s balance must be an integer or nil, found {other}"))
            }
        };
        if balances.insert(account.clone(), balance).is_some() {
            return Err(format!("account {account} appears twice in one read"));
        }
    }
    Ok(balances)
}
