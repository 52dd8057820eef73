//! Disk errors during a step (Figure 2: persist before responding). A failed sync may have lost
//! data the node believes written, so the node halts and nothing of the step leaves it; a full
//! disk fails the write cleanly, so the node stays up but acknowledges nothing it did not
//! store. Driven with a `TestNode` whose `TestDisk` fails on demand.

use faultline_raft::msg::{Append, Entry};
use faultline_raft::{LogId, Msg, Raft, RaftConfig, Request, Response, Timer, Unavailable};
use faultline_sim::testing::TestNode;
use faultline_sim::{ClientId, Command, NodeId, RequestId};
use std::time::Duration;

/// Node `id` of a `members`-node cluster, started, its last leader contact long past.
fn node(id: u32, members: u32) -> TestNode<Raft> {
    let mut t = TestNode::new(NodeId(id), 1, move || Raft::new(RaftConfig::with_members(members)).unwrap());
    t.start();
    t.advance(Duration::from_millis(400));
    t
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
    let mut h = node(1, 3);
    h.disk.set_failing_syncs(true);
    let out = h.message(NodeId(0), first_append());
    assert_eq!(sends(&out), 0, "{out:?}");
    assert!(matches!(out.last(), Some(Command::Halt { reason }) if reason.contains("sync")), "{out:?}");
}

#[test]
fn raft_a_full_disk_acknowledges_nothing_and_keeps_the_node_up() {
    // The term is written (to an ample metadata area) before the disk fills; the entry is not.
    let mut h = node(1, 3);
    h.message(
        NodeId(0),
        Msg::Append(Append { term: 1, prev: LogId::default(), entries: vec![], commit: 0, round: 1 }),
    );
    h.disk.set_full(true);
    let out = h.message(NodeId(0), first_append());
    assert_eq!(sends(&out), 0, "no acknowledgement of an entry that is not on disk: {out:?}");
    assert!(!out.iter().any(|c| matches!(c, Command::Halt { .. })));
    assert_eq!(h.node.status().last_log, LogId::default(), "the append was undone in memory");
    h.disk.set_full(false);
    let out = h.message(NodeId(0), first_append());
    assert_eq!(sends(&out), 1, "acknowledged once there is room: {out:?}");
}

#[test]
fn raft_a_leader_with_a_full_disk_answers_unavailable() {
    let mut h = node(0, 1);
    h.timer(Timer::Election);
    assert_eq!(h.node.status().commit_index, 1, "a one-node cluster elects itself");
    h.disk.set_full(true);
    let id = RequestId { client: ClientId(3), seq: 1 };
    let out = h.request(id, Request::put("k", "v"));
    assert_eq!(out, vec![Command::Reply { to: id, resp: Response::Unavailable(Unavailable::DiskFull) }]);
    h.disk.set_full(false);
    let out = h.request(id, Request::put("k", "v"));
    assert_eq!(out, vec![Command::Reply { to: id, resp: Response::Written }]);
}
