//! What shells and clients send each other, inside codec frames.

use crate::node::{Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// A frame's contents. Generic over the protocol's message, request and response types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Wire<M, Q, R> {
    /// Node to node.
    Peer {
        /// The sending node (checked against the connection or datagram it came on).
        from: NodeId,
        /// The protocol message.
        msg: M,
    },
    /// Client to node.
    Request {
        /// The request's id: the client's, and the same on every retry.
        id: RequestId,
        /// What the client asks.
        req: Q,
    },
    /// Node to client.
    Response {
        /// The request answered.
        id: RequestId,
        /// The node's answer.
        resp: R,
    },
}

/// The wire type of protocol `N`.
pub type WireOf<N> = Wire<<N as Node>::Msg, <N as Node>::Request, <N as Node>::Response>;
