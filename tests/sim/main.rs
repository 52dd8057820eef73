//! Fault mechanisms, each shown by a small probe node running in the real harness.
//!
//! Goal: every fault faultline claims to inject does what it says, end to end (schedule ->
//! supervisor -> network or disk -> the node). Method: a probe protocol records what it sees
//! (messages with their send times, what it finds on its disk at boot, its clock readings,
//! buggify decisions); the probe system's check turns the recording into a verdict about the
//! one property under test; each test runs a hand-written schedule or option set and asserts
//! the verdict. The unit tests of `net`, `disk` and `clock` cover the models alone; these cover
//! the wiring. `proxy` shows a system with two kinds of node, one of them client-side.

// Simulation only: these drive the simulator, which a real-mode build does not have.
#![cfg(madsim)]

mod probe;
mod proxy;

use faultline_sim::bugs::Bug;
use faultline_sim::check::{check, Scenario};
use faultline_sim::disk::{CrashKeeps, DiskFaults};
use faultline_sim::harness::{run, RunSpec};
use faultline_sim::options::{PartitionKind, SimOptions};
use faultline_sim::schedule::{Event, Fault, Schedule};
use faultline_sim::stats::Counters;
use faultline_sim::NodeId;
use probe::{Probe, ProbeKind, TORN_LEN, WINDOW_MS};

fn spec(seed: u64, options: SimOptions, events: Vec<Event>) -> RunSpec {
    RunSpec { seed, options, schedule: Schedule { events }, bug: None }
}

fn quiet(nodes: u32) -> SimOptions {
    let mut o = SimOptions { nodes, clients: 1, safety_ms: 3_000, ..SimOptions::default() };
    o.workload.ops_per_client = 0;
    o.workload.liveness_ops_per_client = 0;
    o
}

/// Runs probe `kind` and returns the run's counters.
fn probe(kind: ProbeKind, spec: RunSpec) -> Counters {
    let report = run::<Probe>(&RunSpec { bug: Some(kind.name().to_string()), ..spec }).expect("valid");
    assert!(report.passed(), "{report}");
    report.counters
}

fn cut(kind: PartitionKind, links: &[(u32, u32)]) -> Fault {
    Fault::Partition { kind, cut: links.iter().map(|&(a, b)| (NodeId(a), NodeId(b))).collect() }
}

fn at(at_ms: u64, fault: Fault) -> Event {
    Event { at_ms, fault }
}

/// Deliveries on link `from -> to` of messages sent before, during and after the window.
fn link(c: &Counters, from: u32, to: u32) -> [u64; 3] {
    ["before", "during", "after"].map(|phase| c.get(&format!("probe.n{from}->n{to}.{phase}")))
}

#[test]
fn a_partition_drops_both_ways_until_the_heal() {
    let events =
        vec![at(WINDOW_MS.0, cut(PartitionKind::Symmetric, &[(0, 1), (1, 0)])), at(WINDOW_MS.1, Fault::Heal)];
    let c = probe(ProbeKind::Network, spec(1, quiet(3), events));
    for (a, b) in [(0, 1), (1, 0)] {
        let [before, during, after] = link(&c, a, b);
        assert!(before > 50 && after > 50, "n{a}->n{b} should flow outside the partition: {before} {after}");
        assert_eq!(during, 0, "n{a}->n{b} delivered {during} messages sent during the partition");
    }
    assert!(link(&c, 0, 2)[1] > 50 && link(&c, 2, 1)[1] > 50, "links outside the cut must keep flowing");
    assert!(c.get("net.partition_drop") > 100);
}

#[test]
fn a_one_way_partition_drops_one_way_only() {
    let events = vec![at(WINDOW_MS.0, cut(PartitionKind::OneWay, &[(0, 1)])), at(WINDOW_MS.1, Fault::Heal)];
    let c = probe(ProbeKind::Network, spec(2, quiet(3), events));
    assert_eq!(link(&c, 0, 1)[1], 0, "n0->n1 is cut");
    assert!(link(&c, 1, 0)[1] > 50, "n1->n0 must still flow");
    assert!(link(&c, 0, 1)[2] > 50, "n0->n1 flows again after the heal");
}

#[test]
fn swizzle_clogs_and_unclogs_nodes() {
    let events = vec![
        at(WINDOW_MS.0, Fault::Clog { node: NodeId(2) }),
        at(WINDOW_MS.1, Fault::Unclog { node: NodeId(2) }),
    ];
    let c = probe(ProbeKind::Network, spec(3, quiet(3), events));
    for (a, b) in [(0, 2), (2, 0), (1, 2), (2, 1)] {
        assert_eq!(link(&c, a, b)[1], 0, "n{a}->n{b} runs through the clogged node");
        assert!(link(&c, a, b)[2] > 50, "n{a}->n{b} flows after the unclog");
    }
    assert!(link(&c, 0, 1)[1] > 50);
}

#[test]
fn duplication_duplicates() {
    let mut o = quiet(2);
    o.net.duplicate_probability = 1.0;
    let c = probe(ProbeKind::Duplicates, spec(4, o, Vec::new()));
    for n in ["n0", "n1"] {
        let (received, distinct) =
            (c.get(&format!("probe.{n}.received")), c.get(&format!("probe.{n}.distinct")));
        assert!(distinct > 100, "{n} received {distinct} distinct messages");
        assert_eq!(received, 2 * distinct, "{n}: every message must arrive exactly twice");
    }
    assert!(c.get("net.duplicate") >= c.get("probe.n0.distinct") + c.get("probe.n1.distinct"));
}

fn crash_then_restart() -> Vec<Event> {
    vec![
        at(1_000, Fault::Crash { node: NodeId(0), storm: false, mid_step: false, leader: false }),
        at(1_500, Fault::Restart { node: NodeId(0) }),
    ]
}

#[test]
fn a_crash_loses_unsynced_writes_and_keeps_synced_ones() {
    let c = probe(ProbeKind::Durability, spec(5, quiet(1), crash_then_restart()));
    assert_eq!(c.get("probe.n0.recovery_boots"), 1, "the node must have restarted once");
    assert_eq!(c.get("probe.n0.synced_survived"), 1, "a synced file must survive a crash");
    assert_eq!(c.get("probe.n0.unsynced_survived"), 0, "an unsynced file must not survive a power cut");
    assert!(c.get("disk.lost_namespace_changes") >= 1);
}

#[test]
fn a_torn_write_leaves_a_partial_sector() {
    let mut o = quiet(1);
    o.disk.faults = DiskFaults {
        crash_keeps: CrashKeeps::Everything,
        torn_write_probability: 1.0,
        ..DiskFaults::default()
    };
    let c = probe(ProbeKind::TornWrite, spec(6, o, crash_then_restart()));
    let intact = c.get("probe.n0.torn_intact_prefix");
    assert_eq!(c.get("disk.torn_writes"), 1);
    assert!(
        intact > 0 && (intact as usize) < TORN_LEN,
        "the tear must fall inside the write: {intact} of {TORN_LEN} bytes intact"
    );
    assert_ne!(
        intact % 512,
        0,
        "a tear at a sector boundary would not leave a partial sector (intact {intact})"
    );
}

#[test]
fn skew_shifts_now_and_nodes_disagree() {
    let mut o = quiet(3);
    o.clock.offset_ms_max = 5_000;
    let c = probe(ProbeKind::Clock, spec(7, o, Vec::new()));
    let skews: Vec<u64> = (0..3).map(|n| c.get(&format!("probe.n{n}.skew_ms_abs"))).collect();
    assert!(skews.iter().all(|s| *s <= 5_000), "skews {skews:?} exceed the 5 s bound");
    assert!(skews.iter().any(|s| *s > 0), "no clock was skewed: {skews:?}");
    assert!(skews[0] != skews[1] || skews[1] != skews[2], "every node has the same skew: {skews:?}");
    assert!(c.get("clock.offset_clocks") >= 1);
}

#[test]
fn a_paused_node_runs_nothing_until_resumed() {
    let events = vec![
        at(WINDOW_MS.0, Fault::Pause { node: NodeId(1) }),
        at(WINDOW_MS.1, Fault::Resume { node: NodeId(1) }),
    ];
    let c = probe(ProbeKind::Network, spec(8, quiet(2), events));
    assert_eq!(c.get("probe.n1.ticks_during"), 0, "a paused node's timers must wait");
    assert!(c.get("probe.n0.ticks_during") > 50, "the other node keeps running");
    assert!(
        c.get("probe.n0->n1.sent_during_delivered_after") > 0,
        "messages sent to a paused node wait for it and arrive after the resume"
    );
}

#[test]
fn buggify_arms_and_fires_at_about_its_rates() {
    // The probe evaluates one site every 10 ms. Over many runs it must be armed in about a
    // quarter of them, and fire on about a quarter of its evaluations when armed.
    let (runs, mut armed, mut fired, mut evaluated) = (400u64, 0u64, 0u64, 0u64);
    for seed in 0..runs {
        let mut o = quiet(1);
        o.buggify = true;
        o.safety_ms = 500;
        let c = probe(ProbeKind::Buggify, spec(seed, o, Vec::new()));
        assert!(
            c.get("buggify.evaluations") >= 40,
            "the site was evaluated only {} times",
            c.get("buggify.evaluations")
        );
        if c.get("buggify.armed_sites") == 1 {
            armed += 1;
            fired += c.get("buggify.fired");
            evaluated += c.get("buggify.evaluations");
        } else {
            assert_eq!(c.get("buggify.fired"), 0, "an unarmed site fired (seed {seed})");
        }
    }
    let arm_rate = armed as f64 / runs as f64;
    let fire_rate = fired as f64 / evaluated as f64;
    assert!((0.18..0.32).contains(&arm_rate), "armed in {armed} of {runs} runs");
    assert!((0.22..0.28).contains(&fire_rate), "fired {fired} of {evaluated} evaluations");
}

#[test]
fn a_message_storm_is_stopped_as_a_runaway_run_instead_of_hanging() {
    let report = run::<Probe>(&RunSpec {
        bug: Some(ProbeKind::Storm.name().to_string()),
        ..spec(1, quiet(2), vec![])
    })
    .expect("valid");
    assert!(!report.passed(), "{report}");
    let text = report.to_string();
    assert!(text.contains("runaway run"), "{text}");
}

#[test]
fn a_crash_point_crashes_the_node_after_its_step_and_reboots_it() {
    // Method: every 10 ms tick marks a crash point, and every boot adds one to a synced count on
    // the node's disk. Each firing must be exactly one crash and one reboot, in place (no
    // scheduled fault), and the node must be back in milliseconds: with buggify on and the
    // site armed it fires on a quarter of the ticks, so a node spends most of 3 s rebooting
    // unless reboots are quick. With buggify off it never fires.
    let boots = |c: &Counters| -> u64 { (0..3).map(|n| c.get(&format!("probe.n{n}.boots"))).sum() };
    let off = probe(ProbeKind::CrashPoint, spec(0, quiet(3), vec![]));
    assert_eq!((off.get("process.crash_point"), boots(&off)), (0, 3));
    let mut armed_runs = 0;
    for seed in 0..12 {
        let c = probe(ProbeKind::CrashPoint, spec(seed, SimOptions { buggify: true, ..quiet(3) }, vec![]));
        let points = c.get("process.crash_point");
        // A node that crashed in the last milliseconds may still be down when the run ends.
        let reboots = boots(&c) - 3;
        assert!(
            reboots <= points && points - reboots <= 3,
            "seed {seed}: {reboots} reboots, {points} crash points"
        );
        assert_eq!((c.get("process.crash"), c.get("process.restart")), (points, points), "seed {seed}");
        if points > 0 {
            armed_runs += 1;
            // ~300 ticks a node, a quarter of them fire: dozens of reboots fit only if quick.
            assert!(points >= 20, "seed {seed}: only {points} crash points fired");
        }
    }
    assert!(armed_runs > 0, "the crash point site was never armed in 12 runs");
}

/// A crash at 1 s aimed at the leader, else n0; the `Restart` of n0 at 1.5 s.
fn leader_crash() -> Vec<Event> {
    vec![
        at(1_000, Fault::Crash { node: NodeId(0), storm: false, mid_step: false, leader: true }),
        at(1_500, Fault::Restart { node: NodeId(0) }),
    ]
}

#[test]
fn a_crash_aimed_at_the_leader_takes_down_the_leader_and_its_restart_follows() {
    // The probe system names the last node as its leader for this probe kind.
    let c = probe(ProbeKind::CrashPoint, spec(1, quiet(3), leader_crash()));
    let boots: Vec<u64> = (0..3).map(|n| c.get(&format!("probe.n{n}.boots"))).collect();
    assert_eq!(boots, [1, 1, 2], "n2, the leader, must be the node that crashed and came back");
    assert_eq!((c.get("process.crash_leader"), c.get("process.crash"), c.get("process.restart")), (1, 1, 1));
}

#[test]
fn a_crash_aimed_at_the_leader_falls_on_the_named_node_when_there_is_none() {
    // The probe system names no leader for this probe kind.
    let c = probe(ProbeKind::Durability, spec(5, quiet(1), leader_crash()));
    assert_eq!(c.get("probe.n0.recovery_boots"), 1, "n0 must have crashed and restarted");
    assert_eq!(c.get("process.crash_leader"), 0);
}

#[test]
fn client_side_proxies_are_crashed_paused_and_cut_off_and_the_checks_see_through_them() {
    // Method: the counter behind one proxy per client (see `proxy.rs`) under swarm. The
    // schedule draws its crashes, pauses and partitions among servers and proxies alike; the
    // per-kind counters show the proxies took their share, and the counter's checks (exact
    // bounds, linearizability) must hold on every seed.
    let sweep = check::<proxy::Proxied>(Scenario::new("proxied counter: swarm"))
        .expect_faults(&[
            "kind.proxy.process.crash",
            "kind.proxy.process.pause",
            "kind.proxy.partition",
            "kind.server.process.crash",
        ])
        .seeds(30)
        .run();
    assert!(
        sweep.counters.get("process.crash_leader") > 0,
        "crashes aimed at the primary must still find it"
    );
}

#[test]
fn a_proxy_that_acknowledges_before_the_primary_answered_is_caught() {
    let sweep =
        check::<proxy::Proxied>(Scenario::new("proxied counter: bug ProxyAcksEarly").bug("ProxyAcksEarly"))
            .seeds(50)
            .run_expecting_failure();
    let (seed, _, message) = &sweep.failures[0];
    assert!(message.contains("counter-bounds") || message.contains("linearizable"), "seed {seed}: {message}");
}

#[test]
fn runs_with_client_side_nodes_are_deterministic() {
    check::<proxy::Proxied>(Scenario::new("proxied counter: determinism")).seeds(6).assert_deterministic();
}

/// Each start of node `n` as (first boot, the disk was empty).
fn starts(c: &Counters, n: u32) -> Vec<(u64, u64)> {
    let k = c.get(&format!("probe.n{n}.starts"));
    let get = |k: u64, what: &str| c.get(&format!("probe.n{n}.start{k}.{what}"));
    (0..k).map(|k| (get(k, "first_boot"), get(k, "blank"))).collect()
}

#[test]
fn a_wiped_disk_restarts_the_node_empty_and_the_node_knows_it_is_not_its_first_boot() {
    // Method: the FirstBoot probe records, at each start, `cx.first_boot()` and whether its disk
    // is empty; its first start halts once after writing a file, and every start that finishes
    // writes one. The run wipes the disk of the node the run may corrupt, restarts it, then
    // crashes and restarts it. Expected starts of that node: the first (first boot, empty), its
    // retry after the halt (still the first boot: the first start never finished; not empty),
    // after the wipe (not the first boot, empty), after the crash (neither).
    let seed = 3;
    let mut o = quiet(3);
    (o.process.restart_delay_ms_min, o.process.restart_delay_ms_max) = (100, 100);
    let placement = faultline_sim::schedule::corruptible(seed, &faultline_sim::Layout::servers(3));
    let victim =
        placement.iter().position(|c| *c == faultline_sim::disk::Corruption::Allowed).unwrap() as u32;
    let protected = (victim + 1) % 3;
    let events = vec![
        at(1_000, Fault::Wipe { node: NodeId(victim) }),
        at(1_000, Fault::Wipe { node: NodeId(protected) }),
        at(1_500, Fault::Restart { node: NodeId(victim) }),
        at(2_000, Fault::Crash { node: NodeId(victim), storm: false, mid_step: false, leader: false }),
        at(2_500, Fault::Restart { node: NodeId(victim) }),
    ];
    let c = probe(ProbeKind::FirstBoot, spec(seed, o, events));
    assert_eq!(starts(&c, victim), [(1, 1), (1, 0), (0, 1), (0, 0)]);
    assert_eq!(starts(&c, protected), [(1, 1), (1, 0)], "a disk the run may not corrupt is never wiped");
    assert_eq!(c.get("disk.wiped"), 1);
}
