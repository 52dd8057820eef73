//! `buggify!`: code-level fault injection, two levels as in FoundationDB.
//!
//! A protocol marks a place where it could legally behave worse (drop a message it may drop,
//! take a slower path, shrink a batch) with `if buggify!(cx) { ... }`. In a run with buggify on,
//! each site is armed on its first evaluation with the run's arm probability ([`ARM_PROBABILITY`]
//! unless the options say otherwise; swarm sometimes arms every site); an armed site then fires
//! on each evaluation with probability [`FIRE_PROBABILITY`]. Unarmed sites never fire, so a run
//! exercises a few sites hard instead of all of them a little. Decisions come from a
//! stream derived from the run seed, so they replay exactly. Real mode never fires.

use crate::node::BuggifySource;
use crate::rng::{self, Rng};
use rand::Rng as _;
use std::collections::BTreeMap;
use std::panic::Location;

/// Probability that a site is armed for a run, by default.
pub const ARM_PROBABILITY: f64 = 0.25;
/// Probability that an armed site fires when evaluated.
pub const FIRE_PROBABILITY: f64 = 0.25;

/// `buggify!(cx)`: true when this site is armed for the run and fires now.
#[macro_export]
macro_rules! buggify {
    ($cx:expr) => {
        $cx.buggify()
    };
}

type Site = (&'static str, u32, u32);

/// The per-run buggify state shared by every node of a run.
pub struct Buggify {
    enabled: bool,
    arm_probability: f64,
    rng: Rng,
    sites: BTreeMap<Site, bool>,
    evaluations: u64,
    fired: u64,
    /// Coverage points reached (`Context::sometimes`), with their counts. Counted whether or
    /// not buggify is on: they are not faults.
    reached: BTreeMap<&'static str, u64>,
}

impl Buggify {
    /// `arm_probability` must be a probability (the options are validated before a run).
    pub fn new(seed: u64, enabled: bool, arm_probability: f64) -> Self {
        Buggify {
            enabled,
            arm_probability,
            rng: rng::derive(seed, "buggify", 0),
            sites: BTreeMap::new(),
            evaluations: 0,
            fired: 0,
            reached: BTreeMap::new(),
        }
    }

    /// Turns every site off for the rest of the run (coverage points are still counted).
    pub fn disable(&mut self) {
        self.enabled = false;
    }

    /// Sites evaluated at least once, and how many of those are armed.
    pub fn sites(&self) -> (usize, usize) {
        (self.sites.len(), self.sites.values().filter(|armed| **armed).count())
    }

    /// Evaluations of any site so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Times any site fired so far.
    pub fn fired(&self) -> u64 {
        self.fired
    }

    /// Each coverage point reached so far, with how many times.
    pub fn coverage(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.reached.iter().map(|(p, n)| (*p, *n))
    }
}

impl BuggifySource for Buggify {
    fn fire(&mut self, site: &'static Location<'static>) -> bool {
        if !self.enabled {
            return false;
        }
        self.evaluations += 1;
        let key = (site.file(), site.line(), site.column());
        let rng = &mut self.rng;
        let p = self.arm_probability;
        let armed = *self.sites.entry(key).or_insert_with(|| rng.gen_bool(p));
        let fires = armed && self.rng.gen_bool(FIRE_PROBABILITY);
        self.fired += u64::from(fires);
        fires
    }

    fn reached(&mut self, point: &'static str) {
        *self.reached.entry(point).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn site() -> &'static Location<'static> {
        Location::caller()
    }

    #[test]
    fn disabled_never_fires() {
        let mut b = Buggify::new(1, false, ARM_PROBABILITY);
        let s = site();
        assert!((0..1000).all(|_| !b.fire(s)));
        assert_eq!(b.evaluations(), 0);
    }

    #[test]
    fn arms_and_fires_at_about_its_rates() {
        // Method: over many runs (seeds), count how often one site is armed; within armed runs,
        // count how often it fires. Both must be near 0.25 (binomial, 4+ standard deviations).
        let s = site();
        let (mut armed_runs, mut fires, mut evaluations_armed) = (0u32, 0u32, 0u32);
        for seed in 0..2000 {
            let mut b = Buggify::new(seed, true, ARM_PROBABILITY);
            let fired: u32 = (0..40).map(|_| u32::from(b.fire(s))).sum();
            if b.sites().1 == 1 {
                armed_runs += 1;
                fires += fired;
                evaluations_armed += 40;
            } else {
                assert_eq!(fired, 0, "an unarmed site fired (seed {seed})");
            }
        }
        let arm_rate = f64::from(armed_runs) / 2000.0;
        let fire_rate = f64::from(fires) / f64::from(evaluations_armed);
        assert!((0.22..0.28).contains(&arm_rate), "arm rate {arm_rate}");
        assert!((0.235..0.265).contains(&fire_rate), "fire rate {fire_rate}");
    }

    #[test]
    fn arm_probability_one_arms_every_site() {
        let mut b = Buggify::new(3, true, 1.0);
        let sites = [site(), site(), site()];
        for s in sites {
            b.fire(s);
        }
        assert_eq!(b.sites(), (3, 3));
    }

    #[test]
    fn coverage_points_count_with_buggify_on_or_off() {
        let mut b = Buggify::new(1, false, ARM_PROBABILITY);
        b.reached("demo.moment");
        b.reached("demo.moment");
        b.reached("demo.other");
        assert_eq!(b.coverage().collect::<Vec<_>>(), vec![("demo.moment", 2), ("demo.other", 1)]);
    }

    #[test]
    fn same_seed_same_decisions() {
        let s = site();
        let run = |seed| {
            let mut b = Buggify::new(seed, true, ARM_PROBABILITY);
            (0..200).map(|_| b.fire(s)).collect::<Vec<_>>()
        };
        for seed in 0..50 {
            assert_eq!(run(seed), run(seed));
        }
    }
}
