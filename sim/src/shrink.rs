//! Shrinking: reduce a failing run to a smaller run that still fails the same way.
//!
//! A run is plain data (a [`RunSpec`]), so shrinking is a search over edits of it: drop fault
//! events (delta debugging: halves, then quarters, down to single events), run fewer clients
//! and fewer operations, end the safety phase sooner, and switch off the per-message and disk
//! fault rates, buggify and clock skew. An edit is kept when the edited run still fails with
//! the same signature: the same failure class and, for a checker's verdict, the same check; for
//! a panic, the same message. The search repeats until no edit helps or the run budget is spent.
//! It is generic over the function that runs a spec, so it is tested without a simulator.
//! Candidates are checked against the system's layout: an edit that removes nodes (one client
//! fewer, when the system runs a client-side node per client) drops the events that named them.

use crate::clock::ClockOptions;
use crate::disk::DiskFaults;
use crate::layout::LayoutOf;
use crate::report::{FailureClass, RunReport};
use crate::spec::RunSpec;

/// What identifies "the same failure".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    class: FailureClass,
    detail: String,
}

impl Signature {
    /// The signature of a failing report, `None` if it passed.
    pub fn of(report: &RunReport) -> Option<Signature> {
        let f = report.failure.as_ref()?;
        let detail = match f.class {
            // "check-name: verdict ..." -> the check's name.
            FailureClass::Safety | FailureClass::Unknown => {
                f.message.split(':').next().unwrap_or("").to_string()
            }
            // "node n1 panicked at 3.2 s: message" -> the message.
            FailureClass::Panic => {
                f.message.split_once(" s: ").map_or(f.message.as_str(), |(_, m)| m).to_string()
            }
            FailureClass::Liveness => String::new(),
        };
        Some(Signature { class: f.class, detail })
    }
}

/// The smallest failing run found.
pub struct Shrunk {
    /// The smallest failing run's spec, ready to save and replay.
    pub spec: RunSpec,
    /// What that run produced: it fails the same way as the original.
    pub report: RunReport,
    /// Runs spent searching.
    pub runs: u32,
    /// The edits kept, in order, in words.
    pub kept: Vec<String>,
}

/// Shrinks a failing `spec` (whose run was `report`) of a system laid out by `layout` with at
/// most `budget` further runs. Panics if `report` passed: there is nothing to preserve.
pub fn shrink(
    spec: RunSpec,
    report: RunReport,
    budget: u32,
    layout: LayoutOf,
    mut run: impl FnMut(&RunSpec) -> RunReport,
) -> Shrunk {
    let target = Signature::of(&report).expect("shrinking needs a failing run");
    let best = Shrunk { spec, report, runs: 0, kept: Vec::new() };
    let mut s = Search { best, target, budget, layout, run: &mut run };
    loop {
        let before = s.best.kept.len();
        s.drop_events();
        s.simplify_options();
        if s.best.kept.len() == before || s.best.runs >= s.budget {
            return s.best;
        }
    }
}

struct Search<'a, F: FnMut(&RunSpec) -> RunReport> {
    best: Shrunk,
    target: Signature,
    budget: u32,
    layout: LayoutOf,
    run: &'a mut F,
}

impl<F: FnMut(&RunSpec) -> RunReport> Search<'_, F> {
    /// Runs `candidate`; keeps it if it still fails the same way.
    fn try_keep(&mut self, candidate: RunSpec, what: String) -> bool {
        let invalid = candidate.validate(self.layout).is_err();
        if self.best.runs >= self.budget || candidate == self.best.spec || invalid {
            return false;
        }
        self.best.runs += 1;
        let report = (self.run)(&candidate);
        if Signature::of(&report).as_ref() != Some(&self.target) {
            return false;
        }
        self.best.spec = candidate;
        self.best.report = report;
        self.best.kept.push(what);
        true
    }

    /// Delta debugging over the schedule: remove chunks, halving the chunk size.
    fn drop_events(&mut self) {
        let mut chunk = self.best.spec.schedule.len().div_ceil(2).max(1);
        while chunk >= 1 && !self.best.spec.schedule.is_empty() {
            let mut start = 0;
            while start < self.best.spec.schedule.len() {
                let mut candidate = self.best.spec.clone();
                let end = (start + chunk).min(candidate.schedule.len());
                candidate.schedule.events.drain(start..end);
                if !self.try_keep(candidate, format!("dropped {} fault event(s)", end - start)) {
                    start += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }

    /// One option edit at a time, each kept if the run still fails.
    fn simplify_options(&mut self) {
        for (what, edit) in option_edits() {
            let mut candidate = self.best.spec.clone();
            if edit(&mut candidate) {
                if let Ok(layout) = candidate.layout(self.layout) {
                    candidate.schedule.retain_fitting(&layout);
                }
                self.try_keep(candidate, what.to_string());
            }
        }
        self.shorten();
    }

    /// Ends the safety phase sooner: just after the last event, or at half, whichever is later.
    fn shorten(&mut self) {
        loop {
            let spec = &self.best.spec;
            let last = spec.schedule.events.last().map_or(0, |e| e.at_ms + 1);
            let target = (spec.options.safety_ms / 2).max(last).max(100);
            if target >= spec.options.safety_ms {
                return;
            }
            let mut candidate = spec.clone();
            candidate.options.safety_ms = target;
            if !self.try_keep(candidate, format!("safety phase {target} ms")) {
                return;
            }
        }
    }
}

type Edit = fn(&mut RunSpec) -> bool;

/// Edits that make a run simpler; each returns false when it would change nothing.
fn option_edits() -> Vec<(&'static str, Edit)> {
    vec![
        ("one client fewer", |s| {
            let fewer = s.options.clients.saturating_sub(1).max(1);
            set(&mut s.options.clients, fewer)
        }),
        ("half the operations", |s| {
            let half = (s.options.workload.ops_per_client / 2).max(1);
            set(&mut s.options.workload.ops_per_client, half)
        }),
        ("one liveness operation", |s| set(&mut s.options.workload.liveness_ops_per_client, 1)),
        ("no message loss", |s| set(&mut s.options.net.loss_probability, 0.0)),
        ("no duplication", |s| set(&mut s.options.net.duplicate_probability, 0.0)),
        ("no reordering", |s| set(&mut s.options.net.reorder_probability, 0.0)),
        ("no corruption on the wire", |s| set(&mut s.options.net.corrupt_probability, 0.0)),
        ("no slow tail", |s| set(&mut s.options.net.slow_probability, 0.0)),
        ("no disk faults", |s| set(&mut s.options.disk.faults, DiskFaults::default())),
        ("perfect clocks", |s| set(&mut s.options.clock, ClockOptions::default())),
        ("buggify off", |s| set(&mut s.options.buggify, false)),
    ]
}

fn set<T: PartialEq>(slot: &mut T, value: T) -> bool {
    let changed = *slot != value;
    *slot = value;
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use crate::options::Preset;
    use crate::report::Failure;
    use crate::schedule::Fault;
    use crate::stats::Counters;
    use crate::system::SystemConfig;
    use faultline_checkers::History;
    use std::time::Duration;

    fn report(spec: &RunSpec, failure: Option<Failure>) -> RunReport {
        RunReport {
            system: "fake",
            seed: spec.seed,
            bug: None,
            options: spec.options.clone(),
            schedule: spec.schedule.clone(),
            failure,
            checks: Vec::new(),
            counters: Counters::default(),
            sim_time: Duration::ZERO,
            trace_hash: 0,
            trace_events: 0,
            history: History::new(),
        }
    }

    /// A fake system that fails (a safety violation) exactly when the schedule crashes node 1
    /// and some client runs at least 3 operations.
    fn fake(spec: &RunSpec) -> RunReport {
        let crashes_n1 =
            spec.schedule.events.iter().any(|e| matches!(e.fault, Fault::Crash { node, .. } if node.0 == 1));
        let fails = crashes_n1 && spec.options.workload.ops_per_client >= 3;
        let failure =
            fails.then(|| Failure { class: FailureClass::Safety, message: "bounds: violation".into() });
        report(spec, failure)
    }

    fn servers(config: &SystemConfig) -> Layout {
        Layout::servers(config.nodes)
    }

    fn failing_spec() -> RunSpec {
        (0..)
            .map(|seed| RunSpec::from_preset(seed, Preset::Lite, None, servers))
            .find(|s| fake(s).failure.is_some())
            .unwrap()
    }

    #[test]
    fn shrinking_keeps_only_what_the_failure_needs() {
        let spec = failing_spec();
        let before = spec.schedule.len();
        let original = fake(&spec);
        let shrunk = shrink(spec, original, 500, servers, fake);
        assert!(before > 1, "the example should start with several events");
        assert_eq!(shrunk.spec.schedule.len(), 1, "{:?}", shrunk.spec.schedule);
        assert!(matches!(shrunk.spec.schedule.events[0].fault, Fault::Crash { .. }));
        assert_eq!(shrunk.spec.options.workload.ops_per_client, 3);
        assert_eq!(shrunk.spec.options.clients, 1);
        assert!(Signature::of(&fake(&shrunk.spec)).is_some());
    }

    #[test]
    fn a_different_failure_is_not_the_same_failure() {
        let spec = failing_spec();
        let original = fake(&spec);
        // Everything the shrinker tries fails, but with another check: nothing may be kept.
        let other = |s: &RunSpec| {
            report(s, Some(Failure { class: FailureClass::Safety, message: "other-check: violation".into() }))
        };
        let shrunk = shrink(spec.clone(), original, 100, servers, other);
        assert_eq!(shrunk.spec, spec);
        assert!(shrunk.kept.is_empty());
    }

    #[test]
    fn the_budget_bounds_the_runs() {
        let spec = failing_spec();
        let original = fake(&spec);
        assert!(shrink(spec, original, 3, servers, fake).runs <= 3);
    }
}
