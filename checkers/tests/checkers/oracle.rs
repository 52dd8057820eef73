//! Goal: every optimisation of the linearizability search (partitioning, memoization, eager
//! reads, interchangeable info operations, reachability pruning, early stop) preserves the
//! answer. Method: generate thousands of small random histories per model (most linearizable by
//! construction, some corrupted, some with random outputs; with ok, fail, info and unfinished
//! operations), and check that the fast checker and the brute-force oracle agree, and that the
//! fast checker's linearization points are valid.

use faultline_checkers::fuzzing::{assert_agrees, history_from_bytes, history_from_bytes_sized, Kind};
use faultline_checkers::lin::{check, Options};
use faultline_checkers::Verdict;
use proptest::prelude::*;
use std::time::Duration;

/// Cases per model; `FAULTLINE_ORACLE_CASES` raises it for a longer run.
fn cases() -> u32 {
    std::env::var("FAULTLINE_ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2500)
}

fn agrees_for(kind: usize, random_outputs: bool, mut data: Vec<u8>) {
    data.insert(0, kind as u8 | if random_outputs { 0x80 } else { 0 });
    let (model, history) = history_from_bytes(&data);
    assert_agrees(&model, &history);
}

macro_rules! oracle_test {
    ($name:ident, $kind:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]
            #[test]
            fn $name(random in any::<bool>(), data in prop::collection::vec(any::<u8>(), 0..64)) {
                agrees_for($kind, random, data);
            }
        }
    };
}

oracle_test!(register_agrees_with_the_oracle, 0);
oracle_test!(cas_register_agrees_with_the_oracle, 1);
oracle_test!(key_value_agrees_with_the_oracle, 2);
oracle_test!(key_value_without_cas_agrees_with_the_oracle, 3);
oracle_test!(counter_agrees_with_the_oracle, 4);
oracle_test!(set_agrees_with_the_oracle, 5);
oracle_test!(queue_agrees_with_the_oracle, 6);
oracle_test!(lock_agrees_with_the_oracle, 7);
oracle_test!(lease_agrees_with_the_oracle, 8);
oracle_test!(cas_register_with_knossos_nil_reads_agrees_with_the_oracle, 9);
oracle_test!(key_value_with_knossos_nil_reads_agrees_with_the_oracle, 10);
oracle_test!(mutex_agrees_with_the_oracle, 11);
oracle_test!(multi_register_agrees_with_the_oracle, 12);
oracle_test!(multi_register_with_knossos_nil_reads_agrees_with_the_oracle, 13);
oracle_test!(independent_cas_register_agrees_with_the_oracle, 14);
oracle_test!(independent_mutex_agrees_with_the_oracle, 15);

/// The numbers above are positions in `Kind::ALL`.
#[test]
fn oracle_tests_cover_every_kind() {
    assert_eq!(Kind::ALL.len(), 16);
    assert_eq!(Kind::ALL[9], Kind::CasRegisterNilAny);
    assert_eq!(Kind::ALL[15], Kind::IndependentMutex);
}

/// Goal: the pruning is also right on histories too large for the oracle. Method: compare the
/// optimized search with the plain memoized search (the plain one has none of the pruning; on
/// small histories both agree with the oracle) on random histories of up to 24 operations from
/// 5 clients. The plain search may blow up on queues: it gets a deadline, and a case it cannot
/// finish is skipped (it says nothing).
fn plain_and_optimized_agree(data: &[u8]) -> Result<(), TestCaseError> {
    let (model, history) = history_from_bytes_sized(data, 24, 5);
    let opts = Options { threads: 1, ..Options::default() };
    let fast = check(&model, &history, &opts).unwrap();
    let plain_opts = Options { plain_search: true, deadline: Some(Duration::from_secs(2)), ..opts };
    let plain = check(&model, &history, &plain_opts).unwrap();
    prop_assume!(!matches!(plain.verdict, Verdict::Unknown(_)), "the plain search gave up");
    assert_eq!(
        fast.verdict.is_ok(),
        plain.verdict.is_ok(),
        "{}: optimized {} vs plain {}\n{}",
        model.name(),
        fast.verdict,
        plain.verdict,
        faultline_checkers::format::write(&history, faultline_checkers::format::Format::Jsonl)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases() / 5, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn optimized_and_plain_search_agree_on_medium_histories(
        kind in 0..Kind::ALL.len() as u8,
        random in any::<bool>(),
        data in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut data = data;
        data.insert(0, kind | if random { 0x80 } else { 0 });
        plain_and_optimized_agree(&data)?;
    }
}

/// The generator must produce both answers often, or the agreement above proves little.
#[test]
fn generated_histories_are_often_linearizable_and_often_not() {
    for (k, kind) in Kind::ALL.iter().enumerate() {
        let (mut ok, mut bad) = (0, 0);
        for seed in 0..400u64 {
            let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut data = vec![k as u8 | if seed % 2 == 1 { 0x80 } else { 0 }];
            for _ in 0..48 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data.push(x as u8);
            }
            let (model, history) = history_from_bytes(&data);
            let report = check(&model, &history, &Options { threads: 1, ..Options::default() }).unwrap();
            if report.verdict.is_ok() {
                ok += 1
            } else {
                bad += 1
            }
        }
        assert!(ok >= 60 && bad >= 60, "{kind:?}: {ok} linearizable, {bad} not, of 400");
    }
}
