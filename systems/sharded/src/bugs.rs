//! The planted bugs, chosen by the system's configuration (one build covers them all). Each is
//! marked `BUG(<Variant>)` where it deviates, and each breaks a property the checks state.

faultline_sim::bug_zoo! {
    /// A planted bug of the sharded store.
    pub enum ShardedBug {
        /// The old owner applies a write routed with an epoch it has left behind: the write
        /// lands in a copy that has already been handed over, so it is lost to the new owner.
        NoEpochCheck = (
            "no-epoch-check",
            "the old owner accepts a write routed with a stale epoch"
        ),
        /// The source of a migration, not hearing that the destination imported its keys,
        /// takes them back and serves them again to clients that still route there, while the
        /// destination serves them too (kvrocks issue 3147: both nodes serve a migrated slot).
        ImportAckLostBothServe = (
            "import-ack-lost-both-serve",
            "a source that never hears the import acknowledged takes its keys back, and both groups serve them"
        ),
        /// The destination serves keys from the moment it adopts the new configuration, before
        /// the handoff carrying their values is applied.
        ServeBeforeHandoffApplied = (
            "serve-before-handoff-applied",
            "the destination serves arriving keys before their handoff is applied"
        ),
        /// Some routers build the ring with another virtual-node count, so clients disagree on
        /// the owner of a key (ketama clients configured differently).
        ClientsDisagreeOnVnodes = (
            "clients-disagree-on-vnodes",
            "some routers build the ring with another virtual-node count"
        ),
    }
}
