//! The entry of the `system` fuzz target (`fuzz/fuzz_targets/system.rs`): one target serves
//! every registered system. The system is named by the `FAULTLINE_FUZZ_SYSTEM` environment
//! variable, so each system keeps its own corpus (`fuzz/corpus/<system>/`) and an input means
//! the same run whatever systems are added later:
//!
//! ```text
//! FAULTLINE_FUZZ_SYSTEM=raft RUSTFLAGS="--cfg madsim" cargo fuzz run --sanitizer none system \
//!     fuzz/work/raft fuzz/corpus/raft
//! ```
//!
//! The body is `faultline_sim::fuzzing::run_bytes`, which the conformance tests also run over
//! each corpus.

use crate::registry::{self, SystemEntry};
use std::sync::OnceLock;

/// The environment variable that names the system to fuzz.
pub const SYSTEM_VAR: &str = "FAULTLINE_FUZZ_SYSTEM";

/// Runs the system named by [`SYSTEM_VAR`] on `data`; panics when the run fails. A missing or
/// unknown name ends the process with a usage error rather than a crash report.
pub fn run(data: &[u8]) {
    (system().fuzz)(data);
}

fn system() -> &'static SystemEntry {
    static SYSTEM: OnceLock<&'static SystemEntry> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let found = std::env::var(SYSTEM_VAR)
            .map_err(|_| format!("{SYSTEM_VAR} is not set"))
            .and_then(|name| registry::find(&name));
        found.unwrap_or_else(|e| {
            let known: Vec<&str> = registry::SYSTEMS.iter().map(|s| s.name).collect();
            eprintln!("faultline fuzz: {e}; set {SYSTEM_VAR} to one of: {}", known.join(", "));
            std::process::exit(2);
        })
    })
}
