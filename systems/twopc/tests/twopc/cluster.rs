//! Two-phase commit on the kit's scripted cluster: node 0 the coordinator, nodes 1.. the
//! participants (shard `s` on node `s + 1`), the system's own observer fed after every step so
//! that scripted scenarios are judged by the same invariants as the harness's runs, and client
//! calls to the coordinator.

use faultline_checkers::History;
use faultline_services::bank::BankOp;
use faultline_sim::system::{CheckOutcome, Moment, System, SystemConfig};
use faultline_sim::testing::{Cluster, Observer};
use faultline_sim::{NodeId, RequestId};
use faultline_twopc::msg::Response;
use faultline_twopc::system::Observed;
use faultline_twopc::{TwoPcNode, TwoPcSystem};
use std::time::Duration;

/// The system's observer, fed after every step.
pub struct Watch {
    system: TwoPcSystem,
    seen: Observed,
}

impl Observer<TwoPcNode> for Watch {
    fn after_step(&mut self, id: NodeId, node: &TwoPcNode, elapsed: Duration) {
        let moment = Moment { time_ns: elapsed.as_nanos() as u64, under_faults: false };
        self.system.observe(&mut self.seen, id, moment, node);
    }
}

pub type Twopc = Cluster<TwoPcNode, Watch>;

/// A coordinator and `shards` participants, booted, with planted bug `bug` if any.
pub fn cluster(shards: u32, seed: u64, bug: Option<&str>) -> Twopc {
    let config = SystemConfig { bug: bug.map(Into::into), ..SystemConfig::new(shards) };
    let nodes = TwoPcSystem::new(&config).expect("a valid configuration");
    let watch = Watch {
        system: TwoPcSystem::new(&config).expect("a valid configuration"),
        seen: Observed::default(),
    };
    Cluster::with_observer(shards + 1, seed, move |id| nodes.build_node(id), watch)
}

/// What the checks say of the observed run (no client history: only the invariants and the
/// final balances), as `name: reason` for each violation.
pub fn violations(c: &Twopc) -> Vec<String> {
    let w = c.observer();
    let checks: Vec<CheckOutcome> = w.system.check(&History::new(), &w.seen);
    checks
        .into_iter()
        .filter(|c| !c.verdict.is_ok())
        .map(|c| format!("{}: {:?}", c.name, c.verdict))
        .collect()
}

/// Whether the system says it has converged (nothing in doubt, every commit acknowledged).
pub fn settled(c: &Twopc) -> bool {
    let w = c.observer();
    w.system.pending(&w.seen).is_none()
}

/// The balance of `account` on shard `account % shards` (participant `account % shards + 1`).
pub fn balance(c: &Twopc, account: u32) -> i64 {
    let shards = c.size() as u32 - 1;
    c.node(account % shards + 1).participant().expect("a participant").data().balance(account)
}

/// Sends `op` to the coordinator as request `id` until an answer comes (2 simulated s at most).
pub fn call_with(c: &mut Twopc, id: RequestId, op: BankOp) -> Response {
    for _ in 0..20 {
        c.submit(0, id, op.clone());
        let answered = |c: &Twopc| c.replies_to(id).any(|r| *r != Response::Unavailable);
        if c.run_until(answered, Duration::from_millis(100)) {
            return c.replies_to(id).find(|r| **r != Response::Unavailable).expect("answered").clone();
        }
    }
    panic!("no answer to {id:?}");
}

/// A transfer, as client 0's next request.
pub fn transfer(c: &mut Twopc, from: u32, to: u32, amount: i64) -> Response {
    let id = c.next_id(0);
    call_with(c, id, BankOp::Transfer { from, to, amount })
}
