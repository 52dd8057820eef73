//! `faultline check`: is each history linearizable with respect to a model, or (for the
//! transactional models `list-append` and `rw-register`) consistent with an isolation level?
//!
//! ```text
//! faultline check --model MODEL [--format jsonl|edn|porcupine-etcd|porcupine-kv]
//!                 [--init VALUE] [--nil-read any|absent] [--independent auto|yes|no]
//!                 [--timeout SECS] [--html DIR] FILE...
//! faultline check --model list-append|rw-register [--consistency LEVEL] [--format ...] FILE...
//! faultline check --model bank [--format jsonl|edn] FILE...
//! ```
//!
//! The `bank` model is Jepsen's bank workload (`faultline_checkers::bank`): every ok read of all
//! balances sums to the first read's total and no balance is negative; a violation names the
//! first read that breaks either.
//!
//! Prints one line per file, `FILE: ok|violation|unknown (N ops, T ms)`, with the conventions
//! the file was read under when they change the verdict (`3 independent keys`, `nil-read any`:
//! see `faultline_checkers::conventions`), followed by the explanation of a violation or the
//! reason for an unknown (for transactions: the models ruled out and the explained anomalies).
//! Exit codes: 0 all ok, 1 any
//! violation, 3 any unknown and no violation, 2 any error (bad arguments, an unreadable or
//! malformed file). On an error nothing else is printed and no file is written: every file is
//! read and checked before any result is reported.

use faultline_checkers::bank::{self, BankOptions, BankReport};
use faultline_checkers::conventions::{self, Conventions, Independence, Setup};
use faultline_checkers::explain::html::{render, Annotations};
use faultline_checkers::format::{self, Format, Parsed};
use faultline_checkers::lin::{self, Options, Report};
use faultline_checkers::txn::{self, ConsistencyModel, TxnOptions, TxnReport, Workload};
use faultline_checkers::{History, NilRead, Verdict};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The model: register, cas-register, key-value, multi-register, counter, set, queue, lock,
    /// lease or mutex (linearizability); list-append or rw-register (transactions); bank
    /// (Jepsen's bank workload).
    #[arg(long)]
    pub model: String,
    /// Transactional models only: the isolation level the verdict is about (read-uncommitted,
    /// read-committed, repeatable-read, snapshot-isolation, serializable, strict-serializable,
    /// ...). Every level the anomalies rule out is printed regardless.
    #[arg(long, value_parser = parse_consistency)]
    pub consistency: Option<ConsistencyModel>,
    /// The history format; guessed from each file's content when not given.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// The initial value of the register, or of every key (EDN: `0`, `nil`, `"x"`). Default nil
    /// (the empty string for porcupine-kv logs, as Porcupine's model has it; 0 for a counter).
    #[arg(long)]
    pub init: Option<String>,
    /// What an ok read of nil means: `any` (the value is unknown, as Knossos reads it; the
    /// default for EDN) or `absent` (the register holds nil, as Porcupine and faultline read it;
    /// the default for the other formats).
    #[arg(long, value_parser = parse_nil_read)]
    pub nil_read: Option<NilRead>,
    /// Whether values are Jepsen's independent `[key value]` tuples, each key checked alone:
    /// `auto` (when every invocation carries a pair the model can read), `yes` or `no`.
    #[arg(long, value_parser = parse_independence, default_value = "auto")]
    pub independent: Independence,
    /// Give up on a file after this many seconds, answering `unknown`.
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Write a self-contained HTML timeline of each file to this directory.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Threads for checking independent parts (keys) in parallel; 0: one per core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// History files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_nil_read(s: &str) -> Result<NilRead, String> {
    s.parse()
}

fn parse_independence(s: &str) -> Result<Independence, String> {
    s.parse()
}

fn parse_consistency(s: &str) -> Result<ConsistencyModel, String> {
    s.parse().map_err(|e: txn::UnknownModel| e.to_string())
}

/// One file, checked.
struct Checked {
    file: PathBuf,
    parsed: Parsed,
    outcome: Outcome,
    millis: f64,
}

/// What a checker answered.
enum Outcome {
    /// The report, and the conventions the history was read under.
    Linearizability(Report, Setup),
    Transactions(TxnReport),
    Bank(BankReport),
}

impl Outcome {
    fn verdict(&self) -> &Verdict {
        match self {
            Outcome::Linearizability(r, _) => &r.verdict,
            Outcome::Transactions(r) => &r.verdict,
            Outcome::Bank(r) => &r.verdict,
        }
    }

    /// Operations (linearizability) or transactions checked, and for linearizability the
    /// conventions that change the verdict: the independent keys, the meaning of nil reads.
    fn size(&self) -> String {
        match self {
            Outcome::Linearizability(r, setup) => {
                let mut words = vec![format!("{} ops", r.operations)];
                if setup.independent {
                    let keys = r.parts.len();
                    words.push(format!("{keys} independent key{}", if keys == 1 { "" } else { "s" }));
                }
                if let Some(n) = setup.nil_read {
                    words.push(format!("nil-read {n}"));
                }
                words.join(", ")
            }
            Outcome::Transactions(r) => format!("{} txns", r.stats.transactions),
            Outcome::Bank(r) => format!("{} reads", r.reads),
        }
    }
}

/// Runs the command and returns the exit code.
pub fn run(args: &Args) -> i32 {
    match check_all(args) {
        Ok(checked) => report(args, &checked),
        Err(message) => {
            eprintln!("faultline check: {message}");
            2
        }
    }
}

/// Reads and checks every file; the first error stops everything.
fn check_all(args: &Args) -> Result<Vec<Checked>, String> {
    if args.model == "bank" {
        return check_bank(args);
    }
    match args.model.parse::<Workload>() {
        Ok(workload) => check_transactions(args, workload),
        Err(_) => check_linearizability(args),
    }
}

/// The transactional checker on every file. Options that only mean something for
/// linearizability are refused rather than ignored.
fn check_transactions(args: &Args, workload: Workload) -> Result<Vec<Checked>, String> {
    let refused = [
        (args.init.is_some(), "--init"),
        (args.nil_read.is_some(), "--nil-read"),
        (args.independent != Independence::Auto, "--independent"),
        (args.timeout.is_some(), "--timeout (the transactional checker always decides)"),
        (args.html.is_some(), "--html"),
    ];
    if let Some((_, name)) = refused.iter().find(|(given, _)| *given) {
        return Err(format!("{name} does not apply to the transactional model {workload}"));
    }
    let mut options = TxnOptions::new(workload);
    if let Some(level) = args.consistency {
        options.model = level;
    }
    let mut checked = Vec::new();
    for file in &args.files {
        let parsed = read(file, args.format)?;
        let started = now();
        let report = txn::check(&parsed.history, &options).map_err(|e| format!("{}: {e}", file.display()))?;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        checked.push(Checked { file: file.clone(), parsed, outcome: Outcome::Transactions(report), millis });
    }
    Ok(checked)
}

/// The bank checker on every file; the options of the other checkers are refused.
fn check_bank(args: &Args) -> Result<Vec<Checked>, String> {
    let refused = [
        (args.consistency.is_some(), "--consistency"),
        (args.init.is_some(), "--init"),
        (args.nil_read.is_some(), "--nil-read"),
        (args.independent != Independence::Auto, "--independent"),
        (args.timeout.is_some(), "--timeout (the bank checker always decides)"),
        (args.html.is_some(), "--html"),
    ];
    if let Some((_, name)) = refused.iter().find(|(given, _)| *given) {
        return Err(format!("{name} does not apply to the bank model"));
    }
    let mut checked = Vec::new();
    for file in &args.files {
        let text = read_text(file)?;
        let parsed = bank::read(&text, args.format)
            .map_err(|e| format!("{}:{}: {}", file.display(), e.line, e.reason))?;
        let started = now();
        let report = bank::check(&parsed.history, &BankOptions::default()).map_err(|e| {
            match e.event_index().and_then(|i| parsed.line_of(i)) {
                Some(line) => format!("{}:{line}: {e}", file.display()),
                None => format!("{}: {e}", file.display()),
            }
        })?;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        checked.push(Checked { file: file.clone(), parsed, outcome: Outcome::Bank(report), millis });
    }
    Ok(checked)
}

/// The linearizability checker on every file.
fn check_linearizability(args: &Args) -> Result<Vec<Checked>, String> {
    if args.consistency.is_some() {
        return Err(format!(
            "--consistency applies to the transactional models (list-append, rw-register), not {}",
            args.model
        ));
    }
    let conventions = Conventions {
        init: args.init.as_deref().map(parse_init).transpose()?,
        nil_read: args.nil_read,
        independent: args.independent,
    };
    // Refuses an unknown model, or a convention it has no use for, before reading any file.
    conventions::setup(&args.model, &conventions, None, &History::new())?;
    let timeout = match args.timeout {
        Some(secs) if !(secs >= 0.0 && secs.is_finite()) => return Err(format!("bad --timeout {secs}")),
        t => t.map(Duration::from_secs_f64),
    };
    let options = Options {
        deadline: timeout,
        threads: args.threads,
        witness: args.html.is_some(),
        ..Options::default()
    };
    let mut checked = Vec::new();
    for file in &args.files {
        let parsed = read(file, args.format)?;
        let setup = conventions::setup(&args.model, &conventions, Some(parsed.format), &parsed.history)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let started = now();
        let report = lin::check(&setup.model, &parsed.history, &options).map_err(|e| {
            let line = e.event_index().and_then(|i| parsed.line_of(i));
            match line {
                Some(line) => format!("{}:{line}: {}", file.display(), e.reason()),
                None => format!("{}: {e}", file.display()),
            }
        })?;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        checked.push(Checked {
            file: file.clone(),
            parsed,
            outcome: Outcome::Linearizability(report, setup),
            millis,
        });
    }
    Ok(checked)
}

#[allow(clippy::disallowed_methods)] // the reported check time is wall-clock time
fn now() -> Instant {
    Instant::now()
}

fn parse_init(text: &str) -> Result<faultline_checkers::Value, String> {
    format::edn::parse_one(text)
        .map(|v| v.to_value())
        .map_err(|e| format!("bad --init `{text}`: {}", e.reason))
}

fn read_text(file: &Path) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    String::from_utf8(bytes).map_err(|e| format!("{}: not UTF-8 text: {e}", file.display()))
}

fn read(file: &Path, format: Option<Format>) -> Result<Parsed, String> {
    let text = read_text(file)?;
    format::parse(&text, format).map_err(|e| format!("{}:{}: {}", file.display(), e.line, e.reason))
}

/// Prints the results, writes the HTML pages, and returns the exit code.
fn report(args: &Args, checked: &[Checked]) -> i32 {
    if let Some(dir) = &args.html {
        if let Err(message) = write_pages(dir, checked) {
            eprintln!("faultline check: {message}");
            return 2;
        }
    }
    for c in checked {
        println!("{}", summary_line(c));
        print_details(&c.outcome);
    }
    let verdicts = || checked.iter().map(|c| c.outcome.verdict());
    if verdicts().any(Verdict::is_violation) {
        1
    } else if verdicts().any(|v| matches!(v, Verdict::Unknown(_))) {
        3
    } else {
        0
    }
}

/// The explanation under a file's line: why it is not linearizable, why it is unknown, or (for
/// transactions) the full report whenever it found anomalies.
fn print_details(outcome: &Outcome) {
    match outcome {
        Outcome::Linearizability(r, _) => match (&r.verdict, &r.explanation) {
            (Verdict::Violation(_), Some(e)) => print!("{e}"),
            (Verdict::Violation(why), None) => println!("  {why}"),
            (Verdict::Unknown(why), _) => println!("  {why}"),
            (Verdict::Ok, _) => {}
        },
        Outcome::Transactions(r) if !r.not.is_empty() || !r.verdict.is_ok() => print!("{r}"),
        Outcome::Transactions(_) => {}
        Outcome::Bank(r) if !r.verdict.is_ok() => print!("{r}"),
        Outcome::Bank(_) => {}
    }
}

fn summary_line(c: &Checked) -> String {
    let word = match c.outcome.verdict() {
        Verdict::Ok => "ok",
        Verdict::Violation(_) => "violation",
        Verdict::Unknown(_) => "unknown",
    };
    format!("{}: {word} ({}, {:.0} ms)", c.file.display(), c.outcome.size(), c.millis)
}

/// Writes one page per file as `DIR/<file name>.html` (numbered when names repeat). On a failure
/// the pages already written are removed.
fn write_pages(dir: &Path, checked: &[Checked]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let mut written: Vec<PathBuf> = Vec::new();
    for c in checked {
        let name = c.file.file_name().map_or("history".into(), |n| n.to_string_lossy().into_owned());
        let mut path = dir.join(format!("{name}.html"));
        let mut n = 1;
        while written.contains(&path) {
            n += 1;
            path = dir.join(format!("{name}-{n}.html"));
        }
        let Outcome::Linearizability(report, _) = &c.outcome else {
            continue; // refused up front: transactional checks have no timeline
        };
        let page = render(&c.parsed.history, report, &Annotations::default());
        if let Err(e) = std::fs::write(&path, page) {
            for w in &written {
                let _ = std::fs::remove_file(w);
            }
            return Err(format!("{}: cannot write: {e}", path.display()));
        }
        eprintln!("wrote {}", path.display());
        written.push(path);
    }
    Ok(())
}
