//! What two-phase commit keeps on disk, and the halt policy for disk errors.
//!
//! A participant's log holds PREPARED (the transaction's ops, its participants and its reads'
//! results: everything needed to vote again and to commit after a crash), COMMITTED and ABORTED
//! records. PREPARED and COMMITTED are synced before the vote or acknowledgement that depends on
//! them leaves; ABORTED is synced only when a peer is told about it (presumed abort needs no
//! forced abort record: a participant that lost it is in doubt again and learns the abort again).
//!
//! The coordinator's log holds COMMIT decisions (with the client's request and the reads'
//! results, so that a retried request is answered after a crash) and END records once every
//! participant acknowledged. Aborts are not logged for the participants: a transaction the
//! coordinator has no COMMIT for is aborted (presumed abort, Mohan, Lindsay and Obermarck, 1986).
//! Only the client's answer to an aborted write is (ABORTED, naming the request, synced before
//! the answer leaves), so that a retry after a crash gets it rather than running again. Its epoch, raised
//! at every boot, is a sealed file of its own, so transaction ids are never reused.
//!
//! Both logs keep their intact prefix at recovery: nodes of this system are single copies
//! whose synced data no fault destroys, so damage can only be a tail that was never synced, and
//! nothing after it was acknowledged.

use crate::msg::TxnId;
use faultline_services::bank::{ShardOp, ShardResult};
use faultline_sim::disk::{DiskError, SealedFile, Storage, TypedLog};
use faultline_sim::{Context, Node, NodeId, RequestId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The participant's log file.
pub const PARTICIPANT_LOG: &str = "participant.log";
/// The coordinator's log file.
pub const COORDINATOR_LOG: &str = "coordinator.log";
const EPOCH: SealedFile<u64> = SealedFile::new("coordinator.epoch");

/// A participant's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartRecord {
    Prepared { txn: TxnId, ops: Vec<ShardOp>, participants: Vec<NodeId>, results: Vec<ShardResult> },
    Committed { txn: TxnId },
    Aborted { txn: TxnId },
}

/// A coordinator's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoordRecord {
    Commit {
        txn: TxnId,
        request: RequestId,
        participants: Vec<NodeId>,
        results: BTreeMap<u32, Vec<ShardResult>>,
    },
    End {
        txn: TxnId,
    },
    /// The request's transaction aborted and the client is told so: a retry gets that answer.
    Aborted {
        request: RequestId,
    },
}

/// Opens a log and keeps its intact prefix, cutting off (durably) whatever follows a damaged
/// record.
pub fn open<R: Serialize + DeserializeOwned + Clone>(
    disk: &mut dyn Storage,
    file: &str,
) -> Result<(TypedLog<R>, Vec<R>), DiskError> {
    let (mut log, recovered) = TypedLog::open(disk, file)?;
    let records: Vec<R> = recovered.intact_prefix().cloned().collect();
    if (records.len() as u64) < log.len() {
        log.truncate(disk, records.len() as u64)?;
        log.sync(disk)?;
    }
    Ok((log, records))
}

/// Raises the coordinator's epoch above the stored one and above `floor` (the highest epoch in
/// its log), durably, and returns it.
pub fn next_epoch(disk: &mut dyn Storage, floor: u64) -> Result<u64, DiskError> {
    let stored = EPOCH.read(disk)?.intact().unwrap_or(0);
    let epoch = stored.max(floor) + 1;
    EPOCH.replace(disk, &epoch)?;
    Ok(epoch)
}

/// Why a handler stopped early: a disk error. `Halted` when the error requires a halt
/// (`DiskError::requires_halt`), which the handler has asked for; `Abandoned` otherwise (a full
/// disk): memory still matches the disk, and the step answers nothing it did not store.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    Halted,
    Abandoned,
}

/// Stops the step on a disk error, halting the node when the error requires it.
pub fn checked<T, N: Node>(result: Result<T, DiskError>, cx: &mut Context<'_, N>) -> Result<T, Stop> {
    result.map_err(|e| {
        if e.requires_halt() {
            cx.halt(format!("disk error: {e}"));
            return Stop::Halted;
        }
        Stop::Abandoned
    })
}
