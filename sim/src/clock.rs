//! Per-node clocks: each node reads its own clock, with an offset and a drift from simulated
//! time, which itself stays exact.
//!
//! A node's clock reading at simulated time `t` (nanoseconds since the run started) is
//!
//! ```text
//! local(t) = EPOCH + t + offset + linear(t) + periodic(t) + steps(t)
//! ```
//!
//! - `offset`: a constant, drawn once per node;
//! - `linear(t) = t * drift_ppb / 10^9`: a clock that runs fast or slow (quartz drift), in parts
//!   per billion (drawn in parts per million, kept finer so the arithmetic stays integer);
//! - `periodic(t)`: a triangle wave (the rate swings between fast and slow, as a clock being
//!   slewed back and forth by NTP) or a sawtooth (the clock runs fast by up to the amplitude,
//!   then is stepped back by it, as a fast clock corrected by periodic steps);
//! - `steps(t)`: the sum of the signed steps whose time has come (an operator or NTP setting
//!   the clock, possibly backwards).
//!
//! Everything is integer arithmetic: a sine would need `f64::sin`, whose last bits may differ
//! between platforms' math libraries, and a seed must mean the same run everywhere.
//!
//! **Timers** follow the node's clock rate but ignore its steps, as Linux's `CLOCK_MONOTONIC`
//! is slewed by NTP but never stepped. The monotonic clock is the slewed part alone,
//! `mono(t) = t + linear(t) + periodic_slew(t)`, where the slewed part of a sawtooth is its
//! ramp without the drops. A timer set at `t` for `d` fires at the first `t + x` with
//! `mono(t + x) - mono(t) >= d` ([`NodeClock::timer_delay`]). So a node whose clock runs fast
//! fires its timers early in simulated time, and a clock step changes `cx.now()` but neither
//! shortens nor lengthens a pending timer: exactly the gap that lease and timeout bugs hide in.

use crate::node::Time;
use crate::rng::{between, chance, Rng};
use crate::validate::{self, InvalidOption};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

const NANOS_PER_MS: i128 = 1_000_000;
const PPB_PER_PPM: i128 = 1_000;

/// A periodic wobble of a clock: its shape, its amplitude and its period.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Periodic {
    /// From 0 up to `+amplitude`, down to `-amplitude`, back to 0, every period.
    Triangle {
        /// The largest deviation either way, in nanoseconds.
        amplitude_ns: u64,
        /// The length of one full cycle, in nanoseconds.
        period_ns: u64,
    },
    /// From 0 up to `amplitude` over a period, then a step back by `amplitude`.
    Sawtooth {
        /// How far ahead the clock gets before each step back, in nanoseconds.
        amplitude_ns: u64,
        /// The time from one step back to the next, in nanoseconds.
        period_ns: u64,
    },
}

/// A clock step: at simulated time `at_ns` the clock jumps by `by_ns` (negative: backwards).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockStep {
    /// When the step happens, in simulated nanoseconds since the run started.
    pub at_ns: u64,
    /// How far the clock jumps, in nanoseconds (negative: backwards).
    pub by_ns: i64,
}

/// One node's clock: plain data, so a report can print exactly what skew the node had.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeClock {
    /// Constant offset from simulated time, in nanoseconds (negative: the clock reads behind).
    pub offset_ns: i64,
    /// Linear drift, parts per billion (1 ppm = 1000 ppb).
    pub drift_ppb: i64,
    /// Steps, sorted by time.
    pub steps: Vec<ClockStep>,
    /// The periodic wobble, if the clock has one.
    pub periodic: Option<Periodic>,
}

impl NodeClock {
    /// A clock that reads simulated time exactly (plus the epoch).
    pub fn perfect() -> NodeClock {
        NodeClock::default()
    }

    /// Whether the clock has no offset, drift, steps or wobble.
    pub fn is_perfect(&self) -> bool {
        *self == NodeClock::default()
    }

    /// Draws one node's clock from the options.
    pub fn draw(options: &ClockOptions, rng: &mut Rng) -> NodeClock {
        let offset_ns = signed(rng, i128::from(options.offset_ms_max) * NANOS_PER_MS);
        let drift_ppb = if chance(rng, options.drift_probability) {
            signed(rng, i128::from(options.drift_ppm_max) * PPB_PER_PPM)
        } else {
            0
        };
        let steps = if chance(rng, options.step_probability) { draw_steps(options, rng) } else { Vec::new() };
        let periodic =
            if chance(rng, options.periodic_probability) { draw_periodic(options, rng) } else { None };
        NodeClock { offset_ns, drift_ppb, steps, periodic }
    }

    /// The node's clock reading at `sim_elapsed` of simulated time.
    pub fn local_time(&self, sim_elapsed: Duration) -> Time {
        let t = nanos(sim_elapsed);
        let reading = Time::EPOCH_NANOS as i128 + self.monotonic(t) + self.stepped(t);
        Time(reading.clamp(0, u64::MAX as i128) as u64)
    }

    /// The simulated time after which a timer set at `sim_now` for `after` on this node's clock
    /// fires: the least `x` with `mono(now + x) - mono(now) >= after` (see the module docs).
    pub fn timer_delay(&self, sim_now: Duration, after: Duration) -> Duration {
        // Steps do not move timers, so a clock that runs at the true rate needs no search.
        if self.drift_ppb == 0 && self.periodic.is_none() {
            return after;
        }
        let (now, want) = (nanos(sim_now), nanos(after));
        let base = self.monotonic(now);
        let passed = |x: i128| self.monotonic(now + x) - base;
        // Linear drift alone: the answer is within a nanosecond or two of want / rate.
        let mut guess = (want * 1_000_000_000).div_euclid(1_000_000_000 + i128::from(self.drift_ppb)).max(0);
        if self.periodic.is_some() {
            // The monotonic clock is piecewise linear: secant steps land on the answer within
            // a few nanoseconds, where a bisection from zero took some sixty evaluations (timers
            // on wobbling clocks were 8% of a Raft run's instructions).
            guess = secant_guess(guess, want, passed);
        }
        let x = least_reaching(guess, |x| passed(x) >= want);
        Duration::from_nanos(x.min(i128::from(u64::MAX)) as u64)
    }

    /// Steps whose time has come by `sim_elapsed`.
    pub fn steps_taken(&self, sim_elapsed: Duration) -> usize {
        let t = nanos(sim_elapsed);
        self.steps.iter().filter(|s| i128::from(s.at_ns) <= t).count()
    }

    /// What of this clock's skew had taken effect by `sim_elapsed` (for the run report).
    pub fn counts(&self, sim_elapsed: Duration) -> ClockFaultCounts {
        ClockFaultCounts {
            offset_clocks: u64::from(self.offset_ns != 0),
            drifting_clocks: u64::from(self.drift_ppb != 0),
            steps_taken: self.steps_taken(sim_elapsed) as u64,
            periodic_clocks: u64::from(self.periodic.is_some()),
        }
    }

    /// Elapsed simulated time plus the slewed parts: what timers follow.
    fn monotonic(&self, t: i128) -> i128 {
        let linear = (t * i128::from(self.drift_ppb)).div_euclid(1_000_000_000);
        let slew = match self.periodic {
            Some(Periodic::Triangle { amplitude_ns, period_ns }) => triangle(t, amplitude_ns, period_ns),
            Some(Periodic::Sawtooth { amplitude_ns, period_ns }) => {
                (t * i128::from(amplitude_ns)).div_euclid(i128::from(period_ns.max(1)))
            }
            None => 0,
        };
        t + linear + slew
    }

    /// The stepped parts: the offset, the steps taken, the sawtooth's drops.
    fn stepped(&self, t: i128) -> i128 {
        let steps: i128 =
            self.steps.iter().filter(|s| i128::from(s.at_ns) <= t).map(|s| i128::from(s.by_ns)).sum();
        let drops = match self.periodic {
            Some(Periodic::Sawtooth { amplitude_ns, period_ns }) => {
                i128::from(amplitude_ns) * t.div_euclid(i128::from(period_ns.max(1)))
            }
            _ => 0,
        };
        i128::from(self.offset_ns) + steps - drops
    }
}

/// Refines `guess` for `passed(x) = want` with a few secant steps (`passed` non-decreasing, its
/// slope within [1/2, 2]). The result is only a starting point for [`least_reaching`].
fn secant_guess(guess: i128, want: i128, passed: impl Fn(i128) -> i128) -> i128 {
    let (mut x0, mut f0) = (guess, passed(guess));
    // The first step assumes the true rate.
    let mut x1 = (x0 + want - f0).max(0);
    for _ in 0..4 {
        let f1 = passed(x1);
        if f1 == want || f1 == f0 || x1 == x0 {
            break;
        }
        let Some(rise) = (want - f1).checked_mul(x1 - x0) else { break };
        let next = (x1 + rise / (f1 - f0)).max(0);
        (x0, f0, x1) = (x1, f1, next);
    }
    x1
}

/// The least `x >= 0` with `reached(x)`, for a monotone `reached` (false up to some point, true
/// after; `u64::MAX` if it is false until then). Gallops outward from `guess`, then bisects, so
/// it costs twice the logarithm of how far the guess is off.
fn least_reaching(guess: i128, reached: impl Fn(i128) -> bool) -> i128 {
    let cap = i128::from(u64::MAX);
    let guess = guess.clamp(0, cap);
    // Invariant once bracketed: `lo` is -1 or not reached, `hi` is reached (or the cap).
    let (mut lo, mut hi);
    let mut step = 1;
    if reached(guess) {
        hi = guess;
        loop {
            let probe = hi - step;
            if probe < 0 {
                lo = -1;
                break;
            }
            if !reached(probe) {
                lo = probe;
                break;
            }
            hi = probe;
            step *= 2;
        }
    } else {
        lo = guess;
        loop {
            let probe = (lo + step).min(cap);
            if probe == cap || reached(probe) {
                hi = probe;
                break;
            }
            lo = probe;
            step *= 2;
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// A triangle wave of amplitude `a` and period `p` at time `t`: continuous, slope `4a/p`.
fn triangle(t: i128, a: u64, p: u64) -> i128 {
    let (a, p) = (i128::from(a), i128::from(p.max(1)));
    let x = 4 * a * t.rem_euclid(p) / p;
    if x < a {
        x
    } else if x < 3 * a {
        2 * a - x
    } else {
        x - 4 * a
    }
}

fn nanos(d: Duration) -> i128 {
    d.as_nanos().min(u64::MAX as u128) as i128
}

/// Uniform in `-max..=max` (saturated to the range of `i64`).
fn signed(rng: &mut Rng, max: i128) -> i64 {
    let max = max.clamp(0, i128::from(i64::MAX)) as i64;
    if max == 0 {
        return 0;
    }
    rng.gen_range(-max..=max)
}

/// Nanoseconds in `ms` milliseconds, saturated.
fn ms_to_ns(ms: u64) -> u64 {
    ms.saturating_mul(NANOS_PER_MS as u64)
}

fn draw_steps(options: &ClockOptions, rng: &mut Rng) -> Vec<ClockStep> {
    let count = between(rng, 1, u64::from(options.steps_max));
    let window_ns = ms_to_ns(options.step_window_ms);
    let mut steps: Vec<ClockStep> = (0..count)
        .map(|_| ClockStep {
            at_ns: between(rng, 0, window_ns),
            by_ns: signed(rng, i128::from(ms_to_ns(options.step_ms_max))),
        })
        .collect();
    steps.sort_by_key(|s| s.at_ns);
    steps
}

fn draw_periodic(options: &ClockOptions, rng: &mut Rng) -> Option<Periodic> {
    let amplitude_ns = between(rng, 0, ms_to_ns(options.periodic_amplitude_ms_max));
    let period_ns =
        between(rng, ms_to_ns(options.periodic_period_ms_min), ms_to_ns(options.periodic_period_ms_max))
            .max(1);
    let triangle = match options.periodic_shape {
        PeriodicShape::Triangle => true,
        PeriodicShape::Sawtooth => false,
        PeriodicShape::Either => rng.gen_bool(0.5),
    };
    if amplitude_ns == 0 {
        return None;
    }
    Some(if triangle {
        Periodic::Triangle { amplitude_ns, period_ns }
    } else {
        Periodic::Sawtooth { amplitude_ns, period_ns }
    })
}

/// Which periodic shapes a clock may get.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodicShape {
    /// A triangle wave: the clock's rate swings between fast and slow.
    #[default]
    Triangle,
    /// A sawtooth: the clock runs fast, then is stepped back.
    Sawtooth,
    /// Triangle or sawtooth, drawn per clock.
    Either,
}

/// The clock options of one run. Plain data: `Default` gives every node a perfect clock.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockOptions {
    /// Each node's constant offset is drawn uniformly within plus or minus this, milliseconds.
    pub offset_ms_max: u64,
    /// Probability that a node's clock drifts linearly.
    pub drift_probability: f64,
    /// A drifting clock's rate error is drawn uniformly within plus or minus this, ppm.
    pub drift_ppm_max: u64,
    /// Probability that a node's clock takes steps.
    pub step_probability: f64,
    /// A stepping clock takes between 1 and this many steps.
    pub steps_max: u32,
    /// Each step is drawn uniformly within plus or minus this, milliseconds.
    pub step_ms_max: u64,
    /// Steps happen at simulated times drawn uniformly in `0..=step_window_ms`, milliseconds.
    pub step_window_ms: u64,
    /// Probability that a node's clock has a periodic wobble.
    pub periodic_probability: f64,
    /// Which shapes a wobbling clock may get.
    pub periodic_shape: PeriodicShape,
    /// The wobble's amplitude is drawn in `0..=periodic_amplitude_ms_max`, milliseconds.
    pub periodic_amplitude_ms_max: u64,
    /// The wobble's period is drawn in `periodic_period_ms_min..=periodic_period_ms_max`.
    pub periodic_period_ms_min: u64,
    /// The longest wobble period, in milliseconds.
    pub periodic_period_ms_max: u64,
}

/// The furthest a clock may read behind simulated time, so readings stay above zero.
pub const BEHIND_MS_MAX: u64 = Time::EPOCH_NANOS / 2 / 1_000_000;
/// The largest drift a clock may have: 10%, so a clock always runs at least half as fast.
pub const DRIFT_PPM_MAX: u64 = 100_000;

impl ClockOptions {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), InvalidOption> {
        validate::probability("drift_probability", self.drift_probability)?;
        validate::probability("step_probability", self.step_probability)?;
        validate::probability("periodic_probability", self.periodic_probability)?;
        validate::at_most("drift_ppm_max", self.drift_ppm_max, DRIFT_PPM_MAX, "clocks must run forward")?;
        validate::ordered(
            "periodic_period_ms_min",
            self.periodic_period_ms_min,
            self.periodic_period_ms_max,
        )?;
        if self.periodic_probability > 0.0 && self.periodic_amplitude_ms_max > 0 {
            validate::positive("periodic_period_ms_min", self.periodic_period_ms_min)?;
            // The wobble's slope (4a/p for a triangle, a/p for a sawtooth) stays within 1/4, so
            // with the drift a clock's rate stays above one half.
            let per = if self.periodic_shape == PeriodicShape::Sawtooth { 4 } else { 16 };
            let limit = self.periodic_period_ms_min / per;
            validate::at_most(
                "periodic_amplitude_ms_max",
                self.periodic_amplitude_ms_max,
                limit,
                "slope over 1/4",
            )?;
        }
        let steps = u64::from(self.steps_max).saturating_mul(self.step_ms_max);
        let behind = self.offset_ms_max.saturating_add(steps).saturating_add(self.periodic_amplitude_ms_max);
        validate::at_most(
            "offset_ms_max",
            behind,
            BEHIND_MS_MAX,
            "offset + steps + amplitude past half the epoch",
        )?;
        validate::at_most(
            "step_window_ms",
            self.step_window_ms,
            u64::MAX / 1_000_000,
            "overflows nanoseconds",
        )
    }

    /// Every knob drawn from `rng` (swarm testing): skews of up to seconds, drifts of up to
    /// 500 ppm, a few steps in the first minute, wobbles of periods between 1 and 60 seconds.
    pub fn swarm(rng: &mut Rng) -> ClockOptions {
        let mut p = || if rng.gen_bool(0.5) { rng.gen_range(0.0..=1.0) } else { 0.0 };
        let (drift_probability, step_probability, periodic_probability) = (p(), p(), p());
        let periodic_period_ms_min = rng.gen_range(1_000..=10_000);
        ClockOptions {
            offset_ms_max: [0, 10, 1_000, 5_000][rng.gen_range(0..4)],
            drift_probability,
            drift_ppm_max: rng.gen_range(1..=500),
            step_probability,
            steps_max: rng.gen_range(1..=4),
            step_ms_max: rng.gen_range(1..=2_000),
            step_window_ms: 60_000,
            periodic_probability,
            periodic_shape: [PeriodicShape::Triangle, PeriodicShape::Sawtooth, PeriodicShape::Either]
                [rng.gen_range(0..3)],
            periodic_amplitude_ms_max: rng.gen_range(1..=periodic_period_ms_min / 16),
            periodic_period_ms_min,
            periodic_period_ms_max: periodic_period_ms_min + rng.gen_range(0..=50_000),
        }
    }
}

/// What clock skew took effect, summed over nodes (for the run report).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockFaultCounts {
    /// Clocks with a non-zero offset.
    pub offset_clocks: u64,
    /// Clocks with linear drift.
    pub drifting_clocks: u64,
    /// Clock steps that happened.
    pub steps_taken: u64,
    /// Clocks with a periodic wobble.
    pub periodic_clocks: u64,
}

impl ClockFaultCounts {
    /// Each counter with its name, in a fixed order (for reports).
    pub fn entries(&self) -> [(&'static str, u64); 4] {
        [
            ("offset_clocks", self.offset_clocks),
            ("drifting_clocks", self.drifting_clocks),
            ("steps_taken", self.steps_taken),
            ("periodic_clocks", self.periodic_clocks),
        ]
    }

    /// Adds `other`'s counts to these (summing nodes or runs).
    pub fn add(&mut self, other: &ClockFaultCounts) {
        self.offset_clocks += other.offset_clocks;
        self.drifting_clocks += other.drifting_clocks;
        self.steps_taken += other.steps_taken;
        self.periodic_clocks += other.periodic_clocks;
    }
}

/// Milliseconds with their sign and three decimals, from nanoseconds.
fn ms(ns: i128) -> String {
    format!("{:+.3}ms", ns as f64 / 1e6)
}

impl fmt::Display for NodeClock {
    /// For example `offset +12.000ms, drift -37.000ppm, steps [+5.000ms at 3.2s], sawtooth 3.000ms/10s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_perfect() {
            return write!(f, "perfect");
        }
        let mut parts = vec![format!("offset {}", ms(self.offset_ns.into()))];
        if self.drift_ppb != 0 {
            parts.push(format!("drift {:+.3}ppm", self.drift_ppb as f64 / 1e3));
        }
        if !self.steps.is_empty() {
            let steps: Vec<String> = self
                .steps
                .iter()
                .map(|s| format!("{} at {:.3}s", ms(s.by_ns.into()), s.at_ns as f64 / 1e9))
                .collect();
            parts.push(format!("steps [{}]", steps.join(", ")));
        }
        if let Some(p) = self.periodic {
            let (name, a, period) = match p {
                Periodic::Triangle { amplitude_ns, period_ns } => ("triangle", amplitude_ns, period_ns),
                Periodic::Sawtooth { amplitude_ns, period_ns } => ("sawtooth", amplitude_ns, period_ns),
            };
            parts.push(format!("{name} {:.3}ms/{:.3}s", a as f64 / 1e6, period as f64 / 1e9));
        }
        write!(f, "{}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, by bisection from zero: the least `x` with `mono(now + x) - mono(now) >=
    /// want`, for monotonic clocks of every shape (the sawtooth's drops are not part of it).
    fn reference(clock: &NodeClock, now: i128, want: i128) -> i128 {
        let base = clock.monotonic(now);
        let (mut lo, mut hi) = (-1, 4 * want + 1);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if clock.monotonic(now + mid) - base >= want {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    fn wobbling_clock() -> impl Strategy<Value = NodeClock> {
        let shape = prop_oneof![
            (1..=50_000u64, 1_000..=100_000u64)
                .prop_map(|(a_us, p_ms)| (a_us * 1_000, p_ms * 1_000_000))
                .prop_map(|(a, p)| Periodic::Triangle { amplitude_ns: a.min(p / 16), period_ns: p }),
            (1..=50_000u64, 1_000..=100_000u64)
                .prop_map(|(a_us, p_ms)| (a_us * 1_000, p_ms * 1_000_000))
                .prop_map(|(a, p)| Periodic::Sawtooth { amplitude_ns: a.min(p / 16), period_ns: p }),
        ];
        (-100_000_000i64..=100_000_000, shape).prop_map(|(drift_ppb, periodic)| NodeClock {
            drift_ppb,
            periodic: Some(periodic),
            ..NodeClock::perfect()
        })
    }

    proptest! {
        #[test]
        fn timer_delay_is_the_least_delay_for_every_shape(
            clock in wobbling_clock(), now_ms in 0..1_000_000u64, after_ns in 0..10_000_000_000u64,
        ) {
            let delay = clock.timer_delay(Duration::from_millis(now_ms), Duration::from_nanos(after_ns));
            let expected = reference(&clock, i128::from(now_ms) * NANOS_PER_MS, i128::from(after_ns));
            prop_assert_eq!(i128::from(delay.as_nanos() as u64), expected);
        }
    }
}
