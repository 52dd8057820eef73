//! The bank checker on hand-built histories, on files in both formats, and against a generator
//! that is its oracle: histories of a serial bank (each operation taking effect at one point
//! between its invocation and its completion) must pass, and tearing one transfer (its debit
//! visible before its credit) must be reported at exactly the first read that sees the tear.

use super::*;
use crate::history::{Event, EventKind};
use crate::verdict::Verdict;
use proptest::prelude::*;

fn transfer_value(from: i64, to: i64, amount: i64) -> Value {
    let pair = |k: &str, v: i64| Value::List(vec![k.into(), Value::Int(v)]);
    Value::List(vec![pair("from", from), pair("to", to), pair("amount", amount)])
}

fn read_value(balances: &[i64]) -> Value {
    Value::List(
        balances
            .iter()
            .enumerate()
            .map(|(a, b)| Value::List(vec![Value::Int(a as i64), Value::Int(*b)]))
            .collect(),
    )
}

/// A sequential history: each (process, f, invoke value, completion kind, completion value).
fn history(ops: &[(u64, &str, Value, EventKind, Value)]) -> History {
    let mut h = History::new();
    for (i, (p, f, input, kind, output)) in ops.iter().enumerate() {
        h.push(Event::invoke(*p, f, input.clone(), 2 * i as u64));
        h.push(Event::complete(*p, *kind, f, output.clone(), 2 * i as u64 + 1));
    }
    h
}

#[test]
fn reads_that_sum_to_the_total_pass_and_transfers_are_counted() {
    let t = transfer_value(0, 1, 3);
    let h = history(&[
        (0, "read", Value::Nil, EventKind::Ok, read_value(&[10, 10])),
        (1, "transfer", t.clone(), EventKind::Ok, t.clone()),
        (0, "read", Value::Nil, EventKind::Ok, read_value(&[7, 13])),
        (1, "transfer", t.clone(), EventKind::Fail, t.clone()),
        (2, "txn", Value::List(vec![]), EventKind::Ok, Value::List(vec![])),
    ]);
    let report = check(&h, &BankOptions::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Ok);
    assert_eq!((report.reads, report.transfers, report.total), (2, [1, 1, 0], Some(20)));
    assert_eq!(report.total_source, TotalSource::FirstRead);
}

#[test]
fn the_first_read_with_a_wrong_sum_or_a_negative_balance_is_named() {
    let h = history(&[
        (0, "read", Value::Nil, EventKind::Ok, read_value(&[10, 10])),
        (0, "read", Value::Nil, EventKind::Ok, read_value(&[10, 9])),
        (1, "read", Value::Nil, EventKind::Ok, read_value(&[-1, 21])),
        (1, "read", Value::Nil, EventKind::Ok, read_value(&[12, 9])),
    ]);
    let report = check(&h, &BankOptions::default()).unwrap();
    let Verdict::Violation(why) = &report.verdict else { panic!("{report}") };
    assert_eq!(why, "read #1 (process 0, event 3): balances sum to 19, not 20");
    assert_eq!((report.count("wrong-total"), report.count("negative-value")), (2, 1));
    let negative = report.first_where(|p| matches!(p, Problem::Negative(_))).unwrap();
    assert_eq!(negative.to_string(), "read #2 (process 1, event 5): negative balance: account 0 at -1");
    let allowed =
        check(&h, &BankOptions { total: Some(19), negative_allowed: true, ..BankOptions::default() })
            .unwrap();
    assert_eq!(allowed.count("negative-value"), 0);
    assert_eq!(allowed.count("wrong-total"), 3, "with the total given, the first read is wrong too");
}

#[test]
fn nil_balances_and_accounts_outside_the_bank_are_bad_reads() {
    let odd = Value::List(vec![
        Value::List(vec![Value::Int(0), Value::Nil]),
        Value::List(vec![Value::Int(7), Value::Int(20)]),
    ]);
    let h = history(&[
        (0, "read", Value::Nil, EventKind::Ok, read_value(&[10, 10])),
        (0, "read", Value::Nil, EventKind::Ok, odd),
    ]);
    let report = check(&h, &BankOptions::default()).unwrap();
    assert_eq!(
        (report.count("nil-balance"), report.count("unexpected-key"), report.count("wrong-total")),
        (1, 1, 0)
    );
}

#[test]
fn an_ill_formed_operation_is_an_error_not_a_verdict() {
    let h = history(&[(0, "transfer", Value::Int(3), EventKind::Ok, Value::Int(3))]);
    let err = check(&h, &BankOptions::default()).unwrap_err();
    assert_eq!(err.event_index(), Some(0));
    assert!(err.to_string().contains("transfer's value must be a map"), "{err}");
    let h = history(&[(
        0,
        "read",
        Value::Nil,
        EventKind::Ok,
        Value::List(vec![Value::List(vec![Value::Int(0), "x".into()])]),
    )]);
    assert!(check(&h, &BankOptions::default()).unwrap_err().to_string().contains("integer or nil"));
}

#[test]
fn jepsen_edn_and_json_objects_read_alike() {
    let edn = "{:process 0, :type :invoke, :f :transfer, :value {:from 0, :to 1, :amount 4}, :time 1}\n\
               {:process :nemesis, :type :info, :f :start, :value nil, :time 2}\n\
               {:process 0, :type :ok, :f :transfer, :value {:from 0, :to 1, :amount 4}, :time 3}\n\
               {:process 1, :type :invoke, :f :read, :value nil, :time 4}\n\
               {:process 1, :type :ok, :f :read, :value {0 6, 1 15}, :time 5}\n";
    let json = "{\"process\":0,\"type\":\"invoke\",\"f\":\"transfer\",\"value\":{\"from\":0,\"to\":1,\"amount\":4},\"time\":1}\n\
                {\"process\":0,\"type\":\"ok\",\"f\":\"transfer\",\"value\":{\"from\":0,\"to\":1,\"amount\":4},\"time\":3}\n\
                {\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":4}\n\
                {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":{\"0\":6,\"1\":15},\"time\":5}\n";
    for (text, format) in [(edn, Format::Edn), (json, Format::Jsonl)] {
        let parsed = read(text, None).unwrap();
        assert_eq!(parsed.format, format);
        let report =
            check(&parsed.history, &BankOptions { total: Some(20), ..BankOptions::default() }).unwrap();
        let Verdict::Violation(why) = report.verdict else { panic!("{format}: {report}") };
        assert!(why.ends_with("balances sum to 21, not 20"), "{format}: {why}");
        assert_eq!(report.transfers, [1, 0, 0]);
    }
    // faultline's own JSON lines (maps as lists of pairs) decode to the same operations; a JSON
    // object's pairs come in key order, which a map's meaning does not depend on.
    let native = crate::format::write(&read(edn, None).unwrap().history, Format::Jsonl);
    let ops = |text: &str| decode(&read(text, None).unwrap().history).unwrap();
    assert_eq!(ops(&native), ops(json));
}

/// A step of a generated run: which process moves next.
#[derive(Clone, Debug)]
struct Plan {
    accounts: usize,
    steps: Vec<(u8, u8, u8, u8)>,
}

fn plans() -> impl Strategy<Value = Plan> {
    (2usize..6, proptest::collection::vec((0u8..4, any::<u8>(), any::<u8>(), 1u8..8), 10..120))
        .prop_map(|(accounts, steps)| Plan { accounts, steps })
}

/// What one process is doing.
#[derive(Clone)]
enum Stage {
    Idle,
    /// A transfer (from, to, amount) or a read (`None`) invoked, not yet in effect.
    Invoked(Option<(usize, usize, i64)>),
    /// In effect: the completion to record, and for a read whether it saw a torn transfer.
    Applied(&'static str, EventKind, Value, bool),
}

/// Runs `plan` on a serial bank of four processes, each invoking, taking effect, then
/// completing; with `tear`, the first transfer that takes effect shows its debit at once and its
/// credit only when it completes. Returns the history and the completion event of the first
/// read (in history order) that saw the tear, if any did.
fn run(plan: &Plan, tear: bool) -> (History, Option<usize>) {
    let mut balances = vec![10i64; plan.accounts];
    let mut stage = vec![Stage::Idle; 4];
    let mut h = History::new();
    // The torn transfer's process, credited account and amount, while its credit is missing.
    let (mut torn, mut tore, mut first) = (None::<(usize, usize, i64)>, false, None);
    for (i, &(p, a, b, amount)) in plan.steps.iter().enumerate() {
        let proc = p as usize;
        stage[proc] = match stage[proc].clone() {
            Stage::Idle if a % 3 == 0 => {
                h.push(Event::invoke(p.into(), "read", Value::Nil, i as u64));
                Stage::Invoked(None)
            }
            Stage::Idle => {
                let from = a as usize % plan.accounts;
                let to = (from + 1 + b as usize % (plan.accounts - 1)) % plan.accounts;
                let amount = i64::from(amount);
                h.push(Event::invoke(
                    p.into(),
                    "transfer",
                    transfer_value(from as i64, to as i64, amount),
                    i as u64,
                ));
                Stage::Invoked(Some((from, to, amount)))
            }
            Stage::Invoked(None) => {
                Stage::Applied("read", EventKind::Ok, read_value(&balances), torn.is_some())
            }
            Stage::Invoked(Some((from, to, amount))) => {
                let value = transfer_value(from as i64, to as i64, amount);
                if balances[from] < amount {
                    Stage::Applied("transfer", EventKind::Fail, value, false)
                } else {
                    balances[from] -= amount;
                    if tear && !tore {
                        (torn, tore) = (Some((proc, to, amount)), true);
                    } else {
                        balances[to] += amount;
                    }
                    Stage::Applied("transfer", EventKind::Ok, value, false)
                }
            }
            Stage::Applied(f, kind, value, saw_tear) => {
                if saw_tear {
                    first = first.or(Some(h.len()));
                }
                h.push(Event::complete(p.into(), kind, f, value, i as u64));
                if let Some((_, to, amount)) = torn.filter(|t| t.0 == proc && f == "transfer") {
                    balances[to] += amount;
                    torn = None;
                }
                Stage::Idle
            }
        };
    }
    (h, first)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn serial_banks_pass_and_a_torn_transfer_is_caught_at_its_first_reader(plan in plans()) {
        let total = Some(10 * plan.accounts as i64);
        let options = BankOptions { total, ..BankOptions::default() };
        let (clean, _) = run(&plan, false);
        let report = check(&clean, &options).unwrap();
        prop_assert_eq!(&report.verdict, &Verdict::Ok, "{}", report);
        let (torn, first) = run(&plan, true);
        let report = check(&torn, &options).unwrap();
        let found = report.first_where(|p| matches!(p, Problem::WrongTotal { .. })).map(|b| b.index);
        prop_assert_eq!(found, first);
    }
}

#[test]
fn the_generator_tears_a_transfer_that_a_read_sees() {
    // Process 0 transfers (steps 1-2, completing at step 6); process 1 reads in between.
    let plan = Plan {
        accounts: 3,
        steps: vec![(0, 1, 0, 4), (0, 0, 0, 1), (1, 0, 0, 1), (1, 0, 0, 1), (1, 0, 0, 1), (0, 0, 0, 1)],
    };
    let (torn, first) = run(&plan, true);
    assert_eq!(first, Some(2), "the read completes third, before the transfer");
    let report = check(&torn, &BankOptions { total: Some(30), ..BankOptions::default() }).unwrap();
    assert_eq!(
        report.verdict,
        Verdict::Violation("read #1 (process 1, event 2): balances sum to 26, not 30".into())
    );
    assert_eq!(
        check(&run(&plan, false).0, &BankOptions { total: Some(30), ..BankOptions::default() })
            .unwrap()
            .verdict,
        Verdict::Ok
    );
}
