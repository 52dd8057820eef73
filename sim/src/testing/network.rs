//! The scripted cluster's network: one queue of messages in flight, and the links between
//! nodes.
//!
//! Delivery is instantaneous and happens only when the test asks. A message whose link is cut
//! (checked at delivery, so cutting a link also loses what is in flight on it) or whose
//! destination is down is dropped as it is delivered; one to a paused node stays queued until
//! the node resumes. What no named operation covers, the test does on the queue itself
//! ([`Cluster::queue_mut`]).

use super::cluster::{Cluster, Envelope, IntoNodeId, Observer};
use crate::node::{Node, NodeId};
use std::collections::VecDeque;

/// Most deliveries one `deliver_all` makes before it decides the messages never stop.
const DELIVERIES_MAX: usize = 1_000_000;

impl<N: Node, O: Observer<N>> Cluster<N, O> {
    /// The messages in flight, first to be delivered first.
    pub fn queue(&self) -> &VecDeque<Envelope<N::Msg>> {
        &self.queue
    }

    /// The queue itself, for any reordering the named operations do not cover.
    pub fn queue_mut(&mut self) -> &mut VecDeque<Envelope<N::Msg>> {
        &mut self.queue
    }

    /// Whether `env` would wait in the queue rather than be delivered or dropped now.
    fn waits(&self, env: &Envelope<N::Msg>) -> bool {
        (env.to.0 as usize) < self.size() && self.is_paused(env.to)
    }

    /// Delivers (or drops, see the module docs) one message.
    fn deliver(&mut self, env: Envelope<N::Msg>) {
        let Envelope { from, to, msg } = env;
        if self.cut.contains(&(from, to)) || (to.0 as usize) >= self.size() || !self.is_up(to) {
            return;
        }
        self.step(to, |t| t.message(from, msg));
    }

    /// Delivers the first message in flight that can be delivered; false when there is none.
    pub fn deliver_one(&mut self) -> bool {
        let Some(at) = self.queue.iter().position(|e| !self.waits(e)) else { return false };
        let env = self.queue.remove(at).expect("position is in range");
        self.deliver(env);
        true
    }

    /// Delivers messages, and the messages they cause, until none is in flight (or only ones
    /// to paused nodes). Panics if that never happens.
    pub fn deliver_all(&mut self) {
        self.deliver_all_where(|_| true);
    }

    /// Delivers, one at a time, the first message in flight that matches, including messages
    /// those deliveries send, until none matches; the others keep their places.
    pub fn deliver_all_where(&mut self, pred: impl Fn(&Envelope<N::Msg>) -> bool) {
        for _ in 0..DELIVERIES_MAX {
            let Some(at) = self.queue.iter().position(|e| pred(e) && !self.waits(e)) else { return };
            let env = self.queue.remove(at).expect("position is in range");
            self.deliver(env);
        }
        panic!("messages never stopped flowing");
    }

    /// Delivers, in order, the messages now in flight that match; what those deliveries send,
    /// and the messages that do not match, stay queued.
    pub fn deliver_where(&mut self, pred: impl Fn(&Envelope<N::Msg>) -> bool) {
        let queue = std::mem::take(&mut self.queue);
        let (take, keep): (VecDeque<_>, VecDeque<_>) =
            queue.into_iter().partition(|e| pred(e) && !self.waits(e));
        self.queue = keep;
        for env in take {
            self.deliver(env);
        }
    }

    /// Drops the messages in flight that match; returns how many.
    pub fn drop_where(&mut self, pred: impl Fn(&Envelope<N::Msg>) -> bool) -> usize {
        let before = self.queue.len();
        self.queue.retain(|e| !pred(e));
        before - self.queue.len()
    }

    /// Puts a copy of each message in flight that matches at the back of the queue; returns
    /// how many.
    pub fn duplicate_where(&mut self, pred: impl Fn(&Envelope<N::Msg>) -> bool) -> usize {
        let copies: Vec<_> = self.queue.iter().filter(|e| pred(e)).cloned().collect();
        let n = copies.len();
        self.queue.extend(copies);
        n
    }

    /// Reverses the queue: the last message sent is delivered first.
    pub fn reverse_queue(&mut self) {
        self.queue.make_contiguous().reverse();
    }

    /// Puts messages (back) in flight, at the back of the queue: a late delivery, a duplicate,
    /// or a message no node sent.
    pub fn inject(&mut self, envs: impl IntoIterator<Item = Envelope<N::Msg>>) {
        self.queue.extend(envs);
    }

    /// Cuts the links between the groups, both ways; links inside a group stay, and every
    /// link cut before is restored first.
    pub fn partition<I: IntoNodeId>(&mut self, groups: &[&[I]]) {
        self.cut.clear();
        for (g, a) in groups.iter().enumerate() {
            for (h, b) in groups.iter().enumerate() {
                if g == h {
                    continue;
                }
                for &x in a.iter() {
                    for &y in b.iter() {
                        self.cut.insert((x.into_node_id(), y.into_node_id()));
                    }
                }
            }
        }
    }

    /// Cuts every link to and from `id`.
    pub fn isolate(&mut self, id: impl IntoNodeId) {
        let id = id.into_node_id();
        let others: Vec<NodeId> = self.ids().filter(|o| *o != id).collect();
        for other in others {
            self.cut_both(id, other);
        }
    }

    /// Cuts the one-way link `from -> to`: an asymmetric partition.
    pub fn cut(&mut self, from: impl IntoNodeId, to: impl IntoNodeId) {
        self.cut.insert((from.into_node_id(), to.into_node_id()));
    }

    /// Cuts both directions between `a` and `b`.
    pub fn cut_both(&mut self, a: impl IntoNodeId, b: impl IntoNodeId) {
        self.cut(a, b);
        self.cut(b, a);
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Whether messages from `from` reach `to`.
    pub fn is_linked(&self, from: impl IntoNodeId, to: impl IntoNodeId) -> bool {
        !self.cut.contains(&(from.into_node_id(), to.into_node_id()))
    }
}
