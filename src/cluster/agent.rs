//! The cluster in the daemon: the [`Node`] driven by its loops (the lease,
//! its fence, placement, the `cluster/` directory), the engine as the
//! node's [`Host`], the ctl verbs of placed services, and what the tree
//! shows of them.
//!
//! Placement follows an etcd watch on every svcfs key: a change written on
//! any node (an intent, a switch's target, a claim released, a lease that
//! expired with a dead node's keys) wakes every node at once, and each
//! service is placed on its own, so one slow start holds no other. A pass
//! every renewal period remains, for what no key says (a resource that
//! went down here) and while the watch is broken.
//!
//! The lease and fence loops never wait on an action: a long start must
//! not stop the renewals, and the fence must be on time whatever placement
//! and the renewals are doing.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::node::{Host, Node, ServiceInfo};
use super::placement::{choose, file_digest, InstanceState, View, PREFIX};
use super::store::Changes;
use crate::bounded::bounded;
use crate::engine::{ClusterControl, Engine, ServiceCommand, ServiceRuntime, Verb};
use crate::error::{Error, Result};
use crate::model::{ClusterShown, Status};
use crate::render::tree::{cluster_tree, ClusterTree};
use crate::sync::lock;

/// How long the fence waits for interrupted actions to let go of their
/// services (the status checks after them) before it stops them anyway.
const INTERRUPTED_ENDS: Duration = Duration::from_secs(1);

/// How long a ctl verb that waits for its end goes without re-reading
/// the keys when no change wakes it (the watch broken).
const WAIT_POLL: Duration = Duration::from_secs(1);

/// What a ctl verb waits for its end beyond the lease TTL (the start of
/// the service on the node that takes it).
const WAIT_BEYOND_TTL: Duration = Duration::from_secs(120);

/// How many more times, and how far apart, a node that cannot reach etcd
/// at its start tries to join before it mounts anyway.
const JOIN_TRIES: usize = 2;
const JOIN_RETRY: Duration = Duration::from_millis(300);

/// The cluster side of a daemon.
pub struct Agent {
    node: Node,
    engine: Weak<Engine>,
    origin: Instant,
    /// The node left the cluster: the loops end (no rejoin).
    left: AtomicBool,
    /// The daemon is stopping: no new placement (the lease is still kept,
    /// and fenced on, until the node leaves).
    placing_stopped: AtomicBool,
    /// The root `cluster/` directory as last rendered.
    tree: Mutex<Option<Arc<ClusterTree>>>,
    /// Counts the changes etcd reported: what ctl verbs wait on.
    changes: tokio::sync::watch::Sender<u64>,
    /// Wakes placement at once: a service's placement here did something.
    nudge: tokio::sync::Notify,
    /// The services whose placement runs now (one at a time each).
    placing: Mutex<HashSet<String>>,
}

impl Agent {
    /// The agent of `engine`, as `node`; hands the engine its ctl writes.
    pub fn attach(engine: &Arc<Engine>, node: Node) -> Arc<Agent> {
        let agent = Arc::new(Agent {
            node,
            engine: Arc::downgrade(engine),
            origin: Instant::now(),
            left: AtomicBool::new(false),
            placing_stopped: AtomicBool::new(false),
            // Empty until the first pass, but there from the mount on.
            tree: Mutex::new(Some(Arc::new(cluster_tree(
                &[],
                &[],
                None,
                std::time::SystemTime::now(),
            )))),
            changes: tokio::sync::watch::Sender::new(0),
            nudge: tokio::sync::Notify::new(),
            placing: Mutex::new(HashSet::new()),
        });
        engine.set_cluster(agent.clone());
        agent
    }

    /// Join the cluster before the tree is mounted: this node's first
    /// lease. What no retry mends — TLS, the credentials, the role's
    /// permissions — is returned, so that the daemon exits before it
    /// mounts or starts anything. An etcd that does not answer (EAGAIN)
    /// is not: the node mounts, runs nothing, and joins once it answers.
    pub async fn join(&self) -> Result<()> {
        let mut joined = self.node.keep_alive(self.now()).await;
        // A connection that a member closes at once (refusing this node's
        // certificate) may read as lost rather than refused: look again,
        // then ask why, before calling etcd unreachable.
        for _ in 0..JOIN_TRIES {
            if !matches!(&joined, Err(e) if e.errno() == libc::EAGAIN) {
                break;
            }
            tokio::time::sleep(JOIN_RETRY).await;
            joined = self.node.keep_alive(self.now()).await;
        }
        match joined {
            Ok(()) => {
                tracing::info!(node = %self.node.name(), "joined the cluster");
                Ok(())
            }
            Err(e) if e.errno() == libc::EAGAIN => match self.node.store().refusal().await {
                Some(refused) => Err(Error::new(
                    refused.errno(),
                    format!("cannot join the cluster: {}", refused.message()),
                )),
                None => {
                    tracing::warn!(node = %self.node.name(), "cannot join the cluster yet: {e}; this node runs nothing until etcd answers");
                    Ok(())
                }
            },
            Err(e) => Err(Error::new(
                e.errno(),
                format!("cannot join the cluster: {}", e.message()),
            )),
        }
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Start the lease and placement loops (within a tokio runtime).
    pub fn spawn(self: &Arc<Self>) {
        for runtime in self.placed() {
            let config = runtime.loaded().config.clone();
            if let Some(warning) = stop_warning(&config, self.node.timings()) {
                tracing::warn!(service = %runtime.name(), "{warning}");
                runtime
                    .log()
                    .service_line(crate::actionlog::Level::Warning, &warning);
            }
        }
        let agent = Arc::clone(self);
        tokio::spawn(async move { agent.lease_loop().await });
        let agent = Arc::clone(self);
        tokio::spawn(async move { agent.fence_loop().await });
        let agent = Arc::clone(self);
        tokio::spawn(async move { agent.placement_loop().await });
        let agent = Arc::clone(self);
        tokio::spawn(async move { agent.cluster_dir_loop().await });
    }

    fn placing_ended(&self) -> bool {
        self.left.load(Ordering::SeqCst) || self.placing_stopped.load(Ordering::SeqCst)
    }

    async fn lease_loop(&self) {
        let renew = self.node.timings().renew;
        while !self.left.load(Ordering::SeqCst) {
            let sent = self.now();
            if let Err(e) = self.node.keep_alive(sent).await {
                tracing::warn!(node = %self.node.name(), "lease renewal failed: {e}");
            }
            tokio::time::sleep((sent + renew).saturating_sub(self.now())).await;
        }
    }

    /// Wakes at the fence instant, whatever the renewals are doing (one
    /// can take a second per endpoint): the stop budget starts on time.
    /// Before the first lease, the daemon's start counts as the last
    /// renewal: services a previous daemon left running are fenced too if
    /// etcd cannot be reached.
    async fn fence_loop(&self) {
        let retry = self.node.timings().renew / 4;
        while !self.left.load(Ordering::SeqCst) {
            let fence_at = self
                .node
                .fence_at()
                .unwrap_or(self.node.timings().fence_after);
            let now = self.now();
            if now < fence_at {
                tokio::time::sleep((fence_at - now).min(retry)).await;
                continue;
            }
            self.interrupt_actions().await;
            if !self.node.fence(self.now(), self).await.is_empty() {
                self.show();
            }
            tokio::time::sleep(retry).await;
        }
    }

    /// A pass at each change etcd reports, at each end of an action of
    /// placement here, and every renewal period.
    async fn placement_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.node.timings().renew);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut watch: Option<Box<dyn Changes>> = None;
        loop {
            if self.placing_ended() {
                return;
            }
            // The watch first: a change made while the pass reads is
            // seen by it, and wakes the next pass.
            if watch.is_none() {
                match self.node.store().watch(PREFIX).await {
                    Ok(changes) => watch = Some(changes),
                    Err(e) => tracing::debug!(node = %self.node.name(), "no etcd watch: {e}"),
                }
            }
            self.pass().await;
            let changed = tokio::select! {
                changed = async {
                    match watch.as_mut() {
                        Some(changes) => changes.next().await,
                        None => std::future::pending().await,
                    }
                } => Some(changed),
                _ = tick.tick() => None,
                _ = self.nudge.notified() => None,
            };
            if let Some(Err(e)) = changed {
                tracing::debug!(node = %self.node.name(), "the etcd watch ended: {e}");
                watch = None;
            }
        }
    }

    /// Read the keys, then place each service that is not being placed
    /// already (its own pass ends, then nudges the next). The read is
    /// awaited (bounded, a second per endpoint): views are read one after
    /// the other, never an older one over a newer.
    async fn pass(self: &Arc<Self>) {
        let view = self.node.read_view().await;
        // Writers waiting for an end read again.
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        let view = match view {
            Ok(view) => view,
            Err(e) => {
                tracing::debug!(node = %self.node.name(), "placement pass: {e}");
                self.show();
                return;
            }
        };
        let now = self.now();
        for info in Host::services(&**self) {
            if self.placing_ended() || !lock(&self.placing).insert(info.name.clone()) {
                continue;
            }
            let agent = Arc::clone(self);
            let view = view.clone();
            tokio::spawn(async move {
                let name = info.name.clone();
                let placed = agent.node.place_service(info, &view, now, &*agent).await;
                lock(&agent.placing).remove(&name);
                match placed {
                    Ok(true) => agent.nudge.notify_one(),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::debug!(node = %agent.node.name(), service = %name, "placement: {e}")
                    }
                }
                agent.show();
            });
        }
        self.show();
    }

    /// `cluster/` again every renewal period (each endpoint's health and
    /// each member's TTL are asked, so not at every change).
    async fn cluster_dir_loop(&self) {
        let mut tick = tokio::time::interval(self.node.timings().renew);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.left.load(Ordering::SeqCst) {
            tick.tick().await;
            self.render_cluster().await;
        }
    }

    /// With `--autostart`: the services whose autostart_node is this node
    /// are wanted up, unless an intent is already there (a `stop` stays).
    pub async fn autostart(&self) {
        let Some(engine) = self.engine.upgrade() else {
            return;
        };
        for runtime in engine.services() {
            let config = runtime.loaded().config.clone();
            if !self.places(&runtime)
                || !config
                    .defaults
                    .autostart_node
                    .iter()
                    .any(|n| n == self.node.name())
            {
                continue;
            }
            let key = super::placement::service_key(runtime.name(), "expect");
            if let Err(e) = self.node.store().create(&key, "up", 0).await {
                tracing::error!(service = %runtime.name(), "autostart: {e}");
            }
        }
    }

    /// The daemon stops: place nothing more, while running actions end.
    pub fn stop_placing(&self) {
        self.placing_stopped.store(true, Ordering::SeqCst);
    }

    /// Leave the cluster (daemon stop, once actions ended).
    pub async fn leave(&self) {
        self.left.store(true, Ordering::SeqCst);
        if let Err(e) = self.node.leave(self).await {
            tracing::warn!(node = %self.node.name(), "leaving the cluster: {e}");
        }
    }

    /// Before the fence's stops: end every action that runs on a placed
    /// service, whoever wrote it, so that the stops are not refused
    /// (EBUSY) until the lease has expired and a peer may start the
    /// service too; then wait a little for their locks.
    async fn interrupt_actions(&self) {
        let mut acting = Vec::new();
        for runtime in self.placed() {
            let why = Error::no_quorum(format!(
                "{}: interrupted: this node is fencing (etcd cannot renew its lease), so it stops the service",
                runtime.name()
            ));
            if runtime.interrupt(why) {
                acting.push(runtime);
            }
        }
        if acting.is_empty() {
            return;
        }
        let ended = crate::bounded::poll_until(
            "the end of interrupted actions",
            self.node.name(),
            INTERRUPTED_ENDS,
            Duration::from_millis(20),
            || {
                let done = acting.iter().all(|r| !r.is_acting());
                async move { Ok(done.then_some(())) }
            },
        )
        .await;
        if let Err(e) = ended {
            tracing::warn!(node = %self.node.name(), "{e}: the fence's stop is retried until they end");
        }
    }

    fn placed(&self) -> Vec<Arc<ServiceRuntime>> {
        let Some(engine) = self.engine.upgrade() else {
            return Vec::new();
        };
        engine
            .services()
            .into_iter()
            .filter(|r| self.places(r))
            .collect()
    }

    /// Show every placed service's owner, nodes and `hb` in its files.
    fn show(&self) {
        let view = self.node.view();
        let health = self.node.health(self.now());
        let hb = match (health.confident, &health.trouble) {
            (true, None) => Status::Up,
            (true, Some(_)) => Status::Warn,
            (false, _) => Status::Down,
        };
        for runtime in self.placed() {
            let service = view.service(runtime.name());
            let config = runtime.loaded().config.clone();
            let alive = |node: &str| view.members.contains(node);
            let nodes = config
                .defaults
                .nodes
                .iter()
                .map(|node| {
                    let (status, state) = if node == self.node.name() {
                        let status = runtime.snapshot().avail.as_str().to_string();
                        let state = if runtime.is_frozen() || service.frozen {
                            InstanceState::Frozen
                        } else {
                            self.node.state(runtime.name())
                        };
                        (status, state.as_str().to_string())
                    } else {
                        match service.instances.get(node) {
                            Some(i) => (i.status.clone(), i.state.as_str().to_string()),
                            // Alive without an instance of it (not placed
                            // there yet, or no such service there): it
                            // does not run it.
                            None if alive(node) => ("n/a".to_string(), "down".to_string()),
                            None => ("n/a".to_string(), "n/a".to_string()),
                        }
                    };
                    (node.clone(), status, state)
                })
                .collect();
            let (reference, differing) =
                service.differing(self.node.name(), &file_digest(&config.text));
            let messages = if differing.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "the service file differs on {} from {reference}'s: a switch there is refused until the files are equal (compare sha256sum of the file on each node)",
                    differing.join(", ")
                )]
            };
            runtime.show_cluster(ClusterShown {
                owner: service.owner.map(|(o, _)| o).unwrap_or_default(),
                hb,
                nodes,
                messages,
            });
        }
    }

    /// Render `cluster/`: each endpoint's health, and each node (the
    /// members and every node a placed service names) with whether it is
    /// alive and its lease's TTL left (this node's from its own clock).
    async fn render_cluster(&self) {
        let endpoints = self.node.store().health().await;
        let view = self.node.view();
        let mut names: std::collections::BTreeSet<String> = view.members.clone();
        for runtime in self.placed() {
            names.extend(runtime.loaded().config.defaults.nodes.iter().cloned());
        }
        let mut members = Vec::new();
        for name in names {
            let alive = view.members.contains(&name);
            let ttl = if name == self.node.name() {
                self.node.health(self.now()).lease_left
            } else {
                match view.member_leases.get(&name) {
                    Some(&lease) if alive => self
                        .node
                        .store()
                        .time_to_live(lease)
                        .await
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                    _ => Duration::ZERO,
                }
            };
            members.push((name, alive, ttl.as_secs()));
        }
        let endpoints: Vec<(String, &str)> = endpoints
            .iter()
            .map(|(url, health)| (url.clone(), health.as_str()))
            .collect();
        let previous = lock(&self.tree).clone();
        let tree = cluster_tree(
            &endpoints,
            &members,
            previous.as_deref(),
            std::time::SystemTime::now(),
        );
        *lock(&self.tree) = Some(Arc::new(tree));
    }

    async fn read_view(&self) -> Result<View> {
        Ok(View::of(&self.node.store().list(PREFIX).await?))
    }

    /// Re-read the keys until `done` says so, at each change etcd reports
    /// (at least every [`WAIT_POLL`]), bounded.
    async fn wait_for(
        &self,
        service: &str,
        what: &str,
        done: impl Fn(&View) -> bool,
    ) -> Result<()> {
        let limit = self.node.timings().ttl + WAIT_BEYOND_TTL;
        let mut changes = self.changes.subscribe();
        let wait = async {
            loop {
                changes.borrow_and_update();
                if done(&self.read_view().await?) {
                    return Ok(());
                }
                let _ = tokio::time::timeout(WAIT_POLL, changes.changed()).await;
            }
        };
        bounded(what, service, limit, wait).await
    }

    async fn wait_up_on(&self, service: &str, node: Option<&str>) -> Result<()> {
        self.wait_for(service, "start in the cluster", |view| {
            let s = view.service(service);
            let owner = s.owner.as_ref().map(|(o, _)| o.as_str());
            owner.is_some_and(|o| node.is_none_or(|n| n == o))
                && owner
                    .and_then(|o| s.instances.get(o))
                    .is_some_and(|i| i.state == InstanceState::Up)
        })
        .await
    }

    async fn wait_down(&self, service: &str) -> Result<()> {
        self.wait_for(service, "stop in the cluster", |view| {
            let s = view.service(service);
            s.owner.is_none()
                && s.instances.values().all(|i| {
                    !matches!(
                        i.state,
                        InstanceState::Up | InstanceState::Starting | InstanceState::Stopping
                    )
                })
        })
        .await
    }

    async fn move_to(&self, runtime: &ServiceRuntime, to: &str) -> Result<()> {
        let config = runtime.loaded().config.clone();
        self.node
            .switch(
                runtime.name(),
                &config.defaults.nodes,
                to,
                &file_digest(&config.text),
            )
            .await?;
        self.wait_up_on(runtime.name(), Some(to)).await
    }

    async fn command(&self, runtime: &Arc<ServiceRuntime>, command: &ServiceCommand) -> Result<()> {
        let name = runtime.name();
        let whole = command.rids.is_empty();
        match command.verb {
            Verb::Start if whole => {
                self.node.expect(name, true).await?;
                self.wait_up_on(name, None).await
            }
            Verb::Stop if whole => {
                self.node.expect(name, false).await?;
                self.wait_down(name).await
            }
            Verb::Restart if whole => {
                self.node.expect(name, false).await?;
                self.wait_down(name).await?;
                self.node.expect(name, true).await?;
                self.wait_up_on(name, None).await
            }
            Verb::Switch => {
                let to = command
                    .node
                    .as_deref()
                    .ok_or_else(|| Error::invalid("switch takes one node name: switch NODE"))?;
                self.move_to(runtime, to).await
            }
            Verb::Takeover => self.move_to(runtime, self.node.name()).await,
            Verb::Giveback => {
                let view = self.read_view().await?;
                let config = runtime.loaded().config.clone();
                let mut service = view.service(name);
                // Where it would go if nothing had moved it.
                service.target = None;
                let to = choose(
                    &config.defaults.nodes,
                    &config.defaults.autostart_node,
                    None,
                    &view.members,
                    &service,
                )
                .ok_or_else(|| Error::host_down("giveback: no node of the service is alive"))?
                .to_string();
                self.move_to(runtime, &to).await
            }
            Verb::Freeze | Verb::Thaw => {
                self.node.freeze(name, command.verb == Verb::Freeze).await?;
                self.run_here(runtime, command).await
            }
            Verb::Clear => {
                self.node.clear(name);
                self.run_here(runtime, command).await
            }
            _ => {
                self.may_act_here(runtime).await?;
                self.run_here(runtime, command).await
            }
        }
    }

    async fn run_here(&self, runtime: &ServiceRuntime, command: &ServiceCommand) -> Result<()> {
        let engine = self
            .engine
            .upgrade()
            .ok_or_else(|| Error::backend("the daemon is stopping"))?;
        let options = engine.options();
        runtime
            .run(
                command.verb,
                &command.rids,
                &options.nodename,
                options.status_timeout,
            )
            .await
    }
}

#[async_trait]
impl ClusterControl for Agent {
    fn places(&self, runtime: &ServiceRuntime) -> bool {
        super::placement::places_on(&runtime.loaded().config, self.node.name())
    }

    async fn service_command(
        &self,
        runtime: &Arc<ServiceRuntime>,
        command: &ServiceCommand,
    ) -> Result<()> {
        let what = command.verb.as_str();
        let result = self.command(runtime, command).await;
        let log = runtime.log();
        match &result {
            Ok(()) => log.service_line(
                crate::actionlog::Level::Info,
                &format!("{what} (cluster): done"),
            ),
            Err(e) => log.service_line(
                crate::actionlog::Level::Error,
                &format!("{what} (cluster): {e}"),
            ),
        }
        self.show();
        result
    }

    fn tree(&self) -> Option<Arc<ClusterTree>> {
        lock(&self.tree).clone()
    }

    async fn may_act_here(&self, runtime: &ServiceRuntime) -> Result<()> {
        // Fresh: the cached view may be a pass behind a switch.
        let view = self.read_view().await?;
        match view.service(runtime.name()).owner {
            Some((owner, _)) if owner == self.node.name() => Ok(()),
            Some((owner, _)) => Err(Error::access(format!(
                "{} runs on {owner}: act there, or switch it here",
                runtime.name()
            ))),
            None => Err(Error::access(format!(
                "{} is owned by no node: start it (the cluster places it)",
                runtime.name()
            ))),
        }
    }
}

#[async_trait]
impl Host for Agent {
    fn services(&self) -> Vec<ServiceInfo> {
        self.placed()
            .iter()
            .map(|runtime| {
                let config = runtime.loaded().config.clone();
                let snapshot = runtime.snapshot();
                // Up resources, not the aggregate: a service not checked
                // yet is "warn" without anything running.
                let running = snapshot
                    .resources
                    .iter()
                    .any(|r| r.state.status == Status::Up);
                ServiceInfo {
                    name: runtime.name().to_string(),
                    nodes: config.defaults.nodes.clone(),
                    preferred: config.defaults.autostart_node.clone(),
                    frozen: runtime.is_frozen(),
                    running,
                    status: snapshot.avail.as_str().to_string(),
                    digest: file_digest(&config.text),
                }
            })
            .collect()
    }

    fn placement_changed(&self) {
        self.show();
    }

    async fn start(&self, service: &str) -> Result<()> {
        self.act(service, Verb::Start, None).await
    }

    async fn stop(&self, service: &str, budget: Duration) -> Result<()> {
        self.act(service, Verb::Stop, Some(budget)).await
    }
}

impl Agent {
    async fn act(&self, service: &str, verb: Verb, budget: Option<Duration>) -> Result<()> {
        let engine = self
            .engine
            .upgrade()
            .ok_or_else(|| Error::backend("the daemon is stopping"))?;
        let runtime = engine
            .service(service)
            .ok_or_else(|| Error::not_found(format!("no service {service}")))?;
        let options = engine.options();
        let run = runtime.run(verb, &[], &options.nodename, options.status_timeout);
        let result = match budget {
            Some(budget) => bounded(verb.as_str(), service, budget, run).await,
            None => run.await,
        };
        engine.refresh(&[service.to_string()]).await;
        result
    }
}

/// The warning of a service whose resources' stop timeouts (their kinds'
/// `Spec::stop_budget`), together, exceed what a fencing node has to stop it (docs/cluster.md §5): its
/// lease could expire, and a peer start it, before it has stopped here.
pub fn stop_warning(
    config: &crate::config::ServiceConfig,
    timings: &super::placement::Timings,
) -> Option<String> {
    let worst: Duration = config
        .resources
        .iter()
        .filter(|r| !r.common.disable)
        .filter_map(|r| r.spec.as_ref().ok())
        .map(|spec| spec.stop_budget())
        .sum();
    (!timings.stop_fits(worst)).then(|| {
        format!(
            "the resources' stop timeouts add up to {}, more than the {} a node that loses etcd has to stop them: lower them or raise --cluster-ttl (to at least {})",
            crate::bounded::seconds(worst),
            crate::bounded::seconds(timings.stop_budget),
            crate::bounded::seconds(worst * 2)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::placement::{Timings, DEFAULT_TTL};

    #[test]
    fn containers_that_stop_slower_than_the_fence_allows_are_warned_of() {
        let timings = Timings::from_ttl(DEFAULT_TTL).unwrap();
        let config = |text: &str| {
            crate::config::parse_service(
                &crate::drivers::registry::KINDS,
                "app",
                std::path::Path::new("/x"),
                text,
            )
        };
        let quick = config("[container#1]\nrun_image = a\nstop_timeout = 2\n[container#2]\nrun_image = a\nstop_timeout = 3\n[fs#1]\ndev = /d\nmnt = /m\ntype = ext4\n");
        assert_eq!(stop_warning(&quick, &timings), None);
        // docker's default grace period (10 s) is already too long.
        let slow = config("[container#1]\nrun_image = a\n");
        let warning = stop_warning(&slow, &timings).unwrap();
        assert!(
            warning.contains("add up to 10s, more than the 5s"),
            "{warning}"
        );
        assert!(
            warning.contains("--cluster-ttl (to at least 20s)"),
            "{warning}"
        );
        let disabled = config("[container#1]\nrun_image = a\ndisable = true\n");
        assert_eq!(stop_warning(&disabled, &timings), None);
    }
}
