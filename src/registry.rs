//! The systems faultline knows by name, and their planted bugs.

use faultline_sim::system::System;

/// A system as the command line sees it.
pub struct SystemEntry {
    pub name: &'static str,
    pub description: &'static str,
    pub bugs: &'static [&'static str],
    /// The checkers' model of its client histories.
    pub model: &'static str,
    /// Its nodes by kind for a configuration (`System::layout`): schedules, specs and real mode
    /// follow it.
    pub layout: faultline_sim::layout::LayoutOf,
    /// Runs one simulated run (simulation builds only).
    #[cfg(madsim)]
    pub run: fn(&faultline_sim::harness::RunSpec) -> Result<faultline_sim::report::RunReport, String>,
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
        bugs: S::BUGS,
        model: S::MODEL,
        layout: S::layout,
        #[cfg(madsim)]
        run: faultline_sim::harness::run::<S>,
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
];

/// Looks a system up by name; the error lists the known ones.
pub fn find(name: &str) -> Result<&'static SystemEntry, String> {
    SYSTEMS.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<&str> = SYSTEMS.iter().map(|s| s.name).collect();
        format!("unknown system `{name}` (known: {})", known.join(", "))
    })
}

/// Checks that `bug` is one of the system's planted bugs.
pub fn check_bug(system: &SystemEntry, bug: Option<&str>) -> Result<(), String> {
    match bug {
        Some(b) if !system.bugs.contains(&b) => {
            Err(format!("unknown bug `{b}` for {} (known: {})", system.name, system.bugs.join(", ")))
        }
        _ => Ok(()),
    }
}
