//! Counters of what happened in a run: faults that fired, messages delivered, frames rejected.
//!
//! Names are dotted, family first (`net.loss`, `process.crash`, `disk.torn_write`), so a sweep
//! can sum them over seeds and a report can say which faults actually fired. A fault is counted
//! when it changed something, not when it was planned.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Named event counts, ordered by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters(BTreeMap<String, u64>);

impl Counters {
    /// Counts one occurrence of `name`.
    pub fn add(&mut self, name: &str) {
        self.add_n(name, 1);
    }

    /// Counts `n` occurrences of `name` (a zero count adds no entry, so reports list only what
    /// happened).
    pub fn add_n(&mut self, name: &str, n: u64) {
        if n > 0 {
            match self.0.get_mut(name) {
                Some(v) => *v += n,
                None => {
                    self.0.insert(name.to_string(), n);
                }
            }
        }
    }

    /// The count of `name`, 0 if it never happened.
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Counters) {
        for (k, v) in &other.0 {
            self.add_n(k, *v);
        }
    }

    /// Every non-zero count with its name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Counts whose name starts with `prefix`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, u64)> + 'a {
        self.iter().filter(move |(k, _)| k.starts_with(prefix))
    }
}
