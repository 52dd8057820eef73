//! Frames over TCP: every connection opens with a hello frame saying who is speaking, then
//! carries codec frames. A frame that fails its checksum, is longer than the codec allows or
//! does not decode closes the connection: a real node rejects malformed input rather than
//! guessing at it.

use crate::codec::{self, FrameError, HEADER_LEN};
use crate::net::Addr;
use serde::de::DeserializeOwned;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Node `id` listens on `base_port + id`, on loopback only.
pub fn node_addr(base_port: u16, id: u32) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], base_port + id as u16))
}

/// Reads one whole frame and decodes it.
pub async fn read_frame<T: DeserializeOwned>(r: &mut OwnedReadHalf) -> io::Result<T> {
    let mut header = [0u8; HEADER_LEN];
    r.read_exact(&mut header).await?;
    let len = codec::frame_len(&header).map_err(invalid)?;
    let mut frame = vec![0u8; HEADER_LEN + len];
    frame[..HEADER_LEN].copy_from_slice(&header);
    r.read_exact(&mut frame[HEADER_LEN..]).await?;
    codec::decode(&frame).map_err(invalid)
}

fn invalid(e: FrameError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Connects to `to` and says who we are.
pub async fn connect(to: SocketAddr, me: Addr) -> io::Result<(OwnedReadHalf, OwnedWriteHalf)> {
    let stream = TcpStream::connect(to).await?;
    stream.set_nodelay(true)?;
    let (r, mut w) = stream.into_split();
    w.write_all(&codec::encode(&me)).await?;
    Ok((r, w))
}

/// A writer task: sends the frames it is given, in order, until the connection fails or the
/// sender is dropped.
pub fn writer(mut w: OwnedWriteHalf) -> mpsc::UnboundedSender<Vec<u8>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if w.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    tx
}

/// A writer to a peer that (re)connects as needed: frames sent while the peer is unreachable
/// are dropped, as a network would.
pub fn peer_writer(to: SocketAddr, me: Addr) -> mpsc::UnboundedSender<Vec<u8>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        let mut conn: Option<OwnedWriteHalf> = None;
        while let Some(frame) = rx.recv().await {
            if conn.is_none() {
                conn = connect(to, me).await.ok().map(|(_, w)| w);
            }
            let Some(w) = conn.as_mut() else {
                // Unreachable: drop the frame, and do not hammer a dead peer.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            if w.write_all(&frame).await.is_err() {
                conn = None;
            }
        }
    });
    tx
}
