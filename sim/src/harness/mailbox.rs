//! Receiving frames: madsim datagrams held until the time the fault layer chose for them.
//!
//! The receive loop lives inside a stream that owns the endpoint, so waiting for a packet can
//! be abandoned (a timer is due first) without losing the packet: the stream keeps its pending
//! receive, which a dropped `recv_from_raw` future would not.

use super::world::{sim_now, Packet, TAG};
use futures::future::{select, Either};
use futures::stream::{self, LocalBoxStream, StreamExt};
use madsim::net::Endpoint;
use madsim::time::{sleep_until, Instant};
use std::collections::BTreeMap;

pub(crate) struct Mailbox {
    packets: LocalBoxStream<'static, Option<Packet>>,
    /// Packets received but not yet due, by (due time, arrival order).
    held: BTreeMap<(Instant, u64), Packet>,
    arrivals: u64,
}

impl Mailbox {
    pub fn new(ep: Endpoint) -> Self {
        let packets = stream::unfold(ep, |ep| async move {
            let packet = match ep.recv_from_raw(TAG).await {
                Ok((payload, _)) => payload.downcast::<Packet>().ok().map(|p| *p),
                // The endpoint is gone (the node is being killed): nothing more will arrive.
                Err(_) => std::future::pending().await,
            };
            Some((packet, ep))
        });
        Mailbox { packets: packets.boxed_local(), held: BTreeMap::new(), arrivals: 0 }
    }

    /// The next packet that is due, waiting for one until `deadline`; `None` at the deadline.
    pub async fn next_until(&mut self, deadline: Instant) -> Option<Packet> {
        loop {
            let now = sim_now();
            if let Some(entry) = self.held.first_entry() {
                if entry.key().0 <= now {
                    return Some(entry.remove());
                }
            }
            if now >= deadline {
                return None;
            }
            let wake = self.held.keys().next().map_or(deadline, |(due, _)| (*due).min(deadline));
            let sleep = Box::pin(sleep_until(wake));
            if let Either::Left((Some(Some(packet)), _)) = select(self.packets.next(), sleep).await {
                self.held.insert((packet.deliver_at, self.arrivals), packet);
                self.arrivals += 1;
            }
        }
    }
}
