//! Linearizability benchmark: prints figures, asserts nothing about time.
//!
//! ```text
//! cargo bench -p faultline-checkers --bench lin            # FAULTLINE_BENCH_ROUNDS=11 by default
//! ```
//!
//! On the corpus (`FAULTLINE_CORPUS` or `shared/corpus` above this crate):
//! 1. the median check time of every corpus file, and the peak memory so far (faultline only);
//! 2. the 102 non-empty Jepsen etcd logs with faultline's checker and with `porcupine-rs`
//!    0.3.0 (a Rust port of Porcupine, with Porcupine's etcd model), run alternately in the
//!    same process: per-file medians, the sums of medians and of minimums, and the ratio;
//! 3. each key of Porcupine's `kv/c50-bad.txt` checked on its own (porcupine-rs gets a
//!    timeout per key, since Porcupine cannot decide some of them), and the peak memory.
//!
//! Both checkers run single-threaded on the etcd logs (each log is one part).

#![allow(clippy::disallowed_methods)] // a benchmark reads the wall clock by definition

use faultline_checkers::format;
use faultline_checkers::history::{EventKind, History, Value};
use faultline_checkers::lin::{check_named, Options};
use faultline_checkers::Verdict;
use porcupine_rs::{CheckResult, Event as PEvent, EventModel, Model as PModel};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let Some(corpus) = corpus_dir() else {
        eprintln!("\n!!! SKIPPED the linearizability benchmark: no corpus (set FAULTLINE_CORPUS)\n");
        return;
    };
    let rounds: usize =
        std::env::var("FAULTLINE_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(11);
    println!("faultline linearizability benchmark, {rounds} rounds, corpus {}", corpus.display());
    every_file(&corpus, rounds);
    println!("\npeak memory of faultline alone, all of the above (VmHWM): {}", peak_memory());
    etcd(&corpus, rounds);
    c50_bad_keys(&corpus, rounds);
    println!("\npeak memory including porcupine-rs (VmHWM): {}", peak_memory());
}

fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FAULTLINE_CORPUS") {
        return Some(PathBuf::from(dir));
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().map(|d| d.join("shared/corpus")).find(|d| d.is_dir())
}

fn read(path: &Path) -> format::Parsed {
    format::parse(&std::fs::read_to_string(path).unwrap(), None).unwrap()
}

/// Milliseconds taken by `f`, and its result.
fn timed<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed().as_secs_f64() * 1000.0, out)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::Violation(_) => "violation",
        Verdict::Unknown(_) => "unknown",
    }
}

fn porcupine_word(r: CheckResult) -> &'static str {
    match r {
        CheckResult::Ok => "ok",
        CheckResult::Illegal => "violation",
        CheckResult::Unknown => "unknown",
    }
}

fn single_threaded() -> Options {
    Options { threads: 1, ..Options::default() }
}

struct Timing {
    name: String,
    ours: Vec<f64>,
    theirs: Vec<f64>,
}

fn etcd(corpus: &Path, rounds: usize) {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(corpus.join("porcupine/test_data/jepsen"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    logs.sort();
    let logs: Vec<(String, History)> = logs
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), read(p).history))
        .filter(|(_, h)| !h.is_empty())
        .collect();
    let ported: Vec<Vec<PEvent<Etcd>>> = logs.iter().map(|(_, h)| etcd_events(h)).collect();
    let mut timings: Vec<Timing> =
        logs.iter().map(|(n, _)| Timing { name: n.clone(), ours: vec![], theirs: vec![] }).collect();
    let mut disagreements = Vec::new();
    for round in 0..rounds {
        for (i, (name, h)) in logs.iter().enumerate() {
            let (ms, report) = timed(|| check_named("cas-register", None, h, &single_threaded()).unwrap());
            timings[i].ours.push(ms);
            let (ms, theirs) =
                timed(|| porcupine_rs::check_events_timeout(&ported[i], Duration::from_secs(60)));
            timings[i].theirs.push(ms);
            let theirs = porcupine_word(theirs);
            if round == 0 && word(&report.verdict) != theirs {
                disagreements.push(format!("{name}: faultline {}, porcupine-rs {theirs}", report.verdict));
            }
        }
    }
    print_etcd(&mut timings, &disagreements);
}

fn print_etcd(timings: &mut [Timing], disagreements: &[String]) {
    println!("\n== {} Jepsen etcd logs (cas-register): median ms per file ==", timings.len());
    println!("{:<16} {:>10} {:>13}", "file", "faultline", "porcupine-rs");
    let (mut ours, mut theirs, mut ours_min, mut theirs_min) = (0.0, 0.0, 0.0, 0.0);
    for t in timings.iter_mut() {
        ours_min += t.ours.iter().copied().fold(f64::INFINITY, f64::min);
        theirs_min += t.theirs.iter().copied().fold(f64::INFINITY, f64::min);
        let (o, p) = (median(&mut t.ours), median(&mut t.theirs));
        ours += o;
        theirs += p;
        println!("{:<16} {o:>10.3} {p:>13.3}", t.name);
    }
    println!("etcd sum of medians:  faultline {ours:.1} ms, porcupine-rs {theirs:.1} ms");
    println!("etcd sum of minimums: faultline {ours_min:.1} ms, porcupine-rs {theirs_min:.1} ms");
    println!("ratio porcupine-rs / faultline (medians): {:.1}x", theirs / ours);
    println!(
        "verdict disagreements: {}",
        if disagreements.is_empty() { "none".into() } else { disagreements.join("; ") }
    );
}

fn c50_bad_keys(corpus: &Path, rounds: usize) {
    let parsed = read(&corpus.join("porcupine/test_data/kv/c50-bad.txt"));
    println!("\n== kv/c50-bad.txt, each key alone (key-value, init \"\"): median ms ==");
    println!("{:<5} {:>5} {:>10} {:>10}   porcupine-rs (1 s timeout)", "key", "ops", "faultline", "verdict");
    let init = parsed.format.default_init();
    for key in 0..10 {
        let h = only_key(&parsed.history, &key.to_string());
        let mut times = Vec::new();
        let mut verdict = Verdict::Ok;
        for _ in 0..rounds {
            let (ms, r) = timed(|| check_named("key-value", init.clone(), &h, &single_threaded()).unwrap());
            times.push(ms);
            verdict = r.verdict;
        }
        let (pms, pr) = timed(|| porcupine_rs::check_events_timeout(&kv_events(&h), Duration::from_secs(1)));
        let ops = h.events.iter().filter(|e| e.kind == EventKind::Invoke).count();
        println!(
            "{key:<5} {ops:>5} {:>10.3} {:>10}   {} in {pms:.0} ms",
            median(&mut times),
            word(&verdict),
            porcupine_word(pr)
        );
    }
}

/// The events of `history` whose value is a `[key value]` pair for `key`.
fn only_key(history: &History, key: &str) -> History {
    let events = history
        .events
        .iter()
        .filter(|e| e.value.as_list().and_then(|l| l.first()) == Some(&Value::from(key)));
    History { events: events.cloned().collect() }
}

fn every_file(corpus: &Path, rounds: usize) {
    println!("\n== every corpus file: median ms ==");
    let tsv = std::fs::read_to_string(corpus.join("expected.tsv")).unwrap();
    for line in tsv.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let model = if cols[0].contains("/jepsen/") {
            "cas-register"
        } else if cols[0].contains("/kv/") {
            "key-value"
        } else {
            let (ms, _) = timed(|| read(&corpus.join(cols[0])));
            println!("{:<48} parse only (transactional) {ms:>9.3}", cols[0]);
            continue;
        };
        let parsed = read(&corpus.join(cols[0]));
        let init = parsed.format.default_init();
        let mut times = Vec::new();
        let mut verdict = Verdict::Ok;
        for _ in 0..rounds {
            let (ms, r) =
                timed(|| check_named(model, init.clone(), &parsed.history, &Options::default()).unwrap());
            times.push(ms);
            verdict = r.verdict;
        }
        println!(
            "{:<48} {:>10} (expected {:<17}) {:>9.3}",
            cols[0],
            word(&verdict),
            cols[3],
            median(&mut times)
        );
    }
}

fn peak_memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with("VmHWM")).map_or("n/a".into(), |l| l[6..].trim().to_string())
}

// ---- Porcupine's etcd model and key-value model, for porcupine-rs ----------------------------
// Porcupine's semantics: a failed cas is linearized and asserts that the compare failed; an
// info (or timed-out) operation has an unknown output, its return moved to the end.

#[derive(Clone, Debug)]
struct Etcd;

#[derive(Clone, Debug)]
enum Input {
    Read,
    Write(i64),
    Cas(i64, i64),
    Get,
    Put(String),
    Append(String),
}

#[derive(Clone, Debug)]
enum Output {
    Value(Option<i64>),
    Text(String),
    Done,
    Cas(bool),
    Unknown,
}

impl PModel for Etcd {
    type State = Option<i64>;
    type Op = (Input, Output);
    type Metadata = ();

    fn init() -> Option<i64> {
        None
    }

    fn step(s: &Option<i64>, op: &(Input, Output)) -> (bool, Option<i64>) {
        match op {
            (Input::Read, Output::Value(v)) => (s == v, *s),
            (Input::Read, _) => (true, *s),
            (Input::Write(v), _) => (true, Some(*v)),
            (Input::Cas(from, to), out) => {
                let matches = *s == Some(*from);
                let ok = matches!(out, Output::Unknown) || matches!(out, Output::Cas(b) if *b == matches);
                (ok, if matches { Some(*to) } else { *s })
            }
            _ => (false, *s),
        }
    }
}

impl EventModel for Etcd {
    type Input = Input;
    type Output = Output;

    fn combine(input: &Input, output: &Output) -> (Input, Output) {
        (input.clone(), output.clone())
    }
}

#[derive(Clone, Debug)]
struct Kv;

impl PModel for Kv {
    type State = String;
    type Op = (Input, Output);
    type Metadata = ();

    fn init() -> String {
        String::new()
    }

    fn step(s: &String, op: &(Input, Output)) -> (bool, String) {
        match op {
            (Input::Get, Output::Text(v)) => (s == v, s.clone()),
            (Input::Put(v), _) => (true, v.clone()),
            (Input::Append(v), _) => (true, format!("{s}{v}")),
            _ => (true, s.clone()),
        }
    }
}

impl EventModel for Kv {
    type Input = Input;
    type Output = Output;

    fn combine(input: &Input, output: &Output) -> (Input, Output) {
        (input.clone(), output.clone())
    }
}

fn int(v: &Value) -> i64 {
    v.as_int().expect("etcd values are integers")
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_default()
}

/// Converts a parsed history to porcupine-rs events with `input` and `output` mappings.
fn port<M: EventModel>(
    h: &History,
    input: impl Fn(&str, &Value) -> M::Input,
    output: impl Fn(&str, EventKind, &Value) -> M::Output,
    unknown: M::Output,
) -> Vec<PEvent<M>> {
    let mut events = Vec::new();
    let mut open: std::collections::BTreeMap<u64, (usize, String)> = Default::default();
    for e in &h.events {
        let client_id = Some(e.process as u32);
        if e.kind == EventKind::Invoke {
            let id = open.len() + events.len();
            open.insert(e.process, (id, e.f.clone()));
            events.push(PEvent::Call { client_id, value: input(&e.f, &e.value), id, metadata: None });
        } else if let Some((id, f)) = open.remove(&e.process) {
            if e.kind == EventKind::Info {
                open.insert(u64::MAX - id as u64, (id, f));
                continue;
            }
            events.push(PEvent::Return {
                client_id,
                value: output(&f, e.kind, &e.value),
                id,
                metadata: None,
            });
        }
    }
    for (_, (id, _)) in open {
        events.push(PEvent::Return { client_id: None, value: unknown.clone(), id, metadata: None });
    }
    events
}

fn etcd_events(h: &History) -> Vec<PEvent<Etcd>> {
    let input = |f: &str, v: &Value| match (f, v.as_list()) {
        ("write", _) => Input::Write(int(v)),
        ("cas", Some([a, b])) => Input::Cas(int(a), int(b)),
        _ => Input::Read,
    };
    let output = |f: &str, kind: EventKind, v: &Value| match f {
        "read" => Output::Value(v.as_int()),
        "cas" => Output::Cas(kind == EventKind::Ok),
        _ => Output::Done,
    };
    port(h, input, output, Output::Unknown)
}

fn kv_events(h: &History) -> Vec<PEvent<Kv>> {
    // One key at a time: the key itself is not needed.
    let input = |f: &str, v: &Value| {
        let val = match v.as_list() {
            Some([_, val]) => text(val),
            _ => String::new(),
        };
        match f {
            "put" => Input::Put(val),
            "append" => Input::Append(val),
            _ => Input::Get,
        }
    };
    let output = |f: &str, _: EventKind, v: &Value| match (f, v.as_list()) {
        ("get", Some([_, val])) => Output::Text(text(val)),
        _ => Output::Done,
    };
    port(h, input, output, Output::Unknown)
}
