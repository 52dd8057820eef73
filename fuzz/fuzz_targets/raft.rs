//! Raft under a run the fuzzer's bytes describe (options, fault schedule, workload) must pass
//! every check. Needs the simulator: `RUSTFLAGS="--cfg madsim" cargo fuzz run --sanitizer none raft`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| faultline::fuzzing::raft(data));
