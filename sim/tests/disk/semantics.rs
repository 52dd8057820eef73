//! The backends agree on the semantics of `Storage`: a `SimDisk` without faults answers every
//! call (crashes included) exactly as `MemDisk` does, and `RealDisk` answers every call as
//! `MemDisk` does (crashes excepted: a real power cut cannot be provoked from a test).

use crate::sim_disk;
use faultline_sim::disk::{Corruption, DiskFaults, MemDisk, RealDisk, Storage};
use proptest::prelude::*;

const FILES: [&str; 3] = ["a", "b", "wal"];

#[derive(Clone, Debug)]
enum Call {
    Write(usize, u64, Vec<u8>),
    Append(usize, Vec<u8>),
    Read(usize, u64, usize),
    Len(usize),
    Truncate(usize, u64),
    Sync(usize),
    Rename(usize, usize),
    Remove(usize),
    List,
    Crash,
}

fn call(crashes: bool) -> impl Strategy<Value = Call> {
    let file = 0..FILES.len();
    let data = proptest::collection::vec(any::<u8>(), 0..24);
    prop_oneof![
        (file.clone(), 0..64u64, data.clone()).prop_map(|(f, o, d)| Call::Write(f, o, d)),
        (file.clone(), data).prop_map(|(f, d)| Call::Append(f, d)),
        (file.clone(), 0..80u64, 0..40usize).prop_map(|(f, o, l)| Call::Read(f, o, l)),
        file.clone().prop_map(Call::Len),
        (file.clone(), 0..80u64).prop_map(|(f, l)| Call::Truncate(f, l)),
        file.clone().prop_map(Call::Sync),
        (file.clone(), file.clone()).prop_map(|(a, b)| Call::Rename(a, b)),
        file.prop_map(Call::Remove),
        Just(Call::List),
        Just(if crashes { Call::Crash } else { Call::List }),
    ]
}

/// The observable answer to a call.
fn apply(disk: &mut dyn Storage, call: &Call) -> String {
    match call {
        Call::Write(f, o, d) => format!("{:?}", disk.write(FILES[*f], *o, d)),
        Call::Append(f, d) => format!("{:?}", disk.append(FILES[*f], d)),
        Call::Read(f, o, l) => format!("{:?}", disk.read(FILES[*f], *o, *l)),
        Call::Len(f) => format!("{:?}", disk.len(FILES[*f])),
        Call::Truncate(f, l) => format!("{:?}", disk.truncate(FILES[*f], *l)),
        Call::Sync(f) => format!("{:?}", disk.sync(FILES[*f])),
        Call::Rename(a, b) => format!("{:?}", disk.rename(FILES[*a], FILES[*b])),
        Call::Remove(f) => format!("{:?}", disk.remove(FILES[*f])),
        Call::List => format!("{:?}", disk.list()),
        Call::Crash => unreachable!("crashes are applied by the test"),
    }
}

/// Every file's whole contents, for a final comparison.
fn snapshot(disk: &mut dyn Storage) -> Vec<(String, Option<Vec<u8>>)> {
    FILES.iter().map(|f| (f.to_string(), disk.read_all(f).unwrap())).collect()
}

proptest! {
    #[test]
    fn a_sim_disk_without_faults_behaves_like_mem_disk(calls in proptest::collection::vec(call(true), 0..60)) {
        let mut mem = MemDisk::new();
        let mut sim = sim_disk(DiskFaults::default(), Corruption::Allowed, 0);
        for c in &calls {
            if let Call::Crash = c {
                mem.crash();
                sim.crash();
                continue;
            }
            prop_assert_eq!(apply(&mut mem, c), apply(&mut sim, c), "call {:?}", c);
        }
        prop_assert_eq!(snapshot(&mut mem), snapshot(&mut sim));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::cases(48)))]
    #[test]
    fn a_real_disk_behaves_like_mem_disk(calls in proptest::collection::vec(call(false), 0..40)) {
        let tmp = tempfile::tempdir().unwrap();
        let mut real = RealDisk::open(tmp.path()).unwrap();
        let mut mem = MemDisk::new();
        for c in &calls {
            prop_assert_eq!(apply(&mut mem, c), apply(&mut real, c), "call {:?}", c);
        }
        prop_assert_eq!(snapshot(&mut mem), snapshot(&mut real));
    }
}
