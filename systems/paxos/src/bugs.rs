//! The bug zoo: named, deliberately planted protocol bugs, chosen by `PaxosConfig::bug`.
//!
//! Each bug is a small deviation at the place where the correct code is, marked there with
//! `BUG(<Variant>)`. Most follow a defect found in a real implementation. They exist to prove
//! that the checks and the harness can fail: each breaks a property the checks state, and a
//! targeted test shows its effect.

faultline_sim::bug_zoo! {
    /// A planted bug.
    pub enum PaxosBug {
        /// An acceptor answers a prepare or an accept before its promise or accepted value is
        /// synced ("Paxos Made Simple", section 2.3: an acceptor must remember them across a
        /// failure): after a crash it can accept what it promised to refuse.
        AcceptorRepliesBeforeSync = (
            "acceptor-replies-before-sync",
            "an acceptor answers before its promise or accepted value is synced"
        ),
        /// A restarted proposer picks its next ballot from what others told it, not from the
        /// ballot it last used, and can issue that ballot again with other values (phxpaxos
        /// issue 145: a proposal id reused after a restart).
        BallotReusedAfterRestart = (
            "ballot-reused-after-restart",
            "a restarted proposer can reuse a ballot it already proposed with"
        ),
        /// Promises answering an earlier prepare round of the proposer count toward the quorum
        /// of its later round (MyPaxos issue 18): the set of promises is not reset between
        /// rounds (those that won its last phase 1 count again), and a late promise to an
        /// earlier ballot counts too. What they report is stale: values chosen since, under
        /// other leaders, are missed.
        StalePromiseCounted = (
            "stale-promise-counted",
            "a promise from an earlier prepare round counts toward a later round's quorum"
        ),
        /// A new leader fills every slot from its own log and ignores the accepted values the
        /// promises reported (breaks P2c, "Paxos Made Simple", section 2.2).
        IgnoreAcceptedInPhase1 = (
            "ignore-accepted-in-phase-1",
            "a new leader proposes its own value where a promise reported an accepted one"
        ),
        /// An acceptor that restarts on an empty disk answers prepares at once, forgetting what
        /// it promised and accepted ("Paxos Made Live", section 5.1).
        WipedAcceptorVotes = (
            "wiped-acceptor-votes",
            "an acceptor that lost its disk answers prepares at once"
        ),
        /// The leader answers reads from its state machine without confirming that it still
        /// leads: a deposed leader serves stale reads.
        StaleLeaderRead = (
            "stale-leader-read",
            "the leader serves reads without confirming it still leads"
        ),
    }
}
