//! The sharded store on the kit's scripted cluster: every node of the layout (configuration
//! group, shard groups, routers), the system's own observer fed after every step, and client
//! calls that retry through a router until they are answered.

use faultline_services::Ring;
use faultline_sharded::msg::{Request, Response, Retry, RingConfig};
use faultline_sharded::observe::Observed;
use faultline_sharded::topology::Topology;
use faultline_sharded::{ShardedNode, ShardedSystem};
use faultline_sim::system::{Moment, System, SystemConfig};
use faultline_sim::testing::{Cluster, Observer};
use faultline_sim::{NodeId, RequestId};
use std::rc::Rc;
use std::time::Duration;

/// The system's observer, fed by the scripted cluster.
#[derive(Default)]
pub struct Seen(pub Observed);

impl Observer<ShardedNode> for Seen {
    fn after_step(&mut self, id: NodeId, node: &ShardedNode, elapsed: Duration) {
        let moment = Moment { time_ns: elapsed.as_nanos() as u64, under_faults: false };
        self.0.observe(id, moment, node);
    }
}

/// A scripted sharded store: three replicas per group, two routers (clients 0 and 1).
pub struct Store {
    pub c: Cluster<ShardedNode, Seen>,
    pub topology: Topology,
}

impl Store {
    pub fn new(bug: Option<&str>) -> Store {
        let config = SystemConfig { clients: 2, bug: bug.map(String::from), ..SystemConfig::new(3) };
        let system = Rc::new(ShardedSystem::new(&config).expect("a valid configuration"));
        let topology = system.topology();
        let nodes = topology.layout().len();
        let c = Cluster::with_observer(nodes, 7, move |id| system.build_node(id), Seen::default());
        let mut store = Store { c, topology };
        store.settle();
        store
    }

    /// Runs until every group has a leader and every migration is done (at most 10 s).
    pub fn settle(&mut self) {
        let settled = self.c.run_until(
            |c| !c.observer().0.groups.is_empty() && c.observer().0.pending().is_none(),
            Duration::from_secs(10),
        );
        assert!(settled, "the store did not settle: {:?}", self.c.observer().0.pending());
    }

    /// Asks client `client`'s router, retrying after every "retry" (at most 100 times).
    pub fn call(&mut self, client: u32, req: Request) -> Response {
        let id = self.c.next_id(client);
        self.call_with(id, req)
    }

    /// Asks until the answer is not a redirect to the leader (at most 10 times): the first
    /// answer from a group's leader.
    pub fn ask_leader(&mut self, client: u32, req: Request) -> Response {
        let router = self.topology.router(faultline_sim::ClientId(client));
        let id = self.c.next_id(client);
        for attempt in 0..10 {
            self.c.submit(router, id, req.clone());
            self.c.run_until(|c| c.replies_to(id).count() > attempt, Duration::from_secs(1));
            let answer = self.c.replies_to(id).nth(attempt).cloned();
            match answer {
                Some(Response::Retry(Retry::NotLeader)) | None => self.c.run_for(Duration::from_millis(20)),
                Some(answer) => return answer,
            }
        }
        panic!("client {client}'s {req:?} never reached a leader")
    }

    /// Like `call`, under a given request id (a client retrying an earlier request).
    pub fn call_with(&mut self, id: RequestId, req: Request) -> Response {
        let client = id.client.0;
        let router = self.topology.router(id.client);
        for _ in 0..100 {
            let before = self.c.replies_to(id).count();
            self.c.submit(router, id, req.clone());
            self.c.run_until(|c| c.replies_to(id).count() > before, Duration::from_secs(1));
            let answer = self.c.replies_to(id).nth(before).cloned();
            match answer {
                Some(Response::Retry(_)) | None => self.c.run_for(Duration::from_millis(20)),
                Some(answer) => return answer,
            }
        }
        panic!("client {client}'s {req:?} was never answered")
    }

    /// The configuration service's latest configuration, as observed.
    pub fn latest(&self) -> RingConfig {
        let seen = &self.c.observer().0;
        seen.configs[&seen.latest_epoch()].clone()
    }

    /// The observer's verdicts that are violations, by name.
    pub fn violations(&self) -> Vec<String> {
        let system = ShardedSystem::new(&SystemConfig::new(3)).expect("valid");
        let history = faultline_checkers::History::default();
        let checks = system.check(&history, &self.c.observer().0);
        checks.into_iter().filter(|c| c.verdict.is_violation()).map(|c| c.name).collect()
    }
}

/// A workload key whose owner differs between two rings.
pub fn key_moving(before: &Ring, after: &Ring) -> String {
    (0..1000).map(|i| format!("k{i}")).find(|k| before.owner(k) != after.owner(k)).expect("some key moves")
}
