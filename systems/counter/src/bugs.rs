//! The counter's planted bugs, chosen by configuration so one build covers all of them.

/// A deliberate defect; the harness must find each within its seed budget.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CounterBug {
    /// The primary acknowledges an increment as soon as it is appended, before the group
    /// commit syncs and replicates it. A crash in between loses an acknowledged increment.
    AckBeforeDurable,
    /// The primary does not recognise a retried request, so a retry after a lost answer applies
    /// the increment twice.
    NoDedup,
    /// Backups answer reads from their own, possibly lagging, copy.
    ReadFromBackup,
}

/// Names as the command line spells them.
pub const BUGS: &[(&str, CounterBug)] = &[
    ("AckBeforeDurable", CounterBug::AckBeforeDurable),
    ("NoDedup", CounterBug::NoDedup),
    ("ReadFromBackup", CounterBug::ReadFromBackup),
];
