//! Every test of the sharded store, in one binary (`cargo test -p faultline-sharded`); each
//! module is one topic.

#[cfg(madsim)]
mod scenarios;
