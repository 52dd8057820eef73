//! Explanations of linearizability violations, as text and as an HTML timeline.
//!
//! An explanation follows Porcupine's and Knossos's reports: the smallest part of the history
//! that fails on its own, the longest prefix of it that is linearizable (one linearization of
//! it, in order, and the state it leaves), and the operation that cannot be placed after it,
//! with the states in which it was tried. [`html`] draws the same on a timeline.

pub mod html;

use std::fmt;

/// An operation as the explanation shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSummary {
    /// The operation's id in the history (its position in invocation order).
    pub id: usize,
    pub process: u64,
    /// What it did, in the model's words (`write 3`, `get "k" -> "ab"`).
    pub description: String,
}

impl fmt::Display for OpSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} (process {}: {})", self.id, self.process, self.description)
    }
}

/// Why a history is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The failing part: `key "3"`, or `the history` when the model does not partition.
    pub part: String,
    /// Operations in the failing part (after dropping failed ones).
    pub part_operations: usize,
    /// Their ids in the history.
    pub part_op_ids: Vec<usize>,
    /// The operation that cannot be linearized: it returned, but no order of the operations
    /// in flight lets it take effect first.
    pub failing: OpSummary,
    /// States in which the failing operation was tried (at most a few), and how many in all.
    pub tried_states: Vec<String>,
    pub tried_state_count: usize,
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<OpSummary>,
    /// The model state after the prefix.
    pub state_after_prefix: String,
    /// Operations in flight at the failure that the prefix leaves out.
    pub in_flight: Vec<OpSummary>,
}

/// How many prefix steps the text shows (the last ones: those closest to the failure).
const PREFIX_SHOWN: usize = 20;

impl Explanation {
    /// One line for a verdict: which operation in which part.
    pub fn summary(&self) -> String {
        format!("{}: operation {} cannot be linearized", self.part, self.failing)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "not linearizable: {} ({} operations, failed ones left out) fails on its own",
            self.part, self.part_operations
        )?;
        writeln!(
            f,
            "  operation {} returned, but no order of the operations in flight lets it take effect first",
            self.failing
        )?;
        let more = self.tried_state_count.saturating_sub(self.tried_states.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        writeln!(f, "  it was tried in state(s): {}{more}", self.tried_states.join(", "))?;
        writeln!(f, "  longest linearizable prefix: {} operation(s)", self.prefix.len())?;
        let skipped = self.prefix.len().saturating_sub(PREFIX_SHOWN);
        if skipped > 0 {
            writeln!(f, "    ... {skipped} earlier operation(s)")?;
        }
        for (i, op) in self.prefix.iter().enumerate().skip(skipped) {
            writeln!(f, "    {:>4}. {op}", i + 1)?;
        }
        writeln!(f, "  state after the prefix: {}", self.state_after_prefix)?;
        if !self.in_flight.is_empty() {
            writeln!(f, "  also in flight, not linearized in the prefix:")?;
            for op in &self.in_flight {
                writeln!(f, "    {op}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: usize, description: &str) -> OpSummary {
        OpSummary { id, process: id as u64 % 3, description: description.into() }
    }

    #[test]
    fn text_names_the_part_the_operation_the_prefix_and_the_states() {
        let e = Explanation {
            part: "key \"3\"".into(),
            part_operations: 30,
            part_op_ids: (0..30).collect(),
            failing: op(7, "read -> 4"),
            tried_states: vec!["1".into(), "3".into()],
            tried_state_count: 5,
            prefix: (0..25).map(|i| op(i, "write 1")).collect(),
            state_after_prefix: "3".into(),
            in_flight: vec![op(8, "write 4")],
        };
        let text = e.to_string();
        assert!(text.contains("key \"3\" (30 operations,"), "{text}");
        assert!(text.contains("#7 (process 1: read -> 4)"), "{text}");
        assert!(text.contains("1, 3 and 3 more"), "{text}");
        assert!(text.contains("... 5 earlier"), "{text}");
        assert!(text.contains("  25. #24"), "{text}");
        assert!(text.contains("#8 (process 2: write 4)"), "{text}");
        assert_eq!(e.summary(), "key \"3\": operation #7 (process 1: read -> 4) cannot be linearized");
    }
}
