//! The catalogue of fault kinds: what faultline can do to a run, and the counter that says a
//! fault of that kind actually fired.
//!
//! Sweeps sum these counters over seeds and report every kind that never fired, so a sweep in
//! which the interesting thing never happened does not pass as if it had tested it. A kind that
//! no node of a system's layout may suffer (faults that destroy synced data, when every durable
//! node is a single copy) cannot fire at all: [`possible`] tells it apart, and sweeps list such
//! kinds as not applicable rather than as never fired.

use crate::layout::{FaultPermissions, Layout};
use crate::stats::Counters;

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultKind {
    /// The counter that counts it (also its name in reports).
    pub counter: &'static str,
    /// What firing means, in a sentence (listed for the kinds a sweep never fired).
    pub description: &'static str,
}

const fn kind(counter: &'static str, description: &'static str) -> FaultKind {
    FaultKind { counter, description }
}

/// Every fault kind, by family.
pub const KINDS: &[FaultKind] = &[
    kind("net.loss", "a message was dropped"),
    kind("net.duplicate", "a message was delivered twice"),
    kind("net.reorder", "a message was held back so later ones overtook it"),
    kind("net.slow_tail", "a message took the slow tail of the latency distribution"),
    kind("net.corrupt", "a bit of a message was flipped on the wire"),
    kind("partition.symmetric", "two random groups were cut apart"),
    kind("partition.one_way", "a group could not send to the rest (asymmetric)"),
    kind("partition.isolate_one", "one node was cut off"),
    kind("partition.majority_minority", "a minority was cut from the majority"),
    kind("partition.majorities_ring", "every node saw a different majority"),
    kind("partition.bridge", "two halves were joined by one bridge node"),
    kind("partition.swizzle", "nodes were clogged one by one and unclogged in another order"),
    kind("process.crash", "a node lost its memory and unsynced writes, then restarted"),
    kind("process.restart_storm", "a node crashed and restarted several times in a row"),
    kind("process.crash_mid_step", "the power went out in the middle of a step that changed the disk"),
    kind("process.crash_leader", "a crash was aimed at the node leading at that moment"),
    kind("process.crash_point", "a node crashed at a crash point its protocol marked, and rebooted at once"),
    kind("process.pause", "a node stopped running for a while (its timers and messages waited)"),
    kind("disk.lost_unsynced_writes", "a crash or a failed sync lost unsynced writes"),
    kind("disk.torn_writes", "a crash tore a write inside a sector"),
    kind("disk.bitflips_at_rest", "a bit of durable data flipped (corruptible disks only)"),
    kind("disk.bitflips_on_read", "a read returned a copy with a flipped bit (corruptible disks only)"),
    kind("disk.read_errors", "a read failed on a latent sector error (corruptible disks only)"),
    kind("disk.fsync_errors", "a sync failed and lost the file's unsynced writes"),
    kind("disk.full_rejections", "a write failed because the disk was full"),
    kind("disk.slow_ios", "a disk call was a slow outlier"),
    kind(
        "disk.wiped",
        "a node restarted on an empty disk, as after a disk replacement (corruptible disks only)",
    ),
    kind("clock.offset_clocks", "a node's clock was offset from simulated time"),
    kind("clock.drifting_clocks", "a node's clock ran fast or slow"),
    kind("clock.steps_taken", "a node's clock jumped (forwards or backwards)"),
    kind("clock.periodic_clocks", "a node's clock wobbled periodically"),
    kind("buggify.fired", "a buggify! site fired"),
];

/// The fault counters that are non-zero.
pub fn fired(counters: &Counters) -> impl Iterator<Item = (&str, u64)> {
    counters.iter().filter(|(name, n)| *n > 0 && KINDS.iter().any(|k| k.counter == *name))
}

/// The fault kinds that never fired.
pub fn never_fired(counters: &Counters) -> Vec<&'static str> {
    KINDS.iter().filter(|k| counters.get(k.counter) == 0).map(|k| k.counter).collect()
}

/// The counters of the fault kinds that destroy synced data.
const DESTRUCTIVE: [&str; 4] =
    ["disk.bitflips_at_rest", "disk.bitflips_on_read", "disk.read_errors", "disk.wiped"];

/// Whether a fault of kind `counter` can happen to a system laid out as `layout`: some node
/// permits it (faults that destroy synced data need a group of three nodes or more that permits
/// them, since they are placed on a minority of such a group; a partition needs two nodes whose
/// links may be cut). Faults of the network's messages and of unsynced data can always happen.
pub fn possible(counter: &str, layout: &Layout) -> bool {
    let some = |allowed: fn(&FaultPermissions) -> bool| !layout.eligible(allowed).is_empty();
    if DESTRUCTIVE.contains(&counter) {
        return layout.groups().iter().any(|g| g.faults.destructive_disk && g.len() >= 3);
    }
    match counter.split('.').next() {
        Some("partition") => layout.eligible(|p| p.partition).len() >= 2,
        Some("process") if counter == "process.pause" => some(|p| p.pause),
        Some("process") => some(|p| p.crash),
        Some("clock") => some(|p| p.clock),
        _ if counter == "disk.full_rejections" => some(|p| p.disk_full),
        _ => true,
    }
}

/// The counters of the fault kinds `layout` makes impossible (see [`possible`]).
pub fn impossible(layout: &Layout) -> Vec<&'static str> {
    KINDS.iter().map(|k| k.counter).filter(|c| !possible(c, layout)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Role;

    #[test]
    fn single_copies_make_destructive_faults_impossible_and_nothing_else() {
        assert!(impossible(&Layout::servers(3)).is_empty());
        let singles =
            Layout::default().group("coordinator", 1, Role::Single).group("participant", 3, Role::Single);
        assert_eq!(impossible(&singles), DESTRUCTIVE.to_vec());
        let lone = Layout::default().group("resource", 1, Role::Single);
        assert!(impossible(&lone).iter().all(|c| c.starts_with("partition.") || DESTRUCTIVE.contains(c)));
        assert!(!possible("partition.bridge", &lone) && possible("process.crash", &lone));
    }
}
