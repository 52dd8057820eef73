//! Integration tests of the checkers crate, in one binary (one link step).
//!
//! - `oracle`: the fast checker agrees with the brute-force oracle on thousands of random small
//!   histories of every model.
//! - `corpus`: every history of the shared corpus gets its known answer.
//! - `browser`: the HTML timeline, rendered by headless Chromium.
//! - `fuzz_corpus`: every fuzz target's body over its checked-in corpus.
//! - `planted`: a planted anomaly per model is explained; ill-formed histories are errors.
//! - `jepsen`: Jepsen and Knossos conventions (nil reads, mutex, multi-register, independent
//!   keys, history details) on hand-written histories.

mod browser;
mod corpus;
mod fuzz_corpus;
mod jepsen;
mod oracle;
mod planted;
mod support;
