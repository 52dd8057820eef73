//! `faultline replay`: run one seed (or a saved run spec) again, with its log; or shrink it.
//!
//! Prints the run's options and schedule, then a `tracing` log stamped with simulated time and
//! the node it happened on (level from `RUST_LOG`, `info` by default), then the verdicts, and
//! as its last line `trace-hash: <hex>`: the same seed gives the same hash, always.
//!
//! With `--shrink`, a failing run is reduced to a smaller one that fails the same way (fewer
//! fault events, clients and operations, a shorter run, fewer fault rates); the result is saved
//! as a run spec and printed with the line that replays it.
//!
//! With `--html FILE`, the run's client history is written as a self-contained timeline page:
//! the operations checked against the system's model (a linearizability violation is marked),
//! and the fault schedule drawn over them as bands and lines.

use super::usage_error;
use crate::registry;
use faultline_sim::options::Preset;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The system to run (see `faultline systems`).
    pub system: String,
    /// The seed to replay.
    #[arg(long, required_unless_present = "spec", conflicts_with = "spec")]
    pub seed: Option<u64>,
    /// Fault profile: nofault, lite or swarm.
    #[arg(long, default_value = "swarm")]
    pub preset: Preset,
    /// Run with this planted bug.
    #[arg(long, conflicts_with = "spec")]
    pub bug: Option<String>,
    /// Replay a saved run spec (JSON, as `--shrink` writes) instead of a seed.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Shrink a failing run to a smaller one that fails the same way.
    #[arg(long)]
    pub shrink: bool,
    /// Runs the shrinker may spend.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub shrink_budget: u32,
    /// Where `--shrink` writes the shrunk run spec.
    #[arg(long, default_value = "faultline-out")]
    pub out: PathBuf,
    /// Write the run's timeline (history, violation, faults) to this HTML file (with
    /// `--shrink`: the shrunk run's).
    #[arg(long)]
    pub html: Option<PathBuf>,
}

pub fn run(mut args: ReplayArgs) -> i32 {
    let system = match registry::find(&args.system) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    match system.canonical_bug(args.bug.as_deref()) {
        Ok(bug) => args.bug = bug,
        Err(e) => return usage_error(e),
    }
    if let Some(Err(e)) = args.html.as_deref().map(check_html_path) {
        return usage_error(e);
    }
    imp::replay(system, &args)
}

/// Refuses, before anything runs, a page path whose folder does not exist or that names a
/// folder.
fn check_html_path(path: &std::path::Path) -> Result<(), String> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    if !folder.is_dir() {
        return Err(format!("--html {}: no folder {}", path.display(), folder.display()));
    }
    if path.is_dir() {
        return Err(format!("--html {}: is a folder", path.display()));
    }
    Ok(())
}

#[cfg(not(madsim))]
mod imp {
    use super::*;

    pub fn replay(_system: &registry::SystemEntry, _args: &ReplayArgs) -> i32 {
        usage_error("this is a real-mode build, which has no simulator: build without RUSTFLAGS= to replay")
    }
}

#[cfg(madsim)]
mod imp {
    use super::*;
    use crate::cli::simlog::init_log;
    use crate::cli::{EXIT_FAILURE_FOUND, EXIT_OK};
    use faultline_sim::report::RunReport;
    use faultline_sim::shrink::{shrink, Signature};
    use faultline_sim::spec::RunSpec;

    pub fn replay(system: &registry::SystemEntry, args: &ReplayArgs) -> i32 {
        let (mut spec, line) = match load(system, args) {
            Ok(x) => x,
            Err(e) => return usage_error(e),
        };
        match system.canonical_bug(spec.bug.as_deref()) {
            Ok(bug) => spec.bug = bug,
            Err(e) => return usage_error(e),
        }
        println!("{line}");
        println!("options (hash {:016x}):\n{}", spec.options.hash(), spec.options);
        println!("fault schedule ({} events):\n{}", spec.schedule.len(), spec.schedule);
        // A node's panic is part of the report; print where it happened, once, in one line.
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            eprintln!("panic{at}: {}", faultline_sim::shell::panic_message(info.payload()));
        }));
        if args.shrink {
            return shrink_run(system, args, spec);
        }
        init_log();
        let report = (system.run)(&spec).expect("the spec was validated");
        finish(system, args, &report)
    }

    /// The spec to run and the command line that names it.
    fn load(system: &registry::SystemEntry, args: &ReplayArgs) -> Result<(RunSpec, String), String> {
        if let Some(path) = &args.spec {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let spec =
                RunSpec::from_json(&text, system.layout).map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok((spec, format!("faultline replay {} --spec {}", system.name, path.display())));
        }
        let seed = args.seed.expect("clap requires --seed without --spec");
        let spec = RunSpec::from_preset(seed, args.preset, args.bug.clone(), system.layout);
        let bug = args.bug.as_ref().map(|b| format!(" --bug {b}")).unwrap_or_default();
        Ok((spec, format!("faultline replay {} --seed {seed} --preset {}{bug}", system.name, args.preset)))
    }

    fn finish(system: &registry::SystemEntry, args: &ReplayArgs, report: &RunReport) -> i32 {
        println!("{report}");
        if let Some(path) = &args.html {
            match write_timeline(path, report, system) {
                Ok(()) => println!("timeline: {}", path.display()),
                Err(e) => return usage_error(e),
            }
        }
        println!("trace-hash: {:016x}", report.trace_hash);
        if report.passed() {
            EXIT_OK
        } else {
            EXIT_FAILURE_FOUND
        }
    }

    fn shrink_run(system: &registry::SystemEntry, args: &ReplayArgs, spec: RunSpec) -> i32 {
        let report = (system.run)(&spec).expect("the spec was validated");
        println!("{report}");
        if report.passed() {
            println!("the run passed: nothing to shrink");
            return EXIT_OK;
        }
        let (events, ops, clients) =
            (spec.schedule.len(), spec.options.workload.ops_per_client, spec.options.clients);
        let run = |s: &RunSpec| (system.run)(s).expect("candidates are validated");
        let shrunk = shrink(spec, report, args.shrink_budget, system.layout, run);
        let s = &shrunk.spec;
        println!(
            "shrunk in {} runs: {events} -> {} fault events, {clients} -> {} clients, {ops} -> {} operations per client, {} ms safety phase",
            shrunk.runs,
            s.schedule.len(),
            s.options.clients,
            s.options.workload.ops_per_client,
            s.options.safety_ms
        );
        println!("edits kept: {}", summarize(&shrunk.kept));
        println!("minimal fault schedule:\n{}", s.schedule);
        let path = args.out.join(format!("{}-seed{}-shrunk.json", system.name, s.seed));
        if let Err(e) =
            std::fs::create_dir_all(&args.out).and_then(|_| std::fs::write(&path, s.to_json() + "\n"))
        {
            return usage_error(format!("cannot write {}: {e}", path.display()));
        }
        let again = (system.run)(s).expect("the spec was validated");
        assert_eq!(
            (Signature::of(&again), again.trace_hash),
            (Signature::of(&shrunk.report), shrunk.report.trace_hash),
            "the shrunk run did not reproduce"
        );
        println!("reproduce: faultline replay {} --spec {}", system.name, path.display());
        finish(system, args, &again)
    }

    /// Checks the run's history against `model` (keeping the linearization to draw) and writes
    /// the page with the schedule's faults on it, through a temporary file so that a failed
    /// write leaves no partial page.
    fn write_timeline(
        path: &std::path::Path,
        report: &RunReport,
        system: &registry::SystemEntry,
    ) -> Result<(), String> {
        use faultline_checkers::explain::html::render;
        let options = faultline_checkers::Options {
            deadline: Some(std::time::Duration::from_secs(60)),
            witness: true,
            ..faultline_checkers::Options::default()
        };
        let checked = faultline_checkers::check_named(system.model, None, &report.history, &options)
            .map_err(|e| format!("the run's history cannot be drawn: {e}"))?;
        let config = faultline_sim::system::SystemConfig {
            nodes: report.options.nodes,
            clients: report.options.clients,
            bug: report.bug.clone(),
            workload: report.options.workload.clone(),
        };
        let layout = (system.layout)(&config);
        let notes = faultline_sim::timeline::annotations(&report.schedule, report.options.safety_ms, &layout);
        let page = render(&report.history, &checked, &notes);
        let tmp = path.with_extension("html.partial");
        std::fs::write(&tmp, page).and_then(|_| std::fs::rename(&tmp, path)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", path.display())
        })
    }

    /// "dropped 1 fault event(s)" x 12, "buggify off" -> counted, in first-seen order.
    fn summarize(kept: &[String]) -> String {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for k in kept {
            match counts.iter_mut().find(|(name, _)| *name == k.as_str()) {
                Some((_, n)) => *n += 1,
                None => counts.push((k, 1)),
            }
        }
        let parts: Vec<String> =
            counts.iter().map(|(k, n)| if *n > 1 { format!("{k} (x{n})") } else { k.to_string() }).collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}
