//! One node process: the shared shell core on tokio, TCP on 127.0.0.1, a `RealDisk`.
//!
//! Every connection opens with a hello frame naming the speaker. Frames from a peer must carry
//! that peer's id and requests from a client that client's id; anything else, or a frame that
//! fails its checksum, closes the connection. Replies go back on the connection the client
//! opened; messages to peers go through writer tasks that reconnect when a peer restarts.

use super::conn::{node_addr, peer_writer, read_frame, writer};
use crate::codec;
use crate::disk::RealDisk;
use crate::net::Addr;
use crate::node::{ClientId, NoBuggify, NodeId, Time};
use crate::rng;
use crate::shell::{Core, Input};
use crate::system::{System, SystemConfig};
use crate::wire::{Wire, WireOf};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedSender};

/// How a node process is started.
#[derive(Clone, Debug)]
pub struct NodeArgs {
    /// This node's id in the system's layout; it listens on `base_port + id`.
    pub id: u32,
    /// The system's configuration: its servers and workload clients, which size its layout.
    pub nodes: u32,
    /// Workload clients of the configuration.
    pub clients: u32,
    /// Node `id` listens on `127.0.0.1:base_port + id`, and finds its peers the same way.
    pub base_port: u16,
    /// The node's data directory: its disk, kept across restarts.
    pub dir: PathBuf,
    /// The run's seed: the node's RNG is derived from it and the node's id.
    pub seed: u64,
    /// The planted bug to enable, by name; `None` runs the correct system.
    pub bug: Option<String>,
    /// The node's first start (the cluster launcher's first spawn of it), not a restart: an
    /// empty data directory is then a new node rather than a lost disk (`Context::first_boot`).
    pub bootstrap: bool,
}

/// What reaches the node's main loop.
enum Event<S: System> {
    Frame(WireOf<S::Node>),
    ClientConnected(ClientId, UnboundedSender<Vec<u8>>),
}

/// Runs node `args.id` of system `S` until the process is killed. Returns only on a setup
/// error, a halt or a panic, with the reason.
pub fn run_node<S: System>(args: &NodeArgs) -> Result<(), String> {
    let config =
        SystemConfig { clients: args.clients, bug: args.bug.clone(), ..SystemConfig::new(args.nodes) };
    let system = S::new(&config)?;
    let layout = S::layout(&config);
    layout.validate()?;
    if args.id >= layout.len() {
        return Err(format!("--id {} is not a node of the layout ({layout})", args.id));
    }
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(serve(system, args, layout.len()))
}

/// Runs the node; `nodes` is the layout's size (every node of every kind is a peer).
async fn serve<S: System>(system: S, args: &NodeArgs, nodes: u32) -> Result<(), String> {
    let me = NodeId(args.id);
    let listener = TcpListener::bind(node_addr(args.base_port, args.id))
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", node_addr(args.base_port, args.id)))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Event<S>>();
    tokio::spawn(accept_loop::<S>(listener, tx));
    let mut disk = RealDisk::open(&args.dir).map_err(|e| e.to_string())?;
    let rng = rng::derive(args.seed, "node", u64::from(args.id));
    let mut core = Core::new(me, system.build_node(me), rng).first_boot(args.bootstrap);
    let peers: BTreeMap<NodeId, UnboundedSender<Vec<u8>>> = (0..nodes)
        .filter(|p| *p != args.id)
        .map(|p| (NodeId(p), peer_writer(node_addr(args.base_port, p), Addr::Server(me))))
        .collect();
    let mut clients: BTreeMap<ClientId, UnboundedSender<Vec<u8>>> = BTreeMap::new();
    #[allow(clippy::disallowed_methods)] // real mode runs on the real clock
    let start = Instant::now();
    let mut input = Some(Input::Start);
    loop {
        if let Some(input) = input.take() {
            let commands = core
                .step(input, local_time(start), &mut disk, &mut NoBuggify)
                .map_err(|p| format!("panic: {p}"))?;
            // `out.reboot` is never set: crash points are buggify sites, which never fire here.
            let out = core.apply(commands, now(), |d| d);
            send(&out.frames, &peers, &clients);
            if let Some(reason) = out.halt {
                return Err(format!("halted: {reason}"));
            }
        }
        let deadline = core.next_deadline().unwrap_or_else(|| now() + Duration::from_secs(3600));
        tokio::select! {
            event = rx.recv() => match event {
                Some(Event::ClientConnected(c, w)) => { clients.insert(c, w); }
                Some(Event::Frame(wire)) => input = to_input::<S>(wire),
                None => return Err("listener stopped".into()),
            },
            _ = tokio::time::sleep_until(deadline.into()) => input = core.due_timer(now()).map(Input::Timer),
        }
    }
}

#[allow(clippy::disallowed_methods)] // real mode runs on the real clock
fn now() -> Instant {
    Instant::now()
}

/// The node's clock: monotonic real time since the process started, past the epoch.
fn local_time(start: Instant) -> Time {
    Time(Time::EPOCH_NANOS + start.elapsed().as_nanos() as u64)
}

fn to_input<S: System>(wire: WireOf<S::Node>) -> Option<Input<S::Node>> {
    match wire {
        Wire::Peer { from, msg } => Some(Input::Message(from, msg)),
        Wire::Request { id, req } => Some(Input::Request(id, req)),
        Wire::Response { .. } => None,
    }
}

fn send<W: serde::Serialize>(
    frames: &[(Addr, W)],
    peers: &BTreeMap<NodeId, UnboundedSender<Vec<u8>>>,
    clients: &BTreeMap<ClientId, UnboundedSender<Vec<u8>>>,
) {
    for (to, wire) in frames {
        let writer = match to {
            Addr::Server(p) => peers.get(p),
            Addr::Client(c) => clients.get(c),
        };
        if let Some(w) = writer {
            let _ = w.send(codec::encode(wire));
        }
    }
}

async fn accept_loop<S: System>(listener: TcpListener, tx: UnboundedSender<Event<S>>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(read_connection::<S>(stream, tx.clone()));
    }
}

/// Reads one connection: the hello, then frames, until it closes or misbehaves.
async fn read_connection<S: System>(stream: TcpStream, tx: UnboundedSender<Event<S>>) {
    let _ = stream.set_nodelay(true);
    let (mut r, w) = stream.into_split();
    let Ok(speaker) = read_frame::<Addr>(&mut r).await else { return };
    if let Addr::Client(c) = speaker {
        if tx.send(Event::ClientConnected(c, writer(w))).is_err() {
            return;
        }
    }
    while let Ok(wire) = read_frame::<WireOf<S::Node>>(&mut r).await {
        let honest = match (&wire, speaker) {
            (Wire::Peer { from, .. }, Addr::Server(s)) => *from == s,
            (Wire::Request { id, .. }, Addr::Client(c)) => id.client == c,
            _ => false,
        };
        if !honest || tx.send(Event::Frame(wire)).is_err() {
            return;
        }
    }
}
