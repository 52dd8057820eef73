//! The `faultline` command line: one module per subcommand, each with its clap `Args` and a
//! `run` that returns the process exit code (`check`, `merge`, `real`, `replay`, `sweep`,
//! `systems`), and what the sweep and merge share: `record` (per-seed records and failure
//! signatures), `summary` (the summary built from records), `shard` (`--shard auto` from the
//! scheduler's environment).
//!
//! Exit codes: 0 success; 1 a failure was found (a failing seed, a violation); 2 a usage error
//! (bad arguments, unknown names, unreadable input), reported in one line, with no partial
//! output written.

pub mod check;
pub mod merge;
pub mod real;
pub mod record;
pub mod replay;
pub mod shard;
#[cfg(madsim)]
pub mod simlog;
pub mod summary;
pub mod sweep;
pub mod systems;

use std::fmt;
use std::str::FromStr;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILURE_FOUND: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// Prints a one-line usage error and returns its exit code.
pub fn usage_error(message: impl fmt::Display) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// `--shard I/N`: this process runs the I-th of N interleaved slices of the seeds (1-based).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Whether the `position`-th seed of the sweep belongs to this shard.
    pub fn owns(self, position: u64) -> bool {
        position % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: expected I/N with 1 <= I <= N, e.g. 3/16");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (i.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_seeds_without_overlap() {
        let shards: Vec<Shard> = (1..=4).map(|i| format!("{i}/4").parse().unwrap()).collect();
        for position in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns(position)).count(), 1);
        }
        assert!("5/4".parse::<Shard>().is_err());
        assert!("0/4".parse::<Shard>().is_err());
        assert!("3".parse::<Shard>().is_err());
    }
}
