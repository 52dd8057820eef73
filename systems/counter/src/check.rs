//! Exact bounds on a counter history, checkable in O(n log n) without a search.
//!
//! For every successful read of value v: v is at least the sum of the increments acknowledged
//! before the read was invoked (they must be visible), and at most the sum of the increments
//! invoked before the read returned and not known to have failed (nothing else can be visible).
//! With non-negative increments this is a necessary condition of linearizability; the last reads
//! of a run (after the heal) bound the final value between the acknowledged and the attempted
//! sums.

use faultline_checkers::{History, Operation, Status, Verdict};

/// Checks the bounds; `f` names are `incr` (value = delta) and `read` (ok value = the count).
pub fn check_bounds(history: &History) -> Verdict {
    let ops = match history.operations() {
        Ok(ops) => ops,
        Err(e) => return Verdict::Violation(format!("ill-formed history: {e}")),
    };
    let incrs: Vec<&Operation> = ops.iter().filter(|o| o.f == "incr").collect();
    for read in ops.iter().filter(|o| o.f == "read" && o.status == Status::Ok) {
        let Some(value) = read.output.as_ref().and_then(|v| v.as_int()) else {
            return Verdict::Violation(format!("read {} returned a non-integer", read.id));
        };
        let acked: i64 = incrs
            .iter()
            .filter(|i| i.status == Status::Ok && i.complete_index.is_some_and(|c| c < read.invoke_index))
            .map(|i| delta(i))
            .sum();
        let complete = read.complete_index.unwrap_or(usize::MAX);
        let attempted: i64 = incrs
            .iter()
            .filter(|i| i.status != Status::Fail && i.invoke_index < complete)
            .map(|i| delta(i))
            .sum();
        if value < acked {
            return Verdict::Violation(format!(
                "read {} (process {}) returned {value}, but increments summing to {acked} were acknowledged before it began",
                read.id, read.process
            ));
        }
        if value > attempted {
            return Verdict::Violation(format!(
                "read {} (process {}) returned {value}, but only {attempted} had been attempted when it returned",
                read.id, read.process
            ));
        }
    }
    Verdict::Ok
}

fn delta(op: &Operation) -> i64 {
    op.input.as_int().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::{Event, EventKind, Value};

    fn history(events: &[(u64, EventKind, &str, Value)]) -> History {
        let mut h = History::new();
        for (i, (p, k, f, v)) in events.iter().enumerate() {
            h.push(Event { process: *p, kind: *k, f: f.to_string(), value: v.clone(), time: i as u64 });
        }
        h
    }

    use EventKind::*;

    #[test]
    fn a_read_that_misses_an_acknowledged_increment_is_a_violation() {
        let h = history(&[
            (0, Invoke, "incr", 5.into()),
            (0, Ok, "incr", 5.into()),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", 0.into()),
        ]);
        assert!(check_bounds(&h).is_violation());
    }

    #[test]
    fn a_read_beyond_what_was_attempted_is_a_violation() {
        let h = history(&[
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", 3.into()),
            (0, Invoke, "incr", 3.into()),
            (0, Ok, "incr", 3.into()),
        ]);
        assert!(check_bounds(&h).is_violation());
    }

    #[test]
    fn concurrent_and_unknown_increments_may_or_may_not_be_seen() {
        let h = history(&[
            (0, Invoke, "incr", 2.into()),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", 2.into()),
            (0, Info, "incr", Value::Nil),
            (2, Invoke, "read", Value::Nil),
            (2, Ok, "read", 0.into()),
        ]);
        // The second read seeing 0 after the first saw 2 is not caught by bounds (it needs the
        // linearizability checker), but neither read is out of bounds.
        assert_eq!(check_bounds(&h), Verdict::Ok);
    }
}
