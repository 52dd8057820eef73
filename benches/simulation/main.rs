//! Simulation speed: simulated seconds per wall second and messages per second, and the cost of
//! faultline's shell and codec over raw madsim endpoints, measured in the same run.
//!
//! Run with `cargo bench --bench simulation` (`FAULTLINE_BENCH_SEEDS` sets the seeds per figure,
//! `FAULTLINE_BENCH_ROUNDS` how many times each figure's seeds run; the median round is printed;
//! `FAULTLINE_BENCH_ONLY=raft` runs only the figures whose label starts with it).
//! It prints figures; it asserts nothing. The body needs the simulator, so a real-mode build
//! (without `--cfg madsim`) compiles a stub that says so.

#[cfg(madsim)]
mod body;

fn main() {
    #[cfg(madsim)]
    body::main();
    #[cfg(not(madsim))]
    eprintln!("the simulation benchmark runs in the simulation build: cargo bench --bench simulation");
}
