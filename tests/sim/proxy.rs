//! A forwarding proxy in front of the counter: a system with two kinds of node, one of them
//! client-side.
//!
//! The layout is the counter's servers (a replicated group) and one proxy per workload client
//! (client-side nodes). Workload client `c` sends every request to its own proxy, which forwards
//! it to the counter's primary as an ordinary node-to-node message through the faulty network;
//! the primary's answer goes back to that proxy, which replies to the client. The system's
//! `Node` is an enum over the two kinds; the server kind embeds the counter's own node with
//! `Context::embed`, rerouting its replies to the proxy that forwarded the request.
//!
//! A proxy keeps nothing: a request it lost (a crash, a pause, a cut link) is retried by its
//! client with the same request id, and the counter applies it once. So the counter's checks
//! must hold through the proxies, whatever the schedule does to them; and a proxy that
//! acknowledges an increment before the primary answered (`ProxyAcksEarly`) must be caught.

use faultline_checkers::History;
use faultline_counter::msg::{Msg as CounterMsg, Request, Response, Timer};
use faultline_counter::node::PRIMARY;
use faultline_counter::{Counter, CounterNode};
use faultline_sim::layout::{Layout, Role};
use faultline_sim::rng::Rng;
use faultline_sim::stats::Counters;
use faultline_sim::system::{Answer, CheckOutcome, Moment, Op, System, SystemConfig};
use faultline_sim::{ClientId, Command, Context, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// The kind name of the proxies.
pub const PROXY: &str = "proxy";

/// Node-to-node messages: the counter's own, and the proxy's two.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Msg {
    Counter(CounterMsg),
    /// Proxy to primary: a client's request, under the client's own request id.
    Forward {
        id: RequestId,
        req: Request,
    },
    /// Primary to proxy: the answer to a forwarded request.
    Answer {
        id: RequestId,
        resp: Response,
    },
}

impl From<CounterMsg> for Msg {
    fn from(msg: CounterMsg) -> Self {
        Msg::Counter(msg)
    }
}

/// One node of either kind.
pub enum ProxiedNode {
    /// A counter server; `servers` tells it where the proxies start.
    Server {
        node: Box<CounterNode>,
        servers: u32,
    },
    Proxy {
        acks_early: bool,
    },
}

type Cx<'a> = Context<'a, ProxiedNode>;

/// A counter command as this system's: replies go back to the proxy of the request's client.
fn from_server(command: Command<CounterNode>, servers: u32) -> Option<Command<ProxiedNode>> {
    match command {
        Command::Reply { to, resp } => {
            let proxy = NodeId(servers + to.client.0);
            Some(Command::Send { to: proxy, msg: Msg::Answer { id: to, resp } })
        }
        other => Some(other.lift()),
    }
}

impl Node for ProxiedNode {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Response = Response;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        if let ProxiedNode::Server { node, servers } = self {
            let servers = *servers;
            cx.embed(|cx| node.on_start(cx), |c| from_server(c, servers));
        }
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (ProxiedNode::Server { node, servers }, Msg::Counter(msg)) => {
                let servers = *servers;
                cx.embed(|cx| node.on_message(cx, from, msg), |c| from_server(c, servers));
            }
            (ProxiedNode::Server { node, servers }, Msg::Forward { id, req }) => {
                let servers = *servers;
                cx.embed(|cx| node.on_request(cx, id, req), |c| from_server(c, servers));
            }
            (ProxiedNode::Proxy { .. }, Msg::Answer { id, resp }) => cx.reply(id, resp),
            // A message for the other kind: a protocol bug, which the checks would show.
            _ => {}
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        if let ProxiedNode::Server { node, servers } = self {
            let servers = *servers;
            cx.embed(|cx| node.on_timer(cx, timer), |c| from_server(c, servers));
        }
    }

    fn on_request(&mut self, cx: &mut Cx<'_>, id: RequestId, req: Request) {
        match self {
            ProxiedNode::Server { node, .. } => {
                cx.embed(|cx| node.on_request(cx, id, req), |c| Some(c.lift()))
            }
            ProxiedNode::Proxy { acks_early } => {
                if *acks_early && matches!(req, Request::Incr { .. }) {
                    // BUG(ProxyAcksEarly): acknowledged before the primary has it, let alone a
                    // majority.
                    cx.reply(id, Response::Incremented);
                }
                cx.send(PRIMARY, Msg::Forward { id, req });
            }
        }
    }

    fn check_invariants(&self) {
        if let ProxiedNode::Server { node, .. } = self {
            node.check_invariants();
        }
    }
}

/// The counter behind one proxy per client.
pub struct Proxied {
    counter: Counter,
    servers: u32,
    acks_early: bool,
}

faultline_sim::bug_zoo! {
    /// The proxy's planted bug.
    pub enum ProxyBug {
        /// The proxy acknowledges an increment before the primary answered.
        ProxyAcksEarly = ("proxy-acks-early", "the proxy acknowledges an increment before the primary answered"),
    }
}

impl System for Proxied {
    type Node = ProxiedNode;
    type Observer = <Counter as System>::Observer;
    type Bug = ProxyBug;
    const NAME: &'static str = "proxied-counter";
    const MODEL: &'static str = "counter";

    fn new(config: &SystemConfig) -> Result<Self, String> {
        let acks_early = config.bug::<Self>()? == Some(ProxyBug::ProxyAcksEarly);
        let counter = Counter::new(&SystemConfig { bug: None, ..config.clone() })?;
        Ok(Proxied { counter, servers: config.nodes, acks_early })
    }

    fn layout(config: &SystemConfig) -> Layout {
        Layout::servers(config.nodes).group(PROXY, config.clients, Role::ClientSide)
    }

    fn build_node(&self, id: NodeId) -> ProxiedNode {
        if id.0 < self.servers {
            ProxiedNode::Server { node: Box::new(self.counter.build_node(id)), servers: self.servers }
        } else {
            ProxiedNode::Proxy { acks_early: self.acks_early }
        }
    }

    fn next_op(&self, client: ClientId, rng: &mut Rng) -> Op<Request> {
        self.counter.next_op(client, rng)
    }

    /// Always the client's own proxy, whatever the hint: the proxy knows the primary.
    fn route(&self, client: ClientId, _request: &Request, _hint: Option<NodeId>, _rng: &mut Rng) -> NodeId {
        NodeId(self.servers + client.0)
    }

    fn interpret(&self, request: &Request, response: &Response) -> Answer {
        self.counter.interpret(request, response)
    }

    fn observe(&self, observer: &mut Self::Observer, id: NodeId, moment: Moment, node: &ProxiedNode) {
        if let ProxiedNode::Server { node, .. } = node {
            self.counter.observe(observer, id, moment, node);
        }
    }

    fn leader(&self, observer: &Self::Observer) -> Option<NodeId> {
        self.counter.leader(observer)
    }

    fn pending(&self, observer: &Self::Observer) -> Option<String> {
        self.counter.pending(observer)
    }

    fn check(&self, history: &History, observer: &Self::Observer) -> Vec<CheckOutcome> {
        self.counter.check(history, observer)
    }

    fn counters(&self, observer: &Self::Observer, counters: &mut Counters) {
        self.counter.counters(observer, counters);
    }
}
