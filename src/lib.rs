//! faultline: deterministic simulation testing for distributed protocols.
//!
//! This crate is the facade and the command line: it binds the built-in systems to the harness
//! and exposes them by name.
//!
//! Modules:
//! - [`registry`]: the built-in systems and their planted bugs, by name.
//! - [`cli`]: the `faultline` command's subcommands, one module each.
//! - `fuzz` (simulation builds): the `system` fuzz target's entry: picks the system by name.

pub mod cli;
#[cfg(madsim)]
pub mod fuzz;
pub mod registry;
