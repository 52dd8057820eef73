//! What a run saw of the nodes: each Raft group's invariants and statuses, which group served
//! which key at which epoch, the configurations, and the events.

use crate::machine::MachineEvent;
use crate::msg::{GroupId, RingConfig};
use crate::node::ShardedNode;
use faultline_checkers::invariants::raft::RaftInvariants;
use faultline_checkers::invariants::sharding::{OneGroupPerKey, ServedKey};
use faultline_checkers::invariants::InvariantSet;
use faultline_raft::{convergence, Raft, RaftStatus, StateMachine, StatusRole};
use faultline_sim::events::Events;
use faultline_sim::system::Moment;
use faultline_sim::NodeId;
use std::collections::{BTreeMap, BTreeSet};

/// One Raft group as observed: its invariants, its nodes' statuses, the leaders seen.
#[derive(Default)]
pub struct GroupSeen {
    pub invariants: RaftInvariants,
    pub statuses: BTreeMap<NodeId, RaftStatus>,
    pub leaders: BTreeSet<(u64, NodeId)>,
}

impl GroupSeen {
    /// Feeds a Raft node's state after a step; returns whether it became a new term's leader.
    fn observe<M: StateMachine>(&mut self, id: NodeId, moment: Moment, raft: &Raft<M>) -> bool {
        let status = raft.status();
        // Building an observation clones the log: only changed states are fed to the checks.
        if self.statuses.get(&id).is_none_or(|before| fingerprint(before) != fingerprint(&status)) {
            let mut obs = raft.observe();
            obs.time = moment.time_ns;
            self.invariants.observe(&obs);
        }
        let elected = status.role == StatusRole::Leader && self.leaders.insert((status.term, id));
        self.statuses.insert(id, status);
        elected
    }

    /// The group's current leader, the highest term's.
    pub fn leader(&self) -> Option<NodeId> {
        let leaders = self.statuses.values().filter(|s| s.role == StatusRole::Leader);
        leaders.max_by_key(|s| s.term).map(|s| s.id)
    }

    fn pending(&self) -> Option<String> {
        let statuses: Vec<RaftStatus> = self.statuses.values().cloned().collect();
        convergence(&statuses).err()
    }
}

/// What the invariants can see of a node: if none of it changed, neither did its log.
fn fingerprint(s: &RaftStatus) -> impl PartialEq {
    (s.term, s.role, s.commit_index, s.applied_index, s.last_log, s.snapshot, s.first_hole)
}

/// A shard replica's migration state, as last observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardState {
    pub epoch: u64,
    pub awaiting: usize,
    pub outgoing: usize,
}

/// Everything the run observed.
pub struct Observed {
    pub config: GroupSeen,
    pub groups: BTreeMap<GroupId, GroupSeen>,
    pub shards: BTreeMap<NodeId, ShardState>,
    /// The ring's history, as the configuration replicas applied it.
    pub configs: BTreeMap<u64, RingConfig>,
    pub owners: InvariantSet<ServedKey>,
    migrations: BTreeSet<(u64, GroupId, GroupId)>,
    releases: BTreeSet<(u64, GroupId, GroupId)>,
    pub events: Events,
}

impl Default for Observed {
    fn default() -> Self {
        Observed {
            config: GroupSeen::default(),
            groups: BTreeMap::new(),
            shards: BTreeMap::new(),
            configs: BTreeMap::new(),
            owners: InvariantSet::new().with("one group per key per epoch", OneGroupPerKey::default()),
            migrations: BTreeSet::new(),
            releases: BTreeSet::new(),
            events: Events::default(),
        }
    }
}

impl Observed {
    /// Called after every step of node `id`.
    pub fn observe(&mut self, id: NodeId, moment: Moment, node: &ShardedNode) {
        match node {
            ShardedNode::Config(n) => {
                if self.config.observe(id, moment, n.raft()) {
                    self.events.count("config_leaders_elected", moment);
                }
                self.observe_configs(n.raft().kv().history(), moment);
            }
            ShardedNode::Shard(n) => {
                let group = self.groups.entry(n.group()).or_default();
                if group.observe(id, moment, n.raft()) {
                    self.events.count("shard_leaders_elected", moment);
                }
                let m = n.raft().kv();
                let state = ShardState {
                    epoch: m.epoch(),
                    awaiting: m.awaiting().len(),
                    outgoing: m.outgoing().len(),
                };
                self.shards.insert(id, state);
                self.observe_machine(id, moment, n.group(), n.raft().is_leading(), n.events());
            }
            ShardedNode::Router(_) => {}
        }
    }

    /// Joins and leaves, once per configuration.
    fn observe_configs(&mut self, history: &[RingConfig], moment: Moment) {
        for config in history {
            if self.configs.contains_key(&config.epoch) {
                continue;
            }
            if let Some(before) = self.configs.get(&(config.epoch - 1)) {
                let event = if config.groups.len() > before.groups.len() { "joins" } else { "leaves" };
                self.events.count(event, moment);
            }
            self.configs.insert(config.epoch, config.clone());
        }
    }

    fn observe_machine(
        &mut self,
        id: NodeId,
        moment: Moment,
        group: GroupId,
        leading: bool,
        events: &[MachineEvent],
    ) {
        for event in events {
            match event {
                MachineEvent::Served { epoch, key } => {
                    let served = ServedKey {
                        group,
                        epoch: *epoch,
                        key: key.clone(),
                        node: id.0,
                        time_ns: moment.time_ns,
                    };
                    self.owners.observe(&served);
                }
                MachineEvent::StaleEpoch if leading => self.events.count("stale_epoch_refusals", moment),
                MachineEvent::Imported { epoch, from } if self.migrations.insert((*epoch, *from, group)) => {
                    self.events.count("migrations", moment);
                }
                MachineEvent::Released { epoch, to } if self.releases.insert((*epoch, group, *to)) => {
                    self.events.count("handoffs_released", moment);
                }
                _ => {}
            }
        }
    }

    /// The latest configuration epoch any configuration replica applied.
    pub fn latest_epoch(&self) -> u64 {
        self.configs.keys().next_back().copied().unwrap_or(0)
    }

    /// Why the store has not settled: a Raft group not converged, or a shard group behind the
    /// latest configuration or with a migration in flight.
    pub fn pending(&self) -> Option<String> {
        if let Some(why) = self.config.pending() {
            return Some(format!("configuration group: {why}"));
        }
        let latest = self.latest_epoch();
        for (g, seen) in &self.groups {
            if let Some(why) = seen.pending() {
                return Some(format!("group {g}: {why}"));
            }
            let leader = seen.leader().and_then(|l| self.shards.get(&l));
            match leader {
                Some(s) if s.epoch < latest => {
                    return Some(format!("group {g} is at epoch {} of {latest}", s.epoch))
                }
                Some(s) if s.awaiting > 0 => {
                    return Some(format!("group {g} awaits {} handoffs", s.awaiting))
                }
                Some(s) if s.outgoing > 0 => {
                    return Some(format!("group {g} has {} unacknowledged handoffs", s.outgoing))
                }
                Some(_) => {}
                None => return Some(format!("group {g} has no leader")),
            }
        }
        None
    }

    /// The leader of a shard group with a migration in flight (crashing it tests the handoff),
    /// else any shard leader, else the configuration leader.
    pub fn crash_target(&self) -> Option<NodeId> {
        let leaders: Vec<NodeId> = self.groups.values().filter_map(GroupSeen::leader).collect();
        let busy = leaders.iter().find(|l| self.shards.get(l).is_some_and(|s| s.outgoing + s.awaiting > 0));
        busy.or(leaders.first()).copied().or_else(|| self.config.leader())
    }
}
