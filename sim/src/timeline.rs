//! A run's fault schedule as marks on the history's timeline: the bands and lines the checkers'
//! HTML page draws over the client operations (`faultline replay --html`).
//!
//! A fault that lasts (a partition until the next heal or partition, a clog until its unclog,
//! a crash until its restart, a pause until its resume, a full disk until it is freed) is a
//! band; a fault of a moment (a bit flip, a latent sector error) is a line. Anything still in
//! force when the safety phase ends lasts until then, when the harness heals everything. Times
//! are in the history's unit: nanoseconds since the start of the run. When the system has
//! several kinds of node, each label names the kinds of the nodes the fault hit
//! (`crash n3 (proxy)`), so a crash of a client-side node is told from a server's at a glance.

use crate::layout::Layout;
use crate::node::NodeId;
use crate::schedule::{Fault, Schedule};
use faultline_checkers::explain::html::{Annotations, Instant, Interval};
use std::collections::BTreeMap;

/// What a band is keyed by until the fault that ends it: a partition is one for the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Band {
    Partition,
    Clog(NodeId),
    Down(NodeId),
    Paused(NodeId),
    Full(NodeId),
}

/// The faults of `schedule` on the nodes of `layout` as annotations; `safety_ms` ends whatever
/// is still open.
pub fn annotations(schedule: &Schedule, safety_ms: u64, layout: &Layout) -> Annotations {
    let mut open: BTreeMap<Band, (u64, String)> = BTreeMap::new();
    let mut notes = Annotations::default();
    for event in &schedule.events {
        let at = ms_to_ns(event.at_ms);
        let (opens, closes) = effect(&event.fault);
        if let Some(band) = closes {
            if let Some((start, label)) = open.remove(&band) {
                notes.intervals.push(Interval { label, start, end: at });
            }
        }
        match opens {
            Some(band) => {
                if let Some((start, label)) = open.insert(band, (at, label(&event.fault, layout))) {
                    notes.intervals.push(Interval { label, start, end: at });
                }
            }
            None if closes.is_none() => {
                notes.instants.push(Instant { label: label(&event.fault, layout), time: at })
            }
            None => {}
        }
    }
    let end = ms_to_ns(safety_ms);
    for (start, label) in open.into_values() {
        notes.intervals.push(Interval { label, start, end: end.max(start) });
    }
    notes.intervals.sort_by_key(|i| (i.start, i.end));
    notes
}

/// The band a fault opens and the band it closes (a new partition replaces the old one).
fn effect(fault: &Fault) -> (Option<Band>, Option<Band>) {
    match fault {
        Fault::Partition { .. } => (Some(Band::Partition), Some(Band::Partition)),
        Fault::Heal => (None, Some(Band::Partition)),
        Fault::Clog { node } => (Some(Band::Clog(*node)), None),
        Fault::Unclog { node } => (None, Some(Band::Clog(*node))),
        Fault::Crash { node, .. } | Fault::Wipe { node } => (Some(Band::Down(*node)), None),
        Fault::Restart { node } => (None, Some(Band::Down(*node))),
        Fault::Pause { node } => (Some(Band::Paused(*node)), None),
        Fault::Resume { node } => (None, Some(Band::Paused(*node))),
        Fault::DiskFull { node } => (Some(Band::Full(*node)), None),
        Fault::DiskFreed { node } => (None, Some(Band::Full(*node))),
        Fault::BitFlip { .. } | Fault::LatentError { .. } => (None, None),
    }
}

/// The fault in words, followed by the kinds of the nodes it names when there are several.
fn label(fault: &Fault, layout: &Layout) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for kind in fault.nodes().map(|n| layout.kind_of(n)) {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    match layout.has_kinds() && !kinds.is_empty() {
        true => format!("{fault} ({})", kinds.join(", ")),
        false => fault.to_string(),
    }
}

fn ms_to_ns(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::PartitionKind;
    use crate::schedule::Event;

    fn at(at_ms: u64, fault: Fault) -> Event {
        Event { at_ms, fault }
    }

    #[test]
    fn lasting_faults_are_bands_and_moments_are_lines() {
        let n1 = NodeId(1);
        let cut = vec![(NodeId(0), n1)];
        let schedule = Schedule {
            events: vec![
                at(100, Fault::Partition { kind: PartitionKind::OneWay, cut: cut.clone() }),
                at(200, Fault::Crash { node: n1, storm: false, mid_step: false, leader: false }),
                at(250, Fault::BitFlip { node: n1 }),
                at(300, Fault::Partition { kind: PartitionKind::IsolateOne, cut }),
                at(400, Fault::Heal),
                at(500, Fault::Restart { node: n1 }),
                at(900, Fault::Pause { node: n1 }),
            ],
        };
        let notes = annotations(&schedule, 1_000, &Layout::servers(3));
        let bands: Vec<(u64, u64, &str)> =
            notes.intervals.iter().map(|i| (i.start / 1_000_000, i.end / 1_000_000, &i.label[..5])).collect();
        assert_eq!(
            bands,
            vec![(100, 300, "parti"), (200, 500, "crash"), (300, 400, "parti"), (900, 1_000, "pause")]
        );
        assert_eq!(notes.instants.len(), 1);
        assert_eq!(notes.instants[0].time, 250_000_000);
        assert!(notes.instants[0].label.contains("bit flip"), "{:?}", notes.instants);
        assert_eq!(notes.intervals[1].label, "crash n1");
    }

    #[test]
    fn labels_name_the_kinds_of_the_nodes_hit_when_there_are_several() {
        let layout = Layout::servers(2).group("proxy", 1, crate::layout::Role::ClientSide);
        let schedule = Schedule {
            events: vec![
                at(100, Fault::Pause { node: NodeId(2) }),
                at(200, Fault::Partition { kind: PartitionKind::OneWay, cut: vec![(NodeId(0), NodeId(2))] }),
            ],
        };
        let notes = annotations(&schedule, 1_000, &layout);
        let labels: Vec<&str> = notes.intervals.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, ["pause n2 (proxy)", "partition one_way [n0->n2] (server, proxy)"]);
    }
}
