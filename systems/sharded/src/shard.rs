//! A replica of a shard group: a Raft node of the group's state machine, and, while it leads,
//! the driver of the group's migrations.
//!
//! The leader polls (every [`POLL_INTERVAL`]): when nothing is awaited at its epoch it asks the
//! configuration service for the next configuration and, once it has it, proposes
//! `Reconfigure`; it pushes every outgoing shipment to the destination group until that group
//! acknowledges the import, then proposes `Release`. A leader handed a shipment proposes
//! `Import` (or acknowledges at once if it is already imported), and acknowledges when the
//! import is applied. Everything that changes what the group serves goes through its log; the
//! messages only carry it between groups, and every one of them is repeated until it has done
//! its work, so a crash, a lost message or a new leader only delays a migration.

use crate::machine::{MachineBugs, MachineEvent, ShardMachine, INTERNAL_CLIENT};
use crate::msg::{GroupId, Msg, ShardResponse, ShardWrite, Timer};
use crate::node::{from_raft, Cx};
use crate::topology::Topology;
use faultline_raft::{Raft, RaftConfig, Request};
use faultline_sim::{Command, Context, Node, NodeId, RequestId};
use rand::Rng as _;
use std::collections::BTreeMap;
use std::time::Duration;

/// How often a leader looks for the next configuration and pushes its handoffs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Under `ImportAckLostBothServe`: pushes without an acknowledgement before the source takes
/// its keys back.
pub const RECLAIM_AFTER_PUSHES: u32 = 5;

/// The kinds of command a shard node proposes itself, in its internal request ids.
const RECONFIGURE: u64 = 1;
const IMPORT: u64 = 2;
const RELEASE: u64 = 3;
const RECLAIM: u64 = 4;

/// One replica of a shard group.
pub struct ShardNode {
    raft: Raft<ShardMachine>,
    group: GroupId,
    topology: Topology,
    /// `ImportAckLostBothServe`: take unacknowledged shipments back.
    reclaims: bool,
    /// Pushes of each outgoing shipment since this node started leading it.
    pushes: BTreeMap<(u64, GroupId), u32>,
    /// Which configuration node to ask next.
    cursor: usize,
    /// What the machine did in the last step.
    events: Vec<MachineEvent>,
}

impl ShardNode {
    pub fn new(group: GroupId, topology: Topology, bugs: MachineBugs, reclaims: bool) -> ShardNode {
        let config = RaftConfig { members: topology.group_nodes(group), ..RaftConfig::default() };
        let raft = Raft::with_machine(config, ShardMachine::with_bugs(bugs)).expect("a shard group is valid");
        ShardNode { raft, group, topology, reclaims, pushes: BTreeMap::new(), cursor: 0, events: Vec::new() }
    }

    pub fn raft(&self) -> &Raft<ShardMachine> {
        &self.raft
    }

    pub fn group(&self) -> GroupId {
        self.group
    }

    /// What the machine did in this node's last step.
    pub fn events(&self) -> &[MachineEvent] {
        &self.events
    }

    /// Runs a step of the Raft node; replies to clients go to their routers, answers to this
    /// node's own proposals are handled here.
    fn embed(
        &mut self,
        cx: &mut Cx<'_>,
        step: impl FnOnce(&mut Raft<ShardMachine>, &mut Context<'_, Raft<ShardMachine>>),
    ) {
        let (raft, topology) = (&mut self.raft, self.topology);
        let mut own: Vec<RequestId> = Vec::new();
        cx.embed(
            |cx| step(raft, cx),
            |c| {
                from_raft(c, |id, resp| {
                    if id.client == INTERNAL_CLIENT {
                        // Only an applied proposal counts: a refusal (a full disk, no longer
                        // the leader) is retried by the next poll or push.
                        if resp == ShardResponse::Done {
                            own.push(id);
                        }
                        return None;
                    }
                    Some(Command::Send { to: topology.router(id.client), msg: Msg::ShardAnswer { id, resp } })
                })
            },
        );
        let events = self.raft.kv().take_events();
        for e in &events {
            match e {
                MachineEvent::Imported { .. } => cx.sometimes("sharded.import_applied"),
                MachineEvent::Released { .. } => cx.sometimes("sharded.handoff_released"),
                MachineEvent::StaleEpoch => cx.sometimes("sharded.stale_epoch_refused"),
                _ => {}
            }
            if !matches!(e, MachineEvent::Served { .. } | MachineEvent::StaleEpoch) {
                tracing::info!(group = self.group, leading = self.raft.is_leading(), "applied: {e:?}");
            }
        }
        self.events.extend(events);
        for id in own {
            self.on_own_applied(cx, id);
        }
    }

    pub fn on_start(&mut self, cx: &mut Cx<'_>) {
        self.events.clear();
        self.embed(cx, |raft, cx| raft.on_start(cx));
        cx.set_timer(Timer::Poll, POLL_INTERVAL);
    }

    pub fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        self.events.clear();
        match msg {
            Msg::Shard(m) => self.embed(cx, |raft, cx| raft.on_message(cx, from, m)),
            Msg::ShardRequest { id, req } => self.embed(cx, |raft, cx| raft.on_request(cx, id, req)),
            Msg::ConfigIs { config } => {
                let m = self.raft.kv();
                if self.raft.is_leading() && config.epoch == m.epoch() + 1 && m.awaiting().is_empty() {
                    self.propose(
                        cx,
                        RECONFIGURE,
                        config.epoch,
                        self.group,
                        ShardWrite::Reconfigure { group: self.group, config },
                    );
                }
            }
            Msg::Handoff { epoch, from: source, shipment } => self.on_handoff(cx, epoch, source, shipment),
            Msg::HandoffAck { epoch, importer }
                if self.raft.is_leading() && self.raft.kv().outgoing().contains_key(&(epoch, importer)) =>
            {
                self.propose(cx, RELEASE, epoch, importer, ShardWrite::Release { epoch, to: importer });
            }
            // Messages for other kinds: a protocol bug, which the checks would show.
            _ => {}
        }
    }

    pub fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        self.events.clear();
        match timer {
            Timer::Raft(t) => self.embed(cx, |raft, cx| raft.on_timer(cx, t)),
            Timer::Poll => self.on_poll(cx),
            Timer::Fetch => {}
        }
    }

    /// Proposes one of this node's own commands, under an id that names it: proposing it
    /// again while it is in flight appends nothing (Raft drops a duplicate in flight).
    fn propose(&mut self, cx: &mut Cx<'_>, kind: u64, epoch: u64, group: GroupId, write: ShardWrite) {
        let id = RequestId { client: INTERNAL_CLIENT, seq: (epoch << 32) | (kind << 24) | u64::from(group) };
        self.embed(cx, |raft, cx| raft.on_request(cx, id, Request::Write(write)));
    }

    /// One of this node's proposals was applied while it led.
    fn on_own_applied(&mut self, cx: &mut Cx<'_>, id: RequestId) {
        let (epoch, kind, group) = (id.seq >> 32, (id.seq >> 24) & 0xff, (id.seq & 0xff_ffff) as GroupId);
        match kind {
            IMPORT => {
                // A crash here leaves the import applied and unacknowledged: the source must
                // push again and be acknowledged by the next leader.
                if cx.crash_point() {
                    return;
                }
                self.acknowledge(cx, epoch, group);
            }
            RECONFIGURE => {
                // Right after an epoch change: frozen keys not yet pushed, arriving keys not
                // yet served.
                cx.crash_point();
            }
            _ => {}
        }
    }

    fn acknowledge(&mut self, cx: &mut Cx<'_>, epoch: u64, source: GroupId) {
        for node in self.topology.group_nodes(source) {
            cx.send(node, Msg::HandoffAck { epoch, importer: self.group });
        }
    }

    fn on_handoff(&mut self, cx: &mut Cx<'_>, epoch: u64, source: GroupId, shipment: crate::msg::Shipment) {
        if !self.raft.is_leading() {
            return;
        }
        let m = self.raft.kv();
        if m.has_imported(epoch, source) {
            // The acknowledgement was lost, or the source's leader changed: say it again.
            cx.sometimes("sharded.handoff_repeated_after_import");
            self.acknowledge(cx, epoch, source);
        } else if epoch == m.epoch() {
            self.propose(cx, IMPORT, epoch, source, ShardWrite::Import { epoch, from: source, shipment });
        }
    }

    fn on_poll(&mut self, cx: &mut Cx<'_>) {
        cx.set_timer(Timer::Poll, POLL_INTERVAL);
        if !self.raft.is_leading() {
            self.pushes.clear();
            return;
        }
        if self.raft.kv().awaiting().is_empty() {
            self.fetch_next_config(cx);
        }
        self.push_handoffs(cx);
    }

    /// Asks one configuration node (in turn; buggify: a random one, maybe lagging) for the
    /// configuration after this group's.
    fn fetch_next_config(&mut self, cx: &mut Cx<'_>) {
        let nodes = self.topology.config_nodes();
        self.cursor = if faultline_sim::buggify!(cx) {
            cx.rng().gen_range(0..nodes.len())
        } else {
            (self.cursor + 1) % nodes.len()
        };
        let epoch = self.raft.kv().epoch() + 1;
        cx.send(nodes[self.cursor], Msg::FetchConfig { epoch: Some(epoch) });
    }

    /// Pushes every unacknowledged shipment to its destination's replicas.
    fn push_handoffs(&mut self, cx: &mut Cx<'_>) {
        let outgoing: Vec<_> = self.raft.kv().outgoing().iter().map(|(k, s)| (*k, s.clone())).collect();
        self.pushes.retain(|k, _| outgoing.iter().any(|(o, _)| o == k));
        let mut first_push = false;
        for ((epoch, to), shipment) in outgoing {
            // buggify: a push is late (a slow network or a busy leader): the destination waits
            // longer, clients meanwhile refused.
            if faultline_sim::buggify!(cx) {
                continue;
            }
            let pushes = self.pushes.entry((epoch, to)).or_default();
            *pushes += 1;
            first_push |= *pushes == 1;
            if self.reclaims && *pushes > RECLAIM_AFTER_PUSHES {
                // BUG(ImportAckLostBothServe): no acknowledgement yet, so take the keys back.
                self.propose(cx, RECLAIM, epoch, to, ShardWrite::Reclaim { epoch, to });
                continue;
            }
            for node in self.topology.group_nodes(to) {
                cx.send(node, Msg::Handoff { epoch, from: self.group, shipment: shipment.clone() });
            }
        }
        // Mid-handoff: the shipment is out, the acknowledgement not yet in.
        if cx.crash_point() {
            return;
        }
        // Cut off with one peer as a shipment first goes out: the rest of the group elects a
        // leader that must pick up the push, while the destination may import the keys.
        if first_push && cx.partition_point() {
            cx.sometimes("sharded.source_cut_off_mid_handoff");
        }
    }
}
