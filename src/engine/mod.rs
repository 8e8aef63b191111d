//! The engine: every loaded service with its runtime, the docker endpoints
//! they use, reloads of the config directory, and the background task that
//! keeps states current (docker events, periodic reconcile) so that reads
//! never wait on a backend.

mod ahead;
mod backends;
mod changes;
mod config_watch;
mod deadline;
mod events;
mod observers;
mod probe;
mod refresher;
mod service;
pub mod snapshot;
mod sweep;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use crate::config::Catalog;
use crate::config::{self, Problem, ServiceConfig};
use crate::docker::naming::service_docker_host;
use crate::docker::DockerApi;
use crate::drivers::registry::KINDS;
use crate::drivers::shared::HostReads;
use crate::drivers::{self, DriverContext};
use crate::error::{Error, Result};
use crate::sync::{lock, read, write};

pub use crate::model::command::ServiceCommand;
pub use crate::model::{parse_resource_command, parse_service_command, Verb};
pub use crate::model::{ResourceSnapshot, ServiceSnapshot};
pub use backends::Backends;
pub use changes::{transitions, ChangeBus, Feed, FEED_LINES};
pub use observers::{Observers, TreeObserver};
pub use refresher::{jittered, sweep_for, Sweep, SAFETY_NET_EVERY};
pub use service::{check_node, LoadedResource, LoadedService, ServiceRuntime};

/// How often the config directory is checked for changes (a stat per file).
const CONFIG_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Where service files live.
    pub config_dir: PathBuf,
    /// svcfs's state directory (private daemon sockets, pid files).
    pub var_dir: PathBuf,
    /// This node's name, checked against `nodes`.
    pub nodename: String,
    /// The docker daemon of services without a private one.
    pub docker_host: String,
    /// Period of the background reconcile of the resources docker events
    /// do not follow (containers: every [`SAFETY_NET_EVERY`]th period).
    pub refresh_interval: Duration,
    /// Bound on one resource's status check.
    pub status_timeout: Duration,
}

/// What the cluster does with the ctl writes of the services it places
/// (`svcfs mount --cluster`; see `crate::cluster::agent`).
#[async_trait::async_trait]
pub trait ClusterControl: Send + Sync {
    /// Whether the cluster places this service (its `nodes` name this node).
    fn places(&self, runtime: &ServiceRuntime) -> bool;
    /// A write to the service's `ctl`, parsed.
    async fn service_command(
        &self,
        runtime: &Arc<ServiceRuntime>,
        command: &ServiceCommand,
    ) -> Result<()>;
    /// Whether this node may act on the service's resources itself (a
    /// resource's `ctl`, `--rid`): only its owner may.
    async fn may_act_here(&self, runtime: &ServiceRuntime) -> Result<()>;
    /// The root `cluster/` directory as last rendered.
    fn tree(&self) -> Option<Arc<crate::render::tree::ClusterTree>>;
}

/// Every service and what they share.
pub struct Engine {
    options: EngineOptions,
    backends: Backends,
    services: RwLock<BTreeMap<String, Arc<ServiceRuntime>>>,
    /// The docker client of each host in use, from [`Backends::docker`].
    endpoints: Mutex<HashMap<String, Arc<dyn DockerApi>>>,
    dir_problems: RwLock<Vec<Problem>>,
    dir_fingerprint: Mutex<Option<Fingerprint>>,
    events: Mutex<Option<events::EventWatchers>>,
    observers: Observers,
    /// When a service last joined or left the tree.
    listing_changed: RwLock<SystemTime>,
    /// Host state read once per refresh pass, shared by every driver.
    host_reads: Arc<HostReads>,
    /// Resources that events asked to refresh, by service, while their
    /// coalesced refresh waits to run.
    pending: Mutex<HashMap<String, BTreeSet<String>>>,
    /// The cluster, with `--cluster`.
    cluster: OnceLock<Arc<dyn ClusterControl>>,
    /// The probes of daemons that did not answer a check, by host.
    probes: Mutex<HashMap<String, probe::ProbeState>>,
    /// What drivers hand over to those of a reloaded service.
    carried: Arc<drivers::Carried>,
    /// A sweep of undeclared resources is asked for (see `sweep`).
    sweep_due: std::sync::atomic::AtomicBool,
    /// A sweep pass runs.
    sweeping: std::sync::atomic::AtomicBool,
}

impl Engine {
    /// An engine with no service loaded yet, whose drivers use `backends`.
    pub fn new(options: EngineOptions, backends: Backends) -> Arc<Engine> {
        let engine = Arc::new(Engine {
            options,
            backends,
            services: RwLock::new(BTreeMap::new()),
            endpoints: Mutex::new(HashMap::new()),
            dir_problems: RwLock::new(Vec::new()),
            dir_fingerprint: Mutex::new(None),
            events: Mutex::new(None),
            observers: Observers::default(),
            listing_changed: RwLock::new(SystemTime::now()),
            host_reads: Arc::default(),
            pending: Mutex::new(HashMap::new()),
            cluster: OnceLock::new(),
            probes: Mutex::new(HashMap::new()),
            carried: Arc::default(),
            sweep_due: Default::default(),
            sweeping: Default::default(),
        });
        let weak = Arc::downgrade(&engine);
        engine.observers.on_unanswered(Arc::new(move |host: &str| {
            if let Some(engine) = weak.upgrade() {
                engine.daemon_unanswered(host);
            }
        }));
        engine
    }

    /// Hand the ctl writes of the services the cluster places to it.
    pub fn set_cluster(&self, cluster: Arc<dyn ClusterControl>) {
        let _ = self.cluster.set(cluster);
    }

    /// The root `cluster/` directory, with `--cluster`.
    pub fn cluster_tree(&self) -> Option<Arc<crate::render::tree::ClusterTree>> {
        self.cluster.get().and_then(|c| c.tree())
    }

    /// The cluster, if it places this service.
    fn placed_by(&self, runtime: &ServiceRuntime) -> Option<&Arc<dyn ClusterControl>> {
        self.cluster.get().filter(|c| c.places(runtime))
    }

    /// Who is told of every publication (the filesystem's invalidation).
    pub fn observers(&self) -> &Observers {
        &self.observers
    }

    /// When a service last joined or left the tree.
    pub fn listing_changed(&self) -> SystemTime {
        *read(&self.listing_changed)
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Services, by name.
    pub fn services(&self) -> Vec<Arc<ServiceRuntime>> {
        read(&self.services).values().cloned().collect()
    }

    /// One service.
    pub fn service(&self, name: &str) -> Option<Arc<ServiceRuntime>> {
        read(&self.services).get(name).cloned()
    }

    /// Problems of the config directory itself.
    pub fn dir_problems(&self) -> Vec<Problem> {
        read(&self.dir_problems).clone()
    }

    /// Names of the services whose containers live in the daemon at `host`.
    pub fn services_on(&self, host: &str) -> Vec<String> {
        self.services()
            .iter()
            .filter(|s| s.loaded().docker_host == host)
            .map(|s| s.name().to_string())
            .collect()
    }

    /// Whether any service lives in the daemon at `host`, without building
    /// every service's host string: each event watcher asks this, so it
    /// must not cost a pass over all services (1000 private daemons asking
    /// over 1000 services was most of an idle daemon's CPU).
    pub fn uses_docker_host(&self, host: &str) -> bool {
        let private = host
            .strip_prefix("unix://")
            .map(std::path::Path::new)
            .and_then(|socket| socket.strip_prefix(&self.options.var_dir).ok())
            .and_then(|rest| match rest.iter().collect::<Vec<_>>()[..] {
                [service, socket] if socket == "docker.sock" => service.to_str(),
                _ => None,
            });
        if let Some(service) = private {
            let served = self
                .service(service)
                .is_some_and(|s| s.loaded().config.defaults.docker_data_dir.is_some());
            if served {
                return true;
            }
        }
        host == self.options.docker_host
            && read(&self.services)
                .values()
                .any(|s| s.loaded().config.defaults.docker_data_dir.is_none())
    }

    /// Drop a docker endpoint no service uses any more.
    pub fn forget_endpoint(&self, host: &str) {
        tracing::debug!(host, "no service uses this docker daemon any more");
        lock(&self.endpoints).remove(host);
        if let Some(watchers) = lock(&self.events).as_mut() {
            watchers.forget(host);
        }
    }

    /// The docker client of `host`, if a service uses it.
    fn endpoint_of(&self, host: &str) -> Option<Arc<dyn DockerApi>> {
        lock(&self.endpoints).get(host).cloned()
    }

    fn endpoint(self: &Arc<Self>, host: &str) -> Arc<dyn DockerApi> {
        let endpoint = lock(&self.endpoints)
            .entry(host.to_string())
            .or_insert_with(|| (self.backends.docker)(host))
            .clone();
        if let Some(watchers) = lock(&self.events).as_mut() {
            watchers.watch(self, &endpoint);
        }
        endpoint
    }

    fn build(self: &Arc<Self>, config: ServiceConfig) -> LoadedService {
        let docker_host = service_docker_host(
            &config.name,
            config.defaults.docker_data_dir.is_some(),
            &self.options.var_dir,
            &self.options.docker_host,
        );
        let ctx = DriverContext {
            carried: self.carried.clone(),
            service: config.name.clone(),
            var_dir: self.options.var_dir.clone(),
            config_dir: self.options.config_dir.clone(),
            nodename: self.options.nodename.clone(),
            docker: self.endpoint(&docker_host),
            runner: self.backends.runner.clone(),
            children: self.backends.children.clone(),
            reads: self.host_reads.clone(),
            // Attached before the first load (daemon.rs), so known here.
            peers: match self.cluster.get() {
                Some(_) => config
                    .defaults
                    .nodes
                    .iter()
                    .filter(|n| **n != self.options.nodename)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            },
        };
        let resources = config
            .resources
            .iter()
            .map(|r| LoadedResource {
                config: r.clone(),
                driver: drivers::build(&ctx, r),
            })
            .collect();
        LoadedService {
            config: Arc::new(config),
            resources,
            docker_host,
        }
    }

    /// Load the config directory again when anything in it changed (or
    /// always, with `force`). Returns the services added or changed.
    pub fn reload(self: &Arc<Self>, force: bool) -> Vec<String> {
        let fingerprint = self.fingerprint();
        {
            let last = lock(&self.dir_fingerprint);
            if !force && last.as_ref() == Some(&fingerprint) {
                return Vec::new();
            }
            // A file being written (`cat > x.env`, a truncate then a write)
            // is loaded once it has held still, not half-written: a
            // truncated file would be a "good" edit with fewer resources.
            if !force
                && last.is_some()
                && still_being_written(&fingerprint.files, SystemTime::now())
            {
                return Vec::new();
            }
        }
        let loaded = config::load_dir(&KINDS, &self.options.config_dir);
        // A file rewritten while it was read (truncated, then written) may
        // have been read in between: what was read is dropped, and the
        // next check loads the file once it holds still.
        if !force && self.fingerprint() != fingerprint {
            return Vec::new();
        }
        *lock(&self.dir_fingerprint) = Some(fingerprint);
        for problem in &loaded.problems {
            tracing::warn!("{problem}");
        }
        *write(&self.dir_problems) = loaded.problems;
        let mut changed = Vec::new();
        // What publishes (and so tells the kernel, which may wait for a
        // read that needs this map) runs once the map's lock is dropped.
        let mut retired = Vec::new();
        let mut reverted = Vec::new();
        let mut rejected = Vec::new();
        let mut replaced = Vec::new();
        let mut services = write(&self.services);
        services.retain(|name, runtime| {
            let keep = loaded.services.contains_key(name);
            if !keep {
                tracing::info!(service = %name, "service file removed: the service leaves the tree (its resources are left as they are)");
                retired.push(Arc::clone(runtime));
            }
            keep
        });
        let mut joined = Vec::new();
        let mut joined_runtimes = Vec::new();
        for (name, config) in loaded.services {
            if let Some(runtime) = services.get(&name) {
                let current = runtime.loaded();
                if current.config.text == config.text
                    && current.config.path == config.path
                    && current.config.others_read == config.others_read
                    && current.config.load_error == config.load_error
                {
                    reverted.push(Arc::clone(runtime));
                    continue;
                }
                // A broken edit never takes a running service down.
                if runtime.refuses(&config) {
                    rejected.push((Arc::clone(runtime), config));
                    continue;
                }
            }
            for problem in &config.problems {
                tracing::warn!("{problem}");
            }
            let built = self.build(config);
            match services.get(&name) {
                Some(runtime) => replaced.push((Arc::clone(runtime), built)),
                None => {
                    tracing::info!(service = %name, "service loaded");
                    let runtime = ServiceRuntime::new(built, self.observers.clone());
                    runtime.keep_freeze_in(self.options.var_dir.join(&name).join("frozen"));
                    joined.push(runtime.tree());
                    joined_runtimes.push(Arc::clone(&runtime));
                    services.insert(name.clone(), runtime);
                }
            }
            changed.push(name);
        }
        drop(services);
        let left: Vec<_> = retired
            .iter()
            .map(|runtime| {
                runtime.retire();
                runtime.tree()
            })
            .collect();
        for runtime in reverted {
            runtime.edit_reverted();
        }
        for (runtime, config) in rejected {
            runtime.reject(&config);
        }
        let limit = self.options.status_timeout;
        let nodename = &self.options.nodename;
        for (runtime, built) in replaced {
            runtime.replace(built);
            runtime.follow_own_checks(limit);
            runtime.follow_schedules(limit, nodename);
        }
        for runtime in &joined_runtimes {
            runtime.follow_own_checks(limit);
            runtime.follow_schedules(limit, nodename);
        }
        if !left.is_empty() || !joined.is_empty() {
            *write(&self.listing_changed) = SystemTime::now();
        }
        // A forced reload (SIGHUP) looks again at everything, the
        // networks left behind too.
        if force || !left.is_empty() || !changed.is_empty() {
            self.sweep_due
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        for tree in &left {
            self.observers.published(Some(tree), None);
        }
        for tree in &joined {
            self.observers.published(None, Some(tree));
        }
        changed
    }

    /// Reload (see [`Engine::reload`]) and refresh what changed.
    pub async fn reload_and_refresh(self: &Arc<Self>, force: bool) {
        let changed = self.reload(force);
        if self.sweep_due.load(std::sync::atomic::Ordering::SeqCst) {
            self.sweep_soon();
        }
        if !changed.is_empty() {
            self.refresh(&changed).await;
        }
    }

    /// Refresh the states of the named services.
    pub async fn refresh(&self, names: &[String]) {
        let runtimes: Vec<_> = names.iter().filter_map(|n| self.service(n)).collect();
        self.refresh_runtimes(runtimes).await;
    }

    /// Wait until no action runs (bounded), so that writers get their
    /// answer before the tree goes away.
    pub async fn wait_idle(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        let mut announced = false;
        loop {
            let busy: Vec<String> = self
                .services()
                .iter()
                .filter(|s| s.is_acting())
                .map(|s| s.name().to_string())
                .collect();
            if busy.is_empty() {
                return;
            }
            if !announced {
                tracing::info!(?busy, "waiting for running actions to end");
                announced = true;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(?busy, "actions still running: leaving them");
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Refresh every service.
    pub async fn refresh_all(&self) {
        self.refresh_runtimes(self.services()).await;
    }

    /// Refresh these services, a few at a time (as a reconcile pass does):
    /// a thousand services loaded at once must not start thousands of
    /// checks, blocking-pool jobs and sockets in the same instant.
    async fn refresh_runtimes(&self, runtimes: Vec<Arc<ServiceRuntime>>) {
        use futures_util::StreamExt;
        let limit = self.options.status_timeout;
        futures_util::stream::iter(runtimes)
            .for_each_concurrent(refresher::PASS_CONCURRENCY, |r| async move {
                r.refresh(limit).await
            })
            .await;
    }

    fn runtime(&self, service: &str) -> Result<Arc<ServiceRuntime>> {
        self.service(service)
            .ok_or_else(|| Error::not_found(format!("no service {service}")))
    }

    /// A write to `<svc>/ctl`.
    pub async fn service_command(&self, service: &str, data: &[u8]) -> Result<()> {
        let runtime = self.runtime(service)?;
        let command = within_a_page(data)
            .and_then(|data| parse_service_command(data, &KINDS.resource_verbs()))
            .inspect_err(|e| {
                runtime
                    .log()
                    .service_line(crate::actionlog::Level::Error, &format!("ctl: {e}"));
            })?;
        if let Some(cluster) = self.placed_by(&runtime) {
            let result = cluster.service_command(&runtime, &command).await;
            self.acted_on(&runtime);
            return result;
        }
        if command.verb.is_placement() {
            let e = Error::unsupported(format!(
                "{} moves a service between nodes: it needs svcfs mount --cluster and the service's nodes",
                command.verb.as_str()
            ));
            runtime
                .log()
                .service_line(crate::actionlog::Level::Error, &format!("ctl: {e}"));
            return Err(e);
        }
        let result = runtime
            .run(
                command.verb,
                &command.rids,
                &self.options.nodename,
                self.options.status_timeout,
            )
            .await;
        self.acted_on(&runtime);
        result
    }

    /// An action ran on `runtime`: it may have started its docker daemon,
    /// whose event watcher should not wait out its backoff to follow it.
    fn acted_on(&self, runtime: &ServiceRuntime) {
        if let Some(watchers) = lock(&self.events).as_ref() {
            watchers.wake(&runtime.loaded().docker_host);
        }
    }

    /// A write to `<svc>/<rid>/ctl`.
    pub async fn resource_command(&self, service: &str, rid: &str, data: &[u8]) -> Result<()> {
        let runtime = self.runtime(service)?;
        let (extra, outside_actions) = runtime
            .snapshot()
            .resource(rid)
            .map(|r| (r.verbs, r.outside_actions))
            .ok_or_else(|| Error::not_found(format!("no resource {rid} in {service}")))?;
        let verb = within_a_page(data)
            .and_then(|data| {
                parse_resource_command(data, extra, outside_actions, &KINDS.resource_verbs())
            })
            .inspect_err(|e| {
                runtime.log().resource(rid).error(format!("ctl: {e}"));
            })?;
        if let Some(cluster) = self.placed_by(&runtime) {
            cluster.may_act_here(&runtime).await.inspect_err(|e| {
                runtime.log().resource(rid).error(format!("ctl: {e}"));
            })?;
        }
        let result = runtime
            .run_on_resource(
                rid,
                verb,
                &self.options.nodename,
                self.options.status_timeout,
            )
            .await;
        self.acted_on(&runtime);
        result
    }

    /// Start the background work: docker event watchers, the periodic
    /// reconcile, the mount table watcher and config reloads. Call from
    /// within a tokio runtime.
    pub fn spawn_background(self: &Arc<Self>) {
        {
            let mut watchers = events::EventWatchers::default();
            for endpoint in lock(&self.endpoints).values() {
                watchers.watch(self, endpoint);
            }
            *lock(&self.events) = Some(watchers);
        }
        self.spawn_reconcile();
        self.spawn_mount_watcher();
        for runtime in self.services() {
            runtime.follow_own_checks(self.options.status_timeout);
            runtime.follow_schedules(self.options.status_timeout, &self.options.nodename);
        }
        tokio::spawn(Arc::clone(self).follow_config_dir());
        self.sweep_soon();
    }

    /// Start services whose `autostart_node` is this node, in the background.
    pub fn autostart(self: &Arc<Self>) {
        for runtime in self.services() {
            // The cluster places it (its own autostart writes the intent).
            if self.placed_by(&runtime).is_some() {
                continue;
            }
            let config = runtime.loaded().config.clone();
            if !config
                .defaults
                .autostart_node
                .iter()
                .any(|n| n == &self.options.nodename)
            {
                continue;
            }
            if runtime.is_frozen() {
                runtime.log().service_line(
                    crate::actionlog::Level::Info,
                    "autostart skipped: the service is frozen",
                );
                continue;
            }
            let engine = Arc::clone(self);
            tokio::spawn(async move {
                tracing::info!(service = %runtime.name(), "autostart");
                if let Err(e) = runtime
                    .run(
                        Verb::Start,
                        &[],
                        &engine.options.nodename,
                        engine.options.status_timeout,
                    )
                    .await
                {
                    tracing::error!(service = %runtime.name(), "autostart failed: {e}");
                }
                engine.acted_on(&runtime);
            });
        }
    }
}

/// Names, mtimes and sizes of the service files: cheap to compute, and it
/// changes whenever a file is edited, added, removed or renamed.
/// The longest command a ctl write may carry: one page. Each write() is
/// one whole command, and no command needs more; a longer write (which
/// the kernel would split into several) is refused as a whole.
pub const MAX_COMMAND: usize = 4096;

fn within_a_page(data: &[u8]) -> Result<&[u8]> {
    if data.len() > MAX_COMMAND {
        return Err(Error::invalid(format!(
            "a write of {} bytes, longer than the {MAX_COMMAND} a command may have: refused",
            data.len()
        )));
    }
    Ok(data)
}

/// How long a changed service file must hold still before it is loaded.
const SETTLE: Duration = Duration::from_millis(300);

impl Engine {
    /// The config directory's fingerprint, with the files the Compose
    /// projects read outside their directories (which no inotify watch
    /// sees: they are looked at each second, as symlinks are).
    fn fingerprint(&self) -> Fingerprint {
        let mut fingerprint = dir_fingerprint(&self.options.config_dir);
        let outside: Vec<PathBuf> = self
            .services()
            .iter()
            .filter_map(|s| {
                let loaded = s.loaded();
                let converted = loaded.config.compose.clone()?;
                let dir = loaded.config.path.parent()?.to_path_buf();
                Some(
                    converted
                        .read
                        .iter()
                        .filter(|f| f.parent() != Some(dir.as_path()))
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            })
            .flatten()
            .collect();
        if !outside.is_empty() {
            fingerprint.symlinks = true;
            for (file, owner) in files_entries(&outside) {
                fingerprint.files.push(file);
                fingerprint.owners.extend(owner);
            }
        }
        fingerprint
    }

    /// The directories of the config directory's Compose projects (those
    /// that failed to load too: their fix must be seen), for its watch.
    pub(super) fn project_dirs(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.options.config_dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir() && holds_compose_file(p))
            .collect()
    }

    /// Whether a service file was a symlink at the last look at the
    /// config directory.
    pub(super) fn config_has_symlinks(&self) -> bool {
        lock(&self.dir_fingerprint)
            .as_ref()
            .is_some_and(|f| f.symlinks)
    }
}

fn still_being_written(fingerprint: &[(PathBuf, SystemTime, u64)], now: SystemTime) -> bool {
    fingerprint
        .iter()
        .any(|(_, mtime, _)| now.duration_since(*mtime).is_ok_and(|age| age < SETTLE))
}

/// What a reload compares to tell whether the config directory changed.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    /// Each entry's path, mtime and size.
    files: Vec<(PathBuf, SystemTime, u64)>,
    /// Owner, group and mode of the directory, then of each entry (a
    /// symlink's target): a chmod or chown changes whether a file is
    /// trusted and who may read its configuration, not its mtime.
    owners: Vec<(u32, u32, u32)>,
    /// Whether an entry is a symlink: its target lives where the
    /// directory's inotify watch does not see (see `config_watch.rs`).
    symlinks: bool,
}

fn dir_fingerprint(dir: &std::path::Path) -> Fingerprint {
    use std::os::unix::fs::MetadataExt;
    let who = |meta: std::fs::Metadata| (meta.uid(), meta.gid(), meta.mode());
    let mut fingerprint = Fingerprint {
        files: Vec::new(),
        owners: std::fs::metadata(dir).map(who).into_iter().collect(),
        symlinks: false,
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return fingerprint;
    };
    let mut found = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        fingerprint.symlinks |= meta.file_type().is_symlink();
        let target = std::fs::metadata(entry.path()).ok();
        // A Compose project's directory: its files (the Compose file,
        // .env, env files, secrets) are the service's too.
        if target.as_ref().is_some_and(|t| t.is_dir()) && holds_compose_file(&entry.path()) {
            found.extend(project_entries(&entry.path(), &mut fingerprint.symlinks));
        }
        let Ok(modified) = meta.modified() else {
            continue;
        };
        found.push(((entry.path(), modified, meta.len()), target.map(who)));
    }
    found.sort();
    for (file, target) in found {
        fingerprint.files.push(file);
        fingerprint.owners.extend(target);
    }
    fingerprint
}

/// Whether a directory holds a Compose file (is a project).
fn holds_compose_file(dir: &std::path::Path) -> bool {
    config::compose::COMPOSE_FILES
        .iter()
        .any(|f| dir.join(f).is_file())
}

type FingerprintEntry = ((PathBuf, SystemTime, u64), Option<(u32, u32, u32)>);

/// The files of a Compose project's directory (the Compose file, `.env`,
/// env files beside it), for the fingerprint; not its directories, whose
/// mtimes change with what containers write in bind mounts. Files the
/// project reads elsewhere are added by [`Engine::reload`].
fn project_entries(dir: &std::path::Path, symlinks: &mut bool) -> Vec<FingerprintEntry> {
    use std::os::unix::fs::MetadataExt;
    let who = |meta: std::fs::Metadata| (meta.uid(), meta.gid(), meta.mode());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        *symlinks |= meta.file_type().is_symlink();
        let Some(target) = std::fs::metadata(entry.path()).ok().filter(|t| t.is_file()) else {
            continue;
        };
        let Ok(modified) = meta.modified() else {
            continue;
        };
        found.push(((entry.path(), modified, meta.len()), Some(who(target))));
    }
    found
}

/// The mtime, size and owner of each file, for the fingerprint.
fn files_entries(files: &[PathBuf]) -> Vec<FingerprintEntry> {
    use std::os::unix::fs::MetadataExt;
    files
        .iter()
        .filter_map(|path| {
            let meta = std::fs::metadata(path).ok()?;
            let who = (meta.uid(), meta.gid(), meta.mode());
            Some(((path.clone(), meta.modified().ok()?, meta.len()), Some(who)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::mounts::tests::TempDir;

    fn engine_of(files: &[(&str, &str)]) -> (TempDir, Arc<Engine>) {
        let dir = TempDir::new("engine");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let engine = Engine::new(
            EngineOptions {
                config_dir: dir.path().to_path_buf(),
                var_dir: "/var/lib/svcfs".into(),
                nodename: "n".into(),
                docker_host: "unix:///var/run/docker.sock".into(),
                refresh_interval: Duration::from_secs(30),
                status_timeout: Duration::from_secs(5),
            },
            Backends::fake(Arc::new(crate::docker::fake::FakeDocker::new(
                "unix:///var/run/docker.sock",
            ))),
        );
        engine.reload(true);
        (dir, engine)
    }

    #[test]
    fn the_fingerprint_tells_a_symlinked_service_file_without_a_stat_of_its_own() {
        let dir = TempDir::new("config-links");
        std::fs::write(dir.path().join("a.env"), "").unwrap();
        assert!(!dir_fingerprint(dir.path()).symlinks);
        std::os::unix::fs::symlink("/nonexistent/b.env", dir.path().join("b.env")).unwrap();
        assert!(dir_fingerprint(dir.path()).symlinks);
    }

    #[test]
    fn a_file_is_loaded_once_it_held_still() {
        let now = SystemTime::now();
        let files = |age_ms: u64| {
            vec![(
                PathBuf::from("/etc/svcfs/a.env"),
                now - Duration::from_millis(age_ms),
                10,
            )]
        };
        assert!(still_being_written(&files(10), now));
        assert!(!still_being_written(&files(400), now));
        // A clock step back (mtime in the future) is not "being written".
        assert!(!still_being_written(
            &[(PathBuf::from("/x"), now + Duration::from_secs(60), 1)],
            now
        ));

        let good = "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\n";
        let (dir, engine) = engine_of(&[("a.env", good)]);
        // Truncated mid-write: not loaded while fresh.
        std::fs::write(dir.path().join("a.env"), "[container#1]\nrun_image = a\n").unwrap();
        assert!(engine.reload(false).is_empty());
        assert!(engine
            .service("a")
            .unwrap()
            .snapshot()
            .resource("container#2")
            .is_some());
        std::thread::sleep(SETTLE);
        assert_eq!(engine.reload(false), ["a"]);
        assert!(engine
            .service("a")
            .unwrap()
            .snapshot()
            .resource("container#2")
            .is_none());
    }

    #[tokio::test]
    async fn a_write_longer_than_a_page_is_refused_whole_and_logged_short() {
        let (_dir, engine) = engine_of(&[("a.env", "[container#1]\nrun_image = a\n")]);
        let huge = vec![b'x'; 2 * 1024 * 1024];
        for result in [
            engine.service_command("a", &huge).await,
            engine.resource_command("a", "container#1", &huge).await,
        ] {
            let e = result.unwrap_err();
            assert_eq!(e.errno(), libc::EINVAL);
            assert!(
                e.message().contains("a write of 2097152 bytes"),
                "{}",
                e.message()
            );
        }
        let log = engine.service("a").unwrap().log().service_lines();
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log.iter().all(|l| l.len() < 300), "{log:?}");
        // One page is still a command (and this one is unknown).
        let page = vec![b'x'; MAX_COMMAND];
        let e = engine.service_command("a", &page).await.unwrap_err();
        assert!(!e.message().contains("a write of"), "{}", e.message());
    }

    #[tokio::test]
    async fn placement_verbs_need_the_cluster() {
        let (_dir, engine) = engine_of(&[("a.env", "[container#1]\nrun_image = a\n")]);
        for verb in ["switch n2", "takeover", "giveback"] {
            let e = engine
                .service_command("a", verb.as_bytes())
                .await
                .unwrap_err();
            assert_eq!(e.errno(), libc::EOPNOTSUPP, "{verb}: {e}");
            assert!(e.message().contains("--cluster"), "{e}");
        }
    }

    fn messages(engine: &Engine, name: &str) -> Vec<String> {
        engine.service(name).unwrap().snapshot().messages.clone()
    }

    #[test]
    fn a_broken_edit_keeps_the_last_good_configuration() {
        let good = "[container#1]\nrun_image = a\n";
        let (dir, engine) = engine_of(&[("a.env", good)]);
        let runtime = engine.service("a").unwrap();
        let broken = "[container#1]\nrun_image = a\nstop_timeout = soon\n";
        std::fs::write(dir.path().join("a.env"), broken).unwrap();
        engine.reload(true);
        assert_eq!(&*runtime.snapshot().config_text, good);
        assert!(runtime.snapshot().resource("container#1").is_some());
        assert_eq!(runtime.snapshot().overall, crate::model::Status::Warn);
        let shown = messages(&engine, "a");
        assert!(
            shown[0].contains("last good configuration keeps serving"),
            "{shown:?}"
        );
        assert!(
            shown[1].contains("a.env:3: [container#1] stop_timeout:"),
            "{shown:?}"
        );
        // The same error again is not logged again.
        let logged = runtime.snapshot().log.seq;
        engine.reload(true);
        assert_eq!(runtime.snapshot().log.seq, logged);
        // Unparsable: still the old tree, the new error shown.
        std::fs::write(dir.path().join("a.env"), "[container#1\n").unwrap();
        engine.reload(true);
        assert_eq!(&*runtime.snapshot().config_text, good);
        let shown = messages(&engine, "a");
        assert!(shown[1].contains("a.env:1: section header"), "{shown:?}");
        assert!(runtime.snapshot().log.seq > logged);
        // Back to what runs: the warning goes.
        std::fs::write(dir.path().join("a.env"), good).unwrap();
        engine.reload(true);
        assert!(messages(&engine, "a").is_empty());
        // A good edit replaces the configuration.
        let better = "[container#1]\nrun_image = b\n";
        std::fs::write(dir.path().join("a.env"), broken).unwrap();
        engine.reload(true);
        std::fs::write(dir.path().join("a.env"), better).unwrap();
        engine.reload(true);
        assert_eq!(&*runtime.snapshot().config_text, better);
        assert!(messages(&engine, "a").is_empty());
        // A deleted file still removes the service.
        std::fs::remove_file(dir.path().join("a.env")).unwrap();
        engine.reload(true);
        assert!(engine.service("a").is_none());
    }

    fn chmod(path: &std::path::Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[tokio::test]
    async fn a_file_others_may_write_is_shown_refused_and_its_actions_are_eacces() {
        let good = "[container#1]\nrun_image = a\n";
        let (dir, engine) = engine_of(&[("a.env", good)]);
        chmod(&dir.path().join("a.env"), 0o646);
        std::fs::write(dir.path().join("b.env"), good).unwrap();
        chmod(&dir.path().join("b.env"), 0o646);
        engine.reload(true);
        let b = engine.service("b").unwrap().snapshot();
        assert_eq!(b.overall, crate::model::Status::Warn);
        assert!(b.resources.is_empty() && b.config_text.is_empty());
        assert!(
            b.messages[0].contains("b.env: not loaded: ")
                && b.messages[0].contains("mode 0646) can be written by everyone"),
            "{:?}",
            b.messages
        );
        let e = engine.service_command("b", b"start").await.unwrap_err();
        assert_eq!(e.errno(), libc::EACCES, "{}", e.message());
        assert!(e.message().contains("not trusted"), "{}", e.message());
        // A loaded service whose file became writable: refused like a
        // broken edit, what runs keeps serving.
        let a = engine.service("a").unwrap().snapshot();
        assert!(a.resource("container#1").is_some());
        assert_eq!(&*a.config_text, good);
        assert!(
            a.messages[0].contains("can no longer be trusted"),
            "{:?}",
            a.messages
        );
        assert!(a.messages[1].contains("mode 0646)"), "{:?}", a.messages);
        assert_eq!(a.overall, crate::model::Status::Warn);
        // Fixed: the warning goes, the file is served again.
        chmod(&dir.path().join("a.env"), 0o644);
        chmod(&dir.path().join("b.env"), 0o644);
        engine.reload(true);
        assert!(messages(&engine, "a").is_empty());
        let b = engine.service("b").unwrap().snapshot();
        assert!(b.resource("container#1").is_some(), "{:?}", b.messages);
    }

    #[test]
    fn a_chmod_is_a_change_of_the_config_dir() {
        let good = "[container#1]\nrun_image = a\n";
        let (dir, engine) = engine_of(&[("a.env", good)]);
        let path = dir.path().join("a.env");
        chmod(&path, 0o644);
        engine.reload(true);
        assert!(engine.service("a").unwrap().snapshot().config_public);
        let before = dir_fingerprint(dir.path());
        chmod(&path, 0o600);
        assert_ne!(dir_fingerprint(dir.path()), before);
        std::thread::sleep(SETTLE);
        // Same text, fewer readers: the configuration follows.
        assert_eq!(engine.reload(false), ["a"]);
        assert!(!engine.service("a").unwrap().snapshot().config_public);
        chmod(dir.path(), 0o700);
        assert_ne!(dir_fingerprint(dir.path()), before);
    }

    #[test]
    fn an_emptied_file_keeps_the_service_serving() {
        let good = "[container#1]\nrun_image = a\n";
        let (dir, engine) = engine_of(&[("a.env", good)]);
        std::fs::write(dir.path().join("a.env"), "").unwrap();
        engine.reload(true);
        let snapshot = engine.service("a").unwrap().snapshot();
        assert_eq!(&*snapshot.config_text, good);
        assert!(snapshot.resource("container#1").is_some());
        assert_eq!(snapshot.overall, crate::model::Status::Warn);
    }

    #[test]
    fn a_file_that_never_loaded_takes_every_edit() {
        let (dir, engine) = engine_of(&[("a.env", "[container#1\n")]);
        std::fs::write(dir.path().join("a.env"), "[x#1\n").unwrap();
        engine.reload(true);
        let snapshot = engine.service("a").unwrap().snapshot();
        assert_eq!(&*snapshot.config_text, "[x#1\n");
        assert_eq!(snapshot.avail, crate::model::Status::Warn);
    }

    #[test]
    fn a_docker_host_is_used_as_services_on_says() {
        let private = "[DEFAULT]\ndocker_data_dir = /d\n[container#1]\nrun_image = a\n";
        let shared = "[container#1]\nrun_image = a\n";
        let (_dir, engine) = engine_of(&[("a.env", private), ("b.env", shared)]);
        for host in [
            "unix:///var/lib/svcfs/a/docker.sock",
            "unix:///var/lib/svcfs/b/docker.sock",
            "unix:///var/lib/svcfs/c/docker.sock",
            "unix:///var/run/docker.sock",
            "unix:///var/lib/svcfs/a/other.sock",
            "tcp://10.0.0.1:2375",
        ] {
            assert_eq!(
                engine.uses_docker_host(host),
                !engine.services_on(host).is_empty(),
                "{host}"
            );
        }
        assert!(engine.uses_docker_host("unix:///var/lib/svcfs/a/docker.sock"));
        assert!(!engine.uses_docker_host("unix:///var/lib/svcfs/b/docker.sock"));
        let (_dir, engine) = engine_of(&[("a.env", private)]);
        assert!(!engine.uses_docker_host("unix:///var/run/docker.sock"));
    }
}
