//! The kit's own tests, on a probe protocol small enough to predict every step: each node
//! beats on a timer (a ping to the next node, which answers with a pong), and clients write a
//! number to its disk (synced or not) and read it back.

use super::*;
use crate::disk::SealedFile;
use crate::node::{Context, Node, NodeId, RequestId};
use std::time::Duration;

const VALUE: SealedFile<u64> = SealedFile::new("value");
const BEAT: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Probe {
    value: u64,
    pongs: u64,
    starts: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Msg {
    Ping,
    Pong,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Req {
    Write {
        value: u64,
        sync: bool,
    },
    Read,
    /// Replies, then halts: the reply must not leave.
    ReplyThenHalt,
}

impl Node for Probe {
    type Msg = Msg;
    type Timer = ();
    type Request = Req;
    type Response = u64;

    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        self.starts += 1;
        self.value = VALUE.read(cx.disk()).unwrap().intact().unwrap_or(0);
        cx.set_timer((), BEAT);
    }

    fn on_message(&mut self, cx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Ping => cx.send(from, Msg::Pong),
            Msg::Pong => self.pongs += 1,
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_, Self>, _timer: ()) {
        cx.send(NodeId((cx.id().0 + 1) % 3), Msg::Ping);
        cx.set_timer((), BEAT);
    }

    fn on_request(&mut self, cx: &mut Context<'_, Self>, id: RequestId, req: Req) {
        match req {
            Req::Write { value, sync: true } => VALUE.replace(cx.disk(), &value).unwrap(),
            Req::Write { value, sync: false } => {
                cx.disk().write("value", 0, &crate::codec::seal(&value)).unwrap()
            }
            Req::Read => {}
            Req::ReplyThenHalt => {
                cx.reply(id, self.value);
                return cx.halt("asked to");
            }
        }
        if let Req::Write { value, .. } = req {
            self.value = value;
        }
        cx.reply(id, self.value);
    }
}

/// Counts steps per node: what a system's invariant checker would be fed.
#[derive(Default)]
struct Steps(Vec<(NodeId, Duration)>);

impl Observer<Probe> for Steps {
    fn after_step(&mut self, id: NodeId, _node: &Probe, elapsed: Duration) {
        self.0.push((id, elapsed));
    }
}

fn three() -> Cluster<Probe, Steps> {
    Cluster::with_observer(3, 1, |_| Probe::default(), Steps::default())
}

fn call(c: &mut Cluster<Probe, Steps>, node: u32, req: Req) -> Option<u64> {
    let id = c.next_id(0);
    c.submit(node, id, req);
    c.replies_to(id).last().copied()
}

#[test]
fn every_step_is_observed_starting_with_each_nodes_start() {
    let mut c = three();
    assert_eq!(
        c.observer().0,
        vec![(NodeId(0), Duration::ZERO), (NodeId(1), Duration::ZERO), (NodeId(2), Duration::ZERO)]
    );
    c.tick(BEAT);
    // Three beats, each a ping in flight; delivering them gives three pings and three pongs.
    assert_eq!(c.observer().0.len(), 6);
    assert_eq!(c.queue().len(), 3);
    c.deliver_all();
    assert_eq!(c.observer().0.len(), 12);
    assert!(c.observer().0[3..].iter().all(|(_, at)| *at == BEAT));
    assert_eq!(c.ids().map(|i| c.node(i).pongs).collect::<Vec<_>>(), vec![1, 1, 1]);
}

#[test]
fn a_crash_loses_unsynced_writes_and_a_restart_recovers_synced_ones() {
    let mut c = three();
    assert_eq!(call(&mut c, 1, Req::Write { value: 5, sync: true }), Some(5));
    assert_eq!(call(&mut c, 1, Req::Write { value: 7, sync: false }), Some(7));
    c.crash(1);
    assert!(!c.is_up(1));
    assert_eq!(call(&mut c, 1, Req::Read), None, "a crashed node sees no request");
    assert_eq!(c.node(1).value, 7, "a crashed node shows its state at the crash");
    c.restart(1);
    assert_eq!((c.node(1).starts, call(&mut c, 1, Req::Read)), (1, Some(5)));
}

#[test]
fn a_halt_throws_away_its_step_and_restarts_the_node() {
    let mut c = three();
    c.tick(BEAT);
    let id = c.next_id(4);
    c.submit(2, id, Req::ReplyThenHalt);
    assert_eq!(c.replies_to(id).count(), 0, "nothing of a halted step leaves the node");
    assert_eq!(c.halts(), &[(NodeId(2), "asked to".to_string())]);
    assert_eq!(c.node(2).starts, 1, "restarted: a new node, started once");
    assert_eq!(c.queue().len(), 3, "the pings sent before stay in flight");
}

#[test]
fn links_are_cut_one_way_and_cutting_loses_what_is_in_flight() {
    let mut c = three();
    c.cut(0, 1);
    assert!(!c.is_linked(0, 1) && c.is_linked(1, 0));
    c.tick(BEAT);
    c.deliver_all();
    // n0's ping to n1 was lost; n1's ping to n2 and n2's ping to n0 were answered.
    assert_eq!(c.ids().map(|i| c.node(i).pongs).collect::<Vec<_>>(), vec![0, 1, 1]);
    c.partition(&[&[0], &[1, 2]]);
    c.tick(BEAT);
    c.deliver_all();
    assert_eq!(c.ids().map(|i| c.node(i).pongs).collect::<Vec<_>>(), vec![0, 2, 1]);
    c.heal();
    c.isolate(2);
    assert!(!c.is_linked(2, 0) && !c.is_linked(1, 2) && c.is_linked(0, 1));
}

#[test]
fn the_queue_can_be_dropped_from_duplicated_reordered_and_injected_into() {
    let mut c = three();
    c.tick(BEAT);
    let firsts: Vec<NodeId> = c.queue().iter().map(|e| e.from).collect();
    assert_eq!(firsts, vec![NodeId(0), NodeId(1), NodeId(2)]);
    assert_eq!(c.duplicate_where(|e| e.from == NodeId(0)), 1);
    assert_eq!(c.drop_where(|e| e.from == NodeId(1)), 1);
    c.reverse_queue();
    let order: Vec<NodeId> = c.queue().iter().map(|e| e.from).collect();
    assert_eq!(order, vec![NodeId(0), NodeId(2), NodeId(0)]);
    c.inject([Envelope { from: NodeId(2), to: NodeId(1), msg: Msg::Pong }]);
    c.deliver_where(|e| e.msg == Msg::Pong);
    assert_eq!(c.node(1).pongs, 1, "the injected pong arrived");
    c.deliver_all();
    assert_eq!(c.node(0).pongs, 2, "both copies of n0's ping were answered");
}

#[test]
fn clocks_run_at_their_rates_and_fire_their_timers() {
    let mut c = three();
    c.set_rate(1, 200);
    c.set_rate(2, 50);
    c.run_for(Duration::from_millis(40));
    let start = crate::node::Time::EPOCH_NANOS;
    let ran: Vec<u64> = c.ids().map(|i| (c.now(i).as_nanos() - start) / 1_000_000).collect();
    assert_eq!(ran, vec![40, 80, 20]);
    // Pongs answer the beats of each node: 4, 8 and 2 beats in those times.
    assert_eq!(c.ids().map(|i| c.node(i).pongs).collect::<Vec<_>>(), vec![4, 8, 2]);
    c.freeze_timers();
    c.run_for(Duration::from_millis(40));
    assert_eq!(c.node(0).pongs, 4, "frozen timers do not fire");
    c.fire(0, ());
    assert_eq!(c.node(0).pongs, 5, "a fired one does, and what it sends is delivered");
}

#[test]
fn a_paused_node_keeps_its_messages_timers_and_requests_waiting_until_it_resumes() {
    let mut c = three();
    c.pause(1);
    c.run_for(Duration::from_millis(30));
    assert_eq!(c.node(0).pongs, 0, "n1 answers no ping while paused");
    assert_eq!(c.queue().iter().filter(|e| e.to == NodeId(1)).count(), 3);
    let id = c.next_id(0);
    c.submit(1, id, Req::Read);
    assert_eq!(c.replies_to(id).count(), 0);
    c.resume(1);
    assert_eq!(c.replies_to(id).count(), 1, "the request was handed over");
    // Its clock ran, so its overdue beat fired once at resume and re-armed from then.
    assert_eq!(c.queue().iter().filter(|e| e.from == NodeId(1)).count(), 1);
    c.deliver_all();
    assert_eq!(c.node(0).pongs, 3);
}

#[test]
fn run_until_stops_when_the_predicate_holds_or_the_budget_is_spent() {
    let mut c = three();
    assert!(c.run_until(|c| c.node(2).pongs >= 2, Duration::from_secs(1)));
    assert_eq!(c.elapsed(), 2 * BEAT);
    assert!(!c.run_until(|c| c.node(2).pongs >= 100, Duration::from_millis(50)));
    assert_eq!(c.elapsed(), 2 * BEAT + Duration::from_millis(50));
}

#[test]
fn the_nemesis_is_seeded_keeps_a_majority_up_and_heals_everything() {
    let run = |seed| {
        let mut c = three();
        let mut nemesis =
            Nemesis::new(seed, NemesisRates { crash_probability: 0.05, ..NemesisRates::default() });
        let mut faults = Vec::new();
        for _ in 0..2000 {
            faults.push(nemesis.step(&mut c));
            assert!(c.up().len() >= 2, "a majority stays up");
            nemesis.network(&mut c);
            c.tick(Duration::from_millis(1));
        }
        nemesis.heal(&mut c);
        assert_eq!(c.up().len(), 3);
        assert!(c.ids().all(|a| c.ids().all(|b| c.is_linked(a, b))));
        faults.retain(|f| *f != Fault::Nothing);
        faults
    };
    let faults = run(3);
    assert!(faults.iter().any(|f| matches!(f, Fault::Crashed(_))), "{faults:?}");
    assert!(faults.iter().any(|f| matches!(f, Fault::Partitioned)), "{faults:?}");
    assert_eq!(faults, run(3));
    assert_ne!(faults, run(4));
}
