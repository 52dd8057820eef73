//! Handler tests: one node stepped by hand (`TestNode`), exact command vectors.

use faultline_raft::RaftReply;
use faultline_services::{KvOp, KvWrite};
use faultline_sharded::config::ConfigMachine;
use faultline_sharded::config_node::ConfigNode;
use faultline_sharded::machine::MachineBugs;
use faultline_sharded::msg::{
    Msg, Refusal, Request, Response, Retry, RingConfig, ShardResponse, ShardWrite, Shipment, Timer,
};
use faultline_sharded::router::{Router, FETCH_INTERVAL};
use faultline_sharded::shard::{ShardNode, POLL_INTERVAL};
use faultline_sharded::topology::Topology;
use faultline_sharded::ShardedNode;
use faultline_sim::testing::TestNode;
use faultline_sim::{ClientId, Command, NodeId, RequestId};

type Out = Vec<Command<ShardedNode>>;

const TOPOLOGY: Topology = Topology { replicas: 3, routers: 2 };

fn n(i: u32) -> NodeId {
    NodeId(i)
}

fn first_config() -> RingConfig {
    ConfigMachine::default().latest().clone()
}

fn send(to: NodeId, msg: Msg) -> Command<ShardedNode> {
    Command::Send { to, msg }
}

fn fetch_latest(to: u32) -> Out {
    vec![
        send(n(to), Msg::FetchConfig { epoch: None }),
        Command::SetTimer { timer: Timer::Fetch, after: FETCH_INTERVAL },
    ]
}

/// Router 0, started: it has asked configuration node n1 for the latest configuration.
fn router() -> TestNode<ShardedNode> {
    let id = TOPOLOGY.router(ClientId(0));
    let mut t = TestNode::new(id, 1, || ShardedNode::Router(Box::new(Router::new(TOPOLOGY, None))));
    assert_eq!(t.start(), fetch_latest(1));
    t
}

fn put_request(id: RequestId, epoch: u64) -> Msg {
    let op = KvWrite::Put { key: "k".into(), value: "v".into() };
    Msg::ShardRequest { id, req: faultline_raft::Request::Write(ShardWrite::Client { epoch, op }) }
}

#[test]
fn a_router_holds_requests_until_it_has_a_configuration_then_stamps_its_epoch() {
    let mut r = router();
    let id = RequestId { client: ClientId(0), seq: 1 };
    assert_eq!(r.request(id, Request::Kv(KvOp::put("k", "v"))), vec![]);
    let owner = first_config().ring().owner("k").unwrap();
    // The cursor moved to 1 with the fetch: the owner group's second replica, no leader known.
    let to = TOPOLOGY.group_nodes(owner)[1];
    assert_eq!(r.message(n(1), Msg::ConfigIs { config: first_config() }), vec![send(to, put_request(id, 1))]);
}

#[test]
fn a_router_follows_a_leader_hint_and_fetches_on_a_newer_epoch() {
    let mut r = router();
    r.message(n(1), Msg::ConfigIs { config: first_config() });
    let owner = first_config().ring().owner("k").unwrap();
    let (follower, leader) = (TOPOLOGY.group_nodes(owner)[1], TOPOLOGY.group_nodes(owner)[2]);
    let id = RequestId { client: ClientId(0), seq: 1 };
    let redirect = ShardResponse::Raft(RaftReply::NotLeader { hint: Some(leader) });
    let out = r.message(follower, Msg::ShardAnswer { id, resp: redirect });
    assert_eq!(out, vec![Command::Reply { to: id, resp: Response::Retry(Retry::NotLeader) }]);
    assert_eq!(r.request(id, Request::Kv(KvOp::put("k", "v"))), vec![send(leader, put_request(id, 1))]);
    // The group is at epoch 3: the router asks the next configuration node for the latest.
    let stale = ShardResponse::Refused(Refusal::StaleEpoch { epoch: 3 });
    let mut expected = fetch_latest(2);
    expected.push(Command::Reply { to: id, resp: Response::Retry(Retry::StaleEpoch) });
    assert_eq!(r.message(leader, Msg::ShardAnswer { id, resp: stale }), expected);
    // An older configuration changes nothing.
    assert_eq!(r.message(n(2), Msg::ConfigIs { config: first_config() }), vec![]);
}

#[test]
fn a_configuration_node_hands_out_only_configurations_it_has_applied() {
    let mut t = TestNode::new(n(0), 1, || ShardedNode::Config(Box::new(ConfigNode::new(TOPOLOGY))));
    t.start();
    let router = TOPOLOGY.router(ClientId(1));
    let config_is = vec![send(router, Msg::ConfigIs { config: first_config() })];
    assert_eq!(t.message(router, Msg::FetchConfig { epoch: Some(1) }), config_is);
    assert_eq!(t.message(router, Msg::FetchConfig { epoch: None }), config_is);
    assert_eq!(t.message(router, Msg::FetchConfig { epoch: Some(2) }), vec![]);
}

#[test]
fn a_shard_replica_that_does_not_lead_leaves_migrations_to_the_leader() {
    let node = || ShardedNode::Shard(Box::new(ShardNode::new(1, TOPOLOGY, MachineBugs::default(), false)));
    let mut t = TestNode::new(TOPOLOGY.group_nodes(1)[0], 1, node);
    t.start();
    let source = TOPOLOGY.group_nodes(0)[0];
    let handoff = Msg::Handoff { epoch: 2, from: 0, shipment: Shipment::default() };
    assert_eq!(t.message(source, handoff), vec![]);
    assert_eq!(t.message(source, Msg::HandoffAck { epoch: 2, importer: 0 }), vec![]);
    assert_eq!(t.message(n(0), Msg::ConfigIs { config: first_config() }), vec![]);
    let poll = Command::SetTimer { timer: Timer::Poll, after: POLL_INTERVAL };
    assert_eq!(t.timer(Timer::Poll), vec![poll]);
}
