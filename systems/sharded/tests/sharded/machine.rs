//! The shard group's state machine, command by command: what a reconfiguration freezes and
//! awaits, what the epoch check refuses, what an import installs (sessions included), and that
//! every internal command is idempotent (a command may be committed twice: a new leader
//! re-proposes what its predecessor appended).

use faultline_raft::StateMachine;
use faultline_services::{KvOutcome, KvWrite, Ring};
use faultline_sharded::machine::{MachineBugs, MachineEvent, ShardMachine, INTERNAL_CLIENT};
use faultline_sharded::msg::{GroupId, Refusal, RingConfig, ShardRead, ShardResponse, ShardWrite};
use faultline_sim::{ClientId, RequestId};

fn config(epoch: u64, groups: &[GroupId]) -> RingConfig {
    RingConfig { epoch, groups: groups.iter().copied().collect(), vnodes: 16 }
}

fn internal(seq: u64) -> RequestId {
    RequestId { client: INTERNAL_CLIENT, seq }
}

fn client(c: u32, seq: u64) -> RequestId {
    RequestId { client: ClientId(c), seq }
}

fn put(epoch: u64, key: &str, value: &str) -> ShardWrite {
    ShardWrite::Client { epoch, op: KvWrite::Put { key: key.into(), value: value.into() } }
}

fn read(m: &mut ShardMachine, epoch: u64, key: &str) -> ShardResponse {
    m.read(&ShardRead { epoch, key: key.into() })
}

/// A key that group `from` owns at `a` and group `to` at `b`.
fn key_between(a: &RingConfig, b: &RingConfig, from: GroupId, to: GroupId) -> String {
    let (ra, rb): (Ring, Ring) = (a.ring(), b.ring());
    let found =
        (0..1000).map(|i| format!("k{i}")).find(|k| ra.owner(k) == Some(from) && rb.owner(k) == Some(to));
    found.expect("the rings move some key between these groups")
}

/// Group `g` at configuration 1 of groups 0 and 1.
fn at_epoch_1(g: GroupId) -> ShardMachine {
    let mut m = ShardMachine::default();
    m.apply(internal(1), &ShardWrite::Reconfigure { group: g, config: config(1, &[0, 1]) });
    assert_eq!(m.epoch(), 1);
    m.take_events();
    m
}

#[test]
fn a_request_routed_with_another_epoch_is_refused_with_the_groups_epoch() {
    let mut m = at_epoch_1(0);
    let stale = Some(ShardResponse::Refused(Refusal::StaleEpoch { epoch: 1 }));
    assert_eq!(m.apply(client(0, 1), &put(0, "k", "v")), stale);
    assert_eq!(m.apply(client(0, 2), &put(2, "k", "v")), stale);
    assert_eq!(read(&mut m, 2, "k"), stale.clone().unwrap());
    assert_eq!(m.take_events(), vec![MachineEvent::StaleEpoch; 3]);
    // Nothing refused touched the session: the same request id is still new.
    assert_eq!(m.apply(client(0, 1), &put(1, "k", "v")), Some(ShardResponse::Kv(KvOutcome::Written)));
}

#[test]
fn a_reconfiguration_freezes_leaving_keys_and_awaits_arriving_ones() {
    let (c1, c2) = (config(1, &[0, 1]), config(2, &[0, 1, 2]));
    let leaving = key_between(&c1, &c2, 0, 2);
    let staying = key_between(&c1, &c2, 0, 0);
    let mut m = at_epoch_1(0);
    m.apply(client(0, 1), &put(1, &leaving, "a"));
    m.apply(client(0, 2), &put(1, &staying, "b"));
    m.apply(internal(2), &ShardWrite::Reconfigure { group: 0, config: c2.clone() });
    assert_eq!(m.epoch(), 2);
    assert!(m.awaiting().is_empty(), "a join moves keys only to the joining group");
    let shipment = m.outgoing()[&(2, 2)].clone();
    assert_eq!(shipment.pairs, vec![(leaving.clone(), "a".to_string())]);
    assert_eq!(m.kv().get(&leaving), None, "a frozen key left the store");
    assert_eq!(read(&mut m, 2, &staying), ShardResponse::Kv(KvOutcome::Value(Some("b".into()))));
    // The joining group awaits group 0 (and 1) and refuses what has not arrived.
    let mut joiner = ShardMachine::default();
    joiner.apply(internal(1), &ShardWrite::Reconfigure { group: 2, config: c1 });
    joiner.apply(internal(2), &ShardWrite::Reconfigure { group: 2, config: c2 });
    assert!(joiner.awaiting().contains(&0));
    assert_eq!(read(&mut joiner, 2, &leaving), ShardResponse::Refused(Refusal::Moving));
    // Its import installs the keys and the sessions: a retried write is a duplicate.
    let import = ShardWrite::Import { epoch: 2, from: 0, shipment: shipment.clone() };
    joiner.apply(internal(3), &import);
    assert!(!joiner.awaiting().contains(&0));
    assert_eq!(read(&mut joiner, 2, &leaving), ShardResponse::Kv(KvOutcome::Value(Some("a".into()))));
    assert_eq!(joiner.saved_response(client(0, 2)), Some(ShardResponse::Kv(KvOutcome::Written)));
    // Importing again changes nothing.
    let digest = joiner.digest();
    joiner.apply(internal(3), &import);
    assert_eq!(joiner.digest(), digest);
}

#[test]
fn a_group_moves_on_only_once_nothing_is_awaited_and_releases_once() {
    let (c1, c2, c3) = (config(1, &[0, 1]), config(2, &[0, 1, 2]), config(3, &[0, 2]));
    let mut joiner = ShardMachine::default();
    joiner.apply(internal(1), &ShardWrite::Reconfigure { group: 2, config: c1 });
    joiner.apply(internal(2), &ShardWrite::Reconfigure { group: 2, config: c2 });
    joiner.apply(internal(3), &ShardWrite::Reconfigure { group: 2, config: c3.clone() });
    assert_eq!(joiner.epoch(), 2, "configuration 3 waits for the imports of 2");
    // Skipping an epoch is never allowed either.
    let mut fresh = ShardMachine::default();
    fresh.apply(internal(1), &ShardWrite::Reconfigure { group: 0, config: c3 });
    assert_eq!(fresh.epoch(), 0);
    // A release drops the frozen copy once, and only its own.
    let mut source = at_epoch_1(0);
    source.apply(internal(2), &ShardWrite::Reconfigure { group: 0, config: config(2, &[0, 1, 2]) });
    source.apply(internal(3), &ShardWrite::Release { epoch: 2, to: 1 });
    assert_eq!(source.outgoing().len(), 1);
    source.apply(internal(4), &ShardWrite::Release { epoch: 2, to: 2 });
    source.apply(internal(4), &ShardWrite::Release { epoch: 2, to: 2 });
    assert!(source.outgoing().is_empty());
    let released = source.take_events().into_iter().filter(|e| matches!(e, MachineEvent::Released { .. }));
    assert_eq!(released.count(), 1);
}

#[test]
fn planted_machine_bugs_deviate_where_they_say() {
    let (c1, c2) = (config(1, &[0, 1]), config(2, &[0, 1, 2]));
    let mut m = ShardMachine::with_bugs(MachineBugs { no_epoch_check: true, ..MachineBugs::default() });
    m.apply(internal(1), &ShardWrite::Reconfigure { group: 0, config: c1.clone() });
    m.apply(internal(2), &ShardWrite::Reconfigure { group: 0, config: c2.clone() });
    // BUG(NoEpochCheck): a write routed with epoch 1 is applied at epoch 2.
    assert_eq!(m.apply(client(0, 1), &put(1, "k", "v")), Some(ShardResponse::Kv(KvOutcome::Written)));
    let mut joiner =
        ShardMachine::with_bugs(MachineBugs { serve_before_import: true, ..MachineBugs::default() });
    joiner.apply(internal(1), &ShardWrite::Reconfigure { group: 2, config: c1.clone() });
    joiner.apply(internal(2), &ShardWrite::Reconfigure { group: 2, config: c2.clone() });
    // BUG(ServeBeforeHandoffApplied): an arriving key is served before its import.
    let arriving = key_between(&c1, &c2, 0, 2);
    assert_eq!(read(&mut joiner, 2, &arriving), ShardResponse::Kv(KvOutcome::Value(None)));
}
