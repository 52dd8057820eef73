//! A server's history in memory: the transactions after its snapshot's position, each with its
//! digest (computed once, for the invariant checkers).

use crate::msg::{Pos, Txn, Zxid};

/// Transactions at positions `base.index + 1 ..`.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    base: Pos,
    txns: Vec<(Txn, u64)>,
}

impl History {
    /// An empty history after `base` (a snapshot's position).
    pub fn new(base: Pos) -> Self {
        History { base, txns: Vec::new() }
    }

    /// The position the history starts after.
    pub fn base(&self) -> Pos {
        self.base
    }

    /// The last position (the base when empty).
    pub fn last(&self) -> Pos {
        match self.txns.last() {
            Some((t, _)) => Pos::new(self.base.index + self.txns.len() as u64, t.zxid),
            None => self.base,
        }
    }

    /// The zxid at `index`, when the history knows it (the base's included).
    pub fn zxid_at(&self, index: u64) -> Option<Zxid> {
        if index == self.base.index {
            return Some(self.base.zxid);
        }
        self.get(index).map(|t| t.zxid)
    }

    /// The position of `index`, when known.
    pub fn pos(&self, index: u64) -> Option<Pos> {
        self.zxid_at(index).map(|z| Pos::new(index, z))
    }

    /// Whether the history holds `pos` (or starts right after it).
    pub fn holds(&self, pos: Pos) -> bool {
        self.zxid_at(pos.index) == Some(pos.zxid)
    }

    pub fn get(&self, index: u64) -> Option<&Txn> {
        let k = index.checked_sub(self.base.index + 1)?;
        self.txns.get(k as usize).map(|(t, _)| t)
    }

    pub fn digest_at(&self, index: u64) -> Option<u64> {
        let k = index.checked_sub(self.base.index + 1)?;
        self.txns.get(k as usize).map(|(_, d)| *d)
    }

    /// The transactions after `index`, at most `max` of them.
    pub fn after(&self, index: u64, max: usize) -> Vec<Txn> {
        let from = index.saturating_sub(self.base.index) as usize;
        self.txns.iter().skip(from).take(max).map(|(t, _)| t.clone()).collect()
    }

    pub fn append(&mut self, txn: Txn) {
        let digest = txn.digest();
        self.txns.push((txn, digest));
    }

    /// Drops everything after `index` (not below the base).
    pub fn truncate_after(&mut self, index: u64) {
        let keep = index.saturating_sub(self.base.index) as usize;
        self.txns.truncate(keep);
    }

    /// Forgets the transactions up to `pos` (now in a snapshot); `pos` must be held.
    pub fn compact(&mut self, pos: Pos) {
        let drop = pos.index.saturating_sub(self.base.index) as usize;
        self.txns.drain(..drop.min(self.txns.len()));
        self.base = pos;
    }

    /// (position, zxid, digest) of every transaction, in order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, Zxid, u64)> + '_ {
        let base = self.base.index;
        self.txns.iter().enumerate().map(move |(k, (t, d))| (base + 1 + k as u64, t.zxid, *d))
    }

    /// The largest position, at most `index`, whose zxid is below `zxid` (not below the base).
    pub fn last_below(&self, index: u64, zxid: Zxid) -> Option<Pos> {
        let top = index.min(self.last().index);
        (self.base.index..=top).rev().filter_map(|i| self.pos(i)).find(|p| p.zxid < zxid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SessionId;
    use crate::msg::TxnBody;

    fn txn(epoch: u64, counter: u64) -> Txn {
        Txn { zxid: Zxid::new(epoch, counter), body: TxnBody::Expire { session: SessionId::default() } }
    }

    #[test]
    fn positions_zxids_truncation_and_compaction() {
        let mut h = History::new(Pos::new(3, Zxid::new(1, 3)));
        for c in 4..=6 {
            h.append(txn(1, c));
        }
        h.append(txn(2, 1));
        assert_eq!(h.last(), Pos::new(7, Zxid::new(2, 1)));
        assert_eq!(h.zxid_at(3), Some(Zxid::new(1, 3)));
        assert!(h.holds(Pos::new(5, Zxid::new(1, 5))));
        assert_eq!(h.after(5, 10).len(), 2);
        assert_eq!(h.last_below(7, Zxid::new(1, 9)), Some(Pos::new(6, Zxid::new(1, 6))));
        assert_eq!(h.last_below(7, Zxid::new(1, 2)), None);
        h.truncate_after(5);
        assert_eq!(h.last(), Pos::new(5, Zxid::new(1, 5)));
        h.compact(Pos::new(4, Zxid::new(1, 4)));
        assert_eq!((h.base().index, h.last().index, h.get(4)), (4, 5, None));
        assert_eq!(h.entries().map(|e| e.0).collect::<Vec<_>>(), vec![5]);
    }
}
