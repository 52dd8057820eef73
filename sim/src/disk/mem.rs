//! `MemDisk`: an in-memory disk with exact durability and no faults.
//!
//! This is the one implementation of the durability semantics of [`super`]: `SimDisk` wraps it
//! and adds faults, so the fault-free disk and the faulty one cannot disagree about what a sync
//! makes durable.
//!
//! Files are inodes named by a namespace; the namespace exists in a current and a durable
//! version. Each inode keeps its durable contents, its current contents, and the ordered list of
//! changes made since its last sync (`Pending`). `sync` applies a file's pending changes to its
//! durable contents and makes the namespace durable; `crash` reverts the namespace and lets a
//! policy choose which pending changes reach the durable contents (none, for `MemDisk` itself).

use super::{check_name, DiskError, Storage};
use std::collections::BTreeMap;

/// The largest file the in-memory disks hold. A write past it fails with `Full` instead of
/// trying to allocate absurd amounts of memory for a bogus offset.
pub const MAX_FILE_BYTES: u64 = 1 << 32;

/// One unsynced change to a file's contents, in the order it was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pending {
    Write { offset: u64, data: Vec<u8> },
    Truncate { len: u64 },
}

impl Pending {
    pub(crate) fn apply(&self, buf: &mut Vec<u8>) {
        match self {
            // As `pwrite`: writing nothing does not extend the file.
            Pending::Write { data, .. } if data.is_empty() => {}
            Pending::Write { offset, data } => {
                let start = *offset as usize;
                let end = start + data.len();
                if buf.len() < end {
                    buf.resize(end, 0);
                }
                buf[start..end].copy_from_slice(data);
            }
            Pending::Truncate { len } => buf.resize(*len as usize, 0),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Inode {
    durable: Vec<u8>,
    current: Vec<u8>,
    pending: Vec<Pending>,
}

impl Inode {
    fn change(&mut self, op: Pending) {
        op.apply(&mut self.current);
        self.pending.push(op);
    }

    /// Rebuilds the current contents from the durable ones and the pending changes.
    fn replay(&mut self) {
        let mut current = self.durable.clone();
        for op in &self.pending {
            op.apply(&mut current);
        }
        self.current = current;
    }
}

/// An in-memory disk without faults.
#[derive(Clone, Debug, Default)]
pub struct MemDisk {
    inodes: BTreeMap<u64, Inode>,
    names: BTreeMap<String, u64>,
    durable_names: BTreeMap<String, u64>,
    /// Whether `names` changed since it was last made durable: a sync copies the namespace
    /// only then (most syncs are of appends to existing files).
    names_changed: bool,
    next_inode: u64,
}

impl MemDisk {
    /// An empty disk.
    pub fn new() -> Self {
        MemDisk::default()
    }

    /// Loses every unsynced write, creation, rename and removal, as a power cut would.
    pub fn crash(&mut self) {
        self.crash_with(|_| Vec::new());
    }

    /// A power cut in which `survivors(pending changes)` chooses, per file, the changes that reach the disk (applied in the order returned). Unsynced namespace
    /// changes are always lost.
    pub(crate) fn crash_with(&mut self, mut survivors: impl FnMut(Vec<Pending>) -> Vec<Pending>) {
        self.names = self.durable_names.clone();
        self.names_changed = false;
        self.collect_garbage();
        for inode in self.inodes.values_mut() {
            let pending = std::mem::take(&mut inode.pending);
            if pending.is_empty() {
                continue;
            }
            for op in survivors(pending) {
                op.apply(&mut inode.durable);
            }
            inode.current = inode.durable.clone();
        }
    }

    /// Drops the file's unsynced changes (a failed fsync); returns how many there were.
    pub(crate) fn discard_pending(&mut self, file: &str) -> Result<usize, DiskError> {
        let inode = self.inode(file)?;
        let lost = inode.pending.len();
        if lost > 0 {
            inode.pending.clear();
            inode.current = inode.durable.clone();
        }
        Ok(lost)
    }

    /// Files of the durable namespace with durable contents: (name, durable length).
    pub(crate) fn durable_files(&self) -> Vec<(String, u64)> {
        self.durable_names
            .iter()
            .map(|(name, ino)| (name.clone(), self.inodes[ino].durable.len() as u64))
            .filter(|(_, len)| *len > 0)
            .collect()
    }

    /// Flips `bit` of byte `offset` of the durable contents of the file durably named `file`.
    pub(crate) fn flip_durable_bit(&mut self, file: &str, offset: u64, bit: u8) {
        let ino = self.durable_names[file];
        let inode = self.inodes.get_mut(&ino).expect("durable name has an inode");
        inode.durable[offset as usize] ^= 1 << bit;
        inode.replay();
    }

    /// The inode number behind a current name: stable across renames, never reused.
    pub(crate) fn ino(&self, file: &str) -> Option<u64> {
        self.names.get(file).copied()
    }

    /// The inode number a name has in the durable namespace.
    pub(crate) fn durable_ino(&self, file: &str) -> Option<u64> {
        self.durable_names.get(file).copied()
    }

    /// Whether an inode is still reachable from a current or a durable name.
    pub(crate) fn inode_exists(&self, ino: u64) -> bool {
        self.inodes.contains_key(&ino)
    }

    /// The durable length of an inode.
    pub(crate) fn durable_len(&self, ino: u64) -> u64 {
        self.inodes.get(&ino).map_or(0, |i| i.durable.len() as u64)
    }

    /// Bytes held by every inode still reachable (current contents).
    pub(crate) fn used_bytes(&self) -> u64 {
        self.inodes.values().map(|i| i.current.len() as u64).sum()
    }

    /// The current length of a file (0 when it does not exist yet).
    pub(crate) fn current_len(&self, file: &str) -> u64 {
        self.names.get(file).map_or(0, |ino| self.inodes[ino].current.len() as u64)
    }

    /// Unsynced namespace changes: names whose durable binding differs from the current one.
    pub(crate) fn namespace_changes(&self) -> usize {
        let changed = self.names.iter().filter(|(n, ino)| self.durable_names.get(*n) != Some(ino)).count();
        let removed = self.durable_names.keys().filter(|n| !self.names.contains_key(*n)).count();
        changed + removed
    }

    /// Keeps only inodes that a current or a durable name reaches.
    fn collect_garbage(&mut self) {
        let (names, durable) = (&self.names, &self.durable_names);
        self.inodes.retain(|ino, _| names.values().any(|i| i == ino) || durable.values().any(|i| i == ino));
    }

    fn inode(&mut self, file: &str) -> Result<&mut Inode, DiskError> {
        let ino = self.existing(file)?.ok_or_else(|| DiskError::NotFound(file.to_string()))?;
        Ok(self.inodes.get_mut(&ino).expect("named inode exists"))
    }

    /// The inode of a current name; a name no backend accepts is an error, as in real mode.
    fn existing(&self, file: &str) -> Result<Option<u64>, DiskError> {
        match self.names.get(file) {
            Some(ino) => Ok(Some(*ino)),
            None => check_name(file).map(|()| None),
        }
    }

    fn inode_or_create(&mut self, file: &str) -> Result<&mut Inode, DiskError> {
        let ino = match self.names.get(file) {
            Some(ino) => *ino,
            None => {
                check_name(file)?;
                let ino = self.next_inode;
                self.next_inode += 1;
                self.names.insert(file.to_string(), ino);
                self.names_changed = true;
                self.inodes.insert(ino, Inode::default());
                ino
            }
        };
        Ok(self.inodes.get_mut(&ino).expect("inode exists"))
    }
}

/// Rejects a file end past [`MAX_FILE_BYTES`].
fn check_end(file: &str, end: Option<u64>) -> Result<(), DiskError> {
    match end {
        Some(end) if end <= MAX_FILE_BYTES => Ok(()),
        _ => Err(DiskError::Full(file.to_string())),
    }
}

/// The end of the file after writing `len` bytes at `offset` (a write of nothing ends nowhere).
pub(crate) fn write_end(offset: u64, len: usize) -> Option<u64> {
    if len == 0 {
        Some(0)
    } else {
        offset.checked_add(len as u64)
    }
}

impl Storage for MemDisk {
    fn read(&mut self, file: &str, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
        let data = &self.inode(file)?.current;
        let start = offset.min(data.len() as u64) as usize;
        let end = start.saturating_add(len).min(data.len());
        Ok(data[start..end].to_vec())
    }

    fn write(&mut self, file: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        check_end(file, write_end(offset, data.len()))?;
        let op = Pending::Write { offset, data: data.to_vec() };
        self.inode_or_create(file)?.change(op);
        Ok(())
    }

    fn append(&mut self, file: &str, data: &[u8]) -> Result<u64, DiskError> {
        let offset = self.current_len(file);
        self.write(file, offset, data)?;
        Ok(offset)
    }

    fn len(&mut self, file: &str) -> Result<Option<u64>, DiskError> {
        Ok(self.existing(file)?.map(|_| self.current_len(file)))
    }

    fn truncate(&mut self, file: &str, len: u64) -> Result<(), DiskError> {
        check_end(file, Some(len))?;
        self.inode(file)?.change(Pending::Truncate { len });
        Ok(())
    }

    fn sync(&mut self, file: &str) -> Result<(), DiskError> {
        let inode = self.inode(file)?;
        for op in inode.pending.drain(..) {
            op.apply(&mut inode.durable);
        }
        if std::mem::take(&mut self.names_changed) {
            self.durable_names = self.names.clone();
            self.collect_garbage();
        }
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        check_name(to)?;
        self.existing(from)?.ok_or_else(|| DiskError::NotFound(from.to_string()))?;
        let ino = self.names.remove(from).expect("name exists");
        self.names.insert(to.to_string(), ino);
        self.names_changed = true;
        Ok(())
    }

    fn remove(&mut self, file: &str) -> Result<(), DiskError> {
        if self.existing(file)?.is_some() {
            self.names.remove(file);
            self.names_changed = true;
        }
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<String>, DiskError> {
        Ok(self.names.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_keeps_synced_and_loses_unsynced() {
        let mut d = MemDisk::new();
        d.append("a", b"synced").unwrap();
        d.sync("a").unwrap();
        d.append("a", b"+lost").unwrap();
        d.write("b", 0, b"never synced").unwrap();
        d.crash();
        assert_eq!(d.read_all("a").unwrap().unwrap(), b"synced");
        assert_eq!(d.len("b").unwrap(), None);
    }

    #[test]
    fn replace_durably_survives_crash() {
        let mut d = MemDisk::new();
        d.replace_durably("meta", b"v1").unwrap();
        d.replace_durably("meta", b"v2").unwrap();
        d.crash();
        assert_eq!(d.read_all("meta").unwrap().unwrap(), b"v2");
        assert_eq!(d.list().unwrap(), vec!["meta".to_string()]);
    }

    #[test]
    fn unsynced_rename_is_lost_in_crash() {
        let mut d = MemDisk::new();
        d.write("x", 0, b"1").unwrap();
        d.sync("x").unwrap();
        d.rename("x", "y").unwrap();
        d.crash();
        assert_eq!(d.list().unwrap(), vec!["x".to_string()]);
    }

    #[test]
    fn pending_changes_replay_to_the_current_contents() {
        let mut d = MemDisk::new();
        d.write("f", 0, b"hello world").unwrap();
        d.sync("f").unwrap();
        d.truncate("f", 5).unwrap();
        d.write("f", 7, b"!").unwrap();
        assert_eq!(d.read_all("f").unwrap().unwrap(), b"hello\0\0!");
        d.crash_with(|pending| pending); // keep every change
        assert_eq!(d.read_all("f").unwrap().unwrap(), b"hello\0\0!");
    }

    #[test]
    fn sync_of_one_file_makes_the_namespace_durable_but_not_other_contents() {
        let mut d = MemDisk::new();
        d.write("a", 0, b"a").unwrap();
        d.write("b", 0, b"b").unwrap();
        d.sync("a").unwrap();
        d.crash();
        assert_eq!(d.list().unwrap(), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(d.read_all("b").unwrap().unwrap(), b"");
    }

    #[test]
    fn bad_names_and_offsets_are_errors_not_panics() {
        let mut d = MemDisk::new();
        assert!(matches!(d.write("../x", 0, b"1"), Err(DiskError::Io { .. })));
        assert!(matches!(d.write("a/b", 0, b"1"), Err(DiskError::Io { .. })));
        assert!(matches!(d.write("x", u64::MAX, b"1"), Err(DiskError::Full(_))));
        d.write("empty", 100, b"").unwrap();
        assert_eq!(d.len("empty").unwrap(), Some(0), "writing nothing creates but does not extend");
        d.write("x", 0, b"1").unwrap();
        assert!(matches!(d.rename("x", ".."), Err(DiskError::Io { .. })));
        assert!(matches!(d.truncate("x", u64::MAX), Err(DiskError::Full(_))));
        assert!(matches!(d.read("../x", 0, 1), Err(DiskError::Io { .. })));
        assert!(matches!(d.read("y", 0, 1), Err(DiskError::NotFound(_))));
        assert_eq!(d.read("x", u64::MAX, 10).unwrap(), b"");
    }
}
