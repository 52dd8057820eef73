//! Goal: the checker gives the known answer for every history of the corpus (Porcupine's
//! Jepsen etcd logs and key-value logs; the Elle list-append histories only need to read, their
//! check belongs to the transactional checker). Method: read `expected.tsv`, parse each file with
//! the guessed format, check that the number of invocations matches, set the model up with the
//! format's defaults (Porcupine's meaning of nil reads and initial values), as `faultline check`
//! does, and compare the verdict with the expected one (a deadline turns a hang into a failure,
//! never a pass).

use crate::support::{corpus_dir, loud_skip};
use faultline_checkers::conventions::{setup, Conventions};
use faultline_checkers::format;
use faultline_checkers::lin::{check, Options};
use faultline_checkers::{NilRead, Verdict};
use std::time::Duration;

struct Row {
    path: String,
    invocations: usize,
    expected: String,
}

fn rows(tsv: &str) -> Vec<Row> {
    tsv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Row {
                path: cols[0].to_string(),
                invocations: cols[2].parse().unwrap(),
                expected: cols[3].to_string(),
            }
        })
        .collect()
}

/// The model a corpus file is checked with, or `None` for files this checker does not check.
fn model_for(path: &str) -> Option<&'static str> {
    if path.contains("/jepsen/etcd_") {
        Some("cas-register")
    } else if path.contains("/kv/") {
        Some("key-value")
    } else {
        None
    }
}

#[test]
fn every_corpus_history_gets_its_known_answer() {
    let dir = match corpus_dir() {
        Ok(dir) => dir,
        Err(why) => return loud_skip("every_corpus_history_gets_its_known_answer", &why),
    };
    let rows = rows(&std::fs::read_to_string(dir.join("expected.tsv")).unwrap());
    assert!(rows.len() >= 100, "expected.tsv lists {} files", rows.len());
    let mut checked = 0;
    for row in &rows {
        let text = std::fs::read_to_string(dir.join(&row.path)).unwrap();
        let parsed = format::parse(&text, None).unwrap_or_else(|e| panic!("{}: {e}", row.path));
        let invocations =
            parsed.history.events.iter().filter(|e| e.kind == faultline_checkers::EventKind::Invoke);
        assert_eq!(invocations.count(), row.invocations, "{}: invocation count", row.path);
        let Some(model) = model_for(&row.path) else { continue };
        let options = Options { deadline: Some(Duration::from_secs(60)), ..Options::default() };
        let setup = setup(model, &Conventions::default(), Some(parsed.format), &parsed.history).unwrap();
        assert_eq!((setup.nil_read, setup.independent), (Some(NilRead::Absent), false), "{}", row.path);
        let report =
            check(&setup.model, &parsed.history, &options).unwrap_or_else(|e| panic!("{}: {e}", row.path));
        let want_ok = row.expected == "linearizable" || row.invocations == 0;
        let got = &report.verdict;
        assert!(
            if want_ok { got == &Verdict::Ok } else { got.is_violation() },
            "{}: expected {}, got {got}",
            row.path,
            row.expected
        );
        checked += 1;
    }
    assert_eq!(checked, 109, "every etcd and key-value log was checked");
}
