//! Jepsen op maps (`{:process 0, :type :invoke, :f :read, :value nil, :time 12}`) to events.
//!
//! Shared by the EDN reader and Porcupine's key-value logs. The fields read are `:process`,
//! `:type`, `:f`, `:value` and `:time`; `:index` and any other key are ignored. Where Jepsen
//! tooling leaves a field out, the reader falls back the way those tools behave:
//! - no `:time` on some op: every event is timed by its position in the file instead;
//! - a `:time` earlier than the previous op's: raised to it. The order of the file is the
//!   history's real-time order (Jepsen appends ops as they happen, but reads clients' clocks
//!   concurrently, so Knossos's own test histories have times a few microseconds out of order);
//! - no `:process`: process 0 (Elle's hand-written example histories omit it and are sequential);
//! - no `:f`: `txn` (the same histories are all transactions);
//! - a non-integer `:process` (Jepsen's `:nemesis`): the op is not a client operation and is
//!   skipped;
//! - an `:info` op from a process with no operation in flight: a note, not a completion (Jepsen
//!   logs such ops, and Knossos pairs an `:info` only with an open invocation), so it is skipped.
//!
//! Porcupine's key-value logs carry the key in its own `:key` field; with `fold_key` the key is
//! folded into the value as `[key value]`, the key-value model's convention (which is also how
//! Jepsen's `independent` workloads write keyed values).

use super::edn::{self, Edn};
use super::FormatError;
use crate::history::{Event, EventKind, Value};
use std::collections::BTreeSet;

/// Reads a history of op maps, returning the events and the line of each.
pub(crate) fn read_op_maps(text: &str, fold_key: bool) -> Result<(Vec<Event>, Vec<usize>), FormatError> {
    let items = edn::parse_items(text)?;
    let mut events = Vec::with_capacity(items.len());
    let mut lines = Vec::with_capacity(items.len());
    let mut all_timed = true;
    let mut in_flight = BTreeSet::new();
    for item in items {
        let line = item.line;
        let Some((event, timed)) = event_from_map(item.form, line, fold_key)? else { continue };
        let completes = match event.kind {
            EventKind::Invoke => !in_flight.insert(event.process),
            _ => in_flight.remove(&event.process),
        };
        if event.kind == EventKind::Info && !completes {
            continue;
        }
        all_timed &= timed;
        events.push(event);
        lines.push(line);
    }
    let mut previous = 0;
    for (i, e) in events.iter_mut().enumerate() {
        e.time = if all_timed { e.time.max(previous) } else { i as u64 };
        previous = e.time;
    }
    Ok((events, lines))
}

/// Converts one op map; `None` for a non-client op. The flag says whether it had a `:time`.
fn event_from_map(mut form: Edn, line: usize, fold_key: bool) -> Result<Option<(Event, bool)>, FormatError> {
    if !matches!(form, Edn::Map(_)) {
        return Err(FormatError::new(line, "expected an op map `{:type ... :f ... :value ...}`"));
    }
    let Some(process) = process(&form, line)? else { return Ok(None) };
    let kind = kind(&form, line)?;
    let f = match form.get("f") {
        None => "txn".to_string(),
        Some(Edn::Keyword(s) | Edn::Str(s) | Edn::Symbol(s)) => s.clone(),
        Some(other) => return Err(FormatError::new(line, format!(":f must be a keyword, found {other:?}"))),
    };
    let mut value = form.take("value").map(Edn::into_value).unwrap_or(Value::Nil);
    if fold_key {
        let Some(key) = form.take("key") else { return Err(FormatError::new(line, "op map without :key")) };
        value = Value::List(vec![key.into_value(), value]);
    }
    let (time, timed) = match form.get("time") {
        None => (0, false),
        Some(Edn::Int(t)) if *t >= 0 => (*t as u64, true),
        Some(other) => {
            return Err(FormatError::new(
                line,
                format!(":time must be a non-negative integer, found {other:?}"),
            ))
        }
    };
    Ok(Some((Event { process, kind, f, value, time }, timed)))
}

fn process(form: &Edn, line: usize) -> Result<Option<u64>, FormatError> {
    match form.get("process") {
        None => Ok(Some(0)),
        Some(Edn::Int(p)) if *p >= 0 => Ok(Some(*p as u64)),
        Some(Edn::Int(p)) => Err(FormatError::new(line, format!(":process must not be negative, found {p}"))),
        Some(_) => Ok(None),
    }
}

fn kind(form: &Edn, line: usize) -> Result<EventKind, FormatError> {
    let Some(t) = form.get("type") else { return Err(FormatError::new(line, "op map without :type")) };
    match t {
        Edn::Keyword(k) | Edn::Str(k) => match k.as_str() {
            "invoke" => Ok(EventKind::Invoke),
            "ok" => Ok(EventKind::Ok),
            "fail" => Ok(EventKind::Fail),
            "info" => Ok(EventKind::Info),
            _ => {
                Err(FormatError::new(line, format!("unknown :type :{k} (expected invoke, ok, fail or info)")))
            }
        },
        other => Err(FormatError::new(line, format!(":type must be a keyword, found {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_knossos_vector_with_nemesis_ops() {
        let text = "[{:process 0, :type :invoke, :f :write, :value 3, :time 10}\n\
                    {:process :nemesis, :type :info, :f :start, :value nil, :time 11}\n\
                    {:process 0, :type :ok, :f :write, :value 3, :time 12}]";
        let (events, lines) = read_op_maps(text, false).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(lines, vec![1, 3]);
        assert_eq!(events[1], Event::complete(0, EventKind::Ok, "write", Value::Int(3), 12));
    }

    #[test]
    fn an_info_without_an_invocation_is_skipped() {
        let text = "{:process 3, :type :info, :f :start, :value nil}\n\
                    {:process 3, :type :invoke, :f :read, :value nil}\n\
                    {:process 3, :type :info, :f :read, :value nil}\n\
                    {:process 3, :type :info, :f :read, :value nil}";
        let (events, lines) = read_op_maps(text, false).unwrap();
        assert_eq!(lines, vec![2, 3], "the info that completes the read is kept, the others not");
        assert_eq!(events[1].kind, EventKind::Info);
        let orphan_ok = read_op_maps("{:process 3, :type :ok, :f :read, :value 1}", false).unwrap();
        assert_eq!(orphan_ok.0.len(), 1, "an ok without an invocation stays, for pairing to reject");
    }

    #[test]
    fn missing_time_process_and_f_fall_back() {
        let text =
            "{:index 0 :type :invoke :value [[:append 1 2]]}\n{:index 1 :type :ok :value [[:append 1 2]]}";
        let (events, _) = read_op_maps(text, false).unwrap();
        assert_eq!(events[0].process, 0);
        assert_eq!(events[0].f, "txn");
        assert_eq!((events[0].time, events[1].time), (0, 1));
        assert_eq!(
            events[1].value,
            Value::from(vec![Value::from(vec![Value::from("append"), 1.into(), 2.into()])])
        );
    }

    #[test]
    fn times_out_of_order_are_raised_to_keep_file_order() {
        let text = "{:type :invoke, :f :read, :time 10}\n{:type :ok, :f :read, :value 1, :time 7}";
        let (events, _) = read_op_maps(text, false).unwrap();
        assert_eq!((events[0].time, events[1].time), (10, 10));
    }

    #[test]
    fn folds_porcupine_keys_into_values() {
        let (events, _) =
            read_op_maps("{:process 1, :type :invoke, :f :put, :key \"7\", :value \"x\"}", true).unwrap();
        assert_eq!(events[0].value, Value::from(vec!["7", "x"]));
        assert!(read_op_maps("{:process 1, :type :invoke, :f :put}", true).is_err());
    }

    #[test]
    fn bad_fields_are_errors_with_lines() {
        let err = read_op_maps("{:type :invoke}\n{:type :done}", false).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.reason.contains(":type :done"));
        assert!(read_op_maps("{:f :read}", false).unwrap_err().reason.contains("without :type"));
        assert!(read_op_maps("[1 2]", false).unwrap_err().reason.contains("op map"));
        assert!(read_op_maps("{:type :ok :time -1}", false).is_err());
    }
}
