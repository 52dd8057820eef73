//! The key-value workload: which commands clients invoke, on which keys.
//!
//! Keys are few (the options' `workload.keys`, 5 by default) so that operations contend, and
//! drawn uniformly or with one hot key (`workload.key_distribution`). Three in ten commands are
//! gets, two puts, three appends and two compare-and-sets. Values are unique per client and
//! request for appends (so a history is cheap to check: every append is identifiable), and drawn
//! from a small domain for puts and cas (so that some compares succeed).

use crate::kv::KvOp;
use faultline_sim::options::{KeyDistribution, WorkloadOptions};
use faultline_sim::rng::Rng;
use faultline_sim::system::Op;
use faultline_sim::ClientId;
use rand::Rng as _;

/// The share of commands that go to the hot key under [`KeyDistribution::HotKey`].
pub const HOT_KEY_SHARE: f64 = 0.5;

/// Draws key-value commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvWorkload {
    keys: u32,
    distribution: KeyDistribution,
}

impl KvWorkload {
    /// The workload the options describe.
    pub fn new(options: &WorkloadOptions) -> Self {
        KvWorkload { keys: options.keys.max(1), distribution: options.key_distribution }
    }

    /// The next command of `client`.
    pub fn next(&self, client: ClientId, rng: &mut Rng) -> KvOp {
        let key = format!("k{}", self.key_index(rng));
        let tag: u32 = rng.gen();
        match rng.gen_range(0..10) {
            0..=2 => KvOp::get(&key),
            3..=4 => KvOp::put(&key, &format!("{}", rng.gen_range(0..4))),
            5..=7 => KvOp::append(&key, &format!("c{}.{tag:x};", client.0)),
            _ => {
                let from = rng.gen_bool(0.2).then(|| format!("{}", rng.gen_range(0..4)));
                KvOp::cas(&key, from.as_deref(), &format!("{}", rng.gen_range(0..4)))
            }
        }
    }

    /// The next operation of `client`, as the harness drives it: the protocol's request built
    /// from the command, recorded with the command's invocation.
    pub fn op<Req: From<KvOp>>(&self, client: ClientId, rng: &mut Rng) -> Op<Req> {
        let command = self.next(client, rng);
        let (f, value) = command.invocation();
        Op::new(Req::from(command), f, value)
    }

    fn key_index(&self, rng: &mut Rng) -> u32 {
        match self.distribution {
            KeyDistribution::Uniform => rng.gen_range(0..self.keys),
            KeyDistribution::HotKey if rng.gen_bool(HOT_KEY_SHARE) => 0,
            KeyDistribution::HotKey => rng.gen_range(0..self.keys),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::rng;
    use std::collections::BTreeMap;

    fn keys_drawn(options: &WorkloadOptions, n: usize) -> BTreeMap<String, usize> {
        let w = KvWorkload::new(options);
        let mut r = rng::derive(1, "test", 0);
        let mut seen = BTreeMap::new();
        for _ in 0..n {
            *seen.entry(w.next(ClientId(0), &mut r).key().to_string()).or_default() += 1;
        }
        seen
    }

    #[test]
    fn the_key_count_comes_from_the_options() {
        let options = WorkloadOptions { keys: 3, ..WorkloadOptions::default() };
        let seen = keys_drawn(&options, 300);
        assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), vec!["k0", "k1", "k2"]);
    }

    #[test]
    fn a_hot_key_gets_about_half_the_commands() {
        let options = WorkloadOptions {
            keys: 10,
            key_distribution: KeyDistribution::HotKey,
            ..WorkloadOptions::default()
        };
        let seen = keys_drawn(&options, 2000);
        let hot = seen["k0"] as f64 / 2000.0;
        assert!((0.5..0.6).contains(&hot), "hot key share {hot}");
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn ops_carry_their_invocation() {
        let w = KvWorkload::new(&WorkloadOptions::default());
        let op: Op<KvOp> = w.op(ClientId(2), &mut rng::derive(3, "test", 0));
        let (f, value) = op.request.invocation();
        assert_eq!((op.f, &op.value), (f, &value));
        assert!(op.record);
    }
}
