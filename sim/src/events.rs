//! A system's own events (elections, snapshots, membership changes...), counted by its observer
//! together with the [`Moment`] they happened at.
//!
//! A sweep in which the interesting thing never happened has tested nothing (stateright's
//! "sometimes" properties, TigerBeetle's coverage marks), and an event that only ever happens
//! between faults has not been tested under them. So every counted event is also counted a
//! second time, as `<event>_under_faults`, when a fault was in force at that moment; systems
//! declare their events ([`crate::system::System::EVENTS`]) so a sweep can name those that never
//! happened.

use crate::stats::Counters;
use crate::system::Moment;
use std::collections::BTreeMap;

/// Event counts of one run: `(times, times under faults)` by event name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events {
    counts: BTreeMap<&'static str, (u64, u64)>,
}

impl Events {
    /// Counts one `event` at `moment`.
    pub fn count(&mut self, event: &'static str, moment: Moment) {
        self.count_n(event, 1, moment);
    }

    /// Counts `n` occurrences of `event` at `moment` (nothing when `n` is zero).
    pub fn count_n(&mut self, event: &'static str, n: u64, moment: Moment) {
        if n == 0 {
            return;
        }
        let entry = self.counts.entry(event).or_default();
        entry.0 += n;
        if moment.under_faults {
            entry.1 += n;
        }
    }

    /// Sets `event`'s count outright, for events that are a number the run ends with (nodes
    /// that lost their metadata, distinct leaders): not counted under faults.
    pub fn set(&mut self, event: &'static str, n: u64) {
        if n > 0 {
            self.counts.insert(event, (n, 0));
        }
    }

    /// How many times `event` happened.
    pub fn get(&self, event: &str) -> u64 {
        self.counts.get(event).map_or(0, |c| c.0)
    }

    /// How many times `event` happened while a fault was in force.
    pub fn under_faults(&self, event: &str) -> u64 {
        self.counts.get(event).map_or(0, |c| c.1)
    }

    /// Adds the counts to the run's counters as `<system>.<event>` and
    /// `<system>.<event>_under_faults`.
    pub fn add_to(&self, system: &str, counters: &mut Counters) {
        for (event, (n, under)) in &self.counts {
            counters.add_n(&format!("{system}.{event}"), *n);
            counters.add_n(&format!("{system}.{event}_under_faults"), *under);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(under_faults: bool) -> Moment {
        Moment { time_ns: 0, under_faults }
    }

    #[test]
    fn events_under_faults_are_counted_twice() {
        let mut e = Events::default();
        e.count("snapshots", at(false));
        e.count("snapshots", at(true));
        e.count_n("snapshots", 0, at(true));
        e.set("nodes_lost_metadata", 2);
        assert_eq!((e.get("snapshots"), e.under_faults("snapshots")), (2, 1));
        let mut counters = Counters::default();
        e.add_to("raft", &mut counters);
        assert_eq!(counters.get("raft.snapshots"), 2);
        assert_eq!(counters.get("raft.snapshots_under_faults"), 1);
        assert_eq!(counters.get("raft.nodes_lost_metadata"), 2);
        assert_eq!(counters.get("raft.nodes_lost_metadata_under_faults"), 0);
    }
}
