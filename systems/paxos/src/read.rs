//! Linearizable reads, confirmed by a quorum (as Raft's ReadIndex, thesis 6.4), without leases.
//!
//! A read must see every write that completed before it began. Such a write was chosen before
//! the read reached the leader: by this leader (its commit covers it) or by an earlier ballot
//! (its phase 1 adopted it, at a slot up to `adopted`). So the leader (1) notes the slot it must
//! have applied, the later of its commit and `adopted`; (2) starts a broadcast round and waits
//! until a majority has answered that round or a later one at its ballot: each answer says that
//! acceptor had promised no higher ballot when it answered, so no later leader had finished
//! phase 1 when the read arrived and none could have chosen anything the read must see; (3)
//! waits until it has applied that far; (4) answers from its state machine. Nothing depends on
//! clocks: skewed or stepping clocks can delay a read, never make it stale.

use crate::bugs::PaxosBug;
use crate::msg::Response;
use crate::state::PendingRead;
use crate::{Paxos, Stop};
use faultline_sim::RequestId;

impl Paxos {
    /// Leader: a client read.
    pub(crate) fn request_read(&mut self, id: RequestId, key: String) -> Result<(), Stop> {
        if self.has_bug(PaxosBug::StaleLeaderRead) {
            // BUG(StaleLeaderRead): answer at once, though this node may have been deposed.
            let value = self.kv.get(&key).map(str::to_string);
            self.reply(id, Response::Value(value));
            return Ok(());
        }
        let chosen_upto = self.chosen_upto;
        let Some(l) = self.leader_state_mut() else {
            self.reply_not_leader(id);
            return Ok(());
        };
        l.round += 1;
        let read = PendingRead { id, key, slot: chosen_upto.max(l.adopted), round: l.round };
        l.reads.push(read);
        self.broadcast();
        self.serve_reads();
        Ok(())
    }

    /// Answers the reads whose round a majority confirmed and whose slot is applied.
    pub(crate) fn serve_reads(&mut self) {
        let applied = self.applied;
        let Some(l) = self.leader_state() else { return };
        if l.reads.is_empty() {
            return;
        }
        // The highest round a majority (this node included) has confirmed.
        let mut rounds: Vec<u64> = l.peers.values().map(|p| p.round).collect();
        rounds.push(l.round);
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        let confirmed = rounds[self.config.nodes as usize / 2];
        let l = self.leader_state_mut().expect("checked above");
        let (ready, waiting): (Vec<PendingRead>, Vec<PendingRead>) =
            l.reads.drain(..).partition(|r| r.round <= confirmed && r.slot <= applied);
        l.reads = waiting;
        for read in ready {
            let value = self.kv.get(&read.key).map(str::to_string);
            self.reply(read.id, Response::Value(value));
        }
    }
}
