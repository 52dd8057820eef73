//! Small random histories for the `lin` fuzz target and the property tests.
//!
//! [`history_from_bytes`] maps any byte string to a small well-formed history for one of the
//! built-in models ([`Kind`]): three clients invoke operations and complete them as ok, fail or
//! info. In the common mode, each completion is computed by a reference implementation of the
//! model at the moment it completes (so the history is linearizable by construction) and
//! occasionally corrupted; in the other mode, outputs are drawn at random. Either way the answer
//! is unknown to the generator: the targets compare the fast checker with the oracle.

use crate::history::{Event, EventKind, History, Value};
use crate::model::{AnyModel, NilRead};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Most operations a generated history has (the oracle's cost grows factorially).
pub const MAX_GENERATED_OPS: usize = 8;

/// The built-in models the generator drives, with the conventions they are read under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Register,
    CasRegister,
    KeyValue,
    /// The key-value model without cas: puts are then the only resets, which lets the search
    /// merge dead states, so this kind exercises that path.
    KeyValueNoCas,
    Counter,
    Set,
    Queue,
    Lock,
    Lease,
    /// `cas-register` with Knossos's nil reads: an ok read of nil says nothing.
    CasRegisterNilAny,
    /// `key-value` with Knossos's nil reads.
    KeyValueNilAny,
    Mutex,
    MultiRegister,
    /// `multi-register` with Knossos's nil reads.
    MultiRegisterNilAny,
    /// `cas-register` over Jepsen's independent keys 0 and 1.
    IndependentCasRegister,
    /// `mutex` over Jepsen's independent keys 0 and 1.
    IndependentMutex,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::Register,
        Kind::CasRegister,
        Kind::KeyValue,
        Kind::KeyValueNoCas,
        Kind::Counter,
        Kind::Set,
        Kind::Queue,
        Kind::Lock,
        Kind::Lease,
        Kind::CasRegisterNilAny,
        Kind::KeyValueNilAny,
        Kind::Mutex,
        Kind::MultiRegister,
        Kind::MultiRegisterNilAny,
        Kind::IndependentCasRegister,
        Kind::IndependentMutex,
    ];

    pub fn model_name(self) -> &'static str {
        match self.base() {
            Kind::Register => "register",
            Kind::CasRegister => "cas-register",
            Kind::Counter => "counter",
            Kind::Set => "set",
            Kind::Queue => "queue",
            Kind::Lock => "lock",
            Kind::Lease => "lease",
            Kind::Mutex => "mutex",
            Kind::MultiRegister => "multi-register",
            _ => "key-value",
        }
    }

    /// The model a generated history is checked against.
    pub fn model(self) -> AnyModel {
        let model = AnyModel::by_name(self.model_name(), None).expect("a built-in model");
        match self {
            Kind::CasRegisterNilAny | Kind::KeyValueNilAny | Kind::MultiRegisterNilAny => {
                model.with_nil_read(NilRead::Any)
            }
            Kind::IndependentCasRegister | Kind::IndependentMutex => {
                model.independent().expect("a single-key model")
            }
            _ => model,
        }
    }

    /// The kind whose operations and reference implementation this one uses.
    fn base(self) -> Kind {
        match self {
            Kind::CasRegisterNilAny | Kind::IndependentCasRegister => Kind::CasRegister,
            Kind::KeyValueNilAny => Kind::KeyValue,
            Kind::MultiRegisterNilAny => Kind::MultiRegister,
            Kind::IndependentMutex => Kind::Mutex,
            k => k,
        }
    }

    fn independent(self) -> bool {
        matches!(self, Kind::IndependentCasRegister | Kind::IndependentMutex)
    }

    /// The function and input of a new operation, chosen by `c`.
    fn invoke(self, c: u8) -> (&'static str, Value) {
        if self.independent() {
            let (f, v) = self.base().invoke(c >> 1);
            return (f, Value::List(vec![Value::Int((c & 1) as i64), v]));
        }
        let small = |c: u8| Value::Int((c % 3) as i64);
        match self {
            Kind::Register | Kind::CasRegister => match c % if self == Kind::CasRegister { 3 } else { 2 } {
                0 => ("read", Value::Nil),
                1 => ("write", small(c / 3)),
                _ => ("cas", Value::List(vec![small(c / 3), small(c / 9)])),
            },
            Kind::KeyValue => kv_invoke(c, 4),
            Kind::KeyValueNoCas => kv_invoke(c, 3),
            Kind::Counter => match c % 2 {
                0 => ("read", Value::Nil),
                _ => ("incr", Value::Int([1, 2, -1][(c / 2 % 3) as usize])),
            },
            Kind::Set | Kind::Queue => match (c % 2, self) {
                (0, Kind::Set) => ("read", Value::Nil),
                (0, _) => ("dequeue", Value::Nil),
                (_, Kind::Set) => ("add", Value::Int((c / 2 % 3) as i64 + 1)),
                _ => ("enqueue", Value::Int((c / 2 % 3) as i64 + 1)),
            },
            Kind::Lock | Kind::Lease => match c % 4 {
                0 => ("acquire", Value::Nil),
                1 => ("release", Value::Int((c / 4 % 3) as i64 + 1)),
                2 => ("write", Value::List(vec![Value::Int((c / 4 % 3) as i64 + 1), small(c / 12)])),
                _ => ("read", Value::Nil),
            },
            Kind::Mutex => (["acquire", "release"][(c % 2) as usize], Value::Nil),
            Kind::MultiRegister => ("txn", txn_invoke(c)),
            other => other.base().invoke(c),
        }
    }

    /// A random output for function `f` (for corrupted and random-mode completions).
    fn random_output(self, f: &str, input: &Value, c: u8) -> Value {
        if self.independent() {
            let (key, inner) = match input.as_list() {
                Some([k, v]) => (k.clone(), v),
                _ => (Value::Nil, input),
            };
            return Value::List(vec![key, self.base().random_output(f, inner, c)]);
        }
        let pick = |options: &[Value]| options[c as usize % options.len()].clone();
        match (self.base(), f) {
            (Kind::KeyValue | Kind::KeyValueNoCas, "get") => {
                let key = input.as_list().and_then(|l| l.first()).cloned().unwrap_or(Value::Nil);
                Value::List(vec![key, pick(&[Value::Nil, "x".into(), "y".into(), "xy".into(), "yx".into()])])
            }
            (Kind::Counter, "read") => Value::Int((c % 5) as i64 - 1),
            (Kind::Set, "read") => Value::List((1..=3).filter(|i| c >> i & 1 == 1).map(Value::Int).collect()),
            (Kind::Lock | Kind::Lease, "acquire") if c % 5 == 4 => Value::Nil,
            (Kind::Lock | Kind::Lease, "acquire") => Value::Int((c % 4) as i64),
            (Kind::MultiRegister, "txn") => txn_random_reads(input, c),
            (_, "read" | "dequeue") => pick(&[Value::Nil, 0.into(), 1.into(), 2.into()]),
            _ => input.clone(),
        }
    }
}

/// A key-value operation: get, put, append, and cas when `kinds` is 4.
fn kv_invoke(c: u8, kinds: u8) -> (&'static str, Value) {
    let key = Value::from(["a", "b"][(c % 2) as usize]);
    let s = |c: u8| Value::from(["x", "y"][(c % 2) as usize]);
    match c / 2 % kinds {
        0 => ("get", Value::List(vec![key, Value::Nil])),
        1 => ("put", Value::List(vec![key, s(c / 8)])),
        2 => ("append", Value::List(vec![key, s(c / 8)])),
        _ => (
            "cas",
            Value::List(vec![
                key,
                [Value::Nil, "x".into(), "xy".into()][(c / 8 % 3) as usize].clone(),
                s(c / 32),
            ]),
        ),
    }
}

/// A multi-register transaction of one or two micro-operations over keys x and y: bit 0 picks
/// how many, then two bits per micro-operation pick read or write and the key; the top three
/// bits pick the written values.
fn txn_invoke(c: u8) -> Value {
    let micro = |i: u8| {
        let key = Value::from(["x", "y"][(c >> (2 + 2 * i) & 1) as usize]);
        match c >> (1 + 2 * i) & 1 {
            0 => Value::List(vec!["read".into(), key, Value::Nil]),
            _ => Value::List(vec!["write".into(), key, Value::Int(((c >> 5) + i) as i64 % 3)]),
        }
    };
    Value::List((0..1 + (c & 1)).map(micro).collect())
}

/// The transaction `input` with every read's value drawn from nil, 0, 1 and 2.
fn txn_random_reads(input: &Value, c: u8) -> Value {
    let items = input.as_list().unwrap_or(&[]).iter().enumerate().map(|(i, m)| match m.as_list() {
        Some([f, k, _]) if f.as_str() == Some("read") => {
            let v = [Value::Nil, 0.into(), 1.into(), 2.into()][(c as usize >> (2 * i)) % 4].clone();
            Value::List(vec![f.clone(), k.clone(), v])
        }
        _ => m.clone(),
    });
    Value::List(items.collect())
}

/// A reference implementation of every built-in model, used to produce plausible outputs.
#[derive(Clone, Debug, Default)]
struct Reference {
    value: Value,
    keys: BTreeMap<Value, Value>,
    count: i64,
    elements: BTreeSet<Value>,
    queue: VecDeque<Value>,
    held: bool,
    newest: i64,
}

impl Reference {
    /// Executes `f(input)` as a `kind` (a base kind); the output, or `None` when it cannot take
    /// effect (it then fails).
    fn apply(&mut self, kind: Kind, f: &str, input: &Value) -> Option<Value> {
        let args = input.as_list().unwrap_or(&[]);
        match (kind, f, args) {
            (Kind::KeyValue | Kind::KeyValueNoCas, _, [k, ..]) => self.apply_kv(f, k, args),
            (Kind::Lock | Kind::Lease, _, _) => self.apply_lock(kind == Kind::Lease, f, input),
            (Kind::Mutex, _, _) => self.apply_mutex(f),
            (Kind::MultiRegister, _, _) => Some(self.apply_txn(args)),
            (_, "read", _) if kind == Kind::Counter => Some(Value::Int(self.count)),
            (_, "read", _) if kind == Kind::Set => Some(Value::List(self.elements.iter().cloned().collect())),
            (_, "read", _) => Some(self.value.clone()),
            (_, "write", _) => {
                self.value = input.clone();
                Some(input.clone())
            }
            (_, "cas", [from, to]) => (self.value == *from).then(|| {
                self.value = to.clone();
                input.clone()
            }),
            (_, "incr", _) => {
                self.count += input.as_int().unwrap_or(0);
                Some(input.clone())
            }
            (_, "add", _) => Some(input.clone()).inspect(|v| {
                self.elements.insert(v.clone());
            }),
            (_, "enqueue", _) => Some(input.clone()).inspect(|v| self.queue.push_back(v.clone())),
            (_, "dequeue", _) => Some(self.queue.pop_front().unwrap_or(Value::Nil)),
            _ => None,
        }
    }

    fn apply_kv(&mut self, f: &str, k: &Value, args: &[Value]) -> Option<Value> {
        let current = self.keys.get(k).cloned().unwrap_or(Value::Nil);
        let next = match (f, args) {
            ("get", _) => return Some(Value::List(vec![k.clone(), current])),
            ("put", [_, v]) => v.clone(),
            ("append", [_, Value::Str(s)]) => match current {
                Value::Str(c) => Value::Str(c + s),
                _ => Value::Str(s.clone()),
            },
            ("cas", [_, from, to]) if current == *from => to.clone(),
            _ => return None,
        };
        self.keys.insert(k.clone(), next);
        Some(Value::List(args.to_vec()))
    }

    fn apply_lock(&mut self, lease: bool, f: &str, input: &Value) -> Option<Value> {
        match f {
            "acquire" if lease || !self.held => {
                self.held = true;
                self.newest += 1;
                Some(Value::Int(self.newest))
            }
            "release" if self.held && input.as_int() == Some(self.newest) => {
                self.held = false;
                Some(input.clone())
            }
            "write" => match input.as_list() {
                Some([t, v]) if t.as_int() == Some(self.newest) => {
                    self.value = v.clone();
                    Some(input.clone())
                }
                _ => None,
            },
            "read" => Some(self.value.clone()),
            _ => None,
        }
    }

    fn apply_mutex(&mut self, f: &str) -> Option<Value> {
        let acquire = f == "acquire";
        (self.held != acquire).then(|| {
            self.held = acquire;
            Value::Nil
        })
    }

    /// Runs a transaction on `keys`; the transaction with the values its reads saw.
    fn apply_txn(&mut self, micro: &[Value]) -> Value {
        let mut out = Vec::with_capacity(micro.len());
        for m in micro {
            match m.as_list() {
                Some([f, k, _]) if f.as_str() == Some("read") => {
                    let v = self.keys.get(k).cloned().unwrap_or(Value::Nil);
                    out.push(Value::List(vec![f.clone(), k.clone(), v]));
                }
                Some([_, k, v]) => {
                    self.keys.insert(k.clone(), v.clone());
                    out.push(m.clone());
                }
                _ => out.push(m.clone()),
            }
        }
        Value::List(out)
    }
}

/// Maps bytes to a model and a small well-formed history (see the module header): at most
/// [`MAX_GENERATED_OPS`] operations from three clients.
pub fn history_from_bytes(data: &[u8]) -> (AnyModel, History) {
    history_from_bytes_sized(data, MAX_GENERATED_OPS, 3)
}

/// One completion in how many is corrupted, for a history of up to `max_ops` operations: about
/// one corruption per history, so that both answers stay common as histories grow.
fn corruption_rate(max_ops: usize) -> u16 {
    (max_ops as u16).clamp(6, 200)
}

/// Like [`history_from_bytes`], with up to `max_ops` operations from `clients` clients.
pub fn history_from_bytes_sized(data: &[u8], max_ops: usize, clients: u8) -> (AnyModel, History) {
    let clients = clients.max(1);
    let mut bytes = data.iter().copied();
    let head = bytes.next().unwrap_or(0);
    let kind = Kind::ALL[(head & 0x7f) as usize % Kind::ALL.len()];
    let mut g = Generator {
        kind,
        simulate: head & 0x80 == 0,
        corrupt_one_in: corruption_rate(max_ops),
        references: BTreeMap::new(),
        history: History::new(),
        invoked: 0,
    };
    let mut slots: Vec<(u64, Option<(&'static str, Value)>)> =
        (0..clients as u64).map(|p| (p, None)).collect();
    while let Some(b) = bytes.next() {
        let client = &mut slots[(b % clients) as usize];
        match client.1.take() {
            None if g.invoked < max_ops => {
                let (f, input) = kind.invoke(bytes.next().unwrap_or(0));
                g.push(Event::invoke(client.0, f, input.clone(), 0));
                g.invoked += 1;
                client.1 = Some((f, input));
            }
            None => {}
            Some((f, input)) => {
                let pid = client.0;
                if g.complete(pid, f, &input, b, bytes.next().unwrap_or(0)) == EventKind::Info {
                    client.0 += clients as u64;
                }
            }
        }
    }
    (kind.model(), g.history)
}

struct Generator {
    kind: Kind,
    simulate: bool,
    corrupt_one_in: u16,
    /// One reference per independent key (one, under nil, for the other kinds).
    references: BTreeMap<Value, Reference>,
    history: History,
    invoked: usize,
}

impl Generator {
    fn push(&mut self, e: Event) {
        let time = self.history.len() as u64;
        self.history.push(Event { time, ..e });
    }

    /// Executes `f(input)` on the reference, for the key of an independent kind.
    fn apply(&mut self, f: &str, input: &Value) -> Option<Value> {
        let base = self.kind.base();
        match input.as_list() {
            Some([key, inner]) if self.kind.independent() => {
                let out = self.references.entry(key.clone()).or_default().apply(base, f, inner)?;
                Some(Value::List(vec![key.clone(), out]))
            }
            _ => self.references.entry(Value::Nil).or_default().apply(base, f, input),
        }
    }

    /// Completes the operation `f(input)` of `pid` as chosen by `b`; `c` picks random outputs.
    fn complete(&mut self, pid: u64, f: &str, input: &Value, b: u8, c: u8) -> EventKind {
        let outcome = match b / 3 % 8 {
            0..=4 => EventKind::Ok,
            5 => EventKind::Info,
            _ => EventKind::Fail,
        };
        let corrupt = !self.simulate || (b as u16 * 7 + c as u16) % self.corrupt_one_in == 0;
        // A mutex's outputs carry nothing, so its corruption is an ok for an operation that
        // could not take effect.
        let lies = corrupt && self.kind.base() == Kind::Mutex;
        let (kind, value) = match outcome {
            EventKind::Ok => match (self.apply(f, input), corrupt) {
                (Some(_), true) => (EventKind::Ok, self.kind.random_output(f, input, c)),
                (Some(out), false) => (EventKind::Ok, out),
                (None, _) if lies => (EventKind::Ok, input.clone()),
                (None, _) => (EventKind::Fail, input.clone()),
            },
            EventKind::Info => {
                if c & 1 == 1 {
                    self.apply(f, input);
                }
                (EventKind::Info, Value::Nil)
            }
            _ => (EventKind::Fail, input.clone()),
        };
        self.push(Event::complete(pid, kind, f, value, 0));
        kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_histories_are_well_formed_and_small() {
        for seed in 0..2000u32 {
            let data: Vec<u8> =
                (0..40).map(|i| (seed.wrapping_mul(2654435761).rotate_left(i) >> 7) as u8).collect();
            let (model, h) = history_from_bytes(&data);
            let ops = h.operations().expect("well-formed");
            assert!(ops.len() <= MAX_GENERATED_OPS, "{} ops", ops.len());
            assert!(AnyModel::by_name(model.name(), None).is_ok());
        }
    }

    #[test]
    fn every_kind_compiles_its_own_histories() {
        for (k, kind) in Kind::ALL.iter().enumerate() {
            let data: Vec<u8> =
                std::iter::once(k as u8).chain((0..60u8).map(|i| i.wrapping_mul(37))).collect();
            let (model, h) = history_from_bytes(&data);
            assert_eq!(model, kind.model());
            assert!(crate::lin::check(&model, &h, &crate::lin::Options::default()).is_ok(), "{kind:?}");
        }
    }
}
