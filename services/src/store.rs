//! The replicated key-value state machine, with client sessions for exactly-once writes.
//!
//! Client sessions (Ongaro's thesis, section 6.3): a client retries a write with the same
//! `RequestId` until it hears back, so one write can be ordered several times (retries,
//! duplicated messages, a new leader after a crash). Each client has one write in flight and
//! numbers its writes upwards, so the state machine keeps, per client, the last applied sequence
//! number and its response: that number again is a duplicate and returns the saved response
//! without applying; a lower number is older than what the client has since moved on to and is
//! ignored. Sessions are part of the state machine, hence of snapshots, so every replica makes
//! the same decisions. They are never evicted (the workload's clients are few); a long-lived
//! deployment would expire them as the thesis describes.
//!
//! The store is generic over the response `R` it saves for a retried request: a protocol saves
//! its own response type (built from a [`KvOutcome`]), so a duplicate is answered exactly as the
//! first attempt was.

use crate::kv::{KvOp, KvOutcome, KvWrite};
use faultline_sim::{ClientId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The last write applied for one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session<R> {
    last_seq: u64,
    response: R,
}

/// Client sessions as they travel between replicated groups with the data they cover (see
/// [`KvStore::sessions`] and [`KvStore::merge_sessions`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sessions<R>(BTreeMap<ClientId, Session<R>>);

impl<R> Default for Sessions<R> {
    fn default() -> Self {
        Sessions(BTreeMap::new())
    }
}

/// Keys, values and client sessions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvStore<R = KvOutcome> {
    data: BTreeMap<String, String>,
    sessions: BTreeMap<ClientId, Session<R>>,
    /// The digest of the above, computed on demand and forgotten on every change: the harness
    /// asks for it after every step, and most steps change nothing.
    #[serde(skip)]
    digest: DigestCache,
}

impl<R> Default for KvStore<R> {
    fn default() -> Self {
        KvStore { data: BTreeMap::new(), sessions: BTreeMap::new(), digest: DigestCache::default() }
    }
}

/// A cached digest that takes no part in equality.
#[derive(Clone, Debug, Default)]
struct DigestCache(std::cell::Cell<Option<u64>>);

impl PartialEq for DigestCache {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for DigestCache {}

/// What applying a write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied<R> {
    /// Executed now; this is its response.
    Executed(R),
    /// Already executed earlier; this is the saved response.
    Duplicate(R),
    /// Older than the client's last applied write: ignored.
    Stale,
}

impl<R> Applied<R> {
    /// The response to give the client, if any.
    pub fn response(self) -> Option<R> {
        match self {
            Applied::Executed(r) | Applied::Duplicate(r) => Some(r),
            Applied::Stale => None,
        }
    }
}

impl<R: Clone + Serialize + From<KvOutcome>> KvStore<R> {
    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// The key-value pairs, in key order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.data.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A get's outcome, read from the current state (no session: reads change nothing).
    pub fn read(&self, key: &str) -> KvOutcome {
        KvOutcome::Value(self.data.get(key).cloned())
    }

    /// Executes `op` for request `id`: a write at most once per request id (see the module
    /// header), a get as a read of the current state.
    pub fn apply_op(&mut self, id: RequestId, op: &KvOp) -> Applied<R> {
        match op {
            KvOp::Get { key } => Applied::Executed(self.read(key).into()),
            KvOp::Write(w) => self.apply(id, w),
        }
    }

    /// Applies a client write at most once per request id (see the module header).
    pub fn apply(&mut self, id: RequestId, op: &KvWrite) -> Applied<R> {
        self.digest.0.set(None);
        if let Some(session) = self.sessions.get(&id.client) {
            if id.seq == session.last_seq {
                return Applied::Duplicate(session.response.clone());
            }
            if id.seq < session.last_seq {
                return Applied::Stale;
            }
        }
        let response: R = self.execute(op).into();
        self.sessions.insert(id.client, Session { last_seq: id.seq, response: response.clone() });
        Applied::Executed(response)
    }

    /// The saved response if `id` is its client's last applied write.
    pub fn saved_response(&self, id: RequestId) -> Option<&R> {
        self.sessions.get(&id.client).filter(|s| s.last_seq == id.seq).map(|s| &s.response)
    }

    /// Whether `id` is older than its client's last applied write.
    pub fn is_stale(&self, id: RequestId) -> bool {
        self.sessions.get(&id.client).is_some_and(|s| id.seq < s.last_seq)
    }

    /// Removes the pairs whose key `leaves` selects and returns them in key order: the data a
    /// replicated group hands to another when keys move (a shard's range in a migration).
    pub fn take_pairs(&mut self, leaves: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        self.digest.0.set(None);
        let moving: Vec<String> = self.data.keys().filter(|k| leaves(k)).cloned().collect();
        moving.into_iter().map(|k| (k.clone(), self.data.remove(&k).expect("listed above"))).collect()
    }

    /// Installs pairs handed over from another group, replacing any value at their keys.
    pub fn insert_pairs(&mut self, pairs: impl IntoIterator<Item = (String, String)>) {
        self.digest.0.set(None);
        self.data.extend(pairs);
    }

    /// The client sessions, to travel with data that moves to another group: a retried write
    /// that was applied here must be recognised there.
    pub fn sessions(&self) -> Sessions<R> {
        Sessions(self.sessions.clone())
    }

    /// Merges sessions handed over from another group: per client, the later write wins (a
    /// client numbers its writes upwards and has one in flight, so the later one is the one it
    /// may still retry).
    pub fn merge_sessions(&mut self, other: &Sessions<R>) {
        self.digest.0.set(None);
        for (client, theirs) in &other.0 {
            let newer = self.sessions.get(client).is_none_or(|mine| theirs.last_seq > mine.last_seq);
            if newer {
                self.sessions.insert(*client, theirs.clone());
            }
        }
    }

    /// A digest of the whole state (data and sessions): equal states, equal digests.
    pub fn digest(&self) -> u64 {
        if let Some(d) = self.digest.0.get() {
            return d;
        }
        let bytes = postcard::to_allocvec(self).expect("a KvStore always encodes");
        let d = xxhash_rust::xxh3::xxh3_64(&bytes);
        self.digest.0.set(Some(d));
        d
    }

    fn execute(&mut self, op: &KvWrite) -> KvOutcome {
        match op {
            KvWrite::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                KvOutcome::Written
            }
            KvWrite::Append { key, value } => {
                self.data.entry(key.clone()).or_default().push_str(value);
                KvOutcome::Written
            }
            KvWrite::Cas { key, from, to } => {
                let current = self.data.get(key);
                if current != from.as_ref() {
                    return KvOutcome::CasFailed { current: current.cloned() };
                }
                self.data.insert(key.clone(), to.clone());
                KvOutcome::Swapped
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(client: u32, seq: u64) -> RequestId {
        RequestId { client: ClientId(client), seq }
    }

    fn put(k: &str, v: &str) -> KvWrite {
        KvWrite::Put { key: k.into(), value: v.into() }
    }

    fn append(k: &str, v: &str) -> KvWrite {
        KvWrite::Append { key: k.into(), value: v.into() }
    }

    #[test]
    fn operations_follow_the_key_value_model() {
        let mut kv = KvStore::<KvOutcome>::default();
        assert_eq!(kv.apply(id(0, 1), &append("k", "a")), Applied::Executed(KvOutcome::Written));
        assert_eq!(kv.get("k"), Some("a"));
        kv.apply(id(0, 2), &append("k", "b"));
        assert_eq!(kv.get("k"), Some("ab"));
        let cas = KvWrite::Cas { key: "k".into(), from: Some("x".into()), to: "y".into() };
        let failed = KvOutcome::CasFailed { current: Some("ab".into()) };
        assert_eq!(kv.apply(id(0, 3), &cas), Applied::Executed(failed));
        let cas = KvWrite::Cas { key: "k".into(), from: Some("ab".into()), to: "y".into() };
        assert_eq!(kv.apply(id(0, 4), &cas), Applied::Executed(KvOutcome::Swapped));
        let create = KvWrite::Cas { key: "new".into(), from: None, to: "1".into() };
        assert_eq!(kv.apply(id(0, 5), &create), Applied::Executed(KvOutcome::Swapped));
        assert_eq!(kv.pairs().collect::<Vec<_>>(), vec![("k", "y"), ("new", "1")]);
        assert_eq!(
            kv.apply_op(id(0, 6), &KvOp::get("k")),
            Applied::Executed(KvOutcome::Value(Some("y".into())))
        );
    }

    #[test]
    fn sessions_apply_each_write_once() {
        // Thesis 6.3: a duplicate returns the saved response without re-executing; an older
        // request than the client's last is ignored.
        let mut kv = KvStore::<KvOutcome>::default();
        kv.apply(id(7, 1), &append("k", "x"));
        assert_eq!(kv.apply(id(7, 1), &append("k", "x")), Applied::Duplicate(KvOutcome::Written));
        assert_eq!(kv.get("k"), Some("x"));
        kv.apply(id(7, 2), &append("k", "y"));
        assert_eq!(kv.apply(id(7, 1), &append("k", "x")), Applied::Stale);
        assert_eq!(kv.get("k"), Some("xy"));
        // Another client's numbering is independent.
        kv.apply(id(8, 1), &put("k", "z"));
        assert_eq!(kv.get("k"), Some("z"));
        assert_eq!(kv.saved_response(id(7, 2)), Some(&KvOutcome::Written));
        assert!(kv.is_stale(id(7, 1)) && !kv.is_stale(id(7, 3)));
    }

    #[test]
    fn moved_pairs_and_sessions_keep_writes_exactly_once() {
        // A write applied at the source, then retried at the destination after its key moved:
        // the session that travels with the key makes the retry a duplicate.
        let mut source = KvStore::<KvOutcome>::default();
        let mut dest = KvStore::<KvOutcome>::default();
        source.apply(id(1, 5), &put("a", "x"));
        source.apply(id(2, 9), &put("b", "y"));
        dest.apply(id(2, 11), &put("c", "z"));
        let moved = source.take_pairs(|k| k == "a");
        assert_eq!(moved, vec![("a".to_string(), "x".to_string())]);
        assert_eq!(source.get("a"), None);
        dest.insert_pairs(moved);
        dest.merge_sessions(&source.sessions());
        assert_eq!(dest.apply(id(1, 5), &put("a", "x")), Applied::Duplicate(KvOutcome::Written));
        // Client 2's later write at the destination is kept over its older one at the source.
        assert_eq!(dest.saved_response(id(2, 11)), Some(&KvOutcome::Written));
        assert!(dest.is_stale(id(2, 9)));
        assert_eq!(dest.pairs().collect::<Vec<_>>(), vec![("a", "x"), ("c", "z")]);
    }

    #[test]
    fn digest_covers_data_and_sessions() {
        let mut a = KvStore::<KvOutcome>::default();
        let mut b = KvStore::<KvOutcome>::default();
        a.apply(id(0, 1), &put("k", "v"));
        b.apply(id(1, 1), &put("k", "v"));
        assert_eq!(a.get("k"), b.get("k"));
        assert_ne!(a.digest(), b.digest());
        b = a.clone();
        assert_eq!(a.digest(), b.digest());
    }
}
