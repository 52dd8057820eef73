//! The network fault layer: which links are cut, and what happens to each message.
//!
//! madsim delivers datagrams with a global loss rate and a uniform latency; it never
//! duplicates, and its partitions are per node or per link only. faultline decides every
//! message's fate itself, before handing it to madsim with a negligible latency: dropped, or
//! delivered once or twice, each copy at its own time drawn from the latency distribution (with
//! a slow tail and an extra reordering delay), possibly with a flipped bit. Partitions are
//! checked twice, when a message is sent and when it is due to arrive, so messages in flight when
//! a partition starts are lost too. Partitions cut only node-to-node links (client-side nodes
//! are nodes: their links may be cut, as the layout allows); workload clients, where the
//! history is recorded, keep their links (their messages still suffer loss, delay, duplication
//! and corruption).

use crate::node::{ClientId, NodeId};
use crate::options::{LatencyDistribution, NetOptions};
use crate::rng::Rng;
use crate::stats::Counters;
use rand::Rng as _;
use std::collections::BTreeSet;
use std::time::Duration;

/// One end of a link.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Addr {
    /// A node of the layout, of any kind (a server, a coordinator, a client-side node).
    Server(NodeId),
    /// A workload client.
    Client(ClientId),
}

/// The state of the simulated network.
pub struct Fabric {
    options: NetOptions,
    /// Whether per-message faults apply (off during the liveness phase).
    faulty: bool,
    cut: BTreeSet<(NodeId, NodeId)>,
    clogged: BTreeSet<NodeId>,
    rng: Rng,
}

/// What becomes of one message: the delays of its copies (none if dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fate {
    /// When each copy arrives, after it is sent: none if the message is dropped, two if it is
    /// duplicated.
    pub delays: Vec<Duration>,
    /// Whether a bit of the (first) copy was flipped.
    pub corrupt: bool,
}

impl Fabric {
    /// A network with no partition in force, per-message faults on, drawing from `rng`.
    pub fn new(options: NetOptions, rng: Rng) -> Self {
        Fabric { options, faulty: true, cut: BTreeSet::new(), clogged: BTreeSet::new(), rng }
    }

    /// Whether a partition or a clog cuts any link now.
    pub fn disturbed(&self) -> bool {
        !(self.cut.is_empty() && self.clogged.is_empty())
    }

    /// Whether `from` can reach `to` now.
    pub fn connected(&self, from: Addr, to: Addr) -> bool {
        match (from, to) {
            (Addr::Server(a), Addr::Server(b)) => {
                !(self.cut.contains(&(a, b)) || self.clogged.contains(&a) || self.clogged.contains(&b))
            }
            _ => true,
        }
    }

    /// Replaces the partition in force.
    pub fn partition(&mut self, cut: &[(NodeId, NodeId)]) {
        self.cut = cut.iter().copied().collect();
    }

    /// Cuts every link to and from `node` (a swizzle step) until `unclog` or `heal`.
    pub fn clog(&mut self, node: NodeId) {
        self.clogged.insert(node);
    }

    /// Restores the links `clog` cut; a partition in force still applies.
    pub fn unclog(&mut self, node: NodeId) {
        self.clogged.remove(&node);
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.cut.clear();
        self.clogged.clear();
    }

    /// Stops per-message faults (loss, duplication, corruption, slow tail, reordering): the
    /// network keeps only its normal delays.
    pub fn calm(&mut self) {
        self.faulty = false;
    }

    /// Decides what happens to a message from `from` to `to`, counting the faults that fire.
    pub fn fate(&mut self, from: Addr, to: Addr, counters: &mut Counters) -> Fate {
        if !self.connected(from, to) {
            counters.add("net.partition_drop");
            return Fate::default();
        }
        let o = self.options;
        if self.faulty && o.loss_probability > 0.0 && self.rng.gen_bool(o.loss_probability) {
            counters.add("net.loss");
            return Fate::default();
        }
        let copies =
            if self.faulty && o.duplicate_probability > 0.0 && self.rng.gen_bool(o.duplicate_probability) {
                counters.add("net.duplicate");
                2
            } else {
                1
            };
        let delays = (0..copies).map(|_| self.delay(counters)).collect();
        let corrupt = self.faulty && o.corrupt_probability > 0.0 && self.rng.gen_bool(o.corrupt_probability);
        if corrupt {
            counters.add("net.corrupt");
        }
        Fate { delays, corrupt }
    }

    /// Flips one random bit of `frame`.
    pub fn corrupt(&mut self, frame: &mut [u8]) {
        if !frame.is_empty() {
            let bit = self.rng.gen_range(0..frame.len() * 8);
            frame[bit / 8] ^= 1 << (bit % 8);
        }
    }

    fn delay(&mut self, counters: &mut Counters) -> Duration {
        let o = &self.options;
        let (min, max) = (o.delay_ms_min as f64, o.delay_ms_max as f64);
        let mut ms = match o.latency {
            LatencyDistribution::Uniform => self.rng.gen_range(min..=max),
            LatencyDistribution::Exponential => {
                let u: f64 = self.rng.gen_range(f64::EPSILON..1.0);
                (min - u.ln() * o.delay_ms_mean as f64).min(max)
            }
        };
        if self.faulty && o.slow_probability > 0.0 && self.rng.gen_bool(o.slow_probability) {
            counters.add("net.slow_tail");
            ms += self.rng.gen_range(0.0..=o.slow_delay_ms_max as f64);
        }
        if self.faulty && o.reorder_probability > 0.0 && self.rng.gen_bool(o.reorder_probability) {
            counters.add("net.reorder");
            ms += self.rng.gen_range(0.0..=o.reorder_delay_ms_max as f64);
        }
        Duration::from_micros((ms * 1000.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    fn fabric(o: NetOptions) -> Fabric {
        Fabric::new(o, rng::derive(1, "net-test", 0))
    }

    const A: Addr = Addr::Server(NodeId(0));
    const B: Addr = Addr::Server(NodeId(1));
    const C: Addr = Addr::Client(ClientId(0));

    #[test]
    fn a_partition_drops_and_a_heal_restores() {
        let mut f = fabric(NetOptions::default());
        let mut c = Counters::default();
        assert!(!f.disturbed());
        f.partition(&[(NodeId(0), NodeId(1)), (NodeId(1), NodeId(0))]);
        assert!(f.disturbed());
        assert!(f.fate(A, B, &mut c).delays.is_empty());
        assert!(f.fate(B, A, &mut c).delays.is_empty());
        assert_eq!(f.fate(A, C, &mut c).delays.len(), 1, "client links are never cut");
        f.heal();
        assert!(!f.disturbed());
        assert_eq!(f.fate(A, B, &mut c).delays.len(), 1);
        assert_eq!(c.get("net.partition_drop"), 2);
    }

    #[test]
    fn a_one_way_partition_drops_one_way_only() {
        let mut f = fabric(NetOptions::default());
        let mut c = Counters::default();
        f.partition(&[(NodeId(0), NodeId(1))]);
        assert!(f.fate(A, B, &mut c).delays.is_empty());
        assert_eq!(f.fate(B, A, &mut c).delays.len(), 1);
    }

    #[test]
    fn duplication_duplicates_and_loss_loses_at_their_rates() {
        let o = NetOptions { duplicate_probability: 0.2, loss_probability: 0.1, ..NetOptions::default() };
        let mut f = fabric(o);
        let mut c = Counters::default();
        let copies: Vec<usize> = (0..10_000).map(|_| f.fate(A, B, &mut c).delays.len()).collect();
        let lost = copies.iter().filter(|&&n| n == 0).count();
        let doubled = copies.iter().filter(|&&n| n == 2).count();
        assert!((800..1200).contains(&lost), "lost {lost}");
        assert!((1500..2100).contains(&doubled), "doubled {doubled}");
        assert_eq!(c.get("net.duplicate") as usize, doubled);
    }

    #[test]
    fn calm_stops_per_message_faults() {
        let o = NetOptions { loss_probability: 0.5, duplicate_probability: 0.5, ..NetOptions::default() };
        let mut f = fabric(o);
        f.calm();
        let mut c = Counters::default();
        assert!((0..1000).all(|_| f.fate(A, B, &mut c).delays.len() == 1));
    }

    #[test]
    fn delays_respect_the_distribution_bounds() {
        let o = NetOptions {
            latency: LatencyDistribution::Exponential,
            delay_ms_min: 2,
            delay_ms_max: 40,
            delay_ms_mean: 5,
            ..NetOptions::default()
        };
        let mut f = fabric(o);
        let mut c = Counters::default();
        for _ in 0..5000 {
            let d = f.fate(A, B, &mut c).delays[0];
            assert!(d >= Duration::from_millis(2) && d <= Duration::from_millis(40), "{d:?}");
        }
    }
}
