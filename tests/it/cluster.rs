//! Three svcfs nodes and a three-member etcd with TLS and authentication
//! on 127.0.0.1 (docs/cluster.md): placement on start, peers' states,
//! `switch`, a node killed with its resources, its return, etcd quorum
//! lost and back. Each node has its own --nodename, mountpoint, var dir
//! and config dir, and a host of its own (a mount namespace, see
//! cluster_etcd.rs) where the service file's directory holds its own ext4
//! image; the service file is the same on every node, as on real hosts.
//! The service is one `fs#1`, so "the service runs on node X" is "X's
//! image is mounted in X's namespace", and a sampler reading every node's
//! mount table every 20 ms checks that no two nodes run it at once during
//! each fault.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::cluster_etcd::{
    mount_ns, mount_on_own_host, mounted_in, namespaces_with, node_dir, Etcd, Security,
};
use crate::harness::{in_path, require, run, wait_until, write_ctl, Daemon, Sandbox};

const NODES: [&str; 3] = ["a", "b", "c"];

fn prerequisites() -> bool {
    let mut missing: Vec<String> = Vec::new();
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".into());
    }
    if !Path::new("/dev/fuse").exists() {
        missing.push("/dev/fuse".into());
    }
    for tool in [
        "etcd",
        "etcdctl",
        "openssl",
        "unshare",
        "mkfs.ext4",
        "losetup",
        "mount",
        "curl",
    ] {
        if !in_path(tool) {
            missing.push(format!("{tool} in PATH (etcd: package etcd-server)"));
        }
    }
    require(&missing)
}

/// One node: its sandbox, its own directory (image, data) and daemon.
struct Node {
    name: &'static str,
    sandbox: Sandbox,
    /// Its mount namespace, while its daemon or its watchdog lives.
    ns: Option<String>,
    daemon: Option<Daemon>,
}

/// What every node's service file names: on each node, its own directory.
fn shared_dir() -> PathBuf {
    node_dir("cluster")
}

/// The service file, the same on every node.
fn service_file() -> String {
    let dir = shared_dir();
    format!(
        "[DEFAULT]\nnodes = a b c\nautostart_node = a\n\n[fs#1]\ndev = {}\nmnt = {}\ntype = ext4\n",
        dir.join("disk.img").display(),
        dir.join("data").display()
    )
}

impl Node {
    fn new(name: &'static str) -> Node {
        let sandbox = Sandbox::new(&format!("cluster-{name}"), &[]);
        let own = sandbox.root.join("own");
        std::fs::create_dir_all(own.join("data")).unwrap();
        let image = own.join("disk.img");
        run("truncate", &["-s", "16M", &image.to_string_lossy()]).unwrap();
        run("mkfs.ext4", &["-q", "-F", &image.to_string_lossy()]).unwrap();
        sandbox.service_file("app.conf", &service_file());
        Node {
            name,
            sandbox,
            ns: None,
            daemon: None,
        }
    }

    fn mount(&mut self, etcd: &Etcd) {
        let daemon = mount_on_own_host(&self.sandbox, self.name, &shared_dir(), etcd);
        self.ns = mount_ns(daemon.pid());
        self.daemon = Some(daemon);
    }

    fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("the node's daemon runs")
    }

    fn runs(&self) -> bool {
        self.ns
            .as_deref()
            .is_some_and(|ns| mounted_in(ns, &shared_dir().join("data")))
    }

    /// The node dies with what it ran: its daemon and watchdog SIGKILLed,
    /// its namespace (its host) gone with its filesystem.
    fn kill(&mut self) {
        let mut daemon = self.daemon.take().expect("the node's daemon runs");
        daemon.kill_node();
        let _ = run("umount", &["-l", &self.sandbox.mnt().to_string_lossy()]);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SIGTERM: the node leaves, stopping what it runs.
        self.daemon.take();
        let _ = run("umount", &["-l", &self.sandbox.mnt().to_string_lossy()]);
    }
}

/// Samples how many nodes run the service, every 20 ms until stopped; the
/// most seen at once.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    most: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    /// Count the hosts (mount namespaces) where the data is mounted.
    fn start() -> Sampler {
        let data = shared_dir().join("data");
        Sampler::counting(move || namespaces_with(&data))
    }

    /// Sample `running` (how many nodes run the service now).
    pub fn counting(running: impl Fn() -> usize + Send + 'static) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let most = Arc::new(AtomicUsize::new(0));
        let thread = std::thread::spawn({
            let (stop, most) = (stop.clone(), most.clone());
            move || {
                while !stop.load(Ordering::SeqCst) {
                    most.fetch_max(running(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Sampler {
            stop,
            most,
            thread: Some(thread),
        }
    }

    pub fn most(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.most.load(Ordering::SeqCst)
    }
}

fn running(nodes: &[Node]) -> Vec<&'static str> {
    nodes.iter().filter(|n| n.runs()).map(|n| n.name).collect()
}

fn owner_everywhere(nodes: &[Node], want: &str) -> bool {
    nodes.iter().filter_map(|n| n.daemon.as_ref()).all(|d| {
        std::fs::read_to_string(d.path("app/owner")).is_ok_and(|o| o == format!("{want}\n"))
    })
}

/// Send `signal` to the daemon of the node that runs the service, and
/// wait for it to exit; that node's index.
fn signal_owner(nodes: &mut [Node], signal: i32) -> usize {
    let owner = nodes.iter().position(|n| n.runs()).expect("a node runs it");
    nodes[owner]
        .daemon
        .take()
        .expect("the owner's daemon runs")
        .signal_and_wait(signal);
    owner
}

fn logs(nodes: &[Node]) -> String {
    nodes
        .iter()
        .filter_map(|n| n.daemon.as_ref().map(|d| (n.name, d)))
        .map(|(name, d)| {
            format!(
                "--- {name}: app/log\n{}",
                std::fs::read_to_string(d.path("app/log")).unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn cluster_failover_switch_and_quorum_loss() {
    if !prerequisites() {
        return;
    }
    let mut nodes: Vec<Node> = NODES.iter().map(|n| Node::new(n)).collect();
    let etcd = Etcd::start(&nodes[0].sandbox.root, Security::TlsAuth);
    for node in &mut nodes {
        node.mount(&etcd);
    }

    // Before anything runs, every node reads every live peer `down`
    // (none has acted), and the service is not warned of: the files are
    // the same.
    for node in &nodes {
        assert!(
            // Read softly: right after the mount the nodes/ directory
            // may not list every peer yet.
            wait_until(Duration::from_secs(10), || NODES.iter().all(|peer| {
                std::fs::read_to_string(node.daemon().path(&format!("app/nodes/{peer}/state")))
                    .is_ok_and(|state| state == "down\n")
            })),
            "{}: {:?}\n{}",
            node.name,
            NODES
                .iter()
                .map(|peer| node.daemon().read(&format!("app/nodes/{peer}/state")))
                .collect::<Vec<_>>(),
            logs(&nodes)
        );
        assert_eq!(node.daemon().read("app/messages"), "");
    }

    // Placement on start: written on c, placed on a (autostart_node).
    let sampler = Sampler::start();
    nodes[2].daemon().must("app/ctl", "start");
    assert_eq!(running(&nodes), ["a"], "{}", logs(&nodes));
    assert!(
        wait_until(Duration::from_secs(10), || owner_everywhere(&nodes, "a")),
        "{}",
        logs(&nodes)
    );
    assert_eq!(nodes[0].daemon().read("app/status"), "up\n");
    // Every node sees every instance, and the cluster's members and etcd.
    assert!(
        wait_until(Duration::from_secs(10), || {
            let b = nodes[1].daemon();
            b.read("app/nodes/a/state") == "up\n"
                && b.read("app/nodes/a/status") == "up\n"
                && b.read("app/nodes/b/state") == "down\n"
                && b.read("app/nodes/c/state") == "down\n"
                && b.read("app/nodes/c/status") == "down\n"
                && b.read("cluster/nodes/c/alive") == "yes\n"
                && b.read("cluster/etcd").matches(" healthy\n").count() == 3
        }),
        "{}\n{}",
        nodes[1].daemon().read("cluster/etcd"),
        logs(&nodes)
    );
    assert!(nodes[1]
        .daemon()
        .read("app/overview")
        .ends_with("'- hb                     up\n"));
    // Only the owner acts on the resources themselves.
    assert_eq!(
        nodes[1].daemon().ctl("app/fs#1/ctl", "start"),
        Err(libc::EACCES)
    );
    assert_eq!(
        nodes[1].daemon().ctl("app/ctl", "switch z"),
        Err(libc::EINVAL)
    );

    // switch: returns once b runs it; a stopped it first.
    nodes[0].daemon().must("app/ctl", "switch b");
    assert_eq!(running(&nodes), ["b"], "{}", logs(&nodes));
    assert_eq!(sampler.most(), 1, "two nodes ran the service at once");

    // b dies with its filesystem: a (first alive, preferred) takes over
    // within the TTL plus a tick and the start.
    let sampler = Sampler::start();
    nodes[1].kill();
    assert!(
        wait_until(Duration::from_secs(30), || running(&nodes) == ["a"]),
        "no takeover: running {:?}\n{}",
        running(&nodes),
        logs(&nodes)
    );
    assert!(
        wait_until(Duration::from_secs(10), || {
            nodes[0].daemon().read("cluster/nodes/b/alive") == "no\n"
                && nodes[0].daemon().read("app/nodes/b/state") == "n/a\n"
        }),
        "{}",
        logs(&nodes)
    );
    // b returns and does not take the service back.
    nodes[1].mount(&etcd);
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(running(&nodes), ["a"], "{}", logs(&nodes));
    assert!(
        wait_until(Duration::from_secs(10), || owner_everywhere(&nodes, "a")),
        "{}",
        logs(&nodes)
    );
    assert_eq!(sampler.most(), 1, "two nodes ran the service at once");

    // Quorum lost: the owner stops the service before its lease can
    // expire, nobody starts it, and starting writes are EAGAIN.
    let sampler = Sampler::start();
    etcd.signal(1, libc::SIGSTOP);
    etcd.signal(2, libc::SIGSTOP);
    assert!(
        wait_until(Duration::from_secs(10), || running(&nodes).is_empty()),
        "the owner did not fence: running {:?}\n{}",
        running(&nodes),
        logs(&nodes)
    );
    assert_eq!(
        write_ctl(&nodes[2].daemon().path("app/ctl"), "switch c"),
        Err(libc::EAGAIN)
    );
    std::thread::sleep(Duration::from_secs(5));
    assert!(running(&nodes).is_empty(), "{:?}", running(&nodes));
    assert!(nodes[0]
        .daemon()
        .read("app/overview")
        .ends_with("'- hb                     down\n"));
    assert!(
        wait_until(Duration::from_secs(15), || nodes[0]
            .daemon()
            .read("cluster/etcd")
            .contains(" unreachable\n")),
        "{}",
        nodes[0].daemon().read("cluster/etcd")
    );
    // Quorum back: one owner again.
    etcd.signal(1, libc::SIGCONT);
    etcd.signal(2, libc::SIGCONT);
    assert!(
        wait_until(Duration::from_secs(30), || running(&nodes).len() == 1),
        "no owner after quorum came back: {:?}\n{}",
        running(&nodes),
        logs(&nodes)
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(running(&nodes).len(), 1);
    assert_eq!(sampler.most(), 1, "two nodes ran the service at once");

    // A daemon that stops (SIGTERM) has stopped what it ran when it exits,
    // and another node takes the service.
    let sampler = Sampler::start();
    let owner = signal_owner(&mut nodes, libc::SIGTERM);
    assert!(!nodes[owner].runs(), "the leaving node left it running");
    assert!(
        wait_until(Duration::from_secs(30), || running(&nodes).len() == 1),
        "nobody took over from the leaving node\n{}",
        logs(&nodes)
    );
    assert_eq!(sampler.most(), 1, "two nodes ran the service at once");

    // A daemon SIGKILLed alone (its node lives on, the filesystem still
    // mounted): its fence watchdog stops the service before the lease
    // expires, and the last node takes it over.
    let sampler = Sampler::start();
    let owner = signal_owner(&mut nodes, libc::SIGKILL);
    let _ = run(
        "umount",
        &["-l", &nodes[owner].sandbox.mnt().to_string_lossy()],
    );
    assert!(
        wait_until(Duration::from_secs(10), || !nodes[owner].runs()),
        "the watchdog of the killed daemon left the service running\n{}",
        logs(&nodes)
    );
    assert!(
        wait_until(Duration::from_secs(30), || running(&nodes).len() == 1),
        "nobody took over from the killed daemon\n{}",
        logs(&nodes)
    );
    assert_eq!(sampler.most(), 1, "two nodes ran the service at once");
    drop(nodes);
    drop(etcd);
}
