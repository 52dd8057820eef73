//! The summary of a sweep, or of a merge of many sweeps' records: a table on stdout, and
//! `summary.json` and `failures.txt` in `--out`.
//!
//! Both are built the same way, one per-seed record at a time (a [`Tally`]), so that a sweep and
//! the merge of its shards give the same figures, and a summary of millions of seeds keeps only
//! the failing seeds' records and three numbers per passing seed.

use super::record::{Identity, SeedRecord};
use super::Shard;
use crate::registry;
use faultline_sim::faults::KINDS;
use faultline_sim::report::FailureClass;
use faultline_sim::system::COVERAGE_PREFIX;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// Failing seeds listed after a signature's reproduce line, before "and N more".
const GROUP_SEEDS_SHOWN: usize = 10;

/// How often one fault kind or event happened over the seeds.
#[derive(Serialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultTally {
    pub seeds: u64,
    pub count: u64,
}

/// What a summary keeps of a seed besides its counters: enough for the time-to-failure figures.
struct Run {
    seed: u64,
    wall_seconds: f64,
    failed: bool,
}

/// Records added one by one.
pub struct Tally {
    identities: BTreeMap<Identity, u64>,
    runs: Vec<Run>,
    faults: BTreeMap<&'static str, FaultTally>,
    by_kind: BTreeMap<String, FaultTally>,
    events: BTreeMap<String, FaultTally>,
    coverage: BTreeMap<String, FaultTally>,
    sim_seconds: f64,
    failures: Vec<SeedRecord>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            identities: BTreeMap::new(),
            runs: Vec::new(),
            faults: KINDS.iter().map(|k| (k.counter, FaultTally::default())).collect(),
            by_kind: BTreeMap::new(),
            events: BTreeMap::new(),
            coverage: BTreeMap::new(),
            sim_seconds: 0.0,
            failures: Vec::new(),
        }
    }
}

impl Tally {
    /// A tally that lists `identity` even if no seed of it is added (a shard with no seeds).
    pub fn expecting(identity: Identity) -> Self {
        let mut tally = Tally::default();
        tally.declare(&identity.system);
        tally.identities.insert(identity, 0);
        tally
    }

    /// Lists the events and coverage points `system` declares, so that those that never
    /// happened show as such rather than not at all.
    fn declare(&mut self, system: &str) {
        let Ok(entry) = registry::find(system) else { return };
        for event in entry.events {
            self.events.entry(format!("{system}.{event}")).or_default();
        }
        for point in entry.coverage {
            self.coverage.entry(format!("{COVERAGE_PREFIX}{point}")).or_default();
        }
    }

    pub fn add(&mut self, record: SeedRecord) {
        if !self.identities.keys().any(|i| i.system == record.system) {
            self.declare(&record.system);
        }
        *self.identities.entry(record.identity()).or_default() += 1;
        let prefix = format!("{}.", record.system);
        for (name, &n) in &record.counters {
            let tally = match self.faults.get_mut(name.as_str()) {
                Some(t) => t,
                None if name.starts_with(&prefix) => self.events.entry(name.clone()).or_default(),
                None if name.starts_with("kind.") => self.by_kind.entry(name.clone()).or_default(),
                None if name.starts_with(COVERAGE_PREFIX) => self.coverage.entry(name.clone()).or_default(),
                None => continue,
            };
            tally.seeds += u64::from(n > 0);
            tally.count += n;
        }
        self.sim_seconds += record.sim_seconds;
        let failed = record.failed();
        self.runs.push(Run { seed: record.seed, wall_seconds: record.wall_ms / 1e3, failed });
        if failed {
            self.failures.push(record);
        }
    }

    pub fn failures(&self) -> usize {
        self.failures.len()
    }
}

/// One sweep (system, preset, bug, build) among the records summarised.
#[derive(Serialize)]
struct SweepLine {
    system: String,
    preset: String,
    bug: Option<String>,
    version: String,
    commit: String,
    seeds: u64,
}

/// How the records came together: one sweep process, or a merge of record files.
pub enum Origin {
    Sweep { jobs: u32, wall: Duration, shard: Option<Shard>, out_of_time: bool },
    Merge(MergeStats),
}

/// What a merge read, and what it counted once or skipped.
#[derive(Serialize, Default, Clone, Debug)]
pub struct MergeStats {
    pub files: usize,
    pub records: u64,
    pub duplicates: u64,
    pub unreadable_lines: u64,
    /// Seeds with two records that disagree (trace hash, options or outcome).
    pub conflicting_seeds: u64,
}

/// A failing seed in the JSON summary.
#[derive(Serialize)]
struct FailureLine {
    seed: u64,
    class: &'static str,
    signature: String,
    message: String,
    trace_hash: String,
    reproduce: String,
}

/// The failing seeds that share a signature; `reproduce` is the smallest seed's.
#[derive(Serialize)]
struct SignatureGroup {
    signature: String,
    class: &'static str,
    seeds: usize,
    reproduce: String,
    first_seeds: Vec<u64>,
}

/// The summary, ready to print or write.
#[derive(Serialize)]
pub struct Summary {
    sweeps: Vec<SweepLine>,
    seeds_run: usize,
    passed: usize,
    failed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    jobs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<String>,
    /// The sweep's elapsed wall time (a merge does not know it).
    #[serde(skip_serializing_if = "Option::is_none")]
    wall_seconds: Option<f64>,
    /// Whether `--duration` ended the sweep.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    out_of_time: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    merge: Option<MergeStats>,
    /// The seeds' own wall times added up: the cores' time, whatever the parallelism.
    core_seconds: f64,
    sim_seconds: f64,
    faults: BTreeMap<&'static str, FaultTally>,
    never_fired: Vec<&'static str>,
    /// Fault kinds no node of the systems' layouts may suffer (faults that destroy synced data,
    /// when every durable node is a single copy): they cannot fire, so they are not listed as
    /// never fired.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_applicable: Vec<&'static str>,
    /// Faults by the kind of node they hit (`kind.<kind>.*` counters), for systems with
    /// several kinds: that the client-side nodes were crashed too, not only the servers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    by_kind: BTreeMap<String, FaultTally>,
    /// The systems' own events (`<system>.*` counters): elections, snapshots, membership...,
    /// every declared one listed, the ones that never happened with zeros.
    events: BTreeMap<String, FaultTally>,
    /// Coverage points (`cover.*` counters), every declared one listed.
    coverage: BTreeMap<String, FaultTally>,
    /// Declared events and coverage points that never happened.
    never_happened: Vec<String>,
    signatures: Vec<SignatureGroup>,
    failures: Vec<FailureLine>,
    /// Seed time from the smallest seed to the first failing seed's completion, in seed order
    /// (one job: the wall time; several: the failing seed's own time is added to those before it).
    first_failure_wall_seconds: Option<f64>,
    /// The median, over starting seeds, of the wall time (one core) a sweep starting there
    /// spends until a seed fails: how long a bug takes to find, not how lucky seed 0 was.
    median_wall_seconds_to_failure: Option<f64>,
}

impl Summary {
    pub fn new(mut tally: Tally, origin: Origin) -> Self {
        tally.runs.sort_by_key(|r| r.seed);
        tally.failures.sort_by_key(|r| (r.seed, r.identity()));
        let not_applicable = not_applicable(tally.identities.keys().map(|i| i.system.as_str()));
        let never_fired = (tally.faults.iter())
            .filter(|(k, t)| t.count == 0 && !not_applicable.contains(k))
            .map(|(k, _)| *k)
            .collect();
        let sweeps = tally
            .identities
            .into_iter()
            .map(|(i, seeds)| SweepLine {
                system: i.system,
                preset: i.preset,
                bug: i.bug,
                version: i.version,
                commit: i.commit,
                seeds,
            })
            .collect();
        let (jobs, shard, wall_seconds, out_of_time, merge) = match origin {
            Origin::Sweep { jobs, wall, shard, out_of_time } => (
                Some(jobs),
                shard.map(|s| format!("{}/{}", s.index, s.count)),
                Some(wall.as_secs_f64()),
                out_of_time,
                None,
            ),
            Origin::Merge(stats) => (None, None, None, false, Some(stats)),
        };
        Summary {
            sweeps,
            seeds_run: tally.runs.len(),
            passed: tally.runs.len() - tally.failures.len(),
            failed: tally.failures.len(),
            jobs,
            shard,
            wall_seconds,
            out_of_time,
            merge,
            core_seconds: tally.runs.iter().map(|r| r.wall_seconds).sum(),
            sim_seconds: tally.sim_seconds,
            faults: tally.faults,
            never_fired,
            not_applicable,
            by_kind: tally.by_kind,
            never_happened: (tally.events.iter().chain(&tally.coverage))
                .filter(|(_, t)| t.count == 0)
                .map(|(name, _)| name.clone())
                .collect(),
            events: tally.events,
            coverage: tally.coverage,
            signatures: signature_groups(&tally.failures),
            failures: tally.failures.iter().map(failure_line).collect(),
            first_failure_wall_seconds: first_failure(&tally.runs),
            median_wall_seconds_to_failure: median_time_to_failure(&tally.runs),
        }
    }

    pub fn failures(&self) -> usize {
        self.failed
    }

    /// Writes `failures{suffix}.txt` (the reproduce line of every failing seed, grouped by
    /// signature, smallest seed first) and `summary{suffix}.json`.
    pub fn write(&self, dir: &Path, suffix: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let group: BTreeMap<&str, usize> =
            self.signatures.iter().enumerate().map(|(i, g)| (g.signature.as_str(), i)).collect();
        let mut ordered: Vec<&FailureLine> = self.failures.iter().collect();
        ordered.sort_by_key(|f| group.get(f.signature.as_str()));
        let lines: String = ordered.iter().map(|f| format!("{}\n", f.reproduce)).collect();
        std::fs::write(dir.join(format!("failures{suffix}.txt")), lines)?;
        let json = serde_json::to_string_pretty(self).expect("summary serializes");
        std::fs::write(dir.join(format!("summary{suffix}.json")), json + "\n")
    }
}

fn class_name(class: Option<FailureClass>) -> &'static str {
    class.map_or("unknown", FailureClass::name)
}

fn failure_line(r: &SeedRecord) -> FailureLine {
    FailureLine {
        seed: r.seed,
        class: class_name(r.class),
        signature: r.signature.clone().unwrap_or_default(),
        message: r.message.clone().unwrap_or_default(),
        trace_hash: r.trace_hash.clone(),
        reproduce: r.reproduce(),
    }
}

/// Failures (sorted by seed) grouped by signature; groups in the order of their smallest seed.
fn signature_groups(failures: &[SeedRecord]) -> Vec<SignatureGroup> {
    let mut groups: Vec<SignatureGroup> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for r in failures {
        let signature = r.signature.as_deref().unwrap_or_default();
        let at = *index.entry(signature).or_insert_with(|| {
            groups.push(SignatureGroup {
                signature: signature.to_string(),
                class: class_name(r.class),
                seeds: 0,
                reproduce: r.reproduce(),
                first_seeds: Vec::new(),
            });
            groups.len() - 1
        });
        let group = &mut groups[at];
        group.seeds += 1;
        if group.first_seeds.len() < GROUP_SEEDS_SHOWN {
            group.first_seeds.push(r.seed);
        }
    }
    groups
}

/// Seed time spent on seeds up to and including the first failing one.
fn first_failure(runs: &[Run]) -> Option<f64> {
    let at = runs.iter().position(|r| r.failed)?;
    Some(runs[..=at].iter().map(|r| r.wall_seconds).sum())
}

/// The fault kinds that none of `systems` can suffer (see `faultline_sim::faults::possible`),
/// judged on each system's layout for three servers; unknown systems make nothing impossible.
fn not_applicable<'a>(systems: impl Iterator<Item = &'a str>) -> Vec<&'static str> {
    let mut common: Option<Vec<&'static str>> = None;
    for system in systems {
        let impossible = match crate::registry::find(system) {
            Ok(entry) => faultline_sim::faults::impossible(&(entry.layout)(
                &faultline_sim::system::SystemConfig::new(3),
            )),
            Err(_) => Vec::new(),
        };
        common = Some(match common {
            None => impossible,
            Some(c) => c.into_iter().filter(|k| impossible.contains(k)).collect(),
        });
    }
    common.unwrap_or_default()
}

/// For each starting seed, the wall time of the seeds from it up to and including the next
/// failing one (seeds with no failure after them are left out); the median of those.
fn median_time_to_failure(runs: &[Run]) -> Option<f64> {
    let mut until_next: Vec<f64> = Vec::new();
    let mut ahead: Option<f64> = None;
    for r in runs.iter().rev() {
        ahead = if r.failed { Some(r.wall_seconds) } else { ahead.map(|t| t + r.wall_seconds) };
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
        self.fmt_header(f)?;
        writeln!(f, "  faults fired (seeds with it, times):")?;
        fmt_tallies(f, self.faults.iter().filter(|(_, t)| t.count > 0))?;
        if !self.never_fired.is_empty() {
            writeln!(f, "  never fired: {}", self.never_fired.join(", "))?;
        }
        if !self.not_applicable.is_empty() {
            writeln!(
                f,
                "  not applicable (no node of the layout may suffer them): {}",
                self.not_applicable.join(", ")
            )?;
        }
        if !self.by_kind.is_empty() {
            writeln!(f, "  faults by node kind (seeds with it, times):")?;
            fmt_tallies(f, self.by_kind.iter())?;
        }
        if !self.events.is_empty() {
            writeln!(f, "  system events (seeds with it, times):")?;
            fmt_tallies(f, self.events.iter().filter(|(_, t)| t.count > 0))?;
        }
        if !self.coverage.is_empty() {
            writeln!(f, "  coverage points (seeds that reached it, times):")?;
            fmt_tallies(f, self.coverage.iter().filter(|(_, t)| t.count > 0))?;
        }
        if !self.never_happened.is_empty() {
            writeln!(f, "  never happened: {}", self.never_happened.join(", "))?;
        }
        self.fmt_outcomes(f)?;
        self.fmt_signatures(f)?;
        if self.merge.is_some() {
            return Ok(());
        }
        for failure in &self.failures {
            writeln!(f, "reproduce: {}    # {}: {}", failure.reproduce, failure.class, failure.message)?;
        }
        Ok(())
    }
}

/// One line per counter: its name, the seeds it happened in and how many times in all.
fn fmt_tallies<'a, K: AsRef<str> + 'a>(
    f: &mut fmt::Formatter<'_>,
    tallies: impl Iterator<Item = (K, &'a FaultTally)>,
) -> fmt::Result {
    let tallies: Vec<(K, &FaultTally)> = tallies.collect();
    let width = tallies.iter().map(|(name, _)| name.as_ref().len()).max().unwrap_or(0).max(36);
    for (name, t) in tallies {
        writeln!(f, "    {:<width$} {:>7} {:>10}", name.as_ref(), t.seeds, t.count)?;
    }
    Ok(())
}

impl Summary {
    fn fmt_header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Some(jobs), Some(wall)) = (self.jobs, self.wall_seconds) else {
            return self.fmt_merge_header(f);
        };
        let title = match self.sweeps.as_slice() {
            [s] => {
                let bug = s.bug.as_ref().map(|b| format!(", bug {b}")).unwrap_or_default();
                format!("{} (preset {}{bug})", s.system, s.preset)
            }
            _ => "(no seeds)".to_string(),
        };
        let shard = self.shard.as_ref().map(|s| format!(", shard {s}")).unwrap_or_default();
        writeln!(f, "sweep {title}: {} seeds on {jobs} jobs{shard}", self.seeds_run)?;
        if self.out_of_time {
            writeln!(f, "  stopped taking seeds when --duration ran out")?;
        }
        let ratio = if wall > 0.0 { self.sim_seconds / wall } else { 0.0 };
        writeln!(
            f,
            "  simulated {:.0} s in {wall:.2} s wall: {ratio:.0} simulated seconds per wall second",
            self.sim_seconds
        )
    }

    fn fmt_merge_header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.merge.clone().unwrap_or_default();
        let mut notes = vec![format!("{} records", m.records)];
        if m.duplicates > 0 {
            notes.push(format!("{} duplicates counted once", m.duplicates));
        }
        if m.unreadable_lines > 0 {
            notes.push(format!("{} unreadable lines skipped", m.unreadable_lines));
        }
        writeln!(f, "merge: {} seeds from {} files ({})", self.seeds_run, m.files, notes.join(", "))?;
        for s in &self.sweeps {
            let bug = s.bug.as_ref().map(|b| format!(" --bug {b}")).unwrap_or_default();
            let build = format!("faultline {}, commit {}", s.version, s.commit);
            writeln!(f, "  sweep {} --preset {}{bug} ({build}): {} seeds", s.system, s.preset, s.seeds)?;
        }
        let per_core = if self.core_seconds > 0.0 { self.sim_seconds / self.core_seconds } else { 0.0 };
        let seeds_per_hour =
            if self.core_seconds > 0.0 { self.seeds_run as f64 * 3600.0 / self.core_seconds } else { 0.0 };
        writeln!(
            f,
            "  simulated {:.0} s in {:.2} s of the seeds' own wall time: {per_core:.0} simulated seconds per \
             core-second, {seeds_per_hour:.0} seeds per core-hour",
            self.sim_seconds, self.core_seconds
        )
    }

    fn fmt_outcomes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
        for failure in &self.failures {
            *by_class.entry(failure.class).or_default() += 1;
        }
        let classes: Vec<String> = by_class.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let classes = if classes.is_empty() { String::new() } else { format!(" ({})", classes.join(", ")) };
        writeln!(f, "  passed {}, failed {}{classes}", self.passed, self.failed)?;
        if let Some(secs) = self.first_failure_wall_seconds {
            writeln!(f, "  first failure after {secs:.2} s of wall time")?;
        }
        if let Some(secs) = self.median_wall_seconds_to_failure {
            writeln!(
                f,
                "  median wall time to a failure from a random starting seed: {secs:.2} s (one core)"
            )?;
        }
        Ok(())
    }

    /// Each signature with its number of seeds, the smallest seed's reproduce line, and the
    /// next few seeds.
    fn fmt_signatures(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.signatures.is_empty() {
            return Ok(());
        }
        writeln!(f, "  failures by signature (seeds; the smallest seed's reproduce line first):")?;
        for g in &self.signatures {
            writeln!(f, "    {:>6}  {}", g.seeds, g.signature)?;
            writeln!(f, "            reproduce: {}", g.reproduce)?;
            let others: Vec<String> = g.first_seeds.iter().skip(1).map(u64::to_string).collect();
            if !others.is_empty() {
                let more = g.seeds.saturating_sub(g.first_seeds.len());
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                writeln!(f, "            also seeds {}{more}", others.join(", "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(failing: &[u64]) -> Vec<Run> {
        (0..5).map(|seed| Run { seed, wall_seconds: 0.1, failed: failing.contains(&seed) }).collect()
    }

    #[test]
    fn the_median_time_to_failure_counts_from_every_starting_seed() {
        // Seeds 0..5, 100 ms each, seed 2 and seed 4 fail: from seeds 0..=4 the times are
        // 300, 200, 100, 200, 100 ms; the median is 200 ms.
        let median = median_time_to_failure(&runs(&[2, 4])).unwrap();
        assert!((median - 0.2).abs() < 1e-9, "{median}");
        assert_eq!(median_time_to_failure(&runs(&[])), None);
        let first = first_failure(&runs(&[2, 4])).unwrap();
        assert!((first - 0.3).abs() < 1e-9, "{first}");
    }
}
