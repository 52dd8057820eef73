//! What the sweep and deploy tests share: running the built binary, scratch folders, reading
//! records and summaries.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The variables `--shard auto` reads; the tests clear them so that the machine running the
/// tests (a CI job with its own parallelism) cannot choose a shard for them.
pub const SHARD_VARIABLES: [&str; 9] = [
    "FAULTLINE_SHARD_INDEX",
    "JOB_COMPLETION_INDEX",
    "CI_NODE_INDEX",
    "CI_NODE_TOTAL",
    "CIRCLE_NODE_INDEX",
    "CIRCLE_NODE_TOTAL",
    "BUILDKITE_PARALLEL_JOB",
    "BUILDKITE_PARALLEL_JOB_COUNT",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_faultline"))
}

/// The built binary with `args`, no shard variables in its environment.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(binary());
    c.args(args);
    for v in SHARD_VARIABLES {
        c.env_remove(v);
    }
    c
}

pub fn run(args: &[&str]) -> Output {
    command(args).output().expect("the binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder for one test, in cargo's scratch space for tests (emptied at the next run).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

pub fn json(file: &Path) -> Value {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap()
}

/// The parseable lines of a records file (a torn line may hold half a character).
pub fn records(file: &Path) -> Vec<Value> {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    String::from_utf8_lossy(&bytes).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Merges `inputs` into `out`; returns the process output and the merged summary.json.
pub fn merge(inputs: &[&Path], out: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["merge"];
    args.extend(inputs.iter().map(|p| path(p)));
    args.extend(["--out", path(out)]);
    args.extend(extra);
    let output = run(&args);
    let summary = json(&out.join("summary.json"));
    (output, summary)
}

/// What must not change when the same seeds are sharded, killed, rerun and merged: the seeds
/// run and passed, each failure by seed and signature, the faults and events tallies.
pub fn essence(summary: &Value) -> Value {
    let failures: Vec<Value> = summary["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| serde_json::json!([f["seed"], f["signature"]]))
        .collect();
    serde_json::json!({
        "seeds_run": summary["seeds_run"],
        "passed": summary["passed"],
        "failures": failures,
        "faults": summary["faults"],
        "never_fired": summary["never_fired"],
        "events": summary["events"],
    })
}
