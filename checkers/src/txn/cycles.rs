//! Cycle search: strongly connected components, then a short cycle of each kind in each.
//!
//! Every cycle lies in one strongly connected component of the whole graph (Tarjan over all
//! edges), so each component is examined alone. Within one, for each order (data only, then with
//! process order, then with real time) and each shape, most severe first:
//! 1. G0: components of the ww-only view; a nontrivial one holds a ww cycle.
//! 2. G1c: components of the ww+wr view.
//! 3. G-single / G-nonadjacent: components of the doubled graph that forbids two rw edges in a
//!    row decide existence in linear time; then, for each rw edge `u -> x` inside one, a search
//!    from `x` back to `u` over ww/wr edges gives a G-single (pruned by the ww+wr components'
//!    topological order), and failing that, a path in the doubled graph gives a G-nonadjacent.
//! 4. G2-item: components of the ww+wr+rw view.
//!
//! Existence is always decided exactly (components are linear); the example cycle comes from a
//! shortest-path search (the shortest of a few tries) that spends the [`Budget`]. A search is
//! skipped when anomalies already found in the component rule out every model it could.
//! Found cycles are classified by their edges, as Elle does: rw count (0: G0 or G1c, 1:
//! G-single, more: G-nonadjacent or G2-item by adjacency), suffixed `-realtime` or `-process`
//! when they use those orders. Each edge is read with its most telling label: ww, wr, process,
//! realtime, then rw.

use super::anomaly::{AnomalyKind, CycleShape, Order, Relation};
use super::bfs::{Bfs, Budget, Search};
use super::graph::{label, Graph, Virtual};
use super::model::{ruled_out, ModelSet};
use super::scc::{Tarjan, Walk};
use super::view::View;
use std::ops::Range;

/// Start edges tried per search; the shortest cycle found is kept.
const TRIES: usize = 3;

/// G-single searches tried per component before settling for a G-nonadjacent example: in a
/// large component most rw edges close no single-rw cycle, and each failed search costs up to
/// the component's size.
const SINGLE_ATTEMPTS: usize = 64;

/// One edge of a found cycle, between transactions (by index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub from: u32,
    pub to: u32,
    pub relation: Relation,
}

/// A cycle anomaly: its kind, and its edges (empty when the budget ran out before an example).
pub(crate) struct FoundCycle {
    pub kind: AnomalyKind,
    pub steps: Vec<Step>,
    /// Transactions in the component it was found in.
    pub component: usize,
}

pub(crate) struct CycleSearch {
    pub found: Vec<FoundCycle>,
    /// Nontrivial strongly connected components of the whole graph.
    pub components: usize,
    /// Transactions in the largest one.
    pub largest: usize,
    pub budget: Budget,
}

/// Every edge of the graph.
struct Whole<'a>(&'a Graph);

impl Walk for Whole<'_> {
    fn edges(&self, s: u32) -> Range<u32> {
        self.0.edges(s)
    }
    fn step(&self, _: u32, e: u32) -> Option<u32> {
        Some(self.0.edge(e).0)
    }
    fn cost(&self, _: u32) -> u32 {
        1
    }
}

/// Finds and classifies cycles in `graph`, spending at most `budget` edge scans on examples.
pub(crate) fn search(graph: &Graph, budget: Option<u64>) -> CycleSearch {
    let n = graph.nodes() as usize;
    let mut whole = Tarjan::new(n);
    let components = whole.run(&Whole(graph), 0..n as u32);
    let mut budget = Budget::new(budget);
    let (mut found, mut largest) = (Vec::new(), 0);
    if !components.is_empty() {
        let mut searcher = Searcher {
            graph,
            scc: whole.comps(),
            sub: Tarjan::new(n),
            pairs: Tarjan::new(2 * n),
            bfs: Bfs::new(2 * n),
            budget: &mut budget,
        };
        for members in &components {
            let size = members.iter().filter(|v| !graph.is_virtual(**v)).count();
            largest = largest.max(size);
            searcher.component(members, size, &mut found);
        }
    }
    CycleSearch { found, components: components.len(), largest, budget }
}

struct Searcher<'a> {
    graph: &'a Graph,
    scc: &'a [u32],
    sub: Tarjan,
    pairs: Tarjan,
    bfs: Bfs,
    budget: &'a mut Budget,
}

/// Whether a cycle exists, and an example when the budget allowed one (nodes in cycle order).
type Outcome = Option<Option<Vec<u32>>>;

impl Searcher<'_> {
    fn component(&mut self, members: &[u32], size: usize, out: &mut Vec<FoundCycle>) {
        let id = self.scc[members[0] as usize];
        let mut ruled = ModelSet::default();
        for order in [Order::Data, Order::Process, Order::Realtime] {
            let extra = match order {
                Order::Data => 0,
                Order::Process => label::PROCESS,
                Order::Realtime => label::PROCESS | label::REALTIME,
            };
            for shape in [CycleShape::G0, CycleShape::G1c, CycleShape::GSingle, CycleShape::G2Item] {
                let nominal = AnomalyKind::Cycle(shape, order);
                if ruled_out(nominal).is_subset(ruled) {
                    continue;
                }
                let outcome = match shape {
                    CycleShape::G0 => self.plain(members, id, label::WW | extra, false),
                    CycleShape::G1c => self.plain(members, id, label::DATA | extra, false),
                    CycleShape::GSingle => self.snapshot(members, id, label::DATA | extra),
                    _ => self.plain(members, id, label::DATA | label::RW | extra, true),
                };
                let Some(example) = outcome else { continue };
                let allowed = label::DATA | label::RW | extra;
                let steps = example.map(|nodes| steps_of(self.graph, &nodes, allowed)).unwrap_or_default();
                let kind = if steps.is_empty() { nominal } else { classify(&steps, order) };
                ruled = ruled.union(ruled_out(kind));
                out.push(FoundCycle { kind, steps, component: size });
            }
        }
    }

    /// A cycle in the view with `mask`, through an rw edge when `need_rw`.
    fn plain(&mut self, members: &[u32], id: u32, mask: u8, need_rw: bool) -> Outcome {
        let view = View::new(self.graph, mask, false, (self.scc, id));
        let comps = self.sub.run(&view, members.iter().copied());
        let sub = self.sub.comps();
        let mut starts = Vec::new();
        'comps: for comp in &comps {
            for &u in comp.iter().filter(|u| !self.graph.is_virtual(**u)) {
                for e in self.graph.edges(u) {
                    let (x, labels) = self.graph.edge(e);
                    let usable = labels & mask != 0 && (!need_rw || labels & label::RW != 0);
                    if usable && sub[x as usize] == sub[u as usize] {
                        starts.push((u, x));
                        if starts.len() == TRIES {
                            break 'comps;
                        }
                    }
                }
            }
        }
        if starts.is_empty() {
            return None;
        }
        let mut best = None;
        for (u, x) in starts {
            let within = view.within(sub, sub[u as usize]);
            if !shortest(&mut self.bfs, &within, (u, x), x, u, false, self.budget, &mut best) {
                break;
            }
        }
        Some(best)
    }

    /// A cycle whose rw edges are never adjacent: G-single when one exists, else G-nonadjacent.
    fn snapshot(&mut self, members: &[u32], id: u32, base: u8) -> Outcome {
        let view = View::new(self.graph, base | label::RW, true, (self.scc, id));
        let comps = self.pairs.run(&view, members.iter().flat_map(|&v| [2 * v, 2 * v + 1]));
        let starts = self.rw_starts(&comps);
        if starts.is_empty() {
            return None;
        }
        if let Some(cycle) = self.single(members, id, base, &starts) {
            return Some(Some(cycle));
        }
        let pc = self.pairs.comps();
        let mut best = None;
        for &(u, x) in starts.iter().take(TRIES) {
            let within = view.within(pc, pc[2 * u as usize]);
            if !shortest(&mut self.bfs, &within, (u, x), 2 * x + 1, 2 * u, true, self.budget, &mut best) {
                break;
            }
        }
        Some(best)
    }

    /// The rw edges `u -> x` with `(u, not after rw)` and `(x, after rw)` in one component of
    /// the doubled graph: each starts a cycle with non-adjacent rw edges.
    fn rw_starts(&self, comps: &[Vec<u32>]) -> Vec<(u32, u32)> {
        let pc = self.pairs.comps();
        let mut starts = Vec::new();
        for comp in comps {
            for &s in comp.iter().filter(|s| *s & 1 == 0 && !self.graph.is_virtual(*s >> 1)) {
                for e in self.graph.edges(s >> 1) {
                    let (x, labels) = self.graph.edge(e);
                    if labels & label::RW != 0 && pc[2 * x as usize + 1] == pc[s as usize] {
                        starts.push((s >> 1, x));
                    }
                }
            }
        }
        starts
    }

    /// A cycle of one rw edge from `starts` and a path of `base` edges back.
    fn single(&mut self, members: &[u32], id: u32, base: u8, starts: &[(u32, u32)]) -> Option<Vec<u32>> {
        let view = View::new(self.graph, base, false, (self.scc, id));
        self.sub.run(&view, members.iter().copied());
        let sub = self.sub.comps();
        // x can reach u only if u's component completed no later than x's (Tarjan's order).
        let mut starts: Vec<(u32, u32)> =
            starts.iter().copied().filter(|(u, x)| sub[*u as usize] <= sub[*x as usize]).collect();
        starts.sort_by_key(|(u, x)| sub[*x as usize] - sub[*u as usize]);
        // A candidate closed by a single step (an edge, or real time) needs no search.
        for &(u, x) in &starts {
            if let Some(via) = self.graph.one_step(x, u, base) {
                return Some([u, x].into_iter().chain(via).collect());
            }
        }
        let mut best = None;
        let mut found = 0;
        for (u, x) in starts.into_iter().take(SINGLE_ATTEMPTS) {
            let pruned = view.floor(sub, sub[u as usize]);
            let before = best.as_ref().map(Vec::len);
            if !shortest(&mut self.bfs, &pruned, (u, x), x, u, false, self.budget, &mut best) {
                break;
            }
            found += usize::from(best.as_ref().map(Vec::len) != before);
            if found == TRIES {
                break;
            }
        }
        best
    }
}

/// Searches `from -> to` and keeps in `best` the shorter of it (closed by `edge`) and `best`.
/// False when the budget ran out.
#[allow(clippy::too_many_arguments)]
fn shortest<W: Walk>(
    bfs: &mut Bfs,
    walk: &W,
    edge: (u32, u32),
    from: u32,
    to: u32,
    pairs: bool,
    budget: &mut Budget,
    best: &mut Option<Vec<u32>>,
) -> bool {
    match bfs.path(walk, from, to, budget) {
        Search::Found(path) => {
            let mut cycle = vec![edge.0];
            cycle.extend(path[..path.len() - 1].iter().map(|s| if pairs { s >> 1 } else { *s }));
            if best.as_ref().is_none_or(|b| cycle.len() < b.len()) {
                *best = Some(cycle);
            }
            true
        }
        Search::NotFound => true,
        Search::OutOfBudget => false,
    }
}

/// The transaction-to-transaction steps of a cycle of nodes (virtual nodes folded into steps).
fn steps_of(graph: &Graph, nodes: &[u32], allowed: u8) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut from = nodes[0];
    let mut via = 0u8;
    for &n in nodes[1..].iter().chain(std::iter::once(&nodes[0])) {
        match graph.virtual_kind(n) {
            Some(Virtual::Checkpoint) => via |= label::REALTIME,
            Some(Virtual::Hub) => via |= label::RW,
            None => {
                let labels = (graph.labels_between(from, n) & allowed) | via;
                steps.push(Step { from, to: n, relation: most_telling(labels) });
                from = n;
                via = 0;
            }
        }
    }
    steps
}

fn most_telling(labels: u8) -> Relation {
    [
        (label::WW, Relation::Ww),
        (label::WR, Relation::Wr),
        (label::PROCESS, Relation::Process),
        (label::REALTIME, Relation::Realtime),
    ]
    .into_iter()
    .find(|(bit, _)| labels & bit != 0)
    .map_or(Relation::Rw, |(_, r)| r)
}

/// Elle's classification of a cycle by its edges.
fn classify(steps: &[Step], searched: Order) -> AnomalyKind {
    let count = |r: Relation| steps.iter().filter(|s| s.relation == r).count();
    let rw = count(Relation::Rw);
    let adjacent = (0..steps.len())
        .any(|i| steps[i].relation == Relation::Rw && steps[(i + 1) % steps.len()].relation == Relation::Rw);
    let shape = match rw {
        0 if count(Relation::Wr) > 0 => CycleShape::G1c,
        0 => CycleShape::G0,
        1 => CycleShape::GSingle,
        _ if adjacent => CycleShape::G2Item,
        _ => CycleShape::GNonadjacent,
    };
    let order = if count(Relation::Realtime) > 0 {
        Order::Realtime
    } else if count(Relation::Process) > 0 {
        Order::Process
    } else {
        Order::Data
    };
    debug_assert!(order <= searched, "a search only follows the orders it allows");
    AnomalyKind::Cycle(shape, order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::graph::GraphBuilder;

    fn kinds(graph: &Graph) -> Vec<String> {
        search(graph, None).found.iter().map(|f| f.kind.name()).collect()
    }

    // Adya's G0 (thesis 3.2.1): a cycle of write-write edges alone.
    #[test]
    fn ww_cycle_is_g0_and_nothing_weaker_is_searched() {
        let mut b = GraphBuilder::new(2);
        b.add(0, 1, label::WW);
        b.add(1, 0, label::WW | label::RW);
        assert_eq!(kinds(&b.build()), vec!["G0"]);
    }

    // Write skew: two rw edges in a row; allowed by snapshot isolation, so G2-item only.
    #[test]
    fn adjacent_anti_dependencies_are_g2_item() {
        let mut b = GraphBuilder::new(2);
        b.add(0, 1, label::RW);
        b.add(1, 0, label::RW);
        assert_eq!(kinds(&b.build()), vec!["G2-item"]);
    }

    // Cerone and Gotsman: rw edges separated by wr edges are forbidden by SI even when there
    // are several of them; Elle calls it G-nonadjacent.
    #[test]
    fn separated_anti_dependencies_are_g_nonadjacent() {
        let mut b = GraphBuilder::new(4);
        b.add(0, 1, label::RW);
        b.add(1, 2, label::WR);
        b.add(2, 3, label::RW);
        b.add(3, 0, label::WR);
        assert_eq!(kinds(&b.build()), vec!["G-nonadjacent"]);
    }

    // A stale read after a completed write: one rw edge closed by real time.
    #[test]
    fn realtime_through_checkpoints_gives_g_single_realtime() {
        let mut b = GraphBuilder::new(2);
        let c = b.add_virtual(Virtual::Checkpoint);
        b.add(0, c, label::REALTIME);
        b.add(c, 1, label::REALTIME);
        b.add(1, 0, label::RW);
        let found = search(&b.build(), None).found;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind.name(), "G-single-realtime");
        let relations: Vec<_> = found[0].steps.iter().map(|s| (s.from, s.to, s.relation)).collect();
        assert_eq!(relations, vec![(1, 0, Relation::Rw), (0, 1, Relation::Realtime)]);
    }

    #[test]
    fn an_exhausted_budget_still_reports_the_cycle_without_example() {
        let mut b = GraphBuilder::new(3);
        b.add(0, 1, label::WW);
        b.add(1, 2, label::WW);
        b.add(2, 0, label::WW);
        let result = search(&b.build(), Some(1));
        assert!(result.budget.exhausted);
        assert_eq!(result.found.len(), 1);
        assert_eq!(result.found[0].kind.name(), "G0");
        assert!(result.found[0].steps.is_empty());
    }
}
