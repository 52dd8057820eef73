//! Raft tests: handler unit tests that assert exact command vectors, and small multi-node
//! scenarios on a deterministic in-test network. One binary for the whole area (fewer link
//! steps); each module is one topic.

mod cluster;

mod bugs;
mod chaos;
mod disk_faults;
mod election;
mod handlers;
mod membership;
mod reads;
mod recovery;
mod replication;
mod sessions;
mod snapshots;
