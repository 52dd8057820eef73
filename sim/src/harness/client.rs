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
use super::world::{lock, sim_now, transmit, Phase, Shared};
use crate::attempts::{Attempts, Process};
use crate::codec;
use crate::net::Addr;
use crate::node::{ClientId, Node, RequestId};
use crate::rng::{self, Rng};
use crate::system::{Op, System};
use crate::trace::TraceKind;
use crate::wire::{Wire, WireOf};
use faultline_checkers::{Event, EventKind, Value};
use madsim::time::{sleep, Instant};
use rand::Rng as _;
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
    let (rng, process, inbox) = {
        let w = lock(&world);
        let inbox = w.inboxes[&Addr::Client(id)].clone();
        (rng::derive(w.seed, "client", u64::from(id.0)), Process::new(id.0, w.options.clients), inbox)
    };
    let mut client = Client::<S> { id, world, inbox, rng, seq: 0, process };
    client.safety_phase().await;
    client.liveness_phase().await;
}

impl<S: System> Client<S> {
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
        let (op, id) = {
            let mut w = lock(&self.world);
            let op = w.system.next_op(self.id, &mut self.rng);
            tracing::info!(process = self.process.id(), "invoke {} {}", op.f, op.value);
            if op.record {
                w.record_event(
                    Event::invoke(self.process.id(), op.f, op.value.clone(), 0),
                    TraceKind::Invoke,
                );
            }
            (op, RequestId { client: self.id, seq: self.seq })
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
