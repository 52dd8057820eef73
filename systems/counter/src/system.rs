//! The counter as a faultline system: its workload, routing, answers and checks.

use crate::bugs::CounterBug;
use crate::check::check_bounds;
use crate::msg::{Request, Response};
use crate::node::{CounterNode, PRIMARY};
use faultline_checkers::{EventKind, History, Value};
use faultline_sim::events::Events;
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{linearizability, Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{ClientId, NodeId};
use rand::Rng as _;
use std::collections::BTreeMap;

/// The distributed counter bound to the harness.
pub struct Counter {
    nodes: u32,
    bug: Option<CounterBug>,
}

/// What the run saw of each node (recovering, log length, commit), for the liveness check, and
/// the counter's events.
#[derive(Default)]
pub struct Observed {
    nodes: BTreeMap<NodeId, (bool, u64, u64)>,
    events: Events,
}

impl System for Counter {
    type Node = CounterNode;
    type Observer = Observed;
    type Bug = CounterBug;
    const NAME: &'static str = "counter";
    /// `recoveries`: the primary finished collecting its backups' logs and serves again;
    /// `log_cuts`: a node's log got shorter (a damaged or torn tail cut at boot, or a backup's
    /// unacknowledged suffix replaced by the primary's log).
    const EVENTS: &'static [&'static str] = &["recoveries", "log_cuts"];
    const COVERAGE: &'static [&'static str] =
        &["counter.primary_adopts_a_backup_log", "counter.retried_increment_found_in_the_log"];
    const MODEL: &'static str = "counter";

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let bug = config.bug::<Self>()?;
        Ok(Counter { nodes: config.nodes, bug })
    }

    fn build_node(&self, id: NodeId) -> CounterNode {
        CounterNode::new(id, self.nodes, self.bug)
    }

    fn next_op(&self, _client: ClientId, rng: &mut Rng) -> Op<Request> {
        if rng.gen_bool(0.7) {
            let delta = rng.gen_range(1..=5);
            Op::new(Request::Incr { delta }, "incr", Value::Int(delta))
        } else {
            Op::new(Request::Read, "read", Value::Nil)
        }
    }

    fn route(&self, _client: ClientId, request: &Request, hint: Option<NodeId>, rng: &mut Rng) -> NodeId {
        match (request, hint) {
            (_, Some(node)) => node,
            (Request::Incr { .. }, None) => PRIMARY,
            // Reads go anywhere: a correct backup redirects to the primary.
            (Request::Read, None) => NodeId(rng.gen_range(0..self.nodes)),
        }
    }

    fn interpret(&self, request: &Request, response: &Response) -> Answer {
        match (request, response) {
            (Request::Incr { delta }, Response::Incremented) => {
                Answer::Done(EventKind::Ok, Value::Int(*delta))
            }
            (Request::Read, Response::Value(v)) => Answer::Done(EventKind::Ok, Value::Int(*v)),
            (_, Response::NotPrimary { primary }) => Answer::NotApplied { hint: Some(*primary) },
            // A primary still recovering cannot know whether an earlier copy of this increment
            // (a retry, a duplicated message) is in the log it is recovering: maybe applied.
            (Request::Incr { .. }, Response::Unavailable) => Answer::Unknown { hint: None },
            // A read changes nothing: refused is not applied.
            (Request::Read, Response::Unavailable) => Answer::NotApplied { hint: None },
            // A mismatched answer is a protocol bug: record it as unknown so the checks judge it.
            _ => Answer::Unknown { hint: None },
        }
    }

    fn observe(&self, observer: &mut Observed, id: NodeId, moment: Moment, node: &CounterNode) {
        let now = (node.is_recovering(), node.log_len(), node.commit());
        if let Some(&(recovering, len, _)) = observer.nodes.get(&id) {
            observer.events.count_n("recoveries", u64::from(recovering && !now.0), moment);
            observer.events.count_n("log_cuts", u64::from(now.1 < len), moment);
        }
        observer.nodes.insert(id, now);
    }

    fn leader(&self, _observer: &Observed) -> Option<NodeId> {
        Some(PRIMARY)
    }

    fn pending(&self, observer: &Observed) -> Option<String> {
        let &(recovering, _, commit) = observer.nodes.get(&PRIMARY)?;
        if recovering {
            return Some("primary n0 is still collecting backup logs".to_string());
        }
        let behind: Vec<String> = (observer.nodes.iter())
            .filter(|(id, (_, len, _))| **id != PRIMARY && *len < commit)
            .map(|(id, (_, len, _))| format!("backup {id} holds {len} of {commit} committed entries"))
            .collect();
        (!behind.is_empty()).then(|| behind.join("; "))
    }

    fn counters(&self, observer: &Observed, counters: &mut Counters) {
        observer.events.add_to(Self::NAME, counters);
    }

    fn check(&self, history: &History, _observer: &Observed) -> Vec<CheckOutcome> {
        vec![
            CheckOutcome::new("counter-bounds", check_bounds(history)),
            linearizability(Self::MODEL, history),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_increment_is_a_maybe_and_a_refused_read_is_not_applied() {
        // A recovering primary refuses without knowing whether an earlier copy of the increment
        // (a duplicated message) is in the log it recovers; recording `fail` for it let a read
        // count more than was attempted (seeds 2282, 3625 and ten more of 10000).
        let counter = Counter::new(&SystemConfig::new(3)).unwrap();
        let incr = Request::Incr { delta: 2 };
        assert_eq!(counter.interpret(&incr, &Response::Unavailable), Answer::Unknown { hint: None });
        assert_eq!(
            counter.interpret(&Request::Read, &Response::Unavailable),
            Answer::NotApplied { hint: None }
        );
        let redirect = Response::NotPrimary { primary: PRIMARY };
        assert_eq!(counter.interpret(&incr, &redirect), Answer::NotApplied { hint: Some(PRIMARY) });
    }
}
