//! Shortest paths for cycle examples: breadth-first search with 0/1 weights, under a budget.
//!
//! Reaching a virtual node costs nothing (it only relays an edge), reaching a transaction costs
//! one, so the path found has the fewest transactions; a deque keeps the 0-1 search linear.
//! Every edge scanned spends one unit of the shared [`Budget`]; when it runs out the search
//! says so instead of answering, and the caller reports that the example search was cut short.
//! Visited marks are stamped with a search number, so a search costs what it explores.

use super::decode::NONE;
use super::scc::Walk;
use std::collections::VecDeque;

/// Edge scans allowed across all cycle searches of one check.
#[derive(Clone, Debug)]
pub(crate) struct Budget {
    limit: Option<u64>,
    pub spent: u64,
    pub exhausted: bool,
}

impl Budget {
    pub(crate) fn new(limit: Option<u64>) -> Self {
        Budget { limit, spent: 0, exhausted: false }
    }

    fn take(&mut self) -> bool {
        if self.limit.is_some_and(|l| self.spent >= l) {
            self.exhausted = true;
            return false;
        }
        self.spent += 1;
        true
    }
}

/// The outcome of one search.
pub(crate) enum Search {
    /// The states from source to target, both included.
    Found(Vec<u32>),
    NotFound,
    OutOfBudget,
}

pub(crate) struct Bfs {
    dist: Vec<u32>,
    parent: Vec<u32>,
    stamp: Vec<u32>,
    epoch: u32,
    queue: VecDeque<(u32, u32)>,
}

impl Bfs {
    pub(crate) fn new(states: usize) -> Self {
        Bfs {
            dist: vec![0; states],
            parent: vec![NONE; states],
            stamp: vec![0; states],
            epoch: 0,
            queue: VecDeque::new(),
        }
    }

    fn start(&mut self) {
        if self.epoch == u32::MAX {
            self.stamp.fill(0);
            self.epoch = 0;
        }
        self.epoch += 1;
        self.queue.clear();
    }

    /// Relaxes `s` to distance `d` via `parent`; true when that improved it.
    fn relax(&mut self, s: u32, d: u32, parent: u32) -> bool {
        let i = s as usize;
        if self.stamp[i] == self.epoch && self.dist[i] <= d {
            return false;
        }
        self.stamp[i] = self.epoch;
        self.dist[i] = d;
        self.parent[i] = parent;
        true
    }

    /// A shortest path from `source` to `target` in `walk`.
    pub(crate) fn path<W: Walk>(
        &mut self,
        walk: &W,
        source: u32,
        target: u32,
        budget: &mut Budget,
    ) -> Search {
        self.start();
        self.relax(source, 0, NONE);
        self.queue.push_back((source, 0));
        while let Some((s, d)) = self.queue.pop_front() {
            if self.dist[s as usize] < d {
                continue;
            }
            if s == target {
                return Search::Found(self.trace(target));
            }
            for e in walk.edges(s) {
                if !budget.take() {
                    return Search::OutOfBudget;
                }
                let Some(t) = walk.step(s, e) else { continue };
                let cost = walk.cost(t);
                if self.relax(t, d + cost, s) {
                    if cost == 0 {
                        self.queue.push_front((t, d));
                    } else {
                        self.queue.push_back((t, d + cost));
                    }
                }
            }
        }
        Search::NotFound
    }

    fn trace(&self, target: u32) -> Vec<u32> {
        let mut path = vec![target];
        let mut s = target;
        while self.parent[s as usize] != NONE {
            s = self.parent[s as usize];
            path.push(s);
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::scc::tests::Lists;

    #[test]
    fn prefers_paths_through_free_relays() {
        // 0 -> 1 -> 2 -> 3 costs 3; 0 -> 4 -> 5 -> 3 costs 1 (4 and 5 are relays).
        let g = Lists(vec![vec![1, 4], vec![2], vec![3], vec![], vec![5], vec![3]], 4);
        let mut bfs = Bfs::new(6);
        let mut budget = Budget::new(None);
        match bfs.path(&g, 0, 3, &mut budget) {
            Search::Found(p) => assert_eq!(p, vec![0, 4, 5, 3]),
            _ => panic!("path exists"),
        }
        assert!(matches!(bfs.path(&g, 3, 0, &mut budget), Search::NotFound));
    }

    #[test]
    fn stops_when_the_budget_runs_out() {
        let g = Lists(vec![vec![1], vec![2], vec![3], vec![]], 9);
        let mut bfs = Bfs::new(4);
        let mut budget = Budget::new(Some(2));
        assert!(matches!(bfs.path(&g, 0, 3, &mut budget), Search::OutOfBudget));
        assert!(budget.exhausted);
        assert_eq!(budget.spent, 2);
    }
}
