//! The data tree: znodes, sessions and each session's last reply, and the one deterministic
//! function that applies a transaction to it.
//!
//! Semantics follow ZooKeeper: a node's parent must exist and must not be ephemeral; a
//! sequential create appends the parent's `cversion` as ten digits; delete and setData compare
//! the expected version; a node with children cannot be deleted; ephemeral nodes belong to a
//! session and go when it closes. Unlike ZooKeeper, whose leader turns each request into an
//! idempotent transaction against its own view of pending changes, the leader here orders the
//! request itself and every server evaluates it when it applies it: the same outcome
//! everywhere, with no pending-change bookkeeping on the leader.
//!
//! Sessions: `Connect` opens one (idempotent), `Close` and the leader's `Expire` close one; a
//! closed generation of an owner closes every older one, so a delayed `Connect` cannot reopen
//! it. Each session's last transaction and its reply are kept, even after it closes, so that a
//! retried write gets the answer of its first application instead of being applied twice, and a
//! retry after the close still learns what happened.
//!
//! The tree keeps a running digest (a sum of entry hashes, updated on every change), so
//! replicas can be compared after every transaction at no real cost.

use crate::api::{ReadOp, Reply, SessionId, Stat, WriteOp, ZkError};
use crate::msg::{Txn, TxnBody, Zxid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One znode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Znode {
    data: String,
    stat: Stat,
    children: BTreeSet<String>,
}

/// An open session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    timeout_ms: u64,
    ephemerals: BTreeSet<String>,
}

/// A session's last applied request and its reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct LastReply {
    xid: u64,
    zxid: Zxid,
    reply: Reply,
}

/// Whether a session is open, by the tree.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionState {
    Open,
    Closed,
    /// Never opened here (yet).
    Unknown,
}

/// The replicated state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataTree {
    nodes: BTreeMap<String, Znode>,
    sessions: BTreeMap<SessionId, Session>,
    /// owner -> the highest closed generation.
    closed: BTreeMap<u64, u64>,
    replies: BTreeMap<SessionId, LastReply>,
    digest: u64,
}

impl Default for DataTree {
    fn default() -> Self {
        let root = Znode { data: String::new(), stat: Stat::default(), children: BTreeSet::new() };
        let mut tree = DataTree {
            nodes: BTreeMap::new(),
            sessions: BTreeMap::new(),
            closed: BTreeMap::new(),
            replies: BTreeMap::new(),
            digest: 0,
        };
        tree.put_node("/".to_string(), root);
        tree
    }
}

fn hash<T: Serialize>(value: &T) -> u64 {
    xxhash_rust::xxh3::xxh3_64(&postcard::to_allocvec(value).expect("tree entries encode"))
}

/// Whether `path` is a valid znode path other than the root: absolute, no empty, `.` or `..`
/// component, no trailing slash.
pub fn valid_path(path: &str) -> bool {
    path.len() > 1
        && path.len() <= 1024
        && path.starts_with('/')
        && path[1..].split('/').all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'))
}

/// The parent of a valid non-root path, and the last component.
fn split(path: &str) -> (&str, &str) {
    let at = path.rfind('/').expect("valid paths start with /");
    (if at == 0 { "/" } else { &path[..at] }, &path[at + 1..])
}

impl DataTree {
    /// The running digest of the whole state.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Number of znodes, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn session(&self, session: SessionId) -> SessionState {
        if self.sessions.contains_key(&session) {
            SessionState::Open
        } else if self.closed.get(&session.owner).is_some_and(|g| session.gen <= *g) {
            SessionState::Closed
        } else {
            SessionState::Unknown
        }
    }

    /// Open sessions and their timeouts.
    pub fn open_sessions(&self) -> impl Iterator<Item = (SessionId, u64)> + '_ {
        self.sessions.iter().map(|(id, s)| (*id, s.timeout_ms))
    }

    /// The reply a session's write `xid` got, if it is the session's last.
    pub fn last_reply(&self, session: SessionId, xid: u64) -> Option<(Zxid, Reply)> {
        self.replies.get(&session).filter(|r| r.xid == xid).map(|r| (r.zxid, r.reply.clone()))
    }

    /// The last xid the session had applied.
    pub fn last_xid(&self, session: SessionId) -> Option<u64> {
        self.replies.get(&session).map(|r| r.xid)
    }

    /// Answers a read from this state.
    pub fn read(&self, op: &ReadOp) -> Reply {
        match op {
            ReadOp::GetData { path } => match self.nodes.get(path) {
                Some(n) => Reply::Data { data: n.data.clone(), stat: n.stat.clone() },
                None => Reply::Error(ZkError::NoNode),
            },
            ReadOp::Exists { path } => Reply::Exists(self.nodes.get(path).map(|n| n.stat.clone())),
            ReadOp::GetChildren { path } => match self.nodes.get(path) {
                Some(n) => Reply::Children(n.children.iter().cloned().collect()),
                None => Reply::Error(ZkError::NoNode),
            },
        }
    }

    /// Applies one transaction; its reply (the same on every replica).
    pub fn apply(&mut self, txn: &Txn) -> Reply {
        match &txn.body {
            TxnBody::Expire { session } => {
                self.close(*session);
                Reply::Closed
            }
            TxnBody::Client { session, xid, op } => {
                match self.replies.get(session) {
                    Some(last) if last.xid == *xid => return last.reply.clone(),
                    Some(last) if last.xid > *xid => return Reply::Error(ZkError::BadArguments),
                    _ => {}
                }
                let reply = self.execute(*session, op, txn.zxid);
                self.set_reply(*session, LastReply { xid: *xid, zxid: txn.zxid, reply: reply.clone() });
                reply
            }
        }
    }

    /// Closes a session outside any transaction: only the planted bug `EphemeralsSurviveExpiry`
    /// does this.
    pub fn close_locally(&mut self, session: SessionId) {
        self.close(session);
    }

    fn execute(&mut self, session: SessionId, op: &WriteOp, zxid: Zxid) -> Reply {
        match (op, self.session(session)) {
            (WriteOp::Connect { timeout_ms }, SessionState::Unknown) => {
                let s = Session { timeout_ms: *timeout_ms, ephemerals: BTreeSet::new() };
                self.put_session(session, Some(s));
                Reply::Connected
            }
            (WriteOp::Connect { .. }, SessionState::Open) => Reply::Connected,
            (_, SessionState::Open) => self.execute_open(session, op, zxid),
            _ => Reply::Error(ZkError::SessionExpired),
        }
    }

    fn execute_open(&mut self, session: SessionId, op: &WriteOp, zxid: Zxid) -> Reply {
        let result = match op {
            WriteOp::Connect { .. } => Ok(Reply::Connected),
            WriteOp::Close => {
                self.close(session);
                Ok(Reply::Closed)
            }
            WriteOp::Create { path, data, ephemeral, sequential } => {
                let owner = ephemeral.then_some(session);
                self.create(path, data, owner, *sequential, zxid).map(|path| Reply::Created { path })
            }
            WriteOp::Delete { path, version } => self.delete(path, *version).map(|()| Reply::Deleted),
            WriteOp::SetData { path, data, version } => {
                self.set_data(path, data, *version, zxid).map(Reply::Set)
            }
        };
        result.unwrap_or_else(Reply::Error)
    }

    fn create(
        &mut self,
        path: &str,
        data: &str,
        owner: Option<SessionId>,
        sequential: bool,
        zxid: Zxid,
    ) -> Result<String, ZkError> {
        // A sequential create may name only a parent ("/q/"): the counter is the whole name.
        let parent_only = sequential && path.ends_with('/') && valid_path(path.trim_end_matches('/'));
        if !(valid_path(path) || parent_only) {
            return Err(ZkError::BadArguments);
        }
        let (parent_path, _) = split(path);
        let parent = self.nodes.get(parent_path).ok_or(ZkError::NoNode)?;
        if parent.stat.ephemeral_owner.is_some() {
            return Err(ZkError::NoChildrenForEphemerals);
        }
        let name = if sequential { format!("{path}{:010}", parent.stat.cversion) } else { path.to_string() };
        if self.nodes.contains_key(&name) {
            return Err(ZkError::NodeExists);
        }
        let stat = Stat { czxid: zxid, mzxid: zxid, ephemeral_owner: owner, ..Stat::default() };
        self.put_node(name.clone(), Znode { data: data.to_string(), stat, children: BTreeSet::new() });
        self.link_child(&name, true);
        if let Some(s) = owner {
            let mut session = self.sessions.get(&s).cloned().expect("the owner session is open");
            session.ephemerals.insert(name.clone());
            self.put_session(s, Some(session));
        }
        Ok(name)
    }

    fn delete(&mut self, path: &str, version: Option<u64>) -> Result<(), ZkError> {
        let node = self.nodes.get(path).filter(|_| valid_path(path)).ok_or(ZkError::NoNode)?;
        if version.is_some_and(|v| v != node.stat.version) {
            return Err(ZkError::BadVersion);
        }
        if !node.children.is_empty() {
            return Err(ZkError::NotEmpty);
        }
        self.remove_node(path);
        Ok(())
    }

    fn set_data(
        &mut self,
        path: &str,
        data: &str,
        version: Option<u64>,
        zxid: Zxid,
    ) -> Result<Stat, ZkError> {
        let node = self.nodes.get(path).ok_or(ZkError::NoNode)?;
        if version.is_some_and(|v| v != node.stat.version) {
            return Err(ZkError::BadVersion);
        }
        let mut node = node.clone();
        node.data = data.to_string();
        node.stat.version += 1;
        node.stat.mzxid = zxid;
        let stat = node.stat.clone();
        self.put_node(path.to_string(), node);
        Ok(stat)
    }

    /// Removes a node that has no children, unlinking it from its parent and its session.
    fn remove_node(&mut self, path: &str) {
        let Some(node) = self.take_node(path) else { return };
        self.link_child(path, false);
        if let Some(s) = node.stat.ephemeral_owner {
            if let Some(mut session) = self.sessions.get(&s).cloned() {
                session.ephemerals.remove(path);
                self.put_session(s, Some(session));
            }
        }
    }

    /// Adds (or removes) `path` among its parent's children, counting the change.
    fn link_child(&mut self, path: &str, add: bool) {
        let (parent_path, name) = split(path);
        let Some(mut parent) = self.nodes.get(parent_path).cloned() else { return };
        if add {
            parent.children.insert(name.to_string());
        } else {
            parent.children.remove(name);
        }
        parent.stat.cversion += 1;
        parent.stat.children = parent.children.len() as u64;
        self.put_node(parent_path.to_string(), parent);
    }

    fn close(&mut self, session: SessionId) {
        if let Some(s) = self.sessions.get(&session).cloned() {
            // Children before parents cannot matter: ephemeral nodes have no children.
            for path in &s.ephemerals {
                self.remove_node(path);
            }
            self.put_session(session, None);
        }
        let gen = self.closed.get(&session.owner).copied();
        if gen.is_none_or(|g| g < session.gen) {
            if let Some(g) = gen {
                self.digest = self.digest.wrapping_sub(hash(&("closed", session.owner, g)));
            }
            self.closed.insert(session.owner, session.gen);
            self.digest = self.digest.wrapping_add(hash(&("closed", session.owner, session.gen)));
            // A closed generation closes every older one of its owner.
            let older: Vec<SessionId> = self
                .sessions
                .keys()
                .filter(|s| s.owner == session.owner && s.gen < session.gen)
                .copied()
                .collect();
            for s in older {
                self.close(s);
            }
        }
    }

    fn node_hash(path: &str, node: &Znode) -> u64 {
        hash(&("node", path, &node.data, &node.stat))
    }

    fn put_node(&mut self, path: String, node: Znode) {
        let new = Self::node_hash(&path, &node);
        if let Some(old) = self.nodes.insert(path.clone(), node) {
            self.digest = self.digest.wrapping_sub(Self::node_hash(&path, &old));
        }
        self.digest = self.digest.wrapping_add(new);
    }

    fn take_node(&mut self, path: &str) -> Option<Znode> {
        let node = self.nodes.remove(path)?;
        self.digest = self.digest.wrapping_sub(Self::node_hash(path, &node));
        Some(node)
    }

    fn put_session(&mut self, id: SessionId, session: Option<Session>) {
        let h = |s: &Session| hash(&("session", id, s.timeout_ms, &s.ephemerals));
        if let Some(old) = self.sessions.remove(&id) {
            self.digest = self.digest.wrapping_sub(h(&old));
        }
        if let Some(s) = session {
            self.digest = self.digest.wrapping_add(h(&s));
            self.sessions.insert(id, s);
        }
    }

    fn set_reply(&mut self, id: SessionId, last: LastReply) {
        let h = |r: &LastReply| hash(&("reply", id, r));
        if let Some(old) = self.replies.insert(id, last.clone()) {
            self.digest = self.digest.wrapping_sub(h(&old));
        }
        self.digest = self.digest.wrapping_add(h(&last));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: SessionId = SessionId { owner: 1, gen: 0 };

    fn txn(counter: u64, session: SessionId, xid: u64, op: WriteOp) -> Txn {
        Txn { zxid: Zxid::new(1, counter), body: TxnBody::Client { session, xid, op } }
    }

    fn create(path: &str, ephemeral: bool, sequential: bool) -> WriteOp {
        WriteOp::Create { path: path.into(), data: "d".into(), ephemeral, sequential }
    }

    fn connected(tree: &mut DataTree, session: SessionId) {
        assert_eq!(tree.apply(&txn(1, session, 0, WriteOp::Connect { timeout_ms: 1000 })), Reply::Connected);
    }

    /// Recomputes the digest from scratch, to check the running one.
    fn fresh_digest(tree: &DataTree) -> u64 {
        let mut d = 0u64;
        for (p, n) in &tree.nodes {
            d = d.wrapping_add(DataTree::node_hash(p, n));
        }
        for (id, s) in &tree.sessions {
            d = d.wrapping_add(hash(&("session", *id, s.timeout_ms, &s.ephemerals)));
        }
        for (o, g) in &tree.closed {
            d = d.wrapping_add(hash(&("closed", *o, *g)));
        }
        for (id, r) in &tree.replies {
            d = d.wrapping_add(hash(&("reply", *id, r)));
        }
        d
    }

    #[test]
    fn creates_sets_and_deletes_follow_zookeeper_semantics() {
        let mut t = DataTree::default();
        connected(&mut t, S);
        assert_eq!(t.apply(&txn(2, S, 1, create("/a", false, false))), Reply::Created { path: "/a".into() });
        assert_eq!(t.apply(&txn(3, S, 2, create("/a", false, false))), Reply::Error(ZkError::NodeExists));
        assert_eq!(t.apply(&txn(4, S, 3, create("/x/y", false, false))), Reply::Error(ZkError::NoNode));
        assert_eq!(
            t.apply(&txn(5, S, 4, create("/a/b", false, false))),
            Reply::Created { path: "/a/b".into() }
        );
        let set = WriteOp::SetData { path: "/a".into(), data: "e".into(), version: Some(0) };
        assert!(matches!(t.apply(&txn(6, S, 5, set.clone())), Reply::Set(Stat { version: 1, .. })));
        assert_eq!(t.apply(&txn(7, S, 6, set)), Reply::Error(ZkError::BadVersion));
        let delete = |p: &str| WriteOp::Delete { path: p.into(), version: None };
        assert_eq!(t.apply(&txn(8, S, 7, delete("/a"))), Reply::Error(ZkError::NotEmpty));
        assert_eq!(t.apply(&txn(9, S, 8, delete("/a/b"))), Reply::Deleted);
        assert_eq!(t.apply(&txn(10, S, 9, delete("/a"))), Reply::Deleted);
        assert_eq!(t.read(&ReadOp::GetData { path: "/a".into() }), Reply::Error(ZkError::NoNode));
        assert_eq!(t.digest(), fresh_digest(&t));
    }

    #[test]
    fn sequential_names_come_from_the_parents_change_counter() {
        let mut t = DataTree::default();
        connected(&mut t, S);
        assert_eq!(t.apply(&txn(2, S, 1, create("/q", false, false))), Reply::Created { path: "/q".into() });
        let seq = create("/q/n-", true, true);
        assert_eq!(t.apply(&txn(3, S, 2, seq.clone())), Reply::Created { path: "/q/n-0000000000".into() });
        assert_eq!(t.apply(&txn(4, S, 3, seq)), Reply::Created { path: "/q/n-0000000001".into() });
        let children = t.read(&ReadOp::GetChildren { path: "/q".into() });
        assert_eq!(children, Reply::Children(vec!["n-0000000000".into(), "n-0000000001".into()]));
        let Reply::Exists(Some(stat)) = t.read(&ReadOp::Exists { path: "/q/n-0000000001".into() }) else {
            panic!("the node exists")
        };
        assert_eq!((stat.czxid, stat.ephemeral_owner), (Zxid::new(1, 4), Some(S)));
        assert_eq!(
            t.apply(&txn(5, S, 4, create("/q/n-0000000000/c", false, false))),
            Reply::Error(ZkError::NoChildrenForEphemerals)
        );
    }

    #[test]
    fn closing_a_session_deletes_its_ephemerals_and_bars_it_and_older_generations() {
        let mut t = DataTree::default();
        let older = SessionId { owner: 1, gen: 0 };
        let newer = SessionId { owner: 1, gen: 1 };
        connected(&mut t, older);
        connected(&mut t, newer);
        assert_eq!(
            t.apply(&txn(2, older, 1, create("/e", true, false))),
            Reply::Created { path: "/e".into() }
        );
        let expire = Txn { zxid: Zxid::new(1, 3), body: TxnBody::Expire { session: newer } };
        assert_eq!(t.apply(&expire), Reply::Closed);
        assert_eq!(t.session(older), SessionState::Closed, "an older generation closes with a newer one");
        assert_eq!(t.read(&ReadOp::Exists { path: "/e".into() }), Reply::Exists(None));
        // A delayed Connect of a closed generation cannot reopen it.
        let reconnect = txn(4, older, 7, WriteOp::Connect { timeout_ms: 1000 });
        assert_eq!(t.apply(&reconnect), Reply::Error(ZkError::SessionExpired));
        assert_eq!(t.session(SessionId { owner: 1, gen: 2 }), SessionState::Unknown);
        assert_eq!(t.digest(), fresh_digest(&t));
    }

    #[test]
    fn a_retried_write_gets_its_first_reply_and_is_applied_once() {
        let mut t = DataTree::default();
        connected(&mut t, S);
        let first = t.apply(&txn(2, S, 1, create("/a", false, false)));
        let digest = t.digest();
        assert_eq!(t.apply(&txn(3, S, 1, create("/a", false, false))), first);
        assert_eq!(t.digest(), digest, "the duplicate changed nothing");
        assert_eq!(t.apply(&txn(4, S, 0, create("/b", false, false))), Reply::Error(ZkError::BadArguments));
        assert_eq!(t.last_reply(S, 1), Some((Zxid::new(1, 2), first)));
    }

    #[test]
    fn paths_are_validated() {
        assert!(valid_path("/a/b"));
        for bad in ["/", "", "a", "/a/", "//a", "/a/../b", "/a/./b"] {
            assert!(!valid_path(bad), "{bad}");
        }
        assert_eq!(split("/a"), ("/", "a"));
        assert_eq!(split("/a/b"), ("/a", "b"));
    }
}
