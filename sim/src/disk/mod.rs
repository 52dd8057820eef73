//! A node's disk: the `Storage` trait, its backends, and a checksummed log on top.
//!
//! The API sits at the level a write-ahead log needs: named files with reads, writes at an
//! offset, appends, truncation, sync and atomic rename. Durability follows POSIX with the
//! directory folded in: writes, truncations, creations, renames and removals are volatile until
//! a `sync` of a file, which makes that file's contents and the whole namespace durable (as an
//! `fsync` of the file and of its directory would). A crash keeps what was synced; what was not
//! may be lost, in whole or in part, as the backend's fault model says.
//!
//! Modules:
//! - [`mem`]: `MemDisk`, an in-memory disk without faults (unit tests, the oracle of disk tests).
//! - [`log`]: `RecordLog`, append-only checksummed records with recovery that reports damage.

pub mod log;
pub mod mem;

pub use log::{RecordLog, RecordSlot, Recovered};
pub use mem::MemDisk;

/// Why a disk call failed. Every variant is something a correct protocol must survive.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiskError {
    #[error("no such file: {0}")]
    NotFound(String),
    /// The data could not be read (a latent sector error). Rewriting the range may cure it.
    #[error("read error in {file} at offset {offset}")]
    ReadError { file: String, offset: u64 },
    /// `sync` failed. Unsynced writes to the file may have been lost; the only safe reaction is
    /// to treat the node's volatile view of the file as unknown (PostgreSQL's "fsyncgate").
    #[error("sync of {0} failed")]
    SyncFailed(String),
    /// No space for the write; nothing of it was written.
    #[error("disk full writing {0}")]
    Full(String),
    /// An I/O error of the real backend.
    #[error("I/O error on {file}: {reason}")]
    Io { file: String, reason: String },
}

/// A node's durable storage. See the module documentation for durability.
pub trait Storage {
    /// Up to `len` bytes of `file` from `offset`; fewer if the file ends first.
    fn read(&mut self, file: &str, offset: u64, len: usize) -> Result<Vec<u8>, DiskError>;

    /// Writes `data` at `offset`, creating the file and zero-filling any gap.
    fn write(&mut self, file: &str, offset: u64, data: &[u8]) -> Result<(), DiskError>;

    /// Appends `data`, creating the file; returns the offset it was written at.
    fn append(&mut self, file: &str, data: &[u8]) -> Result<u64, DiskError>;

    /// The file's length, or `None` when it does not exist.
    fn len(&mut self, file: &str) -> Result<Option<u64>, DiskError>;

    /// Cuts (or zero-extends) the file to `len` bytes.
    fn truncate(&mut self, file: &str, len: u64) -> Result<(), DiskError>;

    /// Makes the file's contents and the namespace durable.
    fn sync(&mut self, file: &str) -> Result<(), DiskError>;

    /// Atomically replaces `to` with `from` (durable after the next `sync`).
    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError>;

    /// Removes the file; removing a missing file is not an error.
    fn remove(&mut self, file: &str) -> Result<(), DiskError>;

    /// The names of existing files, sorted.
    fn list(&mut self) -> Result<Vec<String>, DiskError>;

    /// The whole file, or `None` when it does not exist.
    fn read_all(&mut self, file: &str) -> Result<Option<Vec<u8>>, DiskError> {
        match self.len(file)? {
            None => Ok(None),
            Some(len) => self.read(file, 0, len as usize).map(Some),
        }
    }

    /// Replaces the file's contents durably and atomically: write a temporary, sync it, rename
    /// it over `file`, sync again. A crash leaves either the old or the new contents.
    fn replace_durably(&mut self, file: &str, data: &[u8]) -> Result<(), DiskError> {
        let tmp = format!("{file}.tmp");
        self.remove(&tmp)?;
        self.write(&tmp, 0, data)?;
        self.sync(&tmp)?;
        self.rename(&tmp, file)?;
        self.sync(file)
    }
}
