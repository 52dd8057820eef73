//! Scenarios on the kit's scripted cluster: two-phase commit's blocking, its cooperative
//! termination, recovery on both kinds of node, and exactly-once answers, each checked by the
//! system's invariants after every step. Node 0 is the coordinator; a transfer from account 0
//! to account 1 involves participants n1 (shard 0) and n2 (shard 1).

use crate::cluster::{balance, call_with, cluster, settled, transfer, violations, Twopc};
use faultline_services::bank::BankOp;
use faultline_sim::testing::Envelope;
use faultline_sim::NodeId;
use faultline_twopc::msg::{Msg, Outcome, Response};
use std::time::Duration;

fn is_decision(e: &Envelope<Msg>) -> bool {
    matches!(e.msg, Msg::Decision { .. })
}

fn in_doubt(c: &Twopc, node: u32) -> usize {
    c.node(node).participant().expect("a participant").in_doubt().count()
}

fn moves_three() -> BankOp {
    BankOp::Transfer { from: 0, to: 1, amount: 3 }
}

/// Submits the transfer and lets everything but the decisions through: every vote is in, the
/// coordinator has decided, and both participants are prepared.
fn decided_but_unsent(c: &mut Twopc) -> faultline_sim::RequestId {
    let id = c.next_id(0);
    c.submit(0, id, moves_three());
    c.deliver_all_where(|e| !is_decision(e));
    assert!(c.replies_to(id).any(|r| matches!(r, Response::Committed(_))), "the coordinator committed");
    assert_eq!((in_doubt(c, 1), in_doubt(c, 2)), (1, 1));
    id
}

#[test]
fn twopc_participants_block_in_doubt_while_the_coordinator_is_down_then_learn_the_commit() {
    // Blocking (Bernstein et al. 7.4): both participants voted yes and the coordinator failed
    // with the decision: they ask it, then each other, learn nothing, and hold their locks; the
    // recovered coordinator sends its durable COMMIT again.
    let mut c = cluster(3, 1, None);
    decided_but_unsent(&mut c);
    c.crash(0);
    c.queue_mut().clear();
    c.run_for(Duration::from_millis(1000));
    assert_eq!((in_doubt(&c, 1), in_doubt(&c, 2)), (1, 1), "blocked");
    assert_eq!((balance(&c, 0), balance(&c, 1)), (10, 10), "nothing applied while in doubt");
    let asked = c.node(1).participant().unwrap().journal().stats.in_doubt_periods;
    assert_eq!(asked, 1);
    c.restart(0);
    assert!(c.run_until(settled, Duration::from_secs(1)));
    assert_eq!((balance(&c, 0), balance(&c, 1)), (7, 13));
    assert_eq!(violations(&c), Vec::<String>::new());
}

#[test]
fn twopc_a_participant_that_missed_the_decision_learns_it_from_a_peer() {
    // Cooperative termination (Bernstein et al. 7.4): the coordinator is cut off after only n1
    // heard the decision; n2 asks it in vain, then asks n1, which knows.
    let mut c = cluster(3, 2, None);
    decided_but_unsent(&mut c);
    c.deliver_where(|e| is_decision(e) && e.to == NodeId(1));
    c.isolate(0);
    c.queue_mut().clear();
    assert!(c.run_until(|c| in_doubt(c, 2) == 0, Duration::from_secs(1)));
    let n2 = c.node(2).participant().unwrap();
    assert_eq!(
        (n2.journal().stats.cooperative_terminations, n2.outcome(decided_txn(&c))),
        (1, Some(Outcome::Commit))
    );
    assert_eq!((balance(&c, 0), balance(&c, 1)), (7, 13));
    c.heal();
    assert!(c.run_until(settled, Duration::from_secs(1)));
    assert_eq!(violations(&c), Vec::<String>::new());
}

/// The only transaction of the scenario: the first of the coordinator's first epoch.
fn decided_txn(_c: &Twopc) -> faultline_twopc::msg::TxnId {
    faultline_twopc::msg::TxnId { epoch: 1, seq: 1 }
}

#[test]
fn twopc_a_peer_that_has_not_voted_aborts_and_tells() {
    // Cooperative termination: n2 never got its prepare and the coordinator died; n1, in doubt,
    // asks n2, which aborts on its own (it may: it never voted) and says so. The client's retry
    // then runs as a new transaction of the coordinator's next epoch.
    let mut c = cluster(3, 3, None);
    let id = c.next_id(0);
    c.submit(0, id, moves_three());
    c.drop_where(|e| e.to == NodeId(2));
    c.deliver_all();
    c.crash(0);
    c.queue_mut().clear();
    assert!(c.run_until(|c| in_doubt(c, 1) == 0, Duration::from_secs(1)));
    let txn = decided_txn(&c);
    let outcomes =
        (c.node(1).participant().unwrap().outcome(txn), c.node(2).participant().unwrap().outcome(txn));
    assert_eq!(outcomes, (Some(Outcome::Abort), Some(Outcome::Abort)));
    c.restart(0);
    assert!(matches!(call_with(&mut c, id, moves_three()), Response::Committed(_)));
    assert!(c.run_until(settled, Duration::from_secs(1)));
    assert_eq!((balance(&c, 0), balance(&c, 1)), (7, 13));
    assert_eq!(violations(&c), Vec::<String>::new());
}

#[test]
fn twopc_a_participant_that_crashed_after_voting_recovers_its_prepared_transaction() {
    // Recovery (participant.rs): PREPARED is durable before the vote, so a participant that
    // crashes before the decision comes back prepared, with its locks, asks, and commits.
    let mut c = cluster(3, 4, None);
    decided_but_unsent(&mut c);
    c.crash(1);
    c.deliver_all();
    c.restart(1);
    assert_eq!(in_doubt(&c, 1), 1, "recovered in doubt");
    assert_eq!(c.node(1).participant().unwrap().journal().stats.recoveries, 1);
    assert!(c.run_until(settled, Duration::from_secs(1)));
    assert_eq!((balance(&c, 0), balance(&c, 1)), (7, 13));
    assert_eq!(violations(&c), Vec::<String>::new());
}

#[test]
fn twopc_a_request_retried_across_a_coordinator_crash_is_answered_not_applied_again() {
    // Exactly once (coordinator.rs): the answer is in the COMMIT record, so a retry after a
    // crash gets it and runs nothing.
    let mut c = cluster(3, 5, None);
    let id = decided_but_unsent(&mut c);
    c.deliver_all();
    c.crash(0);
    c.restart(0);
    assert!(matches!(call_with(&mut c, id, moves_three()), Response::Committed(_)));
    assert!(c.run_until(settled, Duration::from_secs(1)));
    assert_eq!((balance(&c, 0), balance(&c, 1)), (7, 13), "applied once");
    assert!(matches!(transfer(&mut c, 1, 0, 13), Response::Committed(_)));
    assert!(matches!(transfer(&mut c, 1, 0, 1), Response::Aborted), "an overdraft is refused");
    assert_eq!(violations(&c), Vec::<String>::new());
}
