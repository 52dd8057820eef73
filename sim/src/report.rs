//! What a run produced: its verdicts, the faults that fired, its trace hash, its history.

use crate::options::SimOptions;
use crate::schedule::Schedule;
use crate::stats::Counters;
use crate::system::CheckOutcome;
use faultline_checkers::{History, Verdict};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Why a run failed. Each class has its own exit code in the CLI (VOPR style).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// A checker found a violation: linearizability, an invariant, a bound.
    Safety,
    /// After the heal the system did not converge or serve within its budget.
    Liveness,
    /// A node panicked (a failed assertion in a handler or a local invariant).
    Panic,
    /// A checker gave up (deadline or budget) without a verdict.
    Unknown,
}

impl FailureClass {
    /// The class's name in reports and summaries.
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::Safety => "safety",
            FailureClass::Liveness => "liveness",
            FailureClass::Panic => "panic",
            FailureClass::Unknown => "unknown",
        }
    }
}

/// A run's failure: its class and what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Which kind of failure (and so which exit code).
    pub class: FailureClass,
    /// What went wrong, in a line: the check and its verdict, the panic message, what was not live.
    pub message: String,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The system's name, as the command line knows it.
    pub system: &'static str,
    /// The run's seed.
    pub seed: u64,
    /// The planted bug the run enabled, by name; `None` runs the correct system.
    pub bug: Option<String>,
    /// The options the run used, printed in full so the run can be reproduced.
    pub options: SimOptions,
    /// The nemesis's fault schedule the run followed.
    pub schedule: Schedule,
    /// Why the run failed; `None` if it passed.
    pub failure: Option<Failure>,
    /// Every check's verdict on the run.
    pub checks: Vec<CheckOutcome>,
    /// Faults that fired and other event counts.
    pub counters: Counters,
    /// Simulated time the run lasted.
    pub sim_time: Duration,
    /// The trace hash: the same seed and options must always give the same value.
    pub trace_hash: u64,
    /// Events fed to the trace hash.
    pub trace_events: u64,
    /// The clients' operations, invoked and completed, as the checkers read them.
    pub history: History,
}

impl RunReport {
    /// Whether the run passed: no failure of any class.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// The first failure among the checks, if any: violations first, then unknowns.
    pub fn failure_from_checks(checks: &[CheckOutcome]) -> Option<Failure> {
        let violation = checks.iter().find(|c| c.verdict.is_violation()).map(|c| (FailureClass::Safety, c));
        let unknown = || {
            checks
                .iter()
                .find(|c| matches!(c.verdict, Verdict::Unknown(_)))
                .map(|c| (FailureClass::Unknown, c))
        };
        violation
            .or_else(unknown)
            .map(|(class, c)| Failure { class, message: format!("{}: {}", c.name, c.verdict) })
    }

    /// Whether the schedule planned faults but none of them changed anything.
    pub fn planned_faults_never_fired(&self) -> bool {
        !self.schedule.is_empty() && crate::faults::fired(&self.counters).next().is_none()
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match &self.failure {
            None => "PASS".to_string(),
            Some(fail) => format!("FAIL ({}): {}", fail.class.name(), fail.message),
        };
        writeln!(f, "{} seed {}: {verdict}", self.system, self.seed)?;
        for c in &self.checks {
            writeln!(f, "  check {:<24} {}", c.name, c.verdict)?;
        }
        let fired: Vec<String> =
            crate::faults::fired(&self.counters).map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(
            f,
            "  faults fired: {}",
            if fired.is_empty() { "none".to_string() } else { fired.join(" ") }
        )?;
        if self.planned_faults_never_fired() {
            writeln!(f, "  warning: {} faults were planned and none fired", self.schedule.len())?;
        }
        write!(f, "  simulated {:.3} s, {} trace events", self.sim_time.as_secs_f64(), self.trace_events)
    }
}
