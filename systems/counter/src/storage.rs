//! The counter's durable state: the entry log (a `RecordLog`) and the primary's epoch.

use crate::msg::Entry;
use faultline_sim::disk::{DiskError, RecordLog, RecordSlot, Storage};

const LOG: &str = "counter.log";
const EPOCH: &str = "counter.epoch";

/// The log as recovered: the intact prefix, and whether anything after it was damaged.
pub struct Recovered {
    pub log: RecordLog,
    pub entries: Vec<Entry>,
}

/// Opens the log and keeps its intact prefix: entries after the first damaged record are cut
/// off (durably) so the node never serves or acknowledges what it cannot read; peers supply
/// them again.
pub fn recover(disk: &mut dyn Storage) -> Result<Recovered, DiskError> {
    let (mut log, recovered) = RecordLog::open(disk, LOG)?;
    let mut entries = Vec::new();
    for slot in &recovered.slots {
        let RecordSlot::Intact { payload, .. } = slot else { break };
        let Ok(entry) = postcard::from_bytes::<Entry>(payload) else { break };
        entries.push(entry);
    }
    if (entries.len() as u64) < log.len() {
        log.truncate(disk, entries.len() as u64)?;
        log.sync(disk)?;
    }
    Ok(Recovered { log, entries })
}

pub fn append(log: &mut RecordLog, disk: &mut dyn Storage, entry: &Entry) -> Result<(), DiskError> {
    let payload = postcard::to_allocvec(entry).expect("entries encode");
    log.append(disk, &payload).map(|_| ())
}

/// Replaces the whole log durably (a primary adopting the most complete log at boot).
pub fn rewrite(disk: &mut dyn Storage, entries: &[Entry]) -> Result<RecordLog, DiskError> {
    let payloads: Vec<Vec<u8>> = entries.iter().map(|e| postcard::to_allocvec(e).expect("encode")).collect();
    RecordLog::rewrite(disk, LOG, payloads.iter().map(Vec::as_slice))
}

/// Reads and increments the primary's epoch, durably. The epoch file is only a hint above the
/// log's own highest epoch (`floor`): a damaged or unreadable file is ignored, which is safe
/// because an epoch that wrote nothing to the log can be reused.
pub fn next_epoch(disk: &mut dyn Storage, floor: u64) -> Result<u64, DiskError> {
    let stored = match disk.read_all(EPOCH) {
        Ok(bytes) => bytes.and_then(|b| postcard::from_bytes::<(u64, u32)>(&b).ok()),
        Err(DiskError::ReadError { .. }) => None,
        Err(e) => return Err(e),
    };
    let stored = stored.filter(|(e, crc)| *crc == crc32(*e)).map_or(0, |(e, _)| e);
    let epoch = stored.max(floor) + 1;
    disk.replace_durably(EPOCH, &postcard::to_allocvec(&(epoch, crc32(epoch))).expect("encode"))?;
    Ok(epoch)
}

/// A checksum of the value, so a bit flip in the epoch file is detected rather than trusted.
fn crc32(epoch: u64) -> u32 {
    crc32c::crc32c(&epoch.to_le_bytes())
}
