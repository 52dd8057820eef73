//! Porcupine's test logs (github.com/anishathalye/porcupine, `test_data/`).
//!
//! **Jepsen etcd logs** (`jepsen/etcd_NNN.log`) are the `jepsen.util` lines of Jepsen's 2014-era
//! etcd test: `INFO  jepsen.util - <process>\t:<type>\t:<f>\t<value>` with values `nil`, an
//! integer, `[from to]` or `:timed-out`. Events are timed by their line order. Porcupine reads
//! `:fail` with the value `:timed-out` as an operation whose outcome is unknown (the client gave
//! up; etcd may still apply it), so this reader turns it into an `info` completion; every other
//! `:fail` stays a failure (for a `cas`: the compare did not match, nothing was written).
//! `:nemesis` lines are skipped.
//!
//! **Key-value logs** (`kv/cNN-{ok,bad}.txt`) are EDN op maps with a separate `:key`; they are
//! read by the op-map reader with the key folded into the value (see `format::ops`).

use super::edn::{self, write_name, write_value};
use super::{ops, FormatError};
use crate::history::{Event, EventKind, History, Value};
use std::fmt::Write as _;

const MARKER: &str = "jepsen.util - ";

/// Reads a Jepsen etcd log.
pub fn read_etcd(text: &str) -> Result<(Vec<Event>, Vec<usize>), FormatError> {
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(event) = etcd_line(line, i + 1)? {
            let time = events.len() as u64;
            events.push(Event { time, ..event });
            lines.push(i + 1);
        }
    }
    Ok((events, lines))
}

fn etcd_line(line: &str, number: usize) -> Result<Option<Event>, FormatError> {
    let err = |reason: &str| FormatError::new(number, reason.to_string());
    let Some(at) = line.find(MARKER) else { return Err(err("expected a `jepsen.util - ` log line")) };
    let rest = line[at + MARKER.len()..].trim();
    let (process, rest) = split_field(rest);
    let (kind, rest) = split_field(rest);
    let (f, value) = split_field(rest);
    if process == ":nemesis" {
        return Ok(None);
    }
    let process: u64 = process.parse().map_err(|_| err("expected a process number"))?;
    let kind = match kind {
        ":invoke" => EventKind::Invoke,
        ":ok" => EventKind::Ok,
        ":fail" => EventKind::Fail,
        ":info" => EventKind::Info,
        _ => return Err(err("expected :invoke, :ok, :fail or :info")),
    };
    let Some(f) = f.strip_prefix(':').filter(|f| !f.is_empty()) else {
        return Err(err("expected a :function"));
    };
    let value = edn::parse_one(value).map_err(|e| err(&format!("bad value: {}", e.reason)))?.to_value();
    let kind =
        if kind == EventKind::Fail && value == Value::from("timed-out") { EventKind::Info } else { kind };
    Ok(Some(Event { process, kind, f: f.to_string(), value, time: 0 }))
}

/// Splits off the first whitespace-separated field.
fn split_field(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// Writes a history as a Jepsen etcd log (values as EDN, strings as keywords where possible).
pub fn write_etcd(history: &History) -> String {
    let mut out = String::new();
    for e in &history.events {
        let _ = write!(out, "INFO  {MARKER}{}\t:{}\t:{}\t", e.process, edn::kind_name(e.kind), e.f);
        match &e.value {
            Value::Str(s) if edn::is_keyword_safe(s) => write_name(&mut out, s),
            v => write_value(&mut out, v),
        }
        out.push('\n');
    }
    out
}

/// Writes a history whose values are `[key value]` pairs as a Porcupine key-value log.
/// An event whose value is not such a pair is written with `:key nil` and the whole value.
pub fn write_kv(history: &History) -> String {
    let mut out = String::new();
    for e in &history.events {
        let (key, value) = match e.value.as_list() {
            Some([k, v]) => (k.clone(), v.clone()),
            _ => (Value::Nil, e.value.clone()),
        };
        let _ = write!(out, "{{:process {}, :type :{}, :f ", e.process, edn::kind_name(e.kind));
        write_name(&mut out, &e.f);
        out.push_str(", :key ");
        write_value(&mut out, &key);
        out.push_str(", :value ");
        write_value(&mut out, &value);
        out.push_str("}\n");
    }
    out
}

/// Reads a Porcupine key-value log.
pub fn read_kv(text: &str) -> Result<(Vec<Event>, Vec<usize>), FormatError> {
    ops::read_op_maps(text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_etcd_lines_with_trailing_blanks() {
        let text = "INFO  jepsen.util - 2\t:invoke\t:cas\t[2 4]  \n\
                    INFO  jepsen.util - 2\t:ok\t:cas\t[2 4]\n\
                    INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 3\t:fail\t:read\t:timed-out\n\
                    INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n";
        let (events, lines) = read_etcd(text).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(events[0].value, Value::from(vec![2i64, 4]));
        assert_eq!(events[3].kind, EventKind::Info, "a timed-out failure has an unknown outcome");
        assert_eq!(events.iter().map(|e| e.time).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(lines, vec![1, 2, 3, 4]);
    }

    #[test]
    fn bad_etcd_lines_are_errors() {
        assert_eq!(read_etcd("\nhello").unwrap_err().line, 2);
        assert!(read_etcd("INFO  jepsen.util - x\t:ok\t:read\t1").unwrap_err().reason.contains("process"));
        assert!(read_etcd("INFO  jepsen.util - 1\t:done\t:read\t1").is_err());
        assert!(read_etcd("INFO  jepsen.util - 1\t:ok\t:read\t[1").unwrap_err().reason.contains("bad value"));
    }

    #[test]
    fn etcd_and_kv_logs_round_trip() {
        let h = History {
            events: vec![
                Event::invoke(0, "write", 3.into(), 0),
                Event::complete(0, EventKind::Info, "write", "timed-out".into(), 1),
            ],
        };
        assert_eq!(read_etcd(&write_etcd(&h)).unwrap().0, h.events);
        let kv = History {
            events: vec![
                Event::invoke(4, "get", vec![Value::from("1"), Value::Nil].into(), 0),
                Event::complete(4, EventKind::Ok, "get", vec!["1", "x 1 y"].into(), 1),
            ],
        };
        assert_eq!(read_kv(&write_kv(&kv)).unwrap().0, kv.events);
    }
}
