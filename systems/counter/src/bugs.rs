//! The counter's planted bugs, chosen by configuration so one build covers all of them. Each is
//! marked `BUG(<Variant>)` where the code deviates.

faultline_sim::bug_zoo! {
    /// A deliberate defect; the harness must find each within its seed budget.
    pub enum CounterBug {
        /// The primary acknowledges an increment as soon as it is appended, before the group
        /// commit syncs and replicates it. A crash in between loses an acknowledged increment.
        AckBeforeDurable = (
            "ack-before-durable",
            "the primary acknowledges an increment before a majority holds it durably"
        ),
        /// The primary does not recognise a retried request, so a retry after a lost answer
        /// applies the increment twice.
        NoDedup = ("no-dedup", "a retried increment is applied again"),
        /// Backups answer reads from their own, possibly lagging, copy.
        ReadFromBackup = ("read-from-backup", "backups serve reads from a copy that may lag"),
    }
}
