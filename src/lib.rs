//! faultline: deterministic simulation testing for distributed protocols.
//!
//! This crate is the facade and the CLI: it binds the systems to the harness and exposes them
//! by name.
//!
//! Modules:
//! - [`cli`]: the `faultline` command's subcommands.

pub mod cli;
