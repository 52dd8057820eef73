//! The linearizability search over one part: Wing-Gong-Lowe with just-in-time linearization,
//! run breadth-first over the part's events with memoized configurations.
//!
//! **Algorithm.** Wing and Gong's search (1993) tries to order operations one at a time,
//! respecting real time, and backtracks; Lowe ("Testing for linearizability", 2017) adds
//! memoization of (set of linearized operations, model state), which Porcupine uses too, and
//! *just-in-time* linearization: an operation is only linearized when something forces it. Here
//! the search walks the part's events in order and keeps the set of every *configuration*
//! reachable so far: (which in-flight operations are already linearized, model state). At an
//! invocation the operation joins the in-flight set. At a return, the operation must be
//! linearized: each configuration that has not linearized it yet is extended by linearizing
//! in-flight operations, in every order (depth-first, memoized), until it has; those that never
//! can are dropped. If none is left, no linearization exists and the returning operation is the
//! witness of the violation. Completed operations are linearized in every configuration, so a
//! configuration stores bits only for in-flight operations ([`super::slots`]), and at a moment
//! when nothing is in flight the configurations are exactly the set of reachable states (the
//! history splits there for free). Operations that never return (`info`) may be linearized at
//! any later point, or never.
//!
//! **Pruning**, each one sound on its own, and each checked against the brute-force oracle by
//! the property tests:
//! - read-only operations are linearized as soon as they are valid (moving a read earlier,
//!   within its interval, to a point where it is valid changes no state, so nothing is lost);
//! - identical `info` operations are interchangeable, so they are linearized in invocation
//!   order;
//! - reachability ([`Model::may_reach`]): a configuration whose state can no longer satisfy a
//!   pending observer, or the next one to be invoked, is dropped, when no operation that could
//!   change that ([`Model::explains`]) can still come first;
//! - dominance: a configuration is dropped when the same state is reached with one `info`
//!   operation fewer linearized (that one can do everything this one can: linearize the info
//!   operation later, or never); in particular an `info` operation that leaves the state
//!   unchanged is not linearized there. The closure is explored breadth-first so that the
//!   configurations with fewer info operations come first;
//! - when every operation still to be linearized is blind (valid in any state), the rest of
//!   the part is linearizable and the search stops.
//!
//! - dead states: when every operation that could explain an observer overwrites the state
//!   (a put), a state that no remaining observer can reach ([`Model::may_reach`] is false for
//!   all of them) matters only in that it will be overwritten, so all such states are merged
//!   into one, [`DEAD`]. From it, observers are invalid, overwrites lead to their value, other
//!   blind operations stay dead, and other operations (non-blind `info` ones, which cannot
//!   explain anything) are skipped: they too would only lead to a dead state, with one more
//!   optional operation spent. This keeps the orders of appends that a concurrent put will
//!   erase from multiplying the configurations.
//!
//! States are interned and transitions cached ([`super::table`]), so the model's `step` runs
//! once per (state, operation) pair, and configurations hash as two machine words.

use super::prepare::{Ev, Observer, Part};
use super::slots::SlotSet;
use super::table::{LookupMap, LookupSet, StateTable};
use crate::model::Model;
use std::time::Instant;

/// Bounds on one search.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub deadline: Option<Instant>,
    /// Most configurations held at once (frontier plus one step's closure).
    pub max_configs: usize,
    /// Record how each configuration was reached, to report a linearization.
    pub track: bool,
    /// The plain search: memoized just-in-time WGL with none of the pruning (for tests).
    pub plain: bool,
    /// Use the reachability pruning. It can make the search fail early, at an operation that
    /// would make a later one impossible; explanations turn it off to blame the later one.
    /// (Dead-state merging stays on: it never drops a configuration, so it moves no failure.)
    pub reach: bool,
    /// Give up after this many configurations explored (deterministic, unlike the deadline).
    pub max_steps: Option<u64>,
}

/// An operation linearized at event position `pos`: just before that event when `after` is
/// false (during a return), just after it when true (a read linearized at its invocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub op: u32,
    pub pos: u32,
    pub after: bool,
}

/// Why the search found no linearization.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// The operation returning there.
    pub op: u32,
    /// Distinct states in which the operation was tried (capped), described by the model.
    pub states: Vec<String>,
    /// How many distinct states there were in all.
    pub state_count: usize,
    /// The longest partial linearization (when tracking) and the state after it.
    pub prefix: Option<(Vec<Step>, String)>,
    /// Operations in flight at the failure that the prefix did not linearize.
    pub in_flight: Vec<u32>,
}

pub(crate) enum Outcome {
    Ok(Option<Vec<Step>>),
    Violation(Failure),
    Unknown(String),
}

/// The merged state no remaining observer can see (see the module header).
const DEAD: u32 = u32::MAX - 1;

/// How many failing states the explanation lists.
const STATES_SHOWN: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Config<B> {
    set: B,
    state: u32,
    /// Index of the last trace node (0: nothing linearized yet, or not tracking).
    trace: u32,
}

impl<B: SlotSet> Config<B> {
    fn key(&self) -> (B, u32) {
        (self.set, self.state)
    }
}

#[derive(Clone, Copy)]
struct Node {
    parent: u32,
    step: Step,
}

/// An observer the configurations are checked against.
struct Constraint<B> {
    op: u32,
    /// Its slot when in flight: configurations that linearized it are exempt.
    slot: Option<usize>,
    /// Explainers in flight: the constraint holds only once they are all linearized.
    mask: B,
}

/// Diagnostics collected while expanding, on request.
#[derive(Default)]
struct Diagnosis<B> {
    /// The first configuration seen in each distinct state.
    states: Vec<Config<B>>,
    seen_states: Option<LookupSet<u32>>,
    best: Option<Config<B>>,
}

/// Runs the search over `part`.
pub(crate) fn search<M: Model, B: SlotSet>(model: &M, part: &Part<M>, limits: &Limits) -> Outcome {
    Search::<M, B>::new(model, part, limits).run()
}

struct Search<'a, M: Model, B: SlotSet> {
    model: &'a M,
    part: &'a Part<M>,
    limits: &'a Limits,
    table: StateTable<M::State>,
    init: u32,
    reach: LookupMap<u64, bool>,
    /// Per state id: the last return position of an observer that may still see it, once known.
    live_until: Vec<Option<usize>>,
    configs: Vec<Config<B>>,
    pending: Vec<u32>,
    constraints: Vec<Constraint<B>>,
    trace: Vec<Node>,
    t: usize,
    steps: u64,
}

impl<'a, M: Model, B: SlotSet> Search<'a, M, B> {
    fn new(model: &'a M, part: &'a Part<M>, limits: &'a Limits) -> Self {
        let mut table = StateTable::new();
        let init = table.intern(model.init());
        let root = Node { parent: 0, step: Step { op: u32::MAX, pos: 0, after: false } };
        Search {
            model,
            part,
            limits,
            table,
            init,
            reach: LookupMap::new(),
            live_until: Vec::new(),
            configs: vec![Config { set: B::default(), state: init, trace: 0 }],
            pending: Vec::new(),
            constraints: Vec::new(),
            trace: vec![root],
            t: 0,
            steps: 0,
        }
    }

    fn run(mut self) -> Outcome {
        if self.limits.deadline.is_some_and(past) {
            return Outcome::Unknown("deadline reached before this part was searched".to_string());
        }
        for t in 0..self.part.events.len() {
            self.t = t;
            match self.part.events[t] {
                Ev::Invoke(o) => self.on_invoke(o),
                Ev::Return(o) => {
                    if let Err(outcome) = self.on_return(o) {
                        return outcome;
                    }
                }
            }
            if let Some(c) = self.rest_is_blind() {
                return Outcome::Ok(self.limits.track.then(|| self.finish_blind(c)));
            }
        }
        let witness = self.limits.track.then(|| self.chain(self.configs[0].trace));
        Outcome::Ok(witness)
    }

    fn on_invoke(&mut self, o: u32) {
        self.pending.push(o);
        self.refresh_constraints();
        if self.limits.plain || !self.part.ops[o as usize].read_only {
            return;
        }
        let slot = self.part.ops[o as usize].slot;
        let mut configs = std::mem::take(&mut self.configs);
        for c in &mut configs {
            if self.valid_read(c.state, o) {
                c.set = c.set.with(slot);
                c.trace = self.push_trace(c.trace, o, true);
            }
        }
        let mut seen = LookupSet::new();
        configs.retain(|c| seen.insert(c.key()));
        self.configs = configs;
    }

    fn on_return(&mut self, o: u32) -> Result<(), Outcome> {
        self.refresh_constraints();
        let next = self.expand(o, None)?;
        if next.is_empty() {
            return Err(Outcome::Violation(self.failure(o)?));
        }
        self.configs = next;
        self.pending.retain(|&p| p != o);
        Ok(())
    }

    /// Every configuration reachable from the current ones in which `target` has just been
    /// linearized (or already was), with `target`'s slot released.
    fn expand(
        &mut self,
        target: u32,
        mut diag: Option<&mut Diagnosis<B>>,
    ) -> Result<Vec<Config<B>>, Outcome> {
        let tslot = self.part.ops[target as usize].slot;
        let mut out = Output { configs: Vec::new(), seen: LookupSet::new(), slot: tslot };
        let mut seen = LookupSet::new();
        let mut queue = std::collections::VecDeque::new();
        for mut c in std::mem::take(&mut self.configs) {
            c.state = self.canonical(c.state);
            if c.set.has(tslot) {
                out.push(c);
            } else if seen.insert(c.key()) {
                queue.push_back(c);
            }
            self.configs.push(c);
        }
        // Carrying the frontier over is work too: count it, so that step budgets bound time.
        self.steps += self.configs.len() as u64;
        let infos = self.info_slots();
        // Breadth-first, so that configurations with fewer info operations come first and
        // dominate the others.
        while let Some(c) = queue.pop_front() {
            self.tick(seen.len() + out.configs.len() + self.configs.len())?;
            if let Some(d) = diag.as_deref_mut() {
                d.observe(c);
            }
            for i in 0..self.pending.len() {
                let y = self.pending[i];
                let Some(c2) = self.successor(c, y, target) else { continue };
                if c2.set.has(tslot) {
                    out.push(c2);
                } else if (self.limits.plain || !dominated(&c2, &infos, &seen)) && seen.insert(c2.key()) {
                    queue.push_back(c2);
                }
            }
        }
        if self.limits.plain {
            return Ok(out.configs);
        }
        Ok(self.undominated(out))
    }

    /// Drops configurations dominated by another one that has the same state and one `info`
    /// operation fewer linearized: that one can do everything this one can (it may linearize
    /// the info operation later, or never).
    fn undominated(&self, out: Output<B>) -> Vec<Config<B>> {
        let infos = self.info_slots();
        if infos.is_empty() {
            return out.configs;
        }
        let Output { mut configs, seen, .. } = out;
        configs.retain(|c| !dominated(c, &infos, &seen));
        configs
    }

    /// Slots of the info operations in flight.
    fn info_slots(&self) -> Vec<usize> {
        self.pending
            .iter()
            .map(|&p| &self.part.ops[p as usize])
            .filter(|op| op.info)
            .map(|op| op.slot)
            .collect()
    }

    /// The configuration after linearizing in-flight operation `y` in `c` (and then every read
    /// that has become valid), unless that is impossible or pointless.
    fn successor(&mut self, c: Config<B>, y: u32, target: u32) -> Option<Config<B>> {
        let op = &self.part.ops[y as usize];
        let plain = self.limits.plain;
        if c.set.has(op.slot) || (!plain && op.read_only && y != target) {
            return None;
        }
        if !plain && op.prev_same.is_some_and(|p| !c.set.has(self.part.ops[p as usize].slot)) {
            return None;
        }
        let state = self.step(c.state, y)?;
        let state = self.canonical(state);
        if !plain && op.info && state == c.state {
            // Dominated by `c` itself, which can still linearize `y` later (or never).
            return None;
        }
        let mut next = Config { set: c.set.with(op.slot), state, trace: c.trace };
        if !plain {
            self.saturate_reads(&mut next);
        }
        if !self.viable(&next) {
            return None;
        }
        if self.limits.track {
            next.trace = self.push_trace(c.trace, y, false);
            for i in 0..self.pending.len() {
                let r = self.pending[i];
                let slot = self.part.ops[r as usize].slot;
                if r != y && next.set.has(slot) && !c.set.has(slot) {
                    next.trace = self.push_trace(next.trace, r, false);
                }
            }
        }
        Some(next)
    }

    /// Linearizes every in-flight read that is valid in `c`'s state.
    fn saturate_reads(&mut self, c: &mut Config<B>) {
        for i in 0..self.pending.len() {
            let r = self.pending[i];
            let op = &self.part.ops[r as usize];
            if op.read_only && !c.set.has(op.slot) && self.valid_read(c.state, r) {
                c.set = c.set.with(op.slot);
            }
        }
    }

    fn valid_read(&mut self, state: u32, r: u32) -> bool {
        self.step(state, r).is_some()
    }

    fn step(&mut self, state: u32, op: u32) -> Option<u32> {
        let (model, part) = (self.model, self.part);
        let pop = &part.ops[op as usize];
        if state == DEAD {
            return if model.overwrites(&pop.op) {
                self.step(self.init, op)
            } else {
                pop.blind.then_some(DEAD)
            };
        }
        self.table.step(state, op, |s| model.step(s, &pop.op))
    }

    /// `state`, or [`DEAD`] when dead states merge and no remaining observer can see it.
    fn canonical(&mut self, state: u32) -> u32 {
        if self.limits.plain || !self.part.merge_dead || state == DEAD {
            return state;
        }
        let i = state as usize;
        if self.live_until.len() <= i {
            self.live_until.resize(i + 1, None);
        }
        let live_until = match self.live_until[i] {
            Some(l) => l,
            None => {
                let s = self.table.get(state);
                let (model, part) = (self.model, self.part);
                let seer =
                    part.observers_by_ret.iter().find(|&&r| model.may_reach(s, &part.ops[r as usize].op));
                let l = seer.and_then(|&r| part.ops[r as usize].ret).map_or(0, |r| r + 1);
                self.live_until[i] = Some(l);
                l
            }
        };
        if live_until <= self.t {
            DEAD
        } else {
            state
        }
    }

    /// Whether `c` can still satisfy every active observer.
    fn viable(&mut self, c: &Config<B>) -> bool {
        for k in &self.constraints {
            if k.slot.is_some_and(|s| c.set.has(s)) || !c.set.contains_all(&k.mask) {
                continue;
            }
            let key = (c.state as u64) << 32 | k.op as u64;
            if c.state == DEAD {
                return false;
            }
            let ok = match self.reach.get(&key) {
                Some(&ok) => ok,
                None => {
                    let ok = self.model.may_reach(self.table.get(c.state), &self.part.ops[k.op as usize].op);
                    self.reach.insert(key, ok);
                    ok
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// Recomputes the observers that constrain configurations at the current event.
    fn refresh_constraints(&mut self) {
        self.constraints.clear();
        if self.limits.plain || !self.limits.reach || !self.model.prunes() {
            return;
        }
        for &r in &self.pending {
            let op = &self.part.ops[r as usize];
            if let Some(obs) = &op.observer {
                if let Some(k) = self.constraint(r, Some(op.slot), obs) {
                    self.constraints.push(k);
                }
            }
        }
        let next = self.part.next_observer.get(self.t).copied().flatten();
        if let Some(obs) = next.and_then(|f| self.part.ops[f as usize].observer.as_ref().map(|o| (f, o))) {
            if let Some(k) = self.constraint(obs.0, None, obs.1) {
                self.constraints.push(k);
            }
        }
    }

    fn constraint(&self, op: u32, slot: Option<usize>, obs: &Observer) -> Option<Constraint<B>> {
        if obs.last_explainer_invoke.is_some_and(|i| i > self.t) {
            return None;
        }
        let mask = obs
            .explainers
            .iter()
            .filter(|&&w| self.part.in_flight(w, self.t))
            .fold(B::default(), |m, &w| m.with(self.part.ops[w as usize].slot));
        Some(Constraint { op, slot, mask })
    }

    /// A configuration from which every operation left to linearize is blind, if any.
    fn rest_is_blind(&self) -> Option<Config<B>> {
        if self.limits.plain {
            return None;
        }
        if self.part.nonblind_after[self.t] > 0 {
            return None;
        }
        let mut must = B::default();
        for &p in &self.pending {
            let op = &self.part.ops[p as usize];
            if !op.info && !op.blind && op.ret.is_some_and(|r| r > self.t) {
                must = must.with(op.slot);
            }
        }
        self.configs.iter().copied().find(|c| c.set.contains_all(&must))
    }

    /// The witness when the rest is blind: `c`'s chain, then every remaining completed operation
    /// at its return.
    fn finish_blind(&self, c: Config<B>) -> Vec<Step> {
        let mut steps = self.chain(c.trace);
        let mut rest: Vec<(usize, u32)> = (0..self.part.ops.len() as u32)
            .filter_map(|o| {
                let op = &self.part.ops[o as usize];
                let done = op.invoke <= self.t && c.set.has(op.slot) && self.pending.contains(&o);
                let ret = op.ret.filter(|&r| r > self.t)?;
                (!done).then_some((ret, o))
            })
            .collect();
        rest.sort_unstable();
        steps.extend(rest.into_iter().map(|(ret, op)| Step { op, pos: ret as u32, after: false }));
        steps
    }

    fn tick(&mut self, held: usize) -> Result<(), Outcome> {
        self.steps += 1;
        if held > self.limits.max_configs {
            return Err(Outcome::Unknown(format!(
                "gave up after holding {held} configurations (limit {}) at event {} of {}",
                self.limits.max_configs,
                self.t + 1,
                self.part.events.len()
            )));
        }
        if self.limits.max_steps.is_some_and(|m| self.steps > m) {
            return Err(Outcome::Unknown(format!(
                "gave up after exploring {} configurations",
                self.steps - 1
            )));
        }
        if self.steps % 1024 == 0 && self.limits.deadline.is_some_and(past) {
            return Err(Outcome::Unknown(format!(
                "deadline reached at event {} of {} ({} configurations explored)",
                self.t + 1,
                self.part.events.len(),
                self.steps
            )));
        }
        Ok(())
    }

    fn push_trace(&mut self, parent: u32, op: u32, after: bool) -> u32 {
        if !self.limits.track {
            return 0;
        }
        self.trace.push(Node { parent, step: Step { op, pos: self.t as u32, after } });
        (self.trace.len() - 1) as u32
    }

    fn chain(&self, mut node: u32) -> Vec<Step> {
        let mut steps = Vec::new();
        while node != 0 {
            let n = self.trace[node as usize];
            steps.push(n.step);
            node = n.parent;
        }
        steps.reverse();
        steps
    }

    /// Describes the failure of `target`: where it was tried, and (when tracking) the longest
    /// partial linearization, found by expanding once more with diagnostics on.
    fn failure(&mut self, target: u32) -> Result<Failure, Outcome> {
        let mut diag = Diagnosis { seen_states: Some(LookupSet::new()), ..Diagnosis::default() };
        self.expand(target, Some(&mut diag))?;
        let states = diag.states.iter().take(STATES_SHOWN).map(|&c| self.describe(c)).collect();
        let prefix = diag.best.filter(|_| self.limits.track).map(|b| (self.chain(b.trace), self.describe(b)));
        let best_set = diag.best.map_or(B::default(), |b| b.set);
        let in_flight = self
            .pending
            .iter()
            .copied()
            .filter(|&p| p != target && !best_set.has(self.part.ops[p as usize].slot))
            .collect();
        Ok(Failure { op: target, states, state_count: diag.states.len(), prefix, in_flight })
    }

    /// Describes `c`'s state. A merged dead state is described by the concrete state that `c`'s
    /// linearization leads to, when it was recorded.
    fn describe(&self, c: Config<B>) -> String {
        if c.state != DEAD {
            return self.model.describe_state(self.table.get(c.state));
        }
        let replayed = self
            .chain(c.trace)
            .iter()
            .try_fold(self.model.init(), |s, step| self.model.step(&s, &self.part.ops[step.op as usize].op));
        match replayed {
            Some(s) if self.limits.track => self.model.describe_state(&s),
            _ => "(a state that no remaining operation can observe)".to_string(),
        }
    }
}

/// Whether `seen` holds `c`'s state with one of `c`'s info operations (slots `infos`) fewer.
fn dominated<B: SlotSet>(c: &Config<B>, infos: &[usize], seen: &LookupSet<(B, u32)>) -> bool {
    infos.iter().any(|&i| c.set.has(i) && seen.contains(&(c.set.without(i), c.state)))
}

impl<B: SlotSet> Diagnosis<B> {
    fn observe(&mut self, c: Config<B>) {
        if self.seen_states.as_mut().is_some_and(|s| s.insert(c.state)) {
            self.states.push(c);
        }
        if self.best.is_none_or(|b| c.set.count() > b.set.count()) {
            self.best = Some(c);
        }
    }
}

/// The configurations a return produces, deduplicated, with the returning slot released.
struct Output<B> {
    configs: Vec<Config<B>>,
    seen: LookupSet<(B, u32)>,
    slot: usize,
}

impl<B: SlotSet> Output<B> {
    fn push(&mut self, c: Config<B>) {
        let c = Config { set: c.set.without(self.slot), ..c };
        if self.seen.insert(c.key()) {
            self.configs.push(c);
        }
    }
}

/// Whether the wall clock has passed `deadline`. Only deadlines read the clock; results never
/// depend on it except by stopping early with `Unknown`.
#[allow(clippy::disallowed_methods)] // deadline checks need the wall clock, see above
fn past(deadline: Instant) -> bool {
    Instant::now() >= deadline
}
