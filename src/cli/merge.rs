//! `faultline merge DIR...`: one summary from the per-seed records of many shards.
//!
//! The shards of a sweep run on other machines (a Kubernetes Indexed Job, a CI matrix); each
//! leaves `records*.jsonl` files (see [`super::record`]). Merge reads every such file under the
//! folders it is given and summarises them as `sweep` would have summarised one run over the
//! same seeds: seeds run, faults fired (and never fired), system events, failures grouped by
//! signature with the smallest seed's reproduce line first, and speed.
//!
//! A seed recorded twice by the same build (a shard rerun after a kill, overlapping shards) is
//! counted once; if its two records disagree the merge says so, since the same build and seed
//! should give the same run. Records of different sweeps (system, preset, bug) or different
//! builds (version, commit) are not mixed silently: the merge names them and stops, unless
//! `--allow-mixed`.

use super::record::{Identity, SeedRecord};
use super::summary::{MergeStats, Origin, Summary, Tally};
use super::{usage_error, EXIT_FAILURE_FOUND, EXIT_OK};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Folders (searched recursively for records*.jsonl) or records files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Write the merged summary.json and failures.txt to this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Merge records of different sweeps or builds into one summary instead of refusing.
    #[arg(long)]
    pub allow_mixed: bool,
}

pub fn run(args: MergeArgs) -> i32 {
    match merge(&args) {
        Ok(summary) => {
            print!("{summary}");
            if let (Some(out), true) = (&args.out, summary.failures() > 0) {
                println!("every failing seed's reproduce line: {}", out.join("failures.txt").display());
            }
            if summary.failures() > 0 {
                EXIT_FAILURE_FOUND
            } else {
                EXIT_OK
            }
        }
        Err(e) => usage_error(e),
    }
}

/// Reads, checks and summarises; writes `--out` only when all of that succeeded.
fn merge(args: &MergeArgs) -> Result<Summary, String> {
    if let Some(out) = &args.out {
        if out.exists() && !out.is_dir() {
            return Err(format!("--out {} exists and is not a directory", out.display()));
        }
    }
    let files = record_files(&args.inputs)?;
    let mut merger = Merger::default();
    for file in &files {
        merger.read(file)?;
    }
    merger.check_mix(args.allow_mixed)?;
    if merger.identities.iter().any(|i| i.commit == "unknown") {
        eprintln!("warning: some records come from a build of unknown commit: builds cannot be told apart");
    }
    let stats = merger.stats(files.len());
    let summary = Summary::new(merger.tally, Origin::Merge(stats));
    if let Some(out) = &args.out {
        summary.write(out, "").map_err(|e| format!("cannot write to {}: {e}", out.display()))?;
    }
    Ok(summary)
}

/// Every `records*.jsonl` under the inputs, each input's in path order.
fn record_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_file() {
            files.push(input.clone());
            continue;
        }
        if !input.is_dir() {
            return Err(format!("{}: no such file or folder", input.display()));
        }
        let before = files.len();
        walk(input, &mut files).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
        if files.len() == before {
            return Err(format!(
                "{}: no records*.jsonl files in it (written by `sweep --out`)",
                input.display()
            ));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_dir() {
            walk(&path, files)?;
        } else if name.starts_with("records") && name.ends_with(".jsonl") {
            files.push(path);
        }
    }
    Ok(())
}

/// What must agree between two records of the same seed by the same build: its options, its
/// trace and its signature (kept as numbers, since a merge may hold millions of seeds).
#[derive(PartialEq, Eq)]
struct Fingerprint {
    options_hash: u64,
    trace_hash: u64,
    signature: Option<usize>,
}

/// The merge in progress: records are tallied as they are read, each seed once.
#[derive(Default)]
struct Merger {
    tally: Tally,
    identities: Vec<Identity>,
    /// For each identity: the files it came from and how many seeds.
    sources: BTreeMap<usize, (BTreeSet<PathBuf>, u64)>,
    signatures: BTreeMap<String, usize>,
    seen: BTreeMap<(usize, u64), Fingerprint>,
    records: u64,
    duplicates: u64,
    unreadable_lines: u64,
    conflicting_seeds: BTreeSet<(usize, u64)>,
}

impl Merger {
    /// Adds one records file, line by line. A line that is not a record is skipped with a
    /// warning (a shard killed mid-write leaves a torn line, perhaps cut inside a character); a
    /// file with lines but not a single record is an error.
    fn read(&mut self, path: &Path) -> Result<(), String> {
        let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        let file = std::fs::File::open(path).map_err(cannot)?;
        let (mut good, mut bad) = (0u64, Vec::new());
        for (number, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line.map_err(cannot)?;
            let line = String::from_utf8_lossy(&line);
            if line.trim().is_empty() {
                continue;
            }
            match parse(&line) {
                Ok(record) => {
                    good += 1;
                    self.add(path, record);
                }
                Err(e) => bad.push(format!("{}:{}: {e}", path.display(), number + 1)),
            }
        }
        if good == 0 && !bad.is_empty() {
            return Err(format!("{} holds no per-seed records ({})", path.display(), bad[0]));
        }
        for b in &bad {
            eprintln!("warning: skipped a line that is not a record (a shard killed mid-write?): {b}");
        }
        self.unreadable_lines += bad.len() as u64;
        Ok(())
    }

    fn add(&mut self, path: &Path, record: SeedRecord) {
        self.records += 1;
        let identity = record.identity();
        let at = match self.identities.iter().position(|i| *i == identity) {
            Some(at) => at,
            None => {
                self.identities.push(identity);
                self.identities.len() - 1
            }
        };
        let next = self.signatures.len();
        let fingerprint = Fingerprint {
            options_hash: hex(&record.options_hash),
            trace_hash: hex(&record.trace_hash),
            signature: record.signature.as_ref().map(|s| *self.signatures.entry(s.clone()).or_insert(next)),
        };
        let source = self.sources.entry(at).or_default();
        source.0.insert(path.to_path_buf());
        if let Some(first) = self.seen.get(&(at, record.seed)) {
            self.duplicates += 1;
            if *first != fingerprint && self.conflicting_seeds.insert((at, record.seed)) {
                eprintln!(
                    "warning: seed {} of {} has records that disagree (trace hash {:016x} and {:016x}): \
                     the same build ran it two ways, or the builds differ in a way the commit does not show",
                    record.seed, self.identities[at], first.trace_hash, fingerprint.trace_hash
                );
            }
            return;
        }
        source.1 += 1;
        self.seen.insert((at, record.seed), fingerprint);
        self.tally.add(record);
    }

    /// Refuses records of several sweeps or builds unless `allow`, naming each with its seeds
    /// and files.
    fn check_mix(&self, allow: bool) -> Result<(), String> {
        if self.identities.len() < 2 {
            return Ok(());
        }
        let what: BTreeSet<&str> = self.mix_kinds().into_iter().collect();
        let parts: Vec<String> = self
            .sources
            .iter()
            .map(|(at, (files, seeds))| {
                let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                format!("{}: {seeds} seeds in {}", self.identities[*at], names.join(", "))
            })
            .collect();
        let message = format!(
            "the records come from {}: {}",
            what.into_iter().collect::<Vec<_>>().join(" and "),
            parts.join("; ")
        );
        if allow {
            eprintln!("warning: --allow-mixed: {message}");
            return Ok(());
        }
        Err(format!("{message}; merge them separately, or pass --allow-mixed"))
    }

    /// What differs between the identities: builds, sweeps, or both.
    fn mix_kinds(&self) -> Vec<&'static str> {
        let first = &self.identities[0];
        let mut kinds = Vec::new();
        if self.identities.iter().any(|i| (&i.version, &i.commit) != (&first.version, &first.commit)) {
            kinds.push("different builds (commits)");
        }
        if self
            .identities
            .iter()
            .any(|i| (&i.system, &i.preset, &i.bug) != (&first.system, &first.preset, &first.bug))
        {
            kinds.push("different sweeps (system, preset or bug)");
        }
        kinds
    }

    fn stats(&self, files: usize) -> MergeStats {
        MergeStats {
            files,
            records: self.records,
            duplicates: self.duplicates,
            unreadable_lines: self.unreadable_lines,
            conflicting_seeds: self.conflicting_seeds.len() as u64,
        }
    }
}

fn parse(line: &str) -> Result<SeedRecord, String> {
    let record: SeedRecord = serde_json::from_str(line).map_err(|e| e.to_string())?;
    record.validate()?;
    Ok(record)
}

/// A validated record's hash field as a number.
fn hex(text: &str) -> u64 {
    u64::from_str_radix(text, 16).expect("validated as 16 hex digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::record::Outcome;

    fn record(seed: u64, trace_hash: u64, commit: &str) -> SeedRecord {
        SeedRecord {
            system: "counter".into(),
            preset: "swarm".into(),
            bug: None,
            options_hash: format!("{:016x}", seed),
            version: "0.1.0".into(),
            commit: commit.into(),
            seed,
            outcome: Outcome::Pass,
            class: None,
            signature: None,
            message: None,
            sim_seconds: 1.0,
            wall_ms: 1.0,
            trace_hash: format!("{trace_hash:016x}"),
            counters: BTreeMap::from([("net.loss".to_string(), 2)]),
        }
    }

    fn file(dir: &Path, name: &str, records: &[SeedRecord]) -> PathBuf {
        let lines: String = records.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
        std::fs::write(dir.join(name), lines).unwrap();
        dir.join(name)
    }

    #[test]
    fn a_seed_twice_counts_once_and_disagreeing_records_are_counted() {
        let dir = std::env::temp_dir().join(format!("faultline-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = file(&dir, "records.a.jsonl", &[record(1, 7, "c1"), record(2, 8, "c1")]);
        let b = file(&dir, "records.b.jsonl", &[record(2, 8, "c1"), record(3, 9, "c1"), record(1, 99, "c1")]);
        let mut merger = Merger::default();
        merger.read(&a).unwrap();
        merger.read(&b).unwrap();
        assert!(merger.check_mix(false).is_ok());
        let stats = merger.stats(2);
        assert_eq!((stats.records, stats.duplicates, stats.conflicting_seeds), (5, 2, 1));
        assert_eq!(merger.tally.failures(), 0);
        let c = file(&dir, "records.c.jsonl", &[record(4, 1, "c2")]);
        merger.read(&c).unwrap();
        let refused = merger.check_mix(false).unwrap_err();
        assert!(refused.contains("different builds (commits)") && refused.contains("commit c2"), "{refused}");
        assert!(merger.check_mix(true).is_ok());
        std::fs::write(dir.join("records.bad.jsonl"), "not json\n").unwrap();
        assert!(merger
            .read(&dir.join("records.bad.jsonl"))
            .unwrap_err()
            .contains("holds no per-seed records"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
