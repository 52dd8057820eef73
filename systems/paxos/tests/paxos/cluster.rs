//! Multi-Paxos on the kit's scripted cluster (`faultline_sim::testing::Cluster`): what only
//! Paxos needs on top of it. Every step is observed exactly as the harness observes it (the
//! system's own `observe`, so the same checkers run: agreement, stability, validity, promise
//! monotonic, unique proposals, one leader per ballot, the applied prefix), and scripts get
//! Paxos's vocabulary: the leader, a phase 1 won, a client call that follows redirects.

use faultline_checkers::{History, Verdict};
use faultline_paxos::system::Observed;
use faultline_paxos::{PaxosConfig, PaxosStatus, PaxosSystem, Request, Response, StatusRole, Timer};
use faultline_sim::system::{Moment, System, SystemConfig};
use faultline_sim::testing::{self, Observer};
use faultline_sim::{NodeId, RequestId};
use std::time::Duration;

pub use faultline_sim::testing::Envelope;

/// A scripted Paxos cluster whose observer runs every Paxos check after every step.
pub type Cluster = testing::Cluster<faultline_paxos::Paxos, Checks>;

/// The system's observation of every step, and its checks.
pub struct Checks {
    system: PaxosSystem,
    seen: Observed,
}

impl Observer<faultline_paxos::Paxos> for Checks {
    fn after_step(&mut self, id: NodeId, node: &faultline_paxos::Paxos, elapsed: Duration) {
        let moment = Moment { time_ns: elapsed.as_nanos() as u64, under_faults: false };
        self.system.observe(&mut self.seen, id, moment, node);
    }
}

impl Checks {
    /// Every check's first violation (the history is the scripts' own business).
    pub fn verdict(&self) -> Verdict {
        let checks = self.system.check(&History::new(), &self.seen);
        match checks.into_iter().find(|c| c.verdict.is_violation()) {
            Some(c) => Verdict::Violation(format!("{}: {}", c.name, c.verdict)),
            None => Verdict::Ok,
        }
    }
}

/// `n` nodes running `config` (its bug decides the system's too).
pub fn cluster(config: PaxosConfig, seed: u64) -> Cluster {
    let mut system = SystemConfig::new(config.nodes);
    system.bug = config.bug.map(|b| b.to_string());
    let checks = Checks { system: PaxosSystem::new(&system).expect("valid"), seen: Observed::default() };
    let nodes = config.nodes;
    let factory = move |_| faultline_paxos::Paxos::new(config.clone()).expect("valid config");
    testing::Cluster::with_observer(nodes, seed, factory, checks)
}

/// Paxos's vocabulary on the scripted cluster.
pub trait PaxosCluster {
    fn status(&self, i: u32) -> PaxosStatus;
    /// The leader with the highest ballot among running nodes, if any.
    fn leader(&self) -> Option<u32>;
    /// Runs until a leader exists that a majority of running nodes follow at its ballot.
    fn elect(&mut self) -> u32;
    /// Scripted phase 1: `node` times out (as often as a refusal teaches it a higher ballot)
    /// until it leads; everything in flight is delivered. Others' leader contact must be old.
    fn campaign(&mut self, node: u32);
    /// The first definite answer to `id` (not a redirect or "retry later").
    fn answer(&self, id: RequestId) -> Option<&Response>;
    /// A client call: to the leader, retried with the same id until a definite answer.
    fn call(&mut self, client: u32, req: Request) -> Response;
    fn call_with(&mut self, id: RequestId, req: Request) -> Response;
    /// Thaws the timers and runs until every running node applied the same state.
    fn run_until_converged(&mut self) -> bool;
    /// Why the running nodes have not converged yet.
    fn pending(&self) -> Result<(), String>;
    fn verdict(&self) -> Verdict;
    fn assert_safe(&self);
}

impl PaxosCluster for Cluster {
    fn status(&self, i: u32) -> PaxosStatus {
        self.node(i).status()
    }

    fn leader(&self) -> Option<u32> {
        let up = self.up().into_iter().map(|id| id.0);
        up.filter(|&i| self.status(i).role == StatusRole::Leader).max_by_key(|&i| self.status(i).promise)
    }

    fn elect(&mut self) -> u32 {
        let found = self.run_until(
            |c| {
                c.leader().is_some_and(|l| {
                    let ballot = c.status(l).promise;
                    let up = c.up();
                    up.iter().filter(|i| c.status(i.0).promise == ballot).count() * 2 > up.len()
                })
            },
            Duration::from_secs(10),
        );
        assert!(found, "no leader within 10 s");
        self.leader().unwrap()
    }

    fn campaign(&mut self, node: u32) {
        for _ in 0..4 {
            self.fire(node, Timer::Election);
            if self.status(node).role == StatusRole::Leader {
                return;
            }
        }
        panic!("n{node} could not win phase 1");
    }

    fn answer(&self, id: RequestId) -> Option<&Response> {
        self.replies_to(id).find(|r| !matches!(r, Response::NotLeader { .. } | Response::Unavailable(_)))
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

    fn run_until_converged(&mut self) -> bool {
        self.thaw_timers();
        self.run_until(|c| c.pending().is_ok(), Duration::from_secs(5))
    }

    fn pending(&self) -> Result<(), String> {
        let up: Vec<PaxosStatus> = self.up().into_iter().map(|id| self.status(id.0)).collect();
        faultline_paxos::convergence(&up)
    }

    fn verdict(&self) -> Verdict {
        self.observer().verdict()
    }

    fn assert_safe(&self) {
        assert_eq!(self.verdict(), Verdict::Ok, "a Paxos check failed");
    }
}
