//! `Layout`: a system's nodes as groups of kinds, and which faults may hit each kind.
//!
//! Not every system is "n identical servers and passive clients". Two-phase commit has a
//! coordinator and participants, a sharded store has shard groups and a configuration group,
//! and much of the logic that breaks lives on the client side: a lock client that trusts a lease
//! on its own skewed clock, a transaction manager that must retry after its own crash. Such
//! client-side logic runs as nodes like any other (its own clock, pauses, crashes, disk, messages
//! through the faulty network); the workload's clients, where the history is recorded, call them.
//!
//! A layout lists the nodes as consecutive groups, each with a kind name, a count and a
//! [`Role`]. Node ids are numbered from 0 across the groups in order, so the default layout,
//! one replicated group of `nodes` servers, numbers them exactly as a cluster of servers always
//! was. The fault schedule, the harness, real mode and the timeline all read the layout.
//!
//! **Which faults may hit which node** is plain data, [`FaultPermissions`], one value per group;
//! [`Role::permissions`] gives the default for each role, and a system may tune a group's
//! permissions ([`Layout::tune`]). The rule:
//!
//! | role | crash, pause, partition, clock, full disk | destructive disk faults | real-mode kill |
//! |---|---|---|---|
//! | [`Role::Replicated`] | yes | on a minority of the group | yes |
//! | [`Role::Single`] | yes | no: nothing could repair it | yes |
//! | [`Role::ClientSide`] | yes | no | no |
//!
//! Destructive disk faults are those that destroy synced data: bit flips at rest and on read,
//! latent sector errors, and a wiped disk. A cluster survives them only if every record stays
//! intact on a majority, so they are placed, once per run, on one node of each group of three or
//! more nodes whose permissions allow them (the rule of TigerBeetle's fault atlas; see
//! `disk::place_corruption`). Faults that touch only unsynced data (lost or torn unsynced
//! writes, failed syncs, slow I/O) may hit any node. Links between a workload client and a node
//! are never cut: the history is recorded at the client, and a partition of the recorder would
//! only stop the recording.

use crate::node::NodeId;
use std::fmt;
use std::ops::Range;

/// What a group of nodes is, for the faults that may hit it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A consensus group (Raft servers, Paxos acceptors, a shard's replicas): every fault, and
    /// destructive disk faults on a minority of the group, which the others can repair.
    Replicated,
    /// One durable node (a 2PC coordinator, a fenced resource): crashes, pauses, partitions,
    /// clock faults and a full disk, but no destructive disk faults, since nothing could repair
    /// them.
    Single,
    /// A node that runs client-side logic (a lock client, a transaction manager, a balancing
    /// client): crashes, pauses, partitions, clock faults and a full disk, no destructive disk
    /// faults. Real mode does not pick it as the node it kills.
    ClientSide,
}

impl Role {
    /// The faults this role allows by default: the rule of the module documentation.
    pub const fn permissions(self) -> FaultPermissions {
        let all = FaultPermissions::ALL;
        match self {
            Role::Replicated => all,
            Role::Single => FaultPermissions { destructive_disk: false, ..all },
            Role::ClientSide => FaultPermissions { destructive_disk: false, real_kill: false, ..all },
        }
    }

    /// The role's name in printed layouts.
    pub fn name(self) -> &'static str {
        match self {
            Role::Replicated => "replicated",
            Role::Single => "single",
            Role::ClientSide => "client-side",
        }
    }
}

/// Which faults may hit the nodes of a group. Plain data: a system may tune it per group.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FaultPermissions {
    /// Crashes of every sort: plain crashes, restart storms, power cuts in the middle of a step,
    /// crashes aimed at the leader, and crash points (`cx.crash_point()`).
    pub crash: bool,
    /// Pauses (a long GC pause).
    pub pause: bool,
    /// Its links to other nodes may be cut (partitions, swizzle clogs).
    pub partition: bool,
    /// Its clock may have an offset, a drift, steps and wobbles; otherwise it reads simulated
    /// time exactly.
    pub clock: bool,
    /// Its disk may fill up for a while.
    pub disk_full: bool,
    /// Faults that destroy synced data (bit flips at rest and on read, latent sector errors, a
    /// wiped disk), on one node of the group when the group has three nodes or more.
    pub destructive_disk: bool,
    /// Real mode may pick it as the node it kills and restarts mid-run.
    pub real_kill: bool,
}

impl FaultPermissions {
    /// Every fault.
    pub const ALL: FaultPermissions = FaultPermissions {
        crash: true,
        pause: true,
        partition: true,
        clock: true,
        disk_full: true,
        destructive_disk: true,
        real_kill: true,
    };
    /// No fault at all: the node only ever suffers the per-message network faults of its links
    /// and the disk faults that touch unsynced data.
    pub const NONE: FaultPermissions = FaultPermissions {
        crash: false,
        pause: false,
        partition: false,
        clock: false,
        disk_full: false,
        destructive_disk: false,
        real_kill: false,
    };
}

/// Consecutive nodes of one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The kind's name (`server`, `participant`, `lock-client`...): printed in schedules,
    /// timelines and logs. Several groups may share a kind (shard groups).
    pub kind: &'static str,
    /// The group's role, which set its default fault permissions.
    pub role: Role,
    /// The faults that may hit its nodes.
    pub faults: FaultPermissions,
    ids: Range<u32>,
}

impl Group {
    /// Its nodes, in order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.ids.clone().map(NodeId)
    }

    /// Nodes in the group.
    pub fn len(&self) -> u32 {
        self.ids.end - self.ids.start
    }

    /// Whether the group has no nodes.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The group's first node.
    pub fn first(&self) -> NodeId {
        NodeId(self.ids.start)
    }

    /// Whether node `id` belongs to the group.
    pub fn contains(&self, id: NodeId) -> bool {
        self.ids.contains(&id.0)
    }
}

/// A system's nodes: consecutive groups of kinds. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Layout {
    groups: Vec<Group>,
}

/// How a system lays out its nodes for a configuration: `System::layout`, passed around where
/// no system type is at hand (the command line's registry, run specs, shrinking).
pub type LayoutOf = fn(&crate::system::SystemConfig) -> Layout;

/// The most nodes a layout may have: each is a simulated machine with its own inbox and disk.
pub const NODES_MAX: u32 = 1024;

impl Layout {
    /// The default: one replicated group of `count` servers (kind `server`).
    pub fn servers(count: u32) -> Layout {
        Layout::default().group("server", count, Role::Replicated)
    }

    /// Appends a group of `count` nodes of `kind`, with the role's default permissions.
    pub fn group(mut self, kind: &'static str, count: u32, role: Role) -> Layout {
        let start = self.len();
        let ids = start..start.saturating_add(count);
        self.groups.push(Group { kind, role, faults: role.permissions(), ids });
        self
    }

    /// Adjusts the permissions of every group of `kind` (for example, no clock faults on a
    /// fenced resource whose checker reads its clock).
    pub fn tune(mut self, kind: &str, edit: impl Fn(&mut FaultPermissions)) -> Layout {
        for g in self.groups.iter_mut().filter(|g| g.kind == kind) {
            edit(&mut g.faults);
        }
        self
    }

    /// The groups, in node order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Nodes in all.
    pub fn len(&self) -> u32 {
        self.groups.last().map_or(0, |g| g.ids.end)
    }

    /// Whether the layout has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every node, in order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> {
        (0..self.len()).map(NodeId)
    }

    /// The group node `id` belongs to; `None` past the last node.
    pub fn group_of(&self, id: NodeId) -> Option<&Group> {
        self.groups.iter().find(|g| g.contains(id))
    }

    /// The kind of node `id` (`"?"` past the last node).
    pub fn kind_of(&self, id: NodeId) -> &'static str {
        self.group_of(id).map_or("?", |g| g.kind)
    }

    /// The nodes of every group of `kind`, in order.
    pub fn nodes_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = NodeId> + 'a {
        self.groups.iter().filter(move |g| g.kind == kind).flat_map(Group::nodes)
    }

    /// The `index`-th node of `kind` (counting across its groups), if there is one: the
    /// lock-client of workload client 2 is `layout.node("lock-client", 2)`.
    pub fn node(&self, kind: &str, index: u32) -> Option<NodeId> {
        self.nodes_of(kind).nth(index as usize)
    }

    /// The faults that may hit node `id` (none past the last node).
    pub fn permissions(&self, id: NodeId) -> FaultPermissions {
        self.group_of(id).map_or(FaultPermissions::NONE, |g| g.faults)
    }

    /// The nodes whose permissions pass `allowed`, in order: the candidates the schedule draws
    /// a fault's target from.
    pub fn eligible(&self, allowed: impl Fn(&FaultPermissions) -> bool) -> Vec<NodeId> {
        let groups = self.groups.iter().filter(|g| allowed(&g.faults));
        groups.flat_map(Group::nodes).collect()
    }

    /// Whether there are several kinds: labels then name each node's kind.
    pub fn has_kinds(&self) -> bool {
        self.groups.iter().any(|g| g.kind != self.groups[0].kind)
    }

    /// `n3`, or `n3 (proxy)` when the layout has several kinds.
    pub fn label(&self, id: NodeId) -> String {
        if self.has_kinds() {
            format!("{id} ({})", self.kind_of(id))
        } else {
            id.to_string()
        }
    }

    /// Checks the layout: at least one node, no empty group, no empty kind name, at most
    /// [`NODES_MAX`] nodes.
    pub fn validate(&self) -> Result<(), String> {
        if self.is_empty() {
            return Err("the layout has no nodes".into());
        }
        if let Some(g) = self.groups.iter().find(|g| g.is_empty() || g.kind.is_empty()) {
            return Err(format!("the layout has an empty group (kind `{}`)", g.kind));
        }
        let total: u64 = self.groups.iter().map(|g| u64::from(g.len())).sum();
        if total > u64::from(NODES_MAX) {
            return Err(format!("the layout has {total} nodes, more than {NODES_MAX}"));
        }
        Ok(())
    }
}

impl fmt::Display for Layout {
    /// `3 server (replicated), 2 proxy (client-side)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.groups.iter().map(|g| format!("{} {} ({})", g.len(), g.kind, g.role.name())).collect();
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxied() -> Layout {
        Layout::servers(3).group("proxy", 2, Role::ClientSide)
    }

    #[test]
    fn groups_are_numbered_consecutively() {
        let l = proxied();
        assert_eq!(l.len(), 5);
        assert_eq!(l.kind_of(NodeId(2)), "server");
        assert_eq!(l.kind_of(NodeId(3)), "proxy");
        assert_eq!(l.kind_of(NodeId(5)), "?");
        assert_eq!(l.node("proxy", 1), Some(NodeId(4)));
        assert_eq!(l.node("proxy", 2), None);
        assert_eq!(l.nodes_of("server").collect::<Vec<_>>(), [NodeId(0), NodeId(1), NodeId(2)]);
        assert_eq!(l.to_string(), "3 server (replicated), 2 proxy (client-side)");
        assert_eq!(
            (l.label(NodeId(4)), Layout::servers(3).label(NodeId(1))),
            ("n4 (proxy)".into(), "n1".into())
        );
    }

    #[test]
    fn roles_give_the_documented_permissions_and_systems_can_tune_them() {
        let l = proxied().group("coordinator", 1, Role::Single);
        assert!(l.permissions(NodeId(0)).destructive_disk);
        assert!(!l.permissions(NodeId(3)).destructive_disk && l.permissions(NodeId(3)).crash);
        assert!(!l.permissions(NodeId(3)).real_kill && l.permissions(NodeId(5)).real_kill);
        assert!(!l.permissions(NodeId(5)).destructive_disk && l.permissions(NodeId(5)).clock);
        assert_eq!(l.permissions(NodeId(9)), FaultPermissions::NONE);
        assert_eq!(l.eligible(|p| p.destructive_disk), [NodeId(0), NodeId(1), NodeId(2)]);
        let tuned = l.tune("proxy", |p| p.clock = false);
        assert_eq!(tuned.eligible(|p| !p.clock), [NodeId(3), NodeId(4)]);
    }

    #[test]
    fn bad_layouts_are_refused() {
        assert!(Layout::default().validate().is_err());
        assert!(Layout::servers(3).group("proxy", 0, Role::ClientSide).validate().is_err());
        assert!(Layout::servers(NODES_MAX + 1).validate().is_err());
        assert!(proxied().validate().is_ok());
    }
}
