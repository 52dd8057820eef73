//! Two-phase commit over a sharded bank.
//!
//! Accounts and list keys are spread over participant shards, each a durable node with a
//! checksummed log. A client sends each operation (a transfer, a read of every balance, a
//! list-append transaction) to the coordinator, which runs it as one distributed transaction:
//!
//! 1. **Prepare.** Each participant of the transaction takes the locks its part needs (strict
//!    two-phase locking: shared for reads, exclusive for writes, held until the outcome; wait-die
//!    against deadlock), executes its part, writes PREPARED and syncs it, then votes yes; or it
//!    votes no (an overdraft, a lock held by an older transaction).
//! 2. **Commit.** With every vote yes, the coordinator writes COMMIT and syncs it before it tells
//!    anyone; it answers the client, sends the decision and resends it until every participant
//!    acknowledged (each syncs COMMIT before acknowledging), and only then forgets it. Otherwise
//!    it aborts without a log record for the participants: presumed abort (Mohan, Lindsay and
//!    Obermarck, "Transaction Management in the R* Distributed Database Management System",
//!    TODS 1986): whatever it has no COMMIT for is aborted, so aborts need neither a forced
//!    record nor acknowledgements.
//! 3. **In doubt.** A participant that voted yes never decides on its own. When the decision is
//!    late it asks the coordinator, then its peers (the cooperative termination protocol of
//!    Bernstein, Hadzilacos and Goodman, "Concurrency Control and Recovery in Database Systems",
//!    1987, section 7.4): a peer that knows tells, a peer that has not voted aborts and tells, a
//!    peer in doubt too cannot help. With the coordinator unreachable and every participant
//!    prepared, the transaction blocks, holding its locks: the price of two-phase commit.
//!
//! Both kinds of node recover from their logs after a crash: prepared transactions take their
//! locks again and ask for their outcome; the coordinator raises its epoch (transaction ids are
//! never reused) and resends every commit not yet acknowledged.
//!
//! Deviations from the textbook protocol: read-only participants vote and hold their shared
//! locks like the others (the read-only optimisation that releases them at the vote is unsound
//! for reads spanning several shards without more care); a prepare that waits too long for locks
//! gives up and votes no; the client's answer to an aborted write is synced before it is sent
//! (exactly-once answers: otherwise a retry reaching a coordinator that forgot the abort runs
//! the request again and may commit it); each participant is a single copy, so faults that destroy synced data
//! are out of scope (a participant that lost its disk could not repair it).
//!
//! Modules:
//! - [`msg`]: messages, requests, responses, timers, transaction ids.
//! - [`coordinator`]: the coordinator: votes, decisions, presumed abort, recovery.
//! - [`participant`]: a shard: prepare, commit, abort, in doubt, cooperative termination.
//! - [`locks`]: strict two-phase locking with wait-die.
//! - [`storage`]: the logs, the epoch, the halt policy.
//! - [`journal`]: the facts and event counts nodes expose to the observer.
//! - [`node`]: one `Node` type over both kinds.
//! - [`bugs`]: the planted bugs.
//! - [`system`]: the system bound to the harness (workload, routing, observation, checks).

#![forbid(unsafe_code)]

pub mod bugs;
pub mod coordinator;
pub mod journal;
pub mod locks;
pub mod msg;
pub mod node;
pub mod participant;
pub mod storage;
pub mod system;

pub use bugs::TwoPcBug;
pub use node::TwoPcNode;
pub use system::TwoPcSystem;
