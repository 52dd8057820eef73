//! Randomized fault schedules on the scripted cluster, over many seeds.
//!
//! Method: three clients append unique tokens to two keys (and read them), retrying each
//! operation with the same request id until it is answered, while the kit's seeded `Nemesis`
//! crashes and restarts nodes, partitions and heals, drops, duplicates and reorders messages and
//! changes clock rates, and (its custom fault) a byte of a log is flipped. Checked: every Raft invariant after every step (Figure 3);
//! every acknowledged append appears exactly once in the final value and no token appears
//! twice (durability and client sessions, thesis 6.3); every read returns a prefix of the final
//! value that contains every append acknowledged before the read was sent (appends only ever
//! extend a value, so this is what linearizability means for this workload, thesis 6.4); and
//! after healing, every node converges. The harness's sweeps go much further; this keeps the
//! protocol honest on its own.

use crate::cluster::{Cluster, RaftCluster};
use crate::recovery::corrupt_log_record;
use faultline_raft::msg::KvWrite as WriteOp;
use faultline_raft::{Msg, RaftBug, RaftConfig, Request, Response, LOG_FILE};
use faultline_sim::testing::{Fault, Nemesis, NemesisRates};
use faultline_sim::{NodeId, RequestId, Storage};
use rand::Rng as _;
use std::collections::BTreeMap;
use std::time::Duration;

const KEYS: [&str; 2] = ["x", "y"];
/// The client that asks for membership changes (when the run has spare processes).
const ADMIN: usize = 3;

/// One client's operation in flight.
struct InFlight {
    id: RequestId,
    req: Request,
    /// How many appends were acknowledged per key when the operation was first sent.
    acked_at_send: BTreeMap<String, usize>,
    target: usize,
    resend_at: Duration,
}

struct Run {
    c: Cluster,
    /// The faults, and the random stream the workload shares with them.
    nemesis: Nemesis<Msg>,
    clients: Vec<Option<InFlight>>,
    acked: BTreeMap<String, Vec<String>>,
    /// (key, value read, appends to that key acknowledged before the read was sent).
    reads: Vec<(String, String, usize)>,
    seen_replies: usize,
    cov: Coverage,
}

/// What happened in runs, so a sweep that never reached the interesting cases fails.
#[derive(Default, Debug)]
struct Coverage {
    holes: u64,
    snapshots_installed: u64,
    max_term: u64,
    restarts: u64,
    reads: u64,
    changes: u64,
}

impl Run {
    fn new(seed: u64, config: RaftConfig, nodes: u32) -> Self {
        let clients = if config.members.len() < nodes as usize { ADMIN + 1 } else { ADMIN };
        Run {
            c: Cluster::with_config(nodes, config, seed),
            nemesis: Nemesis::new(seed, NemesisRates::default()),
            clients: (0..clients).map(|_| None).collect(),
            acked: BTreeMap::new(),
            reads: Vec::new(),
            seen_replies: 0,
            cov: Coverage::default(),
        }
    }

    fn nodes(&self) -> usize {
        self.c.size()
    }

    fn nemesis(&mut self) {
        match self.nemesis.step(&mut self.c) {
            Fault::Restarted(_) => self.cov.restarts += 1,
            Fault::Custom(node) => self.corrupt(node.0 as usize),
            _ => {}
        }
    }

    /// Flips a byte in one log record of a running node, then restarts it (the corruption is
    /// found at recovery). At most one node is damaged at a time, as PAR assumes.
    fn corrupt(&mut self, node: usize) {
        let damaged = (0..self.nodes()).any(|i| self.c.status(i).first_hole.is_some());
        if damaged || self.nemesis.down().contains(&NodeId(node as u32)) {
            return;
        }
        let len = self.c.disk(node).len(LOG_FILE).unwrap().unwrap_or(0);
        if len < 200 {
            return;
        }
        let seq = self.nemesis.rng().gen_range(0..4);
        corrupt_log_record(&mut self.c, node, seq);
        self.c.restart(node);
        self.cov.holes += self.c.node(node).recovery_report().holes;
    }

    /// The nemesis's message faults (its delays make late, stale deliveries: an AppendEntries
    /// from a deposed leader, an old vote reply), then every delivery.
    fn network(&mut self) {
        let installs = self.c.queue().iter().filter(|e| matches!(e.msg, Msg::InstallSnapshot { .. }));
        self.cov.snapshots_installed += installs.count() as u64;
        self.nemesis.network(&mut self.c);
    }

    fn new_op(&mut self, client: usize) {
        if client == ADMIN {
            return self.new_change();
        }
        let key = KEYS[self.nemesis.rng().gen_range(0..KEYS.len())].to_string();
        let id = self.c.next_id(client as u32);
        let req = if self.nemesis.rng().gen_bool(0.3) {
            Request::Get { key }
        } else {
            Request::append(&key, &format!("c{client}.{};", id.seq))
        };
        let nodes = self.nodes();
        let target = self.nemesis.rng().gen_range(0..nodes);
        let acked_at_send = self.acked.iter().map(|(k, v)| (k.clone(), v.len())).collect();
        let op = InFlight { id, req, acked_at_send, target, resend_at: Duration::ZERO };
        self.clients[client] = Some(op);
    }

    /// The admin adds or removes one server (keeping three to five members), now and then.
    fn new_change(&mut self) {
        if !self.nemesis.rng().gen_bool(0.01) {
            return;
        }
        let Some(leader) = self.c.leader() else { return };
        let members = self.c.status(leader).members;
        let nodes = self.nodes() as u32;
        let node = NodeId(self.nemesis.rng().gen_range(0..nodes));
        let req = match members.contains(&node) {
            true if members.len() > 3 => Request::RemoveServer { node },
            false => Request::AddServer { node },
            true => return,
        };
        let id = self.c.next_id(ADMIN as u32);
        let nodes = self.nodes();
        let target = self.nemesis.rng().gen_range(0..nodes);
        let op = InFlight { id, req, acked_at_send: BTreeMap::new(), target, resend_at: Duration::ZERO };
        self.clients[ADMIN] = Some(op);
    }

    fn clients(&mut self) {
        self.collect_replies();
        for client in 0..self.clients.len() {
            if self.clients[client].is_none() {
                self.new_op(client);
            }
            let now = self.c.elapsed();
            let Some(op) = self.clients[client].as_mut() else { continue };
            if now >= op.resend_at {
                op.resend_at = now + Duration::from_millis(150);
                let (target, id, req) = (op.target, op.id, op.req.clone());
                self.c.submit(target, id, req);
            }
        }
    }

    fn collect_replies(&mut self) {
        let fresh: Vec<_> = self.c.replies()[self.seen_replies..].to_vec();
        self.seen_replies = self.c.replies().len();
        for faultline_sim::testing::Reply { id, resp, .. } in fresh {
            let client = id.client.0 as usize;
            let Some(op) = self.clients[client].as_mut().filter(|op| op.id == id) else { continue };
            match resp {
                Response::NotLeader { hint } => {
                    op.target = hint.map_or_else(|| (op.target + 1) % self.c.size(), |h| h.0 as usize);
                    op.resend_at = self.c.elapsed() + Duration::from_millis(5);
                }
                Response::Unavailable(_) => op.resend_at = self.c.elapsed() + Duration::from_millis(20),
                other => self.complete(client, other),
            }
        }
    }

    fn complete(&mut self, client: usize, resp: Response) {
        let op = self.clients[client].take().expect("in flight");
        match (op.req, resp) {
            (Request::Write(WriteOp::Append { key, value }), Response::Written) => {
                self.acked.entry(key).or_default().push(value)
            }
            (Request::Get { key }, Response::Value(v)) => {
                let before = op.acked_at_send.get(&key).copied().unwrap_or(0);
                self.reads.push((key, v.unwrap_or_default(), before))
            }
            (Request::AddServer { .. } | Request::RemoveServer { .. }, Response::Members(_)) => {
                self.cov.changes += 1
            }
            // Removals race (the driver's view of the membership lags), so the leader may
            // refuse one that would take the cluster below its minimum size.
            (Request::RemoveServer { .. }, Response::Invalid { reason }) if reason.contains("at least") => {}
            (req, resp) => panic!("{req:?} answered with {resp:?}"),
        }
    }

    fn heal_and_converge(&mut self) -> Result<(), String> {
        self.nemesis.heal(&mut self.c);
        if !self.c.run_until(Cluster::converged, Duration::from_secs(20)) {
            let why = self.c.pending().unwrap_err();
            let all: Vec<String> = (0..self.nodes()).map(|i| format!("{:?}", self.c.status(i))).collect();
            return Err(format!("no convergence 20 s after the heal: {why}\n{}", all.join("\n")));
        }
        Ok(())
    }

    fn check_model(&self) -> Result<(), String> {
        let leader = self.c.leader().ok_or("no leader")?;
        let kv = self.c.node(leader).kv();
        for key in KEYS {
            let value = kv.get(key).unwrap_or("");
            let mut position = BTreeMap::new();
            for (at, token) in value.split_terminator(';').enumerate() {
                if let Some(first) = position.insert(token, at) {
                    return Err(format!("{key}: token {token} applied twice (at {first} and {at})"));
                }
            }
            // prefix_max[i]: the furthest position of the first i acknowledged appends.
            let mut prefix_max = vec![0usize];
            for t in self.acked.get(key).into_iter().flatten() {
                let at = *position
                    .get(t.trim_end_matches(';'))
                    .ok_or(format!("{key}: acknowledged {t} is missing"))?;
                prefix_max.push(prefix_max.last().copied().unwrap_or(0).max(at + 1));
            }
            self.check_reads(key, value, &prefix_max)?;
        }
        Ok(())
    }

    fn check_reads(&self, key: &str, value: &str, prefix_max: &[usize]) -> Result<(), String> {
        for (_, read, before) in self.reads.iter().filter(|(k, ..)| k == key) {
            if !value.starts_with(read.as_str()) {
                return Err(format!("{key}: read {read:?} is not a prefix of the final {value:?}"));
            }
            if prefix_max[*before] > read.split_terminator(';').count() {
                return Err(format!("{key}: read {read:?} misses an append acknowledged before it was sent"));
            }
        }
        Ok(())
    }
}

fn chaos(seed: u64, config: RaftConfig, nodes: u32, millis: u64, cov: &mut Coverage) -> Result<(), String> {
    let config = RaftConfig { max_entries_per_message: [1, 2, 16][seed as usize % 3], ..config };
    let mut run = Run::new(seed, config, nodes);
    for _ in 0..millis {
        run.nemesis();
        run.clients();
        run.network();
        run.c.tick(Duration::from_millis(1));
    }
    run.heal_and_converge()?;
    if let faultline_checkers::Verdict::Violation(why) = run.c.verdict() {
        return Err(why);
    }
    run.check_model()?;
    let writes: usize = run.acked.values().map(Vec::len).sum();
    if writes < 5 {
        return Err(format!("only {writes} writes were acknowledged: the run tested little"));
    }
    cov.holes += run.cov.holes;
    cov.snapshots_installed += run.cov.snapshots_installed;
    cov.restarts += run.cov.restarts;
    cov.reads += run.reads.len() as u64;
    cov.changes += run.cov.changes;
    cov.max_term = cov.max_term.max((0..run.nodes()).map(|i| run.c.status(i).term).max().unwrap_or(0));
    Ok(())
}

/// Seeds per randomized test: `default`, or `RAFT_CHAOS_SEEDS` for a longer local sweep.
fn seed_count(default: u64) -> u64 {
    std::env::var("RAFT_CHAOS_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn assert_covered(cov: &Coverage) {
    println!("coverage: {cov:?}");
    assert!(cov.holes > 0, "no corruption ever made a hole: {cov:?}");
    assert!(cov.snapshots_installed > 0, "no InstallSnapshot was ever sent: {cov:?}");
    assert!(cov.max_term > 3 && cov.restarts > 10 && cov.reads > 100, "too few faults: {cov:?}");
}

#[test]
fn raft_random_faults_keep_every_invariant_three_nodes() {
    let config = RaftConfig { snapshot_threshold: 16, ..RaftConfig::with_members(3) };
    let mut cov = Coverage::default();
    for seed in 0..seed_count(40) {
        if let Err(why) = chaos(seed, config.clone(), 3, 4000, &mut cov) {
            panic!("seed {seed}: {why}");
        }
    }
    assert_covered(&cov);
}

#[test]
fn raft_random_faults_keep_every_invariant_with_membership_changes() {
    // Five processes, three initial members; an admin adds and removes servers throughout.
    let config = RaftConfig { snapshot_threshold: 8, ..RaftConfig::with_members(3) };
    let mut cov = Coverage::default();
    // Wall-clock time only for the speed report below; it affects no result.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let seeds = seed_count(20);
    for seed in 0..seeds {
        if let Err(why) = chaos(1000 + seed, config.clone(), 5, 4000, &mut cov) {
            panic!("seed {}: {why}", 1000 + seed);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let simulated = seeds as f64 * 4.0;
    println!("5 nodes: {:.0} simulated s per wall s (in-test network, invariants checked)", simulated / wall);
    assert_covered(&cov);
    assert!(cov.changes > 10, "too few membership changes: {cov:?}");
}

#[test]
fn raft_chaos_runs_are_deterministic() {
    // The same seed gives the same run: same replies in the same order, same final states.
    let run = |seed| {
        let mut r = Run::new(seed, RaftConfig::with_members(3), 3);
        for _ in 0..1500 {
            r.nemesis();
            r.clients();
            r.network();
            r.c.tick(Duration::from_millis(1));
        }
        let states: Vec<_> = (0..3).map(|i| r.c.status(i)).collect();
        (format!("{:?}", r.c.replies()), states)
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5).0, run(6).0);
}

#[test]
fn raft_random_faults_find_the_bugs_they_can_reach() {
    // The canary (a harness must be shown to fail): the same randomized runs must fail quickly with these planted
    // bugs, so a green run above means something. The other bugs of the zoo need schedules this
    // simple nemesis does not aim for (a crash right after a vote, Figure 8, a deposed leader
    // whose clock drifts slowly); `bugs.rs` shows each of them in a targeted scenario.
    let reachable = [RaftBug::NoStepDownOnHigherTerm, RaftBug::TruncateOnStaleAppend, RaftBug::AckBeforeSync];
    for bug in reachable {
        let config = RaftConfig { snapshot_threshold: 16, bug: Some(bug), ..RaftConfig::with_members(3) };
        let found = (0..10).find(|&seed| {
            let mut cov = Coverage::default();
            let run = std::panic::AssertUnwindSafe(|| chaos(seed, config.clone(), 3, 4000, &mut cov));
            std::panic::catch_unwind(run).map_or(true, |r| r.is_err())
        });
        assert!(found.is_some(), "{bug} survived 10 seeds of random faults");
    }
}
