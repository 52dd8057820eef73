//! `RecordLog` on a faulty `SimDisk`: recovery returns the synced records, or reports them as
//! damaged or torn, and never returns a wrong payload.
//!
//! Method: random appends, syncs, truncations, crashes, bit flips, latent sector errors and
//! full-disk windows run against a `RecordLog` on a `SimDisk`. The oracle keeps the log's
//! logical states since the last durable point (`states[0]` is durable; each append or
//! truncation adds one). After every crash (and every failed sync, which also drops unsynced
//! changes) the log is reopened and recovery is checked:
//!
//! - always: there is one state that every intact record agrees with (same seq, same payload),
//!   so recovery never mixes generations or invents a record; and every record that all states
//!   share (the stable prefix, which includes everything synced and not truncated since) is
//!   intact, inside a damaged region, or at or after the reported torn tail: nothing synced
//!   goes missing silently;
//! - without corruption (bit flips, latent sector errors): the stable prefix is intact;
//! - without corruption and with prefix-keeping crashes: recovery is exactly one of the states.
//!
//! After a check the log is repaired as a protocol would from its peers: when records were
//! damaged, or corruption may lurk, it is rewritten with the stable prefix.

use crate::sim_disk;
use faultline_sim::disk::{
    Corruption, CrashKeeps, DiskError, DiskFaultCounts, DiskFaults, RecordLog, RecordSlot, Recovered, SimDisk,
};
use proptest::prelude::*;

const WAL: &str = "wal";

#[derive(Clone, Debug)]
enum Op {
    Append(Vec<u8>),
    Sync,
    /// Keep this fraction (of 256) of the records.
    Truncate(u8),
    Crash,
    FlipAtRest,
    LatentSectors,
    FullWindow(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..60).prop_map(Op::Append),
        3 => Just(Op::Sync),
        1 => any::<u8>().prop_map(Op::Truncate),
        2 => Just(Op::Crash),
        1 => Just(Op::FlipAtRest),
        1 => Just(Op::LatentSectors),
        1 => any::<bool>().prop_map(Op::FullWindow),
    ]
}

type Log = Vec<Vec<u8>>;

/// The system under test and its oracle.
struct Model {
    disk: SimDisk,
    log: RecordLog,
    /// Logical states since the last durable point; `states[0]` is durable.
    states: Vec<Log>,
    /// Whether prefix-keeping crashes make recovery exact.
    exact: bool,
    /// Corruption counters when the current durable point was set.
    corruption_mark: u64,
    /// Recoveries that reported damage (a damaged region or a torn tail).
    damage_seen: u64,
}

/// Faults that can destroy synced data, as counted by the disk.
fn corruption(counts: &DiskFaultCounts) -> u64 {
    counts.bitflips_at_rest + counts.bitflips_on_read + counts.latent_sectors + counts.read_errors
}

impl Model {
    fn new(faults: DiskFaults, corr: Corruption, seed: u64) -> Model {
        let exact = faults.crash_keeps == CrashKeeps::Prefix;
        let mut disk = sim_disk(faults, corr, seed);
        let (log, rec) = reopen(&mut disk).expect("a new log opens");
        assert!(rec.slots.is_empty());
        Model { disk, log, states: vec![Vec::new()], exact, corruption_mark: 0, damage_seen: 0 }
    }

    fn last(&self) -> &Log {
        self.states.last().unwrap()
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Append(payload) => match self.log.append(&mut self.disk, payload) {
                Ok(seq) => {
                    prop_assert_eq!(seq, self.last().len() as u64);
                    let mut next = self.last().clone();
                    next.push(payload.clone());
                    self.states.push(next);
                }
                Err(e) => prop_assert_eq!(e, DiskError::Full(WAL.to_string())),
            },
            Op::Sync => match self.log.sync(&mut self.disk) {
                Ok(()) => self.states = vec![self.last().clone()],
                Err(DiskError::SyncFailed(_)) => {
                    // The unsynced changes are gone and the log's view is stale: reopen.
                    self.states.truncate(1);
                    self.reopen_and_check()?;
                }
                Err(e) => prop_assert!(false, "sync: {e}"),
            },
            Op::Truncate(fraction) => {
                let keep = (self.last().len() * *fraction as usize) / 256;
                self.log.truncate(&mut self.disk, keep as u64).unwrap();
                let next = self.last()[..keep].to_vec();
                self.states.push(next);
            }
            Op::Crash => {
                self.disk.crash();
                self.reopen_and_check()?;
            }
            Op::FlipAtRest => drop(self.disk.flip_bit_at_rest()),
            Op::LatentSectors => drop(self.disk.inject_read_error()),
            Op::FullWindow(true) => self.disk.begin_full_window(),
            Op::FullWindow(false) => self.disk.end_full_window(),
        }
        Ok(())
    }

    fn reopen_and_check(&mut self) -> Result<(), TestCaseError> {
        let (log, rec) = reopen(&mut self.disk)?;
        self.log = log;
        let corrupted = corruption(self.disk.counts()) > self.corruption_mark;
        check(&self.states, &rec, corrupted, self.exact)?;
        let damaged = rec.slots.iter().any(|s| matches!(s, RecordSlot::Damaged { .. }));
        self.damage_seen += u64::from(damaged || rec.torn_tail.is_some());
        let stable = stable_prefix(&self.states);
        let lost_synced = records(&rec) < stable.len()
            || rec.slots.iter().any(|s| matches!(s, RecordSlot::Damaged { seq_first, .. } if (*seq_first as usize) < stable.len()));
        // Corruption may lurk unseen (a flip on read can even undo a flip at rest), so after
        // any corruption the log is rewritten, as after visible damage.
        if corrupted || lost_synced || damaged {
            self.repair(stable)?;
        } else {
            let recovered: Log = rec.intact_payloads().unwrap().iter().map(|p| p.to_vec()).collect();
            self.states = vec![recovered];
        }
        self.corruption_mark = corruption(self.disk.counts());
        Ok(())
    }

    /// Rewrites the log with what the peers would supply: the stable prefix.
    fn repair(&mut self, stable: Log) -> Result<(), TestCaseError> {
        let full = self.disk.in_full_window();
        self.disk.end_full_window();
        for _ in 0..100 {
            match RecordLog::rewrite(&mut self.disk, WAL, stable.iter().map(|p| p.as_slice())) {
                Ok(log) => {
                    self.log = log;
                    self.states = vec![stable];
                    if full {
                        self.disk.begin_full_window();
                    }
                    return Ok(());
                }
                Err(DiskError::SyncFailed(_)) => continue,
                Err(e) => prop_assert!(false, "rewrite: {e}"),
            }
        }
        Err(TestCaseError::fail("rewrite kept failing"))
    }
}

/// Opens the log, retrying when the sync of its tail cut fails (that drops only the cut).
fn reopen(disk: &mut SimDisk) -> Result<(RecordLog, Recovered), TestCaseError> {
    for _ in 0..100 {
        match RecordLog::open(disk, WAL) {
            Ok(opened) => return Ok(opened),
            Err(DiskError::SyncFailed(_)) => continue,
            Err(e) => return Err(TestCaseError::fail(format!("open failed: {e}"))),
        }
    }
    Err(TestCaseError::fail("open kept failing"))
}

/// The records every state shares.
fn stable_prefix(states: &[Log]) -> Log {
    let len = states.iter().map(Vec::len).min().unwrap_or(0);
    states[0][..len].to_vec()
}

/// Records recovery accounts for (intact or damaged): the log's next sequence number.
fn records(rec: &Recovered) -> usize {
    match rec.slots.last() {
        Some(RecordSlot::Intact { seq, .. }) | Some(RecordSlot::Damaged { seq_last: seq, .. }) => {
            *seq as usize + 1
        }
        None => 0,
    }
}

fn intact(rec: &Recovered) -> impl Iterator<Item = (usize, &[u8])> {
    rec.slots.iter().filter_map(|s| match s {
        RecordSlot::Intact { seq, payload } => Some((*seq as usize, payload.as_slice())),
        RecordSlot::Damaged { .. } => None,
    })
}

fn check(states: &[Log], rec: &Recovered, corrupted: bool, exact: bool) -> Result<(), TestCaseError> {
    let agrees = |state: &Log| intact(rec).all(|(seq, p)| state.get(seq).is_some_and(|q| q == p));
    prop_assert!(states.iter().any(agrees), "intact records match no state: {:?} vs {:?}", rec, states);
    let stable = stable_prefix(states).len();
    if records(rec) < stable {
        let tail = rec.torn_tail.as_ref().map(|t| t.seq);
        prop_assert_eq!(tail, Some(records(rec) as u64), "synced records vanished silently: {:?}", rec);
    }
    if corrupted {
        return Ok(());
    }
    let intact_below = intact(rec).filter(|(seq, _)| *seq < stable).count();
    prop_assert_eq!(intact_below, stable, "without corruption the stable prefix is intact: {:?}", rec);
    if exact {
        let payloads: Option<Log> = rec.intact_payloads().map(|ps| ps.iter().map(|p| p.to_vec()).collect());
        prop_assert!(
            payloads.is_some_and(|ps| states.contains(&ps)),
            "prefix crash gave no state: {:?}",
            rec
        );
    }
    Ok(())
}

fn run(faults: DiskFaults, corr: Corruption, seed: u64, ops: &[Op]) -> Result<Model, TestCaseError> {
    let mut model = Model::new(faults, corr, seed);
    for op in ops {
        model.step(op)?;
    }
    model.disk.crash();
    model.reopen_and_check()?;
    Ok(model)
}

fn base() -> DiskFaults {
    DiskFaults { torn_write_probability: 0.5, sync_error_probability: 0.1, ..DiskFaults::default() }
}

fn every_fault() -> DiskFaults {
    DiskFaults {
        crash_keeps: CrashKeeps::Any,
        read_bitflip_probability: 0.05,
        read_error_probability: 0.02,
        ..base()
    }
}

/// The properties below hold only if their runs meet the faults: a run of the generator that
/// never tore a write or flipped a bit would have tested nothing. This runs 200 generated cases
/// and requires every fault, and damage reported by recovery, to have happened.
#[test]
fn the_record_log_properties_meet_every_fault() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (any::<u64>(), proptest::collection::vec(op(), 0..80));
    let (mut total, mut damage_seen) = (DiskFaultCounts::default(), 0);
    for _ in 0..200 {
        let (seed, ops) = strategy.new_tree(&mut runner).unwrap().current();
        let model = run(every_fault(), Corruption::Allowed, seed, &ops).unwrap();
        total.add(model.disk.counts());
        damage_seen += model.damage_seen;
    }
    // Slow I/O is off in these runs, and wiping a disk is the nemesis's, not a rate.
    for (name, count) in total.entries() {
        assert!(count > 0 || name == "slow_ios" || name == "wiped", "{name} never fired: {total:?}");
    }
    assert!(damage_seen > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::cases(300)))]

    #[test]
    fn after_prefix_crashes_recovery_is_exactly_a_state_of_the_log(
        seed in any::<u64>(), ops in proptest::collection::vec(op(), 0..80),
    ) {
        let faults = DiskFaults { crash_keeps: CrashKeeps::Prefix, ..base() };
        run(faults, Corruption::Forbidden, seed, &ops)?;
    }

    #[test]
    fn after_subset_crashes_every_intact_record_is_right_and_synced_ones_survive(
        seed in any::<u64>(), ops in proptest::collection::vec(op(), 0..80),
    ) {
        let faults = DiskFaults { crash_keeps: CrashKeeps::Subset, ..base() };
        run(faults, Corruption::Forbidden, seed, &ops)?;
    }

    #[test]
    fn under_every_fault_recovery_never_returns_a_wrong_payload(
        seed in any::<u64>(), ops in proptest::collection::vec(op(), 0..80),
    ) {
        run(every_fault(), Corruption::Allowed, seed, &ops)?;
    }
}
