//! The systems faultline knows by name, and their planted bugs.

use faultline_sim::bugs::{self, Bug};
use faultline_sim::system::System;

/// One planted bug as the command line shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BugInfo {
    /// The canonical, kebab-case name.
    pub name: &'static str,
    /// The variant name, accepted as an alias.
    pub variant: &'static str,
    pub description: &'static str,
}

/// A system as the command line sees it.
pub struct SystemEntry {
    pub name: &'static str,
    pub description: &'static str,
    /// The planted bugs, in declaration order.
    pub bugs: fn() -> Vec<BugInfo>,
    /// The system's own events, as its sweep summary counts them.
    pub events: &'static [&'static str],
    /// The coverage points its nodes declare.
    pub coverage: &'static [&'static str],
    /// The canonical name of a bug given by either spelling.
    canonical: fn(&str, &str) -> Result<&'static str, String>,
    /// The checkers' model of its client histories.
    pub model: &'static str,
    /// Its nodes by kind for a configuration (`System::layout`): schedules, specs and real mode
    /// follow it.
    pub layout: faultline_sim::layout::LayoutOf,
    /// Runs one simulated run (simulation builds only).
    #[cfg(madsim)]
    pub run: fn(&faultline_sim::harness::RunSpec) -> Result<faultline_sim::report::RunReport, String>,
    /// The shared fuzz body for this system (simulation builds only).
    #[cfg(madsim)]
    pub fuzz: fn(&[u8]),
    /// Runs the real-mode cluster scenario (real-mode builds only).
    #[cfg(not(madsim))]
    pub real: fn(&faultline_sim::real::ClusterArgs) -> Result<faultline_sim::real::ClusterReport, String>,
    /// Runs one real-mode node process.
    #[cfg(not(madsim))]
    pub real_node: fn(&faultline_sim::real::NodeArgs) -> Result<(), String>,
}

const fn entry<S: System>(description: &'static str) -> SystemEntry {
    SystemEntry {
        name: S::NAME,
        description,
        bugs: bug_infos::<S::Bug>,
        events: S::EVENTS,
        coverage: S::COVERAGE,
        canonical: canonical::<S::Bug>,
        model: S::MODEL,
        layout: S::layout,
        #[cfg(madsim)]
        run: faultline_sim::harness::run::<S>,
        #[cfg(madsim)]
        fuzz: faultline_sim::fuzzing::run_bytes::<S>,
        #[cfg(not(madsim))]
        real: faultline_sim::real::run_cluster::<S>,
        #[cfg(not(madsim))]
        real_node: faultline_sim::real::run_node::<S>,
    }
}

/// Every built-in system.
pub const SYSTEMS: &[SystemEntry] = &[
    entry::<faultline_counter::Counter>(
        "a distributed counter: fixed primary, majority-acknowledged log, exactly-once increments",
    ),
    entry::<faultline_raft::RaftSystem>(
        "Raft: a replicated key-value store (pre-vote, ReadIndex, snapshots, membership, sessions)",
    ),
    entry::<faultline_zab::ZabSystem>(
        "Zab: a ZooKeeper-style coordination service (znodes, sessions, ephemeral and sequential nodes)",
    ),
    entry::<faultline_paxos::PaxosSystem>(
        "Multi-Paxos: a replicated key-value store (stable leader, quorum reads, snapshots, lost-disk rebuild)",
    ),
    entry::<faultline_sharded::ShardedSystem>(
        "a sharded key-value store: Raft groups on a consistent-hashing ring, live migration",
    ),
    entry::<faultline_twopc::TwoPcSystem>(
        "two-phase commit over a sharded bank: presumed abort, strict 2PL with wait-die, cooperative termination",
    ),
];

/// Looks a system up by name; the error lists the known ones.
pub fn find(name: &str) -> Result<&'static SystemEntry, String> {
    SYSTEMS.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<&str> = SYSTEMS.iter().map(|s| s.name).collect();
        format!("unknown system `{name}` (known: {})", known.join(", "))
    })
}

impl SystemEntry {
    /// The canonical name of `bug` (given by its kebab-case or its variant name), or an error
    /// listing the system's bugs.
    pub fn canonical_bug(&self, bug: Option<&str>) -> Result<Option<String>, String> {
        bug.map(|b| (self.canonical)(self.name, b).map(str::to_string)).transpose()
    }
}

fn bug_infos<B: Bug>() -> Vec<BugInfo> {
    B::ALL
        .iter()
        .map(|b| BugInfo { name: b.name(), variant: b.variant(), description: b.description() })
        .collect()
}

fn canonical<B: Bug>(system: &str, name: &str) -> Result<&'static str, String> {
    bugs::parse::<B>(system, name).map(B::name)
}
