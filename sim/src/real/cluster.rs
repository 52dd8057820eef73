//! The real-mode cluster command: start the node processes, drive the workload over TCP, kill
//! and restart one node in the middle, check the history, stop the cluster.
//!
//! Every node of the system's layout is a process, client-side nodes included; the node killed
//! is drawn from the kinds whose permissions allow it (`FaultPermissions::real_kill`: servers,
//! not client-side nodes, unless the system says otherwise).

use super::client::{now, RealClient, Recorder};
use super::conn::node_addr;
use crate::layout::Layout;
use crate::node::{ClientId, NodeId};
use crate::rng;
use crate::system::{CheckOutcome, System, SystemConfig};
use faultline_checkers::{EventKind, History, Verdict};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the cluster command was asked to do.
#[derive(Clone, Debug)]
pub struct ClusterArgs {
    /// The system to run, by its command-line name.
    pub system: String,
    /// The `faultline` executable to start nodes with (this one).
    pub exe: PathBuf,
    /// Servers; the system's layout may add nodes of other kinds (one per client, say).
    pub nodes: u32,
    /// Workload clients, each on its own TCP connections to the nodes.
    pub clients: u32,
    /// Operations in all, shared among the clients; the victim is killed after half of them.
    pub ops: u32,
    /// Node `id` listens on `127.0.0.1:base_port + id`.
    pub base_port: u16,
    /// Where the nodes keep their data; a fresh temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// The seed: which node is killed, the clients' draws and each node's RNG come from it.
    pub seed: u64,
    /// The planted bug to enable on every node, by name; `None` runs the correct system.
    pub bug: Option<String>,
}

/// What happened.
pub struct ClusterReport {
    /// The clients' operations, stamped with real time since the workload started.
    pub history: History,
    /// Every check's verdict on the history.
    pub checks: Vec<CheckOutcome>,
    /// The node killed and restarted in the middle of the workload.
    pub victim: u32,
    /// Completions in the history: `[ok, fail, info]`.
    pub counts: [usize; 3],
}

impl ClusterReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict.is_ok())
    }
}

/// The node processes; killed when dropped, so no error path leaves them running.
struct Cluster<'a> {
    args: &'a ClusterArgs,
    /// Nodes of the layout: processes `0..size`.
    size: u32,
    dir: PathBuf,
    children: Vec<Option<Child>>,
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i as u32);
        }
    }
}

impl Cluster<'_> {
    /// Starts node `id`: for the first time (`bootstrap`), or again after it was killed.
    fn spawn(&mut self, id: u32, bootstrap: bool) -> Result<(), String> {
        let data = self.dir.join(format!("n{id}"));
        let log = std::fs::File::create(self.dir.join(format!("n{id}.log"))).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&self.args.exe);
        cmd.args([
            "real-node",
            &self.args.system,
            "--id",
            &id.to_string(),
            "--nodes",
            &self.args.nodes.to_string(),
            "--clients",
            &self.args.clients.to_string(),
        ])
        .args(["--port", &self.args.base_port.to_string(), "--seed", &self.args.seed.to_string()])
        .arg("--dir")
        .arg(&data)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .stdin(Stdio::null());
        if let Some(bug) = &self.args.bug {
            cmd.args(["--bug", bug]);
        }
        if bootstrap {
            cmd.arg("--bootstrap");
        }
        let child = cmd.spawn().map_err(|e| format!("cannot start node {id}: {e}"))?;
        self.children[id as usize] = Some(child);
        Ok(())
    }

    fn kill(&mut self, id: u32) {
        if let Some(mut child) = self.children[id as usize].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until every node accepts connections.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = now() + Duration::from_secs(20);
        for id in 0..self.size {
            let addr = node_addr(self.args.base_port, id);
            while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                if let Some(Some(status)) =
                    self.children[id as usize].as_mut().map(|c| c.try_wait().ok().flatten())
                {
                    return Err(format!(
                        "node {id} exited at start ({status}); see {}",
                        self.dir.join(format!("n{id}.log")).display()
                    ));
                }
                if now() > deadline {
                    return Err(format!("node {id} is not listening on {addr} after 20 s"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }
}

/// Runs the whole real-mode scenario for system `S`.
pub fn run_cluster<S: System>(args: &ClusterArgs) -> Result<ClusterReport, String> {
    if args.nodes == 0 || args.clients == 0 || args.ops == 0 {
        return Err("--nodes, --clients and --ops must be positive".into());
    }
    let config =
        SystemConfig { clients: args.clients, bug: args.bug.clone(), ..SystemConfig::new(args.nodes) };
    let system = Arc::new(S::new(&config)?);
    let layout = S::layout(&config);
    layout.validate()?;
    if u32::from(args.base_port) + layout.len() > u32::from(u16::MAX) {
        return Err(format!("--port {} leaves no room for {} nodes", args.base_port, layout.len()));
    }
    let victim = victim(&layout, args.seed)?;
    let (dir, temporary) = data_dir(args)?;
    let children = (0..layout.len()).map(|_| None).collect();
    let mut cluster = Cluster { args, size: layout.len(), dir: dir.clone(), children };
    for id in 0..layout.len() {
        cluster.spawn(id, true)?;
    }
    cluster.wait_ready()?;
    println!(
        "started {} nodes ({layout}) on {} .. {} (data and logs in {})",
        layout.len(),
        node_addr(args.base_port, 0),
        node_addr(args.base_port, layout.len() - 1),
        dir.display()
    );
    let recorder = Arc::new(Recorder { history: Mutex::new(History::new()), start: now() });
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let cluster = Mutex::new(cluster);
    runtime.block_on(workload(args, &system, &recorder, &cluster, victim))?;
    drop(cluster);
    let history = std::mem::take(&mut *recorder.history.lock().unwrap_or_else(|e| e.into_inner()));
    let mut checks = system.check(&history, &S::Observer::default());
    checks.push(served_after_restart(&history));
    if temporary && checks.iter().all(|c| c.verdict.is_ok()) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let counts = count_outcomes(&history);
    Ok(ClusterReport { history, checks, victim, counts })
}

/// The node to kill and restart: one of the nodes whose kind allows it, drawn from the seed.
fn victim(layout: &Layout, seed: u64) -> Result<u32, String> {
    let candidates: Vec<NodeId> = layout.eligible(|p| p.real_kill);
    if candidates.is_empty() {
        return Err(format!("no node of the layout ({layout}) may be killed"));
    }
    Ok(candidates[(seed % candidates.len() as u64) as usize].0)
}

fn data_dir(args: &ClusterArgs) -> Result<(PathBuf, bool), String> {
    let (dir, temporary) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("faultline-real-{}", std::process::id())), true),
    };
    if dir.exists() && std::fs::read_dir(&dir).map_err(|e| e.to_string())?.next().is_some() {
        return Err(format!("{} is not empty: give an empty or new directory", dir.display()));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok((dir, temporary))
}

/// The clients' operations, with the victim killed halfway and restarted a second later.
async fn workload<S: System>(
    args: &ClusterArgs,
    system: &Arc<S>,
    recorder: &Arc<Recorder>,
    cluster: &Mutex<Cluster<'_>>,
    victim: u32,
) -> Result<(), String> {
    let done = AtomicU32::new(0);
    let per_client = args.ops.div_ceil(args.clients);
    let clients = (0..args.clients).map(|c| {
        let rng = rng::derive(args.seed, "real-client", u64::from(c));
        let mut client =
            RealClient::new(ClientId(c), args.clients, system.clone(), args.base_port, rng, recorder.clone());
        let done = &done;
        async move {
            for _ in 0..per_client.min(args.ops.saturating_sub(c * per_client)) {
                client.perform().await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let killer = async {
        while done.load(Ordering::Relaxed) < args.ops / 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        println!("killing n{victim} after {} operations", done.load(Ordering::Relaxed));
        cluster.lock().unwrap_or_else(|e| e.into_inner()).kill(victim);
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("restarting n{victim}");
        cluster.lock().unwrap_or_else(|e| e.into_inner()).spawn(victim, false)
    };
    let (_, restarted) = tokio::join!(futures::future::join_all(clients), killer);
    restarted
}

/// The cluster must keep serving: some operation completed `ok` in the second half.
fn served_after_restart(history: &History) -> CheckOutcome {
    let oks: Vec<u64> = history.events.iter().filter(|e| e.kind == EventKind::Ok).map(|e| e.time).collect();
    let last = history.events.last().map_or(0, |e| e.time);
    let verdict = if oks.iter().any(|t| *t > last / 2) {
        Verdict::Ok
    } else {
        Verdict::Violation("no operation succeeded in the second half of the run".into())
    };
    CheckOutcome::new("served-after-restart", verdict)
}

fn count_outcomes(history: &History) -> [usize; 3] {
    let count = |k: EventKind| history.events.iter().filter(|e| e.kind == k).count();
    [count(EventKind::Ok), count(EventKind::Fail), count(EventKind::Info)]
}
