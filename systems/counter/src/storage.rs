//! The counter's durable state: the entry log (a `TypedLog`) and the primary's epoch (a
//! `SealedFile`).

use crate::msg::Entry;
use faultline_sim::disk::{DiskError, SealedFile, Storage, TypedLog};

const LOG: &str = "counter.log";
const EPOCH: SealedFile<u64> = SealedFile::new("counter.epoch");

/// The log as recovered: its intact prefix.
pub struct Recovered {
    pub log: TypedLog<Entry>,
    pub entries: Vec<Entry>,
}

/// Opens the log and keeps its intact prefix: entries after the first damaged record are cut
/// off (durably) so the node never serves or acknowledges what it cannot read; peers supply
/// them again.
pub fn recover(disk: &mut dyn Storage) -> Result<Recovered, DiskError> {
    let (mut log, recovered) = TypedLog::open(disk, LOG)?;
    let entries: Vec<Entry> = recovered.intact_prefix().cloned().collect();
    if (entries.len() as u64) < log.len() {
        log.truncate(disk, entries.len() as u64)?;
        log.sync(disk)?;
    }
    Ok(Recovered { log, entries })
}

/// Replaces the whole log durably (a primary adopting the most complete log at boot).
pub fn rewrite(disk: &mut dyn Storage, entries: &[Entry]) -> Result<TypedLog<Entry>, DiskError> {
    TypedLog::rewrite(disk, LOG, entries)
}

/// Reads and increments the primary's epoch, durably. The epoch file is only a hint above the
/// log's own highest epoch (`floor`): a damaged file is ignored, which is safe because an epoch
/// that wrote nothing to the log can be reused.
pub fn next_epoch(disk: &mut dyn Storage, floor: u64) -> Result<u64, DiskError> {
    let stored = EPOCH.read(disk)?.intact().unwrap_or(0);
    let epoch = stored.max(floor) + 1;
    EPOCH.replace(disk, &epoch)?;
    Ok(epoch)
}
