//! The wire codec: serde values in checksummed frames, and the seal they are built from.
//!
//! A *seal* is `crc32c u32 | payload`, little-endian, where the payload is the value encoded
//! with postcard and the checksum covers the payload: a value that cannot be read back wrong.
//! Files replaced whole ([`crate::disk::SealedFile`]) hold one seal. A frame is a seal with its
//! length in front, `len u32 | crc32c u32 | payload`, so a stream reader knows where it ends.
//! Both transports carry the same
//! frames: madsim datagrams in simulation (where the network may flip bits in them) and TCP
//! streams in real mode. A frame that fails its checksum, is cut short, is larger than
//! [`MAX_FRAME_LEN`] or does not decode is an error: the shell drops it and counts it, it is
//! never decoded into garbage.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Bytes of the frame header.
pub const HEADER_LEN: usize = 8;
/// The largest payload accepted; a longer length field is treated as corruption.
pub const MAX_FRAME_LEN: usize = 64 << 20;

/// Why a frame was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The bytes end before the header does, or before the payload its length field announces.
    #[error("frame shorter than its header or its length field says")]
    Truncated,
    /// The length field exceeds [`MAX_FRAME_LEN`]: taken as corruption, not as a real frame.
    #[error("frame length {0} exceeds the maximum")]
    TooLong(usize),
    /// The payload does not match its checksum: damaged on the wire or on disk.
    #[error("frame checksum mismatch")]
    BadChecksum,
    /// The checksum matches but the payload does not decode as the expected type.
    #[error("frame payload does not decode: {0}")]
    Malformed(String),
}

/// Bytes of a seal's header: the checksum.
pub const SEAL_HEADER_LEN: usize = 4;

/// Appends the seal of `value` (`crc32c u32 | payload`) to `buf` and returns it.
pub fn seal_into<T: Serialize>(mut buf: Vec<u8>, value: &T) -> Vec<u8> {
    let start = buf.len();
    buf.resize(start + SEAL_HEADER_LEN, 0);
    let mut out = postcard::to_extend(value, buf).expect("in-memory encoding cannot fail");
    let crc = crc32c::crc32c(&out[start + SEAL_HEADER_LEN..]);
    out[start..start + SEAL_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The seal of `value`.
pub fn seal<T: Serialize>(value: &T) -> Vec<u8> {
    seal_into(Vec::new(), value)
}

/// Checks and decodes one whole seal (exactly `sealed.len()` bytes).
pub fn unseal<T: DeserializeOwned>(sealed: &[u8]) -> Result<T, FrameError> {
    let (crc, payload) = sealed.split_first_chunk::<SEAL_HEADER_LEN>().ok_or(FrameError::Truncated)?;
    if crc32c::crc32c(payload) != u32::from_le_bytes(*crc) {
        return Err(FrameError::BadChecksum);
    }
    postcard::from_bytes(payload).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Encodes `value` as one frame.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Most messages fit in a few hundred bytes: one allocation instead of a chain of regrowths.
    let mut buf = Vec::with_capacity(256);
    buf.resize(HEADER_LEN - SEAL_HEADER_LEN, 0);
    let mut frame = seal_into(buf, value);
    let len = (frame.len() - HEADER_LEN) as u32;
    frame[..4].copy_from_slice(&len.to_le_bytes());
    frame
}

/// Decodes one whole frame (exactly `frame.len()` bytes).
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<T, FrameError> {
    let len = frame_len(frame)?;
    if frame.len() != HEADER_LEN + len {
        return Err(FrameError::Truncated);
    }
    unseal(&frame[HEADER_LEN - SEAL_HEADER_LEN..])
}

/// The payload length a frame header announces, validated against [`MAX_FRAME_LEN`]. Stream
/// readers use it to know how many bytes the frame occupies.
pub fn frame_len(header: &[u8]) -> Result<usize, FrameError> {
    let bytes: [u8; 4] = header.get(..4).ok_or(FrameError::Truncated)?.try_into().expect("4 bytes");
    if header.len() < HEADER_LEN {
        return Err(FrameError::Truncated);
    }
    let len = u32::from_le_bytes(bytes) as usize;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLong(len));
    }
    Ok(len)
}

/// The checksum field of a frame: a cheap digest of its contents for trace hashing.
pub fn frame_checksum(frame: &[u8]) -> u32 {
    frame.get(4..8).map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Msg {
        Vote { term: u64, granted: bool },
        Entries(Vec<(u64, String)>),
    }

    #[test]
    fn round_trips() {
        let m = Msg::Entries(vec![(1, "a".into()), (2, "bc".into())]);
        assert_eq!(decode::<Msg>(&encode(&m)).unwrap(), m);
    }

    #[test]
    fn a_frame_is_its_length_then_the_seal_of_its_value() {
        let m = Msg::Vote { term: 9, granted: false };
        let (frame, sealed) = (encode(&m), seal(&m));
        assert_eq!(frame[4..], sealed[..]);
        assert_eq!(frame[..4], ((sealed.len() - SEAL_HEADER_LEN) as u32).to_le_bytes());
        assert_eq!(unseal::<Msg>(&sealed).unwrap(), m);
    }

    #[test]
    fn a_damaged_or_short_seal_is_rejected() {
        let sealed = seal(&Msg::Vote { term: 3, granted: true });
        assert_eq!(unseal::<Msg>(&sealed[..3]), Err(FrameError::Truncated));
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(unseal::<Msg>(&bad), Err(FrameError::BadChecksum));
        // A valid checksum over bytes that are not a `Msg` is malformed, not garbage.
        let other = seal(&u64::MAX);
        assert!(matches!(unseal::<Msg>(&other), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn truncated_and_oversized_frames_are_rejected() {
        let f = encode(&Msg::Vote { term: 3, granted: true });
        assert_eq!(decode::<Msg>(&f[..f.len() - 1]), Err(FrameError::Truncated));
        assert_eq!(decode::<Msg>(&f[..3]), Err(FrameError::Truncated));
        let mut huge = f.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decode::<Msg>(&huge), Err(FrameError::TooLong(_))));
    }

    proptest! {
        /// Every single-bit flip anywhere in a frame is rejected, never decoded into a value.
        #[test]
        fn every_bit_flip_is_rejected(term in any::<u64>(), text in ".{0,40}", bit in any::<usize>()) {
            let frame = encode(&Msg::Entries(vec![(term, text)]));
            let mut bad = frame.clone();
            let bit = bit % (bad.len() * 8);
            bad[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(decode::<Msg>(&bad).is_err());
        }
    }
}
