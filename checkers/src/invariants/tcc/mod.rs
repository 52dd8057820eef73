//! TCC's properties (Try-Confirm-Cancel, as Seata's TCC mode implements it), checked on what
//! shards and transaction managers record as they go.
//!
//! A TCC transaction reserves on every shard first (Try: funds move from available to frozen, an
//! incoming credit is noted, an append is held back), then either confirms every reservation
//! (frozen funds leave, credits arrive) or cancels every one (frozen funds return). Shards keep
//! no locks across the transaction and confirm at different moments, so TCC promises no
//! isolation, only that money is never created, lost or overdrawn, and that every transaction
//! ends the same way everywhere (eventual atomicity). These modules check what it promises:
//!
//! - [`conservation`]: the total counting frozen funds and money in flight is conserved at
//!   every moment.
//! - [`non_negative`]: no balance (available, frozen, or incoming) is ever negative.
//! - [`uniform`]: no transaction is confirmed on one shard and cancelled on another, nor against
//!   its transaction manager's decision.
//!
//! A TCC crate reports, after each step of a shard, the shard's accounts and the facts it
//! recorded in that step (a Try, a Confirm, a Cancel, an empty rollback), and after each step of
//! a transaction manager the decisions it recorded. A node that restarts reports again what it
//! recovered. The observations are plain data, so the checkers depend on nothing in the
//! workspace.

pub mod conservation;
pub mod non_negative;
pub mod uniform;

pub use conservation::Conservation;
pub use non_negative::NonNegative;
pub use uniform::Uniform;

use super::InvariantSet;
use crate::Verdict;

/// A transaction's identity: (transaction manager, sequence number).
pub type Txn = (u64, u64);

/// One account as a shard holds it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub account: u32,
    /// What may be spent.
    pub available: i64,
    /// Reserved by Tries, leaving at Confirm or returning at Cancel.
    pub frozen: i64,
    /// Credits noted by Tries, arriving at Confirm.
    pub incoming: i64,
}

/// What a node recorded about a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A shard's Try took effect: it noted `moved_in` of incoming credits and froze
    /// `moved_out`.
    Tried { moved_in: i64, moved_out: i64 },
    /// A shard confirmed its branch.
    Confirmed,
    /// A shard cancelled its tried branch.
    Cancelled,
    /// A shard received a Cancel with no Try before it (an empty rollback) and recorded it, so
    /// that a late Try is refused.
    Suspended,
    /// A transaction manager decided to confirm (`true`) or cancel the transaction on these
    /// shards.
    Decided { confirm: bool, branches: Vec<u32> },
}

/// One step of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub node: u32,
    /// Nanoseconds of the run.
    pub time: u64,
    /// A shard's accounts after the step (`None` for a transaction manager).
    pub accounts: Option<Vec<Account>>,
    /// What the node recorded in the step.
    pub facts: Vec<(Txn, Event)>,
}

impl Observation {
    /// `n3 at 1.204 s`.
    pub fn label(&self) -> String {
        format!("n{} at {:.3} s", self.node, self.time as f64 / 1e9)
    }
}

/// `(tm, seq)` as `t5.17`.
pub fn txn_name(txn: Txn) -> String {
    format!("t{}.{}", txn.0, txn.1)
}

/// The three properties at once.
pub struct TccInvariants {
    set: InvariantSet<Observation>,
}

impl TccInvariants {
    /// The properties of a bank holding `total` over `shards` shards.
    pub fn new(total: i64, shards: usize) -> Self {
        let set = InvariantSet::new()
            .with(
                "conservation (counting frozen funds and money in flight)",
                Conservation::new(total, shards),
            )
            .with("no negative balance (available, frozen, incoming)", NonNegative)
            .with("uniform outcome (confirmed everywhere or cancelled everywhere)", Uniform::default());
        TccInvariants { set }
    }

    /// Feeds the next observation.
    pub fn observe(&mut self, obs: &Observation) {
        self.set.observe(obs);
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

    pub fn acct(account: u32, available: i64, frozen: i64, incoming: i64) -> Account {
        Account { account, available, frozen, incoming }
    }

    pub fn shard(node: u32, time: u64, accounts: &[Account], facts: &[((u64, u64), Event)]) -> Observation {
        Observation { node, time, accounts: Some(accounts.to_vec()), facts: facts.to_vec() }
    }

    pub fn tm(node: u32, time: u64, txn: (u64, u64), confirm: bool, branches: &[u32]) -> Observation {
        let decided = Event::Decided { confirm, branches: branches.to_vec() };
        Observation { node, time, accounts: None, facts: vec![(txn, decided)] }
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    #[test]
    fn a_transfer_tried_then_confirmed_on_two_shards_passes_all_three() {
        // Shard n0 holds account 0, n1 account 1, 10 each; 4 moves from 0 to 1.
        let t = (5, 1);
        let mut all = TccInvariants::new(20, 2);
        let steps = [
            shard(0, 1, &[acct(0, 10, 0, 0)], &[]),
            shard(1, 1, &[acct(1, 10, 0, 0)], &[]),
            shard(0, 2, &[acct(0, 6, 4, 0)], &[(t, Event::Tried { moved_in: 0, moved_out: 4 })]),
            shard(1, 3, &[acct(1, 10, 0, 4)], &[(t, Event::Tried { moved_in: 4, moved_out: 0 })]),
            tm(5, 4, t, true, &[0, 1]),
            shard(0, 5, &[acct(0, 6, 0, 0)], &[(t, Event::Confirmed)]),
            shard(1, 6, &[acct(1, 14, 0, 0)], &[(t, Event::Confirmed)]),
        ];
        steps.iter().for_each(|o| all.observe(o));
        assert_eq!(all.verdict(), Verdict::Ok);
    }
}
