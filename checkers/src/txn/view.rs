//! Filtered views of the dependency graph, as [`Walk`]s for component and path searches.
//!
//! A view keeps the edges whose labels meet its mask (edges out of virtual nodes continue the
//! edge that entered them and are always kept), stays inside one component of the whole graph,
//! and may further stay inside a sub-component (`within`) or above a component number (`floor`,
//! used to prune: a node whose component comes earlier in Tarjan's order cannot reach the
//! target).
//!
//! With `pairs`, states are `(node, last edge was rw)` packed as `2 * node + bit`, and an rw
//! edge may not follow an rw edge: a cycle in this doubled graph is a closed walk whose
//! anti-dependency edges are never adjacent, which is what snapshot isolation forbids (Cerone
//! and Gotsman: SI allows a dependency cycle only with two consecutive rw edges; Elle's
//! G-nonadjacent).

use super::graph::{label, Graph};
use super::scc::Walk;
use std::ops::Range;

#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    graph: &'a Graph,
    mask: u8,
    pairs: bool,
    /// Node-indexed component ids of the whole graph, and the one to stay in.
    scc: (&'a [u32], u32),
    /// State-indexed component ids and the one to stay in.
    within: Option<(&'a [u32], u32)>,
    /// State-indexed component ids and the smallest allowed.
    floor: Option<(&'a [u32], u32)>,
}

impl<'a> View<'a> {
    pub(crate) fn new(graph: &'a Graph, mask: u8, pairs: bool, scc: (&'a [u32], u32)) -> Self {
        View { graph, mask, pairs, scc, within: None, floor: None }
    }

    pub(crate) fn within(self, comps: &'a [u32], id: u32) -> Self {
        View { within: Some((comps, id)), ..self }
    }

    pub(crate) fn floor(self, comps: &'a [u32], min: u32) -> Self {
        View { floor: Some((comps, min)), ..self }
    }

    fn node(&self, s: u32) -> u32 {
        if self.pairs {
            s >> 1
        } else {
            s
        }
    }

    /// The state reached from `s` over an edge labelled `labels` to `target`.
    fn next_state(&self, s: u32, labels: u8, target: u32) -> Option<u32> {
        if !self.pairs {
            return Some(target);
        }
        let after_rw = if self.graph.is_virtual(s >> 1) {
            s & 1
        } else if labels & !label::RW != 0 {
            0
        } else if s & 1 == 1 {
            return None;
        } else {
            1
        };
        Some(target * 2 + after_rw)
    }
}

impl Walk for View<'_> {
    fn edges(&self, s: u32) -> Range<u32> {
        self.graph.edges(self.node(s))
    }

    fn step(&self, s: u32, e: u32) -> Option<u32> {
        let (target, labels) = self.graph.edge(e);
        if self.scc.0[target as usize] != self.scc.1 {
            return None;
        }
        let labels = if self.graph.is_virtual(self.node(s)) { labels } else { labels & self.mask };
        if labels == 0 {
            return None;
        }
        let next = self.next_state(s, labels, target)?;
        if self.within.is_some_and(|(comps, id)| comps[next as usize] != id) {
            return None;
        }
        if self.floor.is_some_and(|(comps, min)| comps[next as usize] < min) {
            return None;
        }
        Some(next)
    }

    fn cost(&self, s: u32) -> u32 {
        u32::from(!self.graph.is_virtual(self.node(s)))
    }
}
