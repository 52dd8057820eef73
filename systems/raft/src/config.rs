//! `RaftConfig`: plain data describing a cluster and its timing, validated before use.

use crate::bugs::RaftBug;
use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How a Raft node behaves. `Default` is a three-node cluster (n0, n1, n2) without bugs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftConfig {
    /// The initial membership. Every node starts from it (it is the configuration at index 0);
    /// later changes go through the log. Nodes outside it wait to be added.
    pub members: Vec<NodeId>,
    /// Election timeouts are drawn uniformly from `[min, max)` on the node's own clock
    /// (section 5.2).
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// How often a leader sends AppendEntries when it has nothing else to send.
    pub heartbeat_interval: Duration,
    /// Take a snapshot once this many applied entries sit in the log (section 7).
    pub snapshot_threshold: u64,
    /// At most this many entries per AppendEntries.
    pub max_entries_per_message: usize,
    /// Removals that would leave fewer members are refused (`Response::Invalid`), unless the
    /// cluster is already smaller. Three voters survive one lost or damaged node; two do not.
    pub min_members: usize,
    /// A planted bug (see [`RaftBug`]); `None` is the correct protocol.
    pub bug: Option<RaftBug>,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            members: (0..3).map(NodeId).collect(),
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat_interval: Duration::from_millis(50),
            // Small on purpose: a simulated run applies only tens of entries, and at 64 few
            // runs ever compacted, so InstallSnapshot rarely met a partition or a crash.
            snapshot_threshold: 8,
            max_entries_per_message: 16,
            min_members: 3,
            bug: None,
        }
    }
}

/// Why a configuration is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the initial membership is empty")]
    NoMembers,
    #[error("node {0} appears twice in the initial membership")]
    DuplicateMember(NodeId),
    #[error("election timeout range [{min:?}, {max:?}) is empty")]
    EmptyElectionRange { min: Duration, max: Duration },
    #[error("heartbeat interval {heartbeat:?} must be below the minimum election timeout {election:?}")]
    HeartbeatTooSlow { heartbeat: Duration, election: Duration },
    #[error("snapshot threshold and max entries per message must be at least 1")]
    ZeroLimit,
}

impl RaftConfig {
    /// A default config with members `0..n`.
    pub fn with_members(n: u32) -> Self {
        RaftConfig { members: (0..n).map(NodeId).collect(), ..RaftConfig::default() }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.members.is_empty() {
            return Err(ConfigError::NoMembers);
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = self.members.iter().find(|m| !seen.insert(**m)) {
            return Err(ConfigError::DuplicateMember(*dup));
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

    pub(crate) fn has_bug(&self, bug: RaftBug) -> bool {
        self.bug == Some(bug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_configs_say_why() {
        assert_eq!(RaftConfig::default().validate(), Ok(()));
        let dup = RaftConfig { members: vec![NodeId(1), NodeId(1)], ..RaftConfig::default() };
        assert_eq!(dup.validate(), Err(ConfigError::DuplicateMember(NodeId(1))));
        let slow = RaftConfig { heartbeat_interval: Duration::from_millis(500), ..RaftConfig::default() };
        assert!(matches!(slow.validate(), Err(ConfigError::HeartbeatTooSlow { .. })));
        let empty = RaftConfig { members: vec![], ..RaftConfig::default() };
        assert_eq!(empty.validate(), Err(ConfigError::NoMembers));
    }
}
