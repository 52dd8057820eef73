//! What a power cut keeps of one file's unsynced changes, and how it tears a write.
//!
//! A crash first chooses the surviving changes ([`CrashKeeps`]), then may tear the last one
//! when it is a write: real disks persist a write sector by sector and, below that, can leave a
//! sector half old and half new or scrambled (a torn or "partial" write). The tear falls at a
//! random byte strictly inside the write; the rest of that sector is either garbage or stale
//! (the bytes it held before, or nothing when the write extended the file), and the rest of the
//! write never lands.

use super::faults::{CrashKeeps, DiskFaultCounts, DiskFaults};
use super::mem::Pending;
use crate::rng::{chance, Rng};
use rand::Rng as _;

/// The changes of one file that survive a crash, in order; counts what was lost and torn.
pub(crate) fn survivors(
    pending: Vec<Pending>,
    faults: &DiskFaults,
    rng: &mut Rng,
    counts: &mut DiskFaultCounts,
) -> Vec<Pending> {
    let total = pending.len();
    let mut kept = match resolve(faults.crash_keeps, rng) {
        CrashKeeps::Nothing => Vec::new(),
        CrashKeeps::Everything => pending,
        CrashKeeps::Prefix => prefix(pending, rng),
        CrashKeeps::Subset => subset(pending, rng),
        CrashKeeps::Any => unreachable!("resolve never returns Any"),
    };
    counts.lost_unsynced_writes += (total - kept.len()) as u64;
    if tearable(&kept) && chance(rng, faults.torn_write_probability) {
        let last = kept.pop().expect("a tearable write exists");
        kept.extend(tear(last, faults.sector_size_bytes, rng));
        counts.torn_writes += 1;
    }
    kept
}

/// `Any` draws one of the concrete policies.
fn resolve(keeps: CrashKeeps, rng: &mut Rng) -> CrashKeeps {
    match keeps {
        CrashKeeps::Any => {
            [CrashKeeps::Nothing, CrashKeeps::Prefix, CrashKeeps::Subset, CrashKeeps::Everything]
                [rng.gen_range(0..4)]
        }
        concrete => concrete,
    }
}

fn prefix(mut pending: Vec<Pending>, rng: &mut Rng) -> Vec<Pending> {
    let keep = rng.gen_range(0..=pending.len());
    pending.truncate(keep);
    pending
}

/// Each change survives with even odds; a lost truncation ends the file's surviving changes.
fn subset(pending: Vec<Pending>, rng: &mut Rng) -> Vec<Pending> {
    let mut kept = Vec::new();
    for op in pending {
        let survives = rng.gen_bool(0.5);
        match (survives, &op) {
            (true, _) => kept.push(op),
            (false, Pending::Truncate { .. }) => break,
            (false, Pending::Write { .. }) => {}
        }
    }
    kept
}

/// A write can be torn when it is the last surviving change and spans at least two bytes.
fn tearable(kept: &[Pending]) -> bool {
    matches!(kept.last(), Some(Pending::Write { data, .. }) if data.len() >= 2)
}

/// Splits a write at a random byte: the head lands, the rest of the sector holding the tear
/// is garbage or left stale, and the rest of the write is lost.
fn tear(write: Pending, sector: u64, rng: &mut Rng) -> Vec<Pending> {
    let Pending::Write { offset, mut data } = write else {
        unreachable!("only writes are torn");
    };
    let cut = rng.gen_range(1..data.len());
    let at = offset + cut as u64;
    let sector_end = (at / sector + 1) * sector;
    let garbage_len = (sector_end.min(offset + data.len() as u64) - at) as usize;
    data.truncate(cut);
    let mut torn = vec![Pending::Write { offset, data }];
    if rng.gen_bool(0.5) {
        let mut garbage = vec![0u8; garbage_len];
        rng.fill(garbage.as_mut_slice());
        torn.push(Pending::Write { offset: at, data: garbage });
    }
    torn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::derive;

    fn writes(n: usize) -> Vec<Pending> {
        (0..n).map(|i| Pending::Write { offset: i as u64 * 10, data: vec![i as u8; 10] }).collect()
    }

    #[test]
    fn prefix_keeps_a_prefix() {
        for seed in 0..50 {
            let ops = writes(6);
            let kept = prefix(ops.clone(), &mut derive(seed, "t", 0));
            assert_eq!(kept[..], ops[..kept.len()]);
        }
    }

    #[test]
    fn subset_stops_at_a_lost_truncation() {
        let mut ops = writes(3);
        ops.insert(1, Pending::Truncate { len: 0 });
        for seed in 0..100 {
            let kept = subset(ops.clone(), &mut derive(seed, "t", 0));
            let truncated = kept.contains(&Pending::Truncate { len: 0 });
            // Writes after the truncation (index 2, 3) survive only along with it.
            let later = kept.iter().any(|op| *op == ops[2] || *op == ops[3]);
            assert!(truncated || !later, "{kept:?}");
        }
    }

    #[test]
    fn tear_keeps_a_head_and_stays_inside_the_sector() {
        for seed in 0..100 {
            let write = Pending::Write { offset: 500, data: vec![7; 100] };
            let torn = tear(write, 512, &mut derive(seed, "t", 0));
            let Pending::Write { offset, data } = &torn[0] else { panic!() };
            assert_eq!(*offset, 500);
            assert!(!data.is_empty() && data.len() < 100);
            if let Some(Pending::Write { offset, data }) = torn.get(1) {
                let end = offset + data.len() as u64;
                assert!(end == 600 || end == 512, "garbage ends at the write's or the sector's end");
            }
        }
    }
}
