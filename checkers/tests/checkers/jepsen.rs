//! Goal: Jepsen and Knossos histories get Knossos's answers: nil reads are unknown values in EDN
//! (and stay values in Porcupine's logs and faultline's JSON lines), `mutex` and
//! `multi-register` follow Knossos's models, Jepsen's independent keys are checked one key at a
//! time, and Jepsen's history details (`:index`, `:time`, nemesis ops, extra keys, an `:info`
//! that completes nothing, vector and one-map-per-line files) are read. Method: small hand-written
//! histories in `tests/histories/jepsen/`, each pinning one convention, checked through the same
//! front end as the command line, with the expected verdict per meaning of nil reads and initial
//! value.

use faultline_checkers::conventions::{setup, Conventions, Independence, Setup};
use faultline_checkers::format::{self, Format, Parsed};
use faultline_checkers::lin::{check, Options, Report};
use faultline_checkers::{NilRead, Value, Verdict};
use std::path::PathBuf;

fn read(name: &str) -> Parsed {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories/jepsen").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format::parse(&text, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Checks fixture `name` against `model` under `conventions`.
fn run(name: &str, model: &str, conventions: &Conventions) -> (Setup, Report) {
    let parsed = read(name);
    let setup = setup(model, conventions, Some(parsed.format), &parsed.history).unwrap();
    let report = check(&setup.model, &parsed.history, &Options::default()).unwrap();
    (setup, report)
}

fn with(nil_read: Option<NilRead>, init: Option<i64>) -> Conventions {
    Conventions { nil_read, init: init.map(Value::Int), ..Conventions::default() }
}

#[test]
fn ok_nil_reads_are_unknown_in_edn_with_and_without_an_initial_value() {
    for init in [None, Some(0)] {
        let (setup, report) = run("cas-register-nil-reads.edn", "cas-register", &with(None, init));
        assert_eq!(setup.nil_read, Some(NilRead::Any), "Knossos's meaning is the EDN default");
        assert_eq!(report.verdict, Verdict::Ok, "init {init:?}");
        assert_eq!(report.operations, 5, "the nemesis and the orphan :info are not operations");
        let (_, absent) =
            run("cas-register-nil-reads.edn", "cas-register", &with(Some(NilRead::Absent), init));
        assert!(absent.verdict.is_violation(), "init {init:?}: {}", absent.verdict);
        let e = absent.explanation.unwrap();
        assert_eq!(e.failing.description, "read -> nil", "{e}");
    }
}

#[test]
fn a_stale_read_of_a_value_is_a_violation_under_both_meanings() {
    for nil_read in [None, Some(NilRead::Absent), Some(NilRead::Any)] {
        let (_, report) = run("cas-register-stale.edn", "register", &with(nil_read, None));
        assert!(report.verdict.is_violation(), "{nil_read:?}");
        assert_eq!(report.explanation.unwrap().failing.description, "read -> 1");
    }
}

#[test]
fn the_mutex_is_knossos_mutex() {
    let knossos = Conventions::default();
    let (setup, ok) = run("mutex.edn", "mutex", &knossos);
    assert_eq!((setup.nil_read, ok.verdict), (None, Verdict::Ok), "a release by another process is fine");
    assert_eq!(ok.operations, 6, "the nemesis op is skipped");
    let (_, twice) = run("mutex-double-grant.edn", "mutex", &knossos);
    let e = twice.explanation.expect("two holders");
    assert_eq!((e.failing.id, e.failing.description.as_str()), (2, "acquire"), "{e}");
    assert_eq!(e.state_after_prefix, "held");
    assert_eq!(run("mutex.jsonl", "mutex", &knossos).1.verdict, Verdict::Ok);
    let (_, free) = run("mutex-release-free.jsonl", "mutex", &knossos);
    assert_eq!(free.explanation.unwrap().failing.description, "release");
}

#[test]
fn multi_register_transactions_are_atomic_and_nil_reads_follow_the_format() {
    let (setup, ok) = run("multi-register.edn", "multi-register", &with(None, Some(0)));
    assert_eq!((setup.nil_read, ok.verdict), (Some(NilRead::Any), Verdict::Ok));
    let (_, absent) = run("multi-register.edn", "multi-register", &with(Some(NilRead::Absent), Some(0)));
    let e = absent.explanation.expect("y holds 1, not nil");
    assert_eq!(e.failing.description, r#"txn [read "x" 1] [read "y" nil]"#);
    for init in [None, Some(0)] {
        let (setup, torn) = run("multi-register-torn.jsonl", "multi-register", &with(None, init));
        assert_eq!(setup.nil_read, Some(NilRead::Absent), "faultline's meaning for JSON lines");
        let e = torn.explanation.expect("a torn read");
        assert_eq!(e.failing.description, r#"txn [read "x" 1] [read "y" 0]"#, "{e}");
        assert!(e.state_after_prefix.starts_with(r#"{"x" 1, "y" 1}"#), "{e}");
    }
}

#[test]
fn independent_keys_are_split_and_the_failing_key_is_named() {
    let (split, report) = run("independent-cas-register.edn", "cas-register", &Conventions::default());
    assert!(split.independent);
    let keys: Vec<_> = report.parts.iter().map(|p| (p.key.clone(), p.verdict.is_ok())).collect();
    assert_eq!(keys, vec![(Value::Int(1), true), (Value::Int(2), false)]);
    let e = report.explanation.unwrap();
    assert_eq!((e.part.as_str(), e.failing.description.as_str()), ("key 2", "cas 5 -> 6"), "{e}");
    // Told not to split, the tuples are the values of one register: a cas from 1 to [5 6].
    let single = Conventions { independent: Independence::No, ..Conventions::default() };
    let (one, report) = run("independent-cas-register.edn", "cas-register", &single);
    assert!(!one.independent);
    let e = report.explanation.unwrap();
    assert_eq!((e.part.as_str(), e.failing.description.as_str()), ("the history", "cas 1 -> [5 6]"));
}

#[test]
fn porcupine_logs_keep_their_meaning_of_nil() {
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:ok\t:write\t1\n\
               INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 1\t:ok\t:read\tnil\n";
    let parsed = format::parse(log, None).unwrap();
    assert_eq!(parsed.format, Format::PorcupineEtcd);
    let s = setup("cas-register", &Conventions::default(), Some(parsed.format), &parsed.history).unwrap();
    assert_eq!(s.nil_read, Some(NilRead::Absent));
    assert!(check(&s.model, &parsed.history, &Options::default()).unwrap().verdict.is_violation());
}
