//! A node's disk: the `Storage` trait, its backends, and a checksummed log on top.
//!
//! The API sits at the level a write-ahead log needs: named files with reads, writes at an
//! offset, appends, truncation, sync and atomic rename. Durability follows POSIX with the
//! directory folded in: writes, truncations, creations, renames and removals are volatile until
//! a `sync` of a file, which makes that file's contents and the whole namespace durable (as an
//! `fsync` of the file and of its directory would). A crash keeps what was synced; what was not
//! may be lost, in whole or in part, as the backend's fault model says.
//!
//! File names are flat: no `/`, `\` or NUL, not empty, not `.` or `..`, at most 255 bytes.
//! Every backend rejects other names the same way ([`check_name`]), so a name that would escape
//! the real data directory fails in simulation first.
//!
//! Modules:
//! - [`mem`]: `MemDisk`, an in-memory disk without faults: the one implementation of the
//!   durability semantics (unit tests use it; `SimDisk` adds faults on top of it).
//! - [`faults`]: `DiskFaults`, the plain-data disk fault options, the fault counters, and the
//!   placement of data-destroying faults on a minority of nodes.
//! - [`sim`]: `SimDisk`, one node's simulated disk with every fault of the fault model.
//! - `crash` (private): what a power cut keeps of each file's unsynced changes, and torn writes.
//! - [`real`]: `RealDisk`, real files in a data directory with real `fsync`.
//! - [`log`]: `RecordLog`, append-only checksummed records with recovery that reports damage.
//! - [`typed_log`]: `TypedLog`, a `RecordLog` of serde records.
//! - [`sealed`]: `SealedFile`, one checksummed serde value in a file replaced whole.
//!
//! Protocols keep their durable state with the last two, and decide whether a disk error stops
//! the node with [`DiskError::requires_halt`], the one halt policy of every system.

mod crash;
pub mod faults;
pub mod log;
pub mod mem;
pub mod real;
pub mod sealed;
pub mod sim;
pub mod typed_log;

pub use faults::{place_corruption, Corruption, CrashKeeps, DiskFaultCounts, DiskFaults};
pub use log::{RecordLog, RecordSlot, Recovered, TornTail};
pub use mem::MemDisk;
pub use real::RealDisk;
pub use sealed::{Damage, Sealed, SealedFile};
pub use sim::{BitFlip, CrashSummary, LatentSectors, SimDisk};
pub use typed_log::TypedLog;

/// Why a disk call failed. Every variant is something a correct protocol must survive.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiskError {
    /// The file does not exist (never written, or gone).
    #[error("no such file: {0}")]
    NotFound(String),
    /// The data could not be read (a latent sector error). Rewriting the range may cure it.
    #[error("read error in {file} at offset {offset}")]
    ReadError {
        /// The file read.
        file: String,
        /// Byte offset in the file of the unreadable data.
        offset: u64,
    },
    /// `sync` failed. Unsynced writes to the file may have been lost; the only safe reaction is
    /// to treat the node's volatile view of the file as unknown (PostgreSQL's "fsyncgate").
    #[error("sync of {0} failed")]
    SyncFailed(String),
    /// No space for the write; nothing of it was written.
    #[error("disk full writing {0}")]
    Full(String),
    /// An I/O error of the real backend.
    #[error("I/O error on {file}: {reason}")]
    Io {
        /// The file the call was on.
        file: String,
        /// What went wrong, as text (the operating system's error, or why the path is unusable).
        reason: String,
    },
}

impl DiskError {
    /// Whether a node that got this error must halt: stop at once, with nothing of the step
    /// leaving it, and restart to recover from what is really on its disk
    /// ([`crate::Context::halt`]). Every system follows this one policy:
    ///
    /// - `SyncFailed`: halt. The file's unsynced writes may be gone while the node's memory says
    ///   they are written, and a later sync that succeeds does not bring them back (PostgreSQL's
    ///   "fsyncgate"); only a restart learns what is really on disk.
    /// - `Io` (real backend, an error of unknown kind) and `NotFound` (a file the node wrote is
    ///   gone): halt, for the same reason: the node's view of its disk is no longer known good.
    /// - `Full`: no halt. Nothing of the write reached the disk, so memory and disk still agree;
    ///   the node abandons the step (answering nothing it did not store) and may retry later.
    /// - `ReadError`: no halt. A failed read changes nothing; the node abandons the step or
    ///   treats the data as damaged (a latent sector error is cured by rewriting it).
    pub fn requires_halt(&self) -> bool {
        match self {
            DiskError::SyncFailed(_) | DiskError::Io { .. } | DiskError::NotFound(_) => true,
            DiskError::Full(_) | DiskError::ReadError { .. } => false,
        }
    }
}

/// The longest file name any backend accepts (the common file-system limit).
pub const NAME_BYTES_MAX: usize = 255;

/// Rejects a name that is not a plain file name inside the disk's one directory.
pub fn check_name(file: &str) -> Result<(), DiskError> {
    let escapes = file.is_empty() || file == "." || file == ".." || file.contains(['/', '\\', '\0']);
    if escapes || file.len() > NAME_BYTES_MAX {
        return Err(DiskError::Io {
            file: file.to_string(),
            reason: "invalid file name: names are flat (not empty, no '/', '\\' or NUL, not '.' or '..', \
                     at most 255 bytes)"
                .to_string(),
        });
    }
    Ok(())
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
