//! The immutable state of a service that reads are served from: what the
//! engine published at one moment, resources, statuses, messages and the
//! log lines as of that moment. Renderings are functions of a snapshot;
//! the engine builds it (`engine::snapshot`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use super::{
    ActionStats, FailureLedger, Flags, Frozen, KindVerb, LiveRef, ResourceState, Rid, Status,
};

/// One resource as reads see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSnapshot {
    /// Its id.
    pub rid: Rid,
    /// Status, label and messages.
    pub state: ResourceState,
    /// Overview flag columns.
    pub flags: Flags,
    /// Configured keywords, one read-only file each.
    pub keywords: Arc<[(&'static str, String)]>,
    /// The verbs its kind adds to its `ctl` (beyond start, stop, restart
    /// and clear).
    pub verbs: &'static [KindVerb],
    /// The service's actions neither start nor stop it (a task): its
    /// `ctl` takes no start nor stop, and it does not count in `avail`.
    pub outside_actions: bool,
    /// What its `type` file shows when the section sets no `type`: its
    /// kind's default (`docker` for containers), if any.
    pub default_type: Option<&'static str>,
    /// Its failures since the last `clear`.
    pub failures: FailureLedger,
    /// Restarts svcfs made of it since the daemon started.
    pub restarts: u64,
    /// What its driver shows live (files read at open, streams).
    pub live: Option<LiveRef>,
}

/// The action log of a service as of one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogLines {
    /// How many lines were ever logged up to this moment: two publications
    /// with the same number show the same lines.
    pub seq: u64,
    /// The service's lines (its resources' included), oldest first.
    pub service: Vec<Arc<str>>,
    /// Each resource's lines, oldest first, by rid.
    pub resources: HashMap<String, Vec<Arc<str>>>,
}

impl LogLines {
    /// One resource's lines, oldest first.
    pub fn resource(&self, rid: &str) -> &[Arc<str>] {
        self.resources.get(rid).map_or(&[], Vec::as_slice)
    }
}

/// One service as reads see it.
#[derive(Debug, Clone)]
pub struct ServiceSnapshot {
    /// Service name.
    pub name: String,
    /// avail, degraded by optional resources in warn and by file errors.
    pub overall: Status,
    /// Aggregate of the non-optional, enabled resources.
    pub avail: Status,
    /// Resources in display order.
    pub resources: Vec<ResourceSnapshot>,
    /// Service-level messages: load errors and the file's problems.
    pub messages: Vec<String>,
    /// The service file as loaded.
    pub config_text: Arc<str>,
    /// Others may read the service file: the files showing its
    /// configuration are then readable by everyone.
    pub config_public: bool,
    /// The docker daemon that serves the service's containers, as
    /// `docker -H` takes it.
    pub docker_host: Arc<str>,
    /// The action log as of this snapshot.
    pub log: Arc<LogLines>,
    /// The service's actions, counted.
    pub actions: Arc<ActionStats>,
    /// When this snapshot was published: the last time a state, a failure,
    /// the log or the configuration changed.
    pub updated: SystemTime,
    /// Whether, and why, nothing acts on the service automatically.
    pub frozen: Frozen,
    /// Its placement in the cluster (`svcfs mount --cluster` only).
    pub cluster: Option<Arc<ClusterShown>>,
}

/// What the cluster shows of a service (docs/cluster.md §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterShown {
    /// The owning node, empty when none.
    pub owner: String,
    /// The overview's `hb` row: this node's lease (up: trusted, warn:
    /// renewals failing, down: fenced).
    pub hb: Status,
    /// Each node of `nodes`: its name, instance status word and state word.
    pub nodes: Vec<(String, String, String)>,
    /// What the cluster warns of (service files that differ between
    /// nodes): each makes the service `warn`, in its `messages`.
    pub messages: Vec<String>,
}

impl ServiceSnapshot {
    /// Show the service's placement, its warnings degrading `overall`.
    pub fn set_cluster(&mut self, cluster: Option<Arc<ClusterShown>>) {
        if let Some(shown) = &cluster {
            if !shown.messages.is_empty() {
                self.overall = Status::Warn;
                self.messages.extend(shown.messages.iter().cloned());
            }
        }
        self.cluster = cluster;
    }

    /// The resource with this id.
    pub fn resource(&self, rid: &str) -> Option<&ResourceSnapshot> {
        self.resources.iter().find(|r| r.rid.as_str() == rid)
    }
}
