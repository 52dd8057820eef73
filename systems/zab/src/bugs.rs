//! The bug zoo: named, deliberately planted defects, each after a real ZooKeeper bug or a
//! classic mistake, chosen by `ZabConfig::bug` and marked in the code with `BUG(<Variant>)`.
//! Every one breaks a property the checks state; a targeted test shows its effect.

faultline_sim::bug_zoo! {
    /// A planted bug.
    pub enum ZabBug {
        /// ZOOKEEPER-3911: a follower acknowledges NEWLEADER before the transactions the sync
        /// gave it are durable; a quorum that crashes then loses committed transactions.
        AckNewleaderBeforePersist = (
            "ack-newleader-before-persist",
            "a follower acknowledges NEWLEADER before the synced transactions are durable"
        ),
        /// ZOOKEEPER-2307: the accepted and current epochs change in memory and are answered
        /// before their file is durably written; a restart forgets an epoch the node promised.
        EpochUpdatedBeforeWrite = (
            "epoch-updated-before-write",
            "the epoch changes in memory and is acknowledged before its file is durably written"
        ),
        /// ZOOKEEPER-3642: a snapshot sync (SNAP) is applied in memory and acknowledged without
        /// being written to disk; a restart brings back the old state.
        SnapSyncInMemoryOnly = (
            "snap-sync-in-memory-only",
            "a snapshot sync is applied in memory only before the follower acknowledges it"
        ),
        /// A new leader treats its history as committed and broadcasts once a quorum has
        /// accepted its epoch, before any follower is synchronized to it (Zab's phase 2 skipped).
        SkipSynchronization = (
            "skip-synchronization",
            "a new leader commits its history and broadcasts before its followers are synchronized"
        ),
        /// The leader commits a proposal once half the ensemble (rounded down) acknowledged it,
        /// one acknowledgement short of a quorum.
        CommitBeforeQuorumAck = (
            "commit-before-quorum-ack",
            "the leader commits a proposal on fewer acknowledgements than a quorum"
        ),
        /// The leader expires a session by deleting its ephemeral nodes in its own tree instead
        /// of broadcasting a closeSession transaction: the other servers keep them.
        EphemeralsSurviveExpiry = (
            "ephemerals-survive-expiry",
            "session expiry is applied locally by the leader, not replicated"
        ),
    }
}
