//! Two-phase commit as a faultline system: the bank workload, routing to the coordinator, what
//! answers mean, the observation of every step, and the checks.
//!
//! The layout is one coordinator and one participant per shard, each a single durable node
//! (`Role::Single`): crashes, pauses, partitions, clock faults and a full disk, but no fault
//! that destroys synced data, since a single copy could not repair it. Real mode kills and
//! restarts a participant.
//!
//! Checked: the bank's reads (every read of all balances sums to the total, none negative), the
//! list-append transactions (strict serializable, by the Elle-style checker), AC1 to AC3 on the
//! facts nodes record, and, once the run is quiescent, that the committed balances still hold
//! the total.

use crate::bugs::TwoPcBug;
use crate::coordinator::Coordinator;
use crate::journal::{Fact, Stats};
use crate::msg::{Outcome, Request, Response, TxnId};
use crate::node::TwoPcNode;
use crate::participant::Participant;
use faultline_checkers::bank::{self, BankOptions};
use faultline_checkers::invariants::twopc::{self as inv, TwoPcInvariants};
use faultline_checkers::txn::{self, TxnOptions, Workload};
use faultline_checkers::{History, Value, Verdict};
use faultline_services::bank::{Bank, BankWorkload};
use faultline_sim::events::Events;
use faultline_sim::layout::{Layout, Role};
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{ClientId, NodeId};
use std::collections::{BTreeMap, BTreeSet};

/// The coordinator's node id: the layout's first node.
pub const COORDINATOR: NodeId = NodeId(0);

/// Two-phase commit over the sharded bank.
pub struct TwoPcSystem {
    bank: Bank,
    bug: Option<TwoPcBug>,
    workload: BankWorkload,
}

/// What the run saw of one node.
#[derive(Clone, Debug, Default)]
struct Seen {
    boot: u64,
    facts: usize,
    stats: Stats,
}

/// What the run saw: the invariants fed every fact, event counts, and each node's latest state
/// for the liveness and final checks.
#[derive(Default)]
pub struct Observed {
    invariants: TwoPcInvariants,
    seen: BTreeMap<NodeId, Seen>,
    /// Coordinator decisions counted, so that facts recovered after a restart count once.
    decided: BTreeSet<TxnId>,
    /// When each participant voted yes on each transaction it has not decided yet.
    voted_at: BTreeMap<(NodeId, TxnId), u64>,
    /// Time participants spent prepared before learning the outcome, in nanoseconds.
    blocked_ns: u64,
    in_doubt: BTreeMap<NodeId, (usize, usize)>,
    balances: BTreeMap<NodeId, i64>,
    coordinator: Option<(bool, usize, usize)>,
    events: Events,
}

impl System for TwoPcSystem {
    type Node = TwoPcNode;
    type Observer = Observed;
    type Bug = TwoPcBug;
    const NAME: &'static str = "twopc";
    /// `commits`, `aborts`: the coordinator's decisions; `in_doubt_periods`: prepared
    /// transactions whose decision came late, so the participant asked; `cooperative_terminations`:
    /// outcomes learned from a peer; `recoveries`: boots with work to finish on disk;
    /// `presumed_aborts`: questions about transactions without a COMMIT, answered "abort".
    const EVENTS: &'static [&'static str] = &[
        "commits",
        "aborts",
        "in_doubt_periods",
        "cooperative_terminations",
        "recoveries",
        "presumed_aborts",
    ];
    /// Moments the swarm reaches in most seeds (at least 1300 of 2000): a recovering coordinator
    /// resending commits, a participant recovering in doubt, asking its peers, a peer in doubt
    /// too (the blocking case), an outcome learned from a peer, a younger transaction dying.
    const COVERAGE: &'static [&'static str] = &[
        "twopc.coordinator_resends_commits_after_a_crash",
        "twopc.participant_recovers_in_doubt",
        "twopc.in_doubt_asks_peers",
        "twopc.peer_in_doubt_too",
        "twopc.outcome_learned_from_a_peer",
        "twopc.younger_transaction_dies",
    ];
    const MODEL: &'static str = "bank";

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let bug = config.bug::<Self>()?;
        let bank = Bank::new(config.nodes, &config.workload);
        Ok(TwoPcSystem { bank, bug, workload: BankWorkload::new(bank, config.workload.key_distribution) })
    }

    fn layout(config: &SystemConfig) -> Layout {
        Layout::default()
            .group("coordinator", 1, Role::Single)
            .tune("coordinator", |p| p.real_kill = false)
            .group("participant", config.nodes, Role::Single)
    }

    fn build_node(&self, id: NodeId) -> TwoPcNode {
        if id == COORDINATOR {
            let participants = (1..=self.bank.shards).map(NodeId).collect();
            TwoPcNode::Coordinator(Box::new(Coordinator::new(self.bank, participants, self.bug)))
        } else {
            TwoPcNode::Participant(Box::new(Participant::new(id, id.0 - 1, self.bank, COORDINATOR, self.bug)))
        }
    }

    fn next_op(&self, client: ClientId, rng: &mut Rng) -> Op<Request> {
        self.workload.op(client, rng)
    }

    fn route(&self, _client: ClientId, _request: &Request, _hint: Option<NodeId>, _rng: &mut Rng) -> NodeId {
        COORDINATOR
    }

    fn interpret(&self, request: &Request, response: &Response) -> Answer {
        match response {
            Response::Committed(results) => request.committed(&self.bank, results),
            Response::Aborted => request.aborted(),
            // Not serving yet: an earlier incarnation may have committed this very request
            // (its answer comes once the coordinator serves). A read changes nothing.
            Response::Unavailable if request.is_read_only() => Answer::NotApplied { hint: None },
            Response::Unavailable => Answer::Unknown { hint: None },
        }
    }

    fn observe(&self, seen: &mut Observed, id: NodeId, moment: Moment, node: &TwoPcNode) {
        let journal = match node {
            TwoPcNode::Coordinator(c) => {
                seen.coordinator = Some((c.is_serving(), c.active(), c.unacknowledged()));
                c.journal()
            }
            TwoPcNode::Participant(p) => {
                seen.in_doubt.insert(id, (p.in_doubt().count(), p.waiting()));
                seen.balances.insert(id, p.data().total());
                p.journal()
            }
        };
        let entry = seen.seen.entry(id).or_default();
        if entry.boot != journal.boot {
            *entry = Seen { boot: journal.boot, ..Seen::default() };
        }
        let (from, before) = (entry.facts, entry.stats);
        entry.facts = journal.facts().len();
        entry.stats = journal.stats;
        for (txn, fact) in &journal.facts()[from..] {
            seen.record(id, *txn, fact, moment);
        }
        seen.count_stats(before, journal.stats, moment);
    }

    fn leader(&self, _seen: &Observed) -> Option<NodeId> {
        Some(COORDINATOR)
    }

    fn pending(&self, seen: &Observed) -> Option<String> {
        let mut why = Vec::new();
        match seen.coordinator {
            Some((false, _, _)) => why.push("the coordinator has not started an epoch".to_string()),
            Some((true, active, unacked)) if active + unacked > 0 => why.push(format!(
                "the coordinator has {active} transactions collecting votes and {unacked} commits not acknowledged by every participant"
            )),
            _ => {}
        }
        for (node, (in_doubt, waiting)) in seen.in_doubt.iter().filter(|(_, (d, w))| d + w > 0) {
            why.push(format!(
                "{node} is in doubt about {in_doubt} transactions, {waiting} prepares wait for locks"
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    fn check(&self, history: &History, seen: &Observed) -> Vec<CheckOutcome> {
        self.check_and_count(history, seen, &mut Counters::default())
    }

    fn check_and_count(
        &self,
        history: &History,
        seen: &Observed,
        counters: &mut Counters,
    ) -> Vec<CheckOutcome> {
        let mut checks = vec![self.check_bank(history, counters), self.check_transactions(history, counters)];
        if seen.seen.is_empty() {
            // Nothing was observed of the nodes (real mode): only the history can be checked.
            return checks;
        }
        checks.extend(seen.invariants.verdicts().into_iter().map(|(name, v)| CheckOutcome::new(name, v)));
        let held: i64 = seen.balances.values().sum();
        let conserved = if held == self.bank.total() {
            Verdict::Ok
        } else {
            Verdict::Violation(format!(
                "the participants' committed balances sum to {held}, not {}",
                self.bank.total()
            ))
        };
        checks.push(CheckOutcome::new("money conserved (final balances)", conserved));
        checks
    }

    fn counters(&self, seen: &Observed, counters: &mut Counters) {
        seen.events.add_to(Self::NAME, counters);
        counters.add_n("twopc.blocked_ms", seen.blocked_ns / 1_000_000);
    }
}

impl TwoPcSystem {
    /// The bank reads: none may see a partial transfer or an overdraft.
    fn check_bank(&self, history: &History, counters: &mut Counters) -> CheckOutcome {
        let options = BankOptions {
            total: Some(self.bank.total()),
            accounts: Some((0..self.bank.accounts).map(|a| Value::Int(a.into())).collect()),
            negative_allowed: false,
        };
        let verdict = match bank::check(history, &options) {
            Ok(report) => {
                counters.add_n("twopc.reads_wrong_total", report.count("wrong-total") as u64);
                report.verdict
            }
            Err(e) => Verdict::Violation(format!("the recorded history is ill-formed: {e}")),
        };
        CheckOutcome::new("bank: every read sums to the total, no balance negative", verdict)
    }

    /// The list-append transactions: strict serializable.
    fn check_transactions(&self, history: &History, counters: &mut Counters) -> CheckOutcome {
        let verdict = match txn::check(history, &TxnOptions::new(Workload::ListAppend)) {
            Ok(report) => {
                for (kind, n) in &report.counts {
                    counters.add_n(&format!("twopc.anomaly.{kind}"), *n as u64);
                }
                report.verdict
            }
            Err(e) => Verdict::Violation(format!("the recorded history is ill-formed: {e}")),
        };
        CheckOutcome::new("list-append transactions strict serializable (Elle)", verdict)
    }
}

impl Observed {
    /// Feeds one fact to the invariants and counts what it means.
    fn record(&mut self, node: NodeId, txn: TxnId, fact: &Fact, moment: Moment) {
        let event = match fact {
            Fact::VotedYes => {
                self.voted_at.entry((node, txn)).or_insert(moment.time_ns);
                inv::Event::VotedYes
            }
            Fact::Decided(outcome) => {
                if let Some(at) = self.voted_at.remove(&(node, txn)) {
                    self.blocked_ns += moment.time_ns.saturating_sub(at);
                }
                if node == COORDINATOR && self.decided.insert(txn) {
                    self.events.count(if *outcome == Outcome::Commit { "commits" } else { "aborts" }, moment);
                }
                inv::Event::Decided(match outcome {
                    Outcome::Commit => inv::Outcome::Commit,
                    Outcome::Abort => inv::Outcome::Abort,
                })
            }
            Fact::CommitDecided(participants) => {
                inv::Event::CommitDecided { participants: participants.iter().map(|p| p.0).collect() }
            }
        };
        let fact = inv::Fact { node: node.0, time: moment.time_ns, txn: (txn.epoch, txn.seq), event };
        self.invariants.observe(&fact);
    }

    /// Counts what a node's event counts grew by since `before`.
    fn count_stats(&mut self, before: Stats, now: Stats, moment: Moment) {
        let grew = |a: u64, b: u64| b.saturating_sub(a);
        let e = &mut self.events;
        e.count_n("in_doubt_periods", grew(before.in_doubt_periods, now.in_doubt_periods), moment);
        e.count_n(
            "cooperative_terminations",
            grew(before.cooperative_terminations, now.cooperative_terminations),
            moment,
        );
        e.count_n("recoveries", grew(before.recoveries, now.recoveries), moment);
        e.count_n("presumed_aborts", grew(before.presumed_aborts, now.presumed_aborts), moment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_services::bank::BankOp;
    use faultline_sim::system::SystemConfig;

    #[test]
    fn a_coordinator_not_serving_may_have_committed_a_write_but_not_a_read() {
        let s = TwoPcSystem::new(&SystemConfig::new(3)).unwrap();
        let transfer = BankOp::Transfer { from: 0, to: 1, amount: 2 };
        assert_eq!(s.interpret(&transfer, &Response::Unavailable), Answer::Unknown { hint: None });
        assert_eq!(s.interpret(&BankOp::Read, &Response::Unavailable), Answer::NotApplied { hint: None });
        assert_eq!(s.interpret(&transfer, &Response::Aborted), transfer.aborted());
        let layout = TwoPcSystem::layout(&SystemConfig::new(3));
        assert_eq!(layout.to_string(), "1 coordinator (single), 3 participant (single)");
        assert!(!layout.permissions(COORDINATOR).real_kill && layout.permissions(NodeId(2)).real_kill);
    }
}
