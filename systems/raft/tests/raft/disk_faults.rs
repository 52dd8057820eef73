//! Disk errors during a step (Figure 2: persist before responding). A failed sync may have lost
//! data the node believes written, so the node halts and nothing of the step leaves it; a full
//! disk fails the write cleanly, so the node stays up but acknowledges nothing it did not
//! store. Driven with `Context::new` over a disk that fails on demand.

use faultline_raft::msg::{Append, Entry};
use faultline_raft::{LogId, Msg, Raft, RaftConfig, Request, Response, Timer, Unavailable};
use faultline_sim::disk::MemDisk;
use faultline_sim::node::NoBuggify;
use faultline_sim::{ClientId, Command, Context, DiskError, Node, NodeId, RequestId, Storage, Time};
use std::time::Duration;

#[derive(Default)]
struct FaultyDisk {
    inner: MemDisk,
    fail_sync: bool,
    full: bool,
}

impl Storage for FaultyDisk {
    fn read(&mut self, f: &str, o: u64, l: usize) -> Result<Vec<u8>, DiskError> {
        self.inner.read(f, o, l)
    }
    fn write(&mut self, f: &str, o: u64, d: &[u8]) -> Result<(), DiskError> {
        if self.full {
            return Err(DiskError::Full(f.into()));
        }
        self.inner.write(f, o, d)
    }
    fn append(&mut self, f: &str, d: &[u8]) -> Result<u64, DiskError> {
        if self.full {
            return Err(DiskError::Full(f.into()));
        }
        self.inner.append(f, d)
    }
    fn len(&mut self, f: &str) -> Result<Option<u64>, DiskError> {
        self.inner.len(f)
    }
    fn truncate(&mut self, f: &str, l: u64) -> Result<(), DiskError> {
        self.inner.truncate(f, l)
    }
    fn sync(&mut self, f: &str) -> Result<(), DiskError> {
        if self.fail_sync {
            return Err(DiskError::SyncFailed(f.into()));
        }
        self.inner.sync(f)
    }
    fn rename(&mut self, a: &str, b: &str) -> Result<(), DiskError> {
        self.inner.rename(a, b)
    }
    fn remove(&mut self, f: &str) -> Result<(), DiskError> {
        self.inner.remove(f)
    }
    fn list(&mut self) -> Result<Vec<String>, DiskError> {
        self.inner.list()
    }
}

/// One node on a `FaultyDisk`, stepped by hand.
struct Harness {
    node: Raft,
    disk: FaultyDisk,
    rng: faultline_sim::rng::Rng,
    now: Time,
    id: NodeId,
}

impl Harness {
    fn new(id: u32, members: u32) -> Self {
        let mut h = Harness {
            node: Raft::new(RaftConfig::with_members(members)).unwrap(),
            disk: FaultyDisk::default(),
            rng: faultline_sim::rng::derive(1, "disk-faults", 0),
            now: Time(Time::EPOCH_NANOS),
            id: NodeId(id),
        };
        h.step(|n, cx| n.on_start(cx));
        h.now = h.now + Duration::from_millis(400);
        h
    }

    fn step(&mut self, f: impl FnOnce(&mut Raft, &mut Context<'_, Raft>)) -> Vec<Command<Raft>> {
        let mut out = Vec::new();
        let mut buggify = NoBuggify;
        let mut cx = Context::new(self.id, self.now, &mut self.rng, &mut self.disk, &mut buggify, &mut out);
        f(&mut self.node, &mut cx);
        self.node.check_invariants();
        out
    }
}

fn first_append() -> Msg {
    let entries = vec![Entry { index: 1, term: 1, command: faultline_raft::msg::Command::Noop }];
    Msg::Append(Append { term: 1, prev: LogId::default(), entries, commit: 0, round: 1 })
}

fn sends(cmds: &[Command<Raft>]) -> usize {
    cmds.iter().filter(|c| matches!(c, Command::Send { .. } | Command::Reply { .. })).count()
}

#[test]
fn raft_a_failed_sync_halts_the_node_and_nothing_of_the_step_is_sent() {
    let mut h = Harness::new(1, 3);
    h.disk.fail_sync = true;
    let out = h.step(|n, cx| n.on_message(cx, NodeId(0), first_append()));
    assert_eq!(sends(&out), 0, "{out:?}");
    assert!(matches!(out.last(), Some(Command::Halt { reason }) if reason.contains("sync")), "{out:?}");
}

#[test]
fn raft_a_full_disk_acknowledges_nothing_and_keeps_the_node_up() {
    // The term is written (to an ample metadata area) before the disk fills; the entry is not.
    let mut h = Harness::new(1, 3);
    h.step(|n, cx| {
        n.on_message(
            cx,
            NodeId(0),
            Msg::Append(Append { term: 1, prev: LogId::default(), entries: vec![], commit: 0, round: 1 }),
        )
    });
    h.disk.full = true;
    let out = h.step(|n, cx| n.on_message(cx, NodeId(0), first_append()));
    assert_eq!(sends(&out), 0, "no acknowledgement of an entry that is not on disk: {out:?}");
    assert!(!out.iter().any(|c| matches!(c, Command::Halt { .. })));
    assert_eq!(h.node.status().last_log, LogId::default(), "the append was undone in memory");
    h.disk.full = false;
    let out = h.step(|n, cx| n.on_message(cx, NodeId(0), first_append()));
    assert_eq!(sends(&out), 1, "acknowledged once there is room: {out:?}");
}

#[test]
fn raft_a_leader_with_a_full_disk_answers_unavailable() {
    let mut h = Harness::new(0, 1);
    h.step(|n, cx| n.on_timer(cx, Timer::Election));
    assert_eq!(h.node.status().commit_index, 1, "a one-node cluster elects itself");
    h.disk.full = true;
    let id = RequestId { client: ClientId(3), seq: 1 };
    let out = h.step(|n, cx| n.on_request(cx, id, Request::put("k", "v")));
    assert_eq!(out, vec![Command::Reply { to: id, resp: Response::Unavailable(Unavailable::DiskFull) }]);
    h.disk.full = false;
    let out = h.step(|n, cx| n.on_request(cx, id, Request::put("k", "v")));
    assert_eq!(out, vec![Command::Reply { to: id, resp: Response::Written }]);
}
