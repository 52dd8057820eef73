//! Integration tests of the transactional checker (`faultline_checkers::txn`): hand-built
//! histories for each anomaly, property tests on synthetic histories, soundness against a
//! brute-force oracle, and the Elle corpus.

#[path = "txn/support.rs"]
mod support;

// The corpus locator of the checkers' own test binary, so both find the corpus the same way.
#[path = "checkers/support.rs"]
mod corpus_support;

#[path = "txn/append.rs"]
mod append;

#[path = "txn/register.rs"]
mod register;

#[path = "txn/props.rs"]
mod props;

#[path = "txn/corpus.rs"]
mod corpus;

#[path = "txn/oracle.rs"]
mod oracle;
