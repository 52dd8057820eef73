//! The fault schedule: the nemesis's plan for the safety phase, as plain data.
//!
//! The plan is drawn from the seed and the options before the run starts, so it can be
//! printed, saved, edited, shrunk (drop events, shorten it) and replayed exactly. Probabilistic
//! per-message faults (loss, duplication, delays) are not events: they are rates in the
//! options. Each family of faults has its own timeline from its own random stream, so turning
//! one family off does not move the others. Partitions of a link hold for a stability window
//! before they change (VOPR's `partition_stability`).
//!
//! The plan follows the system's [`Layout`]: each fault's target is drawn among the nodes whose
//! kind permits it (crashes among those that may crash, partitions among those whose links may
//! be cut...), and destructive disk faults among the nodes the run's placement allows. With the
//! default layout every node permits everything, and the draws are those of a plain cluster.

use crate::disk::{place_corruption, Corruption};
use crate::layout::{FaultPermissions, Layout};
use crate::node::NodeId;
use crate::options::{PartitionKind, SimOptions};
use crate::rng::{self, chance, Rng};
use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One thing the nemesis does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, arbitrary::Arbitrary)]
#[serde(rename_all = "snake_case", tag = "fault")]
pub enum Fault {
    /// Cut these directed node-to-node links, replacing any partition in force.
    Partition {
        /// The shape drawn for this partition, for the printed schedule and the timeline.
        kind: PartitionKind,
        /// The directed links cut, each `(from, to)`: messages from `from` to `to` are dropped.
        cut: Vec<(NodeId, NodeId)>,
    },
    /// Restore every link cut by `Partition` and `Clog`.
    Heal,
    /// A swizzle step: cut every link to and from the node.
    Clog {
        /// The node isolated until its `Unclog`.
        node: NodeId,
    },
    /// Undo a swizzle step: the node's clog no longer cuts its links (a partition in force still
    /// does).
    Unclog {
        /// The node whose links come back.
        node: NodeId,
    },
    /// Power off: volatile state and unsynced writes are lost. `storm` marks the crashes of a
    /// restart storm (several crash-restart cycles in quick succession). `mid_step`: the power
    /// goes out in the middle of the node's next step that changes its disk rather than now
    /// (see `ProcessOptions::mid_step_probability`). `leader`: crash the node the system names
    /// as its leader at that moment instead, if one is up (Jepsen's `:primaries` target); the
    /// `Restart` of `node` that follows restarts whichever node went down.
    Crash {
        /// The node that loses power (unless `leader` picks another).
        node: NodeId,
        /// Part of a restart storm.
        #[serde(default)]
        storm: bool,
        /// The power goes out during the node's next disk-changing step rather than now.
        #[serde(default)]
        mid_step: bool,
        // Not drawn by `arbitrary`, so fuzz inputs kept in corpora map to the same events.
        /// Crash the node the system reports as its leader, if one is up, instead of `node`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        #[arbitrary(default)]
        leader: bool,
    },
    /// Power the node back on: it recovers from what its disk kept.
    Restart {
        /// The node to power on; after a `leader` crash, whichever node went down comes back.
        node: NodeId,
    },
    /// Stop scheduling the node (a long GC pause): its timers and messages wait.
    Pause {
        /// The node that stops being scheduled.
        node: NodeId,
    },
    /// End a pause: the node's waiting timers and messages are delivered.
    Resume {
        /// The node that runs again.
        node: NodeId,
    },
    /// Flip a bit of the node's durable data (its disk must be corruptible).
    BitFlip {
        /// The node whose disk takes the flipped bit.
        node: NodeId,
    },
    /// Make a run of sectors of the node's durable data unreadable (a latent sector error).
    LatentError {
        /// The node whose disk gets the unreadable sectors.
        node: NodeId,
    },
    /// The node's disk fills up: writes that would grow it fail.
    DiskFull {
        /// The node whose disk fills up.
        node: NodeId,
    },
    /// End a `DiskFull`: writes to the node's disk may grow it again.
    DiskFreed {
        /// The node whose disk has room again.
        node: NodeId,
    },
    /// The node loses power (if it is up) and its disk is replaced with an empty one, as after
    /// a disk failure; the `Restart` that follows boots it on the blank disk. A destructive disk
    /// fault: only on the disks the run may corrupt. (Not drawn by `arbitrary`, so fuzz inputs
    /// kept in corpora map to the same events.)
    #[arbitrary(skip)]
    Wipe {
        /// The node that loses power and its disk.
        node: NodeId,
    },
}

/// A fault at a time of the safety phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, arbitrary::Arbitrary)]
pub struct Event {
    /// When the fault happens, in simulated milliseconds from the start of the run.
    pub at_ms: u64,
    /// What happens.
    #[serde(flatten)]
    pub fault: Fault,
}

/// The whole plan, sorted by time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, arbitrary::Arbitrary)]
pub struct Schedule {
    /// The events, in time order (`validate` checks it, `fit` restores it).
    pub events: Vec<Event>,
}

impl Schedule {
    /// Draws the plan for `seed` and `options`, for the nodes of `layout`.
    pub fn plan(seed: u64, options: &SimOptions, layout: &Layout) -> Schedule {
        let end = options.safety_ms;
        let mut events = Vec::new();
        let cuttable = layout.eligible(|p| p.partition);
        if cuttable.len() >= 2 && !options.partition.kinds.is_empty() {
            let r = &mut rng::derive(seed, "nemesis.partition", 0);
            plan_partitions(r, options, &cuttable, &mut events);
        }
        let crashable = layout.eligible(|p| p.crash);
        if options.process.crash_interval_ms_mean > 0 && !crashable.is_empty() {
            let r = &mut rng::derive(seed, "nemesis.crash", 0);
            plan_crashes(r, options, &crashable, layout.len(), &mut events);
        }
        let pausable = layout.eligible(|p| p.pause);
        if options.process.pause_interval_ms_mean > 0 && !pausable.is_empty() {
            let r = &mut rng::derive(seed, "nemesis.pause", 0);
            plan_pauses(r, options, &pausable, layout.len(), &mut events);
        }
        plan_disk(seed, options, layout, &mut events);
        if options.disk.wipe_interval_ms_mean > 0 {
            plan_wipes(seed, options, layout, &mut events);
        }
        events.retain(|e| e.at_ms < end);
        events.sort_by_key(|e| e.at_ms);
        Schedule { events }
    }

    /// The number of events in the plan.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Checks that every event names nodes of `layout` whose kind permits the fault, falls
    /// within `safety_ms`, and comes in time order.
    pub fn validate(&self, layout: &Layout, safety_ms: u64) -> Result<(), String> {
        for (i, e) in self.events.iter().enumerate() {
            if e.at_ms >= safety_ms {
                return Err(format!(
                    "schedule event {i} at {} ms is past the safety phase ({safety_ms} ms)",
                    e.at_ms
                ));
            }
            let nodes = layout.len();
            if let Some(n) = e.fault.nodes().find(|n| n.0 >= nodes) {
                return Err(format!(
                    "schedule event {i} ({}) names {n}, but the cluster has {nodes} nodes",
                    e.fault
                ));
            }
            if let Some(n) = e.fault.nodes().find(|n| !e.fault.permitted(&layout.permissions(*n))) {
                return Err(format!(
                    "schedule event {i} ({}) names {n}, a {} node, which the system's layout protects from it",
                    e.fault,
                    layout.kind_of(n)
                ));
            }
            if i > 0 && self.events[i - 1].at_ms > e.at_ms {
                return Err(format!(
                    "schedule event {i} at {} ms comes before the event listed ahead of it",
                    e.at_ms
                ));
            }
        }
        Ok(())
    }

    /// Makes any schedule (from a fuzzer, say) fit a layout: node ids and times are wrapped
    /// into range, self-links dropped, events the layout does not permit dropped, and events
    /// sorted.
    pub fn fit(mut self, layout: &Layout, safety_ms: u64) -> Schedule {
        let nodes = layout.len().max(1);
        for e in &mut self.events {
            e.at_ms %= safety_ms.max(1);
            e.fault.map_nodes(|n| NodeId(n.0 % nodes));
            if let Fault::Partition { cut, .. } = &mut e.fault {
                cut.retain(|(a, b)| a != b);
                cut.sort();
                cut.dedup();
            }
        }
        self.events.retain(|e| e.fault.nodes().all(|n| e.fault.permitted(&layout.permissions(n))));
        self.events.sort_by_key(|e| e.at_ms);
        self
    }

    /// Drops the events that name a node `layout` does not have or does not expose to the
    /// fault: what is left of a schedule when a run's layout shrinks (fewer clients, say).
    pub fn retain_fitting(&mut self, layout: &Layout) {
        let fits = |n: NodeId| n.0 < layout.len();
        self.events.retain(|e| e.fault.nodes().all(|n| fits(n) && e.fault.permitted(&layout.permissions(n))));
    }

    /// Whether the plan has no events (a run without scheduled faults).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl Fault {
    /// Whether a node with `permissions` may suffer this fault (a `Restart` or `Resume` goes
    /// with the crash or pause it ends; a `Heal` names no node).
    pub fn permitted(&self, permissions: &FaultPermissions) -> bool {
        match self {
            Fault::Partition { .. } | Fault::Clog { .. } | Fault::Unclog { .. } => permissions.partition,
            Fault::Heal => true,
            Fault::Crash { .. } => permissions.crash,
            // A restart ends a crash or a wipe.
            Fault::Restart { .. } => permissions.crash || permissions.destructive_disk,
            Fault::Pause { .. } | Fault::Resume { .. } => permissions.pause,
            Fault::BitFlip { .. } | Fault::LatentError { .. } | Fault::Wipe { .. } => {
                permissions.destructive_disk
            }
            Fault::DiskFull { .. } | Fault::DiskFreed { .. } => permissions.disk_full,
        }
    }

    /// The nodes the fault names.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        let (links, one): (&[(NodeId, NodeId)], Option<NodeId>) = match self {
            Fault::Partition { cut, .. } => (cut, None),
            Fault::Heal => (&[], None),
            Fault::Clog { node }
            | Fault::Unclog { node }
            | Fault::Crash { node, .. }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::BitFlip { node }
            | Fault::LatentError { node }
            | Fault::DiskFull { node }
            | Fault::DiskFreed { node }
            | Fault::Wipe { node } => (&[], Some(*node)),
        };
        links.iter().flat_map(|(a, b)| [*a, *b]).chain(one)
    }

    fn map_nodes(&mut self, f: impl Fn(NodeId) -> NodeId) {
        match self {
            Fault::Partition { cut, .. } => cut.iter_mut().for_each(|(a, b)| (*a, *b) = (f(*a), f(*b))),
            Fault::Heal => {}
            Fault::Clog { node }
            | Fault::Unclog { node }
            | Fault::Crash { node, .. }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::BitFlip { node }
            | Fault::LatentError { node }
            | Fault::DiskFull { node }
            | Fault::DiskFreed { node }
            | Fault::Wipe { node } => *node = f(*node),
        }
    }
}

/// Proptest strategies for schedules, so property tests can generate and shrink them.
pub mod strategy {
    use super::*;
    use proptest::prelude::*;

    /// One fault among `nodes` nodes.
    pub fn fault(nodes: u32) -> impl Strategy<Value = Fault> {
        let node = (0..nodes.max(1)).prop_map(NodeId);
        let link = (0..nodes.max(1), 0..nodes.max(1)).prop_map(|(a, b)| (NodeId(a), NodeId(b)));
        prop_oneof![
            (proptest::sample::select(PartitionKind::ALL.to_vec()), proptest::collection::vec(link, 0..6))
                .prop_map(|(kind, cut)| Fault::Partition { kind, cut }),
            Just(Fault::Heal),
            (node.clone(), any::<bool>(), any::<bool>()).prop_map(|(node, mid_step, leader)| Fault::Crash {
                node,
                storm: false,
                mid_step,
                leader
            }),
            node.clone().prop_map(|node| Fault::Restart { node }),
            node.clone().prop_map(|node| Fault::Pause { node }),
            node.clone().prop_map(|node| Fault::Resume { node }),
            node.clone().prop_map(|node| Fault::Clog { node }),
            node.clone().prop_map(|node| Fault::Unclog { node }),
            node.clone().prop_map(|node| Fault::BitFlip { node }),
            node.clone().prop_map(|node| Fault::LatentError { node }),
            node.clone().prop_map(|node| Fault::DiskFull { node }),
            node.clone().prop_map(|node| Fault::DiskFreed { node }),
            node.prop_map(|node| Fault::Wipe { node }),
        ]
    }

    /// A schedule of up to `max_events` faults within `safety_ms`, valid for `nodes` nodes.
    pub fn schedule(nodes: u32, safety_ms: u64, max_events: usize) -> impl Strategy<Value = Schedule> {
        proptest::collection::vec((0..safety_ms.max(1), fault(nodes)), 0..=max_events).prop_map(
            move |events| {
                let events = events.into_iter().map(|(at_ms, fault)| Event { at_ms, fault }).collect();
                Schedule { events }.fit(&Layout::servers(nodes), safety_ms)
            },
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Partition { kind, cut } => {
                let links: Vec<String> = cut.iter().map(|(a, b)| format!("{a}->{b}")).collect();
                write!(f, "partition {} [{}]", kind.name(), links.join(" "))
            }
            Fault::Heal => write!(f, "heal"),
            Fault::Clog { node } => write!(f, "clog {node}"),
            Fault::Unclog { node } => write!(f, "unclog {node}"),
            Fault::Crash { node, storm, mid_step, leader } => {
                match leader {
                    true => write!(f, "crash the leader (else {node})")?,
                    false => write!(f, "crash {node}")?,
                }
                match (storm, mid_step) {
                    (false, false) => Ok(()),
                    (true, false) => write!(f, " (storm)"),
                    (false, true) => write!(f, " (mid-step)"),
                    (true, true) => write!(f, " (storm, mid-step)"),
                }
            }
            Fault::Restart { node } => write!(f, "restart {node}"),
            Fault::Pause { node } => write!(f, "pause {node}"),
            Fault::Resume { node } => write!(f, "resume {node}"),
            Fault::BitFlip { node } => write!(f, "bit flip at rest on {node}"),
            Fault::LatentError { node } => write!(f, "latent sector error on {node}"),
            Fault::DiskFull { node } => write!(f, "disk full on {node}"),
            Fault::DiskFreed { node } => write!(f, "disk freed on {node}"),
            Fault::Wipe { node } => write!(f, "wipe the disk of {node}"),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.events {
            writeln!(f, "{:>8} ms  {}", e.at_ms, e.fault)?;
        }
        Ok(())
    }
}

/// Exponential inter-arrival time with the given mean, at least 1 ms.
fn exp_ms(r: &mut Rng, mean_ms: u64) -> u64 {
    let u: f64 = r.gen_range(f64::EPSILON..1.0);
    ((-u.ln()) * mean_ms as f64).max(1.0) as u64
}

fn uniform_ms(r: &mut Rng, min: u64, max: u64) -> u64 {
    r.gen_range(min..=max.max(min))
}

fn nodes(n: u32) -> Vec<NodeId> {
    (0..n).map(NodeId).collect()
}

/// One of `candidates`, uniformly. Drawn as an index below `len as u32` so that with the
/// candidates `0..n` it is the very draw a plain cluster's `gen_range(0..n)` makes.
fn pick(r: &mut Rng, candidates: &[NodeId]) -> NodeId {
    candidates[r.gen_range(0..candidates.len() as u32) as usize]
}

/// Partitions among `cuttable`, the nodes whose links may be cut (at least two).
fn plan_partitions(r: &mut Rng, o: &SimOptions, cuttable: &[NodeId], out: &mut Vec<Event>) {
    let p = &o.partition;
    let mut t = exp_ms(r, p.interval_ms_mean);
    while t < o.safety_ms {
        let kind = *p.kinds.choose(r).expect("kinds is not empty");
        let hold = uniform_ms(r, p.hold_ms_min, p.hold_ms_max);
        if kind == PartitionKind::Swizzle {
            t = plan_swizzle(r, cuttable, t, hold, out);
        } else {
            let cut = partition_links_among(r, kind, cuttable);
            out.push(Event { at_ms: t, fault: Fault::Partition { kind, cut } });
            t += hold;
            out.push(Event { at_ms: t, fault: Fault::Heal });
        }
        t += exp_ms(r, p.interval_ms_mean);
    }
}

/// Clog a random subset one node at a time, then unclog it in another random order. Returns the
/// time the last node is unclogged.
fn plan_swizzle(r: &mut Rng, cuttable: &[NodeId], start: u64, hold: u64, out: &mut Vec<Event>) -> u64 {
    let mut order = cuttable.to_vec();
    order.shuffle(r);
    order.truncate(r.gen_range(1..=cuttable.len()));
    let step = (hold / (2 * order.len() as u64)).max(1);
    let mut t = start;
    for &node in &order {
        out.push(Event { at_ms: t, fault: Fault::Clog { node } });
        t += step;
    }
    order.shuffle(r);
    for &node in &order {
        t += step;
        out.push(Event { at_ms: t, fault: Fault::Unclog { node } });
    }
    t
}

/// The directed links a partition of `kind` cuts among `n >= 2` nodes, sorted.
pub fn partition_links(r: &mut Rng, kind: PartitionKind, n: u32) -> Vec<(NodeId, NodeId)> {
    partition_links_among(r, kind, &nodes(n))
}

/// The directed links a partition of `kind` cuts among `nodes` (at least two), sorted.
pub fn partition_links_among(r: &mut Rng, kind: PartitionKind, nodes: &[NodeId]) -> Vec<(NodeId, NodeId)> {
    let mut all = nodes.to_vec();
    all.shuffle(r);
    let n = all.len();
    let minority = ((n - 1) / 2).max(1);
    let mut cut = match kind {
        PartitionKind::Symmetric => cut_between(&all, r.gen_range(1..n), true),
        PartitionKind::OneWay => cut_between(&all, r.gen_range(1..n), false),
        PartitionKind::MajoritiesRing if n >= 5 => ring_cut(&all),
        PartitionKind::MajorityMinority | PartitionKind::MajoritiesRing => cut_between(&all, minority, true),
        // The first shuffled node bridges two halves of the rest.
        PartitionKind::Bridge if n >= 3 => cut_between(&all[1..], (n - 1) / 2, true),
        PartitionKind::IsolateOne | PartitionKind::Bridge | PartitionKind::Swizzle => {
            cut_between(&all, 1, true)
        }
    };
    cut.sort();
    cut
}

/// Cuts the first `k` shuffled nodes from the rest: both ways, or only from them to the rest.
fn cut_between(shuffled: &[NodeId], k: usize, both_ways: bool) -> Vec<(NodeId, NodeId)> {
    let (left, right) = shuffled.split_at(k.clamp(1, shuffled.len() - 1));
    let mut cut = Vec::new();
    for &a in left {
        for &b in right {
            cut.push((a, b));
            if both_ways {
                cut.push((b, a));
            }
        }
    }
    cut
}

/// Majorities ring: nodes sit on a ring and each keeps links only to its nearest neighbours,
/// enough of them to see a majority; so every node sees a majority, each a different one.
fn ring_cut(shuffled: &[NodeId]) -> Vec<(NodeId, NodeId)> {
    let n = shuffled.len();
    let reach = (n / 2).div_ceil(2); // ceil((majority - 1) / 2) neighbours on each side
    let mut cut = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let distance = (i + n - j) % n;
            if i != j && distance.min(n - distance) > reach {
                cut.push((shuffled[i], shuffled[j]));
            }
        }
    }
    cut
}

/// Crashes among `crashable`; `nodes` is the layout's size.
fn plan_crashes(r: &mut Rng, o: &SimOptions, crashable: &[NodeId], nodes: u32, out: &mut Vec<Event>) {
    let c = &o.process;
    let mut down_until = vec![0u64; nodes as usize];
    let mut t = exp_ms(r, c.crash_interval_ms_mean);
    while t < o.safety_ms {
        let node = pick(r, crashable).0;
        if down_until[node as usize] <= t {
            let storm = r.gen_bool(c.storm_probability);
            let restarts = if storm { c.storm_restarts.max(1) } else { 1 };
            let mut at = t;
            for i in 0..restarts {
                let delay = if storm && i + 1 < restarts {
                    uniform_ms(r, 20, 200)
                } else {
                    uniform_ms(r, c.restart_delay_ms_min, c.restart_delay_ms_max)
                };
                let mid_step = chance(r, c.mid_step_probability);
                let leader = !storm && chance(r, c.leader_crash_probability);
                let fault = Fault::Crash { node: NodeId(node), storm, mid_step, leader };
                out.push(Event { at_ms: at, fault });
                out.push(Event { at_ms: at + delay, fault: Fault::Restart { node: NodeId(node) } });
                at += delay + if i + 1 < restarts { uniform_ms(r, 20, 200) } else { 0 };
            }
            down_until[node as usize] = at + 1;
        }
        t += exp_ms(r, c.crash_interval_ms_mean);
    }
}

/// Pauses among `pausable`; `nodes` is the layout's size.
fn plan_pauses(r: &mut Rng, o: &SimOptions, pausable: &[NodeId], nodes: u32, out: &mut Vec<Event>) {
    let c = &o.process;
    let mut busy_until = vec![0u64; nodes as usize];
    let mut t = exp_ms(r, c.pause_interval_ms_mean);
    while t < o.safety_ms {
        let node = pick(r, pausable).0;
        let length = uniform_ms(r, c.pause_ms_min, c.pause_ms_max);
        if busy_until[node as usize] <= t {
            out.push(Event { at_ms: t, fault: Fault::Pause { node: NodeId(node) } });
            out.push(Event { at_ms: t + length, fault: Fault::Resume { node: NodeId(node) } });
            busy_until[node as usize] = t + length + 1;
        }
        t += exp_ms(r, c.pause_interval_ms_mean);
    }
}

/// The disks a run may corrupt (or wipe), one entry per node of `layout`: a minority of each
/// group whose kind permits destructive disk faults, drawn from the seed once per run (see
/// `disk::place_corruption`); every other disk is protected. The k-th such group draws from
/// its own stream, so the first one's placement is that of a plain cluster.
pub fn corruptible(seed: u64, layout: &Layout) -> Vec<Corruption> {
    let mut placement = Vec::with_capacity(layout.len() as usize);
    let mut k = 0;
    for group in layout.groups() {
        if group.faults.destructive_disk {
            let r = &mut rng::derive(seed, "disk.placement", k);
            placement.extend(place_corruption(group.len() as usize, r));
            k += 1;
        } else {
            placement.extend((0..group.len()).map(|_| Corruption::Forbidden));
        }
    }
    placement
}

fn plan_disk(seed: u64, o: &SimOptions, layout: &Layout, out: &mut Vec<Event>) {
    let allowed: Vec<NodeId> = (corruptible(seed, layout).into_iter().enumerate())
        .filter(|(_, c)| *c == Corruption::Allowed)
        .map(|(i, _)| NodeId(i as u32))
        .collect();
    let fillable = layout.eligible(|p| p.disk_full);
    let d = &o.disk;
    let mut r = rng::derive(seed, "nemesis.disk", 0);
    let every = |r: &mut Rng, mean: u64, f: &mut dyn FnMut(&mut Rng, u64)| {
        if mean == 0 {
            return;
        }
        let mut t = exp_ms(r, mean);
        while t < o.safety_ms {
            f(r, t);
            t += exp_ms(r, mean);
        }
    };
    if !allowed.is_empty() {
        every(&mut r, d.bitflip_interval_ms_mean, &mut |r, t| {
            let node = *allowed.choose(r).expect("not empty");
            out.push(Event { at_ms: t, fault: Fault::BitFlip { node } });
        });
        every(&mut r, d.latent_interval_ms_mean, &mut |r, t| {
            let node = *allowed.choose(r).expect("not empty");
            out.push(Event { at_ms: t, fault: Fault::LatentError { node } });
        });
    }
    if fillable.is_empty() {
        return;
    }
    every(&mut r, d.full_interval_ms_mean, &mut |r, t| {
        let node = pick(r, &fillable);
        out.push(Event { at_ms: t, fault: Fault::DiskFull { node } });
        out.push(Event {
            at_ms: t + uniform_ms(r, d.full_ms_min, d.full_ms_max),
            fault: Fault::DiskFreed { node },
        });
    });
}

/// Wiped disks, each followed by the node's restart, on the disks the run may corrupt. Its own
/// stream, so runs without wipes plan exactly what they did before wipes existed.
fn plan_wipes(seed: u64, o: &SimOptions, layout: &Layout, out: &mut Vec<Event>) {
    let allowed: Vec<NodeId> = (corruptible(seed, layout).into_iter().enumerate())
        .filter(|(_, c)| *c == Corruption::Allowed)
        .map(|(i, _)| NodeId(i as u32))
        .collect();
    if allowed.is_empty() {
        return;
    }
    let r = &mut rng::derive(seed, "nemesis.wipe", 0);
    let c = &o.process;
    let mut down_until = vec![0u64; layout.len() as usize];
    let mut t = exp_ms(r, o.disk.wipe_interval_ms_mean);
    while t < o.safety_ms {
        let node = pick(r, &allowed);
        let back = t + uniform_ms(r, c.restart_delay_ms_min, c.restart_delay_ms_max);
        if down_until[node.0 as usize] <= t {
            out.push(Event { at_ms: t, fault: Fault::Wipe { node } });
            out.push(Event { at_ms: back, fault: Fault::Restart { node } });
            down_until[node.0 as usize] = back + 1;
        }
        t += exp_ms(r, o.disk.wipe_interval_ms_mean);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Preset;
    use proptest::prelude::*;

    #[test]
    fn planned_schedules_are_valid_and_a_function_of_the_seed() {
        for seed in 0..300 {
            let o = Preset::Swarm.options(seed);
            let layout = Layout::servers(o.nodes);
            let s = Schedule::plan(seed, &o, &layout);
            s.validate(&layout, o.safety_ms).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert_eq!(s, Schedule::plan(seed, &o, &layout));
        }
    }

    #[test]
    fn partitions_of_each_kind_cut_something_and_never_a_self_link() {
        for kind in PartitionKind::ALL {
            for n in [2, 3, 5, 7] {
                let cut = partition_links(&mut rng::derive(1, "t", u64::from(n)), kind, n);
                assert!(!cut.is_empty(), "{kind:?} with {n} nodes cut nothing");
                assert!(cut.iter().all(|(a, b)| a != b && a.0 < n && b.0 < n));
            }
        }
    }

    #[test]
    fn a_majorities_ring_leaves_every_node_a_majority_of_its_own() {
        let n = 5;
        let cut = partition_links(&mut rng::derive(2, "t", 0), PartitionKind::MajoritiesRing, n);
        let sees = |a: u32| (0..n).filter(|b| !cut.contains(&(NodeId(a), NodeId(*b)))).collect::<Vec<_>>();
        let views: Vec<Vec<u32>> = (0..n).map(sees).collect();
        assert!(views.iter().all(|v| v.len() as u32 > n / 2), "{views:?}");
        assert!(
            views.iter().collect::<std::collections::BTreeSet<_>>().len() > 1,
            "every node sees the same majority"
        );
    }

    /// Servers, a coordinator, and client-side nodes that may not be paused.
    fn mixed() -> Layout {
        use crate::layout::Role;
        (Layout::servers(3).group("coordinator", 1, Role::Single))
            .group("client", 3, Role::ClientSide)
            .tune("client", |p| p.pause = false)
    }

    #[test]
    fn faults_fall_only_on_the_kinds_that_permit_them_and_on_every_such_kind() {
        let layout = mixed();
        let mut hit: std::collections::BTreeSet<(&str, &str)> = Default::default();
        for seed in 0..300 {
            let o = Preset::Swarm.options(seed);
            let s = Schedule::plan(seed, &o, &layout);
            s.validate(&layout, o.safety_ms).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            for e in &s.events {
                let what = match e.fault {
                    Fault::Crash { .. } => "crash",
                    Fault::Pause { .. } => "pause",
                    Fault::Partition { .. } | Fault::Clog { .. } => "partition",
                    Fault::BitFlip { .. } | Fault::LatentError { .. } => "destructive",
                    _ => continue,
                };
                hit.extend(e.fault.nodes().map(|n| (layout.kind_of(n), what)));
            }
        }
        for kind in ["server", "coordinator", "client"] {
            for what in ["crash", "partition"] {
                assert!(hit.contains(&(kind, what)), "no {what} of a {kind} in 300 seeds: {hit:?}");
            }
        }
        assert!(hit.contains(&("coordinator", "pause")) && !hit.contains(&("client", "pause")));
        let destroyed: Vec<&str> = hit.iter().filter(|(_, w)| *w == "destructive").map(|(k, _)| *k).collect();
        assert_eq!(destroyed, ["server"], "destructive disk faults only on the replicated group");
    }

    #[test]
    fn a_schedule_that_hits_a_protected_kind_is_refused_and_fitting_drops_it() {
        let layout = mixed();
        let s = Schedule { events: vec![Event { at_ms: 5, fault: Fault::BitFlip { node: NodeId(5) } }] };
        let err = s.validate(&layout, 1_000).unwrap_err();
        assert!(err.contains("client node"), "{err}");
        assert!(s.clone().fit(&layout, 1_000).is_empty());
        let mut beyond =
            Schedule { events: vec![Event { at_ms: 5, fault: Fault::Pause { node: NodeId(3) } }] };
        beyond.retain_fitting(&Layout::servers(3));
        assert!(beyond.is_empty(), "a node the smaller layout lacks");
    }

    #[test]
    fn each_replicated_group_gets_its_own_corruptible_minority_and_the_first_keeps_its_draw() {
        use crate::layout::Role;
        let layout =
            Layout::servers(3).group("shard", 3, Role::Replicated).group("client", 2, Role::ClientSide);
        for seed in 0..100 {
            let placement = corruptible(seed, &layout);
            let allowed = |r: std::ops::Range<usize>| {
                placement[r].iter().filter(|c| **c == Corruption::Allowed).count()
            };
            assert_eq!((allowed(0..3), allowed(3..6), allowed(6..8)), (1, 1, 0), "seed {seed}");
            let plain = place_corruption(5, &mut rng::derive(seed, "disk.placement", 0));
            assert_eq!(corruptible(seed, &Layout::servers(5)), plain);
        }
    }

    proptest! {
        #[test]
        fn generated_schedules_are_valid(s in strategy::schedule(5, 10_000, 30)) {
            prop_assert!(s.validate(&Layout::servers(5), 10_000).is_ok());
        }

        #[test]
        fn any_schedule_fits_once_fitted(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut u = arbitrary::Unstructured::new(&bytes);
            if let Ok(s) = <Schedule as arbitrary::Arbitrary>::arbitrary(&mut u) {
                let layout = Layout::servers(3).group("proxy", 2, crate::layout::Role::ClientSide);
                prop_assert!(s.fit(&layout, 5_000).validate(&layout, 5_000).is_ok());
            }
        }
    }
}
