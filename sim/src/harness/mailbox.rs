//! Delivery: each server and client has an inbox of frames held until their delivery time.
//!
//! faultline moves frames itself instead of through madsim's `Endpoint`, for three measured
//! reasons: every `Endpoint` send and receive sleeps at least 1 ms of simulated time (madsim's
//! `sleep` has a 1 ms floor), so a node that sends ten messages in one step would spend ten
//! milliseconds doing it; the latency of a message cannot be chosen per message; and each
//! message costs three timer events. Here a send inserts the frame into the receiver's inbox at
//! the time the fault layer chose, and the receiver is woken by one madsim timer (an "alarm")
//! only when that frame is its earliest. Time is still madsim's, and so is the scheduling: a
//! paused node's task does not run, a killed node's inbox is emptied.

use super::world::Packet;
use futures::future::poll_fn;
use madsim::time::{sleep_until, Instant, TimeHandle};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// The most frames one inbox holds; a frame sent to a full inbox is dropped, as a real
/// receiver's socket buffer drops. Correct runs stay far below it; it bounds the runs in which
/// a protocol's replies multiply (each reply triggering more than one send, duplication adding
/// copies), which would otherwise grow without limit and never finish.
pub(crate) const INBOX_CAPACITY: usize = 1024;

/// Frames waiting for their delivery time, and how to wake their receiver.
#[derive(Default)]
pub(crate) struct Inbox {
    held: BTreeMap<(Instant, u64), Packet>,
    arrivals: u64,
    waker: Option<Waker>,
    /// Wake-ups already registered with madsim's timer, by their (effective) deadline.
    alarms: BTreeSet<Instant>,
    /// The run's clock, taken on first use: reading it is cheaper than `Instant::now`, which
    /// madsim answers by intercepting `clock_gettime` (5% of a Raft run's profile).
    time: Option<TimeHandle>,
}

pub(crate) type SharedInbox = Arc<Mutex<Inbox>>;

impl Inbox {
    /// Holds `packet` until its delivery time, waking the receiver then if nothing earlier will.
    /// False (and the packet dropped) if the inbox is full.
    pub fn push(&mut self, packet: Packet) -> bool {
        if self.held.len() >= INBOX_CAPACITY {
            return false;
        }
        let due = packet.deliver_at;
        self.held.insert((due, self.arrivals), packet);
        self.arrivals += 1;
        if let Some(waker) = self.waker.clone() {
            self.arm(due, &waker);
        }
        true
    }

    /// Loses everything held (the receiver crashed) and forgets its task.
    pub fn clear(&mut self) {
        *self = Inbox { time: self.time.take(), ..Inbox::default() };
    }

    fn now(&mut self) -> Instant {
        self.time.get_or_insert_with(TimeHandle::current).now_instant()
    }

    /// Makes sure the receiver is woken by `at`: registers a madsim timer unless one is already
    /// due by then. The timer outlives the `Sleep` that registered it, which is what we want.
    fn arm(&mut self, at: Instant, waker: &Waker) {
        let now = self.now();
        while self.alarms.first().is_some_and(|t| *t <= now) {
            self.alarms.pop_first();
        }
        if self.alarms.range(..=at).next().is_some() {
            return;
        }
        let mut sleep = sleep_until(at);
        let effective = sleep.deadline();
        if Pin::new(&mut sleep).poll(&mut Context::from_waker(waker)).is_pending() {
            self.alarms.insert(effective);
        }
    }

    /// The next due packet, or registers the waker and an alarm for `deadline` or the earliest
    /// held packet.
    fn poll_until(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<Option<Packet>> {
        let now = self.now();
        if let Some(entry) = self.held.first_entry() {
            if entry.key().0 <= now {
                return Poll::Ready(Some(entry.remove()));
            }
        }
        if now >= deadline {
            return Poll::Ready(None);
        }
        let wake = self.held.keys().next().map_or(deadline, |(due, _)| (*due).min(deadline));
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            self.waker = Some(cx.waker().clone());
        }
        self.arm(wake, cx.waker());
        Poll::Pending
    }
}

/// The next packet due for this inbox, waiting for one until `deadline`; `None` at the deadline.
pub(crate) async fn next_until(inbox: &SharedInbox, deadline: Instant) -> Option<Packet> {
    poll_fn(|cx| inbox.lock().unwrap_or_else(|e| e.into_inner()).poll_until(cx, deadline)).await
}
