//! The `faultline` command. See `faultline --help`.

use clap::{Parser, Subcommand};

/// Simulation allocates small objects at a high rate (frames, messages, log entries); mimalloc
/// is markedly faster at that than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use faultline::cli::{self, check, merge, real, replay, sweep, systems};

/// Deterministic simulation testing for distributed protocols.
#[derive(Parser, Debug)]
#[command(name = "faultline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the built-in systems and their planted bugs.
    Systems(systems::SystemsArgs),
    /// Check recorded histories (JSON lines, Jepsen EDN, Porcupine logs) against a model.
    Check(check::Args),
    /// Run many seeds of a system under faults and summarise.
    Sweep(sweep::SweepArgs),
    /// Merge the per-seed records of many sweeps' shards (`sweep --out`) into one summary.
    Merge(merge::MergeArgs),
    /// Run one seed again with its options, fault schedule and a log.
    Replay(replay::ReplayArgs),
    /// Run a system for real: node processes on 127.0.0.1 over TCP, a workload, a kill and a
    /// restart, and the checks (real-mode build only).
    Real(real::RealArgs),
    /// One node process of `faultline real` (started by it).
    #[command(hide = true)]
    RealNode(real::RealNodeArgs),
}

fn main() {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line naming the problem; the full usage is one `--help` away.
            let text = e.render().to_string();
            let head: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
            std::process::exit(cli::usage_error(head.join(" ").trim_start_matches("error: ")));
        }
    };
    let code = match cli.command {
        Command::Systems(args) => systems::run(args),
        Command::Check(args) => check::run(&args),
        Command::Sweep(args) => sweep::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Real(args) => real::run(args),
        Command::RealNode(args) => real::run_node(args),
    };
    std::process::exit(code);
}

/// Rust ignores SIGPIPE, so `faultline replay ... | head` would panic on a closed pipe; restore
/// the default so the process just ends, as command-line tools do.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal disposition to its default at startup, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
