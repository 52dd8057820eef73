//! `faultline replay`: run one seed again, with its options, its fault schedule and a log.
//!
//! Prints the run's options and schedule, then a `tracing` log stamped with simulated time and
//! the node it happened on (level from `RUST_LOG`, `info` by default), then the verdicts, and
//! as its last line `trace-hash: <hex>`: the same seed gives the same hash, always.

use super::usage_error;
use crate::registry;
use faultline_sim::options::Preset;

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The system to run (see `faultline systems`).
    pub system: String,
    /// The seed to replay.
    #[arg(long)]
    pub seed: u64,
    /// Fault profile: nofault, lite or swarm.
    #[arg(long, default_value = "swarm")]
    pub preset: Preset,
    /// Run with this planted bug.
    #[arg(long)]
    pub bug: Option<String>,
}

pub fn run(args: ReplayArgs) -> i32 {
    let system = match registry::find(&args.system) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    if let Err(e) = registry::check_bug(system, args.bug.as_deref()) {
        return usage_error(e);
    }
    imp::replay(system, &args)
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
    use crate::cli::{EXIT_FAILURE_FOUND, EXIT_OK};
    use faultline_sim::harness::RunSpec;
    use std::io::IsTerminal;
    use tracing::{Event, Subscriber};
    use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
    use tracing_subscriber::fmt::{FmtContext, FormattedFields};
    use tracing_subscriber::registry::LookupSpan;
    use tracing_subscriber::EnvFilter;

    pub fn replay(system: &registry::SystemEntry, args: &ReplayArgs) -> i32 {
        let spec = RunSpec::from_preset(args.seed, args.preset, args.bug.clone());
        let bug = args.bug.as_ref().map(|b| format!(" --bug {b}")).unwrap_or_default();
        println!("faultline replay {} --seed {} --preset {}{bug}", system.name, args.seed, args.preset);
        println!("options (hash {:016x}):\n{}", spec.options.hash(), spec.options);
        println!("fault schedule ({} events):\n{}", spec.schedule.len(), spec.schedule);
        init_log();
        let report = (system.run)(&spec).expect("arguments were validated");
        println!("{report}");
        println!("trace-hash: {:016x}", report.trace_hash);
        if report.passed() {
            EXIT_OK
        } else {
            EXIT_FAILURE_FOUND
        }
    }

    /// Logs to stdout, each line stamped with simulated time and the node it happened on.
    fn init_log() {
        // madsim warns that std's HashMap seeds cannot be reset on a reused thread; faultline
        // never iterates a std HashMap, and determinism is tested, so that warning is noise here.
        let filter =
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,madsim=error"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stdout().is_terminal())
            .event_format(SimFormat)
            .with_writer(std::io::stdout)
            .try_init();
    }

    /// `  1.234567s  INFO n2    message`: simulated seconds since the run started, the level, the
    /// node (from madsim's `node` span) or `-` for the supervisor, then the event's fields.
    struct SimFormat;

    impl<S, N> FormatEvent<S, N> for SimFormat
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        fn format_event(
            &self,
            ctx: &FmtContext<'_, S, N>,
            mut w: Writer<'_>,
            event: &Event<'_>,
        ) -> std::fmt::Result {
            match madsim::time::TimeHandle::try_current() {
                Some(t) => write!(w, "{:>11.6}s ", t.elapsed().as_secs_f64())?,
                None => write!(w, "{:>12} ", "-")?,
            }
            let node = ctx
                .event_scope()
                .and_then(|scope| scope.from_root().find(|span| span.name() == "node"))
                .and_then(|span| span.extensions().get::<FormattedFields<N>>().and_then(|f| node_name(f)))
                .unwrap_or_else(|| "-".to_string());
            write!(w, "{:>5} {node:<4} ", event.metadata().level())?;
            ctx.field_format().format_fields(w.by_ref(), event)?;
            writeln!(w)
        }
    }

    /// The `name="n2"` field of madsim's node span.
    fn node_name(fields: &str) -> Option<String> {
        let rest = &fields[fields.find("name=")? + 5..];
        Some(rest.split_whitespace().next()?.trim_matches('"').to_string())
    }
}
