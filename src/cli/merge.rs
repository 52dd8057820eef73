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

/// What identifies a seed's run, to recognise the same seed recorded twice and tell whether
/// the two records agree.
#[derive(PartialEq, Eq)]
struct Fingerprint {
    options_hash: String,
    trace_hash: String,
    signature: Option<String>,
}

/// The merge in progress: records are tallied as they are read, each seed once.
#[derive(Default)]
struct Merger {
    tally: Tally,
    identities: Vec<Identity>,
    /// For each identity: the files it came from and how many seeds.
    sources: BTreeMap<usize, (BTreeSet<PathBuf>, u64)>,
    seen: BTreeMap<(usize, u64), Fingerprint>,
    records: u64,
    duplicates: u64,
    unreadable_lines: u64,
    conflicting_seeds: BTreeSet<(usize, u64)>,
}

impl Merger {
    /// Adds one records file. A line that is not a record is skipped with a warning (a shard
    /// killed mid-write leaves a torn line); a file without a single record is an error.
    fn read(&mut self, path: &Path) -> Result<(), String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let (mut good, mut bad) = (0u64, Vec::new());
        for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match serde_json::from_str::<SeedRecord>(line).map_err(|e| e.to_string()).and_then(|r| {
                r.validate()?;
                Ok(r)
            }) {
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
        let fingerprint = Fingerprint {
            options_hash: record.options_hash.clone(),
            trace_hash: record.trace_hash.clone(),
            signature: record.signature.clone(),
        };
        let source = self.sources.entry(at).or_default();
        source.0.insert(path.to_path_buf());
        if let Some(first) = self.seen.get(&(at, record.seed)) {
            self.duplicates += 1;
            if *first != fingerprint && self.conflicting_seeds.insert((at, record.seed)) {
                eprintln!(
                    "warning: seed {} of {} has records that disagree (trace hash {} and {}): the \
                     same build ran it two ways, or the builds differ in a way the commit does not show",
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
