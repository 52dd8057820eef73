//! Goal: the `raft` fuzz target cannot rot. Method: run its body (`faultline::fuzzing::raft`)
//! over every file of its checked-in corpus (`fuzz/corpus/raft/`), as `cargo fuzz run` starts;
//! each file is a whole run of Raft under the faults it describes, which must pass.

// Simulation only: these drive the simulator, which a real-mode build does not have.
#![cfg(madsim)]

use std::path::PathBuf;

#[test]
fn the_raft_fuzz_target_passes_its_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/raft");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the corpus has {} files", files.len());
    let mut events = 0;
    for file in files {
        let data = std::fs::read(&file).unwrap();
        events += faultline::fuzzing::spec_from_bytes(&data).schedule.events.len();
        faultline::fuzzing::raft(&data);
    }
    assert!(events >= 10, "the corpus exercises scheduled faults: {events} events in all");
}
