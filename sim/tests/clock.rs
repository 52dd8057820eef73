//! Per-node clocks: each skew shape moves `now()` as specified, timers follow the clock's rate
//! and not its steps, and clocks are drawn deterministically from the seed.
//!
//! Method: build clocks by hand (plain data) and read them at chosen simulated times; property
//! tests check the timer conversion against the clock's own readings.

use faultline_sim::clock::{ClockOptions, ClockStep, NodeClock, Periodic, PeriodicShape};
use faultline_sim::rng;
use faultline_sim::Time;
use proptest::prelude::*;
use std::time::Duration;

const MS: i64 = 1_000_000;
const EPOCH: i64 = Time::EPOCH_NANOS as i64;

/// The clock's reading minus exact simulated time, nanoseconds.
fn skew(clock: &NodeClock, at: Duration) -> i64 {
    clock.local_time(at).0 as i64 - EPOCH - at.as_nanos() as i64
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn skew_shifts_now() {
    let ahead = NodeClock { offset_ns: 5 * MS, ..NodeClock::perfect() };
    let behind = NodeClock { offset_ns: -250 * MS, ..NodeClock::perfect() };
    for t in [secs(0), secs(1), secs(3600)] {
        assert_eq!(NodeClock::perfect().local_time(t), Time(Time::EPOCH_NANOS + t.as_nanos() as u64));
        assert_eq!(skew(&ahead, t), 5 * MS);
        assert_eq!(skew(&behind, t), -250 * MS);
    }
    assert!(behind.local_time(secs(0)).0 > 0, "the epoch keeps negative offsets above zero");
}

#[test]
fn drift_accumulates_at_the_rate_given() {
    let fast = NodeClock { drift_ppb: 100_000, ..NodeClock::perfect() }; // +100 ppm
    let slow = NodeClock { drift_ppb: -20_000, ..NodeClock::perfect() }; // -20 ppm
    assert_eq!(skew(&fast, secs(0)), 0);
    assert_eq!(skew(&fast, secs(10)), MS, "100 ppm of 10 s is 1 ms");
    assert_eq!(skew(&fast, secs(100)), 10 * MS);
    assert_eq!(skew(&slow, secs(100)), -2 * MS);
}

#[test]
fn a_step_moves_the_clock_at_the_step_time() {
    let at = secs(2);
    let clock = NodeClock {
        steps: vec![ClockStep { at_ns: at.as_nanos() as u64, by_ns: -3 * MS }],
        ..NodeClock::perfect()
    };
    let just_before = at - Duration::from_nanos(1);
    assert_eq!(skew(&clock, just_before), 0);
    assert_eq!(skew(&clock, at), -3 * MS);
    assert_eq!(skew(&clock, secs(60)), -3 * MS);
    assert!(clock.local_time(at) < clock.local_time(just_before), "a negative step goes backwards");
    assert_eq!((clock.steps_taken(just_before), clock.steps_taken(at)), (0, 1));
}

#[test]
fn a_triangle_wobble_swings_within_its_amplitude() {
    let (a, p) = (2 * MS, 8_000 * MS);
    let clock = NodeClock {
        periodic: Some(Periodic::Triangle { amplitude_ns: a as u64, period_ns: p as u64 }),
        ..NodeClock::perfect()
    };
    let at = |ns: i64| skew(&clock, Duration::from_nanos(ns as u64));
    assert_eq!((at(0), at(p / 4), at(p / 2), at(3 * p / 4), at(p)), (0, a, 0, -a, 0));
    for ns in (0..3 * p).step_by(p as usize / 97) {
        assert!(at(ns).abs() <= a);
    }
}

#[test]
fn a_sawtooth_runs_fast_then_steps_back() {
    let (a, p) = (MS, 1_000 * MS);
    let clock = NodeClock {
        periodic: Some(Periodic::Sawtooth { amplitude_ns: a as u64, period_ns: p as u64 }),
        ..NodeClock::perfect()
    };
    let at = |ns: i64| skew(&clock, Duration::from_nanos(ns as u64));
    assert_eq!((at(0), at(p / 2), at(p - 1000)), (0, a / 2, a - 1));
    assert_eq!(at(p), 0, "stepped back at the end of the period");
    assert!(
        clock.local_time(Duration::from_nanos(p as u64))
            < clock.local_time(Duration::from_nanos(p as u64 - 1000))
    );
}

#[test]
fn timers_follow_the_clock_rate_but_not_its_steps() {
    let fast = NodeClock { drift_ppb: 100_000_000, ..NodeClock::perfect() }; // runs 10% fast
    let d = secs(11);
    let delay = fast.timer_delay(secs(5), d);
    assert_eq!(delay, secs(10), "11 s on a clock 10% fast pass in 10 s of simulated time");
    assert_eq!(NodeClock::perfect().timer_delay(secs(5), d), d);
    let stepped = NodeClock {
        steps: vec![ClockStep { at_ns: secs(7).as_nanos() as u64, by_ns: 3_000 * MS }],
        ..fast.clone()
    };
    assert_eq!(stepped.timer_delay(secs(5), d), delay, "a step changes now() but not a pending timer");
    assert_eq!(fast.timer_delay(secs(5), Duration::ZERO), Duration::ZERO);
}

/// A clock without stepped parts (no offset, steps or sawtooth): its readings are the
/// monotonic clock, so the timer conversion can be checked against `local_time` itself.
fn slewed_clock() -> impl Strategy<Value = NodeClock> {
    let periodic = prop_oneof![
        Just(None),
        (1..=50u64, 1_000..=100_000u64).prop_map(|(a_ms, p_ms)| {
            let a = (a_ms * MS as u64).min(p_ms * MS as u64 / 16);
            Some(Periodic::Triangle { amplitude_ns: a, period_ns: p_ms * MS as u64 })
        }),
    ];
    (-100_000_000i64..=100_000_000, periodic).prop_map(|(drift_ppb, periodic)| NodeClock {
        drift_ppb,
        periodic,
        ..NodeClock::perfect()
    })
}

/// Property-test cases: 512, or `PROPTEST_CASES` when set (for longer local runs).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]
    #[test]
    fn a_timer_fires_at_the_first_instant_its_duration_has_passed_on_the_clock(
        clock in slewed_clock(), now_ms in 0..1_000_000u64, after_ns in 0..100_000_000_000u64,
    ) {
        let now = Duration::from_millis(now_ms);
        let after = Duration::from_nanos(after_ns);
        let delay = clock.timer_delay(now, after);
        let passed = |x: Duration| clock.local_time(now + x).0 - clock.local_time(now).0;
        prop_assert!(passed(delay) >= after_ns, "fired early: {:?} for {:?}", delay, after);
        if delay > Duration::ZERO {
            let earlier = delay - Duration::from_nanos(1);
            prop_assert!(passed(earlier) < after_ns, "fired late: {:?} for {:?}", delay, after);
        }
        // The rate stays within [1/2, 2], so the delay does too.
        prop_assert!(delay <= after * 2 && delay * 2 >= after);
    }
}

fn swarm_like() -> ClockOptions {
    ClockOptions {
        offset_ms_max: 1_000,
        drift_probability: 0.5,
        drift_ppm_max: 200,
        step_probability: 0.5,
        steps_max: 3,
        step_ms_max: 500,
        step_window_ms: 30_000,
        periodic_probability: 0.5,
        periodic_shape: PeriodicShape::Either,
        periodic_amplitude_ms_max: 100,
        periodic_period_ms_min: 2_000,
        periodic_period_ms_max: 20_000,
    }
}

#[test]
fn same_seed_same_clocks() {
    let options = swarm_like();
    options.validate().unwrap();
    let draw = |seed| NodeClock::draw(&options, &mut rng::derive(seed, "clock", 0));
    for seed in 0..20 {
        assert_eq!(draw(seed), draw(seed));
    }
    let clocks: Vec<NodeClock> = (0..20).map(draw).collect();
    assert!(clocks.windows(2).any(|w| w[0] != w[1]), "the seed matters");
    let shapes = |f: fn(&NodeClock) -> bool| clocks.iter().filter(|c| f(c)).count();
    assert!(shapes(|c| c.drift_ppb != 0) > 0 && shapes(|c| !c.steps.is_empty()) > 0);
    assert!(shapes(|c| c.periodic.is_some()) > 0 && shapes(|c| c.offset_ns != 0) > 0);
    for c in &clocks {
        assert!(c.offset_ns.abs() <= 1_000 * MS && c.drift_ppb.abs() <= 200_000);
        assert!(c.steps.len() <= 3 && c.steps.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
    }
}

#[test]
fn default_options_give_perfect_clocks() {
    let options = ClockOptions::default();
    options.validate().unwrap();
    for seed in 0..10 {
        let clock = NodeClock::draw(&options, &mut rng::derive(seed, "clock", 0));
        assert!(clock.is_perfect());
        assert_eq!(clock.to_string(), "perfect");
    }
}

#[test]
fn validate_refuses_clocks_that_could_stop_or_underflow() {
    let bad = ClockOptions { drift_ppm_max: 600_000, ..ClockOptions::default() };
    assert_eq!(bad.validate().unwrap_err().field, "drift_ppm_max");
    let bad = ClockOptions { offset_ms_max: 10_000_000, ..ClockOptions::default() };
    assert_eq!(bad.validate().unwrap_err().field, "offset_ms_max");
    let bad = ClockOptions { step_probability: 1.5, ..ClockOptions::default() };
    assert_eq!(bad.validate().unwrap_err().field, "step_probability");
    let steep = ClockOptions {
        periodic_probability: 1.0,
        periodic_amplitude_ms_max: 1_000,
        periodic_period_ms_min: 2_000,
        periodic_period_ms_max: 2_000,
        ..ClockOptions::default()
    };
    assert_eq!(steep.validate().unwrap_err().field, "periodic_amplitude_ms_max");
    for seed in 0..200 {
        ClockOptions::swarm(&mut rng::derive(seed, "swarm", 0)).validate().unwrap();
    }
}

#[test]
fn the_report_says_what_skew_a_node_got() {
    let clock = NodeClock {
        offset_ns: 12 * MS,
        drift_ppb: -37_000,
        steps: vec![ClockStep { at_ns: 3_200_000_000, by_ns: 5 * MS }],
        periodic: Some(Periodic::Sawtooth { amplitude_ns: 3 * MS as u64, period_ns: 10_000_000_000 }),
    };
    assert_eq!(
        clock.to_string(),
        "offset +12.000ms, drift -37.000ppm, steps [+5.000ms at 3.200s], sawtooth 3.000ms/10.000s"
    );
    let counts = clock.counts(secs(1));
    assert_eq!(
        (counts.offset_clocks, counts.drifting_clocks, counts.steps_taken, counts.periodic_clocks),
        (1, 1, 0, 1)
    );
    assert_eq!(clock.counts(secs(4)).steps_taken, 1);
}
