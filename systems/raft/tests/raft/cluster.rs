//! Raft on the kit's scripted cluster (`faultline_sim::testing::Cluster`): what only Raft needs
//! on top of it. Every step feeds the Raft invariant checkers (Figure 3), and scripts get
//! Raft's vocabulary: the leader, an election, a client call that follows redirects.

use faultline_checkers::invariants::raft::RaftInvariants;
use faultline_checkers::Verdict;
use faultline_raft::{Raft, RaftConfig, RaftStatus, Request, Response, StatusRole, Timer};
use faultline_sim::testing::{self, Observer};
use faultline_sim::{NodeId, RequestId};
use std::time::Duration;

pub use faultline_sim::testing::Envelope;

/// A scripted Raft cluster whose observer checks every Raft invariant after every step.
pub type Cluster = testing::Cluster<Raft, Invariants>;

/// The Raft invariant checkers, fed every node state the cluster observes.
#[derive(Default)]
pub struct Invariants(pub RaftInvariants);

impl Observer<Raft> for Invariants {
    fn after_step(&mut self, _id: NodeId, node: &Raft, elapsed: Duration) {
        let mut obs = node.observe();
        obs.time = elapsed.as_nanos() as u64;
        self.0.observe(&obs);
    }
}

/// Raft's vocabulary on the scripted cluster. Nodes are indexed by `usize` where a test reads
/// their state, as the statuses are.
pub trait RaftCluster {
    /// `n` nodes, all members, default config.
    fn new(n: u32, seed: u64) -> Self;
    /// `nodes` nodes running `config`; those outside its members wait to be added.
    fn with_config(nodes: u32, config: RaftConfig, seed: u64) -> Self;
    fn status(&self, i: usize) -> RaftStatus;
    /// The leader with the highest term among nodes that are up, if any.
    fn leader(&self) -> Option<usize>;
    /// Runs until a leader exists whose term a majority of running nodes share; returns it.
    fn elect(&mut self) -> usize;
    /// Scripted election: `node` times out (as often as needed: a refused pre-vote teaches it a
    /// higher term) until it leads. Other nodes' leader contact must be old (tick first).
    fn campaign(&mut self, node: u32);
    /// Like `campaign`, but messages matching `hold` stay queued when the node wins.
    fn campaign_holding(&mut self, node: u32, hold: impl Fn(&Envelope<faultline_raft::Msg>) -> bool);
    /// The first definite answer to `id` (not a redirect or "retry later").
    fn answer(&self, id: RequestId) -> Option<&Response>;
    /// A client call: sends `req` to the leader, following redirects and retrying with the
    /// same id, until a definite answer arrives (panics after 10 simulated seconds).
    fn call(&mut self, client: u32, req: Request) -> Response;
    fn call_with(&mut self, id: RequestId, req: Request) -> Response;
    fn put(&mut self, client: u32, key: &str, value: &str) -> Response;
    fn get(&mut self, client: u32, key: &str) -> Response;
    /// Thaws the timers and runs until every running node applied the same state.
    fn run_until_converged(&mut self) -> bool;
    /// Asserts that every Raft invariant held on every observation so far.
    fn assert_safe(&self);
    /// Why the running nodes have not converged yet (see `faultline_raft::convergence`).
    fn pending(&self) -> Result<(), String>;
    fn converged(&self) -> bool;
    fn verdict(&self) -> Verdict;
}

impl RaftCluster for Cluster {
    fn new(n: u32, seed: u64) -> Self {
        <Cluster as RaftCluster>::with_config(n, RaftConfig::with_members(n), seed)
    }

    fn with_config(nodes: u32, config: RaftConfig, seed: u64) -> Self {
        let factory = move |_| Raft::new(config.clone()).expect("valid config");
        testing::Cluster::with_observer(nodes, seed, factory, Invariants::default())
    }

    fn status(&self, i: usize) -> RaftStatus {
        self.node(i).status()
    }

    fn leader(&self) -> Option<usize> {
        let up = self.up().into_iter().map(|id| id.0 as usize);
        up.filter(|&i| self.status(i).role == StatusRole::Leader).max_by_key(|&i| self.status(i).term)
    }

    fn elect(&mut self) -> usize {
        let found = self.run_until(
            |c| {
                c.leader().is_some_and(|l| {
                    let term = c.status(l).term;
                    let up = c.up();
                    up.iter().filter(|i| c.status(i.0 as usize).term == term).count() * 2 > up.len()
                })
            },
            Duration::from_secs(10),
        );
        assert!(found, "no leader elected within 10 s");
        self.leader().unwrap()
    }

    fn campaign(&mut self, node: u32) {
        self.campaign_holding(node, |_| false);
    }

    fn campaign_holding(&mut self, node: u32, hold: impl Fn(&Envelope<faultline_raft::Msg>) -> bool) {
        for _ in 0..4 {
            self.fire_only(node, Timer::Election);
            self.deliver_all_where(|e| !hold(e));
            if self.status(node as usize).role == StatusRole::Leader {
                return;
            }
        }
        panic!("n{node} could not get elected");
    }

    fn answer(&self, id: RequestId) -> Option<&Response> {
        self.replies_to(id)
            .find(|resp| !matches!(resp, Response::NotLeader { .. } | Response::Unavailable(_)))
    }

    fn call(&mut self, client: u32, req: Request) -> Response {
        let id = self.next_id(client);
        self.call_with(id, req)
    }

    fn call_with(&mut self, id: RequestId, req: Request) -> Response {
        for _ in 0..100 {
            let leader = self.elect();
            self.submit(leader, id, req.clone());
            if self.run_until(|c| c.answer(id).is_some(), Duration::from_millis(100)) {
                return self.answer(id).unwrap().clone();
            }
        }
        panic!("no answer to {id:?} within 10 s");
    }

    fn put(&mut self, client: u32, key: &str, value: &str) -> Response {
        self.call(client, Request::put(key, value))
    }

    fn get(&mut self, client: u32, key: &str) -> Response {
        self.call(client, Request::get(key))
    }

    fn run_until_converged(&mut self) -> bool {
        self.thaw_timers();
        self.run_until(Cluster::converged, Duration::from_secs(5))
    }

    fn assert_safe(&self) {
        assert_eq!(self.verdict(), Verdict::Ok, "a Raft invariant was violated");
    }

    fn pending(&self) -> Result<(), String> {
        let up: Vec<RaftStatus> = self.up().into_iter().map(|id| self.status(id.0 as usize)).collect();
        faultline_raft::convergence(&up)
    }

    fn converged(&self) -> bool {
        self.pending().is_ok()
    }

    fn verdict(&self) -> Verdict {
        self.observer().0.verdict()
    }
}
