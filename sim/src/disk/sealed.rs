//! `SealedFile`: a small serde value kept in a file of its own, checksummed and replaced whole.
//!
//! The file holds one seal (`crc32c u32 | postcard payload`, see [`crate::codec::seal`]) and is
//! only ever replaced with [`Storage::replace_durably`] (write a temporary, sync, rename, sync),
//! so a crash leaves the old value or the new one, never a mix. What a crash cannot do, damage
//! at rest can: a flipped bit, an unreadable sector. A read therefore says which of three things
//! it found, and the protocol decides what each means for it: a [`Sealed::Missing`] file was
//! never written (a first boot), a [`Sealed::Damaged`] one was and cannot be trusted (repair it
//! or treat its value as lost), an [`Sealed::Intact`] one holds the value last written.
//!
//! For hard state (a term and a vote, an epoch, a promise) and snapshots: values a node writes
//! whole. Anything appended to belongs in a [`super::TypedLog`].

use super::{DiskError, Storage};
use crate::codec::{self, FrameError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::borrow::Cow;
use std::marker::PhantomData;

/// A file holding one sealed value of type `T`. Holds no handle: every call takes the disk.
#[derive(Clone, Debug)]
pub struct SealedFile<T> {
    name: Cow<'static, str>,
    value: PhantomData<fn() -> T>,
}

/// What reading a sealed file found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sealed<T> {
    /// No such file: the value was never written.
    Missing,
    /// The file exists but its value cannot be trusted.
    Damaged(Damage),
    /// The value last written.
    Intact(T),
}

/// How a sealed file was damaged.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// A read error (a latent sector error): the bytes could not be read at all.
    Unreadable,
    /// The checksum failed (a bit flipped at rest or on the way from the disk), or the file is
    /// shorter than a checksum.
    Checksum,
    /// The checksum held but the bytes are not a `T` (a value of another type, or another
    /// version of it, was written there).
    Decode,
}

impl<T> Sealed<T> {
    /// The value, if the file held an intact one.
    pub fn intact(self) -> Option<T> {
        match self {
            Sealed::Intact(value) => Some(value),
            Sealed::Missing | Sealed::Damaged(_) => None,
        }
    }

    /// Whether the file exists but cannot be trusted.
    pub fn is_damaged(&self) -> bool {
        matches!(self, Sealed::Damaged(_))
    }
}

impl<T: Serialize + DeserializeOwned> SealedFile<T> {
    /// The sealed file named `name` (usable in a `const`).
    pub const fn new(name: &'static str) -> Self {
        SealedFile { name: Cow::Borrowed(name), value: PhantomData }
    }

    /// The sealed file named `name`, for names built at run time (one per shard, say).
    pub fn named(name: String) -> Self {
        SealedFile { name: Cow::Owned(name), value: PhantomData }
    }

    /// The file's name on the disk.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the value back. Damage is a finding, not an error: `Err` is left for the disk
    /// errors a read cannot turn into a finding (see [`DiskError::requires_halt`]).
    pub fn read(&self, disk: &mut dyn Storage) -> Result<Sealed<T>, DiskError> {
        let data = match disk.read_all(&self.name) {
            Ok(None) => return Ok(Sealed::Missing),
            Ok(Some(data)) => data,
            Err(DiskError::ReadError { .. }) => return Ok(Sealed::Damaged(Damage::Unreadable)),
            Err(e) => return Err(e),
        };
        Ok(match codec::unseal(&data) {
            Ok(value) => Sealed::Intact(value),
            Err(FrameError::Malformed(_)) => Sealed::Damaged(Damage::Decode),
            Err(_) => Sealed::Damaged(Damage::Checksum),
        })
    }

    /// Replaces the value, durably and atomically: once this returns `Ok`, a crash keeps it.
    pub fn replace(&self, disk: &mut dyn Storage, value: &T) -> Result<(), DiskError> {
        disk.replace_durably(&self.name, &codec::seal(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::MemDisk;

    const EPOCH: SealedFile<u64> = SealedFile::new("epoch");

    #[test]
    fn a_replaced_value_survives_a_crash_and_a_missing_file_reads_as_missing() {
        let mut disk = MemDisk::new();
        assert_eq!(EPOCH.read(&mut disk).unwrap(), Sealed::Missing);
        EPOCH.replace(&mut disk, &7).unwrap();
        EPOCH.replace(&mut disk, &8).unwrap();
        disk.crash();
        assert_eq!(EPOCH.read(&mut disk).unwrap(), Sealed::Intact(8));
    }

    #[test]
    fn a_flipped_bit_anywhere_reads_as_damaged_never_as_a_value() {
        let mut disk = MemDisk::new();
        EPOCH.replace(&mut disk, &123_456).unwrap();
        let good = disk.read_all("epoch").unwrap().unwrap();
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            disk.write("epoch", 0, &bad).unwrap();
            assert_eq!(EPOCH.read(&mut disk).unwrap(), Sealed::Damaged(Damage::Checksum), "bit {bit}");
        }
    }

    #[test]
    fn a_value_of_another_type_reads_as_undecodable() {
        let mut disk = MemDisk::new();
        SealedFile::<String>::named("epoch".to_string()).replace(&mut disk, &"\u{ff}".repeat(20)).unwrap();
        let other = SealedFile::<(u8, bool)>::new("epoch").read(&mut disk).unwrap();
        assert_eq!(other, Sealed::Damaged(Damage::Decode));
        disk.write("epoch", 0, &[1, 2]).unwrap();
        disk.truncate("epoch", 2).unwrap();
        assert_eq!(EPOCH.read(&mut disk).unwrap(), Sealed::Damaged(Damage::Checksum));
    }
}
