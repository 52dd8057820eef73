//! Cluster membership: single-server changes through the log (thesis 4.1).
//!
//! A configuration is the complete member list. It takes effect on a node as soon as its entry
//! is in the node's log, committed or not, and is undone if that entry is truncated. A leader
//! accepts one change at a time: a new change only after the previous one is committed, and
//! only after an entry of its own term is committed (the fix to the single-server change
//! algorithm Ongaro posted in 2015: without it, two overlapping changes from different terms
//! can elect two leaders). Adding or removing one server at a time keeps every majority of the
//! old configuration overlapping every majority of the new one, so no joint consensus is needed.
//!
//! A removed leader keeps leading until the entry removing it is committed, not counting itself
//! in majorities meanwhile, then steps down (thesis 4.2.2). A node outside its latest
//! configuration starts elections only while that configuration is uncommitted (it may still
//! be needed to commit it; its own vote does not count), and never once it is committed. A
//! removed node that never learned of its removal may time out, but its pre-votes are refused
//! by nodes that hear from the leader (thesis 4.2.3, 9.6). Deviation: new servers join as voters at once, without the catch-up rounds of
//! thesis 4.2.1; the cluster may stall briefly while they catch up, but safety is unaffected.

use crate::machine::RaftReply;
use crate::machine::StateMachine;
use crate::msg::{Command, Unavailable};
use crate::state::{Progress, Role};
use crate::{Raft, RaftBug, Stop};
use faultline_sim::{Context, NodeId, RequestId};
use std::collections::BTreeMap;

/// The configurations in effect: the one of the snapshot (or the initial one) and those in
/// the log after it, by index.
#[derive(Clone, Debug, Default)]
pub(crate) struct Membership {
    configs: BTreeMap<u64, Vec<NodeId>>,
}

/// A change an admin asked for.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Change {
    Add(NodeId),
    Remove(NodeId),
}

impl Membership {
    /// The configuration `members` in effect from `index` on.
    pub fn new(index: u64, members: Vec<NodeId>) -> Self {
        Membership { configs: BTreeMap::from([(index, members)]) }
    }

    pub fn latest(&self) -> &[NodeId] {
        self.configs.values().next_back().map_or(&[], Vec::as_slice)
    }

    pub fn latest_index(&self) -> u64 {
        self.configs.keys().next_back().copied().unwrap_or(0)
    }

    /// The configuration in effect at `index`.
    pub fn at(&self, index: u64) -> &[NodeId] {
        self.configs
            .range(..=index)
            .next_back()
            .or(self.configs.iter().next())
            .map_or(&[], |(_, m)| m.as_slice())
    }

    pub fn is_member(&self, id: NodeId) -> bool {
        self.latest().contains(&id)
    }

    /// Whether `votes` hold a majority of the latest configuration.
    pub fn is_quorum(&self, votes: impl Iterator<Item = NodeId>) -> bool {
        let members = self.latest();
        let yes = votes.filter(|v| members.contains(v)).count();
        yes > members.len() / 2
    }

    /// The highest index a majority of the latest configuration holds, given each member's.
    pub fn quorum_index(&self, matched: impl Fn(NodeId) -> u64) -> u64 {
        let mut indexes: Vec<u64> = self.latest().iter().map(|&m| matched(m)).collect();
        indexes.sort_unstable_by(|a, b| b.cmp(a));
        indexes.get(indexes.len() / 2).copied().unwrap_or(0)
    }

    pub fn append(&mut self, index: u64, members: Vec<NodeId>) {
        self.configs.insert(index, members);
    }

    /// Undoes the configurations at `index` and after (their entries were truncated). The base
    /// configuration sits at or below the snapshot index, which is never truncated.
    pub fn truncate_from(&mut self, index: u64) {
        self.configs.split_off(&index);
        debug_assert!(!self.configs.is_empty(), "the base configuration was truncated");
    }

    /// Drops configurations before the one in effect at `index` (log compaction).
    pub fn compact_to(&mut self, index: u64) {
        let current = self.at(index).to_vec();
        self.configs = self.configs.split_off(&(index + 1));
        self.configs.insert(index, current);
    }

    pub fn apply(&self, change: Change) -> Vec<NodeId> {
        let mut members = self.latest().to_vec();
        match change {
            Change::Add(n) if !members.contains(&n) => members.push(n),
            Change::Remove(n) => members.retain(|m| *m != n),
            Change::Add(_) => {}
        }
        members.sort();
        members
    }
}

impl<M: StateMachine> Raft<M> {
    /// An admin request to add or remove a server.
    pub(crate) fn request_change(
        &mut self,
        cx: &mut Context<'_, Self>,
        id: RequestId,
        change: Change,
    ) -> Result<(), Stop> {
        let Some(term_start) = self.leader_state().map(|l| l.term_start) else {
            return self.reply_not_leader(id);
        };
        if self.commit < term_start {
            // Ongaro's 2015 fix: no change before an entry of this term is committed.
            cx.sometimes("raft.change_requested_before_term_commit");
            return self.reply(id, RaftReply::Unavailable(Unavailable::LeaderNotReady).into());
        }
        let members = self.members.apply(change);
        let mut current = self.members.latest().to_vec();
        current.sort();
        if members == current {
            return self.reply(id, RaftReply::Members(members).into());
        }
        if self.members.latest_index() > self.commit {
            // Thesis 4.1: one change at a time.
            cx.sometimes("raft.change_requested_while_pending");
            // BUG(MembershipChangeWhilePending): accept it anyway.
            if !self.has_bug(RaftBug::MembershipChangeWhilePending) {
                return self.reply(id, RaftReply::Unavailable(Unavailable::ConfigChangePending).into());
            }
        }
        let floor = self.config.min_members.min(self.members.latest().len()).max(1);
        if members.len() < floor {
            let reason = format!("the cluster keeps at least {floor} members");
            return self.reply(id, RaftReply::Invalid { reason }.into());
        }
        match change {
            Change::Remove(n) if n == self.id => cx.sometimes("raft.leader_removes_itself"),
            Change::Add(_) => cx.sometimes("raft.server_rejoins"),
            Change::Remove(_) => {}
        }
        if self.append_as_leader(cx, Command::Config { members, id }).is_err() && self.halt.is_none() {
            return self.reply(id, RaftReply::Unavailable(Unavailable::DiskFull).into());
        }
        // The membership moments of thesis 4.1 and Ongaro's 2015 fix: a leader gone with a
        // change nobody else holds (the next leader, in the old configuration, makes its own),
        // or gone right after its change left (two configurations in flight).
        self.crash_here(cx, "as a leader with a membership change nobody else holds")?;
        cx.crash_point();
        // Cut off with one peer just as the change went out: the far side elects in the old
        // configuration while this leader, with changes of its own in flight, goes on in the
        // new one, the moment where one change at a time (thesis 4.1) matters.
        if cx.partition_point() {
            cx.sometimes("raft.leader_cut_off_at_a_membership_change");
        }
        Ok(())
    }

    /// After the latest configuration changed: track progress for exactly the nodes a leader
    /// must replicate to (the latest members, plus members of the committed configuration so
    /// that a removed node learns of its removal), and recount the commit index.
    pub(crate) fn on_config_change(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        let (id, last) = (self.id, self.log.last_index());
        let mut targets: Vec<NodeId> = self.members.latest().to_vec();
        targets.extend_from_slice(self.members.at(self.commit));
        let Role::Leader(leader) = &mut self.role else { return Ok(()) };
        leader.progress.retain(|p, _| targets.contains(p));
        for t in targets.into_iter().filter(|t| *t != id) {
            leader.progress.entry(t).or_insert_with(|| Progress::new(last));
        }
        self.advance_commit(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u32]) -> Vec<NodeId> {
        v.iter().map(|&i| NodeId(i)).collect()
    }

    #[test]
    fn configurations_follow_the_log() {
        let mut m = Membership::new(0, ids(&[0, 1, 2]));
        m.append(5, ids(&[0, 1, 2, 3]));
        m.append(9, ids(&[0, 2, 3]));
        assert_eq!(m.latest(), ids(&[0, 2, 3]).as_slice());
        assert_eq!(m.at(7), ids(&[0, 1, 2, 3]).as_slice());
        assert_eq!(m.at(2), ids(&[0, 1, 2]).as_slice());
        m.truncate_from(9);
        assert_eq!(m.latest_index(), 5);
        m.compact_to(6);
        assert_eq!(m.latest(), ids(&[0, 1, 2, 3]).as_slice());
        assert_eq!(m.latest_index(), 6);
        assert_eq!(m.apply(Change::Remove(NodeId(1))), ids(&[0, 2, 3]));
        assert_eq!(m.apply(Change::Add(NodeId(0))), ids(&[0, 1, 2, 3]));
    }

    #[test]
    fn quorums_count_only_members_of_the_latest_configuration() {
        let m = Membership::new(0, ids(&[0, 1, 2, 3]));
        assert!(!m.is_quorum(ids(&[0, 1]).into_iter()));
        assert!(m.is_quorum(ids(&[0, 1, 3]).into_iter()));
        assert!(!m.is_quorum(ids(&[0, 1, 7]).into_iter()), "a non-member's vote does not count");
        // Matched indexes 9, 7, 5, 3: a majority (3 of 4) holds 5.
        assert_eq!(m.quorum_index(|n| [9, 7, 5, 3][n.0 as usize]), 5);
    }
}
