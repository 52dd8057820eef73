//! The summary of a sweep: as a table on stdout, and as files in `--out`.

use super::sweep::{reproduce_line, SweepArgs};
use faultline_sim::faults::KINDS;
use faultline_sim::report::{Failure, RunReport};
use faultline_sim::stats::Counters;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// What a sweep keeps of one seed's run.
pub struct SeedResult {
    pub seed: u64,
    pub failure: Option<Failure>,
    pub counters: Counters,
    pub sim_time: Duration,
    pub wall_time: Duration,
    pub trace_hash: u64,
}

impl SeedResult {
    pub fn new(report: &RunReport, wall_time: Duration) -> Self {
        SeedResult {
            seed: report.seed,
            failure: report.failure.clone(),
            counters: report.counters.clone(),
            sim_time: report.sim_time,
            wall_time,
            trace_hash: report.trace_hash,
        }
    }
}

/// A failing seed in the JSON summary.
#[derive(Serialize)]
struct FailureLine {
    seed: u64,
    class: &'static str,
    message: String,
    trace_hash: String,
    reproduce: String,
}

/// How often one fault kind fired over the sweep.
#[derive(Serialize, Default, Clone, Copy)]
struct FaultTally {
    seeds: u64,
    count: u64,
}

/// The sweep's results, sorted by seed.
#[derive(Serialize)]
pub struct Summary {
    system: String,
    preset: String,
    bug: Option<String>,
    seeds_run: usize,
    jobs: u32,
    wall_seconds: f64,
    sim_seconds: f64,
    faults: BTreeMap<&'static str, FaultTally>,
    never_fired: Vec<&'static str>,
    /// Faults by the kind of node they hit (`kind.<kind>.*` counters), for systems with
    /// several kinds: that the client-side nodes were crashed too, not only the servers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    by_kind: BTreeMap<String, FaultTally>,
    /// The system's own events (`<system>.*` counters): elections, snapshots, membership...
    events: BTreeMap<String, FaultTally>,
    failures: Vec<FailureLine>,
    /// Wall seconds from the start of the sweep to the first failing seed's completion, in seed
    /// order (single job: exact; several jobs: the failing seed's own time is added to those before it).
    first_failure_wall_seconds: Option<f64>,
    /// The median, over starting seeds, of the wall time (one core) a sweep starting there
    /// spends until a seed fails: how long a bug takes to find, not how lucky seed 0 was.
    median_wall_seconds_to_failure: Option<f64>,
}

impl Summary {
    pub fn new(args: &SweepArgs, results: Vec<SeedResult>, wall: Duration) -> Self {
        let mut faults: BTreeMap<&'static str, FaultTally> = BTreeMap::new();
        for kind in KINDS {
            let tally = faults.entry(kind.counter).or_default();
            for r in &results {
                let n = r.counters.get(kind.counter);
                tally.seeds += u64::from(n > 0);
                tally.count += n;
            }
        }
        let never_fired = faults.iter().filter(|(_, t)| t.count == 0).map(|(k, _)| *k).collect();
        let events = tally_prefixed(&format!("{}.", args.system), &results);
        let by_kind = tally_prefixed("kind.", &results);
        let failures = results.iter().filter_map(|r| failure_line(args, r)).collect();
        let first_failure_wall_seconds = first_failure(&results);
        let median_wall_seconds_to_failure = median_time_to_failure(&results);
        Summary {
            system: args.system.clone(),
            preset: args.preset.to_string(),
            bug: args.bug.clone(),
            seeds_run: results.len(),
            jobs: args.jobs,
            wall_seconds: wall.as_secs_f64(),
            sim_seconds: results.iter().map(|r| r.sim_time.as_secs_f64()).sum(),
            faults,
            never_fired,
            by_kind,
            events,
            failures,
            first_failure_wall_seconds,
            median_wall_seconds_to_failure,
        }
    }

    pub fn failures(&self) -> usize {
        self.failures.len()
    }

    /// Writes `failures.txt` (one reproduce line per failing seed) and `summary.json`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let lines: String = self.failures.iter().map(|f| format!("{}\n", f.reproduce)).collect();
        std::fs::write(dir.join("failures.txt"), lines)?;
        let json = serde_json::to_string_pretty(self).expect("summary serializes");
        std::fs::write(dir.join("summary.json"), json + "\n")
    }
}

fn failure_line(args: &SweepArgs, r: &SeedResult) -> Option<FailureLine> {
    let f = r.failure.as_ref()?;
    Some(FailureLine {
        seed: r.seed,
        class: f.class.name(),
        message: f.message.clone(),
        trace_hash: format!("{:016x}", r.trace_hash),
        reproduce: reproduce_line(args, r.seed),
    })
}

/// The counters named `<prefix>...` (the system's own events, faults by node kind), tallied
/// like faults.
fn tally_prefixed(prefix: &str, results: &[SeedResult]) -> BTreeMap<String, FaultTally> {
    let mut events: BTreeMap<String, FaultTally> = BTreeMap::new();
    for r in results {
        for (name, n) in r.counters.with_prefix(prefix) {
            let tally = events.entry(name.to_string()).or_default();
            tally.seeds += u64::from(n > 0);
            tally.count += n;
        }
    }
    events
}

/// Wall time spent on seeds up to and including the first failing one.
fn first_failure(results: &[SeedResult]) -> Option<f64> {
    let at = results.iter().position(|r| r.failure.is_some())?;
    Some(results[..=at].iter().map(|r| r.wall_time.as_secs_f64()).sum())
}

/// For each starting seed, the wall time of the seeds from it up to and including the next
/// failing one (seeds with no failure after them are left out); the median of those.
fn median_time_to_failure(results: &[SeedResult]) -> Option<f64> {
    let mut until_next: Vec<f64> = Vec::new();
    let mut ahead: Option<f64> = None;
    for r in results.iter().rev() {
        let own = r.wall_time.as_secs_f64();
        ahead = if r.failure.is_some() { Some(own) } else { ahead.map(|t| t + own) };
        until_next.extend(ahead);
    }
    if until_next.is_empty() {
        return None;
    }
    until_next.sort_by(f64::total_cmp);
    Some(until_next[until_next.len() / 2])
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bug = self.bug.as_ref().map(|b| format!(", bug {b}")).unwrap_or_default();
        writeln!(
            f,
            "sweep {} (preset {}{bug}): {} seeds on {} jobs",
            self.system, self.preset, self.seeds_run, self.jobs
        )?;
        let ratio = if self.wall_seconds > 0.0 { self.sim_seconds / self.wall_seconds } else { 0.0 };
        writeln!(
            f,
            "  simulated {:.0} s in {:.2} s wall: {ratio:.0} simulated seconds per wall second",
            self.sim_seconds, self.wall_seconds
        )?;
        writeln!(f, "  faults fired (seeds with it, times):")?;
        fmt_tallies(f, self.faults.iter().filter(|(_, t)| t.count > 0))?;
        if !self.never_fired.is_empty() {
            writeln!(f, "  never fired: {}", self.never_fired.join(", "))?;
        }
        if !self.by_kind.is_empty() {
            writeln!(f, "  faults by node kind (seeds with it, times):")?;
            fmt_tallies(f, self.by_kind.iter())?;
        }
        if !self.events.is_empty() {
            writeln!(f, "  system events (seeds with it, times):")?;
            fmt_tallies(f, self.events.iter())?;
        }
        self.fmt_failures(f)
    }
}

/// One line per counter: its name, the seeds it happened in and how many times in all.
fn fmt_tallies<'a, K: AsRef<str> + 'a>(
    f: &mut fmt::Formatter<'_>,
    tallies: impl Iterator<Item = (K, &'a FaultTally)>,
) -> fmt::Result {
    for (name, t) in tallies {
        writeln!(f, "    {:<36} {:>7} {:>10}", name.as_ref(), t.seeds, t.count)?;
    }
    Ok(())
}

impl Summary {
    fn fmt_failures(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
        for failure in &self.failures {
            *by_class.entry(failure.class).or_default() += 1;
        }
        let classes: Vec<String> = by_class.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let passed = self.seeds_run - self.failures.len();
        writeln!(
            f,
            "  passed {passed}, failed {}{}",
            self.failures.len(),
            if classes.is_empty() { String::new() } else { format!(" ({})", classes.join(", ")) }
        )?;
        if let Some(secs) = self.first_failure_wall_seconds {
            writeln!(f, "  first failure after {secs:.2} s of wall time")?;
        }
        if let Some(secs) = self.median_wall_seconds_to_failure {
            writeln!(
                f,
                "  median wall time to a failure from a random starting seed: {secs:.2} s (one core)"
            )?;
        }
        for failure in &self.failures {
            writeln!(f, "reproduce: {}    # {}: {}", failure.reproduce, failure.class, failure.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::report::FailureClass;

    fn result(seed: u64, wall_ms: u64, fails: bool) -> SeedResult {
        SeedResult {
            seed,
            failure: fails.then(|| Failure { class: FailureClass::Safety, message: String::new() }),
            counters: Counters::default(),
            sim_time: Duration::ZERO,
            wall_time: Duration::from_millis(wall_ms),
            trace_hash: 0,
        }
    }

    #[test]
    fn the_median_time_to_failure_counts_from_every_starting_seed() {
        // Seeds 0..5, 100 ms each, seed 2 and seed 4 fail: from seeds 0..=4 the times are
        // 300, 200, 100, 200, 100 ms; the median is 200 ms.
        let results: Vec<SeedResult> = (0..5).map(|s| result(s, 100, s == 2 || s == 4)).collect();
        assert_eq!(median_time_to_failure(&results), Some(0.2));
        let none: Vec<SeedResult> = (0..3).map(|s| result(s, 100, false)).collect();
        assert_eq!(median_time_to_failure(&none), None);
    }
}
