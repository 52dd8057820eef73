//! Probe nodes: tiny protocols that record what the simulated machine does to them.
//!
//! One node type serves every probe; the probe kind (chosen through the system's `bug` slot,
//! which the harness passes through untouched) decides what it does. What a probe saw is
//! reported as counters named `probe.*`, which the tests read from the run report.

use faultline_checkers::{History, Value};
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{buggify, ClientId, Context, Node, NodeId, RequestId, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The window the network and pause tests put their fault in, and a margin for messages in
/// flight at its edges (the largest default delay is 5 ms).
pub const WINDOW_MS: (u64, u64) = (1_000, 2_000);
const MARGIN_MS: u64 = 10;
const TICK: Duration = Duration::from_millis(10);
/// Bytes the torn-write probe leaves unsynced.
pub const TORN_LEN: usize = 4096;

faultline_sim::bug_zoo! {
    /// What a probe node does: one fault mechanism each. The probe system selects its kind
    /// through the bug option, so one system serves every probe.
    pub enum ProbeKind {
        /// Pings every peer and records what arrives.
        Network = ("network", "pings every peer and records what arrives"),
        /// Records duplicated deliveries.
        Duplicates = ("duplicates", "records duplicated deliveries"),
        /// Writes synced and unsynced files and checks what survives a crash.
        Durability = ("durability", "checks what survives a crash on disk"),
        /// Leaves a large write unsynced and measures what a crash tore.
        TornWrite = ("torn-write", "measures what a crash tore of an unsynced write"),
        /// Records its clock against simulated time.
        Clock = ("clock", "records its clock against simulated time"),
        /// Ticks, so a pause shows as a gap.
        Pause = ("pause", "ticks, so a pause shows as a gap"),
        /// Counts buggify firings.
        Buggify = ("buggify", "counts buggify firings"),
        /// Answers every message with two: a message storm.
        Storm = ("storm", "answers every message with two: a message storm"),
        /// Marks a crash point on every tick; counts its boots durably.
        CrashPoint = ("crash-point", "marks a crash point on every tick and counts its boots"),
        /// Records at every start whether it is the first boot and whether the disk is empty;
        /// its first start halts once (after writing a synced file), every start writes one.
        FirstBoot = ("first-boot", "records first boots and empty disks at every start"),
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ping {
    seq: u64,
    /// The sender's clock at sending (perfect clocks in these tests: simulated time).
    sent_ns: u64,
}

/// What a probe node saw, for the observer to copy.
#[derive(Default)]
pub struct ProbeNode {
    kind: Option<ProbeKind>,
    nodes: u32,
    seq: u64,
    /// (from, sent at ns since the epoch, received at ns since the epoch, seq)
    received: Vec<(NodeId, u64, u64, u64)>,
    /// Facts recorded at boot: name -> value.
    facts: BTreeMap<String, u64>,
    ticks: Vec<u64>,
    /// The node's clock reading at its last step, ns since the epoch (may be negative: i128).
    last_local_ns: i128,
    /// At this incarnation's start: (clock reading ns, first boot, the disk was empty).
    booted: Option<(u64, bool, bool)>,
}

fn since_epoch(t: Time) -> u64 {
    t.as_nanos().saturating_sub(Time::EPOCH_NANOS)
}

impl Node for ProbeNode {
    type Msg = Ping;
    type Timer = ();
    type Request = ();
    type Response = ();

    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        match self.kind {
            Some(ProbeKind::Durability) => self.durability_boot(cx),
            Some(ProbeKind::TornWrite) => self.torn_boot(cx),
            Some(ProbeKind::CrashPoint) => self.count_boot(cx),
            Some(ProbeKind::FirstBoot) => self.first_boot_start(cx),
            _ => {}
        }
        self.last_local_ns = i128::from(cx.now().as_nanos()) - i128::from(Time::EPOCH_NANOS);
        cx.set_timer((), TICK);
    }

    fn on_message(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Ping) {
        if self.kind == Some(ProbeKind::Storm) {
            for _ in 0..2 {
                cx.send(from, msg.clone());
            }
            return;
        }
        self.received.push((from, msg.sent_ns, since_epoch(cx.now()), msg.seq));
    }

    fn on_timer(&mut self, cx: &mut Context<'_, Self>, _timer: ()) {
        cx.set_timer((), TICK);
        self.last_local_ns = i128::from(cx.now().as_nanos()) - i128::from(Time::EPOCH_NANOS);
        self.ticks.push(since_epoch(cx.now()));
        if self.kind == Some(ProbeKind::Buggify) {
            let _ = buggify!(cx);
            return;
        }
        if self.kind == Some(ProbeKind::CrashPoint) {
            cx.crash_point();
            return;
        }
        let sent_ns = since_epoch(cx.now());
        let me = cx.id();
        for peer in (0..self.nodes).map(NodeId).filter(|p| *p != me) {
            self.seq += 1;
            cx.send(peer, Ping { seq: self.seq, sent_ns });
        }
    }

    fn on_request(&mut self, _cx: &mut Context<'_, Self>, _id: RequestId, _req: ()) {}
}

impl ProbeNode {
    /// First boot: a synced file and an unsynced one. Later boots: which of them survived.
    fn durability_boot(&mut self, cx: &mut Context<'_, Self>) {
        let disk = cx.disk();
        if disk.len("marker").unwrap().is_some() {
            let survived =
                |disk: &mut dyn faultline_sim::Storage, f: &str| u64::from(disk.len(f).unwrap().is_some());
            self.facts.insert("synced_survived".into(), survived(disk, "synced"));
            self.facts.insert("unsynced_survived".into(), survived(disk, "unsynced"));
            self.facts.insert("recovery_boots".into(), 1);
            return;
        }
        disk.write("marker", 0, b"m").unwrap();
        disk.write("synced", 0, b"kept").unwrap();
        disk.sync("synced").unwrap();
        disk.write("unsynced", 0, b"lost").unwrap();
    }

    /// Records the start; halts the very first one once (a halt drops the step's commands).
    fn first_boot_start(&mut self, cx: &mut Context<'_, Self>) {
        let (at, first) = (since_epoch(cx.now()), cx.first_boot());
        let disk = cx.disk();
        let blank = disk.list().unwrap().is_empty();
        self.booted = Some((at, first, blank));
        if first && disk.len("tried").unwrap().is_none() {
            disk.write("tried", 0, b"t").unwrap();
            disk.sync("tried").unwrap();
            cx.halt("the first start halts once");
            return;
        }
        disk.write("seen", 0, b"s").unwrap();
        disk.sync("seen").unwrap();
    }

    /// Counts this boot in a synced file, and records the count and the boot time.
    fn count_boot(&mut self, cx: &mut Context<'_, Self>) {
        let at = since_epoch(cx.now());
        let disk = cx.disk();
        let boots = disk.read_all("boots").unwrap().map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
        disk.write("boots", 0, &(boots + 1).to_le_bytes()).unwrap();
        disk.sync("boots").unwrap();
        self.facts.insert("boots".into(), boots + 1);
        self.facts.insert("boot_ms".into(), at / 1_000_000);
    }

    /// First boot: a synced empty file, then a 4 KiB unsynced write into it. Later boots: how
    /// many leading bytes of the write survived the crash.
    fn torn_boot(&mut self, cx: &mut Context<'_, Self>) {
        let disk = cx.disk();
        match disk.read_all("torn").unwrap() {
            Some(data) if !data.is_empty() => {
                let intact = data.iter().take_while(|b| **b == 0xAB).count();
                self.facts.insert("torn_len".into(), data.len() as u64);
                self.facts.insert("torn_intact_prefix".into(), intact as u64);
            }
            Some(_) => {}
            None => {
                disk.write("torn", 0, b"").unwrap();
                disk.sync("torn").unwrap();
                disk.write("torn", 0, &[0xAB; TORN_LEN]).unwrap();
            }
        }
    }
}

/// The probe system.
pub struct Probe {
    kind: ProbeKind,
    nodes: u32,
}

/// Everything the probe nodes saw, by node.
#[derive(Default)]
pub struct Seen {
    received: BTreeMap<NodeId, Vec<(NodeId, u64, u64, u64)>>,
    facts: BTreeMap<NodeId, BTreeMap<String, u64>>,
    ticks: BTreeMap<NodeId, Vec<u64>>,
    /// (node) -> (local clock - simulated time) at its last step, ns.
    skew: BTreeMap<NodeId, i128>,
    /// Each start of each node: (clock reading ns, first boot, the disk was empty).
    boots: BTreeMap<NodeId, Vec<(u64, bool, bool)>>,
}

impl System for Probe {
    type Node = ProbeNode;
    type Observer = Seen;
    type Bug = ProbeKind;
    const NAME: &'static str = "probe";
    const MODEL: &'static str = "register";

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let kind = config.bug::<Self>()?.unwrap_or(ProbeKind::Network);
        Ok(Probe { kind, nodes: config.nodes })
    }

    fn build_node(&self, _id: NodeId) -> ProbeNode {
        ProbeNode { kind: Some(self.kind), nodes: self.nodes, ..ProbeNode::default() }
    }

    fn next_op(&self, _client: ClientId, _rng: &mut Rng) -> Op<()> {
        Op::new((), "noop", Value::Nil)
    }

    fn route(&self, _client: ClientId, _request: &(), _hint: Option<NodeId>, _rng: &mut Rng) -> NodeId {
        NodeId(0)
    }

    fn interpret(&self, _request: &(), _response: &()) -> Answer {
        Answer::NotApplied { hint: None }
    }

    /// The crash-point probe's leader is its last node; the other probes have none.
    fn leader(&self, _seen: &Seen) -> Option<NodeId> {
        (self.kind == ProbeKind::CrashPoint).then(|| NodeId(self.nodes - 1))
    }

    fn observe(&self, seen: &mut Seen, id: NodeId, moment: Moment, node: &ProbeNode) {
        // The node keeps its whole record; copy the latest (small runs only).
        seen.received.insert(id, node.received.clone());
        seen.ticks.insert(id, node.ticks.clone());
        let facts = seen.facts.entry(id).or_default();
        for (k, v) in &node.facts {
            facts.insert(k.clone(), *v);
        }
        seen.skew.insert(id, node.last_local_ns - i128::from(moment.time_ns));
        if let Some(boot) = node.booted {
            let boots = seen.boots.entry(id).or_default();
            if boots.last() != Some(&boot) {
                boots.push(boot);
            }
        }
    }

    fn check(&self, _history: &History, _seen: &Seen) -> Vec<CheckOutcome> {
        Vec::new()
    }

    fn counters(&self, seen: &Seen, counters: &mut Counters) {
        link_counts(seen, counters);
        for (node, facts) in &seen.facts {
            for (k, v) in facts {
                counters.add_n(&format!("probe.{node}.{k}"), *v);
            }
        }
        for (node, ticks) in &seen.ticks {
            let during = ticks.iter().filter(|t| in_window(**t)).count() as u64;
            counters.add_n(&format!("probe.{node}.ticks"), ticks.len() as u64);
            counters.add_n(&format!("probe.{node}.ticks_during"), during);
        }
        for (node, boots) in &seen.boots {
            counters.add_n(&format!("probe.{node}.starts"), boots.len() as u64);
            for (k, (_, first, blank)) in boots.iter().enumerate() {
                counters.add_n(&format!("probe.{node}.start{k}.first_boot"), u64::from(*first));
                counters.add_n(&format!("probe.{node}.start{k}.blank"), u64::from(*blank));
            }
        }
        for (node, skew) in &seen.skew {
            counters.add_n(&format!("probe.{node}.skew_ms_abs"), (skew.unsigned_abs() / 1_000_000) as u64);
        }
    }
}

fn in_window(t_ns: u64) -> bool {
    let (start, end) = (WINDOW_MS.0 * 1_000_000, (WINDOW_MS.1 - MARGIN_MS) * 1_000_000);
    (start..end).contains(&t_ns)
}

/// Per directed link: deliveries of messages sent before, during and after the window, and
/// deliveries of the same message more than once.
fn link_counts(seen: &Seen, counters: &mut Counters) {
    for (to, received) in &seen.received {
        let mut copies: BTreeMap<(NodeId, u64), u64> = BTreeMap::new();
        for &(from, sent, delivered, seq) in received {
            let phase = match sent {
                s if in_window(s) => "during",
                s if s < WINDOW_MS.0 * 1_000_000 => "before",
                _ => "after",
            };
            counters.add(&format!("probe.{from}->{to}.{phase}"));
            if in_window(sent) && !in_window(delivered) {
                counters.add(&format!("probe.{from}->{to}.sent_during_delivered_after"));
            }
            *copies.entry((from, seq)).or_default() += 1;
        }
        counters.add_n(&format!("probe.{to}.received"), received.len() as u64);
        counters.add_n(&format!("probe.{to}.distinct"), copies.len() as u64);
    }
}
