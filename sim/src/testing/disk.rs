//! `TestDisk`: a `MemDisk` whose failures a test switches on and off.
//!
//! Scripted tests need one disk error at one precise moment (the sync of this append fails; the
//! disk is full while this request arrives), which a seeded `SimDisk` gives only by chance. The
//! switches stay as set until switched back, and every failure is the one the fault model
//! describes: a failed sync loses the file's unsynced writes (as `SimDisk`'s does), a full disk
//! writes nothing.

use crate::disk::{DiskError, MemDisk, Storage};

/// An in-memory disk with switchable failures; durability is [`MemDisk`]'s.
#[derive(Clone, Debug, Default)]
pub struct TestDisk {
    mem: MemDisk,
    failing_syncs: bool,
    full: bool,
}

impl TestDisk {
    /// An empty disk with no failure switched on.
    pub fn new() -> Self {
        TestDisk::default()
    }

    /// Loses every unsynced write, creation, rename and removal, as a power cut would.
    pub fn crash(&mut self) {
        self.mem.crash();
    }

    /// While on, every `sync` fails with `SyncFailed` and drops the file's unsynced writes.
    pub fn set_failing_syncs(&mut self, on: bool) {
        self.failing_syncs = on;
    }

    /// While on, every write and append fails with `Full` and writes nothing.
    pub fn set_full(&mut self, on: bool) {
        self.full = on;
    }

    fn admit(&self, file: &str) -> Result<(), DiskError> {
        match self.full {
            true => Err(DiskError::Full(file.to_string())),
            false => Ok(()),
        }
    }
}

impl Storage for TestDisk {
    fn read(&mut self, file: &str, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
        self.mem.read(file, offset, len)
    }

    fn write(&mut self, file: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        self.admit(file)?;
        self.mem.write(file, offset, data)
    }

    fn append(&mut self, file: &str, data: &[u8]) -> Result<u64, DiskError> {
        self.admit(file)?;
        self.mem.append(file, data)
    }

    fn len(&mut self, file: &str) -> Result<Option<u64>, DiskError> {
        self.mem.len(file)
    }

    fn truncate(&mut self, file: &str, len: u64) -> Result<(), DiskError> {
        self.mem.truncate(file, len)
    }

    fn sync(&mut self, file: &str) -> Result<(), DiskError> {
        if self.failing_syncs {
            self.mem.discard_pending(file)?;
            return Err(DiskError::SyncFailed(file.to_string()));
        }
        self.mem.sync(file)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        self.mem.rename(from, to)
    }

    fn remove(&mut self, file: &str) -> Result<(), DiskError> {
        self.mem.remove(file)
    }

    fn list(&mut self) -> Result<Vec<String>, DiskError> {
        self.mem.list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_sync_loses_the_files_unsynced_writes_and_a_full_disk_writes_nothing() {
        let mut disk = TestDisk::new();
        disk.write("f", 0, b"synced").unwrap();
        disk.sync("f").unwrap();
        disk.append("f", b"+lost").unwrap();
        disk.set_failing_syncs(true);
        assert_eq!(disk.sync("f"), Err(DiskError::SyncFailed("f".into())));
        assert_eq!(disk.read_all("f").unwrap().unwrap(), b"synced");
        disk.set_failing_syncs(false);
        disk.set_full(true);
        assert_eq!(disk.append("f", b"+no room"), Err(DiskError::Full("f".into())));
        disk.set_full(false);
        disk.crash();
        assert_eq!(disk.read_all("f").unwrap().unwrap(), b"synced");
    }
}
