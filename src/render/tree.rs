//! Every file of a service as bytes, rendered once per published snapshot:
//! the directory layout (which files a service and each resource have, in
//! listing order) and each file's content. Reads only slice these bytes.
//!
//! A file whose bytes did not change keeps the previous generation's
//! buffer and mtime, so `stat` tells when *that content* last changed, and
//! whoever tells the kernel what changed compares buffers by pointer.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use super::metrics::{service_metrics, ServiceMetrics};
use super::{overview, status_json};
use crate::model::command::{resource_ctl_help, CLUSTER_CTL_HELP, SERVICE_CTL_HELP};
use crate::model::usage::{self, Amount, Counter, COUNTERS, STATS_FILE};
use crate::model::{LiveRef, LiveView, ResourceSnapshot, ServiceSnapshot, Status};
use crate::sync::lock;

pub use crate::model::layout::{CLUSTER_DIR, ROOT_FILES};

/// The directory of `wait` files in every service and resource directory.
pub const WAIT_DIR: &str = "wait";

/// The status words a `wait/<word>` file waits for.
pub const WAIT_WORDS: [Status; 3] = [Status::Up, Status::Down, Status::Warn];

/// Files of a service directory, in listing order.
pub const SERVICE_FILES: [&str; 12] = [
    "status",
    "avail",
    "overview",
    "status.json",
    "ctl",
    "log",
    "messages",
    "config",
    "docker_host",
    "frozen",
    "hold",
    "events",
];

/// Files a service directory has after [`SERVICE_FILES`] with `svcfs
/// mount --cluster`.
pub const CLUSTER_SERVICE_FILES: [&str; 1] = ["owner"];

/// The directory of a clustered service's nodes (`nodes/<node>/`).
pub const NODES_DIR: &str = "nodes";

/// Files of `nodes/<node>/`: the instance's status word and state word.
pub const NODE_FILES: [&str; 2] = ["status", "state"];

/// Files of `cluster/nodes/<node>/`.
pub const MEMBER_FILES: [&str; 2] = ["alive", "ttl"];

/// The root `cluster/` directory: `etcd`, and `nodes/<node>/` per node.
#[derive(Debug, Clone)]
pub struct ClusterTree {
    /// `etcd`: one line per endpoint, `<url> <health>`.
    pub etcd: FileNode,
    /// `nodes/<node>/{alive,ttl}`, named by node in `rid`.
    pub nodes: Vec<ResourceDir>,
    /// When its listing last changed.
    pub mtime: SystemTime,
}

impl ClusterTree {
    /// A `nodes/<node>/` directory.
    pub fn node(&self, node: &str) -> Option<&ResourceDir> {
        self.nodes.iter().find(|n| &*n.rid == node)
    }
}

/// Render the cluster directory: `endpoints` with their health word,
/// `members` with whether each is alive and the lease TTL it has left.
pub fn cluster_tree(
    endpoints: &[(String, &str)],
    members: &[(String, bool, u64)],
    previous: Option<&ClusterTree>,
    now: SystemTime,
) -> ClusterTree {
    let carry = Carry {
        now,
        log_unchanged: false,
        config_public: false,
    };
    let etcd: String = endpoints
        .iter()
        .map(|(url, health)| format!("{url} {health}\n"))
        .collect();
    let etcd = carry.file(Dir::Cluster, "etcd", previous.map(|p| &p.etcd), || {
        etcd.into_bytes()
    });
    let nodes: Vec<ResourceDir> = members
        .iter()
        .map(|(node, alive, ttl)| {
            let before = previous.and_then(|p| p.node(node));
            let files = MEMBER_FILES
                .iter()
                .map(|name| {
                    let text = match *name {
                        "alive" if *alive => "yes\n".to_string(),
                        "alive" => "no\n".to_string(),
                        _ => format!("{ttl}\n"),
                    };
                    carry.file(
                        Dir::Cluster,
                        name,
                        before.and_then(|b| b.file(name)),
                        || text.into_bytes(),
                    )
                })
                .collect();
            ResourceDir {
                rid: node.as_str().into(),
                files,
                mtime: before.map_or(now, |b| b.mtime),
                live: None,
                shown: LiveShown::default(),
            }
        })
        .collect();
    let mtime = match previous {
        Some(p) if same_names(&p.nodes, &nodes, |n| &n.rid) => p.mtime,
        _ => now,
    };
    ClusterTree { etcd, nodes, mtime }
}

/// Standard files of a resource directory, in listing order (`type` only
/// where the resource has one).
pub const RESOURCE_FILES: [&str; 7] = [
    "status", "label", "messages", "ctl", "log", "failures", "type",
];

/// What a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Read-only state: everyone may read it.
    ReadOnly,
    /// Read-only configuration (`config`, `type` and every keyword file):
    /// everyone may read it only when everyone may read the service file
    /// (`public`), since it may hold secrets (`-e DB_PASSWORD=…`).
    Config {
        /// Others may read the service file.
        public: bool,
    },
    /// Takes commands; reading it gives the commands it accepts.
    Ctl,
    /// `<svc>/hold`: open for writing, it freezes the service until its
    /// last holder closes it; reading it gives the holders' pids.
    Hold,
    /// The change lines of the service, from the open on (no bytes here).
    Events,
}

/// One file of a generation.
#[derive(Debug, Clone)]
pub struct FileNode {
    /// Its name in its directory.
    pub name: Arc<str>,
    /// What it is for.
    pub kind: FileKind,
    /// Its bytes.
    pub content: Arc<[u8]>,
    /// When these bytes first appeared.
    pub mtime: SystemTime,
}

/// A resource directory of a generation.
#[derive(Debug, Clone)]
pub struct ResourceDir {
    /// The rid, also the directory's name.
    pub rid: Arc<str>,
    /// Its files in listing order.
    pub files: Vec<FileNode>,
    /// When its listing last changed.
    pub mtime: SystemTime,
    /// What its driver shows live: files listed after [`Self::files`],
    /// read at open, and streams in its `wait/`.
    pub live: Option<LiveRef>,
    /// Which of them this generation lists (a view shows some only while
    /// what it shows exists: a container's, while there is one).
    pub shown: LiveShown,
}

/// What a live view showed when a generation was rendered: its listing
/// is that generation's, and a change of it is a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveShown {
    /// Its own live files, then those of resource use.
    pub files: Vec<&'static str>,
    /// Whether resource use is among them.
    pub usage: bool,
    /// Its streams in `wait/`.
    pub streams: &'static [&'static str],
}

impl LiveShown {
    /// What `live` shows now.
    pub fn of(live: Option<&LiveRef>) -> LiveShown {
        let Some(view) = live.map(LiveRef::view) else {
            return LiveShown::default();
        };
        let usage = view.has_usage();
        LiveShown {
            files: view
                .files()
                .iter()
                .copied()
                .chain(usage.then(usage_files).into_iter().flatten())
                .collect(),
            usage,
            streams: view.streams(),
        }
    }
}

/// The files of resource use a live view with usage shows, and a
/// service directory sums, in listing order.
pub fn usage_files() -> impl Iterator<Item = &'static str> {
    COUNTERS
        .iter()
        .map(|c| c.file())
        .chain(std::iter::once(STATS_FILE))
}

/// Whether `name` is a file of resource use (see [`usage_files`]).
pub fn is_usage_file(name: &str) -> bool {
    name == STATS_FILE || Counter::from_file(name).is_some()
}

/// One service's files, as of one published snapshot.
#[derive(Debug, Clone)]
pub struct ServiceTree {
    /// The service name, also the directory's name.
    pub name: Arc<str>,
    /// Counts the publications of this service.
    pub generation: u64,
    /// The service directory's files in listing order.
    pub files: Vec<FileNode>,
    /// Its resource directories in display order.
    pub resources: Vec<ResourceDir>,
    /// `nodes/<node>/` in `nodes` order, with `--cluster` (empty
    /// otherwise: no `nodes` directory). Named by node in `rid`.
    pub nodes: Vec<ResourceDir>,
    /// When the service directory's listing last changed.
    pub mtime: SystemTime,
    /// The service's series of the root `metrics` file (the previous
    /// generation's, pointer and all, when they did not change).
    pub metrics: Arc<ServiceMetrics>,
    /// The log lines rendered into the `log` files.
    log_seq: u64,
}

impl ServiceTree {
    /// A file of the service directory.
    pub fn file(&self, name: &str) -> Option<&FileNode> {
        find_file(&self.files, name)
    }

    /// A resource directory.
    pub fn resource(&self, rid: &str) -> Option<&ResourceDir> {
        self.resources.iter().find(|r| &*r.rid == rid)
    }

    /// A `nodes/<node>/` directory.
    pub fn node(&self, node: &str) -> Option<&ResourceDir> {
        self.nodes.iter().find(|n| &*n.rid == node)
    }

    /// The live views of its resources that show resource use.
    pub fn usage_views(&self) -> impl Iterator<Item = &dyn LiveView> {
        self.resources
            .iter()
            .filter(|r| r.shown.usage)
            .filter_map(|r| r.live.as_ref())
            .map(LiveRef::view)
    }

    /// Whether the service directory has the files of resource use
    /// (sums over its resources), listed after [`Self::files`].
    pub fn has_usage(&self) -> bool {
        self.usage_views().next().is_some()
    }

    /// The sum of `counter` over its resources, now.
    pub fn usage(&self, counter: Counter) -> Option<Amount> {
        usage::sum(self.usage_views().map(|v| v.usage(counter)))
    }
}

impl ResourceDir {
    /// A file of this resource directory.
    pub fn file(&self, name: &str) -> Option<&FileNode> {
        find_file(&self.files, name)
    }

    /// Its live files, in listing order (after [`Self::files`]).
    pub fn live_files(&self) -> &[&'static str] {
        &self.shown.files
    }

    /// Whether `name` is one of its live files.
    pub fn has_live(&self, name: &str) -> bool {
        self.live.is_some() && self.shown.files.contains(&name)
    }

    /// Whether `name` is one of the streams of its `wait/`.
    pub fn has_stream(&self, name: &str) -> bool {
        self.live.is_some() && self.shown.streams.contains(&name)
    }
}

fn find_file<'a>(files: &'a [FileNode], name: &str) -> Option<&'a FileNode> {
    files.iter().find(|f| &*f.name == name)
}

/// Render every file of `snapshot`, reusing what `previous` (the last
/// generation of the same service) already holds unchanged.
pub fn service_tree(
    snapshot: &ServiceSnapshot,
    previous: Option<&ServiceTree>,
    now: SystemTime,
) -> ServiceTree {
    let log_unchanged = previous.is_some_and(|p| p.log_seq == snapshot.log.seq);
    let carry = Carry {
        now,
        log_unchanged,
        config_public: snapshot.config_public,
    };
    let clustered = snapshot.cluster.is_some();
    let files = SERVICE_FILES
        .iter()
        .chain(CLUSTER_SERVICE_FILES.iter().filter(|_| clustered))
        .map(|name| {
            let before = previous.and_then(|p| p.file(name));
            carry.file(Dir::Service, name, before, || service_file(snapshot, name))
        })
        .collect();
    let resources: Vec<ResourceDir> = snapshot
        .resources
        .iter()
        .map(|resource| {
            let before = previous.and_then(|p| p.resource(resource.rid.as_str()));
            resource_dir(resource, snapshot, before, &carry)
        })
        .collect();
    let nodes: Vec<ResourceDir> = snapshot
        .cluster
        .iter()
        .flat_map(|c| c.nodes.iter())
        .map(|(node, status, state)| {
            let before = previous.and_then(|p| p.node(node));
            let files = NODE_FILES
                .iter()
                .map(|name| {
                    let word = if *name == "status" { status } else { state };
                    let old = before.and_then(|b| b.file(name));
                    carry.file(Dir::Cluster, name, old, || format!("{word}\n").into_bytes())
                })
                .collect();
            ResourceDir {
                rid: node.as_str().into(),
                files,
                mtime: before.map_or(now, |b| b.mtime),
                live: None,
                shown: LiveShown::default(),
            }
        })
        .collect();
    let mtime = match previous {
        Some(p)
            if same_names(&p.resources, &resources, |r| &r.rid)
                && same_names(&p.nodes, &nodes, |n| &n.rid) =>
        {
            p.mtime
        }
        _ => now,
    };
    let metrics = service_metrics(snapshot, |rid| {
        let dir = resources.iter().find(|r| &*r.rid == rid)?;
        Some(dir.file("status")?.mtime)
    });
    let metrics = match previous {
        Some(p) if *p.metrics == metrics => Arc::clone(&p.metrics),
        _ => Arc::new(metrics),
    };
    ServiceTree {
        name: snapshot.name.as_str().into(),
        generation: previous.map_or(1, |p| p.generation + 1),
        files,
        resources,
        nodes,
        mtime,
        metrics,
        log_seq: snapshot.log.seq,
    }
}

/// How a new generation keeps what did not change.
struct Carry {
    now: SystemTime,
    log_unchanged: bool,
    config_public: bool,
}

/// Which directory a file is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Service,
    Resource,
    /// `nodes/<node>/` of a service, and the root `cluster/`.
    Cluster,
}

impl Carry {
    fn kind(&self, dir: Dir, name: &str) -> FileKind {
        let config = FileKind::Config {
            public: self.config_public,
        };
        match (dir, name) {
            (_, "ctl") => FileKind::Ctl,
            (Dir::Service, "hold") => FileKind::Hold,
            (Dir::Service, "events") => FileKind::Events,
            (Dir::Service, "config") => config,
            (Dir::Resource, name) if name == "type" || !RESOURCE_FILES.contains(&name) => config,
            _ => FileKind::ReadOnly,
        }
    }

    fn file(
        &self,
        dir: Dir,
        name: &str,
        before: Option<&FileNode>,
        render: impl FnOnce() -> Vec<u8>,
    ) -> FileNode {
        self.file_of_kind(self.kind(dir, name), name, before, render)
    }

    fn file_of_kind(
        &self,
        kind: FileKind,
        name: &str,
        before: Option<&FileNode>,
        render: impl FnOnce() -> Vec<u8>,
    ) -> FileNode {
        // A new mode is a new node: the kernel is told, as of new bytes.
        let before = before.filter(|b| b.kind == kind);
        if let Some(before) = before.filter(|_| name == "log" && self.log_unchanged) {
            return before.clone();
        }
        let bytes = render();
        match before {
            Some(before) if *before.content == *bytes => before.clone(),
            _ => FileNode {
                name: interned_name(name),
                kind,
                content: shared_content(bytes),
                mtime: self.now,
            },
        }
    }
}

/// The one copy of a file name: names are few (the fixed file lists and
/// the keyword table), files are many (60 per service).
fn interned_name(name: &str) -> Arc<str> {
    static NAMES: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    let mut names = lock(NAMES.get_or_init(Mutex::default));
    if let Some(known) = names.get(name) {
        return Arc::clone(known);
    }
    let name: Arc<str> = name.into();
    names.insert(Arc::clone(&name));
    name
}

/// What thousands of files hold alike: status words, empty files.
const COMMON_CONTENTS: [&[u8]; 9] = [
    b"",
    b"up\n",
    b"down\n",
    b"warn\n",
    b"n/a\n",
    b"0\n",
    b"no\n",
    b"yes\n",
    b"docker\n",
];

/// `bytes` as a file's content, shared with every file that holds the
/// same when it is one of [`COMMON_CONTENTS`].
fn shared_content(bytes: Vec<u8>) -> Arc<[u8]> {
    static COMMON: OnceLock<Vec<Arc<[u8]>>> = OnceLock::new();
    let common = COMMON.get_or_init(|| COMMON_CONTENTS.iter().map(|c| Arc::from(*c)).collect());
    match common.iter().find(|c| ***c == *bytes) {
        Some(shared) => Arc::clone(shared),
        None => bytes.into(),
    }
}

fn same_names<T>(a: &[T], b: &[T], name: impl Fn(&T) -> &Arc<str>) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| name(x) == name(y))
}

fn resource_dir(
    resource: &ResourceSnapshot,
    snapshot: &ServiceSnapshot,
    before: Option<&ResourceDir>,
    carry: &Carry,
) -> ResourceDir {
    let files: Vec<FileNode> = resource_file_names(resource)
        .into_iter()
        .map(|name| {
            let previous = before.and_then(|b| b.file(&name));
            let render = || resource_file(snapshot, resource, &name).unwrap_or_default();
            // What its driver shows is state, like `status`: everyone's.
            if resource.state.files.iter().any(|(n, _)| *n == name) {
                carry.file_of_kind(FileKind::ReadOnly, &name, previous, render)
            } else {
                carry.file(Dir::Resource, &name, previous, render)
            }
        })
        .collect();
    let live = resource.live.clone();
    let shown = LiveShown::of(live.as_ref());
    let mtime = match before {
        Some(b) if same_names(&b.files, &files, |f| &f.name) && b.shown == shown => b.mtime,
        _ => carry.now,
    };
    ResourceDir {
        rid: resource.rid.as_str().into(),
        files,
        mtime,
        live,
        shown,
    }
}

/// Files of a resource directory: the standard ones, those its driver
/// shows (which win over a keyword of the same name: the keyword's value is
/// in `config`), then one per configured keyword.
fn resource_file_names(resource: &ResourceSnapshot) -> Vec<String> {
    let mut names: Vec<String> = RESOURCE_FILES
        .iter()
        .filter(|f| **f != "type" || type_value(resource).is_some())
        .map(|f| f.to_string())
        .collect();
    for (name, _) in &resource.state.files {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    for (keyword, _) in resource.keywords.iter() {
        if !names.iter().any(|n| n == keyword) {
            names.push(keyword.to_string());
        }
    }
    names
}

/// The `type` file: the configured `type` keyword, else its kind's
/// default (`docker` for containers, the only container type).
fn type_value(resource: &ResourceSnapshot) -> Option<String> {
    resource
        .keywords
        .iter()
        .find(|(k, _)| *k == "type")
        .map(|(_, v)| v.clone())
        .or_else(|| resource.default_type.map(str::to_string))
}

fn lines<T: std::fmt::Display>(items: &[T], prefix: &str) -> Vec<u8> {
    let mut out = String::new();
    for item in items {
        out.push_str(prefix);
        out.push_str(&item.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

fn service_file(snapshot: &ServiceSnapshot, file: &str) -> Vec<u8> {
    match file {
        "status" => format!("{}\n", snapshot.overall).into_bytes(),
        "avail" => format!("{}\n", snapshot.avail).into_bytes(),
        "overview" => overview(snapshot).into_bytes(),
        "status.json" => status_json(snapshot).into_bytes(),
        "ctl" if snapshot.cluster.is_some() => {
            format!("{SERVICE_CTL_HELP}{CLUSTER_CTL_HELP}").into_bytes()
        }
        "ctl" => SERVICE_CTL_HELP.as_bytes().to_vec(),
        "owner" => match snapshot.cluster.as_deref() {
            Some(c) if !c.owner.is_empty() => format!("{}\n", c.owner).into_bytes(),
            _ => Vec::new(),
        },
        "log" => lines(&snapshot.log.service, ""),
        "messages" => lines(&snapshot.messages, "# "),
        "config" => snapshot.config_text.as_bytes().to_vec(),
        "docker_host" => format!("{}\n", snapshot.docker_host).into_bytes(),
        "frozen" => snapshot.frozen.render().into_bytes(),
        "hold" => lines(&snapshot.frozen.holders, ""),
        // A stream: what a read returns is not in the tree.
        "events" => Vec::new(),
        _ => Vec::new(),
    }
}

fn resource_file(
    snapshot: &ServiceSnapshot,
    resource: &ResourceSnapshot,
    file: &str,
) -> Option<Vec<u8>> {
    Some(match file {
        "status" => format!("{}\n", resource.state.status).into_bytes(),
        "label" => format!("{}\n", resource.state.label).into_bytes(),
        "messages" => lines(&resource.state.messages, "# "),
        "ctl" => resource_ctl_help(resource.verbs, resource.outside_actions).into_bytes(),
        "log" => lines(snapshot.log.resource(resource.rid.as_str()), ""),
        "failures" => resource.failures.render().into_bytes(),
        "type" => format!("{}\n", type_value(resource)?).into_bytes(),
        name if resource.state.files.iter().any(|(n, _)| *n == name) => {
            let (_, content) = resource.state.files.iter().find(|(n, _)| *n == name)?;
            content.as_bytes().to_vec()
        }
        keyword => {
            let (_, value) = resource
                .keywords
                .iter()
                .rev()
                .find(|(k, _)| *k == keyword)?;
            format!("{value}\n").into_bytes()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actionlog::ServiceLog;
    use crate::engine::snapshot::snapshot_of;
    use crate::model::Status;
    use std::time::Duration;

    const FILE: &str =
        "[container#1]\nrun_image = busybox\n[fs#1]\ndev = /d\nmnt = /m\ntype = ext4\n";

    fn snapshot(text: &str, states: &[(&str, Status)]) -> ServiceSnapshot {
        snapshot_of("a", text, states)
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn names(files: &[FileNode]) -> Vec<&str> {
        files.iter().map(|f| &*f.name).collect()
    }

    fn text(node: Option<&FileNode>) -> &str {
        std::str::from_utf8(&node.unwrap().content).unwrap()
    }

    #[test]
    fn a_service_lists_its_files_then_its_resources() {
        let tree = service_tree(&snapshot(FILE, &[]), None, at(1));
        assert_eq!(names(&tree.files), SERVICE_FILES);
        let rids: Vec<&str> = tree.resources.iter().map(|r| &*r.rid).collect();
        assert_eq!(rids, ["container#1", "fs#1"]);
        assert_eq!(tree.file("ctl").unwrap().kind, FileKind::Ctl);
        assert_eq!(tree.file("status").unwrap().kind, FileKind::ReadOnly);
        assert!(tree.file("nope").is_none());
        assert_eq!(tree.generation, 1);
    }

    #[test]
    fn a_clustered_service_shows_its_owner_verbs_and_hb() {
        use crate::model::ClusterShown;
        let plain = service_tree(&snapshot(FILE, &[]), None, at(1));
        assert!(plain.file("owner").is_none());
        assert!(!text(plain.file("ctl")).contains("switch"));
        assert!(text(plain.file("overview")).ends_with("'- hb                     n/a\n"));
        let mut s = snapshot(FILE, &[]);
        s.cluster = Some(Arc::new(ClusterShown {
            owner: "n2".into(),
            hb: Status::Up,
            nodes: Vec::new(),
            messages: Vec::new(),
        }));
        let tree = service_tree(&s, None, at(1));
        assert_eq!(&names(&tree.files)[..SERVICE_FILES.len()], SERVICE_FILES);
        assert_eq!(text(tree.file("owner")), "n2\n");
        assert!(text(tree.file("ctl")).ends_with("thaw\nswitch NODE\ntakeover\ngiveback\n"));
        assert!(text(tree.file("overview")).ends_with("'- hb                     up\n"));
        s.cluster = Some(Arc::new(ClusterShown {
            owner: String::new(),
            hb: Status::Down,
            nodes: Vec::new(),
            messages: Vec::new(),
        }));
        let unowned = service_tree(&s, Some(&tree), at(2));
        assert_eq!(text(unowned.file("owner")), "");
    }

    #[test]
    fn docker_host_names_the_daemon_as_docker_h_takes_it() {
        let mut snapshot = snapshot(FILE, &[]);
        snapshot.docker_host = "unix:///var/lib/svcfs/a/docker.sock".into();
        let tree = service_tree(&snapshot, None, at(1));
        assert_eq!(
            text(tree.file("docker_host")),
            "unix:///var/lib/svcfs/a/docker.sock\n"
        );
    }

    #[test]
    fn resource_directories_have_one_file_per_keyword() {
        let tree = service_tree(&snapshot(FILE, &[]), None, at(1));
        let container = tree.resource("container#1").unwrap();
        assert_eq!(
            names(&container.files),
            [
                "status",
                "label",
                "messages",
                "ctl",
                "log",
                "failures",
                "type",
                "run_image"
            ]
        );
        let fs = tree.resource("fs#1").unwrap();
        assert_eq!(
            names(&fs.files),
            ["status", "label", "messages", "ctl", "log", "failures", "type", "dev", "mnt"]
        );
        assert_eq!(text(fs.file("type")), "ext4\n");
        assert_eq!(text(container.file("type")), "docker\n");
        assert_eq!(text(container.file("run_image")), "busybox\n");
        assert_eq!(
            text(container.file("ctl")),
            "start\nstop\nrestart\nclear\nrollback\n"
        );
    }

    #[test]
    fn files_a_driver_shows_follow_the_standard_ones_and_are_state() {
        let mut snapshot = snapshot(FILE, &[]);
        let resource = &mut snapshot.resources[0];
        resource.keywords = [("info", "/bin/info-cmd".to_string())].into();
        resource.state.files = vec![("info", "version: 3\n".into())];
        let tree = service_tree(&snapshot, None, at(1));
        let dir = tree.resource("container#1").unwrap();
        assert_eq!(
            names(&dir.files),
            ["status", "label", "messages", "ctl", "log", "failures", "type", "info"]
        );
        let info = dir.file("info").unwrap();
        // The driver's file wins over the keyword's: the command is in
        // `config`.
        assert_eq!(text(Some(info)), "version: 3\n");
        assert_eq!(info.kind, FileKind::ReadOnly);
    }

    #[test]
    fn details_of_the_driver_are_state_files_before_the_keywords() {
        let mut s = snapshot(FILE, &[("container#1", Status::Up)]);
        s.resources[0].state.files = vec![
            ("id", "0ad119ede2a3\n".into()),
            (
                "ports",
                "8000/tcp 0.0.0.0:8888\n8001/tcp 0.0.0.0:8889\n".into(),
            ),
        ];
        let tree = service_tree(&s, None, at(1));
        let c1 = tree.resource("container#1").unwrap();
        assert_eq!(names(&c1.files)[6..], ["type", "id", "ports", "run_image"]);
        assert_eq!(c1.file("id").unwrap().kind, FileKind::ReadOnly);
        assert_eq!(
            c1.file("run_image").unwrap().kind,
            FileKind::Config { public: false }
        );
        assert_eq!(
            text(c1.file("ports")),
            "8000/tcp 0.0.0.0:8888\n8001/tcp 0.0.0.0:8889\n"
        );
        assert!(c1.live.is_none() && c1.live_files().is_empty());
    }

    #[test]
    fn contents_come_from_the_snapshot() {
        let tree = service_tree(&snapshot(FILE, &[]), None, at(1));
        // Not refreshed yet: the state says so.
        assert_eq!(text(tree.file("status")), "warn\n");
        assert_eq!(
            text(tree.resource("container#1").unwrap().file("messages")),
            "# status not checked yet\n"
        );
        assert_eq!(text(tree.file("config")), FILE);
        assert!(text(tree.file("ctl")).contains("startcontainer"));
        let up = service_tree(
            &snapshot(FILE, &[("container#1", Status::Up), ("fs#1", Status::Up)]),
            None,
            at(1),
        );
        assert_eq!(text(up.file("status")), "up\n");
        assert_eq!(text(up.resource("fs#1").unwrap().file("label")), "label\n");
        assert!(text(up.file("overview")).starts_with("a\n"));
        assert!(text(up.file("status.json")).contains("\"overall\": \"up\""));
    }

    #[test]
    fn unchanged_files_keep_their_bytes_and_mtime_across_generations() {
        let first = service_tree(&snapshot(FILE, &[("container#1", Status::Up)]), None, at(1));
        let second = service_tree(
            &snapshot(FILE, &[("container#1", Status::Down)]),
            Some(&first),
            at(2),
        );
        assert_eq!(second.generation, 2);
        let (c1, c2) = (
            first.resource("container#1").unwrap(),
            second.resource("container#1").unwrap(),
        );
        assert_eq!(text(c2.file("status")), "down\n");
        assert_eq!(c2.file("status").unwrap().mtime, at(2));
        assert!(!Arc::ptr_eq(
            &c1.file("status").unwrap().content,
            &c2.file("status").unwrap().content
        ));
        // The label did not change: same buffer, same mtime.
        assert!(Arc::ptr_eq(
            &c1.file("label").unwrap().content,
            &c2.file("label").unwrap().content
        ));
        assert_eq!(c2.file("label").unwrap().mtime, at(1));
        assert!(Arc::ptr_eq(
            &first.file("config").unwrap().content,
            &second.file("config").unwrap().content
        ));
        // Same resources: the listing did not change.
        assert_eq!(second.mtime, at(1));
        assert_eq!(c2.mtime, at(1));
    }

    #[test]
    fn metrics_series_are_carried_while_they_do_not_change() {
        let first = service_tree(&snapshot(FILE, &[("container#1", Status::Up)]), None, at(1));
        let same = service_tree(
            &snapshot(FILE, &[("container#1", Status::Up)]),
            Some(&first),
            at(2),
        );
        assert!(Arc::ptr_eq(&first.metrics, &same.metrics));
        let down = service_tree(
            &snapshot(FILE, &[("container#1", Status::Down)]),
            Some(&same),
            at(3),
        );
        assert!(!Arc::ptr_eq(&same.metrics, &down.metrics));
        let text = crate::render::metrics_text(std::slice::from_ref(&down.metrics));
        assert!(
            text.contains("rid=\"container#1\",type=\"container\"} 3.000\n"),
            "{text}"
        );
    }

    #[test]
    fn configuration_files_are_marked_and_a_change_of_readers_is_a_new_node() {
        let private = snapshot(FILE, &[]);
        let first = service_tree(&private, None, at(1));
        let kind = |tree: &ServiceTree, dir: Option<&str>, name: &str| {
            let files = match dir {
                Some(rid) => &tree.resource(rid).unwrap().files,
                None => &tree.files,
            };
            find_file(files, name).unwrap().kind
        };
        let private_kind = FileKind::Config { public: false };
        assert_eq!(kind(&first, None, "config"), private_kind);
        for name in ["type", "run_image"] {
            assert_eq!(kind(&first, Some("container#1"), name), private_kind);
        }
        for name in ["dev", "mnt", "type"] {
            assert_eq!(kind(&first, Some("fs#1"), name), private_kind);
        }
        for name in ["status", "label", "messages", "log", "failures"] {
            assert_eq!(kind(&first, Some("fs#1"), name), FileKind::ReadOnly);
        }
        for name in ["status", "overview", "status.json", "log", "messages"] {
            assert_eq!(kind(&first, None, name), FileKind::ReadOnly, "{name}");
        }
        let mut public = snapshot(FILE, &[]);
        public.config_public = true;
        let second = service_tree(&public, Some(&first), at(2));
        let (before, after) = (
            first.file("config").unwrap(),
            second.file("config").unwrap(),
        );
        assert_eq!(after.kind, FileKind::Config { public: true });
        // Its mode changed: the kernel must hear of it like of new bytes.
        assert!(!Arc::ptr_eq(&before.content, &after.content));
        assert_eq!(before.content, after.content);
        // State files did not change.
        assert!(Arc::ptr_eq(
            &first.file("status").unwrap().content,
            &second.file("status").unwrap().content
        ));
    }

    #[test]
    fn a_listing_change_moves_the_directory_mtime() {
        let first = service_tree(&snapshot(FILE, &[]), None, at(1));
        let fewer = "[container#1]\nrun_image = busybox\n";
        let second = service_tree(&snapshot(fewer, &[]), Some(&first), at(5));
        assert_eq!(second.mtime, at(5));
        assert!(second.resource("fs#1").is_none());
    }

    #[test]
    fn log_files_show_the_snapshot_lines_and_follow_their_sequence() {
        let log = ServiceLog::new("a");
        log.resource("container#1").info("started");
        let mut s = snapshot(FILE, &[]);
        s.log = log.lines();
        let first = service_tree(&s, None, at(1));
        let service_log = text(first.file("log"));
        assert!(service_log.contains(" A.CONTAINER#1 "), "{service_log}");
        assert!(service_log.ends_with(" started\n"), "{service_log}");
        let c1 = first.resource("container#1").unwrap();
        assert!(text(c1.file("log")).ends_with("started\n"));
        assert_eq!(text(first.resource("fs#1").unwrap().file("log")), "");
        let again = service_tree(&s, Some(&first), at(2));
        assert!(Arc::ptr_eq(
            &first.file("log").unwrap().content,
            &again.file("log").unwrap().content
        ));
        log.resource("fs#1").warn("odd");
        s.log = log.lines();
        let moved = service_tree(&s, Some(&again), at(3));
        assert!(text(moved.file("log")).ends_with(" odd\n"));
        assert!(text(moved.resource("fs#1").unwrap().file("log")).contains(" A.FS#1 "));
        assert_eq!(moved.file("log").unwrap().mtime, at(3));
    }
}
