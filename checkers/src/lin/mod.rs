//! Linearizability checking: is there a total order of the operations, consistent with real
//! time, that the model accepts? (Herlihy and Wing, 1990.)
//!
//! [`check`] (a model chosen by name) and [`check_model`] (any [`Model`]) take a history and
//! [`Options`] and return a [`Report`]: the [`Verdict`], one entry per independent part, and for
//! a violation an [`Explanation`] (smallest failing part, longest linearizable prefix, the
//! operation that cannot follow it) plus the linearization points to draw. An ill-formed
//! history is a [`CheckError`]; a search that hits its deadline or memory bound gives
//! `Unknown` with the reason.
//!
//! Modules: [`prepare`] splits the history into parts (P-compositionality) and precomputes what
//! the search needs; [`search`] is the search (its header explains the algorithm); [`slots`]
//! and [`table`] are its data structures; [`parallel`] runs parts on several threads.

mod parallel;
mod prepare;
mod search;
mod slots;
pub(crate) mod table;

use crate::explain::{Explanation, OpSummary};
use crate::history::{History, HistoryError, Operation, Value};
use crate::model::{AnyModel, Model};
use crate::verdict::Verdict;
use prepare::Part;
use search::{Failure, Limits, Outcome, Step};
use std::time::{Duration, Instant};

/// How to run a check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Give up with `Unknown` after this long (wall-clock time).
    pub deadline: Option<Duration>,
    /// Threads for checking parts in parallel; 0 means one per available core.
    pub threads: usize,
    /// Also compute a linearization of every part that passes (for drawing); otherwise only
    /// for the failing part of a violation.
    pub witness: bool,
    /// Give up with `Unknown` when one part's search holds more configurations than this at
    /// once: this bounds memory (roughly 50 bytes per configuration).
    pub max_configs: usize,
    /// Run the plain search, without any of the pruning (much slower). The tests compare the
    /// two to check the pruning on histories too large for the brute-force oracle.
    pub plain_search: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { deadline: None, threads: 0, witness: false, max_configs: 20_000_000, plain_search: false }
    }
}

/// Why a history could not be checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Invocations and completions do not pair up.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// An operation is ill-formed for the model; `index` is its invocation's event index.
    #[error("event {index}: {reason}")]
    Operation { index: usize, reason: String },
    /// No such model.
    #[error("{0}")]
    Model(String),
}

impl CheckError {
    /// The index of the offending event, when there is one.
    pub fn event_index(&self) -> Option<usize> {
        match self {
            CheckError::History(e) => Some(match e {
                HistoryError::DoubleInvoke { index, .. }
                | HistoryError::CompletionWithoutInvoke { index, .. }
                | HistoryError::MismatchedFunction { index, .. }
                | HistoryError::TimeWentBackwards { index, .. } => *index,
            }),
            CheckError::Operation { index, .. } => Some(*index),
            CheckError::Model(_) => None,
        }
    }

    /// The reason without the event index (for messages that give a line instead).
    pub fn reason(&self) -> String {
        match self {
            CheckError::Operation { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

/// The verdict for one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartReport {
    /// The part's key (nil when the model does not partition).
    pub key: Value,
    pub operations: usize,
    pub verdict: Verdict,
}

/// Where the checker placed an operation in its linearization, for drawing: `at` is a
/// fractional history event index, strictly inside the operation's interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinPoint {
    pub op: usize,
    pub at: f64,
}

/// The result of a check.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub verdict: Verdict,
    pub model: String,
    /// Operations in the history.
    pub operations: usize,
    pub parts: Vec<PartReport>,
    /// For a violation: why.
    pub explanation: Option<Explanation>,
    /// Linearization points: the failing part's prefix for a violation, every part's
    /// linearization when [`Options::witness`] is set.
    pub linearization: Vec<LinPoint>,
}

/// Checks `history` against a built-in model.
pub fn check(model: &AnyModel, history: &History, options: &Options) -> Result<Report, CheckError> {
    crate::with_model!(model, m => check_model(m, history, options))
}

/// Checks `history` against the model called `name` (see [`crate::model::MODEL_NAMES`]).
pub fn check_named(
    name: &str,
    init: Option<Value>,
    history: &History,
    options: &Options,
) -> Result<Report, CheckError> {
    let model = AnyModel::by_name(name, init).map_err(CheckError::Model)?;
    check(&model, history, options)
}

/// Checks `history` against any model.
pub fn check_model<M: Model>(model: &M, history: &History, options: &Options) -> Result<Report, CheckError> {
    let ops = history.operations()?;
    let parts = prepare::prepare(model, &ops).map_err(|(i, reason)| ill_formed(&ops[i], &reason))?;
    let limits = Limits {
        deadline: options.deadline.map(deadline_after),
        max_configs: options.max_configs,
        track: options.witness,
        plain: options.plain_search,
        reach: true,
        max_steps: None,
    };
    let outcomes = parallel::run(&parts, options.threads, |part| search_part(model, part, &limits));
    Ok(assemble(model, &ops, &parts, outcomes, &limits))
}

/// The error for an operation the model cannot read.
pub(crate) fn ill_formed(op: &Operation, reason: &str) -> CheckError {
    CheckError::Operation {
        index: op.invoke_index,
        reason: format!("operation #{} ({} {}): {reason}", op.id, op.f, op.input),
    }
}

#[allow(clippy::disallowed_methods)] // the deadline is wall-clock time by definition
fn deadline_after(d: Duration) -> Instant {
    Instant::now() + d
}

/// Runs the search with the narrowest slot set that fits the part.
fn search_part<M: Model>(model: &M, part: &Part<M>, limits: &Limits) -> Outcome {
    use slots::{SlotSet, Wide};
    let w = part.width;
    if w <= u64::CAPACITY {
        search::search::<M, u64>(model, part, limits)
    } else if w <= u128::CAPACITY {
        search::search::<M, u128>(model, part, limits)
    } else if w <= Wide::<4>::CAPACITY {
        search::search::<M, Wide<4>>(model, part, limits)
    } else if w <= Wide::<16>::CAPACITY {
        search::search::<M, Wide<16>>(model, part, limits)
    } else {
        Outcome::Unknown(format!("{w} operations in flight at once; the checker handles at most 1024"))
    }
}

fn part_label<M: Model>(parts: &[Part<M>], part: &Part<M>) -> String {
    if parts.len() == 1 && part.key.is_nil() {
        "the history".to_string()
    } else {
        format!("key {}", part.key)
    }
}

/// Builds the report: the overall verdict, per-part verdicts, and for a violation the
/// explanation of the smallest failing part (searched again with tracking when needed).
fn assemble<M: Model>(
    model: &M,
    ops: &[Operation],
    parts: &[Part<M>],
    outcomes: Vec<Outcome>,
    limits: &Limits,
) -> Report {
    let mut report = Report {
        verdict: Verdict::Ok,
        model: model.name().to_string(),
        operations: ops.len(),
        parts: Vec::new(),
        explanation: None,
        linearization: Vec::new(),
    };
    let mut smallest: Option<usize> = None;
    let mut unknown = None;
    for (i, (part, outcome)) in parts.iter().zip(&outcomes).enumerate() {
        let verdict = match outcome {
            Outcome::Ok(witness) => {
                report.linearization.extend(points(part, witness.as_deref().unwrap_or(&[])));
                Verdict::Ok
            }
            Outcome::Violation(_) => {
                if smallest.is_none_or(|s| part.ops.len() < parts[s].ops.len()) {
                    smallest = Some(i);
                }
                Verdict::Violation(format!("{} is not linearizable", part_label(parts, part)))
            }
            Outcome::Unknown(why) => {
                unknown.get_or_insert_with(|| format!("{}: {why}", part_label(parts, part)));
                Verdict::Unknown(why.clone())
            }
        };
        report.parts.push(PartReport { key: part.key.clone(), operations: part.ops.len(), verdict });
    }
    if let Some(i) = smallest {
        explain_violation(model, ops, parts, i, &outcomes[i], limits, &mut report);
    } else if let Some(why) = unknown {
        report.verdict = Verdict::Unknown(why);
    }
    report
}

/// The budget of each search an explanation runs: configurations explored, and held at once.
const EXPLAIN_STEPS: u64 = 300_000;
const EXPLAIN_CONFIGS: usize = 300_000;

fn explain_violation<M: Model>(
    model: &M,
    ops: &[Operation],
    parts: &[Part<M>],
    i: usize,
    outcome: &Outcome,
    limits: &Limits,
    report: &mut Report,
) {
    let part = &parts[i];
    let Outcome::Violation(first) = outcome else { return };
    // Search the part again, recording how configurations were reached: first without the
    // reachability pruning (which can fail early, blaming an operation that merely makes a
    // later one impossible), then with it; each within a fixed budget so that the explanation
    // does not depend on the machine's speed.
    let budget = Limits {
        track: true,
        max_steps: Some(EXPLAIN_STEPS.min(limits.max_steps.unwrap_or(u64::MAX))),
        max_configs: EXPLAIN_CONFIGS.min(limits.max_configs),
        ..*limits
    };
    let unpruned = search_part(model, part, &Limits { reach: false, ..budget });
    let pruned;
    let failure = match &unpruned {
        Outcome::Violation(f) => f,
        _ => {
            pruned = search_part(model, part, &budget);
            match &pruned {
                Outcome::Violation(f) => f,
                // Both hit a limit the first search did not: explain without a prefix.
                _ => first,
            }
        }
    };
    let explanation = explanation(model, ops, parts, part, failure);
    report.verdict = Verdict::Violation(explanation.summary());
    if let Some((steps, _)) = &failure.prefix {
        report.linearization = points(part, steps);
    }
    report.explanation = Some(explanation);
}

fn explanation<M: Model>(
    model: &M,
    ops: &[Operation],
    parts: &[Part<M>],
    part: &Part<M>,
    failure: &Failure,
) -> Explanation {
    let summary = |o: u32| {
        let pop = &part.ops[o as usize];
        OpSummary { id: pop.id, process: ops[pop.id].process, description: model.describe_op(&pop.op) }
    };
    let (prefix, state_after_prefix) = match &failure.prefix {
        Some((steps, state)) => (steps.iter().map(|s| summary(s.op)).collect(), state.clone()),
        None => (Vec::new(), "(not computed: the search hit its limit while explaining)".to_string()),
    };
    Explanation {
        part: part_label(parts, part),
        part_operations: part.ops.len(),
        part_op_ids: part.ops.iter().map(|o| o.id).collect(),
        failing: summary(failure.op),
        tried_states: failure.states.clone(),
        tried_state_count: failure.state_count,
        prefix,
        state_after_prefix,
        in_flight: failure.in_flight.iter().map(|&o| summary(o)).collect(),
    }
}

/// Converts search steps to linearization points on the history's event axis. Steps taken while
/// processing a return go in the half-step just before that event, reads linearized at their
/// invocation in the half-step just after it; steps sharing a place are spread evenly, in order.
fn points<M: Model>(part: &Part<M>, steps: &[Step]) -> Vec<LinPoint> {
    let mut out = Vec::with_capacity(steps.len());
    let mut i = 0;
    while i < steps.len() {
        let group =
            steps[i..].iter().take_while(|s| (s.pos, s.after) == (steps[i].pos, steps[i].after)).count();
        let h = part.history_index[steps[i].pos as usize] as f64;
        let base = if steps[i].after { h } else { h - 0.5 };
        for (k, s) in steps[i..i + group].iter().enumerate() {
            let at = base + 0.5 * (k + 1) as f64 / (group + 1) as f64;
            out.push(LinPoint { op: part.ops[s.op as usize].id, at });
        }
        i += group;
    }
    out
}
