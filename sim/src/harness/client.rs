//! A workload client: invokes operations, retries them, and records the history.
//!
//! Each operation is recorded as an invocation, then one completion: `ok` or `fail` when a
//! server's answer decides it, `info` when the client gave up without knowing (a timeout, an
//! answer that says "maybe"). Retries reuse the request id, so a protocol with client sessions
//! applies the operation at most once. As in Jepsen, a process that recorded `info` is
//! considered crashed: the client continues under a fresh process id.
//!
//! During the safety phase a client runs `ops_per_client` operations with think time between
//! them; once the supervisor heals the cluster it must complete `liveness_ops_per_client` more,
//! each with a definite answer, or the run fails its liveness check.

use super::mailbox::{next_until, SharedInbox};
use super::world::{lock, sim_now, transmit, Phase, Shared, World};
use crate::attempts::{Attempts, Process};
use crate::codec;
use crate::net::Addr;
use crate::node::{ClientId, Node, NodeId, RequestId};
use crate::rng::{self, Rng};
use crate::system::{Op, System};
use crate::trace::TraceKind;
use crate::wire::{Wire, WireOf};
use faultline_checkers::{Event, EventKind, Value};
use madsim::time::{sleep, Instant};
use rand::Rng as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type N<S> = <S as System>::Node;

struct Client<S: System> {
    id: ClientId,
    world: Shared<S>,
    inbox: SharedInbox,
    rng: Rng,
    seq: u64,
    process: Process,
}

/// Runs client `id` for the whole run.
pub(crate) async fn run_client<S: System>(world: Shared<S>, id: ClientId) {
    let mut client = Client::new(world, id, "client");
    client.safety_phase().await;
    client.liveness_phase().await;
}

/// Runs the admin side of the workload through the safety phase: bursts of the system's admin
/// operations ([`System::admin_op`]), every burst's operations issued together, a burst every
/// `admin.interval_ms_mean` on average and, with their probabilities, right after a new leader
/// is seen or a partition cuts the cluster. Each operation of a burst has its own admin client
/// (ids after the workload's), so they are in flight at once; none is recorded.
pub(crate) async fn run_admin<S: System>(world: Shared<S>) {
    let (options, clients) = {
        let w = lock(&world);
        (w.options.admin.clone(), w.options.clients)
    };
    // Idle admin clients; a burst takes some, each goes back once its operation is decided.
    let idle: Arc<Mutex<Vec<Client<S>>>> = Arc::new(Mutex::new(
        (0..options.burst_max)
            .rev()
            .map(|i| Client::new(world.clone(), ClientId(clients + i), "admin"))
            .collect(),
    ));
    let mut rng = rng::derive(lock(&world).seed, "admin", 0);
    let (mut leader, mut partitioned) = (None, false);
    let mut next_burst = sim_now() + exp_ms(&mut rng, options.interval_ms_mean);
    while lock(&world).phase == Phase::Safety {
        sleep(ADMIN_POLL).await;
        let (now_leader, now_partitioned) = {
            let w = lock(&world);
            (w.system.leader(&w.observer), w.fabric.disturbed())
        };
        let elected = now_leader.is_some() && now_leader != leader;
        let cut = now_partitioned && !partitioned;
        (leader, partitioned) = (now_leader, now_partitioned);
        let aimed = (elected && rng.gen_bool(options.after_election_probability))
            || (cut && rng.gen_bool(options.after_partition_probability));
        if !aimed && sim_now() < next_burst {
            continue;
        }
        let size = rng.gen_range(1..=options.burst_max as usize);
        burst(&world, &idle, size, &mut rng);
        next_burst = sim_now() + exp_ms(&mut rng, options.interval_ms_mean);
    }
}

/// How often the admin looks for a new leader: each look wakes the simulation, so a finer poll
/// costs speed.
const ADMIN_POLL: Duration = Duration::from_millis(20);

/// Draws up to `size` admin operations, with what the run has observed now, and starts them
/// all at once, each on an idle admin client (a burst does not wait for an earlier one: a
/// partition or an election right after it still gets its own).
fn burst<S: System>(world: &Shared<S>, idle: &Arc<Mutex<Vec<Client<S>>>>, size: usize, rng: &mut Rng) {
    let deadline = sim_now() + Duration::from_millis(lock(world).options.workload.op_timeout_ms);
    for _ in 0..size {
        let op = {
            let w = lock(world);
            let unhealthy = unhealthy(&w);
            w.system.admin_op(&w.observer, &unhealthy, rng)
        };
        let (Some(op), Some(mut client)) = (op, idle.lock().unwrap_or_else(|e| e.into_inner()).pop()) else {
            return;
        };
        let idle = idle.clone();
        madsim::task::spawn(async move {
            client.drive(op, deadline).await;
            idle.lock().unwrap_or_else(|e| e.into_inner()).push(client);
        });
    }
}

/// What an operator's monitoring shows: the nodes down, paused, or cut off from the node the
/// system names as leader.
fn unhealthy<S: System>(w: &World<S>) -> Vec<NodeId> {
    let leader = w.system.leader(&w.observer);
    let cut_off = |n: NodeId| {
        leader.is_some_and(|l| {
            l != n
                && !(w.fabric.connected(Addr::Server(l), Addr::Server(n))
                    && w.fabric.connected(Addr::Server(n), Addr::Server(l)))
        })
    };
    (0..w.nodes.len() as u32)
        .map(NodeId)
        .filter(|&n| w.nodes[n.0 as usize].down || w.nodes[n.0 as usize].paused || cut_off(n))
        .collect()
}

fn exp_ms(rng: &mut Rng, mean_ms: u64) -> Duration {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    Duration::from_millis((-u.ln() * mean_ms as f64) as u64)
}

impl<S: System> Client<S> {
    /// A client with its own inbox and random stream (`stream` names it: `client`, `admin`).
    fn new(world: Shared<S>, id: ClientId, stream: &str) -> Self {
        let (rng, process, inbox) = {
            let w = lock(&world);
            let inbox = w.inboxes[&Addr::Client(id)].clone();
            (rng::derive(w.seed, stream, u64::from(id.0)), Process::new(id.0, w.options.clients), inbox)
        };
        Client { id, world, inbox, rng, seq: 0, process }
    }

    fn phase(&self) -> Phase {
        lock(&self.world).phase
    }

    async fn safety_phase(&mut self) {
        let (ops, think_ms_max, op_timeout_ms) = {
            let w = lock(&self.world);
            let o = &w.options.workload;
            (o.ops_per_client, o.think_ms_max, o.op_timeout_ms)
        };
        for _ in 0..ops {
            sleep(Duration::from_millis(self.rng.gen_range(0..=think_ms_max))).await;
            if self.phase() != Phase::Safety {
                return;
            }
            self.perform(sim_now() + Duration::from_millis(op_timeout_ms)).await;
        }
    }

    async fn liveness_phase(&mut self) {
        while self.phase() == Phase::Safety {
            sleep(Duration::from_millis(50)).await;
        }
        let (ops, budget_ms) = {
            let w = lock(&self.world);
            (w.options.workload.liveness_ops_per_client, w.options.liveness_budget_ms)
        };
        let deadline = sim_now() + Duration::from_millis(budget_ms);
        for _ in 0..ops {
            if self.phase() != Phase::Liveness {
                return;
            }
            if let EventKind::Ok | EventKind::Fail = self.perform(deadline).await {
                lock(&self.world).served[self.id.0 as usize] += 1;
            }
        }
    }

    /// Invokes the next operation and retries it until it is decided or `deadline` passes.
    /// Returns how it completed.
    async fn perform(&mut self, deadline: Instant) -> EventKind {
        let op = lock(&self.world).system.next_op(self.id, &mut self.rng);
        self.drive(op, deadline).await
    }

    /// Invokes `op` (recording it if it is recorded) and retries it until it is decided or
    /// `deadline` passes. Returns how it completed.
    async fn drive(&mut self, op: Op<<N<S> as Node>::Request>, deadline: Instant) -> EventKind {
        let id = {
            let mut w = lock(&self.world);
            tracing::info!(process = self.process.id(), "invoke {} {}", op.f, op.value);
            if op.record {
                w.record_event(
                    Event::invoke(self.process.id(), op.f, op.value.clone(), 0),
                    TraceKind::Invoke,
                );
            }
            RequestId { client: self.id, seq: self.seq }
        };
        self.seq += 1;
        let mut attempts = Attempts::default();
        while sim_now() < deadline {
            let hint = attempts.take_hint();
            let target = {
                let w = lock(&self.world);
                let target = w.system.route(self.id, &op.request, hint, &mut self.rng);
                let nodes = w.layout.len();
                assert!(
                    target.0 < nodes,
                    "{} routed a request to {target}, but the layout has {nodes} nodes",
                    S::NAME
                );
                target
            };
            let wire: WireOf<N<S>> = Wire::Request { id, req: op.request.clone() };
            transmit(&self.world, Addr::Client(self.id), Addr::Server(target), &wire);
            let attempt_ms = lock(&self.world).options.workload.attempt_timeout_ms;
            let until = deadline.min(sim_now() + Duration::from_millis(attempt_ms));
            let Some(response) = self.await_response(id, until).await else {
                attempts.timed_out();
                continue;
            };
            let answer = lock(&self.world).system.interpret(&op.request, &response);
            if let Some((kind, value)) = attempts.answered(answer) {
                self.complete(&op, kind, value);
                return kind;
            }
            sleep(Duration::from_millis(self.rng.gen_range(5..=50))).await;
        }
        let (kind, value) = attempts.give_up();
        self.complete(&op, kind, value);
        kind
    }

    fn complete(&mut self, op: &Op<<N<S> as Node>::Request>, kind: EventKind, value: Value) {
        tracing::info!(process = self.process.id(), "{kind:?} {} {value}", op.f);
        if !op.record {
            return;
        }
        let mut w = lock(&self.world);
        w.record_event(Event::complete(self.process.id(), kind, op.f, value, 0), TraceKind::Complete);
        self.process.completed(kind);
    }

    /// Waits for the response to `id` until `until`; other frames are stale and dropped.
    async fn await_response(&mut self, id: RequestId, until: Instant) -> Option<<N<S> as Node>::Response> {
        loop {
            let packet = next_until(&self.inbox, until).await?;
            let mut w = lock(&self.world);
            match codec::decode::<WireOf<N<S>>>(&packet.frame) {
                Ok(Wire::Response { id: got, resp }) if got == id => {
                    w.counters.add("net.delivered");
                    let at = (1 << 32) | u64::from(self.id.0);
                    w.record(TraceKind::Deliver, at, u64::from(codec::frame_checksum(&packet.frame)));
                    return Some(resp);
                }
                Ok(_) => w.counters.add("net.stale_response"),
                Err(_) => w.counters.add("net.frame_rejected"),
            }
        }
    }
}
