//! `SimOptions`: everything a run may vary, as plain data.
//!
//! Fields are documented, named with units last (`delay_ms_max`, `crash_interval_ms_mean`), and
//! `Default` is a healthy cluster with no faults at all. Presets name useful points in the
//! space: [`Preset::Nofault`], [`Preset::Lite`] (three nodes, crashes only) and
//! [`Preset::Swarm`], which draws every knob from the run seed (swarm testing: each run tests a
//! different mix of faults, so rare combinations come up over a sweep). Options are printed in
//! full at the start of a run and identified by a stable hash of their canonical JSON form.

use crate::clock::ClockOptions;
use crate::disk::DiskFaults;
use crate::rng;
use crate::validate::{self, InvalidOption};
use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The options of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimOptions {
    /// Server nodes in the cluster: the system's layout (`System::layout`) sizes its server
    /// group by it, and may add nodes of other kinds (a coordinator, one client-side node per
    /// client...).
    pub nodes: u32,
    /// Client processes driving the workload.
    pub clients: u32,
    /// How long the safety phase (workload under faults) lasts, in simulated milliseconds.
    pub safety_ms: u64,
    /// After healing, how long the system has to converge and serve every client again.
    pub liveness_budget_ms: u64,
    /// What the clients do: how many operations, how fast, how long they retry, on which keys.
    pub workload: WorkloadOptions,
    /// Per-message network faults: delays, loss, duplication, reordering, corruption.
    pub net: NetOptions,
    /// Which partitions the nemesis creates, how often and for how long.
    pub partition: PartitionOptions,
    /// Crashes, restart storms and pauses of the nodes.
    pub process: ProcessOptions,
    /// Disk faults: per-call rates and the nemesis's disk events.
    pub disk: DiskOptions,
    /// Each node's clock: offset, drift, steps, periodic wobble (drawn per node from the seed).
    pub clock: ClockOptions,
    /// Whether `buggify!` sites may fire (two levels: each site is armed for the run with
    /// `buggify_arm_probability`, an armed site fires with p = 0.25 each time it is reached).
    pub buggify: bool,
    /// Probability that a `buggify!` site is armed for the run (FoundationDB's 0.25 by default).
    /// Swarm arms every site in half of its buggify runs, so chains of several sites (the Raft
    /// paper's Figure 8 needs four) happen in one run.
    pub buggify_arm_probability: f64,
    /// The admin side of the workload: changes to the cluster itself (membership changes,
    /// later shard moves), in bursts, some aimed right after an election.
    pub admin: AdminOptions,
}

/// Admin operations: each system draws its own ([`crate::system::System::admin_op`]), with what
/// the run observed (the leader, the members); the harness decides when and how many at once.
/// A change that waits for the last one to settle, between quiet moments, rarely meets the
/// dangerous moments of a membership protocol (a change requested while another is pending,
/// right after a leader change, removing the leader itself), so bursts come without waiting and
/// may be aimed at elections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminOptions {
    /// Mean time between bursts (exponential); 0 turns the admin off.
    pub interval_ms_mean: u64,
    /// Most operations in one burst, issued together without waiting for each other.
    pub burst_max: u32,
    /// Probability that a burst follows right after a new leader is seen.
    pub after_election_probability: f64,
    /// Probability that a burst follows right after a partition cuts the cluster (a leader on
    /// the minority side changing the membership is where one-at-a-time matters most).
    pub after_partition_probability: f64,
}

impl Default for AdminOptions {
    fn default() -> Self {
        AdminOptions {
            interval_ms_mean: 0,
            burst_max: 1,
            after_election_probability: 0.0,
            after_partition_probability: 0.0,
        }
    }
}

impl AdminOptions {
    /// Half the swarm seeds run an admin: bursts of one to four operations every 0.3 to 2 s,
    /// and none, half or all of the elections and of the partitions followed by a burst.
    fn swarm(r: &mut rng::Rng) -> Self {
        if !r.gen_bool(0.5) {
            return AdminOptions::default();
        }
        AdminOptions {
            interval_ms_mean: r.gen_range(300..=2_000),
            burst_max: r.gen_range(1..=4),
            after_election_probability: *[0.0, 0.5, 1.0].choose(r).expect("non-empty"),
            after_partition_probability: *[0.0, 0.5, 1.0].choose(r).expect("non-empty"),
        }
    }

    /// Whether admin operations run at all.
    pub fn enabled(&self) -> bool {
        self.interval_ms_mean > 0
    }
}

/// Disk faults: the rates every disk draws from on each call and crash, and the nemesis's disk
/// events. Bit flips at rest, latent sector errors and wiped disks hit only the minority of
/// disks the run allows to be corrupted (see `disk::place_corruption`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiskOptions {
    /// The rates every disk draws from on each call and each crash.
    pub faults: DiskFaults,
    /// Mean time between bit flips at rest on a corruptible disk (0 = none).
    pub bitflip_interval_ms_mean: u64,
    /// Mean time between new latent sector errors on a corruptible disk (0 = none).
    pub latent_interval_ms_mean: u64,
    /// Mean time between full-disk windows on a random disk (0 = none), and their length.
    pub full_interval_ms_mean: u64,
    /// Shortest full-disk window, in milliseconds.
    pub full_ms_min: u64,
    /// Longest full-disk window, in milliseconds.
    pub full_ms_max: u64,
    /// Mean time between wiped disks on a corruptible disk (0 = none): the node loses power
    /// and restarts after the usual restart delay on an empty disk, as after a disk
    /// replacement. Left out of the JSON form when 0, so options without wipes keep the hash
    /// they had before wipes existed.
    #[serde(skip_serializing_if = "is_zero")]
    pub wipe_interval_ms_mean: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the clients do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadOptions {
    /// Operations each client invokes during the safety phase (fewer if the phase ends first).
    pub ops_per_client: u32,
    /// Pause between a client's operations: uniform in [0, think_ms_max].
    pub think_ms_max: u64,
    /// How long a client waits for one attempt's answer before retrying elsewhere.
    pub attempt_timeout_ms: u64,
    /// How long a client keeps retrying one operation before recording it as unknown (`info`).
    pub op_timeout_ms: u64,
    /// Operations each client must complete successfully after the heal (the liveness check).
    pub liveness_ops_per_client: u32,
    /// Keys of a key-value workload: few, so that operations contend.
    pub keys: u32,
    /// How a key-value workload picks its keys.
    pub key_distribution: KeyDistribution,
}

/// How a workload picks the key of each operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyDistribution {
    /// Every key equally likely.
    #[default]
    Uniform,
    /// Half the operations on one key, the rest uniform over all keys.
    HotKey,
}

/// The shape of message delays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyDistribution {
    /// Uniform in [delay_ms_min, delay_ms_max].
    Uniform,
    /// delay_ms_min plus an exponential with mean delay_ms_mean, capped at delay_ms_max.
    Exponential,
}

/// Per-message network faults. Loss, duplication and corruption apply to every link, client
/// links included; partitions ([`PartitionOptions`]) only cut links between nodes (of any kind
/// the layout lets them cut), never a workload client's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetOptions {
    /// The shape of each message's delay.
    pub latency: LatencyDistribution,
    /// Shortest delay of a message, in milliseconds.
    pub delay_ms_min: u64,
    /// Longest delay of a message before any slow-tail or reorder extra, in milliseconds (also the
    /// cap of the exponential).
    pub delay_ms_max: u64,
    /// Mean of the exponential part (exponential distribution only).
    pub delay_ms_mean: u64,
    /// Probability that a message takes the slow tail instead: a delay up to slow_delay_ms_max.
    pub slow_probability: f64,
    /// Longest extra delay a slow-tail message takes on top of its usual one, in milliseconds.
    pub slow_delay_ms_max: u64,
    /// Probability that a message is dropped.
    pub loss_probability: f64,
    /// Probability that a message is delivered twice (each copy with its own delay).
    pub duplicate_probability: f64,
    /// Probability that a message is held back by an extra delay (up to reorder_delay_ms_max),
    /// so later messages overtake it.
    pub reorder_probability: f64,
    /// Longest extra delay of a held-back message, on top of its usual one, in milliseconds.
    pub reorder_delay_ms_max: u64,
    /// Probability that a bit of a message is flipped on the wire (the codec must reject it).
    pub corrupt_probability: f64,
}

/// The kinds of partition the nemesis may create.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, arbitrary::Arbitrary,
)]
#[serde(rename_all = "snake_case")]
pub enum PartitionKind {
    /// Two random groups that cannot reach each other, both ways.
    Symmetric,
    /// A random group cannot send to the rest; the rest can still send to it.
    OneWay,
    /// One node cut off from all others.
    IsolateOne,
    /// A majority and a minority.
    MajorityMinority,
    /// Every node sees a majority, but no two nodes see the same one (Jepsen's majorities-ring).
    MajoritiesRing,
    /// Two halves that only one bridge node connects (Jepsen's bridge).
    Bridge,
    /// Clog nodes one at a time, then unclog them in another order (FoundationDB's swizzle).
    Swizzle,
}

impl PartitionKind {
    /// Every kind, in declaration order: swarm picks its subset from it in this order.
    pub const ALL: [PartitionKind; 7] = [
        PartitionKind::Symmetric,
        PartitionKind::OneWay,
        PartitionKind::IsolateOne,
        PartitionKind::MajorityMinority,
        PartitionKind::MajoritiesRing,
        PartitionKind::Bridge,
        PartitionKind::Swizzle,
    ];

    /// The kind's name in the JSON options, the printed schedule and its fault counter
    /// (`partition.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            PartitionKind::Symmetric => "symmetric",
            PartitionKind::OneWay => "one_way",
            PartitionKind::IsolateOne => "isolate_one",
            PartitionKind::MajorityMinority => "majority_minority",
            PartitionKind::MajoritiesRing => "majorities_ring",
            PartitionKind::Bridge => "bridge",
            PartitionKind::Swizzle => "swizzle",
        }
    }
}

/// Partitions: episodes of one kind at a time, each held for a stability window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartitionOptions {
    /// Kinds the nemesis picks from; empty = no partitions.
    pub kinds: Vec<PartitionKind>,
    /// Mean time between the end of one partition and the start of the next.
    pub interval_ms_mean: u64,
    /// A partition holds at least this long before it may change (the stability window).
    pub hold_ms_min: u64,
    /// A partition holds at most this long, in milliseconds (the hold is uniform in between).
    pub hold_ms_max: u64,
}

/// Process faults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessOptions {
    /// Mean time between crashes (0 = no crashes). A crash loses volatile state and unsynced
    /// writes; the node restarts after a delay.
    pub crash_interval_ms_mean: u64,
    /// Shortest delay between a crash and the node's restart, in milliseconds.
    pub restart_delay_ms_min: u64,
    /// Longest delay between a crash and the node's restart, in milliseconds.
    pub restart_delay_ms_max: u64,
    /// Probability that a crash is a restart storm instead: the node crashes and restarts
    /// `storm_restarts` times in quick succession.
    pub storm_probability: f64,
    /// Crash-restart cycles in one storm.
    pub storm_restarts: u32,
    /// Probability that a crash cuts the power in the middle of the node's next step that
    /// changes its disk, after a random number of its disk calls, instead of between steps: the
    /// step's later calls never happen and its messages never leave, and the writes it had not
    /// synced may be lost or torn.
    pub mid_step_probability: f64,
    /// Probability that a crash (not a storm) targets whichever node leads at that moment, as
    /// the system reports it, instead of a random node: elections then follow crashes, and a
    /// leader dies with entries only it holds (Figure 8 of the Raft paper).
    pub leader_crash_probability: f64,
    /// Mean time between pauses (0 = no pauses). A paused node's timers and messages wait.
    pub pause_interval_ms_mean: u64,
    /// Shortest pause, in milliseconds.
    pub pause_ms_min: u64,
    /// Longest pause, in milliseconds.
    pub pause_ms_max: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            nodes: 3,
            clients: 3,
            safety_ms: 10_000,
            liveness_budget_ms: 10_000,
            workload: WorkloadOptions::default(),
            net: NetOptions::default(),
            partition: PartitionOptions::default(),
            process: ProcessOptions::default(),
            disk: DiskOptions::default(),
            clock: ClockOptions::default(),
            buggify: false,
            buggify_arm_probability: crate::buggify::ARM_PROBABILITY,
            admin: AdminOptions::default(),
        }
    }
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        WorkloadOptions {
            ops_per_client: 30,
            think_ms_max: 200,
            attempt_timeout_ms: 500,
            op_timeout_ms: 3_000,
            liveness_ops_per_client: 2,
            keys: 5,
            key_distribution: KeyDistribution::Uniform,
        }
    }
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            latency: LatencyDistribution::Uniform,
            delay_ms_min: 1,
            delay_ms_max: 5,
            delay_ms_mean: 2,
            slow_probability: 0.0,
            slow_delay_ms_max: 0,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
            reorder_probability: 0.0,
            reorder_delay_ms_max: 0,
            corrupt_probability: 0.0,
        }
    }
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions { kinds: Vec::new(), interval_ms_mean: 2_000, hold_ms_min: 500, hold_ms_max: 3_000 }
    }
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            crash_interval_ms_mean: 0,
            restart_delay_ms_min: 200,
            restart_delay_ms_max: 2_000,
            storm_probability: 0.0,
            storm_restarts: 3,
            mid_step_probability: 0.0,
            leader_crash_probability: 0.0,
            pause_interval_ms_mean: 0,
            pause_ms_min: 200,
            pause_ms_max: 2_000,
        }
    }
}

/// Named starting points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// No faults: the protocol must simply work.
    Nofault,
    /// Three nodes, crashes only.
    Lite,
    /// Every knob drawn from the seed.
    Swarm,
}

impl Preset {
    /// Every preset: the names `--preset` accepts.
    pub const ALL: [Preset; 3] = [Preset::Nofault, Preset::Lite, Preset::Swarm];

    /// The preset's name on the command line and in printed options.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Nofault => "nofault",
            Preset::Lite => "lite",
            Preset::Swarm => "swarm",
        }
    }

    /// The options this preset gives for `seed` (only `Swarm` depends on the seed).
    pub fn options(self, seed: u64) -> SimOptions {
        match self {
            Preset::Nofault => SimOptions::default(),
            Preset::Lite => SimOptions::lite(),
            Preset::Swarm => SimOptions::swarm(seed),
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown preset `{s}` (expected one of: nofault, lite, swarm)"))
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl SimOptions {
    /// `nodes` servers and no faults: the start of a scenario that switches on only the fault
    /// family it is about (the helpers below), so a failure points at that family.
    pub fn quiet(nodes: u32) -> Self {
        SimOptions { nodes, ..Preset::Nofault.options(0) }
    }

    /// Partitions of the given kinds, one every second on average, each held 0.3 to 1.5 s: long
    /// enough for an election on the majority side, short enough for many per run.
    pub fn with_partitions(&mut self, kinds: &[PartitionKind]) -> &mut Self {
        self.partition.kinds = kinds.to_vec();
        self.partition.interval_ms_mean = 1_000;
        self.partition.hold_ms_min = 300;
        self.partition.hold_ms_max = 1_500;
        self
    }

    /// Every clock wrong in every way: offsets up to 5 s, a drift of up to 500 ppm on every
    /// node, and up to two steps of up to 1 s each (forwards or back) during the safety phase.
    pub fn with_clock_skew(&mut self) -> &mut Self {
        self.clock.offset_ms_max = 5_000;
        self.clock.drift_probability = 1.0;
        self.clock.drift_ppm_max = 500;
        self.clock.step_probability = 1.0;
        self.clock.steps_max = 2;
        self.clock.step_ms_max = 1_000;
        self.clock.step_window_ms = self.safety_ms;
        self
    }

    /// One message in ten delivered twice and one in ten held back up to 100 ms, so later ones
    /// overtake it.
    pub fn with_duplicates_and_reordering(&mut self) -> &mut Self {
        self.net.duplicate_probability = 0.1;
        self.net.reorder_probability = 0.1;
        self.net.reorder_delay_ms_max = 100;
        self
    }

    /// Three nodes, crashes only: the cheapest run that still tests recovery.
    pub fn lite() -> Self {
        let mut o = SimOptions::default();
        o.process.crash_interval_ms_mean = 3_000;
        o
    }

    /// Every knob drawn from `seed`: each fault family is on or off at random, and its
    /// parameters are random within sensible ranges.
    pub fn swarm(seed: u64) -> Self {
        let mut r = rng::derive(seed, "swarm", 0);
        let mut o =
            SimOptions { nodes: *[3u32, 5].choose(&mut r).expect("non-empty"), ..SimOptions::default() };
        o.clients = r.gen_range(2..=5);
        o.buggify = r.gen_bool(0.5);
        o.net = swarm_net(&mut r);
        o.partition = swarm_partitions(&mut r);
        o.process = swarm_process(&mut r);
        o.disk = swarm_disk(&mut r);
        if r.gen_bool(0.5) {
            o.clock = ClockOptions { step_window_ms: o.safety_ms, ..ClockOptions::swarm(&mut r) };
        }
        // Drawn last so that adding it left every earlier draw of old seeds as it was.
        if o.process.crash_interval_ms_mean > 0 && r.gen_bool(0.6) {
            o.process.mid_step_probability = r.gen_range(0.2..0.8);
        }
        if o.process.crash_interval_ms_mean > 0 && r.gen_bool(0.5) {
            o.process.leader_crash_probability = r.gen_range(0.3..1.0);
        }
        // Swarm testing (Groce et al., ISSTA 2012) applied to buggify: a run that arms every
        // site reaches the sequences of rare moments that no single site makes likely.
        if r.gen_bool(0.5) && o.buggify {
            o.buggify_arm_probability = 1.0;
        }
        // Wiped disks, drawn after everything else for the same reason.
        if r.gen_bool(0.3) {
            o.disk.wipe_interval_ms_mean = r.gen_range(1_500..=8_000);
        }
        // The admin side of the workload, last of all.
        o.admin = AdminOptions::swarm(&mut r);
        o
    }

    /// Checks every field; the error names the field and the problem.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_fields().map_err(|e| e.to_string())?;
        let nested =
            |prefix: &str, e: InvalidOption| format!("invalid option {prefix}.{}: {}", e.field, e.reason);
        self.disk.faults.validate().map_err(|e| nested("disk.faults", e))?;
        self.clock.validate().map_err(|e| nested("clock", e))
    }

    fn validate_fields(&self) -> Result<(), InvalidOption> {
        within("nodes", self.nodes.into(), 1, 64)?;
        within("clients", self.clients.into(), 1, 1000)?;
        validate::positive("safety_ms", self.safety_ms)?;
        validate::positive("liveness_budget_ms", self.liveness_budget_ms)?;
        let w = &self.workload;
        validate::positive("workload.attempt_timeout_ms", w.attempt_timeout_ms)?;
        validate::ordered("workload.attempt_timeout_ms", w.attempt_timeout_ms, w.op_timeout_ms)?;
        within("workload.keys", w.keys.into(), 1, 1_000_000)?;
        self.net.validate()?;
        let p = &self.partition;
        validate::ordered("partition.hold_ms_min", p.hold_ms_min, p.hold_ms_max)?;
        if !p.kinds.is_empty() {
            validate::positive("partition.interval_ms_mean", p.interval_ms_mean)?;
        }
        let c = &self.process;
        validate::ordered("process.restart_delay_ms_min", c.restart_delay_ms_min, c.restart_delay_ms_max)?;
        validate::ordered("process.pause_ms_min", c.pause_ms_min, c.pause_ms_max)?;
        validate::probability("process.storm_probability", c.storm_probability)?;
        validate::probability("process.mid_step_probability", c.mid_step_probability)?;
        validate::probability("process.leader_crash_probability", c.leader_crash_probability)?;
        validate::probability("buggify_arm_probability", self.buggify_arm_probability)?;
        validate::probability("admin.after_election_probability", self.admin.after_election_probability)?;
        validate::probability("admin.after_partition_probability", self.admin.after_partition_probability)?;
        within("admin.burst_max", self.admin.burst_max.into(), 1, 16)?;
        validate::ordered("disk.full_ms_min", self.disk.full_ms_min, self.disk.full_ms_max)
    }

    /// A stable identifier of these options: xxh3 of their canonical JSON.
    pub fn hash(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(self.to_json().as_bytes())
    }

    /// The canonical JSON form (field order fixed by the struct definitions).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("options serialize")
    }

    /// Parses options from JSON; missing fields take their defaults, unknown fields are errors.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let o: SimOptions = serde_json::from_str(text).map_err(|e| format!("invalid options: {e}"))?;
        o.validate()?;
        Ok(o)
    }
}

impl NetOptions {
    fn validate(&self) -> Result<(), InvalidOption> {
        validate::ordered("net.delay_ms_min", self.delay_ms_min, self.delay_ms_max)?;
        validate::probability("net.loss_probability", self.loss_probability)?;
        validate::probability("net.duplicate_probability", self.duplicate_probability)?;
        validate::probability("net.reorder_probability", self.reorder_probability)?;
        validate::probability("net.corrupt_probability", self.corrupt_probability)?;
        validate::probability("net.slow_probability", self.slow_probability)?;
        if self.loss_probability >= 1.0 {
            return Err(InvalidOption::new("net.loss_probability", "must be below 1 (nothing would arrive)"));
        }
        Ok(())
    }
}

impl fmt::Display for SimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pretty = serde_json::to_string_pretty(self).expect("options serialize");
        write!(f, "{pretty}")
    }
}

fn within(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), InvalidOption> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(InvalidOption::new(field, format!("{value} is not within {min}..={max}")))
    }
}

fn swarm_net(r: &mut rng::Rng) -> NetOptions {
    let mut n = NetOptions {
        latency: if r.gen_bool(0.5) {
            LatencyDistribution::Uniform
        } else {
            LatencyDistribution::Exponential
        },
        ..NetOptions::default()
    };
    n.delay_ms_min = r.gen_range(0..=2);
    n.delay_ms_max = n.delay_ms_min + r.gen_range(1..=20);
    n.delay_ms_mean = r.gen_range(1..=n.delay_ms_max.max(1));
    if r.gen_bool(0.5) {
        n.slow_probability = r.gen_range(0.001..0.05);
        n.slow_delay_ms_max = r.gen_range(50..=1_000);
    }
    let mut maybe = |p_on: f64, max: f64| if r.gen_bool(p_on) { r.gen_range(0.0..max) } else { 0.0 };
    n.loss_probability = maybe(0.5, 0.1);
    n.duplicate_probability = maybe(0.5, 0.1);
    n.corrupt_probability = maybe(0.3, 0.02);
    n.reorder_probability = maybe(0.5, 0.2);
    n.reorder_delay_ms_max = if n.reorder_probability > 0.0 { r.gen_range(5..=100) } else { 0 };
    n
}

fn swarm_partitions(r: &mut rng::Rng) -> PartitionOptions {
    let mut p = PartitionOptions::default();
    if r.gen_bool(0.7) {
        p.kinds = PartitionKind::ALL.into_iter().filter(|_| r.gen_bool(0.5)).collect();
    }
    p.interval_ms_mean = r.gen_range(500..=4_000);
    p.hold_ms_min = r.gen_range(100..=1_000);
    p.hold_ms_max = p.hold_ms_min + r.gen_range(0..=3_000);
    p
}

fn swarm_disk(r: &mut rng::Rng) -> DiskOptions {
    let mut d = DiskOptions { faults: DiskFaults::swarm(r), ..DiskOptions::default() };
    if r.gen_bool(0.5) {
        d.bitflip_interval_ms_mean = r.gen_range(200..=3_000);
    }
    if r.gen_bool(0.5) {
        d.latent_interval_ms_mean = r.gen_range(200..=3_000);
    }
    if r.gen_bool(0.3) {
        d.full_interval_ms_mean = r.gen_range(1_000..=5_000);
        d.full_ms_min = r.gen_range(50..=500);
        d.full_ms_max = d.full_ms_min + r.gen_range(0..=2_000);
    }
    d
}

fn swarm_process(r: &mut rng::Rng) -> ProcessOptions {
    let mut c = ProcessOptions::default();
    if r.gen_bool(0.6) {
        c.crash_interval_ms_mean = r.gen_range(1_000..=6_000);
        c.restart_delay_ms_min = r.gen_range(50..=500);
        c.restart_delay_ms_max = c.restart_delay_ms_min + r.gen_range(0..=3_000);
        c.storm_probability = if r.gen_bool(0.3) { r.gen_range(0.1..0.5) } else { 0.0 };
        c.storm_restarts = r.gen_range(2..=5);
    }
    if r.gen_bool(0.4) {
        c.pause_interval_ms_mean = r.gen_range(1_000..=6_000);
        c.pause_ms_min = r.gen_range(100..=1_000);
        c.pause_ms_max = c.pause_ms_min + r.gen_range(0..=3_000);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_has_no_faults_and_validates() {
        let o = SimOptions::default();
        o.validate().unwrap();
        assert!(o.partition.kinds.is_empty());
        assert_eq!(o.process.crash_interval_ms_mean, 0);
        assert_eq!(o.net.loss_probability, 0.0);
    }

    #[test]
    fn swarm_is_a_function_of_the_seed_and_always_valid() {
        for seed in 0..500 {
            let o = SimOptions::swarm(seed);
            o.validate().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert_eq!(o, SimOptions::swarm(seed));
        }
        assert_ne!(SimOptions::swarm(1), SimOptions::swarm(2));
    }

    #[test]
    fn json_round_trips_and_rejects_unknown_fields() {
        let o = SimOptions::swarm(9);
        assert_eq!(SimOptions::from_json(&o.to_json()).unwrap(), o);
        assert_eq!(SimOptions::from_json(&o.to_json()).unwrap().hash(), o.hash());
        let err = SimOptions::from_json(r#"{"nodez": 3}"#).unwrap_err();
        assert!(err.contains("nodez"), "{err}");
        let err = SimOptions::from_json(r#"{"net": {"loss_probability": 1.5}}"#).unwrap_err();
        assert!(err.contains("net.loss_probability"), "{err}");
    }
}
