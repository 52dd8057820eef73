//! `faultline sweep`: run many seeds of a system, in parallel, and summarise.
//!
//! Seeds are independent runs, so a sweep is embarrassingly parallel: `--jobs` uses local cores
//! and `--shard I/N` takes every N-th seed for a CI matrix or a batch scheduler. The summary
//! says how many seeds ran and failed (by class), which faults fired and how often (and which
//! never did), and how fast simulated time went; every failing seed gets a reproduce line.

use super::{usage_error, Shard};
use crate::registry;
use faultline_sim::options::Preset;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The system to sweep (see `faultline systems`).
    pub system: String,
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
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
    /// Run only the I-th of N interleaved slices of the seeds, e.g. `--shard 3/16`.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Write the failing seeds' reproduce lines and a JSON summary to this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl SweepArgs {
    /// The seeds this process runs.
    pub fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds)
            .filter(|p| self.shard.is_none_or(|s| s.owns(*p)))
            .map(|p| self.start_seed.wrapping_add(p))
            .collect()
    }

    fn validate(&self) -> Result<&'static registry::SystemEntry, String> {
        let system = registry::find(&self.system)?;
        registry::check_bug(system, self.bug.as_deref())?;
        if self.start_seed.checked_add(self.seeds).is_none() {
            return Err(format!(
                "--start-seed {} plus --seeds {} overflows u64",
                self.start_seed, self.seeds
            ));
        }
        if let Some(out) = &self.out {
            if out.exists() && !out.is_dir() {
                return Err(format!("--out {} exists and is not a directory", out.display()));
            }
        }
        Ok(system)
    }
}

pub fn run(args: SweepArgs) -> i32 {
    let system = match args.validate() {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    imp::sweep(system, &args)
}

/// The reproduce line of a failing seed.
pub fn reproduce_line(args: &SweepArgs, seed: u64) -> String {
    let bug = args.bug.as_ref().map(|b| format!(" --bug {b}")).unwrap_or_default();
    format!("faultline replay {} --seed {seed} --preset {}{bug}", args.system, args.preset)
}

#[cfg(not(madsim))]
mod imp {
    use super::*;

    pub fn sweep(_system: &registry::SystemEntry, _args: &SweepArgs) -> i32 {
        usage_error("this is a real-mode build, which has no simulator: build without RUSTFLAGS= to sweep")
    }
}

#[cfg(madsim)]
mod imp {
    use super::*;
    use crate::cli::summary::{SeedResult, Summary};
    use crate::cli::{EXIT_FAILURE_FOUND, EXIT_OK};
    use faultline_sim::harness::RunSpec;
    use indicatif::{ProgressBar, ProgressStyle};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Instant;

    pub fn sweep(system: &'static registry::SystemEntry, args: &SweepArgs) -> i32 {
        // A node's panic is a finding the summary reports with its reproduce line; the default
        // hook would print every one (with a backtrace) over the progress bar.
        std::panic::set_hook(Box::new(|_| {}));
        let seeds = args.seed_list();
        let progress = progress_bar(seeds.len() as u64);
        #[allow(clippy::disallowed_methods)] // wall time is what this figure measures
        let started = Instant::now();
        let results = run_parallel(system, args, &seeds, &progress);
        progress.finish_and_clear();
        let summary = Summary::new(args, results, started.elapsed());
        print!("{summary}");
        if let Some(out) = &args.out {
            if let Err(e) = summary.write(out) {
                return usage_error(format!("cannot write to {}: {e}", out.display()));
            }
        }
        if summary.failures() > 0 {
            EXIT_FAILURE_FOUND
        } else {
            EXIT_OK
        }
    }

    fn progress_bar(len: u64) -> ProgressBar {
        let bar = ProgressBar::new(len);
        let style =
            ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg} [{elapsed_precise}, eta {eta}]")
                .expect("valid template");
        bar.set_style(style);
        bar
    }

    /// Runs every seed on `args.jobs` threads; results come back sorted by seed.
    fn run_parallel(
        system: &'static registry::SystemEntry,
        args: &SweepArgs,
        seeds: &[u64],
        progress: &ProgressBar,
    ) -> Vec<SeedResult> {
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel();
        let mut results = Vec::with_capacity(seeds.len());
        std::thread::scope(|scope| {
            for _ in 0..args.jobs {
                let (tx, next) = (tx.clone(), &next);
                // Each worker owns its runtimes: madsim runs one simulation per thread.
                scope.spawn(move || {
                    while let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if tx.send(run_seed(system, args, seed)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            let mut failed = 0;
            for result in rx {
                failed += usize::from(result.failure.is_some());
                progress.set_message(format!("{failed} failed"));
                progress.inc(1);
                results.push(result);
            }
        });
        results.sort_by_key(|r| r.seed);
        results
    }

    fn run_seed(system: &registry::SystemEntry, args: &SweepArgs, seed: u64) -> SeedResult {
        let spec = RunSpec::from_preset(seed, args.preset, args.bug.clone(), system.layout);
        #[allow(clippy::disallowed_methods)] // wall time per seed, for the speed figures
        let started = Instant::now();
        let report = (system.run)(&spec).expect("arguments were validated before the sweep");
        SeedResult::new(&report, started.elapsed())
    }
}
