//! Strongly connected components: Tarjan's algorithm (1972), iterative.
//!
//! Every cycle of a graph lies inside one strongly connected component, so components are where
//! cycle searches look, and a component with more than one node *is* a proof that a cycle
//! exists. The search runs over any [`Walk`] (a filtered view of the dependency graph, or the
//! doubled graph used for non-adjacent anti-dependencies) from chosen roots, with an explicit
//! stack of `(node, next edge)` frames so that a million-node path cannot overflow the call
//! stack. Arrays are sized once and only the entries a run touched are reset, so running it on
//! many small components costs their size, not the graph's.
//!
//! Components are numbered in the order Tarjan completes them, which is a reverse topological
//! order of the condensation: if component A reaches component B, then `id(A) >= id(B)`.

use super::decode::NONE;
use std::ops::Range;

/// A graph as searches see it: numbered states, each with a range of edges to try.
pub(crate) trait Walk {
    /// The edges to scan from state `s`.
    fn edges(&self, s: u32) -> Range<u32>;
    /// The state edge `e` leads to from `s`, or `None` when the view leaves the edge out.
    fn step(&self, s: u32, e: u32) -> Option<u32>;
    /// 0 when reaching `s` does not count as a step (virtual nodes), else 1.
    fn cost(&self, s: u32) -> u32;
}

pub(crate) struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    comp: Vec<u32>,
    stack: Vec<u32>,
    frames: Vec<(u32, u32)>,
    touched: Vec<u32>,
    next_index: u32,
    next_comp: u32,
}

impl Tarjan {
    /// Room for states `0..states`.
    pub(crate) fn new(states: usize) -> Self {
        Tarjan {
            index: vec![NONE; states],
            low: vec![NONE; states],
            comp: vec![NONE; states],
            stack: Vec::new(),
            frames: Vec::new(),
            touched: Vec::new(),
            next_index: 0,
            next_comp: 0,
        }
    }

    /// Component id of every state, [`NONE`] for states the last run did not reach.
    pub(crate) fn comps(&self) -> &[u32] {
        &self.comp
    }

    /// Runs from each root in turn; returns the components with more than one state.
    pub(crate) fn run<W: Walk>(&mut self, walk: &W, roots: impl IntoIterator<Item = u32>) -> Vec<Vec<u32>> {
        self.reset();
        let mut found = Vec::new();
        for root in roots {
            if self.index[root as usize] == NONE {
                self.visit(walk, root, &mut found);
            }
        }
        found
    }

    fn reset(&mut self) {
        for s in self.touched.drain(..) {
            self.index[s as usize] = NONE;
            self.low[s as usize] = NONE;
            self.comp[s as usize] = NONE;
        }
        self.next_index = 0;
        self.next_comp = 0;
    }

    fn push(&mut self, walk: &impl Walk, s: u32) {
        self.index[s as usize] = self.next_index;
        self.low[s as usize] = self.next_index;
        self.next_index += 1;
        self.stack.push(s);
        self.touched.push(s);
        self.frames.push((s, walk.edges(s).start));
    }

    fn visit<W: Walk>(&mut self, walk: &W, root: u32, found: &mut Vec<Vec<u32>>) {
        self.push(walk, root);
        while let Some(&(s, next)) = self.frames.last() {
            let end = walk.edges(s).end;
            let mut e = next;
            let mut descended = false;
            while e < end {
                let edge = e;
                e += 1;
                let Some(t) = walk.step(s, edge) else { continue };
                if self.index[t as usize] == NONE {
                    self.frames.last_mut().expect("frame of s").1 = e;
                    self.push(walk, t);
                    descended = true;
                    break;
                }
                // Visited and not yet in a component: still on the stack.
                if self.comp[t as usize] == NONE {
                    self.low[s as usize] = self.low[s as usize].min(self.index[t as usize]);
                }
            }
            if !descended {
                self.finish(s, found);
            }
        }
    }

    /// All of `s`'s edges are done: propagate its low link and close its component if it is a root.
    fn finish(&mut self, s: u32, found: &mut Vec<Vec<u32>>) {
        self.frames.pop();
        if let Some(&(parent, _)) = self.frames.last() {
            self.low[parent as usize] = self.low[parent as usize].min(self.low[s as usize]);
        }
        if self.low[s as usize] != self.index[s as usize] {
            return;
        }
        let id = self.next_comp;
        self.next_comp += 1;
        let mut members = Vec::new();
        loop {
            let t = self.stack.pop().expect("component root is on the stack");
            self.comp[t as usize] = id;
            members.push(t);
            if t == s {
                break;
            }
        }
        if members.len() > 1 {
            found.push(members);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Adjacency lists as a walk; states from `.1` on cost nothing to reach.
    pub(crate) struct Lists(pub Vec<Vec<u32>>, pub u32);

    impl Walk for Lists {
        fn edges(&self, s: u32) -> Range<u32> {
            0..self.0[s as usize].len() as u32
        }
        fn step(&self, s: u32, e: u32) -> Option<u32> {
            Some(self.0[s as usize][e as usize])
        }
        fn cost(&self, s: u32) -> u32 {
            u32::from(s < self.1)
        }
    }

    #[test]
    fn finds_components_in_reverse_topological_order() {
        // 0 -> 1 -> 2 -> 0 (a cycle), 2 -> 3, 3 -> 4 -> 3 (another), 5 alone.
        let g = Lists(vec![vec![1], vec![2], vec![0, 3], vec![4], vec![3], vec![]], u32::MAX);
        let mut tarjan = Tarjan::new(6);
        let mut comps = tarjan.run(&g, 0..6);
        for c in &mut comps {
            c.sort();
        }
        assert_eq!(comps, vec![vec![3, 4], vec![0, 1, 2]]);
        let id = tarjan.comps();
        assert!(id[0] > id[3], "the first cycle reaches the second, so it completes later");
        assert_ne!(id[5], NONE);
    }

    #[test]
    fn a_million_node_path_does_not_overflow() {
        let n = 1_000_000u32;
        let mut lists: Vec<Vec<u32>> = (0..n).map(|v| vec![(v + 1) % n]).collect();
        lists[0].push(n - 1);
        let mut tarjan = Tarjan::new(n as usize);
        let comps = tarjan.run(&Lists(lists, u32::MAX), [0]);
        assert_eq!(comps.len(), 1);
        assert_eq!(comps[0].len(), n as usize);
    }

    #[test]
    fn reruns_reset_only_what_they_touched() {
        let g = Lists(vec![vec![1], vec![0], vec![]], u32::MAX);
        let mut tarjan = Tarjan::new(3);
        assert_eq!(tarjan.run(&g, [0]).len(), 1);
        assert_eq!(tarjan.comps()[2], NONE);
        assert_eq!(tarjan.run(&g, [2]).len(), 0);
        assert_eq!(tarjan.comps()[0], NONE);
    }
}
