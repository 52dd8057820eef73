//! One scripted scenario per planted bug: the same schedule runs without the bug (every check
//! holds and the value chosen first is read back) and with it (a check the bug breaks fails, or
//! the read shows the loss). Each names the property the bug breaks.

use crate::cluster::{cluster, Cluster, PaxosCluster};
use faultline_checkers::Verdict;
use faultline_paxos::{Msg, PaxosBug, PaxosConfig, Request, Response, StatusRole, Timer};
use faultline_sim::NodeId;
use std::time::Duration;

fn config(bug: Option<PaxosBug>) -> PaxosConfig {
    PaxosConfig { bug, ..PaxosConfig::with_nodes(3) }
}

/// A scripted three-node cluster (timers fire only when told) in which n0 leads.
fn led_by_n0(bug: Option<PaxosBug>, seed: u64) -> Cluster {
    let mut c = cluster(config(bug), seed);
    c.freeze_timers();
    c.tick(Duration::from_millis(400));
    c.campaign(0);
    c
}

fn to(id: u32) -> impl Fn(&crate::cluster::Envelope<Msg>) -> bool {
    move |e| e.to == NodeId(id)
}

/// n0 writes k=v, accepted by n1 only (n2 hears nothing); n0 answers the client.
fn chosen_by_n0_and_n1(c: &mut Cluster) {
    let id = c.next_id(0);
    c.submit(0, id, Request::put("k", "v"));
    c.drop_where(to(2));
    c.deliver_all();
    assert_eq!(c.answer(id), Some(&Response::Written));
}

/// Fires `node`'s election timer up to four times, delivering everything after each.
fn try_to_lead(c: &mut Cluster, node: u32) -> bool {
    for _ in 0..4 {
        c.fire(node, Timer::Election);
        if c.status(node).role == StatusRole::Leader {
            return true;
        }
    }
    false
}

fn read_k(c: &mut Cluster) -> Option<String> {
    match c.call(1, Request::get("k")) {
        Response::Value(v) => v,
        other => panic!("expected a value, got {other:?}"),
    }
}

fn violated(v: &Verdict, check: &str) -> bool {
    matches!(v, Verdict::Violation(why) if why.contains(check))
}

/// The chosen value survives a crash of the acceptor that made it chosen, if that acceptor
/// synced before answering ("Paxos Made Simple" 2.3).
fn replies_before_sync(bug: Option<PaxosBug>) -> (Verdict, Option<String>) {
    let mut c = led_by_n0(bug, 11);
    chosen_by_n0_and_n1(&mut c);
    c.crash(0);
    c.restart(1);
    c.tick(Duration::from_millis(400));
    c.campaign(2);
    let read = read_k(&mut c);
    (c.verdict(), read)
}

#[test]
fn paxos_bug_acceptor_replies_before_sync_loses_a_chosen_value() {
    assert_eq!(replies_before_sync(None), (Verdict::Ok, Some("v".into())));
    let (verdict, read) = replies_before_sync(Some(PaxosBug::AcceptorRepliesBeforeSync));
    assert!(verdict.is_violation() || read.is_none(), "{verdict:?} {read:?}");
}

/// A new leader proposes, at a slot a promise reported, the value of the highest ballot
/// reported (P2c, "Paxos Made Simple" 2.2): n2 leads after n0 crashed and must find "v".
fn ignores_accepted(bug: Option<PaxosBug>) -> (Verdict, Option<String>) {
    let mut c = led_by_n0(bug, 12);
    chosen_by_n0_and_n1(&mut c);
    c.crash(0);
    c.tick(Duration::from_millis(400));
    c.campaign(2);
    let read = read_k(&mut c);
    (c.verdict(), read)
}

#[test]
fn paxos_bug_ignore_accepted_in_phase_1_overwrites_a_chosen_value() {
    assert_eq!(ignores_accepted(None), (Verdict::Ok, Some("v".into())));
    let (verdict, read) = ignores_accepted(Some(PaxosBug::IgnoreAcceptedInPhase1));
    assert_eq!(read, None);
    assert!(violated(&verdict, "agreement"), "{verdict:?}");
}

/// A deposed leader must not answer a read alone: n0 is cut off, n1 leads a higher ballot and
/// overwrites k; a read at n0 must not return the old value (linearizable reads).
fn stale_read(bug: Option<PaxosBug>) -> Option<Response> {
    let mut c = led_by_n0(bug, 13);
    assert_eq!(c.call(0, Request::put("k", "old")), Response::Written);
    c.isolate(0);
    c.tick(Duration::from_millis(400));
    c.campaign(1);
    let write = c.next_id(1);
    c.submit(1, write, Request::put("k", "new"));
    c.deliver_all();
    assert_eq!(c.answer(write), Some(&Response::Written));
    let read = c.next_id(2);
    c.submit(0, read, Request::get("k"));
    c.run_for(Duration::from_millis(200));
    c.assert_safe();
    c.answer(read).cloned()
}

#[test]
fn paxos_bug_stale_leader_read_answers_from_a_deposed_leader() {
    assert_eq!(stale_read(None), None);
    let stale = Some(Response::Value(Some("old".into())));
    assert_eq!(stale_read(Some(PaxosBug::StaleLeaderRead)), stale);
}

/// A promise counts only toward the ballot it answers. n1 promises n0's ballot 1.0, but the
/// promise is delayed; meanwhile n2 leads 1.2 and gets "v" chosen by {n1, n2}. n0 retries at
/// 2.0, and only the old promise arrives: it reported nothing, so counting it lets n0 lead
/// blind to "v" and choose a no-op at its slot.
fn stale_promise(bug: Option<PaxosBug>) -> (Verdict, bool) {
    let mut c = cluster(config(bug), 14);
    c.freeze_timers();
    c.tick(Duration::from_millis(400));
    c.fire_only(0, Timer::Election); // ballot 1.0
    c.drop_where(to(2));
    c.deliver_where(to(1)); // n1 promises 1.0; the promise waits in the queue
    c.fire_only(2, Timer::Election); // ballot 1.2
    c.drop_where(|e| e.from == NodeId(2) && e.to == NodeId(0));
    c.deliver_all_where(|e| e.to != NodeId(0));
    assert_eq!(c.status(2).role, StatusRole::Leader);
    let id = c.next_id(0);
    c.submit(2, id, Request::put("k", "v"));
    c.deliver_all_where(|e| e.to != NodeId(0));
    assert_eq!(c.answer(id), Some(&Response::Written));
    c.drop_where(|e| e.to == NodeId(0) && !matches!(e.msg, Msg::Promise { .. }));
    c.fire_only(0, Timer::Election); // ballot 2.0: its prepares are lost
    c.drop_where(|e| e.from == NodeId(0));
    c.deliver_all(); // only n1's promise to 1.0 reaches n0
    let led = c.status(0).role == StatusRole::Leader;
    if led {
        // Its phase 1 reported no slot, so a new write takes slot 1.
        let id = c.next_id(1);
        c.submit(0, id, Request::put("k", "w"));
        c.deliver_all();
    }
    (c.verdict(), led)
}

#[test]
fn paxos_bug_stale_promise_counted_lets_a_leader_miss_a_chosen_value() {
    assert_eq!(stale_promise(None), (Verdict::Ok, false));
    let (verdict, led) = stale_promise(Some(PaxosBug::StalePromiseCounted));
    assert!(led, "the stale promise made n0 lead");
    assert!(violated(&verdict, "agreement"), "{verdict:?}");
}

/// A proposer never issues a ballot twice with different values. n0 accepts "v" from itself at
/// 1.0 and crashes before anyone else hears it; after the restart its next ballot must be above
/// 1.0, and its phase 1 must count its own accepted value.
fn ballot_reused(bug: Option<PaxosBug>) -> (Verdict, Option<String>) {
    let mut c = led_by_n0(bug, 15);
    let id = c.next_id(0);
    c.submit(0, id, Request::put("k", "v"));
    c.drop_where(|_| true);
    c.restart(0);
    c.tick(Duration::from_millis(400));
    c.campaign(0);
    // A new write takes the first slot phase 1 did not fill.
    let id = c.next_id(1);
    c.submit(0, id, Request::put("other", "w"));
    c.deliver_all();
    assert_eq!(c.answer(id), Some(&Response::Written));
    let read = read_k(&mut c);
    (c.verdict(), read)
}

#[test]
fn paxos_bug_ballot_reused_after_restart_proposes_two_values_in_one_ballot() {
    let (verdict, read) = ballot_reused(None);
    assert_eq!(verdict, Verdict::Ok);
    assert_eq!(read, Some("v".into()), "phase 1 found n0's own accepted value");
    let (verdict, _) = ballot_reused(Some(PaxosBug::BallotReusedAfterRestart));
    assert!(violated(&verdict, "unique"), "{verdict:?}");
}

/// An acceptor that lost its disk must not vote until it has caught up ("Paxos Made Live"
/// 5.1). "v" is chosen by {n0, n1}; n1 loses its disk and n0 crashes: n1 and n2 are a
/// majority, and if n1 answers n2's prepare as a new node, n2 never hears of "v".
fn wiped_votes(bug: Option<PaxosBug>) -> (Verdict, bool, Option<String>) {
    let mut c = led_by_n0(bug, 16);
    chosen_by_n0_and_n1(&mut c);
    c.crash(0);
    *c.disk(1) = faultline_sim::testing::TestDisk::new();
    c.restart(1);
    c.tick(Duration::from_millis(400));
    let led_without_n0 = try_to_lead(&mut c, 2);
    if led_without_n0 {
        c.deliver_all();
    }
    c.restart(0);
    c.thaw_timers();
    let read = read_k(&mut c);
    (c.verdict(), led_without_n0, read)
}

#[test]
fn paxos_bug_wiped_acceptor_votes_forgets_a_chosen_value() {
    assert_eq!(wiped_votes(None), (Verdict::Ok, false, Some("v".into())));
    let (verdict, led, _) = wiped_votes(Some(PaxosBug::WipedAcceptorVotes));
    assert!(led, "the wiped acceptor's promise made n2 lead");
    // It answered with a promise below the one it had made: the first property to break.
    assert!(violated(&verdict, "promise monotonic"), "{verdict:?}");
}
