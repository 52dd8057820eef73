//! One `Node` type for both kinds: an enum whose handlers embed the kind's own.

use crate::coordinator::Coordinator;
use crate::msg::{Msg, Request, Response, Timer};
use crate::participant::Participant;
use faultline_sim::{Context, Node, NodeId, RequestId};

/// A node of the two-phase commit system.
pub enum TwoPcNode {
    Coordinator(Box<Coordinator>),
    Participant(Box<Participant>),
}

type Cx<'a> = Context<'a, TwoPcNode>;

impl Node for TwoPcNode {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Response = Response;

    fn on_start(&mut self, cx: &mut Cx<'_>) {
        match self {
            TwoPcNode::Coordinator(c) => cx.embed(|cx| c.on_start(cx), |cmd| Some(cmd.lift())),
            TwoPcNode::Participant(p) => cx.embed(|cx| p.on_start(cx), |cmd| Some(cmd.lift())),
        }
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        match self {
            TwoPcNode::Coordinator(c) => cx.embed(|cx| c.on_message(cx, from, msg), |cmd| Some(cmd.lift())),
            TwoPcNode::Participant(p) => cx.embed(|cx| p.on_message(cx, from, msg), |cmd| Some(cmd.lift())),
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        match self {
            TwoPcNode::Coordinator(c) => cx.embed(|cx| c.on_timer(cx, timer), |cmd| Some(cmd.lift())),
            TwoPcNode::Participant(p) => cx.embed(|cx| p.on_timer(cx, timer), |cmd| Some(cmd.lift())),
        }
    }

    fn on_request(&mut self, cx: &mut Cx<'_>, id: RequestId, req: Request) {
        match self {
            TwoPcNode::Coordinator(c) => cx.embed(|cx| c.on_request(cx, id, req), |cmd| Some(cmd.lift())),
            TwoPcNode::Participant(p) => cx.embed(|cx| p.on_request(cx, id, req), |cmd| Some(cmd.lift())),
        }
    }

    fn check_invariants(&self) {
        match self {
            TwoPcNode::Coordinator(c) => c.check_invariants(),
            TwoPcNode::Participant(p) => p.check_invariants(),
        }
    }
}

impl TwoPcNode {
    /// The coordinator, if this node is it.
    pub fn coordinator(&self) -> Option<&Coordinator> {
        match self {
            TwoPcNode::Coordinator(c) => Some(c),
            TwoPcNode::Participant(_) => None,
        }
    }

    /// The participant, if this node is one.
    pub fn participant(&self) -> Option<&Participant> {
        match self {
            TwoPcNode::Participant(p) => Some(p),
            TwoPcNode::Coordinator(_) => None,
        }
    }
}
