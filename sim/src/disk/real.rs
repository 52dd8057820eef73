//! `RealDisk`: the real-mode backend, files in one data directory with real `fsync`.
//!
//! It keeps the durability contract of [`super`]: `sync` calls `fsync` on the file
//! (`File::sync_all`) and, when files were created, renamed or removed since the last time, on
//! the directory too, so the namespace is durable after the sync as the trait promises. It uses
//! only `std`, so it builds with and without `--cfg madsim` (madsim does not intercept `std::fs`).
//!
//! Names go through [`check_name`] before any path is built, so no name can reach outside the
//! data directory.

use super::{check_name, DiskError, Storage};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A node's disk on real files.
#[derive(Debug)]
pub struct RealDisk {
    dir: PathBuf,
    /// Open handles, so appends do not reopen the file each time.
    handles: BTreeMap<String, File>,
    /// The namespace changed since the directory was last synced.
    dir_dirty: bool,
}

impl RealDisk {
    /// Opens the data directory, creating it (and its parents) when missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<RealDisk, DiskError> {
        let dir = dir.into();
        let shown = dir.display().to_string();
        fs::create_dir_all(&dir).map_err(|e| io_error(&shown, e))?;
        if !dir.is_dir() {
            return Err(DiskError::Io { file: shown, reason: "not a directory".to_string() });
        }
        Ok(RealDisk { dir, handles: BTreeMap::new(), dir_dirty: true })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, file: &str) -> Result<PathBuf, DiskError> {
        check_name(file)?;
        Ok(self.dir.join(file))
    }

    /// The open handle of an existing file.
    fn handle(&mut self, file: &str) -> Result<&mut File, DiskError> {
        if !self.handles.contains_key(file) {
            let path = self.path(file)?;
            let handle =
                OpenOptions::new().read(true).write(true).open(path).map_err(|e| io_error(file, e))?;
            self.handles.insert(file.to_string(), handle);
        }
        Ok(self.handles.get_mut(file).expect("handle just opened"))
    }

    /// The open handle of a file, created when missing.
    fn handle_or_create(&mut self, file: &str) -> Result<&mut File, DiskError> {
        match self.handle(file) {
            Err(DiskError::NotFound(_)) => {}
            Err(e) => return Err(e),
            Ok(_) => return Ok(self.handles.get_mut(file).expect("handle exists")),
        }
        let path = self.path(file)?;
        let handle = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path);
        self.handles.insert(file.to_string(), handle.map_err(|e| io_error(file, e))?);
        self.dir_dirty = true;
        Ok(self.handles.get_mut(file).expect("handle just created"))
    }

    /// `fsync` of the directory, so creations, renames and removals are durable.
    fn sync_dir(&mut self, file: &str) -> Result<(), DiskError> {
        if !self.dir_dirty {
            return Ok(());
        }
        // Only Unix can open a directory to fsync it; elsewhere the file sync must do.
        #[cfg(unix)]
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|_| DiskError::SyncFailed(file.to_string()))?;
        let _ = file;
        self.dir_dirty = false;
        Ok(())
    }
}

fn io_error(file: &str, e: io::Error) -> DiskError {
    match e.kind() {
        io::ErrorKind::NotFound => DiskError::NotFound(file.to_string()),
        io::ErrorKind::StorageFull => DiskError::Full(file.to_string()),
        _ => DiskError::Io { file: file.to_string(), reason: e.to_string() },
    }
}

impl Storage for RealDisk {
    fn read(&mut self, file: &str, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
        let handle = self.handle(file)?;
        let size = handle.metadata().map_err(|e| io_error(file, e))?.len();
        let len = len.min(size.saturating_sub(offset) as usize);
        let mut data = vec![0u8; len];
        handle.seek(SeekFrom::Start(offset)).map_err(|e| io_error(file, e))?;
        handle.read_exact(&mut data).map_err(|e| io_error(file, e))?;
        Ok(data)
    }

    fn write(&mut self, file: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        let handle = self.handle_or_create(file)?;
        handle.seek(SeekFrom::Start(offset)).map_err(|e| io_error(file, e))?;
        handle.write_all(data).map_err(|e| io_error(file, e))
    }

    fn append(&mut self, file: &str, data: &[u8]) -> Result<u64, DiskError> {
        let handle = self.handle_or_create(file)?;
        let offset = handle.metadata().map_err(|e| io_error(file, e))?.len();
        self.write(file, offset, data)?;
        Ok(offset)
    }

    fn len(&mut self, file: &str) -> Result<Option<u64>, DiskError> {
        match fs::metadata(self.path(file)?) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(file, e)),
        }
    }

    fn truncate(&mut self, file: &str, len: u64) -> Result<(), DiskError> {
        self.handle(file)?.set_len(len).map_err(|e| io_error(file, e))
    }

    fn sync(&mut self, file: &str) -> Result<(), DiskError> {
        self.handle(file)?.sync_all().map_err(|_| DiskError::SyncFailed(file.to_string()))?;
        self.sync_dir(file)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        let (src, dst) = (self.path(from)?, self.path(to)?);
        fs::rename(src, dst).map_err(|e| io_error(from, e))?;
        self.handles.remove(to);
        if let Some(handle) = self.handles.remove(from) {
            self.handles.insert(to.to_string(), handle);
        }
        self.dir_dirty = true;
        Ok(())
    }

    fn remove(&mut self, file: &str) -> Result<(), DiskError> {
        let path = self.path(file)?;
        self.handles.remove(file);
        match fs::remove_file(path) {
            Ok(()) => {
                self.dir_dirty = true;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(file, e)),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, DiskError> {
        let shown = self.dir.display().to_string();
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io_error(&shown, e))? {
            let entry = entry.map_err(|e| io_error(&shown, e))?;
            let is_file = entry.file_type().map_err(|e| io_error(&shown, e))?.is_file();
            // Files this API could not have made (bad names) are not the node's.
            match entry.file_name().into_string() {
                Ok(name) if is_file && check_name(&name).is_ok() => names.push(name),
                _ => {}
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reads_and_renames_real_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = RealDisk::open(tmp.path()).unwrap();
        assert_eq!(d.append("wal", b"abc").unwrap(), 0);
        assert_eq!(d.append("wal", b"def").unwrap(), 3);
        d.write("wal", 8, b"!").unwrap();
        assert_eq!(d.read_all("wal").unwrap().unwrap(), b"abcdef\0\0!");
        assert_eq!(d.read("wal", 7, 100).unwrap(), b"\0!");
        d.sync("wal").unwrap();
        d.replace_durably("meta", b"v1").unwrap();
        d.rename("wal", "wal.old").unwrap();
        assert_eq!(d.list().unwrap(), vec!["meta".to_string(), "wal.old".to_string()]);
        d.truncate("wal.old", 2).unwrap();
        assert_eq!(d.read_all("wal.old").unwrap().unwrap(), b"ab");
        d.remove("wal.old").unwrap();
        d.remove("wal.old").unwrap();
        assert_eq!(d.len("wal.old").unwrap(), None);
        // A second disk on the same directory sees what the first wrote.
        let mut again = RealDisk::open(tmp.path()).unwrap();
        assert_eq!(again.read_all("meta").unwrap().unwrap(), b"v1");
    }

    #[test]
    fn names_that_escape_the_directory_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = RealDisk::open(tmp.path().join("data")).unwrap();
        for bad in ["../escape", "/etc/passwd", "a/b", "..", ".", ""] {
            assert!(matches!(d.write(bad, 0, b"x"), Err(DiskError::Io { .. })), "{bad}");
            assert!(matches!(d.read(bad, 0, 1), Err(DiskError::Io { .. })), "{bad}");
        }
        d.write("ok", 0, b"x").unwrap();
        assert!(matches!(d.rename("ok", "../out"), Err(DiskError::Io { .. })));
        assert!(!tmp.path().join("escape").exists() && !tmp.path().join("out").exists());
        assert!(matches!(d.read("missing", 0, 1), Err(DiskError::NotFound(_))));
        assert!(matches!(d.truncate("missing", 0), Err(DiskError::NotFound(_))));
    }
}
