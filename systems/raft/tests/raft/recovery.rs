//! Crashes and disk damage: recovery that never trusts a bad record, and repair from peers
//! (protocol-aware recovery, Alagappan et al., FAST 2018; Raft's Figure 2 persistent state).

use crate::cluster::{Cluster, RaftCluster};
use crate::replication::append;
use faultline_raft::{RaftConfig, Response, StatusRole, LOG_FILE, META_FILES, SNAPSHOT_FILE};
use faultline_sim::disk::log::HEADER_LEN;
use faultline_sim::Storage;
use std::time::Duration;

/// Flips a byte in the payload of record `seq` of `node`'s log, durably (a latent corruption).
pub fn corrupt_log_record(c: &mut Cluster, node: usize, seq: u64) {
    let disk = c.disk(node);
    let data = disk.read_all(LOG_FILE).unwrap().unwrap();
    let mut at = 0usize;
    for _ in 0..seq {
        at += HEADER_LEN + u32::from_le_bytes(data[at + 12..at + 16].try_into().unwrap()) as usize;
    }
    let target = (at + HEADER_LEN) as u64;
    let byte = disk.read(LOG_FILE, target, 1).unwrap()[0];
    disk.write(LOG_FILE, target, &[byte ^ 0x20]).unwrap();
    disk.sync(LOG_FILE).unwrap();
}

/// Flips the last byte of a whole-file structure (metadata copy, snapshot), durably.
pub fn corrupt_file(c: &mut Cluster, node: usize, file: &str) {
    let disk = c.disk(node);
    let len = disk.len(file).unwrap().expect("file exists");
    let byte = disk.read(file, len - 1, 1).unwrap()[0];
    disk.write(file, len - 1, &[byte ^ 0x01]).unwrap();
    disk.sync(file).unwrap();
}

fn write_some(c: &mut Cluster, n: u32) {
    for i in 0..n {
        assert_eq!(c.call(0, append("k", &i.to_string())), Response::Written);
    }
}

fn expected(n: u32) -> Response {
    Response::Value(Some((0..n).map(|i| i.to_string()).collect()))
}

#[test]
fn raft_leader_crashes_with_unsynced_log_tail() {
    // Figure 2 persistence and PAR's crash case: the leader dies in the middle of an append.
    // Its last record is torn (a header and half a payload reached the disk) and a later append
    // never synced. Recovery cuts the torn tail (it was never acknowledged), the node rejoins,
    // and nothing committed is lost.
    let mut c = Cluster::new(3, 31);
    write_some(&mut c, 5);
    let leader = c.leader().unwrap();
    let disk = c.disk(leader);
    let end = disk.len(LOG_FILE).unwrap().unwrap();
    let torn = [0x43, 0x52, 0x4c, 0x46, 9, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3];
    disk.write(LOG_FILE, end, &torn).unwrap();
    disk.sync(LOG_FILE).unwrap();
    disk.write(LOG_FILE, end + torn.len() as u64, b"never synced").unwrap();
    c.restart(leader as u32);
    let report = c.node(leader).recovery_report().clone();
    assert_eq!(report.torn_bytes, torn.len() as u64);
    assert_eq!(report.holes, 0);
    write_some(&mut c, 0);
    assert_eq!(c.get(1, "k"), expected(5));
    assert!(c.run_until(Cluster::converged, Duration::from_secs(2)));
    c.assert_safe();
}

#[test]
fn raft_a_corrupted_acknowledged_entry_is_repaired_from_the_leader() {
    // PAR's corruption case: a follower's entry 2 (record 2) went bad after it was synced and
    // marked. On restart it is a hole, not a truncation; the leader refills it.
    let mut c = Cluster::new(3, 32);
    write_some(&mut c, 5);
    let follower = (c.leader().unwrap() + 1) % 3;
    corrupt_log_record(&mut c, follower, 2);
    c.restart(follower as u32);
    assert_eq!(c.node(follower).recovery_report().holes, 1);
    assert_eq!(c.status(follower).first_hole, Some(2));
    assert!(c.run_until(|c| c.status(follower).first_hole.is_none(), Duration::from_secs(2)));
    assert!(c.run_until(Cluster::converged, Duration::from_secs(2)));
    assert_eq!(c.node(follower).kv().get("k"), Some("01234"));
    c.assert_safe();
}

#[test]
fn raft_a_node_with_an_unreadable_entry_votes_but_does_not_campaign_until_repaired() {
    // PAR: until repaired, a node must not lead (it cannot replicate what it cannot read) nor
    // acknowledge past its hole. It may vote: the election restriction (section 5.4.1) needs
    // only its log end, which its persist records name. With the leader down, the healthy node
    // is elected with the damaged node's vote and repairs it.
    let mut c = Cluster::new(3, 33);
    write_some(&mut c, 4);
    let leader = c.leader().unwrap() as u32;
    let damaged = (leader + 1) % 3;
    let healthy = (leader + 2) % 3;
    c.crash(leader);
    corrupt_log_record(&mut c, damaged as usize, 2);
    c.restart(damaged);
    assert!(c.status(damaged as usize).first_hole.is_some());
    assert!(c.run_until(|c| c.leader().is_some(), Duration::from_secs(3)), "no leader without the old one");
    assert_eq!(c.leader(), Some(healthy as usize), "only the healthy node may lead");
    assert!(c.run_until(|c| c.status(damaged as usize).first_hole.is_none(), Duration::from_secs(2)));
    c.restart(leader);
    assert_eq!(c.get(1, "k"), expected(4));
    c.assert_safe();
}

#[test]
fn raft_a_damaged_snapshot_is_replaced_from_the_leader() {
    // Section 7 with PAR: the snapshot covered entries the node acknowledged; when it goes bad
    // they all become holes, and the leader's InstallSnapshot (or entries) refills them.
    let config = RaftConfig { snapshot_threshold: 4, ..RaftConfig::with_members(3) };
    let mut c = Cluster::with_config(3, config, 34);
    write_some(&mut c, 12);
    assert!(c.run_until(Cluster::converged, Duration::from_secs(1)));
    let follower = (c.leader().unwrap() + 1) % 3;
    assert!(c.status(follower).snapshot.index > 0, "the follower has a snapshot");
    corrupt_file(&mut c, follower, SNAPSHOT_FILE);
    c.restart(follower as u32);
    assert!(c.node(follower).recovery_report().snapshot_lost);
    assert_eq!(c.status(follower).first_hole, Some(1));
    assert!(c.run_until(|c| c.status(follower).first_hole.is_none() && c.converged(), Duration::from_secs(3)));
    assert_eq!(c.node(follower).kv().get("k"), Some("01234567891011"));
    c.assert_safe();
}

#[test]
fn raft_one_damaged_metadata_copy_is_repaired_from_the_other() {
    // CTRL keeps metadata twice: one bad copy costs nothing; the node keeps its term and vote.
    let mut c = Cluster::new(3, 35);
    write_some(&mut c, 2);
    let term = c.status(1).term;
    corrupt_file(&mut c, 1, META_FILES[0]);
    c.restart(1);
    assert!(c.node(1).recovery_report().meta_repaired);
    assert_eq!(c.status(1).term, term);
    assert_eq!(c.status(1).role, StatusRole::Follower);
    c.assert_safe();
}

#[test]
fn raft_both_metadata_copies_damaged_take_the_node_out_and_the_rest_carry_on() {
    // Without its term and vote a node could vote twice in a term; it stops taking part. The
    // other two still form a majority.
    let mut c = Cluster::new(3, 36);
    write_some(&mut c, 2);
    let victim = (c.leader().unwrap() + 2) % 3;
    corrupt_file(&mut c, victim, META_FILES[0]);
    corrupt_file(&mut c, victim, META_FILES[1]);
    c.restart(victim as u32);
    assert_eq!(c.status(victim).role, StatusRole::Failed);
    write_some(&mut c, 4);
    assert_eq!(c.get(1, "k"), Response::Value(Some("010123".into())));
    c.assert_safe();
}

#[test]
fn raft_every_node_crashing_at_once_loses_no_committed_write() {
    // Figure 2: everything acknowledged was durable, so a full-cluster power cut keeps it.
    for seed in 0..10 {
        let mut c = Cluster::new(3, 200 + seed);
        write_some(&mut c, 6);
        for n in 0..3 {
            c.crash(n);
        }
        for n in 0..3 {
            c.restart(n);
        }
        assert_eq!(c.get(1, "k"), expected(6), "seed {seed}");
        c.assert_safe();
    }
}
