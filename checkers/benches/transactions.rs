//! Throughput and peak memory of the transactional checker on generated list-append histories.
//!
//! Run: `cargo bench -p faultline-checkers --bench transactions` (sizes with
//! `TXN_BENCH_SIZES=100000,1000000`, scenarios with `TXN_BENCH_SCENARIOS=clean,anomalies`;
//! `stale` is a third, with 30% stale reads, which make one giant cyclic component).
//!
//! Each (size, scenario) runs in a child process of its own so that the kernel's peak resident
//! set (VmHWM) is that scenario's alone. Histories come from `txn::synth`: concurrent clients,
//! a skewed pool of active keys retired after 32 appends each (Elle's generator), transactions
//! of 1-4 micro-ops, half reads. The `anomalies` scenario adds 2% failed and 1% crashed
//! transactions and 1% stale reads, which the checker must report. A counting allocator
//! measures the heap: the history itself, and the checker's peak above it.
//!
//! Elle's published figure for comparison: 100-160k transactions per second (22M transactions
//! in about 2 minutes with about 60 GB of heap).

use faultline_checkers::txn::synth::{generate, SynthOptions};
use faultline_checkers::txn::{self, TxnOptions, Workload};
use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size >= layout.size() {
                let live =
                    LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MB: f64 = 1024.0 * 1024.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        let size = args[i + 1].parse().expect("size");
        run_one(size, &args[i + 2]);
        return;
    }
    let sizes = std::env::var("TXN_BENCH_SIZES").unwrap_or_else(|_| "100000,1000000".into());
    let scenarios = std::env::var("TXN_BENCH_SCENARIOS").unwrap_or_else(|_| "clean,anomalies".into());
    println!("transactional checker, list-append (Elle: 100-160k txn/s, 22M txns in ~60 GB)");
    for size in sizes.split(',') {
        for scenario in scenarios.split(',') {
            let exe = std::env::current_exe().expect("own path");
            let status = Command::new(exe).args(["--one", size, scenario]).status().expect("child runs");
            assert!(status.success(), "scenario {size} {scenario} failed");
        }
    }
}

fn options(size: usize, scenario: &str) -> SynthOptions {
    let base =
        SynthOptions { processes: 20, active_keys: 50, ..SynthOptions::new(Workload::ListAppend, 42, size) };
    match scenario {
        "clean" => base,
        "anomalies" => SynthOptions { fail_percent: 2, info_percent: 1, stale_read_percent: 1, ..base },
        "stale" => SynthOptions { stale_read_percent: 30, ..base },
        other => panic!("unknown scenario {other} (clean, anomalies)"),
    }
}

fn run_one(size: usize, scenario: &str) {
    let history = generate(&options(size, scenario));
    let history_bytes = LIVE.load(Ordering::Relaxed);
    let runs = if size <= 200_000 { 5 } else { 3 };
    let opts = TxnOptions::new(Workload::ListAppend);
    let mut seconds = Vec::new();
    let mut cpu = Vec::new();
    let mut extra_peak = 0;
    let mut report = None;
    for _ in 0..runs {
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        // Wall-clock timing is what a benchmark measures; it never affects results.
        #[allow(clippy::disallowed_methods)]
        let start = std::time::Instant::now();
        let cpu_start = cpu_seconds();
        let r = txn::check(&history, &opts).expect("generated histories are well formed");
        cpu.push(cpu_seconds() - cpu_start);
        seconds.push(start.elapsed().as_secs_f64());
        extra_peak = extra_peak.max(PEAK.load(Ordering::Relaxed) - before);
        report = Some(r);
    }
    seconds.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    let median = seconds[runs / 2];
    let cpu_median = cpu[runs / 2];
    let report = report.expect("ran");
    let s = &report.stats;
    println!(
        "{size:>8} txns {scenario:<9}: wall median {:.3} s of {runs} (min {:.3}) = {:>7.0} txn/s; cpu median {:.3} s \
         = {:>7.0} txn/s | history {:.0} MB, checker peak +{:.0} MB, VmHWM {:.0} MB | {} keys, {} edges, {} cyclic \
         components (largest {}), {} search steps | {}",
        median,
        seconds[0],
        size as f64 / median,
        cpu_median,
        size as f64 / cpu_median,
        history_bytes as f64 / MB,
        extra_peak as f64 / MB,
        vm_hwm_kb() as f64 / 1024.0,
        s.keys,
        s.edges,
        s.components,
        s.largest_component,
        report.search.spent,
        summary(&report),
    );
}

fn summary(report: &txn::TxnReport) -> String {
    if report.counts.is_empty() {
        return "no anomalies".into();
    }
    let counts: Vec<String> = report.counts.iter().map(|(k, n)| format!("{k} x{n}")).collect();
    counts.join(", ")
}

/// Time this thread spent on a CPU, from /proc (nanosecond resolution; NaN where unavailable):
/// on a shared machine it is steadier than wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: Option<u64> = stat.split_whitespace().next().and_then(|n| n.parse().ok());
    ns.map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

/// Peak resident set of this process, from /proc (0 where unavailable).
fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).unwrap_or(0)
}
