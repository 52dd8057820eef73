//! A tiny deterministic network for scenario tests: a vector of `TestNode`s, one message queue
//! the test can deliver, drop, reorder or duplicate, per-node clocks (with rates, for drift)
//! that fire timers, crashes with restarts, and an invariant checker fed after every step.
//!
//! Delivery is instantaneous unless the test holds messages back: `run_for` alternates
//! "deliver everything in flight" with a 1 ms clock tick. Tests that need a precise schedule
//! use `deliver_where`, `drop_where` and friends on the queue directly.

use faultline_checkers::invariants::raft::RaftInvariants;
use faultline_checkers::Verdict;
use faultline_raft::{Msg, Raft, RaftConfig, Request, Response, StatusRole, Timer};
use faultline_sim::testing::TestNode;
use faultline_sim::{ClientId, Command, NodeId, RequestId, Time};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// A message in flight.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub from: NodeId,
    pub to: NodeId,
    pub msg: Msg,
}

pub struct Cluster {
    pub nodes: Vec<TestNode<Raft>>,
    timers: Vec<BTreeMap<Timer, Time>>,
    pub queue: VecDeque<Envelope>,
    /// Every reply, in order: (replying node, request, response).
    pub replies: Vec<(NodeId, RequestId, Response)>,
    blocked: BTreeSet<(u32, u32)>,
    down: BTreeSet<u32>,
    /// Clock rate per node, in percent of real time (100 = no drift).
    rates: Vec<u64>,
    pub elapsed: Duration,
    pub invariants: RaftInvariants,
    next_seq: BTreeMap<u32, u64>,
    /// Halts the nodes asked for (a disk failure), by node.
    pub halts: Vec<(NodeId, String)>,
    /// Nodes whose timers fire only when the test says so (`fire`).
    frozen: BTreeSet<u32>,
}

impl Cluster {
    /// `n` nodes, all members, default config.
    pub fn new(n: u32, seed: u64) -> Self {
        Cluster::with_config(n, RaftConfig::with_members(n), seed)
    }

    /// `nodes` nodes (ids 0..nodes) running `config`; those outside its members wait to be added.
    pub fn with_config(nodes: u32, config: RaftConfig, seed: u64) -> Self {
        let nodes: Vec<TestNode<Raft>> = (0..nodes)
            .map(|i| {
                let config = config.clone();
                TestNode::new(NodeId(i), seed, move || Raft::new(config.clone()).expect("valid config"))
            })
            .collect();
        let n = nodes.len();
        let mut c = Cluster {
            nodes,
            timers: vec![BTreeMap::new(); n],
            queue: VecDeque::new(),
            replies: Vec::new(),
            blocked: BTreeSet::new(),
            down: BTreeSet::new(),
            rates: vec![100; n],
            elapsed: Duration::ZERO,
            invariants: RaftInvariants::new(),
            next_seq: BTreeMap::new(),
            halts: Vec::new(),
            frozen: BTreeSet::new(),
        };
        for i in 0..n {
            let cmds = c.nodes[i].start();
            c.absorb(i, cmds);
        }
        c
    }

    /// Carries out one step's commands and feeds the checkers.
    fn absorb(&mut self, i: usize, cmds: Vec<Command<Raft>>) {
        let from = self.nodes[i].id();
        let now = self.nodes[i].now();
        let mut obs = self.nodes[i].node.observe();
        obs.time = self.elapsed.as_nanos() as u64;
        self.invariants.observe(&obs);
        for cmd in cmds {
            match cmd {
                Command::Send { to, msg } => self.queue.push_back(Envelope { from, to, msg }),
                Command::Reply { to, resp } => self.replies.push((from, to, resp)),
                Command::SetTimer { timer, after } => {
                    self.timers[i].insert(timer, now + after);
                }
                Command::CancelTimer { timer } => {
                    self.timers[i].remove(&timer);
                }
                // Crash points are buggify sites, and buggify is off in these scripted clusters.
                Command::Reboot => {}
                Command::Halt { reason } => {
                    self.halts.push((from, reason));
                    self.timers[i].clear();
                    let cmds = self.nodes[i].crash_and_restart();
                    return self.absorb(i, cmds);
                }
            }
        }
    }

    pub fn status(&self, i: usize) -> faultline_raft::RaftStatus {
        self.nodes[i].node.status()
    }

    /// Delivers the first message in flight (or drops it if its link is cut or its
    /// destination is down). Returns false when nothing is in flight.
    pub fn deliver_one(&mut self) -> bool {
        let Some(env) = self.queue.pop_front() else { return false };
        self.deliver(env);
        true
    }

    fn deliver(&mut self, env: Envelope) {
        let to = env.to.0;
        if self.blocked.contains(&(env.from.0, to))
            || self.down.contains(&to)
            || to as usize >= self.nodes.len()
        {
            return;
        }
        let cmds = self.nodes[to as usize].message(env.from, env.msg);
        self.absorb(to as usize, cmds);
    }

    pub fn deliver_all(&mut self) {
        for _ in 0..1_000_000 {
            if !self.deliver_one() {
                return;
            }
        }
        panic!("messages never stopped flowing");
    }

    /// Delivers (in order) the messages in flight that match, leaving the others queued.
    pub fn deliver_where(&mut self, pred: impl Fn(&Envelope) -> bool) {
        let (take, keep): (VecDeque<_>, VecDeque<_>) = self.queue.drain(..).partition(|e| pred(e));
        self.queue = keep;
        for env in take {
            self.deliver(env);
        }
    }

    /// Drops the messages in flight that match.
    pub fn drop_where(&mut self, pred: impl Fn(&Envelope) -> bool) -> usize {
        let before = self.queue.len();
        self.queue.retain(|e| !pred(e));
        before - self.queue.len()
    }

    /// Puts messages back in flight (a delayed delivery, or a duplicate).
    pub fn inject(&mut self, envs: impl IntoIterator<Item = Envelope>) {
        self.queue.extend(envs);
    }

    /// Moves every clock forward by `by` (scaled by each node's rate) and fires due timers.
    pub fn tick(&mut self, by: Duration) {
        self.elapsed += by;
        for i in 0..self.nodes.len() {
            if self.down.contains(&(i as u32)) {
                continue;
            }
            self.nodes[i].advance(by * self.rates[i] as u32 / 100);
            if !self.frozen.contains(&(i as u32)) {
                self.fire_due(i);
            }
        }
    }

    fn fire_due(&mut self, i: usize) {
        loop {
            let now = self.nodes[i].now();
            let due = self.timers[i]
                .iter()
                .filter(|(_, at)| **at <= now)
                .min_by_key(|(_, at)| **at)
                .map(|(t, _)| *t);
            let Some(timer) = due else { return };
            self.timers[i].remove(&timer);
            let cmds = self.nodes[i].timer(timer);
            self.absorb(i, cmds);
        }
    }

    /// From now on timers fire only through `fire` (scripted scenarios).
    pub fn freeze_timers(&mut self) {
        self.frozen = (0..self.nodes.len() as u32).collect();
    }

    /// Fires `timer` on `node` now, then delivers everything that follows from it.
    pub fn fire(&mut self, node: u32, timer: Timer) {
        let cmds = self.nodes[node as usize].timer(timer);
        self.absorb(node as usize, cmds);
        self.deliver_all();
    }

    /// Fires `timer` on `node` now, leaving what it sends in flight.
    pub fn fire_only(&mut self, node: u32, timer: Timer) {
        let cmds = self.nodes[node as usize].timer(timer);
        self.absorb(node as usize, cmds);
    }

    /// Scripted election: `node` times out (as often as needed: a refused pre-vote teaches it
    /// a higher term) until it leads. Other nodes' leader contact must be old (tick first).
    pub fn campaign(&mut self, node: u32) {
        for _ in 0..4 {
            self.fire(node, Timer::Election);
            if self.status(node as usize).role == StatusRole::Leader {
                return;
            }
        }
        panic!("n{node} could not get elected");
    }

    /// Runs the network: deliver everything in flight, tick 1 ms, repeat.
    pub fn run_for(&mut self, d: Duration) {
        let steps = d.as_millis() as u64;
        for _ in 0..steps {
            self.deliver_all();
            self.tick(Duration::from_millis(1));
        }
        self.deliver_all();
    }

    /// Runs until `done` holds (checked every simulated millisecond) or `budget` passes.
    pub fn run_until(&mut self, budget: Duration, mut done: impl FnMut(&Cluster) -> bool) -> bool {
        for _ in 0..budget.as_millis() {
            self.deliver_all();
            if done(self) {
                return true;
            }
            self.tick(Duration::from_millis(1));
        }
        self.deliver_all();
        done(self)
    }

    /// The leader with the highest term among nodes that are up, if any.
    pub fn leader(&self) -> Option<usize> {
        (0..self.nodes.len())
            .filter(|&i| !self.down.contains(&(i as u32)) && self.status(i).role == StatusRole::Leader)
            .max_by_key(|&i| self.status(i).term)
    }

    /// Runs until a leader exists whose term a majority of running nodes share; returns it.
    pub fn elect(&mut self) -> usize {
        let found = self.run_until(Duration::from_secs(10), |c| {
            c.leader().is_some_and(|l| {
                let term = c.status(l).term;
                let up: Vec<usize> = (0..c.nodes.len()).filter(|i| !c.down.contains(&(*i as u32))).collect();
                up.iter().filter(|&&i| c.status(i).term == term).count() * 2 > up.len()
            })
        });
        assert!(found, "no leader elected within 10 s");
        self.leader().unwrap()
    }

    /// Cuts the links between the groups (symmetric); links inside a group stay.
    pub fn partition(&mut self, groups: &[&[u32]]) {
        self.blocked.clear();
        for a in groups {
            for b in groups {
                if a != b {
                    for &x in a.iter() {
                        for &y in b.iter() {
                            self.blocked.insert((x, y));
                        }
                    }
                }
            }
        }
    }

    /// Cuts every link to and from `node`.
    pub fn isolate(&mut self, node: u32) {
        for other in 0..self.nodes.len() as u32 {
            if other != node {
                self.blocked.insert((node, other));
                self.blocked.insert((other, node));
            }
        }
    }

    /// Cuts both directions between `a` and `b`.
    pub fn isolate_pair(&mut self, a: u32, b: u32) {
        self.blocked.insert((a, b));
        self.blocked.insert((b, a));
    }

    /// Like `campaign`, but messages matching `hold` stay queued when the node wins.
    pub fn campaign_holding(&mut self, node: u32, hold: impl Fn(&Envelope) -> bool) {
        for _ in 0..4 {
            let cmds = self.nodes[node as usize].timer(Timer::Election);
            self.absorb(node as usize, cmds);
            while let Some(at) = self.queue.iter().position(|e| !hold(e)) {
                let env = self.queue.remove(at).expect("position is in range");
                self.deliver(env);
            }
            if self.status(node as usize).role == StatusRole::Leader {
                return;
            }
        }
        panic!("n{node} could not get elected");
    }

    /// Cuts the one-way link `from -> to`.
    pub fn cut(&mut self, from: u32, to: u32) {
        self.blocked.insert((from, to));
    }

    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Crashes a node (unsynced writes lost) and keeps it down until `restart`.
    pub fn stop(&mut self, node: u32) {
        self.down.insert(node);
        self.timers[node as usize].clear();
        self.nodes[node as usize].disk.crash();
    }

    /// Restarts a stopped node (or crashes and restarts a running one).
    pub fn restart(&mut self, node: u32) {
        self.down.remove(&node);
        self.timers[node as usize].clear();
        let cmds = self.nodes[node as usize].crash_and_restart();
        self.absorb(node as usize, cmds);
    }

    /// Sets a node's clock rate in percent (drift); 100 is exact.
    pub fn set_rate(&mut self, node: u32, percent: u64) {
        self.rates[node as usize] = percent;
    }

    /// A new request id for `client`.
    pub fn next_id(&mut self, client: u32) -> RequestId {
        let seq = self.next_seq.entry(client).or_insert(0);
        *seq += 1;
        RequestId { client: ClientId(client), seq: *seq }
    }

    /// Hands `req` to `node` as a client request.
    pub fn submit(&mut self, node: usize, id: RequestId, req: Request) {
        let cmds = self.nodes[node].request(id, req);
        self.absorb(node, cmds);
    }

    /// The first definite answer to `id` (not a redirect or "retry later").
    pub fn answer(&self, id: RequestId) -> Option<&Response> {
        self.replies
            .iter()
            .filter(|(_, r, _)| *r == id)
            .map(|(_, _, resp)| resp)
            .find(|resp| !matches!(resp, Response::NotLeader { .. } | Response::Unavailable(_)))
    }

    /// A client call: sends `req` to the leader, following redirects and retrying with the same
    /// id, until a definite answer arrives (panics after 10 simulated seconds).
    pub fn call(&mut self, client: u32, req: Request) -> Response {
        let id = self.next_id(client);
        self.call_with(id, req)
    }

    pub fn call_with(&mut self, id: RequestId, req: Request) -> Response {
        for _ in 0..100 {
            let leader = self.elect();
            self.submit(leader, id, req.clone());
            if self.run_until(Duration::from_millis(100), |c| c.answer(id).is_some()) {
                return self.answer(id).unwrap().clone();
            }
        }
        panic!("no answer to {id:?} within 10 s");
    }

    pub fn put(&mut self, client: u32, key: &str, value: &str) -> Response {
        self.call(client, Request::put(key, value))
    }

    pub fn get(&mut self, client: u32, key: &str) -> Response {
        self.call(client, Request::get(key))
    }

    /// Unfreezes the timers and runs until every running node applied the same state.
    pub fn run_until_converged(&mut self) -> bool {
        self.frozen.clear();
        self.run_until(Duration::from_secs(5), Cluster::converged)
    }

    /// Asserts that every Raft invariant held on every observation so far.
    pub fn assert_safe(&self) {
        assert_eq!(self.invariants.verdict(), Verdict::Ok, "a Raft invariant was violated");
    }

    /// Whether the running nodes have converged (see `faultline_raft::convergence`).
    pub fn converged(&self) -> bool {
        self.pending().is_ok()
    }

    /// Why the running nodes have not converged yet.
    pub fn pending(&self) -> Result<(), String> {
        let up: Vec<_> = (0..self.nodes.len())
            .filter(|i| !self.down.contains(&(*i as u32)))
            .map(|i| self.status(i))
            .collect();
        faultline_raft::convergence(&up)
    }
}
