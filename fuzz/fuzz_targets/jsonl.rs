//! The JSON-lines reader (and the Porcupine etcd reader) never panic, and round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| faultline_checkers::fuzzing::jsonl(data));
