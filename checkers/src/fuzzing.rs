//! The bodies of the fuzz targets in `fuzz/`, as plain functions, and the small-history
//! generator they share with the property tests.
//!
//! Each target takes raw fuzzer bytes and panics on a bug. `checkers/tests/fuzz_corpus.rs` runs
//! every target over the checked-in corpus (`fuzz/corpus/<target>/`) so the targets keep
//! compiling and passing under plain `cargo test`.
//!
//! [`history_from_bytes`] maps any byte string to a small well-formed history for one of the
//! built-in models: three clients invoke operations and complete them as ok, fail or info. In
//! the common mode, each completion is computed by a reference implementation of the model at
//! the moment it completes (so the history is linearizable by construction) and occasionally
//! corrupted; in the other mode, outputs are drawn at random. Either way the answer is unknown
//! to the generator: the targets compare the fast checker with the oracle.

use crate::format::{self, Format};
use crate::history::{Event, EventKind, History, Value};
use crate::lin::{self, Options};
use crate::model::AnyModel;
use crate::oracle;
use crate::verdict::Verdict;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Most operations a generated history has (the oracle's cost grows factorially).
pub const MAX_GENERATED_OPS: usize = 8;

/// Fuzz target `edn`: the EDN reader never panics, and a history it reads writes back to EDN
/// that reads as the same events.
pub fn edn(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = format::edn::parse_all(text);
    round_trip(text, Format::Edn);
    round_trip(text, Format::PorcupineKv);
}

/// Fuzz target `jsonl`: the JSON-lines reader never panics, and what it reads round-trips.
pub fn jsonl(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    round_trip(text, Format::Jsonl);
    round_trip(text, Format::PorcupineEtcd);
}

fn round_trip(text: &str, format: Format) {
    let Ok(parsed) = format::parse(text, Some(format)) else { return };
    let _ = parsed.history.operations();
    let written = format::write(&parsed.history, format);
    let again = match format::parse(&written, Some(format)) {
        Ok(again) => again,
        Err(e) => panic!("{format} written by faultline does not read back: {e}\n{written}"),
    };
    let times_kept = format != Format::PorcupineEtcd;
    let strip = |h: &History| -> Vec<Event> {
        h.events.iter().map(|e| Event { time: if times_kept { e.time } else { 0 }, ..e.clone() }).collect()
    };
    assert_eq!(strip(&again.history), strip(&parsed.history), "{format} round trip changed the history");
}

/// Fuzz target `lin`: on a small history, the linearizability checker agrees with the
/// brute-force oracle, and its linearization points are a valid linearization (all of it for
/// an ok verdict, the prefix for a violation).
pub fn lin(data: &[u8]) {
    let (model, history) = history_from_bytes(data);
    assert_agrees(&model, &history);
}

/// Panics, with the history, unless the fast checker and the oracle agree on `history`.
pub fn assert_agrees(model: &AnyModel, history: &History) {
    let options = Options { threads: 1, witness: true, ..Options::default() };
    let fast = lin::check(model, history, &options);
    let slow = oracle::check(model, history);
    let dump = || format!("model {}, history:\n{}", model.name(), format::write(history, Format::Jsonl));
    let (fast, slow) = match (fast, slow) {
        (Ok(fast), Ok(slow)) => (fast, slow),
        (Err(a), Err(oracle::OracleError::Check(b))) if a == b => return,
        (fast, slow) => {
            panic!("checker and oracle disagree on well-formedness: {fast:?} vs {slow:?}\n{}", dump())
        }
    };
    match (&fast.verdict, slow) {
        (Verdict::Ok, true) | (Verdict::Violation(_), false) => {}
        (verdict, slow) => panic!("checker says {verdict}, oracle says linearizable={slow}\n{}", dump()),
    }
    let complete = fast.verdict.is_ok();
    if let Err(why) = oracle::validate_points(model, history, &fast.linearization, complete) {
        panic!("the checker's linearization is invalid: {why}\n{}", dump());
    }
}

/// The built-in models the generator drives.
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
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Register,
        Kind::CasRegister,
        Kind::KeyValue,
        Kind::KeyValueNoCas,
        Kind::Counter,
        Kind::Set,
        Kind::Queue,
        Kind::Lock,
        Kind::Lease,
    ];

    pub fn model_name(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::CasRegister => "cas-register",
            Kind::KeyValue | Kind::KeyValueNoCas => "key-value",
            Kind::Counter => "counter",
            Kind::Set => "set",
            Kind::Queue => "queue",
            Kind::Lock => "lock",
            Kind::Lease => "lease",
        }
    }

    /// The function and input of a new operation, chosen by `c`.
    fn invoke(self, c: u8) -> (&'static str, Value) {
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
        }
    }

    /// A random output for function `f` (for corrupted and random-mode completions).
    fn random_output(self, f: &str, input: &Value, c: u8) -> Value {
        let pick = |options: &[Value]| options[c as usize % options.len()].clone();
        match (self, f) {
            (Kind::KeyValue | Kind::KeyValueNoCas, "get") => {
                let key = input.as_list().and_then(|l| l.first()).cloned().unwrap_or(Value::Nil);
                Value::List(vec![key, pick(&[Value::Nil, "x".into(), "y".into(), "xy".into(), "yx".into()])])
            }
            (Kind::Counter, "read") => Value::Int((c % 5) as i64 - 1),
            (Kind::Set, "read") => Value::List((1..=3).filter(|i| c >> i & 1 == 1).map(Value::Int).collect()),
            (Kind::Lock | Kind::Lease, "acquire") if c % 5 == 4 => Value::Nil,
            (Kind::Lock | Kind::Lease, "acquire") => Value::Int((c % 4) as i64),
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
    /// Executes `f(input)`; the output, or `None` when it cannot take effect (it then fails).
    fn apply(&mut self, kind: Kind, f: &str, input: &Value) -> Option<Value> {
        let args = input.as_list().unwrap_or(&[]);
        match (kind, f, args) {
            (Kind::KeyValue | Kind::KeyValueNoCas, _, [k, ..]) => self.apply_kv(f, k, args),
            (Kind::Lock | Kind::Lease, _, _) => self.apply_lock(kind == Kind::Lease, f, input),
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
    let simulate = head & 0x80 == 0;
    let model = AnyModel::by_name(kind.model_name(), None).expect("built-in model");
    let corrupt_one_in = corruption_rate(max_ops);
    let mut g = Generator {
        kind,
        simulate,
        corrupt_one_in,
        reference: Reference::default(),
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
    (model, g.history)
}

struct Generator {
    kind: Kind,
    simulate: bool,
    corrupt_one_in: u16,
    reference: Reference,
    history: History,
    invoked: usize,
}

impl Generator {
    fn push(&mut self, e: Event) {
        let time = self.history.len() as u64;
        self.history.push(Event { time, ..e });
    }

    /// Completes the operation `f(input)` of `pid` as chosen by `b`; `c` picks random outputs.
    fn complete(&mut self, pid: u64, f: &str, input: &Value, b: u8, c: u8) -> EventKind {
        let outcome = match b / 3 % 8 {
            0..=4 => EventKind::Ok,
            5 => EventKind::Info,
            _ => EventKind::Fail,
        };
        let corrupt = !self.simulate || (b as u16 * 7 + c as u16) % self.corrupt_one_in == 0;
        let (kind, value) = match outcome {
            EventKind::Ok => match (self.reference.apply(self.kind, f, input), corrupt) {
                (Some(_), true) => (EventKind::Ok, self.kind.random_output(f, input, c)),
                (Some(out), false) => (EventKind::Ok, out),
                (None, _) => (EventKind::Fail, input.clone()),
            },
            EventKind::Info => {
                if c & 1 == 1 {
                    self.reference.apply(self.kind, f, input);
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
}
