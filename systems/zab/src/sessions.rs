//! The leader's session tracker (ZooKeeper's `SessionTrackerImpl`): when each open session was
//! last heard from, and its expiry.
//!
//! Every server notes the sessions whose clients it hears from (a follower reports them with
//! its next ACK); the leader keeps, per open session, the last time it heard of it on its own
//! clock. A new leader gives every open session a full timeout. A session silent for longer
//! than its timeout is expired with a replicated transaction, which closes it and deletes its
//! ephemeral nodes on every server when delivered.

use crate::api::WriteOp;
use crate::bugs::ZabBug;
use crate::msg::{Txn, TxnBody};
use crate::state::Role;
use crate::{Stop, Zab};
use faultline_sim::Context;
use std::time::Duration;

impl Zab {
    /// Leader tick: expires the sessions that have been silent too long.
    pub(crate) fn expire_sessions(&mut self, cx: &mut Context<'_, Zab>) -> Result<(), Stop> {
        let now = self.now;
        let Role::Leading(l) = &self.role else { return Ok(()) };
        let timeouts: std::collections::BTreeMap<_, _> = self.tree.open_sessions().collect();
        let due: Vec<_> = l
            .tracker
            .iter()
            .filter(|(s, _)| !l.expiring.contains(*s))
            .filter(|(s, last)| {
                timeouts.get(*s).is_some_and(|t| now.saturating_since(**last) > Duration::from_millis(*t))
            })
            .map(|(s, _)| *s)
            .collect();
        for session in due {
            cx.sometimes("zab.a_session_expires");
            if self.has_bug(ZabBug::EphemeralsSurviveExpiry) {
                // BUG(EphemeralsSurviveExpiry): the leader closes the session in its own tree
                // only; every other server keeps it and its ephemeral nodes.
                self.tree.close_locally(session);
                if let Role::Leading(l) = &mut self.role {
                    l.tracker.remove(&session);
                }
                self.step.events.push("session_expiries");
                continue;
            }
            // Noted only once proposed: an expiry that a full disk refused is tried again.
            self.propose(cx, TxnBody::Expire { session })?;
            if let Role::Leading(l) = &mut self.role {
                l.expiring.insert(session);
            }
            self.step.events.push("session_expiries");
        }
        Ok(())
    }

    /// Keeps the leader's tracker in step with what a delivered transaction did to sessions:
    /// opened ones start their timeout now, closed ones (older generations too) leave it.
    pub(crate) fn track_applied(&mut self, txn: &Txn) {
        let changes_sessions = match &txn.body {
            TxnBody::Client { op, .. } => matches!(op, WriteOp::Connect { .. } | WriteOp::Close),
            TxnBody::Expire { .. } => true,
        };
        let Role::Leading(l) = &mut self.role else { return };
        if !changes_sessions {
            return;
        }
        let now = self.now;
        let open: std::collections::BTreeSet<_> = self.tree.open_sessions().map(|(s, _)| s).collect();
        l.tracker.retain(|s, _| open.contains(s));
        l.expiring.retain(|s| open.contains(s));
        for s in open {
            l.tracker.entry(s).or_insert(now);
        }
    }
}
