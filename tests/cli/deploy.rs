//! Goal: the ready-made jobs (a Kubernetes Indexed Job with its merge Job, a GitHub Actions
//! matrix with its merge job) parse, agree with themselves (as many shards as `--shards` says,
//! the volume and artifact paths the commands use), and their commands work.
//! Method: parse the files with a YAML parser, then run each job's own shell script with the
//! built binary as `faultline`, one run per index or matrix entry, the scheduler's variables set
//! as the scheduler would, and the merge on what they left. Only the sweep's size (`SEEDS`) and
//! where results go are changed, to keep the test short.

use super::support::{binary, json, path, scratch, text, SHARD_VARIABLES};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Seeds in all for the test's runs of the jobs (the files say many more).
const SEEDS: &str = "40";

fn repository(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(file)
}

/// Every document of a YAML file.
fn yaml(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repository(file)).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{file} does not parse: {e}")))
        .collect()
}

fn string(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A shell script run as a job would run it: `faultline` on the PATH, no shard variables but
/// those given, and `env`.
fn shell(shell: &[&str], script: &str, dir: &Path, env: &[(String, String)]) -> Output {
    let bin = binary().parent().unwrap();
    let search = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut c = Command::new(shell[0]);
    c.args(&shell[1..]).arg(script).current_dir(dir).env("PATH", search);
    for v in SHARD_VARIABLES {
        c.env_remove(v);
    }
    c.envs(env.iter().map(|(k, v)| (k, v))).output().unwrap()
}

/// A Kubernetes container's environment, with `overrides` replacing values of the same name.
fn container_env(container: &Value, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (string(&e["name"]).to_string(), string(&e["value"]).to_string()))
        .collect();
    for (name, value) in overrides {
        let at = env.iter().position(|(k, _)| k == name).unwrap_or_else(|| panic!("the job sets no {name}"));
        env[at].1 = value.to_string();
    }
    env
}

/// A container's `sh -c SCRIPT`, and where its results volume is mounted.
fn container_script(container: &Value) -> (&str, &str) {
    assert_eq!(container["command"], serde_json::json!(["sh", "-c"]));
    let args = container["args"].as_array().unwrap();
    assert_eq!(args.len(), 1);
    assert_eq!(container["volumeMounts"][0]["name"], "results");
    (string(&args[0]), string(&container["volumeMounts"][0]["mountPath"]))
}

#[test]
fn the_kubernetes_jobs_shard_the_sweep_and_merge_it() {
    let docs = yaml("deploy/kubernetes/sweep.yaml");
    let claim = docs.iter().find(|d| d["kind"] == "PersistentVolumeClaim").expect("a volume for the results");
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("the sweep Job");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let completions = job["spec"]["completions"].as_u64().unwrap();
    assert_eq!(job["spec"]["parallelism"], completions);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never", "podFailurePolicy needs it");
    assert_eq!(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], claim["metadata"]["name"]);
    let container = &pod["containers"][0];
    let (script, mount) = container_script(container);
    assert!(script.contains(&format!("--shard auto --shards {completions} ")), "{script}");
    assert!(container_env(container, &[]).contains(&("RESULTS".to_string(), mount.to_string())));

    let results = scratch("kubernetes");
    let env = container_env(container, &[("SEEDS", SEEDS), ("RESULTS", path(&results))]);
    for index in 0..completions {
        let mut env = env.clone();
        env.push(("JOB_COMPLETION_INDEX".to_string(), index.to_string()));
        let out = shell(&["sh", "-c"], script, &results, &env);
        assert!(out.status.success(), "index {index}: {}", text(&out.stderr));
    }

    let merge_job = &yaml("deploy/kubernetes/merge.yaml")[0];
    let pod = &merge_job["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], claim["metadata"]["name"]);
    assert_eq!(pod["containers"][0]["image"], container["image"]);
    let (script, _) = container_script(&pod["containers"][0]);
    let env = container_env(&pod["containers"][0], &[("RESULTS", path(&results))]);
    let out = shell(&["sh", "-c"], script, &results, &env);
    assert!(out.status.code().unwrap() <= 1, "{}", text(&out.stderr));
    let summary = json(&results.join("merged/summary.json"));
    assert_eq!(summary["seeds_run"], SEEDS.parse::<u64>().unwrap());
    assert_eq!(summary["merge"]["files"], completions);
    let system = container_env(container, &[]).into_iter().find(|(k, _)| k == "SYSTEM").unwrap().1;
    assert_eq!(summary["sweeps"][0]["system"], system.as_str());
    // The image puts the binary where the scripts call it.
    let dockerfile = std::fs::read_to_string(repository("Dockerfile")).unwrap();
    assert!(dockerfile.contains("COPY --from=build /src/target/release/faultline /usr/local/bin/faultline"));
}

/// The value of a workflow expression: `${{ matrix.NAME }}`, or `${{ inputs.NAME || 'x' }}` as
/// a run without inputs (a scheduled one) sees it. Anything else fails the test, so that the
/// workflow stays within what this test can run.
fn evaluate(text: &str, matrix: &[(&str, String)]) -> String {
    let Some((before, rest)) = text.split_once("${{") else { return text.to_string() };
    let (expression, after) = rest.split_once("}}").expect("a closed expression");
    let expression = expression.trim();
    let value = if let Some(name) = expression.strip_prefix("matrix.") {
        matrix.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).expect("a matrix value")
    } else if let Some((input, default)) = expression.split_once("||") {
        assert!(input.trim().starts_with("inputs."), "unsupported expression {expression}");
        default.trim().trim_matches('\'').to_string()
    } else {
        panic!("unsupported expression {expression}");
    };
    format!("{before}{value}{}", evaluate(after, matrix))
}

fn step<'a>(job: &'a Value, runs: &str) -> &'a Value {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["run"].as_str().is_some_and(|r| r.contains(runs)))
        .unwrap()
}

fn uses<'a>(job: &'a Value, action: &str) -> Vec<&'a Value> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
        .collect()
}

/// A job's `run:` script as the runner runs it, in `dir` with `bin/faultline` the built binary.
fn run_step(step: &Value, dir: &Path, env: &[(String, String)], matrix: &[(&str, String)]) -> Output {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let _ = std::fs::remove_file(dir.join("bin/faultline"));
    std::os::unix::fs::symlink(binary(), dir.join("bin/faultline")).unwrap();
    let mut env = env.to_vec();
    for (name, value) in step["env"].as_object().into_iter().flatten() {
        env.push((name.clone(), evaluate(string(value), matrix)));
    }
    // GitHub runs `run:` scripts with bash -e -o pipefail.
    shell(&["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"], string(&step["run"]), dir, &env)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap().path();
        std::fs::copy(&entry, to.join(entry.file_name().unwrap())).unwrap();
    }
}

#[test]
fn the_ci_matrix_shards_the_sweep_and_merges_it() {
    let workflow = &yaml(".github/workflows/sweep.yml")[0];
    let jobs = &workflow["jobs"];
    let build = step(&jobs["build"], "cargo build");
    assert!(string(&build["run"]).contains("--release --locked --bin faultline"));
    assert_eq!(
        uses(&jobs["build"], "actions/upload-artifact")[0]["with"]["path"],
        "target/release/faultline"
    );
    let sweep = &jobs["sweep"];
    assert_eq!(sweep["needs"], "build");
    assert_eq!(
        sweep["strategy"]["fail-fast"], false,
        "a shard that finds a failure must not cancel the others"
    );
    let shards: Vec<u64> = sweep["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(shards, (1..=shards.len() as u64).collect::<Vec<_>>());
    let sweep_step = step(sweep, "faultline sweep");
    assert!(string(&sweep_step["run"]).contains(&format!("--shard auto --shards {} ", shards.len())));
    let upload = uses(sweep, "actions/upload-artifact")[0];
    assert_eq!((&upload["if"], &upload["with"]["path"]), (&Value::from("always()"), &Value::from("results")));

    let env: Vec<(String, String)> = workflow["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), if k == "SEEDS" { SEEDS.to_string() } else { evaluate(string(v), &[]) }))
        .collect();
    let root = scratch("ci");
    let merge_dir = root.join("merge");
    for shard in &shards {
        let matrix = [("shard", shard.to_string())];
        let dir = root.join(format!("shard{shard}"));
        let out = run_step(sweep_step, &dir, &env, &matrix);
        assert!(out.status.success(), "shard {shard}: {}", text(&out.stderr));
        // download-artifact with merge-multiple: every shard's files in one folder.
        copy_dir(&dir.join("results"), &merge_dir.join("results"));
        assert_eq!(evaluate(string(&upload["with"]["name"]), &matrix), format!("results-{shard}"));
    }

    let merge = &jobs["merge"];
    assert_eq!((&merge["needs"], &merge["if"]), (&Value::from("sweep"), &Value::from("always()")));
    let download = uses(merge, "actions/download-artifact");
    assert!(download
        .iter()
        .any(|d| d["with"]["pattern"] == "results-*" && d["with"]["merge-multiple"] == true));
    let out = run_step(step(merge, "faultline merge"), &merge_dir, &env, &[]);
    assert!(out.status.code().unwrap() <= 1, "{}", text(&out.stderr));
    let summary = json(&merge_dir.join("merged/summary.json"));
    assert_eq!(summary["seeds_run"], SEEDS.parse::<u64>().unwrap());
    assert_eq!(summary["merge"]["files"], shards.len());
    assert_eq!(summary["sweeps"][0]["system"], env.iter().find(|(k, _)| k == "SYSTEM").unwrap().1.as_str());
}
