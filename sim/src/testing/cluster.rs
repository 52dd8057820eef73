//! `Cluster`: a whole system of [`TestNode`]s on a scripted network, for scenario tests.
//!
//! Nothing happens unless the test says so. Messages wait in one queue until the test delivers,
//! drops, duplicates or reorders them ([`super::network`]); each node has its own clock, which
//! moves only when the test ticks time, at the node's rate (drift), and its timers fire as that
//! clock passes them; crashes lose unsynced writes, restarts rebuild the node from its disk, a
//! paused node keeps its messages and timers waiting. Requests go straight to the node a test
//! names and every reply is collected. After every step an [`Observer`] sees the node, which is
//! where a system feeds its invariant checkers.
//!
//! Commands are carried out as the real shell carries them out (`crate::shell`): in order, and a
//! `Halt` throws away everything else of its step and restarts the node at once, as a
//! supervisor would. Buggify is off, so crash points never fire.
//!
//! The harness's seeded runs explore; this reproduces one schedule exactly (a figure of a paper,
//! a bug's known trigger) and asserts on the states in between.

use super::TestNode;
use crate::node::{ClientId, Command, Node, NodeId, RequestId, Time};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<M> {
    /// The sender.
    pub from: NodeId,
    /// The destination.
    pub to: NodeId,
    /// The message.
    pub msg: M,
}

/// A reply a node sent to a client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply<R> {
    /// The node that replied.
    pub from: NodeId,
    /// The request answered.
    pub id: RequestId,
    /// The answer.
    pub resp: R,
}

/// Sees every node after every step it takes (start, message, timer, request): the place to
/// feed a system's invariant checkers. `elapsed` is the cluster's time (the same for every
/// node, unlike their clocks).
pub trait Observer<N: Node> {
    /// Called once `id` finished a step, before its commands are carried out.
    fn after_step(&mut self, id: NodeId, node: &N, elapsed: Duration);
}

/// No observer.
impl<N: Node> Observer<N> for () {
    fn after_step(&mut self, _id: NodeId, _node: &N, _elapsed: Duration) {}
}

/// A node id, or a plain number standing for one (`c.crash(1)`): scripts stay short.
pub trait IntoNodeId: Copy {
    /// The node id this stands for.
    fn into_node_id(self) -> NodeId;
}

impl IntoNodeId for NodeId {
    fn into_node_id(self) -> NodeId {
        self
    }
}

macro_rules! node_id_from {
    ($($t:ty),*) => {$(
        impl IntoNodeId for $t {
            fn into_node_id(self) -> NodeId {
                NodeId(u32::try_from(self).expect("a node number"))
            }
        }
    )*};
}
node_id_from!(u32, usize, i32, u64);

/// Whether a node runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Liveness {
    Up,
    /// Its clock runs, but it takes no step: messages, timers and requests wait for `resume`.
    Paused,
    /// Crashed and not restarted.
    Down,
}

/// One node with what the cluster keeps for it.
struct Member<N: Node> {
    test: TestNode<N>,
    timers: BTreeMap<N::Timer, Time>,
    liveness: Liveness,
    /// Clock rate in percent of the cluster's time (100 = no drift).
    rate_percent: u32,
    /// Requests that arrived while paused, handed over at `resume`.
    held_requests: Vec<(RequestId, N::Request)>,
}

/// A scripted cluster of `N` nodes numbered from 0; `O` observes every step.
pub struct Cluster<N: Node, O: Observer<N> = ()> {
    members: Vec<Member<N>>,
    pub(super) queue: VecDeque<Envelope<N::Msg>>,
    /// One-way links that drop what crosses them.
    pub(super) cut: BTreeSet<(NodeId, NodeId)>,
    replies: Vec<Reply<N::Response>>,
    halts: Vec<(NodeId, String)>,
    elapsed: Duration,
    timers_frozen: bool,
    next_seq: BTreeMap<ClientId, u64>,
    observer: O,
}

/// Most timers one node may fire at one instant: more is a timer re-armed with no delay.
const TIMERS_AT_ONCE_MAX: usize = 100_000;

impl<N: Node> Cluster<N> {
    /// `nodes` nodes built by `factory` (called again for a node at each restart), all started.
    pub fn new(nodes: u32, seed: u64, factory: impl Fn(NodeId) -> N + 'static) -> Self {
        Cluster::with_observer(nodes, seed, factory, ())
    }
}

impl<N: Node, O: Observer<N>> Cluster<N, O> {
    /// Like [`Cluster::new`], with `observer` seeing every step from the first start on.
    pub fn with_observer(
        nodes: u32,
        seed: u64,
        factory: impl Fn(NodeId) -> N + 'static,
        observer: O,
    ) -> Self {
        let factory = Rc::new(factory);
        let members = (0..nodes)
            .map(|i| {
                let factory = Rc::clone(&factory);
                Member {
                    test: TestNode::new(NodeId(i), seed, move || factory(NodeId(i))),
                    timers: BTreeMap::new(),
                    liveness: Liveness::Up,
                    rate_percent: 100,
                    held_requests: Vec::new(),
                }
            })
            .collect();
        let mut c = Cluster {
            members,
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            replies: Vec::new(),
            halts: Vec::new(),
            elapsed: Duration::ZERO,
            timers_frozen: false,
            next_seq: BTreeMap::new(),
            observer,
        };
        for i in 0..nodes {
            let cmds = c.member(i).test.start();
            c.absorb(NodeId(i), cmds);
        }
        c
    }

    fn member(&mut self, id: impl IntoNodeId) -> &mut Member<N> {
        let id = id.into_node_id();
        self.members.get_mut(id.0 as usize).unwrap_or_else(|| panic!("no node {id}"))
    }

    fn member_ref(&self, id: impl IntoNodeId) -> &Member<N> {
        let id = id.into_node_id();
        self.members.get(id.0 as usize).unwrap_or_else(|| panic!("no node {id}"))
    }

    /// Carries out one step's commands (see the module docs) and shows the node to the observer.
    fn absorb(&mut self, id: NodeId, cmds: Vec<Command<N>>) {
        let elapsed = self.elapsed;
        let node = &self.members[id.0 as usize].test.node;
        self.observer.after_step(id, node, elapsed);
        if let Some(reason) = cmds.iter().find_map(|c| match c {
            Command::Halt { reason } => Some(reason.clone()),
            _ => None,
        }) {
            self.halts.push((id, reason));
            return self.reboot(id);
        }
        let mut reboot = false;
        for cmd in cmds {
            let m = self.member(id);
            match cmd {
                Command::Send { to, msg } => self.queue.push_back(Envelope { from: id, to, msg }),
                Command::Reply { to, resp } => self.replies.push(Reply { from: id, id: to, resp }),
                Command::SetTimer { timer, after } => {
                    let at = m.test.now() + after;
                    m.timers.insert(timer, at);
                }
                Command::CancelTimer { timer } => {
                    m.timers.remove(&timer);
                }
                Command::Reboot => reboot = true,
                // Partition points are buggify sites too: off here.
                Command::Isolate => {}
                Command::Halt { .. } => unreachable!("handled above"),
            }
        }
        if reboot {
            self.reboot(id);
        }
    }

    /// Crash and immediate restart: timers gone, unsynced writes lost, `on_start` again.
    fn reboot(&mut self, id: NodeId) {
        let m = self.member(id);
        m.liveness = Liveness::Up;
        m.timers.clear();
        let cmds = m.test.crash_and_restart();
        self.absorb(id, cmds);
    }

    /// Runs one handler on a running node and carries out what it emitted.
    pub(super) fn step(&mut self, id: NodeId, f: impl FnOnce(&mut TestNode<N>) -> Vec<Command<N>>) {
        let cmds = f(&mut self.member(id).test);
        self.absorb(id, cmds);
    }
}

// Nodes and what the test reads of them.
impl<N: Node, O: Observer<N>> Cluster<N, O> {
    /// How many nodes the cluster has (running or not).
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// Every node's id, in order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.members.len() as u32).map(NodeId)
    }

    /// The node's state. A crashed node shows its state at the crash until it restarts.
    pub fn node(&self, id: impl IntoNodeId) -> &N {
        &self.member_ref(id).test.node
    }

    /// The node's disk (to damage it, fill it or make its syncs fail).
    pub fn disk(&mut self, id: impl IntoNodeId) -> &mut super::TestDisk {
        &mut self.member(id).test.disk
    }

    /// Not crashed (a paused node is up).
    pub fn is_up(&self, id: impl IntoNodeId) -> bool {
        self.member_ref(id).liveness != Liveness::Down
    }

    /// Paused by `pause` and not resumed yet.
    pub fn is_paused(&self, id: impl IntoNodeId) -> bool {
        self.member_ref(id).liveness == Liveness::Paused
    }

    /// The ids of the nodes that are up.
    pub fn up(&self) -> Vec<NodeId> {
        self.ids().filter(|id| self.is_up(*id)).collect()
    }

    /// The node's own clock.
    pub fn now(&self, id: impl IntoNodeId) -> Time {
        self.member_ref(id).test.now()
    }

    /// The cluster's time since it was built: the sum of every `tick`.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The observer, with whatever it gathered (an invariant checker's verdict, say).
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, to reset or reconfigure it.
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Every halt a node asked for (a disk error, say), with its reason, in order.
    pub fn halts(&self) -> &[(NodeId, String)] {
        &self.halts
    }
}

// Crashes, restarts, pauses.
impl<N: Node, O: Observer<N>> Cluster<N, O> {
    /// Crashes a node (unsynced writes lost, timers gone) and keeps it down until `restart`.
    /// Messages to it are dropped; what it sent before stays in flight.
    pub fn crash(&mut self, id: impl IntoNodeId) {
        let m = self.member(id);
        m.liveness = Liveness::Down;
        m.timers.clear();
        m.held_requests.clear();
        m.test.disk.crash();
    }

    /// Restarts a crashed node from its disk (or crashes and restarts a running one).
    pub fn restart(&mut self, id: impl IntoNodeId) {
        self.member(id).held_requests.clear();
        self.reboot(id.into_node_id());
    }

    /// Pauses a running node (a long GC pause): it takes no step, but its clock runs on.
    pub fn pause(&mut self, id: impl IntoNodeId) {
        let m = self.member(id);
        assert_eq!(m.liveness, Liveness::Up, "only a running node can be paused");
        m.liveness = Liveness::Paused;
    }

    /// Resumes a paused node: the requests that reached it are handed over and its overdue
    /// timers fire; its waiting messages go with the next delivery.
    pub fn resume(&mut self, id: impl IntoNodeId) {
        let id = id.into_node_id();
        let m = self.member(id);
        assert_eq!(m.liveness, Liveness::Paused, "only a paused node can be resumed");
        m.liveness = Liveness::Up;
        for (rid, req) in std::mem::take(&mut m.held_requests) {
            self.step(id, |t| t.request(rid, req));
        }
        self.fire_due(id);
    }
}

// Clocks and timers.
impl<N: Node, O: Observer<N>> Cluster<N, O> {
    /// Moves time forward by `by`: every node's clock moves by `by` scaled by its rate, and the
    /// timers of running nodes fire as their clocks pass them (unless frozen).
    pub fn tick(&mut self, by: Duration) {
        self.elapsed += by;
        for i in 0..self.members.len() as u32 {
            let m = self.member(i);
            if m.liveness == Liveness::Down {
                continue;
            }
            m.test.advance(by * m.rate_percent / 100);
            let runs = m.liveness == Liveness::Up;
            if runs && !self.timers_frozen {
                self.fire_due(NodeId(i));
            }
        }
    }

    /// Fires the node's due timers, earliest first.
    fn fire_due(&mut self, id: NodeId) {
        for _ in 0..TIMERS_AT_ONCE_MAX {
            let m = self.member(id);
            let now = m.test.now();
            let due = m.timers.iter().filter(|(_, at)| **at <= now).min_by_key(|(_, at)| **at);
            let Some(timer) = due.map(|(t, _)| t.clone()) else { return };
            m.timers.remove(&timer);
            self.step(id, |t| t.timer(timer));
        }
        panic!("{id}'s timers keep firing without its clock moving");
    }

    /// Sets a node's clock rate in percent of the cluster's time (drift); 100 is exact.
    pub fn set_rate(&mut self, id: impl IntoNodeId, percent: u32) {
        self.member(id).rate_percent = percent;
    }

    /// From now on timers fire only when the test fires them (scripted scenarios); clocks
    /// still move, and timers set meanwhile fire once thawed if due.
    pub fn freeze_timers(&mut self) {
        self.timers_frozen = true;
    }

    /// Undoes `freeze_timers`: timers fire again as clocks pass them.
    pub fn thaw_timers(&mut self) {
        self.timers_frozen = false;
    }

    /// Runs `timer`'s handler on `id` now, whether or not it is set (one that is set stays set),
    /// then delivers everything in flight.
    pub fn fire(&mut self, id: impl IntoNodeId, timer: N::Timer) {
        self.fire_only(id, timer);
        self.deliver_all();
    }

    /// Runs `timer`'s handler on `id` now, leaving what it sends in flight.
    pub fn fire_only(&mut self, id: impl IntoNodeId, timer: N::Timer) {
        let id = id.into_node_id();
        assert!(self.is_up(id), "{id} is down: a crashed node fires no timer");
        self.step(id, |t| t.timer(timer));
    }

    /// Runs the network: deliver everything in flight, tick 1 ms, repeat; then deliver again.
    pub fn run_for(&mut self, d: Duration) {
        for _ in 0..d.as_millis() {
            self.deliver_all();
            self.tick(Duration::from_millis(1));
        }
        self.deliver_all();
    }

    /// Runs the network until `done` holds (checked every millisecond, after deliveries) or
    /// `budget` passes; returns whether it holds.
    pub fn run_until(&mut self, mut done: impl FnMut(&Self) -> bool, budget: Duration) -> bool {
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
}

// Clients.
impl<N: Node, O: Observer<N>> Cluster<N, O> {
    /// A new request id for `client`: its sequence number is one more than the last one's.
    pub fn next_id(&mut self, client: u32) -> RequestId {
        let client = ClientId(client);
        let seq = self.next_seq.entry(client).or_insert(0);
        *seq += 1;
        RequestId { client, seq: *seq }
    }

    /// Hands `req` to node `to` now. A crashed node never sees it; a paused one at `resume`.
    pub fn submit(&mut self, to: impl IntoNodeId, id: RequestId, req: N::Request) {
        let to = to.into_node_id();
        match self.member(to).liveness {
            Liveness::Up => self.step(to, |t| t.request(id, req)),
            Liveness::Paused => self.member(to).held_requests.push((id, req)),
            Liveness::Down => {}
        }
    }

    /// Every reply so far, in the order they were sent.
    pub fn replies(&self) -> &[Reply<N::Response>] {
        &self.replies
    }

    /// The replies to one request, in order.
    pub fn replies_to(&self, id: RequestId) -> impl Iterator<Item = &N::Response> {
        self.replies.iter().filter(move |r| r.id == id).map(|r| &r.resp)
    }
}
