//! Integration tests of the checkers crate, in one binary (one link step).
//!
//! - `oracle`: the fast checker agrees with the brute-force oracle on thousands of random small
//!   histories of every model.

mod oracle;
