//! Builders for small transactional histories.

use faultline_checkers::txn::{self, ConsistencyModel, TxnOptions, TxnReport, Workload};
use faultline_checkers::{Event, EventKind, History, Value};

pub fn mop(f: &str, k: i64, v: Value) -> Value {
    Value::List(vec![f.into(), k.into(), v])
}

/// `[append k v]`
pub fn append(k: i64, v: i64) -> Value {
    mop("append", k, v.into())
}

/// `[r k [items]]`
pub fn r(k: i64, items: &[i64]) -> Value {
    mop("r", k, items.to_vec().into())
}

/// `[r k nil]`
pub fn r_nil(k: i64) -> Value {
    mop("r", k, Value::Nil)
}

/// `[w k v]`
pub fn w(k: i64, v: i64) -> Value {
    mop("w", k, v.into())
}

/// `[r k v]` for a register.
pub fn rv(k: i64, v: i64) -> Value {
    mop("r", k, v.into())
}

/// A transaction as invoked: every read's value unknown (`nil`).
fn invocation(mops: &[Value]) -> Value {
    let mops = mops.iter().map(|m| match m.as_list() {
        Some([f, k, _]) if f.as_str() == Some("r") => Value::List(vec![f.clone(), k.clone(), Value::Nil]),
        _ => m.clone(),
    });
    Value::List(mops.collect())
}

/// Appends events with increasing times.
#[derive(Default)]
pub struct H {
    history: History,
    time: u64,
}

impl H {
    pub fn new() -> Self {
        H::default()
    }

    fn push(&mut self, process: u64, kind: EventKind, value: Value) -> &mut Self {
        self.time += 10;
        self.history.push(Event::complete(process, kind, "txn", value, self.time));
        self
    }

    pub fn invoke(&mut self, process: u64, mops: &[Value]) -> &mut Self {
        self.push(process, EventKind::Invoke, invocation(mops))
    }

    pub fn ok(&mut self, process: u64, mops: &[Value]) -> &mut Self {
        self.push(process, EventKind::Ok, Value::List(mops.to_vec()))
    }

    pub fn fail(&mut self, process: u64, mops: &[Value]) -> &mut Self {
        self.push(process, EventKind::Fail, invocation(mops))
    }

    pub fn info(&mut self, process: u64, mops: &[Value]) -> &mut Self {
        self.push(process, EventKind::Info, invocation(mops))
    }

    /// Invoked and completed `ok` before anything else happens.
    pub fn txn(&mut self, process: u64, mops: &[Value]) -> &mut Self {
        self.invoke(process, mops).ok(process, mops)
    }

    /// All invoked, then all completed `ok`: no real-time order among them.
    pub fn concurrent(&mut self, txns: &[(u64, &[Value])]) -> &mut Self {
        for (p, mops) in txns {
            self.invoke(*p, mops);
        }
        for (p, mops) in txns {
            self.ok(*p, mops);
        }
        self
    }

    pub fn build(&self) -> History {
        self.history.clone()
    }
}

pub fn check(history: &History, workload: Workload) -> TxnReport {
    txn::check(history, &TxnOptions::new(workload)).expect("well-formed history")
}

pub fn check_for(history: &History, workload: Workload, model: ConsistencyModel) -> TxnReport {
    let opts = TxnOptions { model, ..TxnOptions::new(workload) };
    txn::check(history, &opts).expect("well-formed history")
}

/// The names of the anomaly kinds found, e.g. `["G1a", "G-single-realtime"]`.
pub fn kinds(report: &TxnReport) -> Vec<String> {
    report.counts.keys().map(|k| k.name()).collect()
}
