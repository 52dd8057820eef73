//! One scripted scenario per planted bug (`systems/twopc/src/bugs.rs`): the same script passes
//! with the correct protocol and breaks a checked property with the bug. Node 0 is the
//! coordinator; the transfer from account 0 to account 1 involves n1 and n2.

use crate::cluster::{balance, cluster, settled, violations, Twopc};
use faultline_services::bank::BankOp;
use faultline_sim::testing::Envelope;
use faultline_sim::NodeId;
use faultline_twopc::msg::Msg;
use std::time::Duration;

fn is_decision(e: &Envelope<Msg>) -> bool {
    matches!(e.msg, Msg::Decision { .. })
}

/// A transfer whose votes are all in: the coordinator has decided to commit; the decisions
/// are in flight.
fn decided(bug: Option<&str>, seed: u64) -> Twopc {
    let mut c = cluster(3, seed, bug);
    let id = c.next_id(0);
    c.submit(0, id, BankOp::Transfer { from: 0, to: 1, amount: 3 });
    c.deliver_all_where(|e| !is_decision(e));
    c
}

/// Runs until settled and returns the names of the violated checks.
fn settle(mut c: Twopc) -> Vec<String> {
    assert!(c.run_until(settled, Duration::from_secs(2)), "the cluster did not settle");
    violations(&c)
}

fn broke(violations: &[String], check: &str) -> bool {
    violations.iter().any(|v| v.starts_with(check))
}

#[test]
fn twopc_bug_commit_before_decision_durable_loses_a_decision_n1_acted_on() {
    // Only n1 hears the commit before the coordinator crashes. Correct: COMMIT was durable and
    // is sent again. With the bug it was never written: n2 is told "abort" (presumed abort).
    let script = |bug| {
        let mut c = decided(bug, 11);
        c.deliver_where(|e| is_decision(e) && e.to == NodeId(1));
        c.crash(0);
        c.queue_mut().clear();
        c.restart(0);
        c
    };
    assert_eq!(settle(script(None)), Vec::<String>::new());
    let found = settle(script(Some("commit-before-decision-durable")));
    assert!(broke(&found, "atomicity"), "{found:?}");
}

#[test]
fn twopc_bug_prepared_not_durable_loses_the_debit_of_a_committed_transfer() {
    // n1 crashes after voting, before the decision. Correct: it recovers PREPARED and commits.
    // With the bug its PREPARED was never synced: it acknowledges a commit it has no writes for.
    let script = |bug| {
        let mut c = decided(bug, 12);
        c.crash(1);
        c.deliver_all();
        c.restart(1);
        c
    };
    let c = script(None);
    let ok = settle(c);
    assert_eq!(ok, Vec::<String>::new());
    let mut c = script(Some("prepared-not-durable"));
    assert!(c.run_until(settled, Duration::from_secs(2)));
    assert_eq!((balance(&c, 0), balance(&c, 1)), (10, 13), "money made: the debit was lost");
    assert!(broke(&violations(&c), "money conserved"), "{:?}", violations(&c));
}

#[test]
fn twopc_bug_heuristic_abort_in_doubt_aborts_what_the_coordinator_committed() {
    // n2 misses the decision and is cut off from the coordinator for a while. Correct: it asks,
    // then learns the commit from n1. With the bug it gives up and aborts.
    let script = |bug| {
        let mut c = decided(bug, 13);
        c.deliver_where(|e| is_decision(e) && e.to == NodeId(1));
        c.queue_mut().clear();
        c.cut_both(0, 2);
        c.run_for(Duration::from_millis(300));
        c.heal();
        c
    };
    assert_eq!(settle(script(None)), Vec::<String>::new());
    let found = settle(script(Some("heuristic-abort-in-doubt")));
    assert!(broke(&found, "atomicity"), "{found:?}");
}

#[test]
fn twopc_bug_cooperative_termination_wrong_makes_uncertain_peers_abort_a_commit() {
    // Every decision is lost and the coordinator is cut off: both participants are in doubt
    // and ask each other. Correct: neither knows, both block until the coordinator is back.
    // With the bug each tells the other "abort".
    let script = |bug| {
        let mut c = decided(bug, 14);
        c.queue_mut().clear();
        c.isolate(0);
        c.run_for(Duration::from_millis(500));
        c.heal();
        c
    };
    assert_eq!(settle(script(None)), Vec::<String>::new());
    let found = settle(script(Some("cooperative-termination-wrong")));
    assert!(broke(&found, "atomicity"), "{found:?}");
}

#[test]
fn twopc_bug_decision_forgotten_early_answers_a_late_inquiry_with_abort() {
    // The decision to n2 is lost. Correct: the coordinator keeps resending it until n2
    // acknowledges. With the bug it has forgotten it, and n2's inquiry is answered "abort".
    let script = |bug| {
        let mut c = decided(bug, 15);
        c.deliver_where(|e| is_decision(e) && e.to == NodeId(1));
        c.queue_mut().clear();
        c
    };
    assert_eq!(settle(script(None)), Vec::<String>::new());
    let found = settle(script(Some("decision-forgotten-early")));
    assert!(broke(&found, "atomicity"), "{found:?}");
}
