//! The replicated key-value state machine, with client sessions for exactly-once writes.
//!
//! Values are strings. `put` sets, `append` concatenates (a missing key counts as empty), and
//! `cas` sets `to` only if the current value equals `from` (`None` meaning missing); a failed
//! compare changes nothing and is reported as such. Reads do not go through the log (see
//! `read.rs`), so they never touch sessions.
//!
//! Client sessions (thesis 6.3): a client retries a write with the same `RequestId` until it
//! hears back, so one write can be appended to the log several times (retries, duplicated
//! messages, a new leader after a crash). Each client has one write in flight and numbers its
//! writes upwards, so the state machine keeps, per client, the last applied sequence number and
//! its response: an entry with that number again is a duplicate and returns the saved response
//! without applying; an entry with a lower number is older than what the client has since
//! moved on to and is ignored. Sessions are part of the state machine, hence of snapshots, so
//! every replica makes the same decisions. They are never evicted (the workload's clients are
//! few); a long-lived deployment would expire them as the thesis describes.

use crate::msg::{Response, WriteOp};
use faultline_sim::{ClientId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The last write applied for one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    last_seq: u64,
    response: Response,
}

/// Keys, values and client sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvStore {
    data: BTreeMap<String, String>,
    sessions: BTreeMap<ClientId, Session>,
    /// The digest of the above, computed on demand and forgotten on every change: the harness
    /// asks for it after every step, and most steps change nothing.
    #[serde(skip)]
    digest: DigestCache,
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
pub enum Applied {
    /// Executed now; this is its response.
    Executed(Response),
    /// Already executed earlier; this is the saved response.
    Duplicate(Response),
    /// Older than the client's last applied write: ignored.
    Stale,
}

impl Applied {
    /// The response to give the client, if any.
    pub fn response(self) -> Option<Response> {
        match self {
            Applied::Executed(r) | Applied::Duplicate(r) => Some(r),
            Applied::Stale => None,
        }
    }
}

impl KvStore {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// The key-value pairs, in key order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.data.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Applies a client write at most once per request id (see the module header).
    pub fn apply(&mut self, id: RequestId, op: &WriteOp) -> Applied {
        self.digest.0.set(None);
        if let Some(session) = self.sessions.get(&id.client) {
            if id.seq == session.last_seq {
                return Applied::Duplicate(session.response.clone());
            }
            if id.seq < session.last_seq {
                return Applied::Stale;
            }
        }
        let response = self.execute(op);
        self.sessions.insert(id.client, Session { last_seq: id.seq, response: response.clone() });
        Applied::Executed(response)
    }

    /// The saved response if `id` is its client's last applied write.
    pub fn saved_response(&self, id: RequestId) -> Option<&Response> {
        self.sessions.get(&id.client).filter(|s| s.last_seq == id.seq).map(|s| &s.response)
    }

    /// Whether `id` is older than its client's last applied write.
    pub fn is_stale(&self, id: RequestId) -> bool {
        self.sessions.get(&id.client).is_some_and(|s| id.seq < s.last_seq)
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

    fn execute(&mut self, op: &WriteOp) -> Response {
        match op {
            WriteOp::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                Response::Written
            }
            WriteOp::Append { key, value } => {
                self.data.entry(key.clone()).or_default().push_str(value);
                Response::Written
            }
            WriteOp::Cas { key, from, to } => {
                let current = self.data.get(key);
                if current != from.as_ref() {
                    return Response::CasFailed { current: current.cloned() };
                }
                self.data.insert(key.clone(), to.clone());
                Response::Swapped
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

    fn put(k: &str, v: &str) -> WriteOp {
        WriteOp::Put { key: k.into(), value: v.into() }
    }

    fn append(k: &str, v: &str) -> WriteOp {
        WriteOp::Append { key: k.into(), value: v.into() }
    }

    #[test]
    fn operations_follow_the_key_value_model() {
        let mut kv = KvStore::default();
        assert_eq!(kv.apply(id(0, 1), &append("k", "a")), Applied::Executed(Response::Written));
        assert_eq!(kv.get("k"), Some("a"));
        kv.apply(id(0, 2), &append("k", "b"));
        assert_eq!(kv.get("k"), Some("ab"));
        let cas = WriteOp::Cas { key: "k".into(), from: Some("x".into()), to: "y".into() };
        let failed = Response::CasFailed { current: Some("ab".into()) };
        assert_eq!(kv.apply(id(0, 3), &cas), Applied::Executed(failed));
        let cas = WriteOp::Cas { key: "k".into(), from: Some("ab".into()), to: "y".into() };
        assert_eq!(kv.apply(id(0, 4), &cas), Applied::Executed(Response::Swapped));
        let create = WriteOp::Cas { key: "new".into(), from: None, to: "1".into() };
        assert_eq!(kv.apply(id(0, 5), &create), Applied::Executed(Response::Swapped));
        assert_eq!(kv.pairs().collect::<Vec<_>>(), vec![("k", "y"), ("new", "1")]);
    }

    #[test]
    fn sessions_apply_each_write_once() {
        // Thesis 6.3: a duplicate returns the saved response without re-executing; an older
        // request than the client's last is ignored.
        let mut kv = KvStore::default();
        kv.apply(id(7, 1), &append("k", "x"));
        assert_eq!(kv.apply(id(7, 1), &append("k", "x")), Applied::Duplicate(Response::Written));
        assert_eq!(kv.get("k"), Some("x"));
        kv.apply(id(7, 2), &append("k", "y"));
        assert_eq!(kv.apply(id(7, 1), &append("k", "x")), Applied::Stale);
        assert_eq!(kv.get("k"), Some("xy"));
        // Another client's numbering is independent.
        kv.apply(id(8, 1), &put("k", "z"));
        assert_eq!(kv.get("k"), Some("z"));
        assert_eq!(kv.saved_response(id(7, 2)), Some(&Response::Written));
        assert!(kv.is_stale(id(7, 1)) && !kv.is_stale(id(7, 3)));
    }

    #[test]
    fn digest_covers_data_and_sessions() {
        let mut a = KvStore::default();
        let mut b = KvStore::default();
        a.apply(id(0, 1), &put("k", "v"));
        b.apply(id(1, 1), &put("k", "v"));
        assert_eq!(a.get("k"), b.get("k"));
        assert_ne!(a.digest(), b.digest());
        b = a.clone();
        assert_eq!(a.digest(), b.digest());
    }
}
