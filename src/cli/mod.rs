//! The `faultline` command line: one module per subcommand, each with a clap `Args` struct and
//! a `run` function that returns the process exit code.
//!
//! Modules:
//! - [`check`]: `faultline check`, linearizability of recorded histories.

pub mod check;
