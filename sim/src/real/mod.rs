//! Real mode: the same protocol code as processes on 127.0.0.1, over TCP and real files.
//!
//! Built without `--cfg madsim`. Each node is a process (`faultline real-node`) running the
//! shared shell core on tokio, with a `RealDisk` in its own data directory and real `fsync`.
//! The cluster command starts the processes, drives a client workload over TCP, recording the
//! history with the same `System` logic the simulation uses, kills and restarts one node in the
//! middle, checks the history, and stops the cluster.
//!
//! Modules:
//! - `conn`: frames over TCP streams: the hello frame, reading with validation, writer tasks.
//! - `node`: one node process.
//! - `client`: a workload client over TCP.
//! - `cluster`: the orchestrator.

mod client;
mod cluster;
mod conn;
mod node;

pub use cluster::{run_cluster, ClusterArgs, ClusterReport};
pub use node::{run_node, NodeArgs};
