//! The simulation benchmark's body (see `main.rs`).

use faultline_checkers::{History, Value};
use faultline_counter::Counter;
use faultline_paxos::PaxosSystem;
use faultline_raft::RaftSystem;
use faultline_sharded::ShardedSystem;
use faultline_sim::harness::{run, RunSpec};
use faultline_sim::options::{Preset, SimOptions};
use faultline_sim::rng::Rng;
use faultline_sim::schedule::Schedule;
use faultline_sim::system::{Answer, CheckOutcome, Op, System, SystemConfig};
use faultline_sim::{ClientId, Context, Node, NodeId, RequestId};
use faultline_twopc::TwoPcSystem;
use madsim::net::Endpoint;
use madsim::runtime::Runtime;
use madsim::time::{sleep, Duration};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Nodes in the message benchmark, and messages each keeps in flight to each peer.
const NODES: u32 = 3;
const IN_FLIGHT: u32 = 8;
const BENCH_SIM_SECS: u64 = 10;

/// The same allocator as the `faultline` binary, so the figures match what sweeps do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub fn main() {
    let seeds: u64 = std::env::var("FAULTLINE_BENCH_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    println!("faultline simulation benchmark ({seeds} seeds per figure, one core)\n");
    counter_figures(seeds);
    raft_figures(seeds);
    zab_figures(seeds);
    paxos_figures(seeds);
    sharded_figures(seeds);
    twopc_figures(seeds);
    println!();
    if std::env::var("FAULTLINE_BENCH_ONLY").is_ok_and(|only| !"ping".starts_with(&only)) {
        return;
    }
    message_overhead(seeds / 4 + 1);
}

#[allow(clippy::disallowed_methods)] // wall time is what a benchmark measures
fn now() -> Instant {
    Instant::now()
}

fn counter_figures(seeds: u64) {
    for preset in [Preset::Nofault, Preset::Swarm] {
        let specs = (0..seeds).map(|seed| RunSpec::from_preset(seed, preset, None, Counter::layout));
        figures::<Counter>(&format!("counter {}", preset.name()), specs);
    }
}

/// Raft: a 5-node cluster under swarm (the target: 2000 simulated seconds per wall
/// second on one core), and the 3-or-5-node swarm mix a default sweep runs.
fn raft_figures(seeds: u64) {
    let five = (0..seeds).map(|seed| {
        let mut spec = RunSpec::from_preset(seed, Preset::Swarm, None, RaftSystem::layout);
        spec.options.nodes = 5;
        spec.schedule = Schedule::plan(seed, &spec.options, &RaftSystem::layout(&spec.config()));
        spec
    });
    figures::<RaftSystem>("raft 5 nodes swarm", five);
    let mix = (0..seeds).map(|seed| RunSpec::from_preset(seed, Preset::Swarm, None, RaftSystem::layout));
    figures::<RaftSystem>("raft swarm (3 or 5)", mix);
}

/// Zab: the same shapes as Raft, 5 nodes under swarm (the target: 2000 simulated
/// seconds per wall second on one core) and the 3-or-5 mix.
fn zab_figures(seeds: u64) {
    use faultline_zab::ZabSystem;
    let five = (0..seeds).map(|seed| {
        let mut spec = RunSpec::from_preset(seed, Preset::Swarm, None, ZabSystem::layout);
        spec.options.nodes = 5;
        spec.schedule = Schedule::plan(seed, &spec.options, &ZabSystem::layout(&spec.config()));
        spec
    });
    figures::<ZabSystem>("zab 5 nodes swarm", five);
    let mix = (0..seeds).map(|seed| RunSpec::from_preset(seed, Preset::Swarm, None, ZabSystem::layout));
    figures::<ZabSystem>("zab swarm (3 or 5)", mix);
}

/// Multi-Paxos: the same two figures as Raft's, on the same seeds (the target is the
/// same too: 2000 simulated seconds per wall second for five nodes under swarm).
fn paxos_figures(seeds: u64) {
    let five = (0..seeds).map(|seed| {
        let mut spec = RunSpec::from_preset(seed, Preset::Swarm, None, PaxosSystem::layout);
        spec.options.nodes = 5;
        spec.schedule = Schedule::plan(seed, &spec.options, &PaxosSystem::layout(&spec.config()));
        spec
    });
    figures::<PaxosSystem>("paxos 5 nodes swarm", five);
    let mix = (0..seeds).map(|seed| RunSpec::from_preset(seed, Preset::Swarm, None, PaxosSystem::layout));
    figures::<PaxosSystem>("paxos swarm (3 or 5)", mix);
}

/// The sharded store under swarm: a configuration group, three shard groups and a router per
/// client, with migrations.
fn sharded_figures(seeds: u64) {
    let specs = (0..seeds).map(|seed| RunSpec::from_preset(seed, Preset::Swarm, None, ShardedSystem::layout));
    figures::<ShardedSystem>("sharded swarm", specs);
}

/// Two-phase commit: the swarm mix a default sweep runs (a coordinator and 3 or 5 shards).
fn twopc_figures(seeds: u64) {
    let specs = (0..seeds).map(|seed| RunSpec::from_preset(seed, Preset::Swarm, None, TwoPcSystem::layout));
    figures::<TwoPcSystem>("twopc swarm", specs);
}

/// Runs the specs one after another, `FAULTLINE_BENCH_ROUNDS` times (default 3), and prints
/// simulated seconds per wall second, delivered messages per second and seeds per hour on this
/// one core for the median round, with the range over the rounds: on a shared machine one round
/// can be a third off (the run itself is deterministic, so every round does the same work).
fn figures<S: faultline_sim::system::System>(label: &str, specs: impl Iterator<Item = RunSpec>) {
    // FAULTLINE_BENCH_ONLY=paxos runs only the figures whose label starts with it (profiling).
    if std::env::var("FAULTLINE_BENCH_ONLY").is_ok_and(|only| !label.starts_with(&only)) {
        return;
    }
    let specs: Vec<RunSpec> = specs.collect();
    let rounds: usize =
        std::env::var("FAULTLINE_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let (mut sim, mut messages, mut failed) = (0.0, 0u64, 0u64);
    let mut walls: Vec<f64> = Vec::new();
    for round in 0..rounds.max(1) {
        let start = now();
        for spec in &specs {
            let report = run::<S>(spec).expect("valid");
            if round == 0 {
                sim += report.sim_time.as_secs_f64();
                messages += report.counters.get("net.delivered");
                failed += u64::from(!report.passed());
            }
        }
        walls.push(start.elapsed().as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    let wall = walls[walls.len() / 2];
    let runs = specs.len() as f64;
    println!(
        "{label:<22} {:>7.0} simulated s / wall s (rounds {:.0}..{:.0}) {:>9.0} messages / s {:>9.0} seeds / hour / core ({:.1} simulated s per seed{})",
        sim / wall,
        sim / walls[walls.len() - 1],
        sim / walls[0],
        messages as f64 / wall,
        runs / wall * 3600.0,
        sim / runs,
        if failed > 0 { format!(", {failed} failed") } else { String::new() }
    );
}

/// The same ping traffic through raw madsim endpoints and through faultline's shell and codec.
fn message_overhead(seeds: u64) {
    let (raw_msgs, raw_wall) = measure(seeds, raw_pings);
    let (fl_msgs, fl_wall) = measure(seeds, shell_pings);
    let raw_rate = raw_msgs as f64 / raw_wall;
    let fl_rate = fl_msgs as f64 / fl_wall;
    println!("ping traffic, {NODES} nodes, {IN_FLIGHT} messages in flight per link, {BENCH_SIM_SECS} simulated s per seed:");
    println!("  raw madsim endpoints        {raw_rate:>10.0} messages / s   ({raw_msgs} messages)");
    println!("  faultline shell + codec     {fl_rate:>10.0} messages / s   ({fl_msgs} messages)");
    println!("  overhead: {:.2}x the wall time per message (target: at most 1.5x)", raw_rate / fl_rate);
}

fn measure(seeds: u64, f: fn(u64) -> u64) -> (u64, f64) {
    let start = now();
    let messages = (0..seeds).map(f).sum();
    (messages, start.elapsed().as_secs_f64())
}

fn addr(i: u32) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i as u8 + 1], 7000))
}

/// Raw madsim: every node answers each ping with a ping back, payload bytes as they come.
fn raw_pings(seed: u64) -> u64 {
    let mut config = madsim::Config::default();
    config.net.send_latency = Duration::from_millis(1)..Duration::from_millis(5);
    let rt = Runtime::with_seed_and_config(seed, config);
    let delivered = Arc::new(AtomicU64::new(0));
    let count = delivered.clone();
    rt.block_on(async move {
        let handle = madsim::runtime::Handle::current();
        let nodes: Vec<_> = (0..NODES)
            .map(|i| {
                let node = handle.create_node().ip(addr(i).ip()).build();
                node.spawn(raw_node(i, count.clone()));
                node
            })
            .collect();
        sleep(Duration::from_secs(BENCH_SIM_SECS)).await;
        for node in nodes {
            handle.kill(node.id());
        }
        sleep(Duration::from_millis(1)).await;
    });
    delivered.load(Ordering::Relaxed)
}

async fn raw_node(me: u32, delivered: Arc<AtomicU64>) {
    let ep = Endpoint::bind(addr(me)).await.expect("bind");
    sleep(Duration::from_millis(1)).await;
    let payload = [0u8; 16];
    for peer in (0..NODES).filter(|p| *p != me) {
        for _ in 0..IN_FLIGHT {
            let _ = ep.send_to(addr(peer), 1, &payload).await;
        }
    }
    let mut buf = [0u8; 64];
    while let Ok((_, from)) = ep.recv_from(1, &mut buf).await {
        delivered.fetch_add(1, Ordering::Relaxed);
        let _ = ep.send_to(from, 1, &buf[..16]).await;
    }
}

/// The same traffic as a faultline protocol.
struct Pinger;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Ping {
    round: u64,
    sender: u32,
}

impl Node for Pinger {
    type Msg = Ping;
    type Timer = ();
    type Request = ();
    type Response = ();

    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        let me = cx.id();
        for peer in (0..NODES).map(NodeId).filter(|p| *p != me) {
            for round in 0..u64::from(IN_FLIGHT) {
                cx.send(peer, Ping { round, sender: me.0 });
            }
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Ping) {
        let me = cx.id().0;
        cx.send(from, Ping { round: msg.round + 1, sender: me });
    }

    fn on_timer(&mut self, _cx: &mut Context<'_, Self>, _timer: ()) {}

    fn on_request(&mut self, _cx: &mut Context<'_, Self>, _id: RequestId, _req: ()) {}
}

struct PingSystem;

impl System for PingSystem {
    type Node = Pinger;
    type Observer = ();
    const NAME: &'static str = "ping";
    type Bug = faultline_sim::bugs::NoBug;
    const MODEL: &'static str = "register";

    fn new(_config: &SystemConfig) -> Result<Self, String> {
        Ok(PingSystem)
    }

    fn build_node(&self, _id: NodeId) -> Pinger {
        Pinger
    }

    fn next_op(&self, _client: ClientId, _rng: &mut Rng) -> Op<()> {
        Op::new((), "noop", Value::Nil)
    }

    fn route(&self, _client: ClientId, _request: &(), _hint: Option<NodeId>, _rng: &mut Rng) -> NodeId {
        NodeId(0)
    }

    fn interpret(&self, _request: &(), _response: &()) -> Answer {
        Answer::NotApplied { hint: None }
    }

    fn check(&self, _history: &History, _observer: &()) -> Vec<CheckOutcome> {
        Vec::new()
    }
}

fn shell_pings(seed: u64) -> u64 {
    let mut options =
        SimOptions { nodes: NODES, clients: 1, safety_ms: BENCH_SIM_SECS * 1000, ..SimOptions::default() };
    options.workload.ops_per_client = 0;
    options.workload.liveness_ops_per_client = 0;
    options.net.delay_ms_min = 1;
    options.net.delay_ms_max = 5;
    let spec = RunSpec { seed, options, schedule: Schedule::default(), bug: None };
    let report = run::<PingSystem>(&spec).expect("valid");
    report.counters.get("net.delivered")
}
