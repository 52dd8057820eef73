//! The test API: sweep a scenario over seeds inside `cargo test`.
//!
//! ```text
//! check::<Counter>(Scenario::new("counter: crashes only").preset(Preset::Lite))
//!     .expect_faults(&["process.crash"])
//!     .seeds(50)
//!     .run();
//! ```
//!
//! Seeds come from `FAULTLINE_SEED` (the first seed) and `FAULTLINE_SEEDS` (how many), falling
//! back to the scenario's own; never from the clock, so every run of a test is the same run. On
//! a failure the test panics with the report and a one-line command that reproduces it. A fault
//! the scenario asked for that never fired over the whole sweep fails the test too: it would
//! otherwise pass without having tested what it claims.

use crate::harness::{run, RunSpec};
use crate::options::{Preset, SimOptions};
use crate::report::{FailureClass, RunReport};
use crate::schedule::Schedule;
use crate::stats::Counters;
use crate::system::{System, COVERAGE_PREFIX};
use std::marker::PhantomData;

/// A named run description: a preset, optional edits to its options, an optional planted bug.
#[derive(Clone)]
pub struct Scenario {
    name: String,
    preset: Preset,
    edit: Option<fn(&mut SimOptions)>,
    bug: Option<String>,
}

impl Scenario {
    /// A scenario named like a spec ("raft: partition 2-1 isolates the leader"), swarm by default.
    pub fn new(name: &str) -> Self {
        Scenario { name: name.to_string(), preset: Preset::Swarm, edit: None, bug: None }
    }

    /// Starts every seed from `preset`'s options instead of swarm's.
    pub fn preset(mut self, preset: Preset) -> Self {
        self.preset = preset;
        self
    }

    /// Edits the preset's options for every seed (after swarm draws its knobs).
    pub fn options(mut self, edit: fn(&mut SimOptions)) -> Self {
        self.edit = Some(edit);
        self
    }

    /// Runs every seed with the planted bug `bug` enabled (by name).
    pub fn bug(mut self, bug: &str) -> Self {
        self.bug = Some(bug.to_string());
        self
    }

    /// The run `seed` gives in this scenario for system `S` (whose layout the schedule follows).
    pub fn spec<S: System>(&self, seed: u64) -> RunSpec {
        let mut options = self.preset.options(seed);
        if let Some(edit) = self.edit {
            edit(&mut options);
        }
        let mut spec = RunSpec { seed, options, schedule: Schedule::default(), bug: self.bug.clone() };
        spec.schedule = Schedule::plan(seed, &spec.options, &S::layout(&spec.config()));
        spec
    }

    /// The CLI line that replays `seed`, when the scenario is a plain preset.
    fn cli_line(&self, system: &str, seed: u64) -> Option<String> {
        if self.edit.is_some() {
            return None;
        }
        let bug = self.bug.as_ref().map(|b| format!(" --bug {b}")).unwrap_or_default();
        Some(format!("faultline replay {system} --seed {seed} --preset {}{bug}", self.preset))
    }
}

/// What a sweep found.
#[derive(Debug, Default)]
pub struct Sweep {
    /// The seeds run, in order.
    pub seeds: Vec<u64>,
    /// Each failing seed with its failure's class and message.
    pub failures: Vec<(u64, FailureClass, String)>,
    /// The counters of every run, summed.
    pub counters: Counters,
    /// Simulated time of every run, summed, in seconds.
    pub sim_seconds: f64,
}

/// A scenario bound to a system, ready to sweep.
pub struct Check<S: System> {
    scenario: Scenario,
    seeds: u64,
    start: u64,
    faults: Vec<&'static str>,
    points: Vec<&'static str>,
    system: PhantomData<S>,
}

/// Starts a check of system `S` in `scenario`.
pub fn check<S: System>(scenario: Scenario) -> Check<S> {
    Check { scenario, seeds: 20, start: 0, faults: Vec::new(), points: Vec::new(), system: PhantomData }
}

impl<S: System> Check<S> {
    /// Seeds to run unless `FAULTLINE_SEEDS` says otherwise.
    pub fn seeds(mut self, n: u64) -> Self {
        self.seeds = n;
        self
    }

    /// The first seed unless `FAULTLINE_SEED` says otherwise.
    pub fn start(mut self, seed: u64) -> Self {
        self.start = seed;
        self
    }

    /// Fault counters (see [`crate::faults::KINDS`]) that must fire at least once in the sweep.
    pub fn expect_faults(mut self, counters: &[&'static str]) -> Self {
        self.faults.extend_from_slice(counters);
        self
    }

    /// Coverage points (full names, as the protocol marks them with
    /// [`crate::Context::sometimes`]) that must be reached at least once in the sweep: a
    /// scenario written for a dangerous moment fails if it never reaches it.
    pub fn expect_reached(mut self, points: &[&'static str]) -> Self {
        self.points.extend_from_slice(points);
        self
    }

    fn seed_range(&self) -> std::ops::Range<u64> {
        let start = env_u64("FAULTLINE_SEED").unwrap_or(self.start);
        let count = env_u64("FAULTLINE_SEEDS").unwrap_or(self.seeds);
        start..start.saturating_add(count)
    }

    fn run_seed(&self, seed: u64) -> RunReport {
        let spec = self.scenario.spec::<S>(seed);
        run::<S>(&spec).unwrap_or_else(|e| panic!("scenario `{}` is misconfigured: {e}", self.scenario.name))
    }

    /// Every seed must pass; panics with the first failure's report and reproduce line.
    pub fn run(self) -> Sweep {
        let mut sweep = Sweep::default();
        for seed in self.seed_range() {
            let report = self.run_seed(seed);
            sweep.add(&report);
            if !report.passed() {
                panic!("{}\n{}", report, self.reproduce(seed));
            }
        }
        self.assert_faults_fired(&sweep);
        self.assert_points_reached(&sweep);
        sweep
    }

    /// At least one seed must fail (a planted bug must be found): returns the sweep with the
    /// failures, after checking that the first failing seed fails the same way when run again.
    pub fn run_expecting_failure(self) -> Sweep {
        let mut sweep = Sweep::default();
        for seed in self.seed_range() {
            let report = self.run_seed(seed);
            sweep.add(&report);
            if !report.passed() {
                let again = self.run_seed(seed);
                assert_eq!(
                    (again.trace_hash, &again.failure),
                    (report.trace_hash, &report.failure),
                    "seed {seed} did not reproduce: the run is not deterministic"
                );
                return sweep;
            }
        }
        let range = self.seed_range();
        panic!(
            "scenario `{}` found no failure in seeds {}..{}: the harness missed {}",
            self.scenario.name,
            range.start,
            range.end,
            self.scenario.bug.as_deref().unwrap_or("the expected failure")
        );
    }

    /// Determinism: runs every seed, then runs them all again in reverse order (so each second
    /// run happens on a thread that has already run others), and asserts that each seed gives
    /// the same trace hash, history and verdict both times.
    pub fn assert_deterministic(self) {
        let first: Vec<RunReport> = self.seed_range().map(|seed| self.run_seed(seed)).collect();
        for report in first.iter().rev() {
            let again = self.run_seed(report.seed);
            assert_eq!(
                (again.trace_hash, &again.failure, &again.history),
                (report.trace_hash, &report.failure, &report.history),
                "seed {} gave a different run the second time: determinism is broken\n{}",
                report.seed,
                self.reproduce(report.seed)
            );
        }
    }

    fn assert_faults_fired(&self, sweep: &Sweep) {
        let missing: Vec<&str> = self.faults.iter().copied().filter(|f| sweep.counters.get(f) == 0).collect();
        assert!(
            missing.is_empty(),
            "scenario `{}` asked for faults that never fired in {} seeds: {}",
            self.scenario.name,
            sweep.seeds.len(),
            missing.join(", ")
        );
    }

    fn assert_points_reached(&self, sweep: &Sweep) {
        let missing: Vec<&str> = (self.points.iter().copied())
            .filter(|p| sweep.counters.get(&format!("{COVERAGE_PREFIX}{p}")) == 0)
            .collect();
        assert!(
            missing.is_empty(),
            "scenario `{}` never reached these coverage points in {} seeds: {}",
            self.scenario.name,
            sweep.seeds.len(),
            missing.join(", ")
        );
    }

    fn reproduce(&self, seed: u64) -> String {
        let test = std::thread::current().name().unwrap_or("<test name>").to_string();
        let binary = test_binary().unwrap_or_else(|| "<test binary>".to_string());
        let mut line = format!(
            "reproduce: FAULTLINE_SEED={seed} FAULTLINE_SEEDS=1 cargo test --test {binary} -- {test} --exact"
        );
        if let Some(cli) = self.scenario.cli_line(S::NAME, seed) {
            line.push_str(&format!("\n       or: {cli}"));
        }
        line
    }
}

/// The text to pin (with an insta snapshot) for one seed of `scenario`: the report, the options
/// hash, the fault schedule, the first 40 history events and the trace hash. An unintended
/// change to the runtime, the fault schedule or the protocol then shows up as a diff in review.
pub fn pinned_trace<S: System>(scenario: &Scenario, seed: u64) -> String {
    let spec = scenario.spec::<S>(seed);
    let report =
        run::<S>(&spec).unwrap_or_else(|e| panic!("scenario `{}` is misconfigured: {e}", scenario.name));
    let history: Vec<String> = report
        .history
        .events
        .iter()
        .take(40)
        .map(|e| serde_json::to_string(e).expect("history events encode"))
        .collect();
    format!(
        "{report}\noptions hash: {:016x}\nschedule:\n{}history ({} events, first 40):\n{}\ntrace-hash: {:016x}",
        spec.options.hash(),
        spec.schedule,
        report.history.len(),
        history.join("\n"),
        report.trace_hash
    )
}

impl Sweep {
    fn add(&mut self, report: &RunReport) {
        self.seeds.push(report.seed);
        self.counters.merge(&report.counters);
        self.sim_seconds += report.sim_time.as_secs_f64();
        if let Some(f) = &report.failure {
            self.failures.push((report.seed, f.class, f.message.clone()));
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a seed (an unsigned integer)")),
    )
}

/// The integration test binary's name (`counter` for `target/debug/deps/counter-1a2b3c`).
fn test_binary() -> Option<String> {
    let path = std::env::args().next()?;
    let stem = std::path::Path::new(&path).file_stem()?.to_str()?.to_string();
    Some(stem.rsplit_once('-').map_or(stem.clone(), |(name, _)| name.to_string()))
}
