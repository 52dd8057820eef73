//! Two-phase commit's atomic commitment properties (Bernstein, Hadzilacos and Goodman,
//! "Concurrency Control and Recovery in Database Systems", 1987, section 7.2, AC1 to AC3),
//! checked on what nodes record as they go.
//!
//! A two-phase commit crate reports, after each step of each node, the facts the node recorded
//! in that step: a participant voted yes for a transaction (its PREPARED record is written), a
//! node decided a transaction's outcome (a participant recorded COMMIT or ABORT, the coordinator
//! decided), and the coordinator decided to commit with a given set of participants. A node that
//! restarts reports again what it recovered. Facts are plain data, so the checkers depend on
//! nothing in the workspace and can be fed hand-built sequences.
//!
//! Modules, one property each:
//! - [`atomicity`]: AC1, all nodes that decide a transaction decide alike.
//! - [`irreversible`]: AC2, no node reverses a decision.
//! - [`validity`]: AC3, the coordinator commits only if every participant voted yes.

pub mod atomicity;
pub mod irreversible;
pub mod validity;

pub use atomicity::Atomicity;
pub use irreversible::Irreversible;
pub use validity::Validity;

use super::InvariantSet;
use crate::Verdict;
use std::fmt;

/// A transaction's identity: (coordinator epoch, sequence number), or any pair that names it.
pub type Txn = (u64, u64);

/// A commit decision.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Commit,
    Abort,
}

/// What a node recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A participant voted yes: it is prepared to commit whichever way the decision goes.
    VotedYes,
    /// The node decided the transaction's outcome (a participant recorded it; the coordinator
    /// decided it).
    Decided(Outcome),
    /// The coordinator decided to commit a transaction of these participants.
    CommitDecided { participants: Vec<u32> },
}

/// One fact: node `node` recorded `event` about `txn` at `time` (nanoseconds of the run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub node: u32,
    pub time: u64,
    pub txn: Txn,
    pub event: Event,
}

impl Fact {
    /// `n3 at 1.204 s`.
    pub fn label(&self) -> String {
        format!("n{} at {:.3} s", self.node, self.time as f64 / 1e9)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Commit => "commit",
            Outcome::Abort => "abort",
        })
    }
}

/// `(epoch, seq)` as `t3.17`.
pub fn txn_name(txn: Txn) -> String {
    format!("t{}.{}", txn.0, txn.1)
}

/// The three properties at once.
pub struct TwoPcInvariants {
    set: InvariantSet<Fact>,
}

impl Default for TwoPcInvariants {
    fn default() -> Self {
        let set = InvariantSet::new()
            .with("atomicity (AC1: all who decide decide alike)", Atomicity::default())
            .with("no decision reversed (AC2)", Irreversible::default())
            .with("commit only if all voted yes (AC3)", Validity::default());
        TwoPcInvariants { set }
    }
}

impl TwoPcInvariants {
    /// Feeds the next fact.
    pub fn observe(&mut self, fact: &Fact) {
        self.set.observe(fact);
    }

    /// Each property's name and verdict.
    pub fn verdicts(&self) -> Vec<(&'static str, Verdict)> {
        self.set.verdicts()
    }

    /// `Ok` when every property holds, else the first violation, prefixed with its name.
    pub fn verdict(&self) -> Verdict {
        self.set.verdict()
    }
}

#[cfg(test)]
pub(crate) mod build {
    use super::*;

    pub fn voted(node: u32, time: u64, txn: Txn) -> Fact {
        Fact { node, time, txn, event: Event::VotedYes }
    }

    pub fn decided(node: u32, time: u64, txn: Txn, outcome: Outcome) -> Fact {
        Fact { node, time, txn, event: Event::Decided(outcome) }
    }

    pub fn commit(node: u32, time: u64, txn: Txn, participants: &[u32]) -> Fact {
        Fact { node, time, txn, event: Event::CommitDecided { participants: participants.to_vec() } }
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    #[test]
    fn a_clean_commit_and_an_abort_pass_all_three() {
        let mut all = TwoPcInvariants::default();
        let facts = [
            voted(1, 1, (1, 1)),
            voted(2, 2, (1, 1)),
            commit(0, 3, (1, 1), &[1, 2]),
            decided(0, 3, (1, 1), Outcome::Commit),
            decided(1, 4, (1, 1), Outcome::Commit),
            decided(0, 5, (1, 2), Outcome::Abort),
            decided(2, 6, (1, 2), Outcome::Abort),
        ];
        facts.iter().for_each(|f| all.observe(f));
        assert_eq!(all.verdict(), Verdict::Ok);
        assert_eq!(all.verdicts().len(), 3);
    }
}
