//! The EDN reader (and the Porcupine key-value reader) never panic, and round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| faultline_checkers::fuzzing::edn(data));
