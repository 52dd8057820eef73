//! Conformance in one call: what every system must show before it is called done, as one macro
//! that writes the tests.
//!
//! ```text
//! faultline_sim::conformance_tests! {
//!     system: faultline_raft::RaftSystem,
//!     swarm_seeds: 1000,
//!     determinism_seeds: 20,
//!     pinned_seed: 7,
//!     bugs: { VoteNotPersisted: 500, CommitOldTermByCounting: 1000, ... },
//! }
//! ```
//!
//! writes a `conformance` module of tests:
//! - `swarm_sweep_fires_every_fault_kind`: the swarm preset passes every seed, every fault kind
//!   of [`crate::faults::KINDS`] that the system's layout permits fires, every event the system
//!   declares ([`System::EVENTS`]) happens and every coverage point it declares
//!   ([`System::COVERAGE`]) is reached;
//! - `runs_are_deterministic`: each seed twice (the second time in reverse order, on a thread
//!   that has run others) gives the same trace hash, history and verdict;
//! - `trace_of_the_pinned_seed`: an `insta` snapshot of one seed's whole trace summary;
//! - `bugs_are_declared_well` and one test per planted bug under `bug_found_within_budget`:
//!   the zoo is well formed, every bug has a budget, and each is found within it (its failing
//!   seed failing the same way when run again);
//! - `fuzz_corpus_passes`: the shared fuzz body over the system's checked-in corpus
//!   (`fuzz/corpus/<system>/`).
//!
//! The functions behind the tests are public, so a system can call them with other settings.

use crate::bugs::{self, Bug};
use crate::check::{check, Scenario};
use crate::faults::{possible, KINDS};
use crate::system::{System, SystemConfig, COVERAGE_PREFIX};
use std::path::Path;

/// Sweeps `seeds` swarm seeds: every seed passes, every fault kind the system's layout permits
/// fires (see [`crate::faults::possible`]), every declared event of the system happens and every
/// declared coverage point is reached.
pub fn swarm_sweep<S: System>(seeds: u64) {
    let layout = S::layout(&SystemConfig::new(3));
    let kinds: Vec<&'static str> = KINDS.iter().map(|k| k.counter).filter(|c| possible(c, &layout)).collect();
    let sweep =
        check::<S>(Scenario::new(&format!("{}: swarm", S::NAME))).seeds(seeds).expect_faults(&kinds).run();
    let events = S::EVENTS.iter().map(|e| format!("{}.{e}", S::NAME));
    let points = S::COVERAGE.iter().map(|p| format!("{COVERAGE_PREFIX}{p}"));
    let missing: Vec<String> = events.chain(points).filter(|name| sweep.counters.get(name) == 0).collect();
    assert!(
        missing.is_empty(),
        "{} declares events or coverage points that never happened in {} swarm seeds: {}",
        S::NAME,
        sweep.seeds.len(),
        missing.join(", ")
    );
}

/// Runs `seeds` swarm seeds twice and compares every run (see
/// [`crate::check::Check::assert_deterministic`]), with and without the first planted bug.
pub fn determinism<S: System>(seeds: u64) {
    check::<S>(Scenario::new(&format!("{}: determinism", S::NAME))).seeds(seeds).assert_deterministic();
    if let Some(bug) = S::Bug::ALL.first() {
        let scenario = Scenario::new(&format!("{}: determinism with {bug:?}", S::NAME)).bug(bug.name());
        check::<S>(scenario).seeds(seeds.div_ceil(4)).assert_deterministic();
    }
}

/// The zoo is well formed and `budgets` names every bug once.
pub fn declared_bugs<S: System>(budgets: &[(S::Bug, u64)]) {
    bugs::validate::<S::Bug>().unwrap_or_else(|e| panic!("{}: {e}", S::NAME));
    for bug in S::Bug::ALL {
        let n = budgets.iter().filter(|(b, _)| b == bug).count();
        assert_eq!(
            n,
            1,
            "{}: bug {} has {n} budgets in the conformance tests (want one)",
            S::NAME,
            bug.name()
        );
    }
}

/// `bug` is found within `budget` swarm seeds, and its first failing seed fails the same way
/// again.
pub fn finds_bug<S: System>(bug: S::Bug, budget: u64) {
    let scenario = Scenario::new(&format!("{}: bug {}", S::NAME, bug.name())).bug(bug.name());
    let sweep = check::<S>(scenario).seeds(budget).run_expecting_failure();
    let (seed, class, message) = &sweep.failures[0];
    println!(
        "{}: found at seed {seed} after {} seeds ({}): {message}",
        bug.name(),
        sweep.seeds.len(),
        class.name()
    );
}

/// The checked-in fuzz corpus of `system`: `fuzz/corpus/<system>/` in the nearest ancestor of
/// `manifest_dir` (the calling crate's) that has a `fuzz/corpus` folder.
pub fn corpus_dir(manifest_dir: &str, system: &str) -> std::path::PathBuf {
    let start = Path::new(manifest_dir);
    let root = start.ancestors().find(|d| d.join("fuzz/corpus").is_dir()).unwrap_or(start);
    root.join("fuzz/corpus").join(system)
}

/// Runs `body` over every file of `dir` (the system's checked-in fuzz corpus); an empty or
/// missing corpus fails, since it would test nothing.
pub fn fuzz_corpus(dir: &Path, body: fn(&[u8])) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("fuzz corpus {}: {e}", dir.display()));
    let mut files: Vec<_> =
        entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    assert!(!files.is_empty(), "fuzz corpus {} is empty: add a seed input", dir.display());
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        println!("fuzz corpus: {}", file.display());
        body(&bytes);
    }
}

/// Writes a system's conformance tests (see the module documentation). `bugs` lists every
/// planted bug by variant name with its seed budget; systems without bugs give `bugs: {}`.
#[macro_export]
macro_rules! conformance_tests {
    (
        system: $system:ty,
        swarm_seeds: $swarm:expr,
        determinism_seeds: $determinism:expr,
        pinned_seed: $pinned:expr,
        bugs: { $($bug:ident: $budget:expr),* $(,)? } $(,)?
    ) => {
        mod conformance {
            use super::*;
            #[allow(unused_imports)]
            use $crate::bugs::Bug as _;
            use $crate::system::System as _;

            type Bugs = <$system as $crate::system::System>::Bug;

            #[test]
            fn swarm_sweep_fires_every_fault_kind() {
                $crate::conformance::swarm_sweep::<$system>($swarm);
            }

            #[test]
            fn runs_are_deterministic() {
                $crate::conformance::determinism::<$system>($determinism);
            }

            #[test]
            fn trace_of_the_pinned_seed() {
                let scenario = $crate::check::Scenario::new("pinned trace");
                let text = $crate::check::pinned_trace::<$system>(&scenario, $pinned);
                insta::assert_snapshot!(<$system>::NAME, text);
            }

            #[test]
            fn bugs_are_declared_well() {
                $crate::conformance::declared_bugs::<$system>(&[$((Bugs::$bug, $budget)),*]);
            }

            #[test]
            fn fuzz_corpus_passes() {
                let dir = $crate::conformance::corpus_dir(env!("CARGO_MANIFEST_DIR"), <$system>::NAME);
                $crate::conformance::fuzz_corpus(&dir, $crate::fuzzing::run_bytes::<$system>);
            }

            #[allow(non_snake_case)]
            mod bug_found_within_budget {
                use super::*;
                $(
                    #[test]
                    fn $bug() {
                        $crate::conformance::finds_bug::<$system>(Bugs::$bug, $budget);
                    }
                )*
            }
        }
    };
}
