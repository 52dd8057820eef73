//! The `faultline` command: a thin dispatcher to the subcommands in `faultline::cli`.

use clap::{Parser, Subcommand};
use faultline::cli;

/// Deterministic simulation testing for distributed protocols.
#[derive(Parser)]
#[command(name = "faultline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check recorded histories for linearizability against a model.
    Check(cli::check::Args),
}

fn main() {
    // Usage errors exit with code 2 (clap's default), like every other error.
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => cli::check::run(&args),
    };
    std::process::exit(code);
}
