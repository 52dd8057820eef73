//! The bank checker: Jepsen's bank workload, checked read by read.
//!
//! Jepsen's bank test (jepsen.tests.bank) moves money between a fixed set of accounts with
//! transfers (`{:f :transfer :value {:from a :to b :amount n}}`) and reads every balance
//! (`{:f :read :value {a balance ...}}`). Transfers neither create nor destroy money, so every
//! read of a database that keeps transfers atomic and isolated sums to the same total, and no
//! balance is ever negative (a transfer that would overdraw is refused). A read that breaks
//! either shows a transfer seen in part (a broken atomicity or isolation), money lost or made,
//! or an overdraft.
//!
//! Method (that of Jepsen's checker): every `ok` read is checked on its own, in history order,
//! for accounts outside the bank, missing (nil) balances, a sum other than the total, and (unless
//! negative balances are allowed) a negative balance. The total and the set of accounts come
//! from [`BankOptions`], or else from the first `ok` read, which the report then says. The
//! verdict names the first bad read with its reason; the report also counts bad reads by kind,
//! so that a protocol that promises no isolation (TCC) can report how often its reads see
//! transfers in flight without failing for it. Transfers are decoded (an ill-formed one is an
//! error) and counted but not otherwise checked, as in Jepsen.
//!
//! Values are read as faultline's readers give them: an EDN map `{:from 0 :to 1 :amount 5}` is
//! the list of pairs `[["from" 0] ["to" 1] ["amount" 5]]` (keywords become strings), which is
//! also how faultline's own histories write them; [`jsonl`] reads JSON lines whose values are
//! JSON objects (`{"from":0,"to":1,"amount":5}`, `{"0":10,"1":10}`) the same way.
//!
//! Modules:
//! - [`decode`]: history values to transfers and reads.
//! - [`jsonl`]: JSON lines with object values.
//! - [`report`]: the verdict, the bad reads by kind, the counts.

pub mod decode;
pub mod jsonl;
pub mod report;

pub use decode::{decode, BankOperation, Transfer};
pub use report::{BadRead, BankReport, Problem, TotalSource};

use crate::format::{self, Format, FormatError, Parsed};
use crate::history::{History, HistoryError, Status, Value};
use std::collections::BTreeMap;

/// What the checker is told about the bank.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BankOptions {
    /// The money in the bank; `None`: the sum of the first `ok` read.
    pub total: Option<i64>,
    /// The accounts; `None`: those of the first `ok` read.
    pub accounts: Option<Vec<Value>>,
    /// Whether balances may go negative (Jepsen's `:negative-balances?`).
    pub negative_allowed: bool,
}

/// Why a history cannot be checked: it is ill-formed, never a verdict.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    #[error(transparent)]
    History(#[from] HistoryError),
    /// An operation whose value is not a transfer or a read.
    #[error("operation #{id} (event {index}): {reason}")]
    Operation { id: usize, index: usize, reason: String },
}

impl BankError {
    /// The index of the event at fault, to point at its line in a file.
    pub fn event_index(&self) -> Option<usize> {
        match self {
            BankError::History(_) => None,
            BankError::Operation { index, .. } => Some(*index),
        }
    }
}

/// Checks every `ok` read of `history` (see the module documentation).
pub fn check(history: &History, options: &BankOptions) -> Result<BankReport, BankError> {
    let ops = decode(history)?;
    let reads: Vec<&BankOperation> =
        ops.iter().filter(|o| o.read.is_some() && o.status == Status::Ok).collect();
    let (total, source) = match (options.total, reads.first()) {
        (Some(t), _) => (Some(t), TotalSource::Given),
        (None, Some(first)) => (Some(first.read.as_ref().map_or(0, sum)), TotalSource::FirstRead),
        (None, None) => (None, TotalSource::Given),
    };
    let accounts: Option<Vec<Value>> = options
        .accounts
        .clone()
        .or_else(|| reads.first().and_then(|r| r.read.as_ref()).map(|b| b.keys().cloned().collect()));
    let mut report = BankReport::new(total, source);
    report.count_transfers(&ops);
    for op in reads {
        let balances = op.read.as_ref().expect("filtered on reads");
        report.reads += 1;
        for problem in problems(balances, total, accounts.as_deref(), options.negative_allowed) {
            report.add(BadRead { op: op.id, process: op.process, index: op.index, problem });
        }
    }
    report.finish();
    Ok(report)
}

/// Reads a bank history file: JSON lines (with object values) or Jepsen EDN, guessed from the
/// content unless `format` says.
pub fn read(text: &str, format: Option<Format>) -> Result<Parsed, FormatError> {
    match format.unwrap_or_else(|| format::guess(text)) {
        Format::Jsonl => jsonl::read(text),
        other => format::parse(text, Some(other)),
    }
}

/// The sum of a read's balances (a nil balance counts as 0; it is reported on its own).
fn sum(balances: &BTreeMap<Value, Option<i64>>) -> i64 {
    balances.values().map(|b| b.unwrap_or(0)).sum()
}

/// What is wrong with one read, in the order Jepsen's checker looks.
fn problems(
    balances: &BTreeMap<Value, Option<i64>>,
    total: Option<i64>,
    accounts: Option<&[Value]>,
    negative_allowed: bool,
) -> Vec<Problem> {
    let mut found = Vec::new();
    if let Some(accounts) = accounts {
        let unexpected: Vec<Value> = balances.keys().filter(|a| !accounts.contains(a)).cloned().collect();
        if !unexpected.is_empty() {
            found.push(Problem::UnexpectedAccounts(unexpected));
        }
    }
    let nil: Vec<Value> = balances.iter().filter(|(_, b)| b.is_none()).map(|(a, _)| a.clone()).collect();
    if !nil.is_empty() {
        found.push(Problem::NilBalances(nil));
    }
    let got = sum(balances);
    if let Some(total) = total.filter(|t| *t != got) {
        found.push(Problem::WrongTotal { expected: total, got });
    }
    if !negative_allowed {
        let negative: Vec<(Value, i64)> =
            balances.iter().filter_map(|(a, b)| b.filter(|b| *b < 0).map(|b| (a.clone(), b))).collect();
        if !negative.is_empty() {
            found.push(Problem::Negative(negative));
        }
    }
    found
}

#[cfg(test)]
mod tests;
