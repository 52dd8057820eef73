//! `ZabConfig`: the ensemble and its timing, as plain data.

use crate::bugs::ZabBug;
use faultline_sim::NodeId;
use std::time::Duration;

/// How an ensemble is set up. Timing follows ZooKeeper's shape (a tick, a sync limit, an init
/// limit), scaled to simulated runs of a few seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZabConfig {
    /// Every server of the ensemble (voters; a server that lost its epochs observes).
    pub members: Vec<NodeId>,
    /// The housekeeping period: heartbeats, timeouts, resends and session expiry run on it.
    pub tick: Duration,
    /// A follower that hears nothing from its leader this long looks for another; a leader
    /// that has not heard from a quorum this long steps down (ZooKeeper's syncLimit).
    pub sync_limit: Duration,
    /// Discovery and synchronization must complete within this (ZooKeeper's initLimit).
    pub init_limit: Duration,
    /// How often a looking server sends its vote again.
    pub vote_resend: Duration,
    /// How long a server waits for a better vote once a quorum agrees (FLE's finalizeWait).
    pub finalize_wait: Duration,
    /// Take a snapshot of the data tree after this many transactions applied since the last.
    pub snapshot_every: u64,
    /// Most transactions in one PROPOSAL message.
    pub max_txns_per_message: usize,
    /// The planted bug, if any.
    pub bug: Option<ZabBug>,
}

/// Why a configuration is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("an ensemble needs at least one member")]
    NoMembers,
    #[error("the tick ({tick:?}) must be shorter than the sync limit ({sync:?}) and the sync limit at most the init limit ({init:?})")]
    Timing { tick: Duration, sync: Duration, init: Duration },
    #[error("snapshot_every and max_txns_per_message must be at least 1")]
    ZeroCount,
}

impl Default for ZabConfig {
    fn default() -> Self {
        ZabConfig {
            members: vec![NodeId(0), NodeId(1), NodeId(2)],
            tick: Duration::from_millis(100),
            sync_limit: Duration::from_millis(500),
            init_limit: Duration::from_millis(1_000),
            vote_resend: Duration::from_millis(150),
            finalize_wait: Duration::from_millis(30),
            snapshot_every: 32,
            max_txns_per_message: 16,
            bug: None,
        }
    }
}

impl ZabConfig {
    /// An ensemble of `n` servers, numbered from 0.
    pub fn with_members(n: u32) -> Self {
        ZabConfig { members: (0..n).map(NodeId).collect(), ..ZabConfig::default() }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.members.is_empty() {
            return Err(ConfigError::NoMembers);
        }
        if self.tick >= self.sync_limit || self.sync_limit > self.init_limit {
            return Err(ConfigError::Timing {
                tick: self.tick,
                sync: self.sync_limit,
                init: self.init_limit,
            });
        }
        if self.snapshot_every == 0 || self.max_txns_per_message == 0 {
            return Err(ConfigError::ZeroCount);
        }
        Ok(())
    }

    /// Servers needed for a quorum: a strict majority of the members.
    pub fn quorum(&self) -> usize {
        self.members.len() / 2 + 1
    }

    pub fn has_bug(&self, bug: ZabBug) -> bool {
        self.bug == Some(bug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_configs_say_why() {
        ZabConfig::default().validate().unwrap();
        assert_eq!(ZabConfig::with_members(5).quorum(), 3);
        let slow = ZabConfig { tick: Duration::from_secs(1), ..ZabConfig::default() };
        assert!(matches!(slow.validate(), Err(ConfigError::Timing { .. })));
        let empty = ZabConfig { members: Vec::new(), ..ZabConfig::default() };
        assert_eq!(empty.validate(), Err(ConfigError::NoMembers));
    }
}
