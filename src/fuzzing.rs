//! The body of the `raft` fuzz target (`fuzz/fuzz_targets/raft.rs`), here so that `cargo test`
//! runs it over the checked-in corpus (`fuzz/corpus/raft/`) and it cannot rot.
//!
//! The fuzzer's bytes become a whole run description through `arbitrary`: a seed (for every
//! random draw the run still makes), the swarm options of that seed with the cluster's shape
//! and the workload's size taken from the bytes, and the seed's fault schedule plus events built
//! from the rest of the bytes, fitted to the cluster. Bytes that describe something out of range are clamped, never
//! rejected, so every input runs. A failing run panics with its spec as JSON, which
//! `faultline replay raft --spec FILE` replays.

use arbitrary::{Arbitrary, Unstructured};
use faultline_raft::RaftSystem;
use faultline_sim::harness::run;
use faultline_sim::options::SimOptions;
use faultline_sim::schedule::Schedule;
use faultline_sim::spec::RunSpec;
use faultline_sim::system::System;

/// The longest safety phase a fuzzed run gets, to keep executions fast.
const SAFETY_MS_MAX: u64 = 4_000;

/// Runs Raft as `data` describes and panics if the run fails.
pub fn raft(data: &[u8]) {
    let spec = spec_from_bytes(data);
    let report = run::<RaftSystem>(&spec).expect("fuzzed specs are fitted to be valid");
    if !report.passed() {
        panic!("{report}\nreplay with: faultline replay raft --spec FILE, FILE holding:\n{}", spec.to_json());
    }
}

/// The run `data` describes (see the module documentation).
pub fn spec_from_bytes(data: &[u8]) -> RunSpec {
    let mut u = Unstructured::new(data);
    let seed = u64::arbitrary(&mut u).unwrap_or(0);
    let mut options = SimOptions::swarm(seed);
    options.nodes = if bool::arbitrary(&mut u).unwrap_or(false) { 5 } else { 3 };
    options.clients = u.int_in_range(1..=4).unwrap_or(2);
    options.safety_ms = u.int_in_range(500..=SAFETY_MS_MAX).unwrap_or(2_000);
    options.workload.ops_per_client = u.int_in_range(1..=30).unwrap_or(10);
    let mut spec = RunSpec { seed, options, schedule: Schedule::default(), bug: None };
    let layout = RaftSystem::layout(&spec.config());
    // The seed's own plan, plus whatever events the rest of the bytes add.
    let mut schedule = Schedule::plan(seed, &spec.options, &layout);
    schedule.events.extend(Schedule::arbitrary_take_rest(u).unwrap_or_default().events);
    spec.schedule = schedule.fit(&layout, spec.options.safety_ms);
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_bytes_give_a_valid_spec() {
        let mut bytes = Vec::new();
        for n in 0..300u32 {
            bytes.extend(n.to_le_bytes().iter().map(|b| b.wrapping_mul(97).wrapping_add(n as u8)));
            let spec = spec_from_bytes(&bytes);
            spec.validate(RaftSystem::layout).unwrap_or_else(|e| panic!("{} bytes: {e}", bytes.len()));
        }
        spec_from_bytes(&[]).validate(RaftSystem::layout).unwrap();
    }
}
