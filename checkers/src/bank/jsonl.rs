//! Bank histories as JSON lines whose values may be JSON objects.
//!
//! faultline's JSON-lines format (`crate::format::jsonl`) carries values built from null,
//! booleans, integers, strings and arrays, which is how faultline writes a bank history (a map
//! as the list of its pairs). Bank histories written by other tools put maps in JSON objects:
//! `{"f":"transfer","value":{"from":0,"to":1,"amount":5}}`, `{"f":"read","value":{"0":10,"1":10}}`.
//! This reader accepts both: an object becomes the list of its `[key value]` pairs (in key
//! order), as an EDN map does; a key that is an integer in decimal (`"0"`, `"-3"`)
//! becomes that integer, since JSON can only name keys with strings and accounts are integers
//! everywhere else. Every other field is read as the JSON-lines format reads it.

use crate::format::{Format, FormatError, Parsed};
use crate::history::{Event, History};
use serde_json::Value as Json;

/// Reads one event per non-blank line.
pub fn read(text: &str) -> Result<Parsed, FormatError> {
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut json: Json =
            serde_json::from_str(line).map_err(|e| FormatError::new(i + 1, e.to_string()))?;
        if let Some(value) = json.get_mut("value") {
            *value = pairs(value.take());
        }
        let event: Event =
            serde_json::from_value(json).map_err(|e| FormatError::new(i + 1, e.to_string()))?;
        events.push(event);
        lines.push(i + 1);
    }
    Ok(Parsed { history: History { events }, lines, format: Format::Jsonl })
}

/// `value` with every object turned into the array of its `[key value]` pairs.
fn pairs(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            Json::Array(map.into_iter().map(|(k, v)| Json::Array(vec![key(k), pairs(v)])).collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(pairs).collect()),
        other => other,
    }
}

fn key(k: String) -> Json {
    match k.parse::<i64>() {
        Ok(n) if n.to_string() == k => Json::from(n),
        _ => Json::String(k),
    }
}
