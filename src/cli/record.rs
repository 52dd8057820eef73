//! Per-seed records: one JSON line for every seed a sweep ran, the unit `faultline merge` works
//! on.
//!
//! Shards of one sweep run on many machines and can be killed at any moment (a preempted pod, a
//! CI job over its time limit). So each record is self-contained (which system, preset, bug,
//! options and build; the outcome, a failure signature, the time taken, the faults that fired)
//! and is written with one `write` call as soon as its seed finishes: a killed shard keeps every
//! seed it completed, at worst with one torn last line, which the next run on the same file
//! closes off and `merge` skips.
//!
//! Failure signatures group the failures of many seeds by cause: the failure class and the first
//! line of the message (which starts with the failed check's name), with what varies from seed to
//! seed (numbers, node ids, times, hashes, bracketed lists) replaced.

use super::Shard;
use faultline_sim::faults::KINDS;
use faultline_sim::report::{FailureClass, RunReport};
use faultline_sim::system::COVERAGE_PREFIX;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// This build's version and git commit (`unknown` when it was built without git information).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("FAULTLINE_GIT_COMMIT");

/// Signatures longer than this are cut: a signature names a cause, not a whole report.
const SIGNATURE_CHARS_MAX: usize = 200;

/// What one seed's run left behind, as one JSON line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRecord {
    pub system: String,
    pub preset: String,
    pub bug: Option<String>,
    /// The run's options hash (hex); under `swarm` every seed draws its own options.
    pub options_hash: String,
    pub version: String,
    pub commit: String,
    pub seed: u64,
    pub outcome: Outcome,
    pub class: Option<FailureClass>,
    pub signature: Option<String>,
    /// The failure message's first line.
    pub message: Option<String>,
    pub sim_seconds: f64,
    pub wall_ms: f64,
    pub trace_hash: String,
    /// The fault kinds that fired, by node kind too (`kind.<kind>.*`), the system's own events
    /// (`<system>.*`) and the coverage points reached (`cover.*`), with their counts.
    pub counters: BTreeMap<String, u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
}

/// What a record's seed belongs to: the sweep (system, preset, bug) and the build that ran it.
/// Records of one identity can be merged; records of several are a mix.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identity {
    pub system: String,
    pub preset: String,
    pub bug: Option<String>,
    pub version: String,
    pub commit: String,
}

impl SeedRecord {
    /// The record of one run of a sweep over `system` with `preset` and `bug`.
    pub fn new(report: &RunReport, preset: &str, bug: Option<&str>, wall: Duration) -> Self {
        let failure = report.failure.as_ref();
        let prefix = format!("{}.", report.system);
        let counters = report
            .counters
            .iter()
            .filter(|(name, _)| {
                [prefix.as_str(), "kind.", COVERAGE_PREFIX].iter().any(|p| name.starts_with(p))
                    || KINDS.iter().any(|k| k.counter == *name)
            })
            .map(|(name, n)| (name.to_string(), n))
            .collect();
        SeedRecord {
            system: report.system.to_string(),
            preset: preset.to_string(),
            bug: bug.map(str::to_string),
            options_hash: format!("{:016x}", report.options.hash()),
            version: VERSION.to_string(),
            commit: COMMIT.to_string(),
            seed: report.seed,
            outcome: if failure.is_some() { Outcome::Fail } else { Outcome::Pass },
            class: failure.map(|f| f.class),
            signature: failure.map(|f| signature(f.class, &f.message)),
            message: failure.map(|f| f.message.lines().next().unwrap_or("").to_string()),
            sim_seconds: report.sim_time.as_secs_f64(),
            wall_ms: (wall.as_secs_f64() * 1e6).round() / 1e3,
            trace_hash: format!("{:016x}", report.trace_hash),
            counters,
        }
    }

    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Fail
    }

    pub fn identity(&self) -> Identity {
        Identity {
            system: self.system.clone(),
            preset: self.preset.clone(),
            bug: self.bug.clone(),
            version: self.version.clone(),
            commit: self.commit.clone(),
        }
    }

    /// The command that runs this seed again.
    pub fn reproduce(&self) -> String {
        reproduce_line(&self.system, self.seed, &self.preset, self.bug.as_deref())
    }

    /// Checks what serde cannot: the hashes are hex, a failure has a class and a signature.
    pub fn validate(&self) -> Result<(), String> {
        let hex = |s: &str| s.len() == 16 && s.chars().all(|c| c.is_ascii_hexdigit());
        if !hex(&self.options_hash) || !hex(&self.trace_hash) {
            return Err("options_hash and trace_hash must be 16 hex digits".to_string());
        }
        if self.failed() != (self.class.is_some() && self.signature.is_some()) {
            return Err("a failing record needs a class and a signature, a passing one neither".to_string());
        }
        Ok(())
    }
}

impl Identity {
    /// A sweep run by this build.
    pub fn of_this_build(system: &str, preset: &str, bug: Option<&str>) -> Self {
        Identity {
            system: system.to_string(),
            preset: preset.to_string(),
            bug: bug.map(str::to_string),
            version: VERSION.to_string(),
            commit: COMMIT.to_string(),
        }
    }
}

/// The reproduce line of one seed of a sweep.
pub fn reproduce_line(system: &str, seed: u64, preset: &str, bug: Option<&str>) -> String {
    let bug = bug.map(|b| format!(" --bug {b}")).unwrap_or_default();
    format!("faultline replay {system} --seed {seed} --preset {preset}{bug}")
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bug = self.bug.as_ref().map(|b| format!(" --bug {b}")).unwrap_or_default();
        write!(
            f,
            "{} --preset {}{bug} (faultline {}, commit {})",
            self.system, self.preset, self.version, self.commit
        )
    }
}

/// A failure's signature: its class and the first line of its message, normalised so that the
/// same cause on different seeds gives the same text.
pub fn signature(class: FailureClass, message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    format!("{}: {}", class.name(), normalise(first))
}

/// Replaces what differs between seeds: every number (with its decimals) and every long hex word
/// becomes `#` (so `n3` is `n#` and `t=6812567495` is `t=#`), and a bracketed list, whose length
/// varies, becomes `[..]`.
fn normalise(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut depth = 0usize;
    for word in words(line) {
        match word {
            "[" => {
                if depth == 0 {
                    out.push_str("[..");
                }
                depth += 1;
            }
            "]" if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(']');
                }
            }
            _ if depth > 0 => {}
            _ => push_word(&mut out, word),
        }
    }
    let mut out = collapse_repeats(out);
    if out.chars().count() > SIGNATURE_CHARS_MAX {
        out = out.chars().take(SIGNATURE_CHARS_MAX).collect::<String>() + "..";
    }
    out
}

/// A list whose length varies from seed to seed (`client c# completed # of # operations; client
/// c# completed ...`, `n#,n#,n#`) says the same as one of its items: an item equal to the end
/// of the one before it is dropped.
fn collapse_repeats(mut line: String) -> String {
    for separator in ["; ", ", ", ","] {
        let mut items: Vec<&str> = line.split(separator).collect();
        // The first item carries what came before the list: it ends with the item.
        items.dedup_by(|item, before| before.ends_with(*item));
        line = items.join(separator);
    }
    line
}

/// Splits a line into alphanumeric words and single other characters.
fn words(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let len = if first.is_alphanumeric() {
            rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len())
        } else {
            first.len_utf8()
        };
        let (word, tail) = rest.split_at(len);
        rest = tail;
        Some(word)
    })
}

/// Appends a word with its numbers replaced; a `.` between two numbers joins them (`5.773` is
/// one `#`).
fn push_word(out: &mut String, word: &str) {
    let long_hex = word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit());
    if long_hex && word.chars().any(|c| c.is_ascii_digit()) {
        return push_number(out);
    }
    let mut in_number = false;
    for c in word.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                push_number(out);
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
}

fn push_number(out: &mut String) {
    if out.ends_with("#.") {
        out.pop();
    } else {
        out.push('#');
    }
}

/// The suffix a shard adds to the names of the files it writes, so that every shard of a sweep
/// can write into one shared folder: `records.shard-3-of-16.jsonl`.
pub fn shard_suffix(shard: Option<Shard>) -> String {
    shard.map(|s| format!(".shard-{}-of-{}", s.index, s.count)).unwrap_or_default()
}

/// Appends records to a shard's `records*.jsonl`, one line per `write` call.
pub struct RecordWriter {
    file: File,
    path: PathBuf,
}

impl RecordWriter {
    /// Opens (or creates) the records file of `shard` in `dir` for appending: a rerun of a killed
    /// shard adds to what it left. A torn last line (the kill came mid-write) is closed off with
    /// a newline first, so it stays one unreadable line instead of spoiling the next record.
    pub fn open(dir: &Path, shard: Option<Shard>) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("records{}.jsonl", shard_suffix(shard)));
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(&path)?;
        if file.metadata()?.len() > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(RecordWriter { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one record as one line, straight to the file (no buffer to lose on a kill).
    pub fn write(&mut self, record: &SeedRecord) -> io::Result<()> {
        let mut line = serde_json::to_string(record).expect("records serialize");
        line.push('\n');
        self.file.write_all(line.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_keep_the_cause_and_drop_what_varies_by_seed() {
        let a = "counter-bounds: violation: read 35 (process 0) returned 78, but only 77 had been attempted";
        let b = "counter-bounds: violation: read 4 (process 12) returned 9, but only 5 had been attempted";
        assert_eq!(signature(FailureClass::Safety, a), signature(FailureClass::Safety, b));
        assert_eq!(
            signature(FailureClass::Safety, a),
            "safety: counter-bounds: violation: read # (process #) returned #, but only # had been attempted"
        );
        let panic = "node n2 panicked at 5.773 s: commit index 21 beyond the last entry 20\nmore";
        assert_eq!(
            signature(FailureClass::Panic, panic),
            "panic: node n# panicked at # s: commit index # beyond the last entry #"
        );
        let lead = "election safety: violation: two leaders in term 6: n0 at t=6812567495 (term 6, Leader)";
        assert!(signature(FailureClass::Safety, lead).ends_with("n# at t=# (term #, Leader)"));
    }

    #[test]
    fn bracketed_lists_and_hashes_collapse() {
        let x = "pending: 2 leaders [n0 Leader t8 commit 49/51 members n0,n1; n1 Leader [x] t8]";
        let y = "pending: 3 leaders [n4 Follower t1 commit 2/2 members n0,n1,n2]";
        assert_eq!(normalise(x), "pending: # leaders [..]");
        assert_eq!(normalise(x), normalise(y));
        assert_eq!(normalise("trace 9f3a0b1c2d3e4f50 differs"), "trace # differs");
        let clients = "not live: client c1 completed 2 of 9; client c4 completed 0 of 9; pending: n2";
        assert_eq!(normalise(clients), "not live: client c# completed # of #; pending: n#");
        assert_eq!(normalise("members n0,n1,n3"), "members n#");
        assert_eq!(normalise("members n0,n1,n3"), normalise("members n2,n4"));
        assert_eq!(normalise("deadbeefcafe stays a word"), "deadbeefcafe stays a word");
        let long = "x".repeat(500);
        assert_eq!(normalise(&long).chars().count(), SIGNATURE_CHARS_MAX + 2);
    }

    #[test]
    fn a_torn_last_line_is_closed_before_appending() {
        let dir = std::env::temp_dir().join(format!("faultline-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let shard = Some(Shard { index: 2, count: 4 });
        let path = RecordWriter::open(&dir, shard).unwrap().path().to_path_buf();
        assert!(path.ends_with("records.shard-2-of-4.jsonl"));
        std::fs::write(&path, "{\"system\":\"cou").unwrap();
        let mut w = RecordWriter::open(&dir, shard).unwrap();
        w.file.write_all(b"next\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"system\":\"cou\nnext\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
