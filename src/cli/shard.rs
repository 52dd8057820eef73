//! `--shard auto`: which shard this process is, read from the scheduler that started it.
//!
//! A Kubernetes Indexed Job, a CI matrix or a batch array starts the same command N times and
//! tells each copy its index through an environment variable; the variable (and whether it
//! counts from 0 or 1) differs by scheduler. GitHub Actions has no such variable for a matrix,
//! so a workflow sets `FAULTLINE_SHARD_INDEX` from its matrix value. The number of shards comes
//! from `--shards N`, or from the scheduler where it says (and then both must agree).

use super::Shard;
use std::str::FromStr;

/// `--shard I/N` or `--shard auto`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    Auto,
}

impl FromStr for ShardArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "auto" {
            return Ok(ShardArg::Auto);
        }
        s.parse().map(ShardArg::Fixed).map_err(|e| format!("{e}, or `auto`"))
    }
}

/// Where a scheduler puts a parallel task's index.
struct Source {
    index: &'static str,
    /// The index of the first task: 0 or 1.
    first: u64,
    /// The variable holding the number of tasks, where the scheduler sets one.
    total: Option<&'static str>,
}

/// Looked up in this order; the first one set wins.
const SOURCES: &[Source] = &[
    // Set by hand, e.g. by a GitHub Actions matrix: 1 to N, as in `--shard I/N`.
    Source { index: "FAULTLINE_SHARD_INDEX", first: 1, total: None },
    // Kubernetes Indexed Job.
    Source { index: "JOB_COMPLETION_INDEX", first: 0, total: None },
    // GitLab CI `parallel:`.
    Source { index: "CI_NODE_INDEX", first: 1, total: Some("CI_NODE_TOTAL") },
    // CircleCI `parallelism:`.
    Source { index: "CIRCLE_NODE_INDEX", first: 0, total: Some("CIRCLE_NODE_TOTAL") },
    // Buildkite `parallelism:`.
    Source { index: "BUILDKITE_PARALLEL_JOB", first: 0, total: Some("BUILDKITE_PARALLEL_JOB_COUNT") },
    // AWS Batch array job.
    Source { index: "AWS_BATCH_JOB_ARRAY_INDEX", first: 0, total: None },
];

/// The shard `arg` names, reading the environment through `env` for `auto`.
pub fn resolve(
    arg: Option<ShardArg>,
    shards: Option<u64>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Shard>, String> {
    match (arg, shards) {
        (None, None) => Ok(None),
        (Some(ShardArg::Fixed(shard)), None) => Ok(Some(shard)),
        (Some(ShardArg::Auto), shards) => from_env(shards, env).map(Some),
        (_, Some(_)) => Err("--shards N goes with --shard auto (--shard I/N already says N)".to_string()),
    }
}

fn from_env(shards: Option<u64>, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let set = |name: &str| env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let Some((source, index)) = SOURCES.iter().find_map(|s| set(s.index).map(|v| (s, v))) else {
        return Err(
            "--shard auto found no shard index in the environment: set FAULTLINE_SHARD_INDEX (1 to N), \
             or run as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX), a GitLab, CircleCI or Buildkite \
             parallel job, or an AWS Batch array job"
                .to_string(),
        );
    };
    let number = |name: &str, value: &str| {
        value.parse::<u64>().map_err(|_| format!("{name}=`{value}` is not a number (--shard auto)"))
    };
    let index = number(source.index, &index)?;
    let from_scheduler = match source.total.and_then(|t| set(t).map(|v| (t, v))) {
        Some((name, value)) => Some((name, number(name, &value)?)),
        None => None,
    };
    let count = match (shards, from_scheduler) {
        (Some(n), Some((name, m))) if n != m => return Err(format!("--shards {n} but {name}={m}")),
        (Some(n), _) => n,
        (None, Some((_, m))) => m,
        (None, None) => {
            return Err(format!(
                "--shard auto read {}={index}; it needs --shards N, the number of shards",
                source.index
            ))
        }
    };
    let last = count + source.first;
    if count == 0 || index < source.first || index >= last {
        return Err(format!(
            "{}={index} is not one of {count} shards (it counts from {} to {})",
            source.index,
            source.first,
            last.saturating_sub(1)
        ));
    }
    Ok(Shard { index: index - source.first + 1, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    fn auto(shards: Option<u64>, vars: &[(&str, &str)]) -> Result<Shard, String> {
        resolve(Some(ShardArg::Auto), shards, env(vars)).map(|s| s.unwrap())
    }

    #[test]
    fn kubernetes_counts_from_zero_and_the_manual_variable_from_one() {
        assert_eq!(auto(Some(4), &[("JOB_COMPLETION_INDEX", "0")]), Ok(Shard { index: 1, count: 4 }));
        assert_eq!(auto(Some(4), &[("JOB_COMPLETION_INDEX", "3")]), Ok(Shard { index: 4, count: 4 }));
        assert!(auto(Some(4), &[("JOB_COMPLETION_INDEX", "4")]).unwrap_err().contains("from 0 to 3"));
        assert_eq!(auto(Some(4), &[("FAULTLINE_SHARD_INDEX", "4")]), Ok(Shard { index: 4, count: 4 }));
        assert!(auto(Some(4), &[("FAULTLINE_SHARD_INDEX", "0")]).is_err());
        // The explicit variable wins over the scheduler's.
        let both = [("JOB_COMPLETION_INDEX", "0"), ("FAULTLINE_SHARD_INDEX", "2")];
        assert_eq!(auto(Some(4), &both), Ok(Shard { index: 2, count: 4 }));
    }

    #[test]
    fn schedulers_that_give_a_total_must_agree_with_shards() {
        let gitlab = [("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "5")];
        assert_eq!(auto(None, &gitlab), Ok(Shard { index: 2, count: 5 }));
        assert_eq!(auto(Some(5), &gitlab), Ok(Shard { index: 2, count: 5 }));
        assert_eq!(auto(Some(4), &gitlab), Err("--shards 4 but CI_NODE_TOTAL=5".to_string()));
        assert!(auto(None, &[("JOB_COMPLETION_INDEX", "1")]).unwrap_err().contains("needs --shards N"));
    }

    #[test]
    fn no_index_and_bad_values_are_clear_errors() {
        let none = auto(Some(4), &[("JOB_COMPLETION_INDEX", " ")]).unwrap_err();
        assert!(none.starts_with("--shard auto found no shard index"), "{none}");
        assert!(auto(Some(4), &[("JOB_COMPLETION_INDEX", "x")]).unwrap_err().contains("not a number"));
        let fixed = ShardArg::Fixed(Shard { index: 1, count: 2 });
        assert!(resolve(Some(fixed), Some(2), env(&[])).is_err());
        assert!(resolve(None, Some(2), env(&[])).is_err());
        assert_eq!("auto".parse::<ShardArg>(), Ok(ShardArg::Auto));
        assert!("5/4".parse::<ShardArg>().unwrap_err().ends_with("or `auto`"));
    }
}
