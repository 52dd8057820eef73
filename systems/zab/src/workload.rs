//! The coordination service's workload: clients that keep sessions, and how their operations
//! are written into the history for the checkers' `znode` model.
//!
//! Each workload client keeps one session at a time, named `(client, generation)`. It opens it
//! with `Connect` (an administrative operation, not recorded), then draws operations on a few
//! persistent paths (`/k0`...: create, set and delete with an expected version, linearizable
//! get, local read), on its own session's ephemeral node (`/e<client>.<generation>`), on other
//! clients' ephemeral nodes, and sequential creates under `/s-`. Now and then it gives its
//! session up: the recorded `expire` operation waits until a server says the session is closed
//! (its ephemeral node is then gone for everyone), and the client opens a new session. A client
//! told that its session expired (the leader expired it) opens a new one too.
//!
//! Every request carries the highest zxid the client has seen, and the zxid of every answer
//! is kept per client, for the session-order check (`reads`). Local reads record their zxid in
//! their output, so their values can be checked against the committed history.
//!
//! Clients' state lives behind a mutex: the harness calls `next_op` and `interpret` of one
//! client in order, so runs stay deterministic.

use crate::api::{ReadOp, Reply, SessionId, WriteOp, ZkError, ZkOp, ZkRequest, ZkResponse};
use crate::msg::Zxid;
use faultline_checkers::{EventKind, Value};
use faultline_sim::options::WorkloadOptions;
use faultline_sim::rng::Rng;
use faultline_sim::system::{Answer, Op};
use faultline_sim::ClientId;
use rand::Rng as _;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// The session timeout workload clients ask for, milliseconds.
pub const SESSION_TIMEOUT_MS: u64 = 1_000;
/// The prefix of sequential nodes.
pub const SEQUENTIAL_PREFIX: &str = "/s-";

/// One workload client.
#[derive(Clone, Debug, Default)]
struct ClientState {
    gen: u64,
    connected: bool,
    /// Its session's ephemeral node, once created.
    ephemeral: Option<String>,
    xid: u64,
    last_zxid: Zxid,
    /// The zxid of each answer, in order.
    seen: Vec<Zxid>,
}

/// The workload: paths, and every client's state.
#[derive(Debug)]
pub struct ZkWorkload {
    keys: u32,
    clients: Mutex<BTreeMap<u32, ClientState>>,
}

/// The ephemeral node of a client's session generation.
pub fn ephemeral_path(client: u64, gen: u64) -> String {
    format!("/e{client}.{gen}")
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

fn zxid_values(z: Zxid) -> [Value; 2] {
    [Value::Int(z.epoch as i64), Value::Int(z.counter as i64)]
}

impl ZkWorkload {
    pub fn new(options: &WorkloadOptions) -> Self {
        ZkWorkload { keys: options.keys.max(1), clients: Mutex::new(BTreeMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u32, ClientState>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The zxids of every client's answers, in order, by client.
    pub fn seen(&self) -> BTreeMap<u32, Vec<Zxid>> {
        self.lock().iter().map(|(c, s)| (*c, s.seen.clone())).collect()
    }

    /// The next operation of `client`.
    pub fn next_op(&self, client: ClientId, rng: &mut Rng) -> Op<ZkRequest> {
        let mut all = self.lock();
        let others: Vec<(u32, u64)> =
            all.iter().filter(|(c, _)| **c != client.0).map(|(c, s)| (*c, s.gen)).collect();
        let st = all.entry(client.0).or_default();
        st.xid += 1;
        let session = SessionId { owner: u64::from(client.0), gen: st.gen };
        let request = |op| ZkRequest { session, xid: st.xid, min_zxid: st.last_zxid, op };
        if !st.connected {
            return Op::admin(
                request(ZkOp::Write(WriteOp::Connect { timeout_ms: SESSION_TIMEOUT_MS })),
                "connect",
            );
        }
        let key = format!("/k{}", rng.gen_range(0..self.keys));
        let data = format!("{}", rng.gen_range(0..4));
        let version = rng.gen_bool(0.7).then(|| rng.gen_range(0..3u64));
        let version_value = version.map_or(Value::Nil, |v| Value::Int(v as i64));
        let write = |op| ZkOp::Write(op);
        let read = |path: &str, linearizable| ZkOp::Read {
            op: ReadOp::GetData { path: path.to_string() },
            linearizable,
        };
        match rng.gen_range(0..100) {
            0..=9 => {
                let op = WriteOp::Create {
                    path: key.clone(),
                    data: data.clone(),
                    ephemeral: false,
                    sequential: false,
                };
                Op::new(request(write(op)), "create", list(vec![key.into(), data.into()]))
            }
            10..=21 => {
                let op = WriteOp::SetData { path: key.clone(), data: data.clone(), version };
                Op::new(request(write(op)), "set", list(vec![key.into(), data.into(), version_value]))
            }
            22..=27 => {
                let op = WriteOp::Delete { path: key.clone(), version };
                Op::new(request(write(op)), "delete", list(vec![key.into(), version_value]))
            }
            28..=41 => Op::new(request(read(&key, true)), "get", list(vec![key.into()])),
            42..=55 => Op::new(request(read(&key, false)), "read-local", list(vec![key.into()])),
            56..=59 => {
                let op = ZkOp::Read { op: ReadOp::GetChildren { path: "/".into() }, linearizable: false };
                Op::new(request(op), "children-local", list(vec!["/".into()]))
            }
            60..=67 => match &st.ephemeral {
                None => {
                    let path = ephemeral_path(session.owner, session.gen);
                    let op = WriteOp::Create {
                        path: path.clone(),
                        data: data.clone(),
                        ephemeral: true,
                        sequential: false,
                    };
                    Op::new(request(write(op)), "create-eph", list(vec![path.into(), data.into()]))
                }
                Some(path) => Op::new(request(read(path, true)), "get", list(vec![path.as_str().into()])),
            },
            68..=77 if !others.is_empty() => {
                let (other, gen) = others[rng.gen_range(0..others.len())];
                let path = ephemeral_path(u64::from(other), gen.saturating_sub(rng.gen_range(0..2)));
                let linearizable = rng.gen_bool(0.7);
                let f = if linearizable { "get" } else { "read-local" };
                Op::new(request(read(&path, linearizable)), f, list(vec![path.into()]))
            }
            78..=83 => {
                let op = WriteOp::Create {
                    path: SEQUENTIAL_PREFIX.into(),
                    data: data.clone(),
                    ephemeral: false,
                    sequential: true,
                };
                Op::new(request(write(op)), "create-seq", list(vec![SEQUENTIAL_PREFIX.into(), data.into()]))
            }
            84..=87 => match st.ephemeral.take() {
                Some(path) => {
                    // The client gives this session up: it stops using it and waits for a
                    // server to say it was closed; the next operation opens a new one.
                    st.gen += 1;
                    st.connected = false;
                    Op::new(request(ZkOp::AwaitClosed), "expire", list(vec![path.into()]))
                }
                None => Op::admin(request(ZkOp::Ping), "ping"),
            },
            _ => {
                let linearizable = rng.gen_bool(0.5);
                let f = if linearizable { "get" } else { "read-local" };
                Op::new(request(read(&key, linearizable)), f, list(vec![key.into()]))
            }
        }
    }

    /// What `response` to `request` means, noting what the client learned.
    pub fn interpret(&self, request: &ZkRequest, response: &ZkResponse) -> Answer {
        let (zxid, reply) = match response {
            // A refusal speaks for this attempt only, and an answer cannot be matched to its
            // attempt (a late one may answer the next): another attempt of a write may have
            // been ordered, so only a read's refusal says "not applied".
            ZkResponse::Unavailable { hint, .. } if matches!(request.op, ZkOp::Write(_)) => {
                return Answer::Unknown { hint: *hint };
            }
            ZkResponse::Unavailable { hint, .. } => return Answer::NotApplied { hint: *hint },
            ZkResponse::Done { zxid, reply } => (*zxid, reply),
        };
        let mut all = self.lock();
        let st = all.entry(request.session.owner as u32).or_default();
        st.last_zxid = st.last_zxid.max(zxid);
        let current = request.session.gen == st.gen;
        if *reply == Reply::NotYet {
            return Answer::NotApplied { hint: None };
        }
        st.seen.push(zxid);
        match (&request.op, reply) {
            (_, Reply::Error(ZkError::SessionExpired)) => {
                if current {
                    st.gen += 1;
                    st.connected = false;
                    st.ephemeral = None;
                }
                Answer::Done(EventKind::Fail, Value::Nil)
            }
            (ZkOp::Write(WriteOp::Connect { .. }), Reply::Connected) => {
                st.connected |= current;
                Answer::Done(EventKind::Ok, Value::Nil)
            }
            (ZkOp::Ping, Reply::Pong) | (ZkOp::AwaitClosed, Reply::Closed) => {
                Answer::Done(EventKind::Ok, Value::Nil)
            }
            (ZkOp::Write(op), reply) => write_answer(st, op, reply),
            (ZkOp::Read { op, linearizable }, reply) => read_answer(op, *linearizable, zxid, reply),
            _ => Answer::Unknown { hint: None },
        }
    }
}

fn ok(value: impl Into<Value>) -> Answer {
    Answer::Done(EventKind::Ok, value.into())
}

fn write_answer(st: &mut ClientState, op: &WriteOp, reply: &Reply) -> Answer {
    match (op, reply) {
        (
            WriteOp::Create { ephemeral: true, path, .. },
            Reply::Created { .. } | Reply::Error(ZkError::NodeExists),
        ) => {
            st.ephemeral = Some(path.clone());
            ok(if matches!(reply, Reply::Created { .. }) { "created" } else { "exists" })
        }
        (WriteOp::Create { sequential: true, path: prefix, .. }, Reply::Created { path }) => {
            match path.strip_prefix(prefix.as_str()).and_then(|n| n.parse::<i64>().ok()) {
                Some(n) => ok(n),
                None => Answer::Unknown { hint: None },
            }
        }
        (WriteOp::Create { .. }, Reply::Created { .. }) => ok("created"),
        (WriteOp::Create { .. }, Reply::Error(ZkError::NodeExists)) => ok("exists"),
        (WriteOp::SetData { .. }, Reply::Set(stat)) => ok(stat.version as i64),
        (WriteOp::Delete { .. }, Reply::Deleted) => ok("deleted"),
        (WriteOp::SetData { .. } | WriteOp::Delete { .. }, Reply::Error(ZkError::NoNode)) => ok("no-node"),
        (WriteOp::SetData { .. } | WriteOp::Delete { .. }, Reply::Error(ZkError::BadVersion)) => {
            ok("bad-version")
        }
        // Anything else does not answer the request (a protocol bug): leave it to the checks.
        _ => Answer::Unknown { hint: None },
    }
}

fn read_answer(op: &ReadOp, linearizable: bool, zxid: Zxid, reply: &Reply) -> Answer {
    let [epoch, counter] = zxid_values(zxid);
    match (op, reply, linearizable) {
        (ReadOp::GetData { .. }, Reply::Data { data, stat }, true) => {
            ok(list(vec![data.as_str().into(), Value::Int(stat.version as i64)]))
        }
        (ReadOp::GetData { .. }, Reply::Error(ZkError::NoNode), true) => ok(Value::Nil),
        (ReadOp::GetData { .. }, Reply::Data { data, stat }, false) => {
            ok(list(vec![data.as_str().into(), Value::Int(stat.version as i64), epoch, counter]))
        }
        (ReadOp::GetData { .. }, Reply::Error(ZkError::NoNode), false) => {
            ok(list(vec![Value::Nil, epoch, counter]))
        }
        (ReadOp::GetChildren { .. }, Reply::Children(names), false) => {
            let names = names.iter().map(|n| Value::Str(n.clone())).collect();
            ok(list(vec![Value::List(names), epoch, counter]))
        }
        _ => Answer::Unknown { hint: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Stat;
    use faultline_sim::rng;

    #[test]
    fn a_client_connects_first_and_reconnects_after_its_session_expires() {
        let w = ZkWorkload::new(&WorkloadOptions::default());
        let mut r = rng::derive(1, "test", 0);
        let first = w.next_op(ClientId(0), &mut r);
        assert!(!first.record && matches!(first.request.op, ZkOp::Write(WriteOp::Connect { .. })));
        let connected = ZkResponse::Done { zxid: Zxid::new(1, 1), reply: Reply::Connected };
        assert_eq!(w.interpret(&first.request, &connected), Answer::Done(EventKind::Ok, Value::Nil));
        let op = w.next_op(ClientId(0), &mut r);
        assert!(op.record || op.f == "ping", "{}", op.f);
        assert_eq!(op.request.min_zxid, Zxid::new(1, 1));
        let expired =
            ZkResponse::Done { zxid: Zxid::new(1, 2), reply: Reply::Error(ZkError::SessionExpired) };
        assert_eq!(w.interpret(&op.request, &expired), Answer::Done(EventKind::Fail, Value::Nil));
        let again = w.next_op(ClientId(0), &mut r);
        assert_eq!(again.request.session, SessionId { owner: 0, gen: 1 });
        assert_eq!(w.seen()[&0], vec![Zxid::new(1, 1), Zxid::new(1, 2)]);
    }

    #[test]
    fn answers_follow_the_znode_model_conventions() {
        let mut st = ClientState::default();
        let set = WriteOp::SetData { path: "/k0".into(), data: "1".into(), version: None };
        let stat = Stat { version: 3, ..Stat::default() };
        assert_eq!(write_answer(&mut st, &set, &Reply::Set(stat.clone())), ok(3));
        assert_eq!(write_answer(&mut st, &set, &Reply::Error(ZkError::BadVersion)), ok("bad-version"));
        let seq =
            WriteOp::Create { path: "/s-".into(), data: "d".into(), ephemeral: false, sequential: true };
        assert_eq!(write_answer(&mut st, &seq, &Reply::Created { path: "/s-0000000012".into() }), ok(12));
        let get = ReadOp::GetData { path: "/k0".into() };
        let data = Reply::Data { data: "x".into(), stat };
        assert_eq!(read_answer(&get, true, Zxid::new(2, 5), &data), ok(list(vec!["x".into(), 3.into()])));
        assert_eq!(
            read_answer(&get, false, Zxid::new(2, 5), &Reply::Error(ZkError::NoNode)),
            ok(list(vec![Value::Nil, 2.into(), 5.into()]))
        );
    }
}
