//! Protocol invariants: properties of the node states a run observed.
//!
//! A history checker (linearizability, transactions) sees only what clients were told; these
//! checkers see inside the nodes. A protocol crate turns its state into plain observation
//! records after each step, and each property is an incremental checker ([`Invariant`]) fed
//! those records in the order they were taken, so a long run never needs them all in memory at
//! once. An [`InvariantSet`] runs several properties under their names and keeps each one's
//! first violation.
//!
//! Modules:
//! - [`log`]: properties of any replicated log over (epoch, position): election safety, log
//!   matching, leader completeness, state machine safety, leader append-only.
//! - [`paxos`]: Multi-Paxos's own properties over observations of slots and ballots: agreement,
//!   stability (P2b), validity, promise monotonicity, unique proposals.
//! - [`raft`]: Raft's five properties (Ongaro and Ousterhout, 2014, Figure 3) as one set.
//! - [`zab`]: Zab's properties (DSN 2011; `Zab.tla` in ZooKeeper's specifications): the
//!   replicated-log ones under Zab's names, and integrity, agreement, total order, local and
//!   global primary order and primary integrity, one module each.
//! - [`sharding`]: a sharded store serves each key from one group per configuration epoch.
//! - [`twopc`]: two-phase commit's atomic commitment properties (AC1 to AC3 of Bernstein,
//!   Hadzilacos and Goodman, 1987) over the facts nodes record.
//! - [`tcc`]: TCC's properties: conservation counting frozen funds and money in flight, no
//!   negative balance, a uniform outcome per transaction.

pub mod log;
pub mod paxos;
pub mod raft;
pub mod sharding;
pub mod tcc;
pub mod twopc;
pub mod zab;

use crate::Verdict;

/// One property, checked incrementally over a sequence of observations of type `O`.
pub trait Invariant<O> {
    /// Checks the next observation (observations arrive in the order they were taken); `Err`
    /// carries the evidence of a violation.
    fn check(&mut self, obs: &O) -> Result<(), String>;
}

/// A named property and its first violation; later observations are not checked.
struct Monitor<O> {
    name: &'static str,
    invariant: Box<dyn Invariant<O> + Send>,
    violation: Option<String>,
}

/// Several properties over one kind of observation, each under its name.
pub struct InvariantSet<O> {
    monitors: Vec<Monitor<O>>,
}

impl<O> Default for InvariantSet<O> {
    fn default() -> Self {
        InvariantSet { monitors: Vec::new() }
    }
}

impl<O> InvariantSet<O> {
    /// An empty set.
    pub fn new() -> Self {
        InvariantSet::default()
    }

    /// Adds `invariant` under `name` (the name reports use: "election safety").
    pub fn with(mut self, name: &'static str, invariant: impl Invariant<O> + Send + 'static) -> Self {
        self.monitors.push(Monitor { name, invariant: Box::new(invariant), violation: None });
        self
    }

    /// Feeds the next observation to every property that has not failed yet.
    pub fn observe(&mut self, obs: &O) {
        for m in &mut self.monitors {
            if m.violation.is_none() {
                m.violation = m.invariant.check(obs).err();
            }
        }
    }

    /// Each property's name and verdict.
    pub fn verdicts(&self) -> Vec<(&'static str, Verdict)> {
        self.monitors.iter().map(|m| (m.name, verdict(&m.violation))).collect()
    }

    /// `Ok` when every property holds, else the first violation, prefixed with its name.
    pub fn verdict(&self) -> Verdict {
        match self.monitors.iter().find_map(|m| m.violation.as_ref().map(|v| (m.name, v))) {
            Some((name, why)) => Verdict::Violation(format!("{name}: {why}")),
            None => Verdict::Ok,
        }
    }
}

fn verdict(violation: &Option<String>) -> Verdict {
    match violation {
        Some(why) => Verdict::Violation(why.clone()),
        None => Verdict::Ok,
    }
}

/// Runs `invariant` over `observations` and returns its verdict.
pub fn check_with<O>(mut invariant: impl Invariant<O>, observations: &[O]) -> Verdict {
    let violation = observations.iter().find_map(|o| invariant.check(o).err());
    verdict(&violation)
}
