//! `Nemesis`: seeded random faults for a scripted [`Cluster`], for randomized scenario tests
//! that run without the harness (a protocol's own chaos test, in milliseconds per run).
//!
//! Each simulated millisecond the test calls [`Nemesis::step`], which may restart a node, crash
//! one and keep it down (never more than a minority at once), bring the longest-down node back,
//! cut the cluster in two, heal it, or change a node's clock rate; it may also hand the test a
//! node for a fault of the system's own ([`Fault::Custom`]: Raft flips a byte in a log record).
//! [`Nemesis::network`] then duplicates, drops, swaps and delays messages in flight and delivers
//! the rest; [`Nemesis::heal`] ends the faults before the test checks convergence.
//!
//! Every draw comes from one seeded stream, which the test's workload may share
//! ([`Nemesis::rng`]), so a seed fixes the whole run.

use super::cluster::{Cluster, Envelope, Observer};
use crate::node::{Node, NodeId};
use crate::rng::{self, Rng};
use rand::Rng as _;
use std::time::Duration;

/// How often each fault happens: per call of `step` for the process, partition and clock
/// faults, per call of `network` for the message faults.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisRates {
    /// Crash a node and restart it at once.
    pub restart_probability: f64,
    /// Crash a node and keep it down (only while fewer than a minority are down).
    pub crash_probability: f64,
    /// Restart the node that has been down longest.
    pub recover_probability: f64,
    /// Cut the cluster in two random groups.
    pub partition_probability: f64,
    /// Restore every link.
    pub heal_probability: f64,
    /// Set a node's clock rate to 50-199 % (drift).
    pub clock_rate_probability: f64,
    /// Hand the test a node for a fault of the system's own ([`Fault::Custom`]).
    pub custom_probability: f64,
    /// Put a copy of a message in flight at the back of the queue.
    pub duplicate_probability: f64,
    /// Drop a message in flight.
    pub drop_probability: f64,
    /// Swap two messages in flight.
    pub swap_probability: f64,
    /// Hold a message back for 1 to `delay_ms_max` ms (a late, stale delivery).
    pub delay_probability: f64,
    /// The longest hold of a delayed message (exclusive), in milliseconds.
    pub delay_ms_max: u64,
}

impl Default for NemesisRates {
    /// About one process, partition or clock fault every 80 ms, and a busy unreliable network.
    fn default() -> Self {
        NemesisRates {
            restart_probability: 0.002,
            crash_probability: 0.001,
            recover_probability: 0.002,
            partition_probability: 0.002,
            heal_probability: 0.004,
            clock_rate_probability: 0.001,
            custom_probability: 0.0005,
            duplicate_probability: 0.05,
            drop_probability: 0.05,
            swap_probability: 0.1,
            delay_probability: 0.2,
            delay_ms_max: 80,
        }
    }
}

/// What one `step` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No fault this time.
    Nothing,
    /// The node crashed and restarted at once.
    Restarted(NodeId),
    /// The node crashed and stays down.
    Crashed(NodeId),
    /// A node kept down came back.
    Recovered(NodeId),
    /// The cluster was cut in two groups.
    Partitioned,
    /// Every link was restored.
    Healed,
    /// The node's clock now runs at this rate, in percent.
    ClockRate(NodeId, u32),
    /// The system's own fault, to be done by the test on this node.
    Custom(NodeId),
}

/// Seeded faults for a scripted cluster. See the module docs.
pub struct Nemesis<M> {
    rng: Rng,
    rates: NemesisRates,
    /// Nodes crashed and kept down, longest-down first.
    down: Vec<NodeId>,
    /// Messages held back, with the cluster time they return to the network.
    delayed: Vec<(Duration, Envelope<M>)>,
}

impl<M: Clone> Nemesis<M> {
    /// A nemesis drawing from a stream of `seed`, with these rates.
    pub fn new(seed: u64, rates: NemesisRates) -> Self {
        Nemesis { rng: rng::derive(seed, "chaos", 0), rates, down: Vec::new(), delayed: Vec::new() }
    }

    /// The run's random stream, for the test's workload to draw from too.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// The nodes this nemesis crashed and keeps down.
    pub fn down(&self) -> &[NodeId] {
        &self.down
    }

    /// One millisecond's worth of process, partition and clock faults.
    pub fn step<N: Node<Msg = M>, O: Observer<N>>(&mut self, c: &mut Cluster<N, O>) -> Fault {
        let n = c.size() as u32;
        let roll: f64 = self.rng.gen();
        let node = NodeId(self.rng.gen_range(0..n));
        let r = &self.rates;
        let mut bound = r.restart_probability;
        if roll < bound {
            c.restart(node);
            return Fault::Restarted(node);
        }
        bound += r.crash_probability;
        if roll < bound && self.down.len() < ((n - 1) / 2) as usize && !self.down.contains(&node) {
            c.crash(node);
            self.down.push(node);
            return Fault::Crashed(node);
        }
        bound += r.recover_probability;
        if roll < bound && !self.down.is_empty() {
            let back = self.down.remove(0);
            c.restart(back);
            return Fault::Recovered(back);
        }
        self.step_links_and_clocks(c, roll, bound, node)
    }

    /// The bands of `step` after the process faults.
    fn step_links_and_clocks<N: Node<Msg = M>, O: Observer<N>>(
        &mut self,
        c: &mut Cluster<N, O>,
        roll: f64,
        mut bound: f64,
        node: NodeId,
    ) -> Fault {
        let r = self.rates.clone();
        bound += r.partition_probability;
        if roll < bound {
            self.partition(c);
            return Fault::Partitioned;
        }
        bound += r.heal_probability;
        if roll < bound {
            c.heal();
            return Fault::Healed;
        }
        bound += r.clock_rate_probability;
        if roll < bound {
            let percent = self.rng.gen_range(50u64..200) as u32;
            c.set_rate(node, percent);
            return Fault::ClockRate(node, percent);
        }
        bound += r.custom_probability;
        if roll < bound {
            return Fault::Custom(node);
        }
        Fault::Nothing
    }

    /// Two random groups, cut apart both ways.
    fn partition<N: Node<Msg = M>, O: Observer<N>>(&mut self, c: &mut Cluster<N, O>) {
        let n = c.size() as u32;
        let side: Vec<bool> = (0..n).map(|_| self.rng.gen_bool(0.5)).collect();
        let a: Vec<u32> = (0..n).filter(|i| side[*i as usize]).collect();
        let b: Vec<u32> = (0..n).filter(|i| !side[*i as usize]).collect();
        c.partition(&[&a, &b]);
    }

    /// One round of message faults (duplicate, drop, swap, delay, release what is due), then
    /// delivers everything in flight.
    pub fn network<N: Node<Msg = M>, O: Observer<N>>(&mut self, c: &mut Cluster<N, O>) {
        let r = self.rates.clone();
        let len = c.queue().len();
        if len > 0 && self.rng.gen_bool(r.duplicate_probability) {
            let copy = c.queue()[self.rng.gen_range(0..len)].clone();
            c.inject([copy]);
        }
        let len = c.queue().len();
        if len > 0 && self.rng.gen_bool(r.drop_probability) {
            c.queue_mut().remove(self.rng.gen_range(0..len));
        }
        let len = c.queue().len();
        if len > 1 && self.rng.gen_bool(r.swap_probability) {
            let (i, j) = (self.rng.gen_range(0..len), self.rng.gen_range(0..len));
            c.queue_mut().swap(i, j);
        }
        self.delay(c);
        c.deliver_all();
    }

    /// Holds a random message back and releases those that are due.
    fn delay<N: Node<Msg = M>, O: Observer<N>>(&mut self, c: &mut Cluster<N, O>) {
        let now = c.elapsed();
        let len = c.queue().len();
        if len > 0 && self.rng.gen_bool(self.rates.delay_probability) {
            let env = c.queue_mut().remove(self.rng.gen_range(0..len)).expect("in range");
            let at = now + Duration::from_millis(self.rng.gen_range(1..self.rates.delay_ms_max));
            self.delayed.push((at, env));
        }
        let (due, later): (Vec<_>, Vec<_>) = self.delayed.drain(..).partition(|(at, _)| *at <= now);
        self.delayed = later;
        c.inject(due.into_iter().map(|(_, env)| env));
    }

    /// Ends every fault: links healed, held messages released, crashed nodes restarted, clocks
    /// back to their true rate.
    pub fn heal<N: Node<Msg = M>, O: Observer<N>>(&mut self, c: &mut Cluster<N, O>) {
        c.heal();
        c.inject(self.delayed.drain(..).map(|(_, env)| env));
        for node in std::mem::take(&mut self.down) {
            c.restart(node);
        }
        for node in c.ids().collect::<Vec<_>>() {
            c.set_rate(node, 100);
        }
    }
}
