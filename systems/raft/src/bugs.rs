//! The bug zoo: named, deliberately planted protocol bugs, chosen by `RaftConfig::bug`.
//!
//! Each bug is a small deviation at the place where the correct code is, marked there with
//! `BUG(<Variant>)`. They exist to prove that the tests and the harness can fail: every one
//! breaks a safety property under some schedule, and a targeted test shows its effect. They are
//! plain configuration (not a cargo feature), so one build covers them all.

faultline_sim::bug_zoo! {
    /// A planted bug.
    pub enum RaftBug {
        /// A granted vote is not made durable: after a crash the node can vote again in the
        /// same term, and two leaders can be elected in one term (breaks Figure 2's
        /// "persistent state").
        VoteNotPersisted = (
            "vote-not-persisted",
            "a granted vote is not synced, so a restarted node can vote twice in one term"
        ),
        /// A leader commits entries of earlier terms by counting replicas (the Figure 8 hazard
        /// that section 5.4.2 forbids): a committed entry can later be overwritten.
        CommitOldTermByCounting = (
            "commit-old-term-by-counting",
            "a leader commits earlier terms' entries by counting replicas (Figure 8)"
        ),
        /// A leader that learns of a higher term adopts it but keeps leading (section 5.1
        /// requires it to step down): two leaders in one term.
        NoStepDownOnHigherTerm = (
            "no-step-down-on-higher-term",
            "a leader that sees a higher term adopts it but keeps leading"
        ),
        /// The leader answers reads from its local state without confirming it still leads
        /// (thesis 6.4): a deposed leader serves stale reads.
        StaleLocalRead = (
            "stale-local-read",
            "the leader serves reads without confirming it still leads"
        ),
        /// A follower truncates its log after the last entry of any AppendEntries, even a
        /// delayed one whose entries all match (Figure 2 says to truncate only on a conflict):
        /// acknowledged entries vanish.
        TruncateOnStaleAppend = (
            "truncate-on-stale-append",
            "a follower truncates its log after a delayed AppendEntries that conflicts with nothing"
        ),
        /// InstallSnapshot keeps the entries after the snapshot even when the entry at the
        /// snapshot's index has another term (Figure 13, step 6): conflicting entries survive.
        SnapshotKeepsConflictingEntries = (
            "snapshot-keeps-conflicting-entries",
            "InstallSnapshot keeps log entries that conflict with the snapshot"
        ),
        /// Entries are acknowledged (and a leader counts itself) before they are synced to
        /// disk: a crash loses entries a quorum was counted on.
        AckBeforeSync = (
            "ack-before-sync",
            "entries are acknowledged before they are synced to disk"
        ),
        /// A leader appends a membership change while the previous one is still uncommitted
        /// (thesis 4.1 allows one at a time): the configurations two changes apart need not
        /// share a majority, and two leaders can be elected in one term.
        MembershipChangeWhilePending = (
            "membership-change-while-pending",
            "a leader accepts a membership change while the previous one is uncommitted"
        ),
        /// A candidate counts the votes of servers outside its latest configuration (thesis
        /// 4.1: a majority of the configuration): removed servers that still answer vote
        /// requests elect a second leader in a term.
        VoteCountedFromNonMember = (
            "vote-counted-from-non-member",
            "a candidate counts the votes of servers outside its configuration"
        ),
    }
}
