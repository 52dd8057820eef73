//! The Elle corpus (`shared/corpus/elle/histories`): the checker must give the answers that
//! the corpus MANIFEST records from Elle's own tests.

use faultline_checkers::txn::{
    self, AnomalyKind, ConsistencyModel as M, CycleShape, Order, TxnOptions, Workload,
};
use faultline_checkers::{Event, EventKind, History, Value};
use std::path::{Path, PathBuf};

/// The corpus folder: `$FAULTLINE_CORPUS`, or a `shared/corpus` found walking up from the crate.
fn corpus() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FAULTLINE_CORPUS") {
        return Some(PathBuf::from(dir));
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().map(|a| a.join("shared/corpus")).find(|p| p.is_dir())
}

fn elle_history(name: &str) -> Option<History> {
    let Some(dir) = corpus() else {
        eprintln!("SKIPPED: corpus folder not found (set FAULTLINE_CORPUS); {name} was NOT checked");
        return None;
    };
    let path = dir.join("elle/histories").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(read_elle(&text))
}

// MANIFEST: huge-scc.edn is invalid; Elle (opts {}) reports G2-item-realtime and a cycle that
// strong snapshot isolation forbids (its search timed out before naming it). Nothing in it
// rules out serializability: every cycle needs real-time order.
#[test]
fn elle_huge_scc_is_not_strict_serializable() {
    let Some(h) = elle_history("huge-scc.edn") else { return };
    let report = txn::check(&h, &TxnOptions::new(Workload::ListAppend)).expect("well formed");
    println!("{report}");
    assert!(report.verdict.is_violation());
    assert!(report.rules_out(M::StrongSnapshotIsolation));
    assert!(!report.rules_out(M::Serializable), "no data-only cycle: {:?}", report.counts);
    assert!(
        report.counts.keys().all(|k| matches!(k, AnomalyKind::Cycle(_, Order::Realtime))),
        "{:?}",
        report.counts
    );
}

// MANIFEST: si-without-g-single.edn shows G2-item: not repeatable read, but snapshot isolation
// allows it (Elle's intermediate-sequential-extension-test).
#[test]
fn elle_si_without_g_single_is_g2_item() {
    let Some(h) = elle_history("si-without-g-single.edn") else { return };
    let check = |model| {
        let opts = TxnOptions { model, ..TxnOptions::new(Workload::ListAppend) };
        txn::check(&h, &opts).expect("well formed")
    };
    let report = check(M::RepeatableRead);
    println!("{report}");
    assert!(report.verdict.is_violation());
    assert!(report.has(AnomalyKind::Cycle(CycleShape::G2Item, Order::Data)));
    assert!(check(M::SnapshotIsolation).verdict.is_ok());
}

// MANIFEST: paper-example.edn has no expected answer; it must still be checked without error.
#[test]
fn elle_paper_example_is_checked() {
    let Some(h) = elle_history("paper-example.edn") else { return };
    let report = txn::check(&h, &TxnOptions::new(Workload::ListAppend)).expect("well formed");
    println!("{report}");
}

/// A minimal reader for Elle's history streams: one `{:key value ...}` map per line, vectors,
/// maps, keywords (read as strings without the colon), strings, integers, `nil`; `;` starts a
/// comment. Missing `:process` reads as 0 and missing `:f` as `txn`; the nemesis's events (a
/// keyword process, logged as pairs of `:info`) are left out.
fn read_elle(text: &str) -> History {
    let mut history = History::new();
    for line in text.lines() {
        let tokens = tokenize(line);
        if tokens.is_empty() {
            continue;
        }
        let Value::List(pairs) = parse(&mut tokens.into_iter().peekable()) else {
            panic!("not a map: {line}")
        };
        if let Some(event) = event(&pairs) {
            history.push(event);
        }
    }
    history
}

fn event(pairs: &[Value]) -> Option<Event> {
    let get = |k: &str| pairs.chunks(2).find(|p| p[0].as_str() == Some(k)).map(|p| p[1].clone());
    let kind = match get("type").as_ref().and_then(Value::as_str) {
        Some("invoke") => EventKind::Invoke,
        Some("ok") => EventKind::Ok,
        Some("fail") => EventKind::Fail,
        _ => EventKind::Info,
    };
    let process = match get("process") {
        None => 0,
        Some(Value::Int(p)) => p as u64,
        Some(_) => return None,
    };
    let f = get("f").and_then(|f| f.as_str().map(str::to_string)).unwrap_or_else(|| "txn".into());
    let time = get("time").and_then(|t| t.as_int()).unwrap_or(0) as u64;
    Some(Event { process, kind, f, value: get("value").unwrap_or_default(), time })
}

/// Tokens: brackets, strings (with their quote kept as a marker), and bare words.
fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' => break,
            c if c.is_whitespace() || c == ',' => {}
            '{' | '}' | '[' | ']' => out.push(c.to_string()),
            '"' => {
                let mut s = String::from('"');
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => s.extend(chars.next()),
                        c => s.push(c),
                    }
                }
                out.push(s);
            }
            c => {
                let mut word = c.to_string();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || ",{}[]\"".contains(c) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(word);
            }
        }
    }
    out
}

/// Maps and vectors both read as lists (a map as its keys and values in turn).
fn parse(tokens: &mut std::iter::Peekable<std::vec::IntoIter<String>>) -> Value {
    let token = tokens.next().expect("a form");
    match token.as_str() {
        "{" | "[" => {
            let close = if token == "{" { "}" } else { "]" };
            let mut items = Vec::new();
            while tokens.peek().map(String::as_str) != Some(close) {
                items.push(parse(tokens));
            }
            tokens.next();
            Value::List(items)
        }
        "nil" => Value::Nil,
        t if t.starts_with(':') || t.starts_with('"') => Value::Str(t[1..].to_string()),
        t => Value::Int(t.parse().unwrap_or_else(|_| panic!("unexpected token {t}"))),
    }
}
