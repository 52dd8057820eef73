//! Micro-operations grouped by key, the input of per-key version-order inference.
//!
//! A counting sort over interned key ids: two passes, one flat vector, no per-key allocation.
//! Within a key, entries stay in transaction order, then micro-op order.

use super::decode::{flag, Txns};
use super::error::TxnError;
use crate::history::Value;

pub(crate) struct ByKey {
    starts: Vec<u32>,
    /// `(transaction, micro-op index)` pairs, grouped by key.
    entries: Vec<(u32, u32)>,
}

impl ByKey {
    pub(crate) fn new(txns: &Txns<'_>) -> Self {
        let mut starts = vec![0u32; txns.keys.len() + 1];
        for m in &txns.mops {
            starts[m.key as usize + 1] += 1;
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        let mut cursor = starts.clone();
        let mut entries = vec![(0, 0); txns.mops.len()];
        for (t, txn) in txns.txns.iter().enumerate() {
            for i in txn.mop_start..txn.mop_start + txn.mop_len {
                let slot = &mut cursor[txns.mops[i as usize].key as usize];
                entries[*slot as usize] = (t as u32, i);
                *slot += 1;
            }
        }
        ByKey { starts, entries }
    }

    pub(crate) fn keys(&self) -> u32 {
        (self.starts.len() - 1) as u32
    }

    /// The `(transaction, micro-op)` pairs touching key `k`.
    pub(crate) fn of(&self, k: u32) -> &[(u32, u32)] {
        &self.entries[self.starts[k as usize] as usize..self.starts[k as usize + 1] as usize]
    }
}

/// One write of a key: the value, its transaction, and whether it is that transaction's final
/// write of the key.
pub(crate) struct Write<'h> {
    pub value: &'h Value,
    pub txn: u32,
    pub is_final: bool,
}

/// Collects the writes among `entries` (one key's), sorted by value for lookups. Values
/// identify versions, so a value written twice makes the history unusable.
pub(crate) fn sorted_writes<'h>(
    txns: &Txns<'h>,
    k: u32,
    entries: &[(u32, u32)],
    out: &mut Vec<Write<'h>>,
) -> Result<(), TxnError> {
    out.clear();
    for &(t, i) in entries {
        let m = &txns.mops[i as usize];
        if let (true, Some(value)) = (m.is_write(), m.value) {
            out.push(Write { value, txn: t, is_final: m.has(flag::FINAL) });
        }
    }
    out.sort_unstable_by(|a, b| a.value.cmp(b.value).then(a.txn.cmp(&b.txn)));
    match out.windows(2).find(|w| w[0].value == w[1].value) {
        None => Ok(()),
        Some(w) => Err(TxnError::DuplicateWrite {
            key: txns.keys[k as usize].to_string(),
            value: w[0].value.to_string(),
            first: txns.txns[w[0].txn as usize].op as usize,
            second: txns.txns[w[1].txn as usize].op as usize,
        }),
    }
}

/// The write of `value` among sorted `writes`.
pub(crate) fn find_write<'a, 'h>(writes: &'a [Write<'h>], value: &Value) -> Option<&'a Write<'h>> {
    writes.binary_search_by(|w| w.value.cmp(value)).ok().map(|i| &writes[i])
}
