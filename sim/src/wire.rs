//! What shells and clients send each other, inside codec frames.

use crate::node::{Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// A frame's contents. Generic over the protocol's message, request and response types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Wire<M, Q, R> {
    /// Node to node.
    Peer { from: NodeId, msg: M },
    /// Client to node.
    Request { id: RequestId, req: Q },
    /// Node to client.
    Response { id: RequestId, resp: R },
}

/// The wire type of protocol `N`.
pub type WireOf<N> = Wire<<N as Node>::Msg, <N as Node>::Request, <N as Node>::Response>;
