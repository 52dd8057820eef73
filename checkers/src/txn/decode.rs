//! From a [`History`] to compact transactions: operations paired, micro-operations decoded,
//! keys interned.
//!
//! This does its own pairing rather than calling [`History::operations`] for two reasons: that
//! clones every value (a million-transaction history would be held twice), and it rejects
//! histories whose clock went backwards, which Jepsen's histories do (their times come from
//! several threads). Real-time order here comes from the position of events in the history, as
//! in Elle, so times are not needed. The pairing rules are the same: one operation in flight
//! per process, completions name the function they complete, a missing completion is `info`.
//!
//! Operations whose function is not `txn` (a nemesis's `start`/`stop`, say) are counted and
//! left out. Each transaction's micro-operations are `[f key value]` lists: `append`/`r` for
//! list-append, `w`/`r` for rw-register; keys and written values are integers or strings.

use super::error::TxnError;
use super::intern::KeyInterner;
use super::Workload;
use crate::history::{EventKind, History, HistoryError, Status, Value};
use std::collections::BTreeMap;

/// "No transaction", "no event": a sentinel for `u32` ids.
pub(crate) const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MopKind {
    Append,
    Write,
    Read,
}

/// Bits of [`Mop::flags`], set by [`super::within`].
pub(crate) mod flag {
    /// A read of a key before the transaction itself wrote or read that key.
    pub const EXTERNAL: u8 = 1;
    /// The transaction's last write of that key: the version it installs.
    pub const FINAL: u8 = 2;
}

/// One micro-operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mop<'h> {
    pub kind: MopKind,
    pub flags: u8,
    pub key: u32,
    /// The written value, or what a read returned; `None` for a read whose result is unknown
    /// (the transaction did not complete with `ok`).
    pub value: Option<&'h Value>,
}

impl Mop<'_> {
    pub(crate) fn is_write(&self) -> bool {
        self.kind != MopKind::Read
    }

    pub(crate) fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }
}

/// One transaction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Txn {
    /// Operation id (invocation order over all operations, as `History::operations` numbers).
    pub op: u32,
    pub status: Status,
    pub process: u64,
    /// Index of the invoke event.
    pub invoke: u32,
    /// Index of the completion event, [`NONE`] unless `ok` or `fail`.
    pub complete: u32,
    pub mop_start: u32,
    pub mop_len: u32,
}

/// All transactions of a history, in invocation order.
pub(crate) struct Txns<'h> {
    pub txns: Vec<Txn>,
    pub mops: Vec<Mop<'h>>,
    /// Keys by interned id.
    pub keys: Vec<&'h Value>,
    /// Operations that were not transactions.
    pub ignored: usize,
}

impl<'h> Txns<'h> {
    pub(crate) fn len(&self) -> usize {
        self.txns.len()
    }

    pub(crate) fn mops_of(&self, t: u32) -> &[Mop<'h>] {
        let txn = &self.txns[t as usize];
        &self.mops[txn.mop_start as usize..(txn.mop_start + txn.mop_len) as usize]
    }

    /// Committed or possibly committed: a node of the dependency graph.
    pub(crate) fn in_graph(&self, t: u32) -> bool {
        self.txns[t as usize].status != Status::Fail
    }
}

/// The raw values of one transaction before decoding.
struct Raw<'h> {
    input: &'h Value,
    output: Option<&'h Value>,
}

/// An operation in flight.
struct Pending<'h> {
    /// Index of its invoke event.
    invoke: usize,
    f: &'h str,
    /// Its index in the transaction list, [`NONE`] when it is not a transaction.
    txn: u32,
}

/// Pairs and decodes every transaction of `history`.
pub(crate) fn decode(history: &History, workload: Workload) -> Result<Txns<'_>, TxnError> {
    if history.events.len() >= i32::MAX as usize {
        return Err(TxnError::TooLarge(history.events.len()));
    }
    let (mut txns, raws, ignored) = pair(history)?;
    let mut decoder = Decoder { workload, interner: KeyInterner::default(), mops: Vec::new() };
    for (txn, raw) in txns.iter_mut().zip(&raws) {
        decoder.txn(txn, raw)?;
    }
    Ok(Txns { txns, mops: decoder.mops, keys: decoder.interner.into_keys(), ignored })
}

fn pair(history: &History) -> Result<(Vec<Txn>, Vec<Raw<'_>>, usize), TxnError> {
    let mut txns = Vec::new();
    let mut raws = Vec::new();
    let mut pending: BTreeMap<u64, Pending> = BTreeMap::new();
    let mut ops = 0u32;
    for (index, e) in history.events.iter().enumerate() {
        if e.kind == EventKind::Invoke {
            if let Some(p) = pending.get(&e.process) {
                return Err(
                    HistoryError::DoubleInvoke { index, process: e.process, pending: p.invoke }.into()
                );
            }
            let txn = if e.f == "txn" { txns.len() as u32 } else { NONE };
            if txn != NONE {
                txns.push(new_txn(ops, e.process, index));
                raws.push(Raw { input: &e.value, output: None });
            }
            pending.insert(e.process, Pending { invoke: index, f: &e.f, txn });
            ops += 1;
            continue;
        }
        let Some(p) = pending.remove(&e.process) else {
            return Err(HistoryError::CompletionWithoutInvoke { index, process: e.process }.into());
        };
        // Transactions compare against a constant, which compiles to a few loads: this runs
        // once per event.
        let same_f = if p.txn != NONE { e.f == "txn" } else { p.f == e.f };
        if !same_f {
            let (expected, got) = (p.f.to_string(), e.f.clone());
            return Err(HistoryError::MismatchedFunction { index, process: e.process, expected, got }.into());
        }
        if p.txn != NONE {
            complete(&mut txns[p.txn as usize], &mut raws[p.txn as usize], e.kind, &e.value, index);
        }
    }
    let ignored = ops as usize - txns.len();
    Ok((txns, raws, ignored))
}

fn new_txn(op: u32, process: u64, index: usize) -> Txn {
    Txn { op, status: Status::Info, process, invoke: index as u32, complete: NONE, mop_start: 0, mop_len: 0 }
}

fn complete<'h>(txn: &mut Txn, raw: &mut Raw<'h>, kind: EventKind, value: &'h Value, index: usize) {
    txn.status = match kind {
        EventKind::Ok => Status::Ok,
        EventKind::Fail => Status::Fail,
        _ => Status::Info,
    };
    if txn.status != Status::Info {
        txn.complete = index as u32;
        raw.output = Some(value);
    }
}

struct Decoder<'h> {
    workload: Workload,
    interner: KeyInterner<'h>,
    mops: Vec<Mop<'h>>,
}

impl<'h> Decoder<'h> {
    fn txn(&mut self, txn: &mut Txn, raw: &Raw<'h>) -> Result<(), TxnError> {
        let (event, source) = match (txn.status, raw.output) {
            (Status::Ok, Some(output)) => (txn.complete, output),
            _ => (txn.invoke, raw.input),
        };
        let malformed = |reason: String| TxnError::Malformed { event: event as usize, reason };
        let Some(list) = source.as_list() else {
            return Err(malformed(format!("a transaction must be a list of micro-operations, got {source}")));
        };
        let known = txn.status == Status::Ok;
        if known {
            check_echo(raw.input, list)
                .map_err(|r| TxnError::Malformed { event: txn.invoke as usize, reason: r })?;
        }
        if self.mops.len() + list.len() >= u32::MAX as usize {
            return Err(TxnError::TooLarge(self.mops.len() + list.len()));
        }
        txn.mop_start = self.mops.len() as u32;
        txn.mop_len = list.len() as u32;
        for (i, m) in list.iter().enumerate() {
            let mop = self.mop(m, known).map_err(|r| malformed(format!("micro-operation {i}: {r}")))?;
            self.mops.push(mop);
        }
        Ok(())
    }

    fn mop(&mut self, value: &'h Value, known: bool) -> Result<Mop<'h>, String> {
        let parts = value.as_list().filter(|p| p.len() == 3);
        let Some([f, key, arg]) = parts.map(|p| [&p[0], &p[1], &p[2]]) else {
            return Err(format!("{value} is not [f key value]"));
        };
        let kind = match (f.as_str(), self.workload) {
            (Some("append"), Workload::ListAppend) => MopKind::Append,
            (Some("w"), Workload::RwRegister) => MopKind::Write,
            (Some("r"), _) => MopKind::Read,
            _ => return Err(format!("{f} is not a {} micro-operation", self.workload)),
        };
        let key =
            self.interner.intern(key).ok_or_else(|| format!("key {key} is not an integer or a string"))?;
        let value = match kind {
            MopKind::Read if !known => None,
            MopKind::Read => Some(self.read_value(arg)?),
            _ if matches!(arg, Value::Int(_) | Value::Str(_)) => Some(arg),
            _ => return Err(format!("written value {arg} is not an integer or a string")),
        };
        Ok(Mop { kind, flags: 0, key, value })
    }

    fn read_value(&self, arg: &'h Value) -> Result<&'h Value, String> {
        let fits = match self.workload {
            Workload::ListAppend => matches!(arg, Value::Nil | Value::List(_)),
            Workload::RwRegister => matches!(arg, Value::Nil | Value::Int(_) | Value::Str(_)),
        };
        if fits {
            Ok(arg)
        } else {
            Err(format!("read value {arg} does not fit a {} read", self.workload))
        }
    }
}

/// An `ok` completion must echo its invocation: the same micro-operations on the same keys,
/// writing the same values (only read results are filled in).
fn check_echo(input: &Value, output: &[Value]) -> Result<(), String> {
    let Some(input) = input.as_list() else {
        return Err(format!("a transaction must be a list of micro-operations, got {input}"));
    };
    if input.len() != output.len() {
        return Err(format!(
            "invoked with {} micro-operations, completed with {}",
            input.len(),
            output.len()
        ));
    }
    for (i, (a, b)) in input.iter().zip(output).enumerate() {
        let (Some(a), Some(b)) = (a.as_list(), b.as_list()) else { continue };
        if a.len() != 3 || b.len() != 3 {
            continue;
        }
        let read = b[0].as_str() == Some("r");
        if !(same(&a[0], &b[0]) && same(&a[1], &b[1]) && (read || same(&a[2], &b[2]))) {
            let (a, b) = (Value::List(a.to_vec()), Value::List(b.to_vec()));
            return Err(format!("micro-operation {i} invoked as {a} but completed as {b}"));
        }
    }
    Ok(())
}

/// Value equality with inline fast paths for integers and short strings, the common keys,
/// values and micro-op names: comparing reads element by element is the checker's inner loop.
#[inline]
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Str(x), Value::Str(y)) if x.len() <= 16 => {
            x.len() == y.len() && x.bytes().zip(y.bytes()).all(|(p, q)| p == q)
        }
        _ => a == b,
    }
}

/// True when `a` and `b` have the same elements.
#[inline]
pub(crate) fn same_list(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// The elements a list-append read returned (`nil` reads as empty).
pub(crate) fn list_of(value: &Value) -> &[Value] {
    value.as_list().unwrap_or(&[])
}
