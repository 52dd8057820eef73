//! `ShardedNode`: the system's one `Node` type, an enum over its three kinds, and the mapping of
//! an embedded Raft node's commands onto it.

use crate::config_node::ConfigNode;
use crate::msg::{Msg, Request, Response, Timer};
use crate::router::Router;
use crate::shard::ShardNode;
use faultline_raft::{Raft, StateMachine};
use faultline_sim::{Command, Context, Node, NodeId, RequestId};

/// One node of any kind.
pub enum ShardedNode {
    Config(Box<ConfigNode>),
    Shard(Box<ShardNode>),
    Router(Box<Router>),
}

/// A handler's context, for every kind.
pub type Cx<'a> = Context<'a, ShardedNode>;

/// A command of an embedded Raft node as this system's: messages and timers are wrapped, and a
/// reply (which Raft addresses to a client) goes where `reply` says.
pub(crate) fn from_raft<M: StateMachine>(
    command: Command<Raft<M>>,
    reply: impl FnOnce(RequestId, M::Response) -> Option<Command<ShardedNode>>,
) -> Option<Command<ShardedNode>>
where
    Msg: From<faultline_raft::Msg<M>>,
{
    Some(match command {
        Command::Send { to, msg } => Command::Send { to, msg: msg.into() },
        Command::Reply { to, resp } => return reply(to, resp),
        Command::SetTimer { timer, after } => Command::SetTimer { timer: timer.into(), after },
        Command::CancelTimer { timer } => Command::CancelTimer { timer: timer.into() },
        Command::Halt { reason } => Command::Halt { reason },
        Command::Reboot => Command::Reboot,
        Command::Isolate => Command::Isolate,
    })
}

impl Node for ShardedNode {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Response = Response;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        match self {
            ShardedNode::Config(n) => n.on_start(cx),
            ShardedNode::Shard(n) => n.on_start(cx),
            ShardedNode::Router(n) => n.on_start(cx),
        }
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        match self {
            ShardedNode::Config(n) => n.on_message(cx, from, msg),
            ShardedNode::Shard(n) => n.on_message(cx, from, msg),
            ShardedNode::Router(n) => n.on_message(cx, from, msg),
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        match self {
            ShardedNode::Config(n) => n.on_timer(cx, timer),
            ShardedNode::Shard(n) => n.on_timer(cx, timer),
            ShardedNode::Router(n) => n.on_timer(cx, timer),
        }
    }

    /// Workload clients talk to their routers only; a request that reaches another kind (a
    /// harness bug) is dropped and the client retries.
    fn on_request(&mut self, cx: &mut Cx<'_>, id: RequestId, req: Request) {
        if let ShardedNode::Router(n) = self {
            n.on_request(cx, id, req);
        }
    }

    fn check_invariants(&self) {
        match self {
            ShardedNode::Config(n) => n.raft().check_invariants(),
            ShardedNode::Shard(n) => n.raft().check_invariants(),
            ShardedNode::Router(_) => {}
        }
    }
}
