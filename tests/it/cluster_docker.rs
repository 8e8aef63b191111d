//! The cluster with containers, on an etcd with TLS and authentication:
//! three svcfs nodes, each on a host of its own (a mount namespace, see
//! cluster_etcd.rs) with its own private docker daemon (beside the host
//! one, on a bridge of its own — never `--bridge=none`) whose data root is
//! the node's own directory, and a container service whose file is the
//! same on every node. A node is killed together with its docker daemon
//! and container; another takes over; the node returns and does not start
//! it. "Never two owners" is sampled through every node's docker every
//! 20 ms.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cluster::Sampler;
use crate::cluster_etcd::{mount_on_own_host, node_dir, Etcd, Security};
use crate::harness::{
    children_of, converges, docker, in_path, parent_of, pid_in, prerequisites, run, wait_until,
    write_ctl, Daemon, Sandbox,
};

const SVC: &str = "ctr.cluster.test";
const NODES: [&str; 3] = ["a", "b", "c"];

struct Node {
    name: &'static str,
    sandbox: Sandbox,
    daemon: Option<Daemon>,
}

/// The bridge of the nodes' private docker daemons (one runs at a time).
const BRIDGE: &str = "svcfs-cl";

/// What every node's service file names: on each node, its own directory.
fn shared_dir() -> PathBuf {
    node_dir("cluster-docker")
}

/// The private daemon's arguments, the same on every node.
fn daemon_args() -> String {
    format!(
        "--bridge={BRIDGE} --iptables=false --containerd-namespace=svcfs-cl --containerd-plugins-namespace=svcfs-cl-plugins"
    )
}

impl Node {
    fn new(name: &'static str, image: &Path) -> Node {
        // What a failed earlier run left mounted, before its tree goes.
        unmount_under(&std::env::temp_dir().join(format!("svcfs-it-cluster-docker-{name}")));
        let sandbox = Sandbox::new(&format!("cluster-docker-{name}"), &[]);
        let _ = run("ip", &["link", "add", BRIDGE, "type", "bridge"]);
        run("ip", &["link", "set", BRIDGE, "up"]).unwrap();
        sandbox.service_file(
            &format!("{SVC}.conf"),
            &format!(
                "[DEFAULT]\nnodes = a b c\nautostart_node = a\ndocker_data_dir = {}\ndocker_daemon_args = {}\n\n[container#1]\nrun_image = busybox\nrun_command = /bin/sh\nstop_timeout = 1\n\n[container#2]\nrun_image = busybox\nrun_command = /bin/sh\nrun_args = -v {}:/gate --health-cmd 'test -e /gate/ok' --health-interval 1s --health-retries 600\nstop_timeout = 1\n",
                shared_dir().join("docker").display(),
                daemon_args(),
                health_gate().display()
            ),
        );
        load_image(
            &sandbox.root,
            &sandbox.root.join("own").join("docker"),
            &daemon_args(),
            image,
        );
        Node {
            name,
            sandbox,
            daemon: None,
        }
    }

    fn socket(&self) -> String {
        format!(
            "unix://{}",
            self.sandbox.var().join(SVC).join("docker.sock").display()
        )
    }

    fn mount(&mut self, etcd: &Etcd) {
        self.daemon = Some(mount_on_own_host(
            &self.sandbox,
            self.name,
            &shared_dir(),
            etcd,
        ));
    }

    fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("the node's daemon runs")
    }

    /// The node dies with its docker daemon: svcfs, dockerd, its
    /// containerd, the shim and the container's process, all SIGKILLed.
    fn kill(&mut self) {
        let socket = self.socket();
        let dockerd = pid_in(&self.sandbox.var().join(SVC).join("dockerd.pid")).unwrap();
        // Every container of the node dies with it, shim included: one
        // left would run on after the test, its containerd gone.
        let ids = run("docker", &["-H", &socket, "ps", "-q"]).unwrap();
        let containers: Vec<i32> = ids
            .split_whitespace()
            .map(|id| {
                run(
                    "docker",
                    &["-H", &socket, "inspect", "-f", "{{.State.Pid}}", id],
                )
                .unwrap()
                .trim()
                .parse()
                .unwrap()
            })
            .collect();
        assert!(
            !containers.is_empty(),
            "the node runs the service's containers"
        );
        let mut pids = vec![dockerd];
        for &container in &containers {
            pids.push(container);
            pids.extend(parent_of(container));
        }
        pids.extend(children_of(dockerd));
        let mut daemon = self.daemon.take().expect("the node's daemon runs");
        daemon.kill_node();
        for pid in pids {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = run("umount", &["-l", &self.sandbox.mnt().to_string_lossy()]);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SIGTERM: the node leaves, stopping its container and daemon.
        self.daemon.take();
        unmount_under(&self.sandbox.root);
        let _ = run("umount", &["-l", &self.sandbox.mnt().to_string_lossy()]);
    }
}

/// Whether the node's private daemon runs the service's container.
/// The directory whose `ok` file makes container#2 healthy: without it, a
/// start of container#2 waits (up to its start_timeout), as a slow
/// application's start does.
fn health_gate() -> PathBuf {
    PathBuf::from("/tmp/svcfs-it-cluster-docker/gate")
}

fn runs(socket: &str) -> bool {
    run(
        "docker",
        &[
            "-H",
            socket,
            "ps",
            "-q",
            "--filter",
            &format!("name={SVC}.container.1"),
        ],
    )
    .is_ok_and(|out| !out.trim().is_empty())
}

/// Unmount what a killed daemon left under `root`, deepest first.
fn unmount_under(root: &Path) {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = format!("{}/", root.display());
    let mut mounts: Vec<&str> = table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for mount in mounts {
        let _ = run("umount", &["-l", mount]);
    }
}

/// busybox into a node's private store, through a throwaway daemon on the
/// same data root (svcfs starts that node's daemon only where it runs the
/// service).
fn load_image(root: &Path, data: &Path, args: &str, image: &Path) {
    let socket = format!("unix://{}", root.join("load.sock").display());
    let log = std::fs::File::create(root.join("load.log")).unwrap();
    let mut loader = Command::new("dockerd")
        .args(["--data-root", &data.to_string_lossy(), "-H", &socket])
        .args(["--pidfile", &root.join("load.pid").to_string_lossy()])
        .args(["--exec-root", &root.join("load-exec").to_string_lossy()])
        .args(args.split_whitespace())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("dockerd starts");
    let up = wait_until(Duration::from_secs(30), || {
        run("docker", &["-H", &socket, "info"]).is_ok()
    });
    let loaded = up
        && run(
            "docker",
            &["-H", &socket, "load", "-q", "-i", &image.to_string_lossy()],
        )
        .is_ok();
    unsafe { libc::kill(loader.id() as i32, libc::SIGTERM) };
    let _ = loader.wait();
    unmount_under(&root.join("load-exec"));
    assert!(loaded, "busybox not loaded into {}", data.display());
}

fn logs(nodes: &[Node]) -> String {
    nodes
        .iter()
        .filter_map(|n| n.daemon.as_ref().map(|d| (n.name, d)))
        .map(|(name, d)| {
            format!(
                "--- {name}: {SVC}/log\n{}",
                std::fs::read_to_string(d.path(&format!("{SVC}/log"))).unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn cluster_container_fails_over_with_its_docker_daemon() {
    if !prerequisites() || !crate::harness::require(&missing_etcd()) {
        return;
    }
    let work = PathBuf::from("/tmp/svcfs-it-cluster-docker");
    let _ = std::fs::create_dir_all(&work);
    std::fs::create_dir_all(health_gate()).unwrap();
    std::fs::write(health_gate().join("ok"), "").unwrap();
    let image = work.join("busybox.tar");
    docker(&["save", "-o", &image.to_string_lossy(), "busybox:latest"]).unwrap();
    let mut nodes: Vec<Node> = NODES.iter().map(|n| Node::new(n, &image)).collect();
    let etcd = Etcd::start(&work, Security::TlsAuth);
    for node in &mut nodes {
        node.mount(&etcd);
    }
    let sockets: Vec<String> = nodes.iter().map(Node::socket).collect();
    let running = {
        let sockets = sockets.clone();
        move || -> Vec<&'static str> {
            NODES
                .iter()
                .zip(&sockets)
                .filter(|(_, s)| runs(s))
                .map(|(n, _)| *n)
                .collect()
        }
    };
    let sampler = Sampler::counting({
        let sockets = sockets.clone();
        move || sockets.iter().filter(|s| runs(s)).count()
    });

    nodes[2].daemon().must(&format!("{SVC}/ctl"), "start");
    assert_eq!(running(), ["a"], "{}", logs(&nodes));
    assert_eq!(nodes[2].daemon().read(&format!("{SVC}/owner")), "a\n");

    nodes[0].kill();
    assert!(
        wait_until(Duration::from_secs(60), || running() == ["b"]),
        "no takeover: {:?}\n{}",
        running(),
        logs(&nodes)
    );
    // docker shows the container running before b's start has judged it
    // operational and ended: the tree says up once it has.
    for rel in ["container#1/status", "status"] {
        converges(
            nodes[1].daemon(),
            &format!("{SVC}/{rel}"),
            "up\n",
            Duration::from_secs(10),
        );
    }
    nodes[0].mount(&etcd);
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(running(), ["b"], "{}", logs(&nodes));
    assert!(
        wait_until(Duration::from_secs(10), || nodes[0]
            .daemon()
            .read(&format!("{SVC}/owner"))
            == "b\n"),
        "{}",
        logs(&nodes)
    );

    // switch to c: its own daemon starts, b's container stops first.
    nodes[0].daemon().must(&format!("{SVC}/ctl"), "switch c");
    assert_eq!(running(), ["c"], "{}", logs(&nodes));

    // Quorum lost while a user's long action runs on the owner (a restart
    // of container#2, whose start waits for a health check that does not
    // pass): c interrupts it (EAGAIN) and stops its containers (and
    // daemon) before its lease can expire, nobody starts it; quorum back:
    // one node runs it again.
    std::fs::remove_file(health_gate().join("ok")).unwrap();
    let ctl = nodes[2].daemon().path(&format!("{SVC}/ctl"));
    let restart = std::thread::spawn(move || write_ctl(&ctl, "restart --rid container#2"));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !restart.is_finished(),
        "the restart did not wait for health\n{}",
        logs(&nodes)
    );
    etcd.signal(1, libc::SIGSTOP);
    etcd.signal(2, libc::SIGSTOP);
    assert!(
        wait_until(Duration::from_secs(10), || running().is_empty()),
        "the owner did not fence: {:?}\n{}",
        running(),
        logs(&nodes)
    );
    assert!(
        wait_until(Duration::from_secs(5), || restart.is_finished()),
        "the fence left the user's restart running"
    );
    assert_eq!(restart.join().unwrap(), Err(libc::EAGAIN));
    std::fs::write(health_gate().join("ok"), "").unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert!(running().is_empty(), "{:?}", running());
    etcd.signal(1, libc::SIGCONT);
    etcd.signal(2, libc::SIGCONT);
    assert!(
        wait_until(Duration::from_secs(60), || running().len() == 1),
        "no owner after quorum came back: {:?}\n{}",
        running(),
        logs(&nodes)
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(running().len(), 1);
    assert_eq!(sampler.most(), 1, "two nodes ran the container at once");
    drop(nodes);
    drop(etcd);
    let _ = run("ip", &["link", "del", BRIDGE]);
}

fn missing_etcd() -> Vec<String> {
    if in_path("etcd") {
        Vec::new()
    } else {
        vec!["etcd in PATH (package etcd-server)".into()]
    }
}
