//! The configuration service's state machine: the ring's history, one configuration per epoch.
//!
//! A Raft group (the `config` nodes) replicates it. Configuration 1 is fixed (groups 0 and 1,
//! [`VNODES`] virtual nodes each); every later one differs from the one before by one group
//! joining or leaving, so a migration always moves keys between consecutive configurations
//! only. Configurations never change once committed: any replica that has applied
//! configuration `e` may hand it out (a lagging replica only hands out an older latest one,
//! which costs its asker a refused request and another fetch, never a wrong answer). Ring
//! changes are deduplicated by request id like client writes (thesis 6.3), so a retried
//! "join 2" applied once cannot re-join group 2 after a later "leave 2".

use crate::msg::{ConfigResponse, ConfigWrite, GroupId, RingConfig};
use faultline_raft::StateMachine;
use faultline_sim::{ClientId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Virtual nodes per group on the ring.
pub const VNODES: u32 = 16;
/// The groups of configuration 1.
pub const INITIAL_GROUPS: [GroupId; 2] = [0, 1];

/// The ring's history and the sessions of ring changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigMachine {
    /// `configs[i]` has epoch `i + 1`.
    configs: Vec<RingConfig>,
    /// Per client: the last change applied and its answer.
    sessions: BTreeMap<ClientId, (u64, ConfigResponse)>,
}

impl Default for ConfigMachine {
    fn default() -> Self {
        let first = RingConfig { epoch: 1, groups: INITIAL_GROUPS.into_iter().collect(), vnodes: VNODES };
        ConfigMachine { configs: vec![first], sessions: BTreeMap::new() }
    }
}

impl ConfigMachine {
    /// The latest configuration.
    pub fn latest(&self) -> &RingConfig {
        self.configs.last().expect("configuration 1 is always there")
    }

    /// Configuration `epoch`, if it exists yet.
    pub fn get(&self, epoch: u64) -> Option<&RingConfig> {
        let index = usize::try_from(epoch.checked_sub(1)?).ok()?;
        self.configs.get(index)
    }

    /// Every configuration, oldest first.
    pub fn history(&self) -> &[RingConfig] {
        &self.configs
    }

    /// Applies a change: a new configuration if it changes the ring, else the current one. The
    /// last group never leaves (someone must hold the keys).
    fn change(&mut self, write: &ConfigWrite) -> RingConfig {
        let mut groups = self.latest().groups.clone();
        let changed = match *write {
            ConfigWrite::Join(g) => groups.insert(g),
            ConfigWrite::Leave(g) => groups.len() > 1 && groups.remove(&g),
        };
        if changed {
            let next = RingConfig { epoch: self.latest().epoch + 1, groups, vnodes: self.latest().vnodes };
            self.configs.push(next);
        }
        self.latest().clone()
    }
}

impl StateMachine for ConfigMachine {
    type Write = ConfigWrite;
    type Read = ();
    type Response = ConfigResponse;

    fn apply(&mut self, id: RequestId, write: &ConfigWrite) -> Option<ConfigResponse> {
        if let Some((seq, response)) = self.sessions.get(&id.client) {
            if id.seq == *seq {
                return Some(response.clone());
            }
            if id.seq < *seq {
                return None;
            }
        }
        let response = ConfigResponse::Config(self.change(write));
        self.sessions.insert(id.client, (id.seq, response.clone()));
        Some(response)
    }

    fn read(&mut self, _: &()) -> ConfigResponse {
        ConfigResponse::Config(self.latest().clone())
    }

    fn saved_response(&self, id: RequestId) -> Option<ConfigResponse> {
        self.sessions.get(&id.client).filter(|(seq, _)| *seq == id.seq).map(|(_, r)| r.clone())
    }

    fn is_stale(&self, id: RequestId) -> bool {
        self.sessions.get(&id.client).is_some_and(|(seq, _)| id.seq < *seq)
    }

    fn digest(&self) -> u64 {
        let bytes = postcard::to_allocvec(self).expect("a configuration machine always encodes");
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(client: u32, seq: u64) -> RequestId {
        RequestId { client: ClientId(client), seq }
    }

    fn groups(m: &ConfigMachine) -> Vec<GroupId> {
        m.latest().groups.iter().copied().collect()
    }

    #[test]
    fn each_change_makes_the_next_epoch_and_retries_apply_once() {
        let mut m = ConfigMachine::default();
        assert_eq!((m.latest().epoch, groups(&m)), (1, vec![0, 1]));
        m.apply(id(0, 1), &ConfigWrite::Join(2));
        assert_eq!((m.latest().epoch, groups(&m)), (2, vec![0, 1, 2]));
        m.apply(id(1, 1), &ConfigWrite::Leave(2));
        assert_eq!((m.latest().epoch, groups(&m)), (3, vec![0, 1]));
        // The join retried after the leave is a duplicate: group 2 stays out.
        m.apply(id(0, 1), &ConfigWrite::Join(2));
        assert_eq!(m.latest().epoch, 3);
        // Joining a member or removing the last one changes nothing.
        m.apply(id(0, 2), &ConfigWrite::Join(1));
        m.apply(id(0, 3), &ConfigWrite::Leave(0));
        m.apply(id(0, 4), &ConfigWrite::Leave(1));
        assert_eq!((m.latest().epoch, groups(&m)), (4, vec![1]));
        assert_eq!(m.get(2).map(|c| c.groups.len()), Some(3));
        assert_eq!(m.get(0), None);
    }
}
