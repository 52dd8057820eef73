//! `MemDisk`: an in-memory disk with exact durability and no faults.
//!
//! Files are inodes named by a namespace; both the inode contents and the namespace exist in a
//! current (volatile) and a durable version. `sync` copies the file's contents and the
//! namespace to their durable versions; `crash` throws away everything volatile.

use super::{DiskError, Storage};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
struct Inode {
    current: Vec<u8>,
    durable: Vec<u8>,
}

/// An in-memory disk without faults.
#[derive(Clone, Debug, Default)]
pub struct MemDisk {
    inodes: BTreeMap<u64, Inode>,
    names: BTreeMap<String, u64>,
    durable_names: BTreeMap<String, u64>,
    next_inode: u64,
}

impl MemDisk {
    pub fn new() -> Self {
        MemDisk::default()
    }

    /// Loses every unsynced write, creation, rename and removal, as a power cut would.
    pub fn crash(&mut self) {
        self.names = self.durable_names.clone();
        let live: Vec<u64> = self.names.values().copied().collect();
        self.inodes.retain(|ino, _| live.contains(ino));
        for inode in self.inodes.values_mut() {
            inode.current = inode.durable.clone();
        }
    }

    fn inode(&mut self, file: &str) -> Result<&mut Inode, DiskError> {
        let ino = *self.names.get(file).ok_or_else(|| DiskError::NotFound(file.to_string()))?;
        Ok(self.inodes.get_mut(&ino).expect("named inode exists"))
    }

    fn inode_or_create(&mut self, file: &str) -> &mut Inode {
        let ino = match self.names.get(file) {
            Some(ino) => *ino,
            None => {
                let ino = self.next_inode;
                self.next_inode += 1;
                self.names.insert(file.to_string(), ino);
                self.inodes.insert(ino, Inode::default());
                ino
            }
        };
        self.inodes.get_mut(&ino).expect("inode exists")
    }
}

impl Storage for MemDisk {
    fn read(&mut self, file: &str, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
        let data = &self.inode(file)?.current;
        let start = (offset as usize).min(data.len());
        let end = start.saturating_add(len).min(data.len());
        Ok(data[start..end].to_vec())
    }

    fn write(&mut self, file: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        let buf = &mut self.inode_or_create(file).current;
        let end = offset as usize + data.len();
        if buf.len() < end {
            buf.resize(end, 0);
        }
        buf[offset as usize..end].copy_from_slice(data);
        Ok(())
    }

    fn append(&mut self, file: &str, data: &[u8]) -> Result<u64, DiskError> {
        let buf = &mut self.inode_or_create(file).current;
        let offset = buf.len() as u64;
        buf.extend_from_slice(data);
        Ok(offset)
    }

    fn len(&mut self, file: &str) -> Result<Option<u64>, DiskError> {
        Ok(self.names.get(file).map(|ino| self.inodes[ino].current.len() as u64))
    }

    fn truncate(&mut self, file: &str, len: u64) -> Result<(), DiskError> {
        self.inode(file)?.current.resize(len as usize, 0);
        Ok(())
    }

    fn sync(&mut self, file: &str) -> Result<(), DiskError> {
        let inode = self.inode(file)?;
        inode.durable = inode.current.clone();
        self.durable_names = self.names.clone();
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        let ino = self.names.remove(from).ok_or_else(|| DiskError::NotFound(from.to_string()))?;
        self.names.insert(to.to_string(), ino);
        Ok(())
    }

    fn remove(&mut self, file: &str) -> Result<(), DiskError> {
        self.names.remove(file);
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
}
