//! The counter as a faultline system: its workload, routing, answers and checks.

use crate::bugs::{CounterBug, BUGS};
use crate::check::check_bounds;
use crate::msg::{Request, Response};
use crate::node::{CounterNode, PRIMARY};
use faultline_checkers::{EventKind, History, Value};
use faultline_sim::rng::Rng;
use faultline_sim::system::{
    linearizability, parse_bug, Answer, CheckOutcome, Moment, Op, System, SystemConfig,
};
use faultline_sim::{ClientId, NodeId};
use rand::Rng as _;
use std::collections::BTreeMap;

/// The distributed counter bound to the harness.
pub struct Counter {
    nodes: u32,
    bug: Option<CounterBug>,
}

/// What the run saw of each node, for the liveness check.
#[derive(Default)]
pub struct Observed {
    nodes: BTreeMap<NodeId, (bool, u64, u64)>,
}

impl System for Counter {
    type Node = CounterNode;
    type Observer = Observed;
    const NAME: &'static str = "counter";
    const BUGS: &'static [&'static str] = &["AckBeforeDurable", "NoDedup", "ReadFromBackup"];
    const MODEL: &'static str = "counter";

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let bug = parse_bug(config.bug.as_deref(), Self::NAME, BUGS)?;
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
            (_, Response::Unavailable) => Answer::NotApplied { hint: None },
            // A mismatched answer is a protocol bug: record it as unknown so the checks judge it.
            _ => Answer::Unknown { hint: None },
        }
    }

    fn observe(&self, observer: &mut Observed, id: NodeId, _moment: Moment, node: &CounterNode) {
        observer.nodes.insert(id, (node.is_recovering(), node.log_len(), node.commit()));
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

    fn check(&self, history: &History, _observer: &Observed) -> Vec<CheckOutcome> {
        vec![
            CheckOutcome::new("counter-bounds", check_bounds(history)),
            linearizability(Self::MODEL, history),
        ]
    }
}
