//! The linearizability checker agrees with the brute-force oracle on small histories.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| faultline_checkers::fuzzing::lin(data));
