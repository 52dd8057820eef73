//! The wire codec: serde values in checksummed frames.
//!
//! A frame is `len u32 | crc32c u32 | payload`, little-endian, where the payload is the value
//! encoded with postcard and the checksum covers the payload. Both transports carry the same
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
    #[error("frame shorter than its header or its length field says")]
    Truncated,
    #[error("frame length {0} exceeds the maximum")]
    TooLong(usize),
    #[error("frame checksum mismatch")]
    BadChecksum,
    #[error("frame payload does not decode: {0}")]
    Malformed(String),
}

/// Encodes `value` as one frame.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Most messages fit in a few hundred bytes: one allocation instead of a chain of regrowths.
    let mut buf = Vec::with_capacity(256);
    buf.resize(HEADER_LEN, 0);
    let mut frame = postcard::to_extend(value, buf).expect("in-memory encoding cannot fail");
    let len = (frame.len() - HEADER_LEN) as u32;
    let crc = crc32c::crc32c(&frame[HEADER_LEN..]);
    frame[..4].copy_from_slice(&len.to_le_bytes());
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
    frame
}

/// Decodes one whole frame (exactly `frame.len()` bytes).
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<T, FrameError> {
    let len = frame_len(frame)?;
    if frame.len() != HEADER_LEN + len {
        return Err(FrameError::Truncated);
    }
    let payload = &frame[HEADER_LEN..];
    let crc = u32::from_le_bytes(frame[4..8].try_into().expect("header has 8 bytes"));
    if crc32c::crc32c(payload) != crc {
        return Err(FrameError::BadChecksum);
    }
    postcard::from_bytes(payload).map_err(|e| FrameError::Malformed(e.to_string()))
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
