//! The bodies of the fuzz targets in `fuzz/`, as plain functions, and the small-history
//! generator they share with the property tests (`generate`).
//!
//! Each target takes raw fuzzer bytes and panics on a bug. `checkers/tests/fuzz_corpus.rs` runs
//! every target over the checked-in corpus (`fuzz/corpus/<target>/`) so the targets keep
//! compiling and passing under plain `cargo test`.

mod generate;

pub use generate::{history_from_bytes, history_from_bytes_sized, Kind, MAX_GENERATED_OPS};

use crate::format::{self, Format};
use crate::history::{Event, History};
use crate::lin::{self, Options};
use crate::model::AnyModel;
use crate::oracle;
use crate::verdict::Verdict;

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
