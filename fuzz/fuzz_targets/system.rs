//! Any registered system under a run the fuzzer's bytes describe (options, fault schedule,
//! workload) must pass every check. `FAULTLINE_FUZZ_SYSTEM` names the system; it needs the
//! simulator: `FAULTLINE_FUZZ_SYSTEM=raft RUSTFLAGS="--cfg madsim" cargo fuzz run --sanitizer
//! none system fuzz/work/raft fuzz/corpus/raft`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| faultline::fuzz::run(data));
