//! Linearizable reads with ReadIndex (thesis 6.4), without leases.
//!
//! A read must see every write that completed before it began. The leader (1) takes as the read
//! index its commit index, or the index of its term's no-op if that is not committed yet (until
//! then it does not know which earlier entries are committed; the read simply waits), (2) starts
//! a new broadcast round and waits until a majority of the latest configuration has answered
//! that round or a later one in its term, which proves no other leader had been elected when the
//! read arrived, (3) waits until it has applied the read index, then (4) answers from its state
//! machine. Reads do not touch the log or client sessions. Since nothing depends on clocks,
//! skewed, drifting or stepping clocks cannot make a read stale; they can only delay it. (A
//! lease would save the round trip but is only safe with a bound on clock drift; we do not use
//! one.)

use crate::machine::StateMachine;
use crate::msg::{Append, LogId, Msg};
use crate::state::PendingRead;
use crate::{Raft, RaftBug, Stop};
use faultline_sim::{NodeId, RequestId};

impl<M: StateMachine> Raft<M> {
    /// Leader: a client read.
    pub(crate) fn request_read(&mut self, id: RequestId, key: M::Read) -> Result<(), Stop> {
        if self.has_bug(RaftBug::StaleLocalRead) {
            // BUG(StaleLocalRead): answer at once, though this node may have been deposed.
            let resp = self.kv.read(&key);
            return self.reply(id, resp);
        }
        let commit = self.commit;
        let Some(leader) = self.leader_state_mut() else { return self.reply_not_leader(id) };
        let index = commit.max(leader.term_start);
        leader.round += 1;
        let round = leader.round;
        leader.reads.push(PendingRead { id, key, index, round });
        self.confirm_round();
        self.serve_reads();
        Ok(())
    }

    /// Sends the current round to every follower as an empty AppendEntries at its match index,
    /// which it acknowledges without disturbing entries in flight.
    fn confirm_round(&mut self) {
        let (term, commit) = (self.hard.term, self.commit);
        let Some(leader) = self.leader_state() else { return };
        let round = leader.round;
        let targets: Vec<(NodeId, u64)> = leader.progress.iter().map(|(n, p)| (*n, p.matched)).collect();
        for (peer, matched) in targets {
            match self.log.term_at(matched) {
                Some(t) => {
                    let prev = LogId::new(matched, t);
                    self.send(peer, Msg::Append(Append { term, prev, entries: Vec::new(), commit, round }));
                }
                None => self.send_append(peer),
            }
        }
    }

    /// Answers the reads whose round a quorum confirmed and whose index is applied.
    pub(crate) fn serve_reads(&mut self) {
        let (me, applied) = (self.id, self.applied);
        let Some(leader) = self.leader_state() else { return };
        if leader.reads.is_empty() {
            return;
        }
        let confirmed = self.members.quorum_index(|m| {
            if m == me {
                leader.round
            } else {
                leader.progress.get(&m).map_or(0, |p| p.round)
            }
        });
        let leader = self.leader_state_mut().expect("checked above");
        let (ready, waiting) =
            leader.reads.drain(..).partition(|r| r.round <= confirmed && r.index <= applied);
        leader.reads = waiting;
        for read in ready.into_iter().collect::<Vec<PendingRead<M>>>() {
            let resp = self.kv.read(&read.key);
            let _ = self.reply(read.id, resp);
        }
    }
}
