//! Synthetic transactional histories, for tests and benchmarks.
//!
//! Clients run random transactions against an in-memory store. Each transaction takes effect
//! atomically at one instant between its invocation and its completion (or, when it fails, never;
//! when it ends `info`, maybe), so the history is strict serializable unless anomalies are
//! planted on purpose. With `serial`, one transaction runs at a time and times never overlap.
//!
//! Keys follow Elle's generator: a small pool of active keys, chosen with a skew toward the
//! first ones, each retired for a fresh key after a fixed number of writes, so lists stay short.
//! Randomness comes from SplitMix64 (Steele, Lea and Flood, 2014) seeded by `seed`, so a seed
//! always gives the same history.

use super::Workload;
use crate::history::{Event, EventKind, History, Value};
use std::collections::BTreeMap;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthOptions {
    pub workload: Workload,
    pub seed: u64,
    /// Transactions to invoke.
    pub txns: usize,
    /// Concurrent client processes.
    pub processes: usize,
    /// Keys in use at any time.
    pub active_keys: usize,
    /// Writes after which a key is retired for a fresh one.
    pub max_writes_per_key: usize,
    /// Micro-ops per transaction: 1 to this many.
    pub max_txn_len: usize,
    /// Percent of micro-ops that are reads.
    pub read_percent: u32,
    /// Percent of transactions that fail (and never take effect).
    pub fail_percent: u32,
    /// Percent of transactions that end `info` (taking effect or not, at random).
    pub info_percent: u32,
    /// rw-register: every write is preceded by a read of its key in the same transaction.
    pub read_before_write: bool,
    /// Percent of reads that return a stale version (planted anomalies).
    pub stale_read_percent: u32,
    /// One transaction at a time, with non-overlapping times.
    pub serial: bool,
}

impl SynthOptions {
    /// A modest concurrent history with no planted anomalies.
    pub fn new(workload: Workload, seed: u64, txns: usize) -> Self {
        SynthOptions {
            workload,
            seed,
            txns,
            processes: 10,
            active_keys: 10,
            max_writes_per_key: 32,
            max_txn_len: 4,
            read_percent: 50,
            fail_percent: 0,
            info_percent: 0,
            read_before_write: false,
            stale_read_percent: 0,
            serial: false,
        }
    }
}

/// SplitMix64: tiny, fast, and its stream is fixed by its definition.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }

    fn percent(&mut self, p: u32) -> bool {
        self.below(100) < p as usize
    }
}

/// A micro-op before it runs: a read of a key, or a write of a (unique per key) value.
#[derive(Clone, Copy)]
enum Plan {
    Read(i64),
    Write(i64, i64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Commit,
    Fail,
    Info,
}

/// A transaction in flight: its plan, how it ends, and its micro-ops once it ran.
struct InFlight {
    plan: Vec<Plan>,
    fate: Fate,
    done: Option<Vec<Value>>,
}

struct Sim<'a> {
    opts: &'a SynthOptions,
    rng: Rng,
    history: History,
    time: u64,
    active: Vec<i64>,
    next_key: i64,
    writes: BTreeMap<i64, i64>,
    lists: BTreeMap<i64, Vec<i64>>,
    registers: BTreeMap<i64, i64>,
}

/// Generates a history.
pub fn generate(opts: &SynthOptions) -> History {
    let active_keys = opts.active_keys.max(1) as i64;
    let mut sim = Sim {
        opts,
        rng: Rng(opts.seed),
        history: History::new(),
        time: 0,
        active: (0..active_keys).collect(),
        next_key: active_keys,
        writes: BTreeMap::new(),
        lists: BTreeMap::new(),
        registers: BTreeMap::new(),
    };
    if opts.serial {
        sim.run_serial();
    } else {
        sim.run_concurrent();
    }
    sim.history
}

impl Sim<'_> {
    fn run_serial(&mut self) {
        let processes = self.opts.processes.max(1) as u64;
        let mut retired = 0;
        for i in 0..self.opts.txns {
            let process = i as u64 % processes + retired * processes;
            let mut txn = self.begin(process);
            self.execute(&mut txn);
            if self.end(process, txn) {
                retired += 1;
            }
        }
    }

    /// At each step a random client acts: invokes, takes effect, or completes, in that order.
    fn run_concurrent(&mut self) {
        let slots = self.opts.processes.max(1);
        let mut process: Vec<u64> = (0..slots as u64).collect();
        let mut flight: Vec<Option<InFlight>> = (0..slots).map(|_| None).collect();
        let mut invoked = 0;
        while invoked < self.opts.txns || flight.iter().any(Option::is_some) {
            let s = self.rng.below(slots);
            match flight[s].take() {
                None if invoked < self.opts.txns => {
                    flight[s] = Some(self.begin(process[s]));
                    invoked += 1;
                }
                None => {}
                Some(mut txn) if txn.done.is_none() => {
                    self.execute(&mut txn);
                    flight[s] = Some(txn);
                }
                Some(txn) => {
                    let crashed = self.end(process[s], txn);
                    process[s] += if crashed { slots as u64 } else { 0 };
                }
            }
        }
    }

    fn tick(&mut self) -> u64 {
        self.time += 1_000;
        self.time
    }

    /// Plans a transaction and records its invocation.
    fn begin(&mut self, process: u64) -> InFlight {
        let len = 1 + self.rng.below(self.opts.max_txn_len.max(1));
        let mut plan = Vec::with_capacity(len);
        for _ in 0..len {
            let slot = self.skewed(self.active.len());
            let key = self.active[slot];
            if self.rng.percent(self.opts.read_percent) {
                plan.push(Plan::Read(key));
                continue;
            }
            if self.opts.read_before_write && self.opts.workload == Workload::RwRegister {
                plan.push(Plan::Read(key));
            }
            plan.push(Plan::Write(key, self.next_value(key)));
        }
        let fate = if self.rng.percent(self.opts.fail_percent) {
            Fate::Fail
        } else if self.rng.percent(self.opts.info_percent) {
            Fate::Info
        } else {
            Fate::Commit
        };
        let txn = InFlight { plan, fate, done: None };
        let (time, value) = (self.tick(), self.unexecuted(&txn));
        self.history.push(Event::invoke(process, "txn", value, time));
        txn
    }

    /// Index in `0..n`, skewed toward 0 (the square of a uniform draw).
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.rng.below(1 << 16) as u64;
        ((u * u * n as u64) >> 32) as usize
    }

    /// The next value written to `key`; retires the key once it had its share of writes.
    fn next_value(&mut self, key: i64) -> i64 {
        let n = self.writes.entry(key).or_default();
        *n += 1;
        let value = *n;
        if value as usize >= self.opts.max_writes_per_key.max(1) {
            if let Some(slot) = self.active.iter().position(|k| *k == key) {
                self.active[slot] = self.next_key;
                self.next_key += 1;
            }
        }
        value
    }

    /// The transaction as invoked: reads unknown (`nil`).
    fn unexecuted(&self, txn: &InFlight) -> Value {
        Value::List(txn.plan.iter().map(|p| self.mop(*p, Value::Nil)).collect())
    }

    fn mop(&self, p: Plan, read: Value) -> Value {
        let w = match self.opts.workload {
            Workload::ListAppend => "append",
            Workload::RwRegister => "w",
        };
        match p {
            Plan::Read(k) => Value::List(vec!["r".into(), k.into(), read]),
            Plan::Write(k, v) => Value::List(vec![w.into(), k.into(), v.into()]),
        }
    }

    /// Applies the transaction atomically, now; failed ones (and some `info` ones) do nothing.
    fn execute(&mut self, txn: &mut InFlight) {
        let takes_effect = match txn.fate {
            Fate::Commit => true,
            Fate::Fail => false,
            Fate::Info => self.rng.percent(50),
        };
        if !takes_effect {
            txn.done = Some(Vec::new());
            return;
        }
        let mut done = Vec::with_capacity(txn.plan.len());
        for p in &txn.plan {
            let read = match *p {
                Plan::Read(k) => self.read(k),
                Plan::Write(k, v) => {
                    match self.opts.workload {
                        Workload::ListAppend => self.lists.entry(k).or_default().push(v),
                        Workload::RwRegister => drop(self.registers.insert(k, v)),
                    }
                    Value::Nil
                }
            };
            done.push(self.mop(*p, read));
        }
        txn.done = Some(done);
    }

    fn read(&mut self, k: i64) -> Value {
        let stale = self.rng.percent(self.opts.stale_read_percent);
        match self.opts.workload {
            Workload::ListAppend => {
                let list = self.lists.get(&k).map_or(&[][..], Vec::as_slice);
                let len = if stale { list.len().saturating_sub(1) } else { list.len() };
                Value::List(list[..len].iter().map(|v| Value::Int(*v)).collect())
            }
            Workload::RwRegister => match self.registers.get(&k) {
                Some(v) if !stale => Value::Int(*v),
                _ => Value::Nil,
            },
        }
    }

    /// Records the completion; true when the process crashed (`info`) and must be replaced.
    fn end(&mut self, process: u64, txn: InFlight) -> bool {
        let time = self.tick();
        let (kind, value) = match txn.fate {
            Fate::Commit => (EventKind::Ok, Value::List(txn.done.unwrap_or_default())),
            Fate::Fail => (EventKind::Fail, self.unexecuted(&txn)),
            Fate::Info => (EventKind::Info, self.unexecuted(&txn)),
        };
        self.history.push(Event::complete(process, kind, "txn", value, time));
        kind == EventKind::Info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_history() {
        let opts = SynthOptions {
            fail_percent: 10,
            info_percent: 10,
            ..SynthOptions::new(Workload::ListAppend, 7, 200)
        };
        let a = generate(&opts);
        assert_eq!(a, generate(&opts));
        assert_ne!(a, generate(&SynthOptions { seed: 8, ..opts.clone() }));
        let ops = a.operations().expect("well formed");
        assert_eq!(ops.len(), 200);
        assert!(ops.iter().any(|o| o.status == crate::history::Status::Fail));
        assert!(ops.iter().any(|o| o.status == crate::history::Status::Info));
    }

    #[test]
    fn serial_histories_do_not_overlap() {
        let opts = SynthOptions { serial: true, ..SynthOptions::new(Workload::RwRegister, 1, 50) };
        let h = generate(&opts);
        for pair in h.events.chunks(2) {
            assert_eq!(pair[0].kind, EventKind::Invoke);
            assert_ne!(pair[1].kind, EventKind::Invoke);
            assert_eq!(pair[0].process, pair[1].process);
        }
    }
}
