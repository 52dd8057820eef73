//! A node of the configuration service: a Raft replica of the ring's history, which also hands
//! out configurations it has applied to whoever asks (routers and shard leaders).

use crate::config::ConfigMachine;
use crate::msg::{Msg, RingConfig, Timer};
use crate::node::{from_raft, Cx};
use crate::topology::Topology;
use faultline_raft::{Raft, RaftConfig};
use faultline_sim::{Command, Context, Node, NodeId};

/// One configuration replica.
pub struct ConfigNode {
    raft: Raft<ConfigMachine>,
    topology: Topology,
}

impl ConfigNode {
    pub fn new(topology: Topology) -> ConfigNode {
        let config = RaftConfig { members: topology.config_nodes(), ..RaftConfig::default() };
        ConfigNode { raft: Raft::new(config).expect("the configuration group is valid"), topology }
    }

    pub fn raft(&self) -> &Raft<ConfigMachine> {
        &self.raft
    }

    fn embed(
        &mut self,
        cx: &mut Cx<'_>,
        step: impl FnOnce(&mut Raft<ConfigMachine>, &mut Context<'_, Raft<ConfigMachine>>),
    ) {
        let (raft, topology) = (&mut self.raft, self.topology);
        cx.embed(
            |cx| step(raft, cx),
            |c| {
                from_raft(c, |id, resp| {
                    let to = topology.router(id.client);
                    Some(Command::Send { to, msg: Msg::ConfigAnswer { id, resp } })
                })
            },
        );
    }

    pub fn on_start(&mut self, cx: &mut Cx<'_>) {
        self.embed(cx, |raft, cx| raft.on_start(cx));
    }

    pub fn on_message(&mut self, cx: &mut Cx<'_>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Config(m) => self.embed(cx, |raft, cx| raft.on_message(cx, from, m)),
            Msg::ConfigRequest { id, req } => self.embed(cx, |raft, cx| raft.on_request(cx, id, req)),
            Msg::FetchConfig { epoch } => {
                if let Some(config) = self.lookup(epoch) {
                    cx.send(from, Msg::ConfigIs { config });
                }
            }
            // Messages for other kinds: a protocol bug, which the checks would show.
            _ => {}
        }
    }

    /// Configuration `epoch` (the latest when `None`) if this replica has applied it.
    fn lookup(&self, epoch: Option<u64>) -> Option<RingConfig> {
        let machine = self.raft.kv();
        match epoch {
            Some(e) => machine.get(e).cloned(),
            None => Some(machine.latest().clone()),
        }
    }

    pub fn on_timer(&mut self, cx: &mut Cx<'_>, timer: Timer) {
        if let Timer::Raft(t) = timer {
            self.embed(cx, |raft, cx| raft.on_timer(cx, t));
        }
    }
}
