//! A sharded key-value store: Raft shard groups on a consistent-hashing ring, a replicated
//! configuration service, and live migration while clients read and write.
//!
//! The algorithm. Keys live on a ring (consistent hashing with virtual nodes, Karger et al.
//! 1997; `faultline_services::ring`) whose members are shard groups, each a Raft group
//! (`faultline_raft`, reused as a library with its own state machine). A configuration service,
//! itself a Raft group, holds the ring's history: configuration `e` names the groups of the
//! ring at epoch `e`, and each configuration differs from the one before by one group joining
//! or leaving (admin operations of the workload). Routers, one client-side node per workload
//! client, cache a configuration, route each request to the owner of its key, and stamp it with
//! their epoch.
//!
//! A group moves through the configurations one at a time, each step through its log, as in
//! the shard groups of MIT 6.824's ShardKV: its leader fetches configuration `e + 1` and
//! proposes it; when it applies, the keys the new ring gives to other groups leave the store,
//! frozen per destination with a copy of the client sessions, and the group awaits the groups
//! the ring moves keys in from. The source's leader pushes each frozen shipment to its
//! destination until acknowledged; the destination's leader proposes the import, serves the
//! keys from the moment it is applied, and acknowledges; the source then releases its copy. A
//! group moves on to `e + 2` only once nothing is awaited at `e + 1`. A request routed with
//! another epoch than the group's is refused (`StaleEpoch`) and the router fetches the latest
//! configuration; a key still arriving is refused (`Moving`) and retried. So a key is served
//! by one group per epoch, and a write applied before its key froze travels with it, sessions
//! and all, so a retry at the new owner is recognised.
//!
//! Deviations and simplifications: a group trusts an epoch-stamped route (it checks the epoch
//! and the keys in flight, not the hash of every key); configurations are read from any
//! configuration replica that has applied them (they never change once committed), not
//! through ReadIndex; shipments are whole (no chunking); a migration is never rolled back:
//! every shipment is pushed until acknowledged (a rollback is just the next configuration).
//!
//! Modules:
//! - [`msg`]: configurations, commands, answers, messages, timers, requests.
//! - [`config`]: the configuration service's state machine (the ring's history).
//! - [`machine`]: a shard group's state machine (keys, sessions, epoch, migrations).
//! - [`topology`]: which node is what.
//! - [`node`]: `ShardedNode`, the enum over the three kinds.
//! - [`config_node`], [`shard`], [`router`]: the three kinds.
//! - [`bugs`]: the planted bugs.
//! - [`observe`]: what a run observed (invariants, statuses, events).
//! - [`system`]: the store bound to the harness.

#![forbid(unsafe_code)]

pub mod bugs;
pub mod config;
pub mod config_node;
pub mod machine;
pub mod msg;
pub mod node;
pub mod observe;
pub mod router;
pub mod shard;
pub mod system;
pub mod topology;

pub use bugs::ShardedBug;
pub use node::ShardedNode;
pub use system::ShardedSystem;
