//! One group per key per epoch: under one configuration of a sharded store, every key is served
//! by at most one replicated group.
//!
//! This is the safety condition of live migration in a sharded store with a configuration
//! service (the shard controller and groups of MIT 6.824's ShardKV, Redis Cluster's slot
//! ownership): a group stops serving a key when it adopts the configuration that moves it, and
//! the new owner starts only once the key's data has arrived, so the owners of one epoch never
//! overlap. kvrocks issue 3147 is a violation: after a lost import acknowledgement, source and
//! destination both served the migrated slot. Two groups serving one key in one epoch can
//! accept conflicting writes that no single order explains.
//!
//! Method: the store reports each key it serves (a read answered or a write applied) with the
//! serving group and the group's epoch; remember the first group seen for each (epoch, key) and
//! report any other group seen for it.

use super::Invariant;
use std::collections::BTreeMap;

/// A key served by a group at an epoch, as one node saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedKey {
    pub group: u32,
    pub epoch: u64,
    pub key: String,
    /// The node that served it, and when (for the report).
    pub node: u32,
    pub time_ns: u64,
}

/// The checker (see the module documentation).
#[derive(Default)]
pub struct OneGroupPerKey {
    /// (epoch, key) -> the first (group, node, time) seen serving it.
    owners: BTreeMap<(u64, String), (u32, u32, u64)>,
}

impl Invariant<ServedKey> for OneGroupPerKey {
    fn check(&mut self, obs: &ServedKey) -> Result<(), String> {
        let first =
            *self.owners.entry((obs.epoch, obs.key.clone())).or_insert((obs.group, obs.node, obs.time_ns));
        if first.0 != obs.group {
            return Err(format!(
                "key {:?} served by two groups in epoch {}: group {} (n{} at {} ms) and group {} (n{} at {} ms)",
                obs.key,
                obs.epoch,
                first.0,
                first.1,
                first.2 / 1_000_000,
                obs.group,
                obs.node,
                obs.time_ns / 1_000_000
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::check_with;
    use crate::Verdict;

    fn served(group: u32, epoch: u64, key: &str) -> ServedKey {
        ServedKey { group, epoch, key: key.into(), node: group * 3, time_ns: epoch * 1_000_000 }
    }

    #[test]
    fn a_key_that_moves_between_epochs_passes() {
        let seq = [served(0, 1, "k"), served(0, 1, "k"), served(1, 2, "k"), served(0, 2, "j")];
        assert_eq!(check_with(OneGroupPerKey::default(), &seq), Verdict::Ok);
    }

    #[test]
    fn two_groups_serving_a_key_in_one_epoch_fail() {
        let seq = [served(0, 3, "k"), served(1, 3, "j"), served(1, 3, "k")];
        let Verdict::Violation(why) = check_with(OneGroupPerKey::default(), &seq) else {
            panic!("two owners in one epoch passed")
        };
        assert!(why.contains("\"k\"") && why.contains("epoch 3") && why.contains("group 0"), "{why}");
    }
}
