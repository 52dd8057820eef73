//! The shared fuzz body: any system under a run the fuzzer's bytes describe must pass every
//! check. One fuzz target (`fuzz/fuzz_targets/system.rs`) serves every registered system, and
//! each system's conformance tests run this body over its checked-in corpus
//! (`fuzz/corpus/<system>/`), so it cannot rot.
//!
//! The fuzzer's bytes become a whole run description through `arbitrary`: a seed (for every
//! random draw the run still makes), the swarm options of that seed with the cluster's shape
//! and the workload's size taken from the bytes, and the seed's fault schedule plus events built
//! from the rest of the bytes, fitted to the cluster. Bytes that describe something out of
//! range are clamped, never rejected, so every input runs. A failing run panics with its spec as
//! JSON, which `faultline replay SYSTEM --spec FILE` replays and `--shrink` reduces.

use crate::harness::run;
use crate::layout::LayoutOf;
use crate::options::SimOptions;
use crate::schedule::Schedule;
use crate::spec::RunSpec;
use crate::system::System;
use arbitrary::{Arbitrary, Unstructured};

/// The longest safety phase a fuzzed run gets, to keep executions fast.
const SAFETY_MS_MAX: u64 = 4_000;

/// Runs system `S` as `data` describes and panics if the run fails.
pub fn run_bytes<S: System>(data: &[u8]) {
    let spec = spec_from_bytes::<S>(data);
    let report = run::<S>(&spec).expect("fuzzed specs are fitted to be valid");
    if !report.passed() {
        panic!(
            "{report}\nreplay with: faultline replay {} --spec FILE, FILE holding:\n{}",
            S::NAME,
            spec.to_json()
        );
    }
}

/// The run `data` describes for system `S` (see the module documentation).
pub fn spec_from_bytes<S: System>(data: &[u8]) -> RunSpec {
    spec_for_layout(data, S::layout)
}

/// The run `data` describes for a system laid out by `layout`.
fn spec_for_layout(data: &[u8], layout: LayoutOf) -> RunSpec {
    let mut u = Unstructured::new(data);
    let seed = u64::arbitrary(&mut u).unwrap_or(0);
    let mut options = SimOptions::swarm(seed);
    options.nodes = if bool::arbitrary(&mut u).unwrap_or(false) { 5 } else { 3 };
    options.clients = u.int_in_range(1..=4).unwrap_or(2);
    options.safety_ms = u.int_in_range(500..=SAFETY_MS_MAX).unwrap_or(2_000);
    options.workload.ops_per_client = u.int_in_range(1..=30).unwrap_or(10);
    let mut spec = RunSpec { seed, options, schedule: Schedule::default(), bug: None };
    let layout = layout(&spec.config());
    // The seed's own plan, plus whatever events the rest of the bytes add.
    let mut schedule = Schedule::plan(seed, &spec.options, &layout);
    schedule.events.extend(Schedule::arbitrary_take_rest(u).unwrap_or_default().events);
    spec.schedule = schedule.fit(&layout, spec.options.safety_ms);
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    const SERVERS: LayoutOf = |config| Layout::servers(config.nodes);

    #[test]
    fn any_bytes_give_a_valid_spec() {
        let mut bytes = Vec::new();
        for n in 0..300u32 {
            bytes.extend(n.to_le_bytes().iter().map(|b| b.wrapping_mul(97).wrapping_add(n as u8)));
            let spec = spec_for_layout(&bytes, SERVERS);
            spec.validate(SERVERS).unwrap_or_else(|e| panic!("{} bytes: {e}", bytes.len()));
        }
        spec_for_layout(&[], SERVERS).validate(SERVERS).unwrap();
    }
}
