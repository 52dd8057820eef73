//! The harness: one seed becomes a whole simulated run (simulation builds only).
//!
//! [`run`] builds a madsim runtime from the seed, starts the servers (each running the generic
//! shell around the system's `Node`) and the clients (each driving the workload and recording
//! the history), executes the fault schedule during the safety phase, heals and checks liveness,
//! then runs the system's checks and returns a [`crate::report::RunReport`].
//!
//! Modules:
//! - `world`: the run's shared state (network, disks, clocks, history, counters, trace).
//! - `mailbox`: receiving frames and holding them until their delivery time.
//! - `server`: the generic shell that runs a `Node`.
//! - `client`: a workload client: invoke, retry, record.
//! - `supervisor`: the nemesis, the phases and the end of the run.

mod client;
mod mailbox;
mod server;
mod supervisor;
mod world;

pub use supervisor::{run, RunSpec};
