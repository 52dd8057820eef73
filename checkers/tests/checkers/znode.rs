//! Goal: the linearizability search gives the brute-force oracle's answer on histories of the
//! `znode` model, whose ephemeral nodes may vanish (a state change no operation asks for) and
//! whose failures are answers that carry meaning ("exists", "bad-version").
//!
//! Method: bytes drive three clients over two persistent paths, one ephemeral path and one
//! sequential prefix. Each completion is computed by a reference tree at the moment it
//! completes (so the history is linearizable by construction), except that the ephemeral node
//! may vanish at any step, and that now and then an answer is replaced by a plausible wrong one
//! or the operation ends as `info` or `fail`. The fast checker and the oracle must agree, and
//! both answers must be common.

use faultline_checkers::fuzzing::assert_agrees;
use faultline_checkers::lin::{check, Options};
use faultline_checkers::{AnyModel, Event, EventKind, History, Value};
use proptest::prelude::*;
use std::collections::BTreeMap;

const PATHS: [&str; 3] = ["/a", "/b", "/e"];

/// The reference tree: path -> (data, version, ephemeral); the last sequence number.
#[derive(Default)]
struct Reference {
    nodes: BTreeMap<&'static str, (String, i64, bool)>,
    seq: i64,
}

fn l(items: Vec<Value>) -> Value {
    Value::List(items)
}

fn invoke(c: u8) -> (&'static str, Value) {
    let path = PATHS[(c % 3) as usize];
    let data = ["x", "y"][(c / 3 % 2) as usize];
    let version = |c: u8| if c % 3 == 0 { Value::Nil } else { Value::Int((c % 3 - 1) as i64) };
    match (c / 6 % 7, path) {
        (0, "/e") => ("create-eph", l(vec![path.into(), data.into()])),
        (0, _) => ("create", l(vec![path.into(), data.into()])),
        (1, _) => ("set", l(vec![path.into(), data.into(), version(c / 42)])),
        (2, _) => ("delete", l(vec![path.into(), version(c / 42)])),
        (3, "/e") => ("expire", l(vec![path.into()])),
        (4, _) => ("create-seq", l(vec!["/s".into(), data.into()])),
        (5, _) => ("read-local", l(vec![path.into()])),
        _ => ("get", l(vec![path.into()])),
    }
}

impl Reference {
    /// Executes `f(input)` and gives its answer.
    fn apply(&mut self, f: &str, input: &Value) -> Value {
        let args = input.as_list().expect("generated inputs are lists");
        let path = PATHS.iter().copied().find(|p| Value::from(*p) == args[0]).unwrap_or("/s");
        let version = |v: Option<&Value>| v.and_then(Value::as_int);
        let node = self.nodes.get(path).cloned();
        match (f, node) {
            ("create" | "create-eph", Some(_)) => "exists".into(),
            ("create" | "create-eph", None) => {
                let data = args[1].as_str().unwrap_or_default().to_string();
                self.nodes.insert(path, (data, 0, f == "create-eph"));
                "created".into()
            }
            ("set" | "delete", None) => "no-node".into(),
            ("set" | "delete", Some((_, v, _))) if version(args.last()).is_some_and(|e| e != v) => {
                "bad-version".into()
            }
            ("set", Some((_, v, eph))) => {
                let data = args[1].as_str().unwrap_or_default().to_string();
                self.nodes.insert(path, (data, v + 1, eph));
                Value::Int(v + 1)
            }
            ("delete", Some(_)) => {
                self.nodes.remove(path);
                "deleted".into()
            }
            ("expire", _) => {
                self.nodes.remove("/e");
                Value::Nil
            }
            ("create-seq", _) => {
                self.seq += 1 + i64::from(args[1] == Value::from("y"));
                Value::Int(self.seq)
            }
            ("get" | "read-local", Some((d, v, _))) => l(vec![d.into(), v.into()]),
            _ => Value::Nil,
        }
    }
}

/// A plausible wrong answer to `f`.
fn wrong(f: &str, c: u8) -> Value {
    let pick = |options: Vec<Value>| options[c as usize % options.len()].clone();
    match f {
        "create" | "create-eph" => pick(vec!["created".into(), "exists".into()]),
        "set" => pick(vec![1.into(), 2.into(), "no-node".into(), "bad-version".into()]),
        "delete" => pick(vec!["deleted".into(), "no-node".into(), "bad-version".into()]),
        "create-seq" => pick(vec![1.into(), 2.into(), 3.into()]),
        _ => pick(vec![Value::Nil, l(vec!["x".into(), 0.into()]), l(vec!["y".into(), 1.into()])]),
    }
}

/// A history of at most 8 operations from three clients, driven by `data`.
fn history(data: &[u8]) -> History {
    let mut h = History::new();
    let mut reference = Reference::default();
    let mut open: [Option<(u64, &'static str, Value)>; 3] = [None, None, None];
    let mut pids = [0u64, 1, 2];
    let (mut invoked, mut bytes) = (0, data.iter().copied());
    while let Some(b) = bytes.next() {
        let time = h.len() as u64;
        if b % 11 == 0 {
            reference.nodes.retain(|_, node| !node.2); // the session expired: ephemerals vanish
        }
        let slot = (b % 3) as usize;
        match open[slot].take() {
            None if invoked < 8 => {
                let (f, input) = invoke(bytes.next().unwrap_or(0));
                h.push(Event::invoke(pids[slot], f, input.clone(), time));
                open[slot] = Some((pids[slot], f, input));
                invoked += 1;
            }
            None => {}
            Some((pid, f, input)) => {
                let c = bytes.next().unwrap_or(0);
                let (kind, value) = match b / 3 % 9 {
                    0 => (EventKind::Info, Value::Nil),
                    1 => (EventKind::Fail, input.clone()),
                    2 => (EventKind::Ok, wrong(f, c)),
                    _ => (EventKind::Ok, reference.apply(f, &input)),
                };
                if kind == EventKind::Info {
                    pids[slot] += 3;
                    if c & 1 == 1 {
                        reference.apply(f, &input);
                    }
                }
                h.push(Event::complete(pid, kind, f, value, time));
            }
        }
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2500, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn znode_agrees_with_the_oracle(data in prop::collection::vec(any::<u8>(), 0..64)) {
        assert_agrees(&AnyModel::by_name("znode", None).unwrap(), &history(&data));
    }
}

#[test]
fn generated_znode_histories_are_often_linearizable_and_often_not() {
    let model = AnyModel::by_name("znode", None).unwrap();
    let (mut ok, mut bad) = (0, 0);
    for seed in 0..400u32 {
        let data: Vec<u8> =
            (0..48).map(|i| (seed.wrapping_mul(2654435761).rotate_left(i) >> 5) as u8).collect();
        let report = check(&model, &history(&data), &Options::default()).unwrap();
        if report.verdict.is_ok() {
            ok += 1;
        } else {
            bad += 1;
        }
    }
    assert!(ok >= 60 && bad >= 60, "{ok} linearizable, {bad} not, of 400");
}
