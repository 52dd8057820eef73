//! `TestNode`: drive one node by hand and assert the exact commands it emits.
//!
//! The handler unit tests of openraft's `engine/tests` are the model: no network, no runtime,
//! no timing; feed an input, compare the command vector. The disk is a [`TestDisk`], so a test
//! can crash the node (losing unsynced writes), restart it from what was synced, or make the
//! next syncs fail or the disk full.

use super::TestDisk;
use crate::node::{Command, Context, NoBuggify, Node, NodeId, RequestId, Time};
use crate::rng::{self, Rng};
use std::rc::Rc;
use std::time::Duration;

/// One node under a unit test. Buggify is off: `buggify!` sites and crash points never fire.
pub struct TestNode<N: Node> {
    /// The node's state, for assertions.
    pub node: N,
    /// The node's disk, to damage it or switch its failures on.
    pub disk: TestDisk,
    id: NodeId,
    now: Time,
    rng: Rng,
    factory: Rc<dyn Fn() -> N>,
    /// Whether a start has finished: later starts are restarts (`Context::first_boot`).
    booted: bool,
}

impl<N: Node> TestNode<N> {
    /// A node built by `factory` (called again on every restart); not started yet. Its RNG is
    /// derived from `seed` and `id`, so two nodes of one test draw differently.
    pub fn new(id: NodeId, seed: u64, factory: impl Fn() -> N + 'static) -> Self {
        TestNode {
            node: factory(),
            disk: TestDisk::new(),
            id,
            now: Time(Time::EPOCH_NANOS),
            rng: rng::derive(seed, "test-node", u64::from(id.0)),
            factory: Rc::new(factory),
            booted: false,
        }
    }

    /// This node.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's clock reading, as its handlers see it.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Moves this node's clock forward.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
    }

    /// Runs `on_start`; returns what it emitted.
    pub fn start(&mut self) -> Vec<Command<N>> {
        let commands = self.step(|n, cx| n.on_start(cx));
        self.booted = true;
        commands
    }

    /// Delivers `msg` from `from`; returns what the handler emitted.
    pub fn message(&mut self, from: NodeId, msg: N::Msg) -> Vec<Command<N>> {
        self.step(|n, cx| n.on_message(cx, from, msg))
    }

    /// Fires `timer` (whether or not it was set); returns what the handler emitted.
    pub fn timer(&mut self, timer: N::Timer) -> Vec<Command<N>> {
        self.step(|n, cx| n.on_timer(cx, timer))
    }

    /// Hands the node a client request; returns what the handler emitted.
    pub fn request(&mut self, id: RequestId, req: N::Request) -> Vec<Command<N>> {
        self.step(|n, cx| n.on_request(cx, id, req))
    }

    /// Power cut and restart: unsynced writes are lost, volatile state is rebuilt by the factory,
    /// and `on_start` runs again.
    pub fn crash_and_restart(&mut self) -> Vec<Command<N>> {
        self.disk.crash();
        self.node = (self.factory)();
        self.start()
    }

    /// The disk is lost and replaced by an empty one (the `disk.wiped` fault): the node
    /// restarts on a blank disk, at a start that is not its first boot.
    pub fn wipe_and_restart(&mut self) -> Vec<Command<N>> {
        self.disk = TestDisk::new();
        self.node = (self.factory)();
        self.start()
    }

    fn step(&mut self, f: impl FnOnce(&mut N, &mut Context<'_, N>)) -> Vec<Command<N>> {
        let mut out = Vec::new();
        let mut buggify = NoBuggify;
        let mut cx = Context::new(self.id, self.now, &mut self.rng, &mut self.disk, &mut buggify, &mut out)
            .with_first_boot(!self.booted);
        f(&mut self.node, &mut cx);
        self.node.check_invariants();
        out
    }
}
