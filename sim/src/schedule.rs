//! The fault schedule: the nemesis's plan for the safety phase, as plain data.
//!
//! The plan is drawn from the seed and the options before the run starts, so it can be
//! printed, saved, edited, shrunk (drop events, shorten it) and replayed exactly. Probabilistic
//! per-message faults (loss, duplication, delays) are not events: they are rates in the
//! options. Each family of faults has its own timeline from its own random stream, so turning
//! one family off does not move the others. Partitions of a link hold for a stability window
//! before they change (VOPR's `partition_stability`).

use crate::disk::{place_corruption, Corruption};
use crate::node::NodeId;
use crate::options::{PartitionKind, SimOptions};
use crate::rng::{self, Rng};
use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One thing the nemesis does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fault")]
pub enum Fault {
    /// Cut these directed server-to-server links, replacing any partition in force.
    Partition {
        kind: PartitionKind,
        cut: Vec<(NodeId, NodeId)>,
    },
    /// Restore every link cut by `Partition` and `Clog`.
    Heal,
    /// A swizzle step: cut every link to and from the node.
    Clog {
        node: NodeId,
    },
    Unclog {
        node: NodeId,
    },
    /// Power off: volatile state and unsynced writes are lost. `storm` marks the crashes of a
    /// restart storm (several crash-restart cycles in quick succession).
    Crash {
        node: NodeId,
        #[serde(default)]
        storm: bool,
    },
    Restart {
        node: NodeId,
    },
    /// Stop scheduling the node (a long GC pause): its timers and messages wait.
    Pause {
        node: NodeId,
    },
    Resume {
        node: NodeId,
    },
    /// Flip a bit of the node's durable data (its disk must be corruptible).
    BitFlip {
        node: NodeId,
    },
    /// Make a run of sectors of the node's durable data unreadable (a latent sector error).
    LatentError {
        node: NodeId,
    },
    /// The node's disk fills up: writes that would grow it fail.
    DiskFull {
        node: NodeId,
    },
    DiskFreed {
        node: NodeId,
    },
}

/// A fault at a time of the safety phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    #[serde(flatten)]
    pub fault: Fault,
}

/// The whole plan, sorted by time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub events: Vec<Event>,
}

impl Schedule {
    /// Draws the plan for `seed` and `options`.
    pub fn plan(seed: u64, options: &SimOptions) -> Schedule {
        let n = options.nodes;
        let end = options.safety_ms;
        let mut events = Vec::new();
        if n >= 2 && !options.partition.kinds.is_empty() {
            plan_partitions(&mut rng::derive(seed, "nemesis.partition", 0), options, &mut events);
        }
        if options.process.crash_interval_ms_mean > 0 {
            plan_crashes(&mut rng::derive(seed, "nemesis.crash", 0), options, &mut events);
        }
        if options.process.pause_interval_ms_mean > 0 {
            plan_pauses(&mut rng::derive(seed, "nemesis.pause", 0), options, &mut events);
        }
        plan_disk(seed, options, &mut events);
        events.retain(|e| e.at_ms < end);
        events.sort_by_key(|e| e.at_ms);
        Schedule { events }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
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
            Fault::Crash { node, storm: false } => write!(f, "crash {node}"),
            Fault::Crash { node, storm: true } => write!(f, "crash {node} (storm)"),
            Fault::Restart { node } => write!(f, "restart {node}"),
            Fault::Pause { node } => write!(f, "pause {node}"),
            Fault::Resume { node } => write!(f, "resume {node}"),
            Fault::BitFlip { node } => write!(f, "bit flip at rest on {node}"),
            Fault::LatentError { node } => write!(f, "latent sector error on {node}"),
            Fault::DiskFull { node } => write!(f, "disk full on {node}"),
            Fault::DiskFreed { node } => write!(f, "disk freed on {node}"),
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

fn plan_partitions(r: &mut Rng, o: &SimOptions, out: &mut Vec<Event>) {
    let p = &o.partition;
    let mut t = exp_ms(r, p.interval_ms_mean);
    while t < o.safety_ms {
        let kind = *p.kinds.choose(r).expect("kinds is not empty");
        let hold = uniform_ms(r, p.hold_ms_min, p.hold_ms_max);
        if kind == PartitionKind::Swizzle {
            t = plan_swizzle(r, o.nodes, t, hold, out);
        } else {
            let cut = partition_links(r, kind, o.nodes);
            out.push(Event { at_ms: t, fault: Fault::Partition { kind, cut } });
            t += hold;
            out.push(Event { at_ms: t, fault: Fault::Heal });
        }
        t += exp_ms(r, p.interval_ms_mean);
    }
}

/// Clog a random subset one node at a time, then unclog it in another random order. Returns the
/// time the last node is unclogged.
fn plan_swizzle(r: &mut Rng, n: u32, start: u64, hold: u64, out: &mut Vec<Event>) -> u64 {
    let mut order = nodes(n);
    order.shuffle(r);
    order.truncate(r.gen_range(1..=n as usize));
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
    let mut all = nodes(n);
    all.shuffle(r);
    let n = n as usize;
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

fn plan_crashes(r: &mut Rng, o: &SimOptions, out: &mut Vec<Event>) {
    let c = &o.process;
    let mut down_until = vec![0u64; o.nodes as usize];
    let mut t = exp_ms(r, c.crash_interval_ms_mean);
    while t < o.safety_ms {
        let node = r.gen_range(0..o.nodes);
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
                out.push(Event { at_ms: at, fault: Fault::Crash { node: NodeId(node), storm } });
                out.push(Event { at_ms: at + delay, fault: Fault::Restart { node: NodeId(node) } });
                at += delay + if i + 1 < restarts { uniform_ms(r, 20, 200) } else { 0 };
            }
            down_until[node as usize] = at + 1;
        }
        t += exp_ms(r, c.crash_interval_ms_mean);
    }
}

fn plan_pauses(r: &mut Rng, o: &SimOptions, out: &mut Vec<Event>) {
    let c = &o.process;
    let mut busy_until = vec![0u64; o.nodes as usize];
    let mut t = exp_ms(r, c.pause_interval_ms_mean);
    while t < o.safety_ms {
        let node = r.gen_range(0..o.nodes);
        let length = uniform_ms(r, c.pause_ms_min, c.pause_ms_max);
        if busy_until[node as usize] <= t {
            out.push(Event { at_ms: t, fault: Fault::Pause { node: NodeId(node) } });
            out.push(Event { at_ms: t + length, fault: Fault::Resume { node: NodeId(node) } });
            busy_until[node as usize] = t + length + 1;
        }
        t += exp_ms(r, c.pause_interval_ms_mean);
    }
}

/// The disks a run may corrupt: a minority, drawn from the seed (see `disk::place_corruption`).
pub fn corruptible(seed: u64, nodes: u32) -> Vec<Corruption> {
    place_corruption(nodes as usize, &mut rng::derive(seed, "disk.placement", 0))
}

fn plan_disk(seed: u64, o: &SimOptions, out: &mut Vec<Event>) {
    let allowed: Vec<NodeId> = (corruptible(seed, o.nodes).into_iter().enumerate())
        .filter(|(_, c)| *c == Corruption::Allowed)
        .map(|(i, _)| NodeId(i as u32))
        .collect();
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
    every(&mut r, d.full_interval_ms_mean, &mut |r, t| {
        let node = NodeId(r.gen_range(0..o.nodes));
        out.push(Event { at_ms: t, fault: Fault::DiskFull { node } });
        out.push(Event {
            at_ms: t + uniform_ms(r, d.full_ms_min, d.full_ms_max),
            fault: Fault::DiskFreed { node },
        });
    });
}
