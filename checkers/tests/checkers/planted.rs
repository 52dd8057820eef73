//! Goal: a planted non-linearizable history of every model is reported as a violation with a
//! readable explanation and an HTML timeline, and an ill-formed one as an error. Method: small
//! hand-written histories, each with one planted anomaly; the explanation must name the
//! operation that cannot be linearized and the part it is in.

use faultline_checkers::explain::html::{render, Annotations};
use faultline_checkers::history::{Event, EventKind, History, Value};
use faultline_checkers::lin::{check_named, CheckError, Options};

/// Builds a history from `(process, kind, f, value)` tuples, timed by position.
pub fn history(events: &[(u64, &str, &str, Value)]) -> History {
    let kind = |k: &str| match k {
        "invoke" => EventKind::Invoke,
        "ok" => EventKind::Ok,
        "fail" => EventKind::Fail,
        _ => EventKind::Info,
    };
    let events = events
        .iter()
        .enumerate()
        .map(|(i, (p, k, f, v))| Event {
            process: *p,
            kind: kind(k),
            f: f.to_string(),
            value: v.clone(),
            time: i as u64 * 10,
        })
        .collect();
    History { events }
}

fn nil() -> Value {
    Value::Nil
}

fn l(items: &[Value]) -> Value {
    Value::List(items.to_vec())
}

/// Each planted anomaly: the model, the history, and words the explanation must contain.
pub fn planted() -> Vec<(&'static str, History, &'static str)> {
    vec![
        (
            "register",
            history(&[
                (0, "invoke", "write", 1.into()),
                (0, "ok", "write", 1.into()),
                (1, "invoke", "read", nil()),
                (1, "ok", "read", nil()),
            ]),
            "read -> nil",
        ),
        (
            "cas-register",
            history(&[
                (0, "invoke", "write", 1.into()),
                (0, "ok", "write", 1.into()),
                (1, "invoke", "cas", l(&[1.into(), 2.into()])),
                (1, "ok", "cas", l(&[1.into(), 2.into()])),
                (2, "invoke", "cas", l(&[1.into(), 3.into()])),
                (2, "ok", "cas", l(&[1.into(), 3.into()])),
            ]),
            "cas 1 -> 3",
        ),
        (
            "key-value",
            history(&[
                (0, "invoke", "append", l(&["k".into(), "a".into()])),
                (1, "invoke", "append", l(&["k".into(), "b".into()])),
                (0, "ok", "append", l(&["k".into(), "a".into()])),
                (1, "ok", "append", l(&["k".into(), "b".into()])),
                (2, "invoke", "get", l(&["k".into(), nil()])),
                (2, "ok", "get", l(&["k".into(), "ab".into()])),
                (3, "invoke", "get", l(&["k".into(), nil()])),
                (3, "ok", "get", l(&["k".into(), "ba".into()])),
                (4, "invoke", "put", l(&["other".into(), 1.into()])),
                (4, "ok", "put", l(&["other".into(), 1.into()])),
            ]),
            "key \"k\"",
        ),
        (
            "counter",
            history(&[
                (0, "invoke", "incr", 2.into()),
                (0, "ok", "incr", 2.into()),
                (1, "invoke", "read", nil()),
                (1, "ok", "read", 1.into()),
            ]),
            "read -> 1",
        ),
        (
            "set",
            history(&[
                (0, "invoke", "add", 1.into()),
                (0, "ok", "add", 1.into()),
                (1, "invoke", "read", nil()),
                (1, "ok", "read", l(&[])),
            ]),
            "read -> []",
        ),
        (
            "queue",
            history(&[
                (0, "invoke", "enqueue", 1.into()),
                (0, "ok", "enqueue", 1.into()),
                (0, "invoke", "enqueue", 2.into()),
                (0, "ok", "enqueue", 2.into()),
                (1, "invoke", "dequeue", nil()),
                (1, "ok", "dequeue", 2.into()),
            ]),
            "dequeue -> 2",
        ),
        (
            "lock",
            history(&[
                (0, "invoke", "acquire", nil()),
                (0, "ok", "acquire", 1.into()),
                (1, "invoke", "acquire", nil()),
                (1, "ok", "acquire", 2.into()),
            ]),
            "acquire -> token 2",
        ),
        (
            "lease",
            history(&[
                (0, "invoke", "acquire", nil()),
                (0, "ok", "acquire", 1.into()),
                (1, "invoke", "acquire", nil()),
                (1, "ok", "acquire", 2.into()),
                (0, "invoke", "write", l(&[1.into(), "stale".into()])),
                (0, "ok", "write", l(&[1.into(), "stale".into()])),
            ]),
            "write \"stale\" with token 1",
        ),
    ]
}

#[test]
fn every_model_reports_its_planted_anomaly_with_an_explanation_and_a_timeline() {
    for (model, h, words) in planted() {
        let report = check_named(model, None, &h, &Options::default()).unwrap();
        let e = report.explanation.as_ref().unwrap_or_else(|| panic!("{model}: {}", report.verdict));
        assert!(report.verdict.is_violation(), "{model}: {}", report.verdict);
        let text = e.to_string();
        assert!(text.contains(words), "{model}: the explanation should mention `{words}`:\n{text}");
        assert!(text.contains("longest linearizable prefix"), "{model}:\n{text}");
        let page = render(&h, &report, &Annotations::default());
        assert!(page.contains(r#""failing":true"#), "{model}: the page marks the failing operation");
    }
}

#[test]
fn the_explanation_gives_the_prefix_and_the_states_tried() {
    let (_, h, _) = planted().remove(1);
    let report = check_named("cas-register", None, &h, &Options::default()).unwrap();
    let e = report.explanation.unwrap();
    assert_eq!(e.failing.id, 2);
    assert_eq!(e.prefix.iter().map(|o| o.id).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(e.state_after_prefix, "2");
    assert_eq!(e.tried_states, vec!["2".to_string()]);
    assert_eq!(report.linearization.len(), 2, "the prefix is drawn");
}

#[test]
fn only_the_failing_key_is_explained() {
    let (_, h, _) = planted().remove(2);
    let report = check_named("key-value", None, &h, &Options::default()).unwrap();
    assert_eq!(report.parts.len(), 2);
    assert!(report.parts[0].verdict.is_violation() && report.parts[1].verdict.is_ok());
    assert_eq!(report.explanation.unwrap().part_operations, 4);
}

#[test]
fn ill_formed_histories_are_errors_not_verdicts() {
    let cases: Vec<(&str, History)> = vec![
        ("cas-register", history(&[(0, "invoke", "cas", 1.into()), (0, "ok", "cas", 1.into())])),
        ("key-value", history(&[(0, "invoke", "get", "k".into())])),
        ("counter", history(&[(0, "invoke", "incr", "x".into())])),
        ("set", history(&[(0, "invoke", "read", nil()), (0, "ok", "read", 3.into())])),
        ("queue", history(&[(0, "invoke", "enqueue", nil())])),
        ("lock", history(&[(0, "invoke", "acquire", nil()), (0, "ok", "acquire", "x".into())])),
        ("register", history(&[(0, "invoke", "read", nil()), (0, "invoke", "read", nil())])),
        ("register", history(&[(0, "ok", "read", nil())])),
        ("register", history(&[(0, "invoke", "read", nil()), (0, "ok", "write", nil())])),
    ];
    for (model, h) in cases {
        let err = check_named(model, None, &h, &Options::default()).unwrap_err();
        assert!(err.event_index().is_some(), "{model}: {err}");
    }
    let unknown = check_named("list-append", None, &History::new(), &Options::default()).unwrap_err();
    assert!(matches!(unknown, CheckError::Model(_)));
}
