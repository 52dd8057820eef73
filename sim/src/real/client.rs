//! A workload client over TCP: the simulated client's logic on real sockets and real time.

use super::conn::{connect, node_addr, read_frame, writer};
use crate::attempts::{Attempts, Process};
use crate::codec;
use crate::net::Addr;
use crate::node::{ClientId, Node, NodeId, RequestId};
use crate::rng::Rng;
use crate::system::{Op, System};
use crate::wire::{Wire, WireOf};
use faultline_checkers::{Event, EventKind, History};
use rand::Rng as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

type N<S> = <S as System>::Node;
type Response<S> = <N<S> as Node>::Response;

/// The history all clients append to, stamped with nanoseconds since `start`.
pub struct Recorder {
    pub history: Mutex<History>,
    pub start: Instant,
}

impl Recorder {
    fn record(&self, event: Event) {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        // Stamp under the lock so times never go backwards between clients.
        let time = self.start.elapsed().as_nanos() as u64;
        h.push(Event { time, ..event });
    }
}

pub struct RealClient<S: System> {
    id: ClientId,
    system: Arc<S>,
    base_port: u16,
    conns: BTreeMap<NodeId, UnboundedSender<Vec<u8>>>,
    responses_tx: UnboundedSender<(RequestId, Response<S>)>,
    responses: UnboundedReceiver<(RequestId, Response<S>)>,
    rng: Rng,
    seq: u64,
    process: Process,
    recorder: Arc<Recorder>,
}

/// How long one attempt waits for an answer, and one operation for a decision.
const ATTEMPT: Duration = Duration::from_millis(1_000);
const OPERATION: Duration = Duration::from_secs(5);

impl<S: System> RealClient<S> {
    pub fn new(
        id: ClientId,
        clients: u32,
        system: Arc<S>,
        base_port: u16,
        rng: Rng,
        recorder: Arc<Recorder>,
    ) -> Self {
        let (responses_tx, responses) = mpsc::unbounded_channel();
        let process = Process::new(id.0, clients);
        RealClient {
            id,
            system,
            base_port,
            conns: BTreeMap::new(),
            responses_tx,
            responses,
            rng,
            seq: 0,
            process,
            recorder,
        }
    }

    /// Invokes the next operation and retries it until it is decided or gives up.
    pub async fn perform(&mut self) -> EventKind {
        let op = self.system.next_op(self.id, &mut self.rng);
        let id = RequestId { client: self.id, seq: self.seq };
        self.seq += 1;
        if op.record {
            self.recorder.record(Event::invoke(self.process.id(), op.f, op.value.clone(), 0));
        }
        let deadline = now() + OPERATION;
        let mut attempts = Attempts::default();
        while now() < deadline {
            let target = self.system.route(self.id, &op.request, attempts.take_hint(), &mut self.rng);
            let wire: WireOf<N<S>> = Wire::Request { id, req: op.request.clone() };
            if !self.send(target, codec::encode(&wire)).await {
                attempts.timed_out();
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let Some(response) = self.await_response(id, deadline.min(now() + ATTEMPT)).await else {
                attempts.timed_out();
                continue;
            };
            if let Some((kind, value)) = attempts.answered(self.system.interpret(&op.request, &response)) {
                return self.complete(&op, kind, value);
            }
            tokio::time::sleep(Duration::from_millis(self.rng.gen_range(10..=100))).await;
        }
        let (kind, value) = attempts.give_up();
        self.complete(&op, kind, value)
    }

    fn complete(
        &mut self,
        op: &Op<<N<S> as Node>::Request>,
        kind: EventKind,
        value: faultline_checkers::Value,
    ) -> EventKind {
        if op.record {
            self.recorder.record(Event::complete(self.process.id(), kind, op.f, value, 0));
            self.process.completed(kind);
        }
        kind
    }

    /// Sends a frame to `target`, connecting first if needed; false if it could not be sent.
    async fn send(&mut self, target: NodeId, frame: Vec<u8>) -> bool {
        if self.conns.get(&target).is_none_or(|w| w.is_closed()) {
            let to = node_addr(self.base_port, target.0);
            let Ok(Ok((mut r, w))) = tokio::time::timeout(ATTEMPT, connect(to, Addr::Client(self.id))).await
            else {
                return false;
            };
            let tx = self.responses_tx.clone();
            tokio::spawn(async move {
                while let Ok(Wire::Response { id, resp }) = read_frame::<WireOf<N<S>>>(&mut r).await {
                    if tx.send((id, resp)).is_err() {
                        return;
                    }
                }
            });
            self.conns.insert(target, writer(w));
        }
        self.conns[&target].send(frame).is_ok()
    }

    /// The response to `id`, waiting until `until`; answers to earlier requests are dropped.
    async fn await_response(&mut self, id: RequestId, until: Instant) -> Option<Response<S>> {
        loop {
            let left = until.checked_duration_since(now())?;
            match tokio::time::timeout(left, self.responses.recv()).await {
                Ok(Some((got, resp))) if got == id => return Some(resp),
                Ok(Some(_)) => continue,
                _ => return None,
            }
        }
    }
}

#[allow(clippy::disallowed_methods)] // real mode runs on the real clock
pub fn now() -> Instant {
    Instant::now()
}
