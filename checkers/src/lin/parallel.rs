//! Checks independent parts on several threads.
//!
//! Parts are handed out largest first from a shared counter (so one big part does not start
//! last), and results are put back in part order, so the report does not depend on which
//! thread finished first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Applies `work` to every item on up to `threads` threads (0: one per core) and returns the
/// results in item order.
pub(crate) fn run<T: Sync + Weight, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads =
        if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
    let threads = threads.min(items.len());
    if threads <= 1 {
        return items.iter().map(&work).collect();
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(items[i].weight()));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                let r = work(&items[i]);
                // A poisoned lock means another worker panicked; the scope re-raises that panic.
                if let Ok(mut results) = results.lock() {
                    results[i] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.into_iter().map(|r| r.expect("every item was processed")).collect()
}

/// How much work an item is, to schedule big ones first.
pub(crate) trait Weight {
    fn weight(&self) -> usize;
}

impl<M: crate::model::Model> Weight for super::prepare::Part<M> {
    fn weight(&self) -> usize {
        self.ops.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weight for u32 {
        fn weight(&self) -> usize {
            *self as usize
        }
    }

    #[test]
    fn results_come_back_in_item_order() {
        let items: Vec<u32> = (0..50).collect();
        for threads in [0, 1, 3] {
            assert_eq!(run(&items, threads, |x| x * 2), items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
    }
}
