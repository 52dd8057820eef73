//! `faultline real`: the same protocol code as processes on 127.0.0.1, over TCP and real files.
//!
//! Needs the real-mode build (without `--cfg madsim`):
//!
//! ```sh
//! RUSTFLAGS= cargo run --release --target-dir target/real -- real raft --nodes 3 --ops 500
//! ```
//!
//! Starts the nodes (`faultline real-node`, one process each), runs the workload over TCP,
//! kills one node halfway and restarts it, checks the history, stops the cluster. Exit 0 only
//! if every check held.

use super::usage_error;
use crate::registry;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct RealArgs {
    /// The system to run (see `faultline systems`).
    pub system: String,
    /// Servers (the system's layout may add processes of other kinds, one per client, say).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub nodes: u32,
    /// Client operations in total.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub ops: u32,
    /// Concurrent clients.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub clients: u32,
    /// Node i listens on 127.0.0.1:(port + i).
    #[arg(long, default_value_t = 17400)]
    pub port: u16,
    /// Data directory for the nodes (must be empty or new); a temporary one by default.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Seeds the workload and picks the node that is killed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run with this planted bug.
    #[arg(long)]
    pub bug: Option<String>,
}

/// A node process, started by `faultline real`.
#[derive(clap::Args, Debug)]
pub struct RealNodeArgs {
    pub system: String,
    #[arg(long)]
    pub id: u32,
    #[arg(long)]
    pub nodes: u32,
    /// The workload's clients (the system's layout may have a node per client).
    #[arg(long, default_value_t = 3)]
    pub clients: u32,
    #[arg(long)]
    pub port: u16,
    #[arg(long)]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub bug: Option<String>,
    /// The node's first start: an empty `--dir` is a new node, not a lost disk. Without it, a
    /// node that finds its data directory empty knows its disk was lost and acts accordingly.
    #[arg(long)]
    pub bootstrap: bool,
}

pub fn run(mut args: RealArgs) -> i32 {
    let found = registry::find(&args.system).and_then(|s| Ok((s, s.canonical_bug(args.bug.as_deref())?)));
    let system = match found {
        Ok((s, bug)) => {
            args.bug = bug;
            s
        }
        Err(e) => return usage_error(e),
    };
    if u32::from(args.port) + args.nodes > u32::from(u16::MAX) {
        return usage_error(format!("--port {} leaves no room for {} nodes", args.port, args.nodes));
    }
    imp::run(system, &args)
}

pub fn run_node(args: RealNodeArgs) -> i32 {
    match registry::find(&args.system) {
        Ok(system) => imp::run_node(system, &args),
        Err(e) => usage_error(e),
    }
}

#[cfg(madsim)]
mod imp {
    use super::*;

    const REBUILD: &str = "real mode needs the real-mode build: RUSTFLAGS= cargo run --release --target-dir target/real -- real ...";

    pub fn run(_system: &registry::SystemEntry, _args: &RealArgs) -> i32 {
        usage_error(REBUILD)
    }

    pub fn run_node(_system: &registry::SystemEntry, _args: &RealNodeArgs) -> i32 {
        usage_error(REBUILD)
    }
}

#[cfg(not(madsim))]
mod imp {
    use super::*;
    use crate::cli::{EXIT_FAILURE_FOUND, EXIT_OK};
    use faultline_sim::real::{ClusterArgs, NodeArgs};

    pub fn run(system: &registry::SystemEntry, args: &RealArgs) -> i32 {
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return usage_error(format!("cannot find this executable to start nodes: {e}")),
        };
        let cluster = ClusterArgs {
            system: args.system.clone(),
            exe,
            nodes: args.nodes,
            clients: args.clients,
            ops: args.ops,
            base_port: args.port,
            dir: args.dir.clone(),
            seed: args.seed,
            bug: args.bug.clone(),
        };
        let report = match (system.real)(&cluster) {
            Ok(r) => r,
            Err(e) => return usage_error(e),
        };
        let [ok, fail, info] = report.counts;
        println!(
            "{} recorded operations: {ok} ok, {fail} fail, {info} info; n{} was killed and restarted",
            ok + fail + info,
            report.victim
        );
        for c in &report.checks {
            println!("  check {:<24} {}", c.name, c.verdict);
        }
        if report.passed() {
            EXIT_OK
        } else {
            EXIT_FAILURE_FOUND
        }
    }

    pub fn run_node(system: &registry::SystemEntry, args: &RealNodeArgs) -> i32 {
        let node = NodeArgs {
            id: args.id,
            nodes: args.nodes,
            clients: args.clients,
            base_port: args.port,
            dir: args.dir.clone(),
            seed: args.seed,
            bug: args.bug.clone(),
            bootstrap: args.bootstrap,
        };
        match (system.real_node)(&node) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("node {}: {e}", args.id);
                EXIT_FAILURE_FOUND
            }
        }
    }
}
