//! The counter's messages, client requests and responses.

use faultline_sim::{NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// One increment in the log. `epoch` is the primary's incarnation that wrote it: a later
/// epoch's entry wins over an earlier one at the same position (as a later term does in Raft).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub epoch: u64,
    /// The client request it came from; `None` for the no-op a primary writes at boot.
    pub id: Option<RequestId>,
    pub delta: i64,
}

/// Node-to-node messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Primary to backup: the entries from position `start`, after an entry of `prev_epoch`.
    Replicate { start: u64, prev_epoch: Option<u64>, entries: Vec<Entry>, commit: u64 },
    /// Backup to primary: my log matches yours for its first `len` entries, durably.
    Ack { len: u64 },
    /// A booting primary asks a backup for its log.
    Fetch,
    /// A backup's answer to `Fetch`: its whole log.
    Log { entries: Vec<Entry> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Incr { delta: i64 },
    Read,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Incremented,
    Value(i64),
    /// Only the primary serves this; it is `primary`.
    NotPrimary {
        primary: NodeId,
    },
    /// The primary is recovering and accepted nothing.
    Unavailable,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The primary's periodic retransmission.
    Tick,
    /// Group commit: sync the entries appended since the last flush, then replicate them.
    Flush,
}
