//! The command line end to end on simulated runs: `replay` in this file; sharded sweeps, their
//! records and `merge` in `cli/sweeps.rs`; the ready-made Kubernetes and CI jobs in
//! `cli/deploy.rs`.
//!
//! Goal: `faultline replay --html FILE` draws the run: the client history with the violation
//! marked and the fault schedule over it; a bad path is a one-line error before anything runs.
//! Method: run the built binary on a seed known to fail with a planted bug.

// Simulation only: these drive the simulator, which a real-mode build does not have.
#![cfg(madsim)]

use std::process::{Command, Output};

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().expect("the binary runs")
}

/// Counter seed 191 with `NoDedup` fails (a read sees a retried increment twice) under a
/// schedule with partitions, a swizzle and full disks.
const FAILING: [&str; 7] = ["replay", "counter", "--seed", "191", "--preset", "swarm", "--bug"];

#[test]
fn the_timeline_marks_the_violation_and_draws_the_faults() {
    let dir = std::env::temp_dir().join(format!("faultline-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("run.html");
    let mut args = FAILING.to_vec();
    args.extend(["NoDedup", "--html", page.to_str().unwrap()]);
    let out = faultline(&args);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert!(html.contains(r#""failing":true"#), "the violating operation is marked");
    assert!(html.contains(r#""label":"partition"#), "partitions are drawn as bands");
    assert!(html.contains(r#""label":"clog n"#), "swizzle clogs are drawn");
    assert!(html.contains(r#""label":"disk full on n"#), "full-disk windows are drawn");
    let fetches = ["<script src", "<link", "@import", "fetch("];
    assert!(fetches.iter().all(|f| !html.contains(f)), "the page loads nothing from elsewhere");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_page_in_a_missing_folder_is_refused_before_the_run() {
    let mut args = FAILING.to_vec();
    args.extend(["NoDedup", "--html", "/no/such/folder/run.html"]);
    let out = faultline(&args);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no folder /no/such/folder"), "{err}");
    assert!(out.stdout.is_empty(), "nothing ran");
}

// Sweeps across shards, their merge, and the ready-made jobs share this binary: one link step
// for the command line's tests.
#[path = "cli/deploy.rs"]
mod deploy;
#[path = "cli/support.rs"]
mod support;
#[path = "cli/sweeps.rs"]
mod sweeps;
#[test]
fn a_spec_whose_schedule_names_a_node_outside_the_layout_is_refused() {
    let dir = std::env::temp_dir().join(format!("faultline-replay-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("spec.json");
    let text = r#"{"seed": 1, "options": {}, "bug": null,
        "schedule": {"events": [{"at_ms": 10, "fault": "crash", "node": 7}]}}"#;
    std::fs::write(&spec, text).unwrap();
    let out = faultline(&["replay", "counter", "--spec", spec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("names n7, but the cluster has 3 nodes"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
