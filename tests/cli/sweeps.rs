//! Goal: a sweep split into shards, on as many machines as there are, and merged, tells exactly
//! what one sweep over the same seeds tells; a shard killed half-way and run again counts each
//! seed once; records of different builds or sweeps are not mixed silently; failures are grouped
//! by signature with the smallest seed's reproduce line first.
//! Method: run the built binary on the counter with a planted bug (`no-dedup` fails most seeds,
//! not all), 400 seeds as one sweep and as 4 shards, and compare the merged summaries. Half the
//! shards name the bug by its variant name, as a user may: records carry the canonical name, so
//! the shards still merge as one sweep.

use super::support::{command, essence, json, merge, path, records, run, scratch, text};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const SEEDS: &str = "400";
/// The bug's canonical name, and its variant name, accepted as an alias.
const BUG: &str = "no-dedup";
const BUG_ALIAS: &str = "NoDedup";

/// The sweeps several tests compare against, run once.
struct Fixture {
    /// One sweep of all the seeds.
    whole: PathBuf,
    /// Shard I of 4 in shards[I - 1], each in its own folder as on its own machine.
    shards: Vec<PathBuf>,
}

fn sweep_args<'a>(out: &'a Path, shard: Option<&'a str>) -> Vec<&'a str> {
    let bug = if shard.is_some_and(|s| s.starts_with(['1', '2'])) { BUG_ALIAS } else { BUG };
    let mut args =
        vec!["sweep", "counter", "--seeds", SEEDS, "--bug", bug, "--jobs", "2", "--out", path(out)];
    args.extend(shard.iter().flat_map(|s| ["--shard", s]));
    args
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = scratch("fixture");
        let whole = root.join("whole");
        let out = run(&sweep_args(&whole, None));
        assert_eq!(out.status.code(), Some(1), "the bug is found: {}", text(&out.stderr));
        let shards: Vec<PathBuf> = (1..=4).map(|i| root.join(format!("shard{i}"))).collect();
        for (i, dir) in shards.iter().enumerate() {
            let shard = format!("{}/4", i + 1);
            let out = run(&sweep_args(dir, Some(&shard)));
            assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        }
        Fixture { whole, shards }
    })
}

fn shard_records(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("records.shard-{index}-of-4.jsonl"))
}

#[test]
fn four_shards_merged_tell_what_one_sweep_tells() {
    let f = fixture();
    let scratch = scratch("four-shards");
    let (one, whole) = merge(&[&f.whole], &scratch.join("whole"), &[]);
    assert_eq!(one.status.code(), Some(1), "{}", text(&one.stderr));
    let shard_dirs: Vec<&Path> = f.shards.iter().map(PathBuf::as_path).collect();
    let (four, sharded) = merge(&shard_dirs, &scratch.join("sharded"), &[]);
    assert_eq!(four.status.code(), Some(1), "{}", text(&four.stderr));

    assert_eq!(essence(&whole), essence(&sharded));
    // The sweep's own summary says the same as the merge of its records.
    assert_eq!(essence(&json(&f.whole.join("summary.json"))), essence(&whole));
    assert_eq!(sharded["seeds_run"], 400);
    let passed = sharded["passed"].as_u64().unwrap();
    assert!(passed > 0 && passed < 400, "some seeds pass and some fail: {passed} passed");
    assert!(sharded["faults"]["process.crash"]["count"].as_u64().unwrap() > 0);
    // The shards split the seeds: each seed in exactly one shard.
    let mut seeds: Vec<u64> = (1..=4)
        .flat_map(|i| records(&shard_records(&f.shards[i - 1], i)))
        .map(|r| r["seed"].as_u64().unwrap())
        .collect();
    seeds.sort_unstable();
    assert_eq!(seeds, (0..400).collect::<Vec<u64>>());
    assert_eq!(sharded["merge"]["duplicates"], 0);
}

#[test]
fn a_shard_killed_half_way_and_run_again_counts_each_seed_once() {
    let f = fixture();
    let dir = scratch("killed");
    let file = shard_records(&dir, 2);
    let mut args = sweep_args(&dir, Some("2/4"));
    args[7] = "1"; // --jobs 1: the kill comes while seeds are still to run
    let mut child = command(&args).stdout(std::process::Stdio::null()).spawn().unwrap();
    let recorded = || std::fs::read(&file).map_or(0, |t| t.iter().filter(|b| **b == b'\n').count());
    while recorded() < 10 && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let survived = records(&file).len();
    assert!((10..100).contains(&survived), "killed half-way: {survived} of 100 seeds recorded");
    // A kill in the middle of a write leaves a torn line, perhaps cut inside a character; the
    // rerun must not be spoiled by it.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(b"{\"system\":\"coun\xe2\x80")
        .unwrap();
    let again = run(&args);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    assert_eq!(records(&file).len(), survived + 100, "the rerun appended all its seeds");

    let (out, merged) = merge(&[&f.shards[0], &dir, &f.shards[2], &f.shards[3]], &dir.join("merged"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("skipped a line that is not a record"), "{}", text(&out.stderr));
    assert_eq!(merged["merge"]["duplicates"], survived as u64);
    assert_eq!(merged["merge"]["unreadable_lines"], 1);
    assert_eq!(merged["merge"]["conflicting_seeds"], 0, "the rerun ran every seed as before");
    let (_, whole) = merge(&[&f.whole], &dir.join("whole"), &[]);
    assert_eq!(essence(&merged), essence(&whole));
}

/// A copy of shard 1's records with another commit in every line.
fn records_of_another_build(dir: &Path) -> PathBuf {
    let f = fixture();
    let original = std::fs::read_to_string(shard_records(&f.shards[0], 1)).unwrap();
    let first: Value = serde_json::from_str(original.lines().next().unwrap()).unwrap();
    let commit = first["commit"].as_str().unwrap();
    let other = original.replace(
        &format!("\"commit\":\"{commit}\""),
        "\"commit\":\"0000000000000000000000000000000000000abc\"",
    );
    assert_ne!(other, original);
    let file = dir.join("records.shard-1-of-4.jsonl");
    std::fs::write(&file, other).unwrap();
    file
}

#[test]
fn records_of_different_builds_or_sweeps_are_not_mixed_unless_told() {
    let f = fixture();
    let dir = scratch("mixed");
    let other_build = records_of_another_build(&dir);
    let out_dir = dir.join("merged");
    let refused = run(&["merge", path(&f.shards[1]), path(&other_build), "--out", path(&out_dir)]);
    assert_eq!(refused.status.code(), Some(2));
    let err = text(&refused.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("different builds (commits)")
            && err.contains("0000000000000000000000000000000000000abc"),
        "{err}"
    );
    assert!(err.contains("--allow-mixed"), "{err}");
    assert!(!out_dir.exists(), "nothing written after a refusal");

    let (allowed, summary) = merge(&[&f.shards[1], &other_build], &out_dir, &["--allow-mixed"]);
    assert_eq!(allowed.status.code(), Some(1), "{}", text(&allowed.stderr));
    assert_eq!(summary["sweeps"].as_array().unwrap().len(), 2);
    assert_eq!(summary["seeds_run"], 200, "the same seed under two builds is two runs");

    // Another option set: the same system, seeds and build under another preset.
    let lite = dir.join("lite");
    let out =
        run(&["sweep", "counter", "--seeds", "20", "--preset", "lite", "--bug", BUG, "--out", path(&lite)]);
    assert!(out.status.code().unwrap() <= 1, "{}", text(&out.stderr));
    let refused = run(&["merge", path(&f.shards[0]), path(&lite)]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("different sweeps (system, preset or bug)"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn a_planted_bug_over_four_shards_is_grouped_by_signature_smallest_seed_first() {
    let f = fixture();
    let dir = scratch("signatures");
    let shard_dirs: Vec<&Path> = f.shards.iter().map(PathBuf::as_path).collect();
    let (out, summary) = merge(&shard_dirs, &dir, &[]);
    let stdout = text(&out.stdout);
    let failures = summary["failures"].as_array().unwrap();
    let groups = summary["signatures"].as_array().unwrap();
    assert!(!groups.is_empty());
    let mut counted = 0;
    for g in groups {
        let signature = g["signature"].as_str().unwrap();
        assert!(signature.starts_with("safety: "), "{signature}");
        assert!(!signature.chars().any(|c| c.is_ascii_digit()), "numbers normalised: {signature}");
        let smallest = failures
            .iter()
            .filter(|x| x["signature"] == signature)
            .map(|x| x["seed"].as_u64().unwrap())
            .min();
        let line =
            format!("faultline replay counter --seed {} --preset swarm --bug {BUG}", smallest.unwrap());
        assert_eq!(g["reproduce"], line.as_str());
        // On stdout the signature is followed by its smallest seed's reproduce line.
        let after = stdout.split(signature).nth(1).expect("the signature is printed");
        assert_eq!(after.lines().nth(1).map(str::trim), Some(format!("reproduce: {line}").as_str()));
        counted += g["seeds"].as_u64().unwrap();
    }
    assert_eq!(counted, failures.len() as u64, "every failure is in one group");
    let smallest: Vec<&str> = groups.iter().map(|g| g["reproduce"].as_str().unwrap()).collect();
    let first_seed = |line: &&str| line.split_whitespace().nth(4).unwrap().parse::<u64>().unwrap();
    assert!(
        smallest.windows(2).all(|w| first_seed(&w[0]) < first_seed(&w[1])),
        "groups in seed order: {smallest:?}"
    );
    // The failures file starts with the first group's smallest seed, and it reproduces.
    let first =
        std::fs::read_to_string(dir.join("failures.txt")).unwrap().lines().next().unwrap().to_string();
    assert_eq!(first, groups[0]["reproduce"].as_str().unwrap());
    let replay: Vec<&str> = first.split_whitespace().skip(1).collect();
    assert_eq!(run(&replay).status.code(), Some(1), "the reproduce line fails again: {first}");
}

#[test]
fn records_name_the_build_and_the_run() {
    let f = fixture();
    let all = records(&f.whole.join("records.jsonl"));
    assert_eq!(all.len(), 400);
    let commit = env!("FAULTLINE_GIT_COMMIT");
    let git = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output().ok();
    let head = git.filter(|o| o.status.success()).map(|o| text(&o.stdout).trim().to_string());
    if let (None, Some(head)) = (option_env!("FAULTLINE_COMMIT"), head) {
        assert_eq!(commit, head, "the build embedded the commit it was built from");
    }
    for r in &all {
        assert_eq!(r["commit"], commit);
        assert_eq!(r["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            (r["system"].as_str(), r["preset"].as_str(), r["bug"].as_str()),
            (Some("counter"), Some("swarm"), Some(BUG))
        );
        assert_eq!(r["options_hash"].as_str().unwrap().len(), 16);
        assert!(r["sim_seconds"].as_f64().unwrap() > 0.0 && r["wall_ms"].as_f64().unwrap() > 0.0);
        let failed = r["outcome"] == "fail";
        assert_eq!(failed, r["signature"].is_string(), "{r}");
        assert_eq!(failed, r["class"] == "safety", "{r}");
    }
}

#[test]
fn a_time_boxed_sweep_stops_taking_seeds_when_the_time_is_up() {
    let dir = scratch("duration");
    let out =
        run(&["sweep", "counter", "--duration", "1s", "--jobs", "2", "--shard", "2/3", "--out", path(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("stopped taking seeds when --duration ran out"),
        "{}",
        text(&out.stdout)
    );
    let summary = json(&dir.join("summary.shard-2-of-3.json"));
    let seeds: Vec<u64> = records(&dir.join("records.shard-2-of-3.jsonl"))
        .iter()
        .map(|r| r["seed"].as_u64().unwrap())
        .collect();
    assert!(seeds.len() > 10, "{} seeds in a second", seeds.len());
    assert_eq!(summary["seeds_run"], seeds.len() as u64);
    assert!(seeds.iter().all(|s| s % 3 == 1), "only shard 2's seeds");
    let wall = summary["wall_seconds"].as_f64().unwrap();
    assert!((1.0..10.0).contains(&wall), "{wall} s");
}

#[test]
fn shard_auto_reads_the_scheduler_and_says_when_there_is_none() {
    let dir = scratch("auto");
    let args = ["sweep", "counter", "--seeds", "8", "--shard", "auto", "--shards", "4", "--out", path(&dir)];
    let none = run(&args);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none.stderr).starts_with("error: --shard auto found no shard index"),
        "{}",
        text(&none.stderr)
    );
    assert!(!dir.join("records.jsonl").exists() && std::fs::read_dir(&dir).unwrap().next().is_none());

    let k8s = command(&args).env("JOB_COMPLETION_INDEX", "3").output().unwrap();
    assert_eq!(k8s.status.code(), Some(0), "{}", text(&k8s.stderr));
    let mut seeds: Vec<u64> = records(&dir.join("records.shard-4-of-4.jsonl"))
        .iter()
        .map(|r| r["seed"].as_u64().unwrap())
        .collect();
    seeds.sort_unstable();
    assert_eq!(seeds, [3, 7], "JOB_COMPLETION_INDEX=3 is the fourth of four shards");

    let no_total = command(&args[..6]).env("JOB_COMPLETION_INDEX", "1").output().unwrap();
    assert_eq!(no_total.status.code(), Some(2));
    assert!(text(&no_total.stderr).contains("needs --shards N"), "{}", text(&no_total.stderr));
}
