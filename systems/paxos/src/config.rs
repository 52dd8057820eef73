//! `PaxosConfig`: plain data describing a cluster and its timing, validated before use.

use crate::bugs::PaxosBug;
use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How a Multi-Paxos node behaves. `Default` is a three-node cluster without bugs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaxosConfig {
    /// Nodes `0..nodes`: every one is an acceptor and a replica, and may lead.
    pub nodes: u32,
    /// A node that hears no leader for a timeout drawn from `[min, max)` on its own clock runs
    /// phase 1; after each failed attempt the range's top doubles (randomized backoff), up to
    /// eight times `max`.
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// How often a leader sends its heartbeat (an empty phase 2a with the commit).
    pub heartbeat_interval: Duration,
    /// Take a snapshot once this many applied slots sit in the log.
    pub snapshot_threshold: u64,
    /// At most this many values per phase 2a or catch-up message.
    pub max_entries_per_message: usize,
    /// A planted bug (see [`PaxosBug`]); `None` is the correct protocol.
    pub bug: Option<PaxosBug>,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        PaxosConfig {
            nodes: 3,
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat_interval: Duration::from_millis(50),
            snapshot_threshold: 8,
            max_entries_per_message: 16,
            bug: None,
        }
    }
}

/// Why a configuration is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("a cluster needs at least one node")]
    NoNodes,
    #[error("at most 65535 nodes: a ballot keeps the node id in 16 bits of its number")]
    TooManyNodes,
    #[error("election timeout range [{min:?}, {max:?}) is empty")]
    EmptyElectionRange { min: Duration, max: Duration },
    #[error("heartbeat interval {heartbeat:?} must be below the minimum election timeout {election:?}")]
    HeartbeatTooSlow { heartbeat: Duration, election: Duration },
    #[error("snapshot threshold and max entries per message must be at least 1")]
    ZeroLimit,
}

impl PaxosConfig {
    /// A default config with nodes `0..n`.
    pub fn with_nodes(n: u32) -> Self {
        PaxosConfig { nodes: n, ..PaxosConfig::default() }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.nodes == 0 {
            return Err(ConfigError::NoNodes);
        }
        if self.nodes > 0xFFFF {
            return Err(ConfigError::TooManyNodes);
        }
        if self.election_timeout_min >= self.election_timeout_max {
            let (min, max) = (self.election_timeout_min, self.election_timeout_max);
            return Err(ConfigError::EmptyElectionRange { min, max });
        }
        if self.heartbeat_interval >= self.election_timeout_min {
            let (heartbeat, election) = (self.heartbeat_interval, self.election_timeout_min);
            return Err(ConfigError::HeartbeatTooSlow { heartbeat, election });
        }
        if self.snapshot_threshold == 0 || self.max_entries_per_message == 0 {
            return Err(ConfigError::ZeroLimit);
        }
        Ok(())
    }

    /// Every node of the cluster.
    pub fn members(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes).map(NodeId)
    }

    /// Whether `n` nodes are a majority of the cluster.
    pub fn is_quorum(&self, n: usize) -> bool {
        2 * n > self.nodes as usize
    }

    pub(crate) fn has_bug(&self, bug: PaxosBug) -> bool {
        self.bug == Some(bug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_configs_say_why() {
        assert_eq!(PaxosConfig::default().validate(), Ok(()));
        assert_eq!(PaxosConfig::with_nodes(0).validate(), Err(ConfigError::NoNodes));
        let slow = PaxosConfig { heartbeat_interval: Duration::from_millis(500), ..PaxosConfig::default() };
        assert!(matches!(slow.validate(), Err(ConfigError::HeartbeatTooSlow { .. })));
        let c = PaxosConfig::with_nodes(5);
        assert!(c.is_quorum(3) && !c.is_quorum(2));
    }
}
