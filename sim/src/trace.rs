//! The trace hash: a digest of everything that happened in a run, in order.
//!
//! Every delivery, timer firing, fault and client operation feeds a stable hash (xxh3, a fixed
//! algorithm, so hashes mean the same across builds and machines). The same seed and options
//! must give the same hash, always: that is how determinism is tested, and how a reproduced
//! failure is known to be the same failure.

use xxhash_rust::xxh3::Xxh3;

/// What kind of event is hashed; part of every record.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TraceKind {
    /// A message or frame delivered to a node or client.
    Deliver = 1,
    /// A node's timer fired.
    Timer = 2,
    /// A fault: a schedule event, a crash or a partition point.
    Fault = 3,
    /// A client invoked an operation.
    Invoke = 4,
    /// A client's operation completed (ok, failed or unknown).
    Complete = 5,
    /// A node started (first boot or restart).
    Start = 6,
    /// A node rejected a frame (corrupt, malformed or from the wrong sender).
    Reject = 7,
}

/// A running hash of a run's events.
pub struct Trace {
    hasher: Xxh3,
    events: u64,
}

impl Default for Trace {
    fn default() -> Self {
        Trace { hasher: Xxh3::new(), events: 0 }
    }
}

impl Trace {
    /// Records one event: its kind, simulated time, the node or client it happened at, and a
    /// digest of its content.
    pub fn record(&mut self, kind: TraceKind, time_ns: u64, at: u64, digest: u64) {
        let mut buf = [0u8; 25];
        buf[0] = kind as u8;
        buf[1..9].copy_from_slice(&time_ns.to_le_bytes());
        buf[9..17].copy_from_slice(&at.to_le_bytes());
        buf[17..25].copy_from_slice(&digest.to_le_bytes());
        self.hasher.update(&buf);
        self.events += 1;
    }

    /// The digest of every event recorded so far.
    pub fn hash(&self) -> u64 {
        self.hasher.digest()
    }

    /// Events recorded so far.
    pub fn events(&self) -> u64 {
        self.events
    }
}

/// A stable digest of bytes.
pub fn digest(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}
