//! Where every node sits: the configuration group, the shard groups and the routers, as
//! consecutive node ids (the layout's groups, in this order).

use crate::msg::GroupId;
use faultline_sim::layout::{Layout, Role};
use faultline_sim::{ClientId, NodeId};

/// The kind names of the layout.
pub const CONFIG: &str = "config";
pub const SHARD: &str = "shard";
pub const ROUTER: &str = "router";

/// Nodes of the configuration group.
pub const CONFIG_NODES: u32 = 3;
/// Shard groups (the ring holds some of them at a time; the others wait to join).
pub const GROUPS: u32 = 3;

/// The node ids of a run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Replicas per shard group.
    pub replicas: u32,
    /// Routers: one per workload client.
    pub routers: u32,
}

impl Topology {
    pub fn new(replicas: u32, routers: u32) -> Topology {
        Topology { replicas, routers }
    }

    /// The configuration group's nodes.
    pub fn config_nodes(&self) -> Vec<NodeId> {
        (0..CONFIG_NODES).map(NodeId).collect()
    }

    /// The nodes of shard group `g`.
    pub fn group_nodes(&self, g: GroupId) -> Vec<NodeId> {
        let first = CONFIG_NODES + g * self.replicas;
        (first..first + self.replicas).map(NodeId).collect()
    }

    /// The router of workload client `client`.
    pub fn router(&self, client: ClientId) -> NodeId {
        NodeId(CONFIG_NODES + GROUPS * self.replicas + client.0)
    }

    /// What node `id` is.
    pub fn place(&self, id: NodeId) -> Place {
        if id.0 < CONFIG_NODES {
            return Place::Config;
        }
        let shard = id.0 - CONFIG_NODES;
        if shard < GROUPS * self.replicas {
            return Place::Shard(shard / self.replicas);
        }
        Place::Router(ClientId(shard - GROUPS * self.replicas))
    }

    /// The layout: the configuration group, each shard group, then the routers.
    pub fn layout(&self) -> Layout {
        let mut layout = Layout::default().group(CONFIG, CONFIG_NODES, Role::Replicated);
        for _ in 0..GROUPS {
            layout = layout.group(SHARD, self.replicas, Role::Replicated);
        }
        layout.group(ROUTER, self.routers, Role::ClientSide)
    }
}

/// A node's place in the topology.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Config,
    Shard(GroupId),
    Router(ClientId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_follow_the_layout() {
        let t = Topology::new(3, 2);
        let layout = t.layout();
        assert_eq!(layout.len(), CONFIG_NODES + GROUPS * 3 + 2);
        assert_eq!(t.group_nodes(1), vec![NodeId(6), NodeId(7), NodeId(8)]);
        assert_eq!(t.place(NodeId(7)), Place::Shard(1));
        assert_eq!(t.router(ClientId(1)), NodeId(13));
        assert_eq!(t.place(NodeId(13)), Place::Router(ClientId(1)));
        assert_eq!(layout.kind_of(NodeId(13)), ROUTER);
        assert_eq!(layout.kind_of(NodeId(2)), CONFIG);
        assert_eq!(layout.kind_of(NodeId(11)), SHARD);
    }
}
