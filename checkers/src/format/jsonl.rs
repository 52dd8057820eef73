//! faultline's own history format: one [`Event`] as a JSON object per line.
//!
//! `{"process":0,"type":"invoke","f":"write","value":3,"time":1500}` where `type` is one of
//! `invoke`, `ok`, `fail`, `info`; `value` is any JSON value built from null, booleans,
//! integers, strings and arrays (it may be left out: null); `time` is in nanoseconds. Blank lines
//! are skipped; unknown fields are ignored so that the harness may add annotations.

use super::FormatError;
use crate::history::{Event, History};

/// Reads one event per non-blank line.
pub fn read(text: &str) -> Result<(Vec<Event>, Vec<usize>), FormatError> {
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(line).map_err(|e| FormatError::new(i + 1, e.to_string()))?;
        events.push(event);
        lines.push(i + 1);
    }
    Ok((events, lines))
}

/// Writes one event per line.
pub fn write(history: &History) -> String {
    let mut out = String::new();
    for e in &history.events {
        // Serialising an `Event` cannot fail: every field is plain data.
        out.push_str(&serde_json::to_string(e).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventKind, Value};

    #[test]
    fn round_trips_and_skips_blank_lines() {
        let h = History {
            events: vec![
                Event::invoke(1, "cas", vec![1i64, 2].into(), 5),
                Event::complete(1, EventKind::Fail, "cas", vec![1i64, 2].into(), 9),
            ],
        };
        let text = write(&h);
        let (events, lines) = read(&format!("\n{text}\n")).unwrap();
        assert_eq!(events, h.events);
        assert_eq!(lines, vec![2, 3]);
    }

    #[test]
    fn a_bad_line_is_an_error_naming_it() {
        let text = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"time\":0}\n{\"process\":0,\"type\":\"done\"}";
        let err = read(text).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.reason.contains("done") || err.reason.contains("variant"), "{}", err.reason);
        let (events, _) =
            read("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"time\":0,\"extra\":1}").unwrap();
        assert_eq!(events[0].value, Value::Nil);
    }
}
