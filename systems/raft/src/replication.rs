//! Log replication (section 5.3), commitment (section 5.4.2) and applying committed entries.
//!
//! Leader side: each follower has a `Progress`. AppendEntries carries the entries after `next`
//! (at most `max_entries_per_message`), and `next` advances optimistically as they are sent, so
//! new entries stream to followers that are caught up. A conflict reply rewinds `next` using
//! the follower's hint: past the leader's last entry of the conflicting term if it has one,
//! else to the follower's first index of that term or its log end (the fast back-off sketched
//! at the end of section 5.3); the follower is then probed one message at a time. Each
//! heartbeat rewinds caught-up followers to their match index + 1, which retransmits anything
//! lost. A follower whose `next` falls inside the snapshot gets InstallSnapshot instead.
//!
//! Follower side: the consistency check on `prev`; entries that conflict (different term, or a
//! hole: unreadable, see `storage.rs`) are truncated with everything after them, new ones are
//! appended and synced, then persisted-marked, and only then acknowledged. An entry is never
//! truncated because a delayed message ends earlier than the log (Figure 2, receiver step 3).
//! The acknowledged index stops before the first hole, so no quorum counts an unreadable
//! entry. The commit index follows the leader's, capped by the last entry this message
//! verified.
//!
//! Commitment: the leader commits the highest index a majority of the latest configuration
//! holds, but only if that entry is from its current term; earlier entries commit with it
//! (section 5.4.2, the Figure 8 hazard).

use crate::machine::RaftReply;
use crate::machine::StateMachine;
use crate::msg::{Append, AppendReply, AppendResult, Command, Entry, LogId, Msg};
use crate::state::Role;
use crate::{Raft, RaftBug, Stop, Timer, Unavailable};
use faultline_sim::{Context, DiskError, NodeId, RequestId};

impl<M: StateMachine> Command<M> {
    /// The client request an entry answers, if any.
    fn request(&self) -> Option<RequestId> {
        match self {
            Command::Noop => None,
            Command::Write { id, .. } | Command::Config { id, .. } => Some(*id),
        }
    }
}

impl<M: StateMachine> Raft<M> {
    /// Leader: appends `command` in the current term, durably, and starts replicating it.
    pub(crate) fn append_as_leader(
        &mut self,
        cx: &mut Context<'_, Self>,
        command: Command<M>,
    ) -> Result<u64, Stop> {
        let index = self.log.last_index() + 1;
        let (is_config, request) = (matches!(command, Command::Config { .. }), command.request());
        if let Command::Config { members, .. } = &command {
            self.members.append(index, members.clone());
        }
        self.log.append(Entry { index, term: self.hard.term, command });
        self.persist_tail(cx, index)?;
        if let (Some(id), Some(leader)) = (request, self.leader_state_mut()) {
            leader.writes.insert(index, id);
        }
        if is_config {
            self.on_config_change(cx)?;
        }
        self.replicate_new(index);
        self.advance_commit(cx)?;
        Ok(index)
    }

    /// Writes the log's entries from `from` on (just appended in memory) and marks them
    /// persisted. On a full disk the append is undone in memory too.
    fn persist_tail(&mut self, cx: &mut Context<'_, Self>, from: u64) -> Result<(), Stop> {
        let entries = self.log.entries(from, usize::MAX);
        let last = self.log.last();
        let result = self.store().append(cx.disk(), &entries, last);
        if matches!(result, Err(DiskError::Full(_))) {
            self.log.truncate_from(from);
            self.members.truncate_from(from);
        }
        self.disk(result)?;
        self.marked = last.index;
        self.promise = self.promise.max(last);
        Ok(())
    }

    /// Drops `at` and everything after it, on disk and in memory, keeping the promise.
    fn truncate_log(&mut self, cx: &mut Context<'_, Self>, at: u64) -> Result<(), Stop> {
        self.save_promise(cx)?;
        self.drop_tail(cx, at)
    }

    fn drop_tail(&mut self, cx: &mut Context<'_, Self>, at: u64) -> Result<(), Stop> {
        let base = self.log.base().index;
        let result = self.store().truncate_from(cx.disk(), base, at);
        self.disk(result)?;
        self.log.truncate_from(at);
        self.members.truncate_from(at);
        self.marked = self.marked.min(at - 1);
        Ok(())
    }

    /// Makes sure a persist record covers `index` before it is acknowledged.
    fn mark_through(&mut self, cx: &mut Context<'_, Self>, index: u64) -> Result<(), Stop> {
        if index <= self.marked {
            return Ok(());
        }
        let last = self.log.last();
        let result = self.store().mark(cx.disk(), last);
        self.disk(result)?;
        self.marked = last.index;
        self.promise = self.promise.max(last);
        Ok(())
    }

    /// Leader: sends a just-appended entry to followers that are caught up.
    fn replicate_new(&mut self, index: u64) {
        let Some(leader) = self.leader_state() else { return };
        let ready: Vec<NodeId> =
            leader.progress.iter().filter(|(_, p)| !p.probing && p.next == index).map(|(n, _)| *n).collect();
        for peer in ready {
            self.send_append(peer);
        }
    }

    /// Leader: AppendEntries to everyone; a heartbeat starts a new round (see `read.rs`) and
    /// retransmits what caught-up followers have not acknowledged.
    pub(crate) fn broadcast(&mut self, heartbeat: bool) {
        let Some(leader) = self.leader_state_mut() else { return };
        if heartbeat {
            leader.round += 1;
            for p in leader.progress.values_mut().filter(|p| !p.probing) {
                p.next = p.matched + 1;
            }
        }
        let peers: Vec<NodeId> = leader.progress.keys().copied().collect();
        for peer in peers {
            self.send_append(peer);
        }
    }

    /// Leader: the next AppendEntries (or InstallSnapshot) for `to`.
    pub(crate) fn send_append(&mut self, to: NodeId) {
        let (term, commit, base, last) =
            (self.hard.term, self.commit, self.log.base().index, self.log.last_index());
        let Some(leader) = self.leader_state() else { return };
        let Some(next) = leader.progress.get(&to).map(|p| p.next.min(last + 1)) else { return };
        if next <= base {
            return self.send_snapshot(to);
        }
        let prev = LogId::new(next - 1, self.log.term_at(next - 1).expect("a leader's log has no holes"));
        let max = if self.one_entry_per_append { 1 } else { self.config.max_entries_per_message };
        let entries = self.log.entries(next, max);
        let round = leader.round;
        if let Some(p) = self.leader_state_mut().and_then(|l| l.progress.get_mut(&to)) {
            p.next = next + entries.len() as u64;
        }
        self.send(to, Msg::Append(Append { term, prev, entries, commit, round }));
    }

    pub(crate) fn handle_append(
        &mut self,
        cx: &mut Context<'_, Self>,
        from: NodeId,
        a: Append<M>,
    ) -> Result<(), Stop> {
        if a.term < self.hard.term {
            let reply = AppendReply { term: self.hard.term, round: a.round, result: AppendResult::StaleTerm };
            self.send(from, Msg::AppendReply(reply));
            return Ok(());
        }
        if self.is_leader() && a.term == self.hard.term {
            return Ok(()); // two leaders in one term: only possible with a planted bug
        }
        self.follow(cx, a.term, Some(from))?;
        let result = self.accept_entries(cx, &a)?;
        let reply = AppendReply { term: self.hard.term, round: a.round, result };
        self.send(from, Msg::AppendReply(reply));
        Ok(())
    }

    /// Figure 2's receiver implementation, steps 2 to 5.
    fn accept_entries(&mut self, cx: &mut Context<'_, Self>, a: &Append<M>) -> Result<AppendResult, Stop> {
        let base = self.log.base();
        // Entries the snapshot covers are committed, hence identical to the leader's.
        let skip = base.index.saturating_sub(a.prev.index) as usize;
        if skip > a.entries.len() {
            return Ok(AppendResult::Matched { index: a.prev.index + a.entries.len() as u64 });
        }
        let (prev, entries) = if skip > 0 { (base, &a.entries[skip..]) } else { (a.prev, &a.entries[..]) };
        if let Some(conflict) = self.check_prev(prev) {
            return Ok(conflict);
        }
        let last_new = prev.index + entries.len() as u64;
        if let Some(k) = entries.iter().position(|e| self.log.readable_term_at(e.index) != Some(e.term)) {
            self.append_from_leader(cx, &entries[k..])?;
        } else if self.has_bug(RaftBug::TruncateOnStaleAppend) && last_new < self.log.last_index() {
            // BUG(TruncateOnStaleAppend): a delayed, shorter message cuts matching entries, and
            // the node forgets it ever acknowledged them (as a Raft without promises would).
            self.drop_tail(cx, last_new + 1)?;
            self.promise = self.log.last().max(self.hard.promise);
        }
        let matched = self.log.first_hole().map_or(last_new, |h| last_new.min(h - 1));
        self.mark_through(cx, matched)?;
        self.learn_commit(cx, a.commit.min(matched))?;
        Ok(AppendResult::Matched { index: matched })
    }

    /// The consistency check (section 5.3), with a fast back-off hint on failure. A hole at or
    /// before `prev` fails it too: the leader must resend from the hole.
    fn check_prev(&self, prev: LogId) -> Option<AppendResult> {
        if let Some(hole) = self.log.first_hole().filter(|&h| h <= prev.index) {
            return Some(AppendResult::Conflict { index: self.log.hole_run_start(hole), term: None });
        }
        match self.log.term_at(prev.index) {
            Some(t) if t == prev.term => None,
            Some(t) => Some(AppendResult::Conflict {
                index: self.log.first_index_of_term(t, prev.index),
                term: Some(t),
            }),
            None => Some(AppendResult::Conflict { index: self.log.last_index() + 1, term: None }),
        }
    }

    /// Replaces the log from `entries[0]` on with `entries` (a conflict, a hole, or new ones).
    fn append_from_leader(&mut self, cx: &mut Context<'_, Self>, entries: &[Entry<M>]) -> Result<(), Stop> {
        let at = entries[0].index;
        if self.log.is_hole(at) {
            tracing::debug!(node = %self.id, index = at, "repairing unreadable entries from the leader");
            // Repair: the entries after the hole may match the leader's and be committed, with
            // this node counted; the promise must outlive them.
            self.truncate_log(cx, at)?;
        } else if at <= self.log.last_index() {
            // A conflict: the leader holds every committed entry (leader completeness), so the
            // entry at `at` and all after it are uncommitted, and the promise may fall back.
            cx.sometimes("raft.follower_overwrites_conflicting_entries");
            self.drop_tail(cx, at)?;
            self.promise = self.log.last().max(self.hard.promise);
        }
        for e in entries {
            if let Command::Config { members, .. } = &e.command {
                self.members.append(e.index, members.clone());
            }
            self.log.append(e.clone());
        }
        self.persist_tail(cx, at)
    }

    pub(crate) fn learn_commit(&mut self, cx: &mut Context<'_, Self>, commit: u64) -> Result<(), Stop> {
        if commit > self.commit {
            self.commit = commit;
            self.apply_committed(cx)?;
        }
        Ok(())
    }

    pub(crate) fn handle_append_reply(
        &mut self,
        cx: &mut Context<'_, Self>,
        from: NodeId,
        r: AppendReply,
    ) -> Result<(), Stop> {
        if r.term > self.hard.term {
            return self.observe_term(cx, r.term);
        }
        if r.term < self.hard.term {
            return Ok(());
        }
        let next = match r.result {
            AppendResult::Conflict { index, term } => Some(self.next_after_conflict(index, term)),
            _ => None,
        };
        let last = self.log.last_index();
        let Some(p) = self.leader_state_mut().and_then(|l| l.progress.get_mut(&from)) else { return Ok(()) };
        p.active = true;
        p.round = p.round.max(r.round);
        match (r.result, next) {
            (AppendResult::Matched { index }, _) => {
                p.matched = p.matched.max(index);
                p.next = p.next.max(index + 1);
                p.probing = false;
            }
            (_, Some(next)) => {
                // A follower that lost acknowledged entries (a hole) asks for them again: its
                // match index really did go down. A stale reply only causes a resend.
                p.matched = p.matched.min(next.saturating_sub(1));
                p.next = next.clamp(p.matched + 1, last + 1);
                p.probing = true;
            }
            _ => {}
        }
        let resend = p.next <= last || next.is_some();
        self.advance_commit(cx)?;
        if resend {
            self.send_append(from);
        }
        self.serve_reads();
        Ok(())
    }

    /// Where to resume after a conflict hint (section 5.3's optimization).
    fn next_after_conflict(&self, index: u64, term: Option<u64>) -> u64 {
        term.and_then(|t| self.log.last_index_of_term(t)).map_or(index, |i| i + 1)
    }

    /// Leader: commits the highest index a majority holds, if it is of the current term.
    pub(crate) fn advance_commit(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        let Some(leader) = self.leader_state() else { return Ok(()) };
        let (me, last) = (self.id, self.log.last_index());
        let n = self.members.quorum_index(|m| {
            if m == me {
                last
            } else {
                leader.progress.get(&m).map_or(0, |p| p.matched)
            }
        });
        if n <= self.commit {
            return Ok(());
        }
        // BUG(CommitOldTermByCounting): count replicas of any term, not only the current one.
        if self.log.term_at(n) != Some(self.hard.term) {
            // Figure 8: a majority holds an entry of an earlier term; counting must not commit it.
            cx.sometimes("raft.old_term_entry_on_a_majority");
            if !self.has_bug(RaftBug::CommitOldTermByCounting) {
                return Ok(());
            }
        }
        self.commit = n;
        self.apply_committed(cx)?;
        self.crash_here(cx, "as a leader that applied entries no follower knows are committed")?;
        // Clients have their answers; the followers learn the commit only with the next message.
        cx.crash_point();
        Ok(())
    }

    /// Applies committed entries in order, answering the clients waiting on them.
    pub(crate) fn apply_committed(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        while self.applied < self.commit {
            let index = self.applied + 1;
            let entry = self.log.entry(index).cloned().expect("committed entries are readable");
            let digest = self.log.digest_at(index).expect("an entry has a digest");
            self.apply_entry(entry);
            self.applied = index;
            self.applied_in_step.push((index, digest));
        }
        self.maybe_snapshot(cx)?;
        self.serve_reads();
        self.leave_if_removed(cx)
    }

    fn apply_entry(&mut self, entry: Entry<M>) {
        match entry.command {
            Command::Noop => {}
            Command::Write { id, op } => {
                if let Some(resp) = self.kv.apply(id, &op) {
                    self.answer(entry.index, id, resp);
                }
            }
            Command::Config { members, id } => {
                self.answer(entry.index, id, RaftReply::Members(members).into())
            }
        }
    }

    /// Replies to the client waiting on the entry at `index`, if this leader appended it.
    fn answer(&mut self, index: u64, id: RequestId, resp: M::Response) {
        let Some(leader) = self.leader_state_mut() else { return };
        if leader.writes.get(&index) == Some(&id) {
            leader.writes.remove(&index);
            let _ = self.reply(id, resp);
        }
    }

    /// A leader whose removal is committed steps down (thesis 4.2.2).
    fn leave_if_removed(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        let removed = !self.members.is_member(self.id) && self.members.latest_index() <= self.commit;
        if self.is_leader() && removed {
            cx.sometimes("raft.removed_leader_steps_down");
            return self.step_down(cx);
        }
        Ok(())
    }

    /// Leader: a client write. Duplicates of applied writes get the saved response; a retry of
    /// a write still in flight waits for the original.
    pub(crate) fn request_write(
        &mut self,
        cx: &mut Context<'_, Self>,
        id: RequestId,
        op: M::Write,
    ) -> Result<(), Stop> {
        if let Some(resp) = self.kv.saved_response(id) {
            return self.reply(id, resp);
        }
        if self.kv.is_stale(id) || self.leader_state().is_some_and(|l| l.writes.values().any(|w| *w == id)) {
            return Ok(());
        }
        if self.append_as_leader(cx, Command::Write { id, op }).is_err() && self.halt.is_none() {
            return self.reply(id, RaftReply::Unavailable(Unavailable::DiskFull).into());
        }
        self.crash_here(cx, "as a leader, with a new entry on its own disk only")
    }

    /// Leader heartbeat: check that a quorum is still in contact, then broadcast.
    pub(crate) fn on_heartbeat(&mut self, cx: &mut Context<'_, Self>) -> Result<(), Stop> {
        if matches!(self.role, Role::Candidate { .. }) {
            self.retry_vote_requests(cx);
            return Ok(());
        }
        if !self.is_leader() {
            return Ok(());
        }
        cx.set_timer(Timer::Heartbeat, self.config.heartbeat_interval);
        if !self.quorum_in_contact() {
            return self.step_down(cx);
        }
        // Until the next heartbeat, trickle entries one per message (a leader may send fewer):
        // an entry then reaches a majority before the one after it, as with a slow link.
        self.one_entry_per_append = faultline_sim::buggify!(cx);
        self.broadcast(true);
        Ok(())
    }

    /// "Check quorum": every election timeout, a leader that has not heard from a majority
    /// steps down, so that clients stop waiting on a leader cut off from the cluster.
    fn quorum_in_contact(&mut self) -> bool {
        let (interval, window, me) =
            (self.config.heartbeat_interval, self.config.election_timeout_max, self.id);
        let Role::Leader(leader) = &mut self.role else { return false };
        leader.ticks += 1;
        if interval * leader.ticks < window {
            return true;
        }
        leader.ticks = 0;
        let mut active: Vec<NodeId> =
            leader.progress.iter().filter(|(_, p)| p.active).map(|(n, _)| *n).collect();
        active.push(me);
        leader.progress.values_mut().for_each(|p| p.active = false);
        self.members.is_quorum(active.into_iter())
    }
}
