//! The cluster on this machine's three-member etcd, as production runs it
//! (TLS for clients and peers, authentication; see tests/it/cluster_etcd.rs):
//! three svcfs nodes, each on a host of its own (a mount namespace), and a
//! service of one ext4 filesystem whose file is the same on every node.
//! Three rows, each as a ratio to its bound (docs/cluster.md §5), the
//! start and stop it includes measured in the same run on the same
//! service (`start --rid`, `stop --rid` on its owner):
//! - placement: `start` written on a node that is not the chosen one,
//!   until the write returns (the owner reports up) ≤ 0.5 s + the start;
//! - switch: `switch NODE` until it returns (NODE reports up) ≤ the stop +
//!   the start + 0.5 s;
//! - failover: the owner's node killed (daemon, watchdog, its namespace
//!   and filesystem) until another node's namespace has the filesystem
//!   mounted ≤ the lease TTL + the start + 1 s.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster_etcd::{mount_on_own_host, namespaces_with, node_dir, Etcd, Security};
use crate::harness::{run, wait_until, Daemon, Sandbox};
use crate::report::{Row, Series};
use crate::settings::Settings;
use crate::stats::{human, Samples};

const NODES: [&str; 3] = ["a", "b", "c"];
/// The daemons' lease TTL (svcfs's default).
const TTL: Duration = Duration::from_secs(10);
/// What a bound allows beyond the actions it includes.
const PLACEMENT_SLACK: Duration = Duration::from_millis(500);
const SWITCH_SLACK: Duration = Duration::from_millis(500);
const FAILOVER_SLACK: Duration = Duration::from_secs(1);

struct Node {
    name: &'static str,
    sandbox: Sandbox,
    daemon: Option<Daemon>,
}

fn shared_dir() -> PathBuf {
    node_dir("bench-cluster")
}

impl Node {
    fn new(name: &'static str) -> Node {
        let sandbox = Sandbox::new(&format!("bench-cluster-{name}"), &[]);
        let own = sandbox.root.join("own");
        std::fs::create_dir_all(own.join("data")).expect("own dir");
        let image = own.join("disk.img").to_string_lossy().into_owned();
        run("truncate", &["-s", "16M", &image]).expect("image");
        run("mkfs.ext4", &["-q", "-F", &image]).expect("mkfs.ext4");
        sandbox.service_file(
            "app.conf",
            &format!(
                "[DEFAULT]\nnodes = a b c\nautostart_node = a\n\n[fs#1]\ndev = {}\nmnt = {}\ntype = ext4\n",
                shared_dir().join("disk.img").display(),
                shared_dir().join("data").display()
            ),
        );
        Node {
            name,
            sandbox,
            daemon: None,
        }
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

    fn kill(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.kill_node();
        }
        let _ = run("umount", &["-l", &self.sandbox.mnt().to_string_lossy()]);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.daemon.take();
        let _ = run("umount", &["-l", &self.sandbox.mnt().to_string_lossy()]);
    }
}

/// A ctl write, timed; panics (a failed row) when it fails.
fn timed(node: &Node, rel: &str, command: &str) -> Duration {
    let started = Instant::now();
    if let Err(errno) = node.daemon().ctl(rel, command) {
        panic!(
            "{command} > {} of {}: errno {errno}\n{}",
            rel,
            node.name,
            std::fs::read_to_string(node.daemon().path("app/log")).unwrap_or_default()
        );
    }
    started.elapsed()
}

fn owner(nodes: &[Node]) -> Option<String> {
    nodes
        .iter()
        .find_map(|n| n.daemon.as_ref())
        .map(|d| d.read("app/owner").trim().to_string())
        .filter(|o| !o.is_empty())
}

fn index_of(name: &str) -> usize {
    NODES
        .iter()
        .position(|n| *n == name)
        .expect("a node's name")
}

/// Every live node sees every node alive.
fn all_alive(nodes: &[Node]) -> bool {
    nodes.iter().filter_map(|n| n.daemon.as_ref()).all(|d| {
        NODES.iter().all(|peer| {
            std::fs::read_to_string(d.path(&format!("cluster/nodes/{peer}/alive")))
                .is_ok_and(|alive| alive == "yes\n")
        })
    })
}

fn bound_series(label: &str, fixed: Duration, starts: &[Duration], stops: &[Duration]) -> Series {
    let bounds = starts
        .iter()
        .enumerate()
        .map(|(i, start)| fixed + *start + stops.get(i).copied().unwrap_or_default())
        .collect();
    Series::new(label, Samples::new(bounds))
}

pub fn rows(settings: &Settings) -> Vec<Row> {
    let mut nodes: Vec<Node> = NODES.iter().map(|n| Node::new(n)).collect();
    let etcd = Etcd::start(&nodes[0].sandbox.root.join("etcd"), Security::TlsAuth);
    for node in &mut nodes {
        node.mount(&etcd);
    }
    assert!(
        wait_until(Duration::from_secs(20), || all_alive(&nodes)),
        "the nodes did not all join"
    );
    let n = settings.cluster_samples;

    // The start and the stop of the service on its owner.
    nodes[2].daemon().must("app/ctl", "start");
    let (mut starts, mut stops) = (Vec::new(), Vec::new());
    for _ in 0..n {
        stops.push(timed(&nodes[0], "app/ctl", "stop --rid fs#1"));
        starts.push(timed(&nodes[0], "app/ctl", "start --rid fs#1"));
    }

    // Placement: from no owner, `start` written on c, placed on a.
    let mut placements = Vec::new();
    for _ in 0..n {
        nodes[2].daemon().must("app/ctl", "stop");
        placements.push(timed(&nodes[2], "app/ctl", "start"));
        assert_eq!(owner(&nodes).as_deref(), Some("a"));
    }

    // Switches, written on c, between b and a.
    let mut switches = Vec::new();
    for i in 0..n {
        let to = if i % 2 == 0 { "b" } else { "a" };
        switches.push(timed(&nodes[2], "app/ctl", &format!("switch {to}")));
        assert_eq!(owner(&nodes).as_deref(), Some(to));
    }

    // Failovers: the owner's node dies; from then until another host has
    // the filesystem mounted. The dead node returns before the next.
    let data = shared_dir().join("data");
    let mut failovers = Vec::new();
    for _ in 0..settings.failovers {
        let dead = index_of(&owner(&nodes).expect("an owner"));
        assert_eq!(namespaces_with(&data), 1, "the service does not run once");
        let killed = Instant::now();
        nodes[dead].kill();
        let taken = wait_until(TTL * 3, || {
            namespaces_with(&data) == 1 && owner_is_other(&nodes, dead)
        });
        assert!(taken, "no node took the service over");
        failovers.push(killed.elapsed());
        nodes[dead].mount(&etcd);
        assert!(
            wait_until(Duration::from_secs(20), || all_alive(&nodes)),
            "{} did not join again",
            NODES[dead]
        );
    }
    drop(nodes);
    drop(etcd);

    let p50 = |s: &[Duration]| Samples::new(s.to_vec()).p50();
    let facts = format!(
        "three-member etcd 3.4 with TLS and authentication on 127.0.0.1, three nodes on hosts of their own (mount namespaces), a service of one ext4 fs#1; its start {} and stop {} (p50, on the owner, `start|stop --rid fs#1`); lease TTL {} s",
        human(p50(&starts)),
        human(p50(&stops)),
        TTL.as_secs()
    );
    let data = json!({
        "start_us": starts.iter().map(|d| d.as_micros() as u64).collect::<Vec<_>>(),
        "stop_us": stops.iter().map(|d| d.as_micros() as u64).collect::<Vec<_>>(),
        "ttl_s": TTL.as_secs(),
    });
    let row = |name: &str, samples: Vec<Duration>, bound: Series, target: &str| {
        let mut row = Row {
            name: name.to_string(),
            svcfs: Some(Series::new(name, Samples::new(samples))),
            baseline_name: bound.label.clone(),
            baseline: Some(bound),
            target: target.to_string(),
            note: facts.clone(),
            data: data.clone(),
            ..Row::default()
        };
        row.met = Some(row.ratio_p99().is_some_and(|r| r <= 1.0));
        row
    };
    vec![
        row(
            "cluster: `start` written on another node until the owner reports up",
            placements,
            bound_series(
                "its bound: 0.5 s + the start",
                PLACEMENT_SLACK,
                &starts,
                &[],
            ),
            "≤ 1.0× its bound (p99)",
        ),
        row(
            "cluster: `switch NODE` until NODE reports up",
            switches,
            bound_series(
                "its bound: the stop + the start + 0.5 s",
                SWITCH_SLACK,
                &starts,
                &stops,
            ),
            "≤ 1.0× its bound (p99)",
        ),
        row(
            "cluster: the owner's node killed until another runs the service",
            failovers,
            bound_series(
                "its bound: the lease TTL + the start + 1 s",
                TTL + FAILOVER_SLACK,
                &starts,
                &[],
            ),
            "≤ 1.0× its bound (p99)",
        ),
    ]
}

fn owner_is_other(nodes: &[Node], dead: usize) -> bool {
    nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != dead)
        .filter_map(|(_, n)| n.daemon.as_ref())
        .any(|d| {
            let owner = d.read("app/owner");
            !owner.trim().is_empty() && owner.trim() != NODES[dead]
        })
}
