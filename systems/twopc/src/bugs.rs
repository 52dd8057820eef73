//! Two-phase commit's planted bugs, chosen by configuration so one build covers all of them.
//! Each is marked `BUG(<Variant>)` where the code deviates.

faultline_sim::bug_zoo! {
    /// A deliberate defect; the harness must find each within its seed budget.
    pub enum TwoPcBug {
        /// The coordinator sends COMMIT and answers the client before its decision is durable,
        /// writing it a moment later. A crash in between loses a decision some participants
        /// already acted on, and presumed abort then aborts the rest.
        CommitBeforeDecisionDurable = (
            "commit-before-decision-durable",
            "the coordinator sends its commit decision before the decision is durable"
        ),
        /// A participant votes yes with its PREPARED record written but not synced (MySQL bug
        /// 12161: XA PREPARE not durable). A crash forgets the transaction's writes while the
        /// coordinator commits it.
        PreparedNotDurable = (
            "prepared-not-durable",
            "a participant votes yes before its PREPARED record is durable"
        ),
        /// A participant in doubt gives up waiting and aborts on its own (a heuristic decision),
        /// though it voted yes and the coordinator may have committed.
        HeuristicAbortInDoubt = (
            "heuristic-abort-in-doubt",
            "a participant that voted yes aborts on a timeout instead of waiting for the decision"
        ),
        /// Cooperative termination answered wrongly: a participant that voted yes and does not
        /// know the outcome tells a peer "abort", which only a participant that has not voted
        /// may say.
        CooperativeTerminationWrong = (
            "cooperative-termination-wrong",
            "a participant that voted yes answers a peer's inquiry with abort"
        ),
        /// The coordinator forgets a commit decision as soon as it has sent it, before every
        /// participant acknowledged; a participant that missed it inquires and is told "abort".
        DecisionForgottenEarly = (
            "decision-forgotten-early",
            "the coordinator forgets a commit decision before every participant acknowledged it"
        ),
    }
}
