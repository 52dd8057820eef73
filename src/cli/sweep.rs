//! `faultline sweep`: run many seeds of a system, in parallel, and summarise.
//!
//! Seeds are independent runs, so a sweep is embarrassingly parallel: `--jobs` uses local cores
//! and `--shard I/N` (or `--shard auto`, the index read from a Kubernetes Indexed Job or a CI
//! matrix) takes every N-th seed, so that N machines share one sweep. `--duration` makes a sweep
//! time-boxed: it takes new seeds until the time is up. The summary says how many seeds ran and
//! failed (by class and by signature), which faults fired and how often (and which never did),
//! and how fast simulated time went; every failing seed gets a reproduce line.
//!
//! With `--out DIR`, every seed's record is appended to `DIR/records*.jsonl` as soon as the seed
//! finishes (see [`super::record`]), and `faultline merge` brings the shards' records together.

use super::record::{shard_suffix, RecordWriter};
use super::shard::{self, ShardArg};
use super::{usage_error, Shard};
use crate::registry;
use faultline_sim::options::Preset;
use std::path::PathBuf;
use std::time::Duration;

/// Seeds a sweep runs when neither `--seeds` nor `--duration` says.
const SEEDS_DEFAULT: u64 = 100;

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The system to sweep (see `faultline systems`).
    pub system: String,
    /// How many seeds to run [default: 100; with --duration, as many as the time allows].
    #[arg(long)]
    pub seeds: Option<u64>,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub start_seed: u64,
    /// Seeds run in parallel.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: u32,
    /// Fault profile: nofault, lite or swarm.
    #[arg(long, default_value = "swarm")]
    pub preset: Preset,
    /// Run with this planted bug (see `faultline systems`).
    #[arg(long)]
    pub bug: Option<String>,
    /// Run only the I-th of N interleaved slices of the seeds, e.g. `--shard 3/16`; `auto`
    /// reads I from the environment (FAULTLINE_SHARD_INDEX, 1 to N; a Kubernetes Indexed Job's
    /// JOB_COMPLETION_INDEX; GitLab, CircleCI, Buildkite or AWS Batch parallel jobs).
    #[arg(long)]
    pub shard: Option<ShardArg>,
    /// With `--shard auto`: the number of shards N.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub shards: Option<u64>,
    /// Take new seeds only until this much wall time has passed (e.g. 1h, 30m, 90s), then
    /// summarise; without --seeds the sweep is open-ended.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Append every seed's record to DIR/records*.jsonl as it finishes, and write the failing
    /// seeds' reproduce lines and a JSON summary there.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}): try 1h, 30m or 90s"))?;
    if d.is_zero() {
        return Err("a duration must be longer than zero".to_string());
    }
    Ok(d)
}

/// The seeds one process runs: positions `0..limit` of the sweep starting at `start`, every one
/// or only those of its shard, in order.
#[derive(Copy, Clone, Debug)]
pub struct SeedPlan {
    start: u64,
    limit: u64,
    shard: Option<Shard>,
}

impl SeedPlan {
    /// The `k`-th seed of this process, if the plan has one.
    pub fn get(&self, k: u64) -> Option<u64> {
        let position = match self.shard {
            Some(s) => k.checked_mul(s.count)?.checked_add(s.index - 1)?,
            None => k,
        };
        (position < self.limit).then(|| self.start + position)
    }

    /// How many seeds the plan has.
    pub fn len(&self) -> u64 {
        match self.shard {
            Some(s) if self.limit >= s.index => (self.limit - s.index) / s.count + 1,
            Some(_) => 0,
            None => self.limit,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A validated sweep: what the command line said, resolved.
pub struct Sweep {
    pub args: SweepArgs,
    pub system: &'static registry::SystemEntry,
    pub shard: Option<Shard>,
    pub plan: SeedPlan,
}

impl SweepArgs {
    /// How many seeds the whole sweep (all shards) has: `--seeds`, else as many as there are
    /// after `--start-seed` when `--duration` bounds it, else the default.
    fn positions(&self) -> Result<u64, String> {
        let after_start = u64::MAX - self.start_seed;
        match (self.seeds, self.duration) {
            (Some(n), _) if n > after_start => {
                Err(format!("--start-seed {} plus --seeds {n} overflows u64", self.start_seed))
            }
            (Some(n), _) => Ok(n),
            (None, Some(_)) => Ok(after_start),
            (None, None) => Ok(SEEDS_DEFAULT.min(after_start)),
        }
    }

    fn validate(mut self) -> Result<Sweep, String> {
        let system = registry::find(&self.system)?;
        // Records, summaries and reproduce lines name the bug by its canonical name, whichever
        // spelling was given, so that shards started with either merge as one sweep.
        self.bug = system.canonical_bug(self.bug.as_deref())?;
        let shard = shard::resolve(self.shard, self.shards, |name| std::env::var(name).ok())?;
        let limit = self.positions()?;
        if let Some(out) = &self.out {
            if out.exists() && !out.is_dir() {
                return Err(format!("--out {} exists and is not a directory", out.display()));
            }
        }
        let plan = SeedPlan { start: self.start_seed, limit, shard };
        Ok(Sweep { args: self, system, shard, plan })
    }
}

pub fn run(args: SweepArgs) -> i32 {
    match args.validate() {
        Ok(sweep) => imp::sweep(&sweep),
        Err(e) => usage_error(e),
    }
}

impl Sweep {
    /// The suffix of the files this sweep writes into `--out`.
    pub fn file_suffix(&self) -> String {
        shard_suffix(self.shard)
    }

    /// Opens the records file before any seed runs, so that a folder that cannot be written is
    /// a usage error, not a sweep whose results are lost.
    pub fn open_records(&self) -> Result<Option<RecordWriter>, String> {
        let Some(dir) = &self.args.out else { return Ok(None) };
        RecordWriter::open(dir, self.shard)
            .map(Some)
            .map_err(|e| format!("cannot write to {}: {e}", dir.display()))
    }
}

#[cfg(not(madsim))]
mod imp {
    use super::*;

    pub fn sweep(_sweep: &Sweep) -> i32 {
        usage_error("this is a real-mode build, which has no simulator: build without RUSTFLAGS= to sweep")
    }
}

#[cfg(madsim)]
mod imp {
    use super::*;
    use crate::cli::record::{Identity, SeedRecord};
    use crate::cli::summary::{Origin, Summary, Tally};
    use crate::cli::{EXIT_FAILURE_FOUND, EXIT_OK};
    use faultline_sim::harness::RunSpec;
    use indicatif::{ProgressBar, ProgressStyle};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::mpsc;
    use std::time::Instant;

    pub fn sweep(sweep: &Sweep) -> i32 {
        let mut records = match sweep.open_records() {
            Ok(r) => r,
            Err(e) => return usage_error(e),
        };
        // A node's panic is a finding the summary reports with its reproduce line; the default
        // hook would print every one (with a backtrace) over the progress bar.
        std::panic::set_hook(Box::new(|_| {}));
        let open_ended = sweep.args.seeds.is_none() && sweep.args.duration.is_some();
        let progress = progress_bar((!open_ended).then(|| sweep.plan.len()));
        #[allow(clippy::disallowed_methods)] // wall time is what this figure measures
        let started = Instant::now();
        let outcome = run_parallel(sweep, started, &progress, records.as_mut());
        progress.finish_and_clear();
        let (tally, out_of_time) = match outcome {
            Ok(done) => done,
            Err(e) => return usage_error(e),
        };
        let origin =
            Origin::Sweep { jobs: sweep.args.jobs, wall: started.elapsed(), shard: sweep.shard, out_of_time };
        let summary = Summary::new(tally, origin);
        print!("{summary}");
        if let Some(out) = &sweep.args.out {
            if let Err(e) = summary.write(out, &sweep.file_suffix()) {
                return usage_error(format!("cannot write to {}: {e}", out.display()));
            }
        }
        if summary.failures() > 0 {
            EXIT_FAILURE_FOUND
        } else {
            EXIT_OK
        }
    }

    fn progress_bar(len: Option<u64>) -> ProgressBar {
        let (bar, template) = match len {
            Some(len) => {
                (ProgressBar::new(len), "{bar:40} {pos}/{len} seeds, {msg} [{elapsed_precise}, eta {eta}]")
            }
            None => (ProgressBar::new_spinner(), "{spinner} {pos} seeds, {msg} [{elapsed_precise}]"),
        };
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        bar
    }

    /// Runs the plan's seeds on `--jobs` threads until the plan or the time runs out; records
    /// are written and tallied as seeds finish. Returns the tally and whether time ran out.
    fn run_parallel(
        sweep: &Sweep,
        started: Instant,
        progress: &ProgressBar,
        mut records: Option<&mut RecordWriter>,
    ) -> Result<(Tally, bool), String> {
        let deadline = sweep.args.duration.map(|d| started + d);
        let (next, stop, out_of_time) = (AtomicU64::new(0), AtomicBool::new(false), AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let args = &sweep.args;
        let mut tally =
            Tally::expecting(Identity::of_this_build(&args.system, args.preset.name(), args.bug.as_deref()));
        let mut error = None;
        std::thread::scope(|scope| {
            for _ in 0..sweep.args.jobs {
                let (tx, next, stop, out_of_time) = (tx.clone(), &next, &stop, &out_of_time);
                // Each worker owns its runtimes: madsim runs one simulation per thread.
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        #[allow(clippy::disallowed_methods)] // --duration is wall time
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            out_of_time.store(true, Ordering::Relaxed);
                            return;
                        }
                        let Some(seed) = sweep.plan.get(next.fetch_add(1, Ordering::Relaxed)) else { return };
                        if tx.send(run_seed(sweep, seed)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            for record in rx {
                if let Some(w) = records.as_deref_mut() {
                    if let Err(e) = w.write(&record) {
                        error.get_or_insert(format!("cannot write to {}: {e}", w.path().display()));
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                tally.add(record);
                progress.set_message(format!("{} failed", tally.failures()));
                progress.inc(1);
            }
        });
        match error {
            Some(e) => Err(e),
            None => Ok((tally, out_of_time.load(Ordering::Relaxed))),
        }
    }

    fn run_seed(sweep: &Sweep, seed: u64) -> SeedRecord {
        let args = &sweep.args;
        let spec = RunSpec::from_preset(seed, args.preset, args.bug.clone(), sweep.system.layout);
        #[allow(clippy::disallowed_methods)] // wall time per seed, for the speed figures
        let started = Instant::now();
        let report = (sweep.system.run)(&spec).expect("arguments were validated before the sweep");
        SeedRecord::new(&report, args.preset.name(), args.bug.as_deref(), started.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_walks_its_shard_and_stops_at_the_limit() {
        let plan = SeedPlan { start: 100, limit: 10, shard: Some(Shard { index: 2, count: 4 }) };
        let seeds: Vec<u64> = (0..).map_while(|k| plan.get(k)).collect();
        assert_eq!(seeds, [101, 105, 109]);
        assert_eq!(plan.len(), 3);
        let whole = SeedPlan { start: 0, limit: 7, shard: None };
        assert_eq!((0..).map_while(|k| whole.get(k)).count() as u64, whole.len());
        let empty = SeedPlan { start: 0, limit: 2, shard: Some(Shard { index: 3, count: 4 }) };
        assert!(empty.is_empty() && empty.get(0).is_none());
        let open = SeedPlan { start: u64::MAX - 5, limit: 5, shard: Some(Shard { index: 5, count: 5 }) };
        assert_eq!(open.get(0), Some(u64::MAX - 1));
        assert_eq!(open.get(1), None);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("an hour").unwrap_err().contains("try 1h"));
    }
}
