//! A shard group's state machine: its keys, its client sessions, its configuration epoch and
//! its migrations in flight. Every replica of the group applies the same commands in log
//! order, so they all agree on which keys the group serves at which moment.
//!
//! The rules, applied at the point of the log where each command sits:
//! - A client request routed with epoch `e` is served only if the group is at epoch `e`
//!   (otherwise `StaleEpoch`, and the router re-routes), and only if its key is not arriving
//!   from a group whose handoff has not been imported yet (`Moving`). A server trusts the route
//!   within an epoch; the epoch check is what makes a migration safe.
//! - `Reconfigure` to epoch `e + 1` (only once nothing is awaited at `e`): the keys that the
//!   new ring gives to another group leave the store, frozen as an outgoing shipment per
//!   destination (with a copy of the client sessions); the groups that the ring moves arcs
//!   from into this group are awaited.
//! - `Import` of a shipment from an awaited group at the current epoch installs its keys and
//!   merges its sessions (the later write per client wins), and that group is no longer
//!   awaited; a repeated import changes nothing.
//! - `Release` drops an outgoing shipment once its destination has acknowledged the import.
//!
//! A machine also records, outside its replicated state, what it served and what happened in
//! the current step (for the observer: the "one group per key per epoch" invariant and the
//! events); that record is not part of equality, digests or snapshots.

use crate::msg::{GroupId, Refusal, RingConfig, ShardRead, ShardResponse, ShardWrite, Shipment};
use faultline_raft::StateMachine;
use faultline_services::{KvOutcome, KvStore, KvWrite, Ring};
use faultline_sim::{ClientId, RequestId};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// The client id of commands a shard node proposes itself (reconfigurations, imports,
/// releases): outside client sessions, deduplicated by the protocol's own rules instead.
pub const INTERNAL_CLIENT: ClientId = ClientId(u32::MAX);

/// What happened in a machine during one step (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MachineEvent {
    /// A client's key was read or written at `epoch`.
    Served {
        epoch: u64,
        key: String,
    },
    /// A request routed with another epoch was refused.
    StaleEpoch,
    /// Moved to configuration `epoch` (of `groups`), awaiting handoffs from `awaiting` and
    /// handing keys to `leaving`.
    Reconfigured {
        epoch: u64,
        groups: Vec<GroupId>,
        awaiting: Vec<GroupId>,
        leaving: Vec<(GroupId, usize)>,
    },
    Imported {
        epoch: u64,
        from: GroupId,
    },
    Released {
        epoch: u64,
        to: GroupId,
    },
}

/// The step's events: volatile, outside equality and serialization (a copy starts empty).
#[derive(Debug, Default)]
struct Record(RefCell<Vec<MachineEvent>>);

impl Clone for Record {
    fn clone(&self) -> Self {
        Record::default()
    }
}

impl PartialEq for Record {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Record {}

/// Planted bugs that live in the machine (set when the node is built; kept in snapshots so
/// that every replica keeps them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineBugs {
    /// `NoEpochCheck`: a write routed with an older epoch is applied.
    pub no_epoch_check: bool,
    /// `ServeBeforeHandoffApplied`: keys still arriving are served at once.
    pub serve_before_import: bool,
}

/// A shard group's replicated state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMachine {
    kv: KvStore<ShardResponse>,
    /// This group (learned from its first `Reconfigure`).
    group: Option<GroupId>,
    /// The configuration the group is at (epoch 0: none yet, it serves nothing).
    config: Option<RingConfig>,
    /// The configuration before it, for where arriving keys come from.
    previous: Option<RingConfig>,
    /// Groups whose handoff for the current epoch has not been imported yet.
    awaiting: BTreeSet<GroupId>,
    /// Frozen keys handed to another group, by (epoch, destination), until acknowledged.
    outgoing: BTreeMap<(u64, GroupId), Shipment>,
    /// Only under `ImportAckLostBothServe`: keys taken back, served to routes of `epoch - 1`.
    reclaimed: BTreeMap<String, u64>,
    bugs: MachineBugs,
    #[serde(skip)]
    record: Record,
}

impl ShardMachine {
    /// A machine with the planted bugs `bugs`.
    pub fn with_bugs(bugs: MachineBugs) -> Self {
        ShardMachine { bugs, ..ShardMachine::default() }
    }

    /// The configuration epoch (0 before the first configuration).
    pub fn epoch(&self) -> u64 {
        self.config.as_ref().map_or(0, |c| c.epoch)
    }

    pub fn config(&self) -> Option<&RingConfig> {
        self.config.as_ref()
    }

    pub fn awaiting(&self) -> &BTreeSet<GroupId> {
        &self.awaiting
    }

    pub fn outgoing(&self) -> &BTreeMap<(u64, GroupId), Shipment> {
        &self.outgoing
    }

    pub fn kv(&self) -> &KvStore<ShardResponse> {
        &self.kv
    }

    /// Whether what `from` handed over for `epoch` is already here (or was never needed).
    pub fn has_imported(&self, epoch: u64, from: GroupId) -> bool {
        epoch < self.epoch() || (epoch == self.epoch() && !self.awaiting.contains(&from))
    }

    /// Takes what happened since the last call (see the module documentation).
    pub fn take_events(&self) -> Vec<MachineEvent> {
        self.record.0.take()
    }

    fn note(&self, event: MachineEvent) {
        self.record.0.borrow_mut().push(event);
    }

    /// Whether a client request routed with `epoch` for `key` may be served now.
    fn admit(&self, epoch: u64, key: &str, write: bool) -> Result<(), Refusal> {
        let current = self.epoch();
        // BUG(ImportAckLostBothServe): a reclaimed key is served to routes of the epoch before.
        let reclaimed = self.reclaimed.get(key).is_some_and(|e| epoch + 1 == *e && epoch + 1 == current);
        // BUG(NoEpochCheck): a write routed with an older epoch is taken as if it were current.
        let stale_accepted = self.bugs.no_epoch_check && write && epoch < current;
        if epoch != current && !reclaimed && !stale_accepted {
            return Err(Refusal::StaleEpoch { epoch: current });
        }
        if self.arriving(key) && !self.bugs.serve_before_import {
            // BUG(ServeBeforeHandoffApplied) skips this: the key is served before it arrived.
            return Err(Refusal::Moving);
        }
        Ok(())
    }

    /// Whether `key` comes from a group whose handoff is still awaited.
    fn arriving(&self, key: &str) -> bool {
        if self.awaiting.is_empty() {
            return false;
        }
        let from = self.previous.as_ref().and_then(|p| p.ring().owner(key));
        from.is_some_and(|g| self.awaiting.contains(&g))
    }

    fn refuse(&self, why: Refusal) -> ShardResponse {
        if matches!(why, Refusal::StaleEpoch { .. }) {
            self.note(MachineEvent::StaleEpoch);
        }
        ShardResponse::Refused(why)
    }

    fn client_write(&mut self, id: RequestId, epoch: u64, op: &KvWrite) -> Option<ShardResponse> {
        if let Err(why) = self.admit(epoch, op.key(), true) {
            return Some(self.refuse(why));
        }
        let response = self.kv.apply(id, op).response()?;
        self.note(MachineEvent::Served { epoch: self.epoch(), key: op.key().to_string() });
        Some(response)
    }

    /// Moves to `config` if it is the next epoch and nothing is awaited (see the module docs).
    fn reconfigure(&mut self, group: GroupId, config: &RingConfig) {
        if config.epoch != self.epoch() + 1 || !self.awaiting.is_empty() {
            return;
        }
        self.group = Some(group);
        if let Some(before) = &self.config {
            let (old, new) = (before.ring(), config.ring());
            let moves = old.moves_to(&new);
            self.awaiting = moves.iter().filter(|(_, to)| *to == group).map(|(from, _)| *from).collect();
            self.freeze_leaving(group, config.epoch, &new, &moves);
        }
        self.previous = self.config.replace(config.clone());
        self.reclaimed.clear();
        let leaving = self.outgoing.iter().filter(|((e, _), _)| *e == config.epoch);
        self.note(MachineEvent::Reconfigured {
            epoch: config.epoch,
            groups: config.groups.iter().copied().collect(),
            awaiting: self.awaiting.iter().copied().collect(),
            leaving: leaving.map(|((_, to), s)| (*to, s.pairs.len())).collect(),
        });
    }

    /// Takes the keys the new ring gives to other groups out of the store, one shipment per
    /// destination the ring moves arcs to (an empty one where no key lies yet: the
    /// destination waits for it all the same).
    fn freeze_leaving(&mut self, me: GroupId, epoch: u64, new: &Ring, moves: &BTreeSet<(u32, u32)>) {
        let mut shipments: BTreeMap<GroupId, Shipment> = BTreeMap::new();
        for (_, to) in moves.iter().filter(|(from, _)| *from == me) {
            shipments.entry(*to).or_default();
        }
        for (key, value) in self.kv.take_pairs(|k| new.owner(k).is_some_and(|o| o != me)) {
            let to = new.owner(&key).expect("the ring is not empty");
            shipments.entry(to).or_default().pairs.push((key, value));
        }
        for (to, mut shipment) in shipments {
            shipment.sessions = self.kv.sessions();
            self.outgoing.insert((epoch, to), shipment);
        }
    }

    fn import(&mut self, epoch: u64, from: GroupId, shipment: &Shipment) {
        if epoch != self.epoch() || !self.awaiting.remove(&from) {
            return;
        }
        self.kv.insert_pairs(shipment.pairs.iter().cloned());
        self.kv.merge_sessions(&shipment.sessions);
        self.note(MachineEvent::Imported { epoch, from });
    }

    fn release(&mut self, epoch: u64, to: GroupId) {
        if self.outgoing.remove(&(epoch, to)).is_some() {
            self.note(MachineEvent::Released { epoch, to });
        }
    }

    /// BUG(ImportAckLostBothServe): the source takes an unacknowledged shipment back and serves
    /// its keys again, though the destination may have imported them.
    fn reclaim(&mut self, epoch: u64, to: GroupId) {
        let Some(shipment) = self.outgoing.remove(&(epoch, to)) else { return };
        for (key, _) in &shipment.pairs {
            self.reclaimed.insert(key.clone(), epoch);
        }
        self.kv.insert_pairs(shipment.pairs);
    }
}

impl StateMachine for ShardMachine {
    type Write = ShardWrite;
    type Read = ShardRead;
    type Response = ShardResponse;

    fn apply(&mut self, id: RequestId, write: &ShardWrite) -> Option<ShardResponse> {
        match write {
            ShardWrite::Client { epoch, op } => return self.client_write(id, *epoch, op),
            ShardWrite::Reconfigure { group, config } => self.reconfigure(*group, config),
            ShardWrite::Import { epoch, from, shipment } => self.import(*epoch, *from, shipment),
            ShardWrite::Release { epoch, to } => self.release(*epoch, *to),
            ShardWrite::Reclaim { epoch, to } => self.reclaim(*epoch, *to),
        }
        Some(ShardResponse::Done)
    }

    fn read(&mut self, read: &ShardRead) -> ShardResponse {
        if let Err(why) = self.admit(read.epoch, &read.key, false) {
            return self.refuse(why);
        }
        self.note(MachineEvent::Served { epoch: self.epoch(), key: read.key.clone() });
        ShardResponse::Kv(KvOutcome::Value(self.kv.get(&read.key).map(str::to_string)))
    }

    fn saved_response(&self, id: RequestId) -> Option<ShardResponse> {
        (id.client != INTERNAL_CLIENT).then(|| self.kv.saved_response(id).cloned()).flatten()
    }

    fn is_stale(&self, id: RequestId) -> bool {
        id.client != INTERNAL_CLIENT && self.kv.is_stale(id)
    }

    fn digest(&self) -> u64 {
        let bytes = postcard::to_allocvec(self).expect("a shard machine always encodes");
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }
}
