//! faultline: deterministic simulation testing for distributed protocols.
//!
//! This crate is the facade and the command line: it binds the built-in systems to the harness
//! and exposes them by name.
//!
//! Modules:
//! - [`registry`]: the built-in systems and their planted bugs, by name.
//! - [`cli`]: the `faultline` command's subcommands, one module each.
//! - `fuzzing` (simulation builds): the body of the `raft` fuzz target.

pub mod cli;
#[cfg(madsim)]
pub mod fuzzing;
pub mod registry;
