//! The bank checker's answer: the verdict, the bad reads by kind with the first of each, and
//! the counts of what was checked.

use super::decode::BankOperation;
use crate::history::{Status, Value};
use crate::verdict::Verdict;
use std::collections::BTreeMap;
use std::fmt;

/// What is wrong with a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Accounts the bank does not have.
    UnexpectedAccounts(Vec<Value>),
    /// Accounts read as nil.
    NilBalances(Vec<Value>),
    /// The balances do not sum to the total.
    WrongTotal { expected: i64, got: i64 },
    /// Negative balances, by account.
    Negative(Vec<(Value, i64)>),
}

impl Problem {
    /// The kind's name, as Jepsen's checker names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::UnexpectedAccounts(_) => "unexpected-key",
            Problem::NilBalances(_) => "nil-balance",
            Problem::WrongTotal { .. } => "wrong-total",
            Problem::Negative(_) => "negative-value",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[Value]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        match self {
            Problem::UnexpectedAccounts(a) => write!(f, "accounts outside the bank: {}", list(a)),
            Problem::NilBalances(a) => write!(f, "no balance for {}", list(a)),
            Problem::WrongTotal { expected, got } => write!(f, "balances sum to {got}, not {expected}"),
            Problem::Negative(a) => {
                let each: Vec<String> = a.iter().map(|(acct, b)| format!("account {acct} at {b}")).collect();
                write!(f, "negative balance: {}", each.join(", "))
            }
        }
    }
}

/// One problem of one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRead {
    /// The read's operation id.
    pub op: usize,
    pub process: u64,
    /// The read's completion event.
    pub index: usize,
    pub problem: Problem,
}

impl fmt::Display for BadRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "read #{} (process {}, event {}): {}", self.op, self.process, self.index, self.problem)
    }
}

/// Where the total the reads were held to came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TotalSource {
    /// The caller's options (or there was no read to take it from).
    Given,
    /// The first `ok` read's sum.
    FirstRead,
}

/// What the bank checker found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankReport {
    /// `Violation` naming the first bad read (in history order), else `Ok`.
    pub verdict: Verdict,
    /// The total reads were held to (`None`: no total given and no read).
    pub total: Option<i64>,
    pub total_source: TotalSource,
    /// `ok` reads checked.
    pub reads: usize,
    /// Transfers by how they completed: `ok`, `fail`, `info`.
    pub transfers: [usize; 3],
    /// Bad reads by kind (Jepsen's names), each kind in history order.
    pub bad: BTreeMap<&'static str, Vec<BadRead>>,
}

impl BankReport {
    pub(super) fn new(total: Option<i64>, total_source: TotalSource) -> Self {
        BankReport {
            verdict: Verdict::Ok,
            total,
            total_source,
            reads: 0,
            transfers: [0; 3],
            bad: BTreeMap::new(),
        }
    }

    pub(super) fn count_transfers(&mut self, ops: &[BankOperation]) {
        for op in ops.iter().filter(|o| o.transfer.is_some()) {
            let i = match op.status {
                Status::Ok => 0,
                Status::Fail => 1,
                Status::Info => 2,
            };
            self.transfers[i] += 1;
        }
    }

    pub(super) fn add(&mut self, bad: BadRead) {
        self.bad.entry(bad.problem.kind()).or_default().push(bad);
    }

    pub(super) fn finish(&mut self) {
        self.verdict = match self.first_where(|_| true) {
            Some(first) => Verdict::Violation(first.to_string()),
            None => Verdict::Ok,
        };
    }

    /// The first bad read (in history order) whose problem passes `keep`.
    pub fn first_where(&self, keep: impl Fn(&Problem) -> bool) -> Option<&BadRead> {
        self.bad.values().flatten().filter(|b| keep(&b.problem)).min_by_key(|b| (b.index, b.problem.kind()))
    }

    /// Reads with a problem of `kind` (Jepsen's name: `wrong-total`, `negative-value`...).
    pub fn count(&self, kind: &str) -> usize {
        self.bad.get(kind).map_or(0, Vec::len)
    }
}

impl fmt::Display for BankReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = match (self.total, self.total_source) {
            (None, _) => "no total (no read)".to_string(),
            (Some(t), TotalSource::Given) => format!("total {t}"),
            (Some(t), TotalSource::FirstRead) => format!("total {t} (the first read's sum)"),
        };
        let [ok, fail, info] = self.transfers;
        writeln!(f, "{} reads, {total}; transfers: {ok} ok, {fail} failed, {info} unknown", self.reads)?;
        for (kind, reads) in &self.bad {
            writeln!(f, "  {kind}: {} reads; first: {}", reads.len(), reads[0])?;
        }
        Ok(())
    }
}
