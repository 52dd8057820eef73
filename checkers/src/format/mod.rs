//! History file formats: read a history from text, write it back, guess which format a file is.
//!
//! - [`jsonl`]: faultline's own format, one [`Event`] as JSON per line (what the harness writes).
//! - [`edn`]: Jepsen, Knossos and Elle EDN histories (a vector of op maps or a stream of them).
//! - [`porcupine`]: Porcupine's test logs: the Jepsen etcd logs (`jepsen.util` lines) and the
//!   key-value logs (EDN op maps with a separate `:key`).
//!
//! Every reader returns the history together with the source line of each event, so that an
//! ill-formed history (found later, when operations are paired) can still be reported with a
//! line. A malformed file is a [`FormatError`] naming the line and the reason, never a panic.

pub mod edn;
pub mod jsonl;
mod ops;
pub mod porcupine;

use crate::history::{Event, History, Value};
use crate::model::NilRead;
use std::fmt;
use std::str::FromStr;

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// faultline's JSON lines: `{"process":0,"type":"invoke","f":"read","value":null,"time":1}`.
    Jsonl,
    /// Jepsen/Knossos/Elle EDN: `{:process 0, :type :invoke, :f :read, :value nil}`.
    Edn,
    /// Porcupine's Jepsen etcd logs: `INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]`.
    PorcupineEtcd,
    /// Porcupine's key-value logs: `{:process 0, :type :invoke, :f :get, :key "3", :value nil}`.
    PorcupineKv,
}

/// A history read from text.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub history: History,
    /// The 1-based source line of each event of `history`.
    pub lines: Vec<usize>,
    pub format: Format,
}

impl Parsed {
    /// The source line of event `index`, for error messages.
    pub fn line_of(&self, index: usize) -> Option<usize> {
        self.lines.get(index).copied()
    }
}

/// Why a file could not be read as a history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct FormatError {
    pub line: usize,
    pub reason: String,
}

impl FormatError {
    pub fn new(line: usize, reason: impl Into<String>) -> Self {
        FormatError { line, reason: reason.into() }
    }
}

impl From<edn::EdnError> for FormatError {
    fn from(e: edn::EdnError) -> Self {
        FormatError { line: e.line, reason: e.reason }
    }
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Jsonl, Format::Edn, Format::PorcupineEtcd, Format::PorcupineKv];

    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::PorcupineEtcd => "porcupine-etcd",
            Format::PorcupineKv => "porcupine-kv",
        }
    }

    /// The initial value this format's source assumes for every register or key, if it is not
    /// nil: Porcupine's key-value model reads a missing key as the empty string.
    pub fn default_init(self) -> Option<Value> {
        match self {
            Format::PorcupineKv => Some(Value::Str(String::new())),
            _ => None,
        }
    }

    /// What an ok read of nil means in histories of this format, unless told otherwise: the
    /// meaning of the checker that format's histories were recorded for. Knossos (Jepsen's EDN)
    /// reads it as an unknown value; Porcupine's models, and faultline's own histories, as a
    /// register holding nil.
    pub fn default_nil_read(self) -> NilRead {
        match self {
            Format::Edn => NilRead::Any,
            Format::Jsonl | Format::PorcupineEtcd | Format::PorcupineKv => NilRead::Absent,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            format!("unknown format `{s}` (expected one of: jsonl, edn, porcupine-etcd, porcupine-kv)")
        })
    }
}

/// Guesses the format from the first meaningful line of `text` (blank lines and `;` comments
/// are skipped). Empty text guesses as [`Format::Jsonl`] (an empty history in any format).
pub fn guess(text: &str) -> Format {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with(';'));
    let Some(first) = first else { return Format::Jsonl };
    if first.starts_with("{\"") || first.starts_with("{ \"") || first == "{" {
        Format::Jsonl
    } else if first.contains("jepsen.util") {
        Format::PorcupineEtcd
    } else if first.starts_with('{') && first.contains(":key ") {
        Format::PorcupineKv
    } else {
        Format::Edn
    }
}

/// Reads `text` in `format`, or in the guessed format when `format` is `None`.
pub fn parse(text: &str, format: Option<Format>) -> Result<Parsed, FormatError> {
    let format = format.unwrap_or_else(|| guess(text));
    let (events, lines) = match format {
        Format::Jsonl => jsonl::read(text)?,
        Format::Edn => ops::read_op_maps(text, false)?,
        Format::PorcupineEtcd => porcupine::read_etcd(text)?,
        Format::PorcupineKv => porcupine::read_kv(text)?,
    };
    Ok(Parsed { history: History { events }, lines, format })
}

/// Writes `history` in `format`; [`parse`] reads the result back to the same events, except
/// where a format cannot carry a field (Porcupine logs have no times: events are numbered).
pub fn write(history: &History, format: Format) -> String {
    match format {
        Format::Jsonl => jsonl::write(history),
        Format::Edn => write_edn(&history.events),
        Format::PorcupineEtcd => porcupine::write_etcd(history),
        Format::PorcupineKv => porcupine::write_kv(history),
    }
}

fn write_edn(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        edn::write_event(&mut out, e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_each_format_from_its_first_line() {
        assert_eq!(guess("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"time\":0}"), Format::Jsonl);
        assert_eq!(guess("INFO  jepsen.util - 4\t:invoke\t:read\tnil"), Format::PorcupineEtcd);
        assert_eq!(
            guess("{:process 2, :type :invoke, :f :get, :key \"0\", :value nil}"),
            Format::PorcupineKv
        );
        assert_eq!(guess("; comment\n\n{:type :invoke, :f :txn}"), Format::Edn);
        assert_eq!(guess("[{:type :invoke}]"), Format::Edn);
        assert_eq!(guess(""), Format::Jsonl);
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert!("xml".parse::<Format>().unwrap_err().contains("unknown format"));
    }
}
