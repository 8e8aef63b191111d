//! The background refresher: what keeps the states current while nobody
//! acts, at a cost that does not grow with the number of idle services.
//!
//! - Containers follow docker events (see `events`): an event refreshes
//!   the one resource it names at once, and the events that come while
//!   that check runs are served by one more check after it (a burst costs
//!   two checks, not one per event, and no event waits for a timer); a
//!   (re)connection of the event stream refreshes the containers of that
//!   daemon once, since events may have been missed.
//! - The periodic reconcile refreshes what no event follows (ip, vg, fs,
//!   the private dockerd), rarely and jittered, reading the host once for
//!   all of them (see `drivers::shared`); every [`SAFETY_NET_EVERY`]th
//!   pass covers the containers too, against events lost all the same.
//! - The kernel's mount table notification refreshes the filesystems as
//!   soon as a mount or an unmount happens, behind svcfs's back or not.

use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::{Engine, LoadedResource};
use crate::drivers::mounts::MOUNTINFO;
use crate::model::Status;
use crate::sync::lock;

/// Every how many passes of the periodic reconcile the containers are
/// checked too. Events keep them current, and a reconnection of the event
/// stream refreshes them; this only catches what a bug or an overflowing
/// event buffer lost. With the default 30 s period: every 5 minutes, so a
/// thousand services of three containers cost 20 docker calls a second on
/// average instead of 1200.
pub const SAFETY_NET_EVERY: u64 = 10;

/// The relative jitter of the reconcile period (±20 %): daemons started
/// together (a cluster rebooted at once, on shared storage whose `vgs`
/// scans the same disks) drift apart instead of reconciling in step, and a
/// pass never locks in step with another periodic job of the host.
pub const JITTER: f64 = 0.2;

/// How many services a pass refreshes at a time: enough to hide the
/// latency of one check, few enough that a thousand services do not start
/// thousands of checks (threads, sockets) in the same instant.
pub(super) const PASS_CONCURRENCY: usize = 16;

/// How long a mount table change waits for the ones that follow (a
/// container start mounts its overlay, its shm, its bind mounts...).
const MOUNT_DEBOUNCE: Duration = Duration::from_millis(300);

/// Which resources one pass of the periodic reconcile refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Those no event follows: ip, vg, fs, the private dockerd.
    Unfollowed,
    /// Every resource: the safety net against missed docker events.
    Everything,
}

impl Sweep {
    /// Whether this sweep refreshes `resource`. Those checked on their own
    /// schedule never are: that schedule is their reconcile and their
    /// safety net.
    pub fn covers(self, resource: &LoadedResource) -> bool {
        if resource.driver.own_checks().is_some() {
            return false;
        }
        match self {
            Sweep::Everything => true,
            Sweep::Unfollowed => !resource.driver.followed_by_events(),
        }
    }
}

/// The sweep of the periodic reconcile's pass number `pass` (1, 2, ...).
pub fn sweep_for(pass: u64) -> Sweep {
    if pass % SAFETY_NET_EVERY == 0 {
        Sweep::Everything
    } else {
        Sweep::Unfollowed
    }
}

/// The wait before the next pass: `period` scaled by a factor in
/// `[1 - JITTER, 1 + JITTER)`, `unit` being uniform in `[0, 1)`.
pub fn jittered(period: Duration, unit: f64) -> Duration {
    period.mul_f64(1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0))
}

/// A number uniform enough in `[0, 1)` for a jitter, without a random
/// number crate: std's hasher keys are random per process and per call.
fn random_unit() -> f64 {
    let bits = RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

impl Engine {
    /// One pass of the periodic reconcile: the resources `sweep` covers,
    /// of every service, a few services at a time.
    pub async fn reconcile(&self, sweep: Sweep) {
        let started = Instant::now();
        let limit = self.options.status_timeout;
        let runtimes: Vec<_> = self
            .services()
            .into_iter()
            .filter(|s| s.loaded().resources.iter().any(|r| sweep.covers(r)))
            .collect();
        let count = runtimes.len();
        futures_util::stream::iter(runtimes)
            .for_each_concurrent(PASS_CONCURRENCY, |runtime| async move {
                runtime.refresh_only(limit, |r| sweep.covers(r)).await;
            })
            .await;
        let reads = &self.host_reads;
        tracing::debug!(
            ?sweep,
            services = count,
            elapsed = ?started.elapsed(),
            mount_table_reads = reads.mounts.reads(),
            address_dumps = reads.addresses.reads(),
            lvm_listings = reads.volume_groups.reads(),
            "reconcile pass"
        );
    }

    /// Refresh these resources of `service` now, coalescing bursts: the
    /// resources asked while a refresh of the service runs are checked
    /// once more right after it.
    pub fn refresh_resources_soon(
        self: &Arc<Self>,
        service: &str,
        rids: impl IntoIterator<Item = String>,
    ) {
        // Events of containers of another svcfs (its labels name services
        // this engine does not have) ask for nothing here.
        if self.service(service).is_none() {
            return;
        }
        let mut pending = lock(&self.pending);
        // An entry means a refresher task of this service runs: it takes
        // these rids on its next round.
        let running = pending.contains_key(service);
        pending.entry(service.to_string()).or_default().extend(rids);
        if running {
            return;
        }
        let (engine, service) = (Arc::clone(self), service.to_string());
        tokio::spawn(async move {
            loop {
                let rids = {
                    let mut pending = lock(&engine.pending);
                    match pending.get_mut(&service) {
                        Some(rids) if !rids.is_empty() => std::mem::take(rids),
                        _ => {
                            pending.remove(&service);
                            return;
                        }
                    }
                };
                let Some(runtime) = engine.service(&service) else {
                    lock(&engine.pending).remove(&service);
                    return;
                };
                let limit = engine.options.status_timeout;
                runtime
                    .refresh_only(limit, |r| rids.contains(r.config.rid.as_str()))
                    .await;
            }
        });
    }

    /// Refresh shortly the resources `which` selects of every service
    /// whose containers live in the daemon at `host`.
    pub fn refresh_on_host_soon(
        self: &Arc<Self>,
        host: &str,
        which: impl Fn(&LoadedResource) -> bool,
    ) {
        for name in self.services_on(host) {
            let Some(runtime) = self.service(&name) else {
                continue;
            };
            let rids: BTreeSet<String> = runtime
                .loaded()
                .resources
                .iter()
                .filter(|r| which(r))
                .map(|r| r.config.rid.to_string())
                .collect();
            if !rids.is_empty() {
                self.refresh_resources_soon(&name, rids);
            }
        }
    }

    /// The event stream of `host` connected or broke: its containers may
    /// have changed unseen, and the private daemon (when it is one) may
    /// have started or stopped.
    pub fn docker_connection_changed(self: &Arc<Self>, host: &str) {
        self.refresh_on_host_soon(host, concerned_by_connection);
    }

    /// Whether every resource that the connection to `host` concerns
    /// reads down already: while one does not, a daemon that stopped
    /// answering is looked at again.
    pub fn reads_down_on(&self, host: &str) -> bool {
        !self.any_concerned_on(host, |state| state.status != Status::Down)
    }

    /// Whether a resource that the connection to `host` concerns shows a
    /// state that `which` selects.
    pub(super) fn any_concerned_on(
        &self,
        host: &str,
        which: impl Fn(&crate::model::ResourceState) -> bool,
    ) -> bool {
        self.services_on(host).iter().any(|name| {
            let Some(runtime) = self.service(name) else {
                return false;
            };
            let snapshot = runtime.snapshot();
            runtime
                .loaded()
                .resources
                .iter()
                .filter(|r| concerned_by_connection(r))
                .any(|r| {
                    snapshot
                        .resource(r.config.rid.as_str())
                        .is_some_and(|r| which(&r.state))
                })
        })
    }

    /// Start the periodic reconcile: a pass every `refresh_interval`,
    /// jittered, the containers every [`SAFETY_NET_EVERY`]th pass.
    pub(super) fn spawn_reconcile(self: &Arc<Self>) {
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            // The daemon refreshed everything before mounting: the first
            // pass comes one period later.
            for pass in 1.. {
                let period = engine.options.refresh_interval;
                tokio::time::sleep(jittered(period, random_unit())).await;
                engine.reconcile(sweep_for(pass)).await;
            }
        });
    }

    /// Start following the kernel's mount table: each change (after
    /// [`MOUNT_DEBOUNCE`]) invalidates the shared mount table and refreshes
    /// every filesystem resource. Without the notification (no /proc), the
    /// periodic reconcile still covers them.
    pub(super) fn spawn_mount_watcher(self: &Arc<Self>) {
        let register = |file: std::fs::File| {
            // SAFETY: the File owns its descriptor, and the AsyncFd owns the
            // File: the descriptor stays open and is not replaced while it
            // is registered.
            unsafe { AsyncFd::register_with_interest(file, Interest::PRIORITY) }
                .map_err(std::io::Error::from)
        };
        let table = match std::fs::File::open(MOUNTINFO).and_then(register) {
            Ok(table) => table,
            Err(e) => {
                tracing::warn!("cannot follow {MOUNTINFO} ({e}): filesystems are only checked by the periodic reconcile");
                return;
            }
        };
        let engine = Arc::downgrade(self);
        tokio::spawn(async move { follow_mount_table(engine, table).await });
    }

    /// Refresh every filesystem resource, with a fresh mount table.
    async fn mount_table_changed(&self) {
        self.host_reads.mounts.invalidate();
        let limit = self.options.status_timeout;
        let follows_mounts = |r: &LoadedResource| r.driver.follows_mount_table();
        let runtimes: Vec<_> = self
            .services()
            .into_iter()
            .filter(|s| s.loaded().resources.iter().any(follows_mounts))
            .collect();
        futures_util::stream::iter(runtimes)
            .for_each_concurrent(PASS_CONCURRENCY, |runtime| async move {
                runtime.refresh_only(limit, follows_mounts).await;
            })
            .await;
    }
}

/// The kernel marks an open mountinfo file with POLLPRI (and POLLERR) each
/// time the mount table of its namespace changes; the poll itself
/// acknowledges the change, nothing needs to be read.
async fn follow_mount_table(engine: Weak<Engine>, table: AsyncFd<std::fs::File>) {
    loop {
        match table.ready(Interest::PRIORITY).await {
            Ok(mut guard) => guard.clear_ready(),
            Err(e) => {
                tracing::warn!("cannot follow {MOUNTINFO} any more ({e}): filesystems are only checked by the periodic reconcile");
                return;
            }
        }
        tokio::time::sleep(MOUNT_DEBOUNCE).await;
        // Changes during the pause are part of this refresh.
        if let Some(Ok(mut guard)) = table.ready(Interest::PRIORITY).now_or_never() {
            guard.clear_ready();
        }
        let Some(engine) = engine.upgrade() else {
            return;
        };
        tracing::debug!("the mount table changed");
        engine.mount_table_changed().await;
    }
}

/// The resources whose state depends on a docker daemon's connection: its
/// containers, and the private daemon itself.
pub(super) fn concerned_by_connection(r: &LoadedResource) -> bool {
    r.driver.follows_docker_connection()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actionlog::ResourceLog;
    use crate::config::parse_service;
    use crate::docker::fake::FakeDocker;
    use crate::drivers::Driver;
    use crate::engine::{Backends, EngineOptions, LoadedService, ServiceRuntime};
    use crate::error::Result;
    use crate::model::{ResourceState, Status};
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its status checks.
    struct Counting {
        followed: bool,
        mounts: bool,
        own: Option<Duration>,
        checks: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Driver for Counting {
        async fn status(&self) -> ResourceState {
            self.checks.fetch_add(1, Ordering::SeqCst);
            ResourceState::new(Status::Up, "")
        }
        async fn start(&self, _log: &ResourceLog) -> Result<()> {
            Ok(())
        }
        async fn stop(&self, _log: &ResourceLog) -> Result<()> {
            Ok(())
        }
        fn followed_by_events(&self) -> bool {
            self.followed
        }
        fn follows_mount_table(&self) -> bool {
            self.mounts
        }
        fn own_checks(&self) -> Option<Duration> {
            self.own
        }
    }

    const FILE: &str = "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\n\
        [container#3]\nrun_image = c\n[fs#1]\ndev = /d\nmnt = /m\n[ip#1]\nipname = 10.0.0.1\nipdev = lo\n";

    /// The drivers of a test engine, by (service, rid).
    type Drivers = HashMap<(String, String), Arc<Counting>>;

    /// An engine with services `names`, each with the resources of
    /// [`FILE`] behind counting drivers (containers followed by events).
    fn engine(names: &[&str]) -> (Arc<Engine>, Drivers) {
        engine_with(names, None)
    }

    /// The same, the resource `own` (if any) checked every minute on its
    /// own schedule.
    fn engine_with(names: &[&str], own: Option<&str>) -> (Arc<Engine>, Drivers) {
        let engine = Engine::new(
            EngineOptions {
                config_dir: PathBuf::from("/nonexistent/etc"),
                var_dir: PathBuf::from("/nonexistent/var"),
                nodename: "n1".into(),
                docker_host: "unix:///nonexistent/docker.sock".into(),
                refresh_interval: Duration::from_secs(30),
                status_timeout: Duration::from_secs(1),
            },
            Backends::fake(Arc::new(FakeDocker::new("unix:///nonexistent/docker.sock"))),
        );
        let mut drivers = HashMap::new();
        for name in names {
            let config = parse_service(
                &crate::drivers::registry::KINDS,
                name,
                Path::new("/x/svc.env"),
                FILE,
            );
            let resources = config
                .resources
                .iter()
                .map(|r| {
                    let driver = Arc::new(Counting {
                        followed: r.rid.as_str().starts_with("container"),
                        mounts: r.rid.as_str().starts_with("fs"),
                        own: (own == Some(r.rid.as_str())).then(|| Duration::from_secs(60)),
                        checks: AtomicUsize::new(0),
                    });
                    drivers.insert((name.to_string(), r.rid.to_string()), driver.clone());
                    LoadedResource {
                        config: r.clone(),
                        driver,
                    }
                })
                .collect();
            let runtime = ServiceRuntime::new(
                LoadedService {
                    config: Arc::new(config),
                    resources,
                    // What Engine::build gives a service without a private
                    // daemon under these options.
                    docker_host: "unix:///nonexistent/docker.sock".into(),
                },
                engine.observers().clone(),
            );
            crate::sync::write(&engine.services).insert(name.to_string(), runtime);
        }
        (engine, drivers)
    }

    /// The checks of every driver that had some, as `service/rid=count`.
    fn checked(drivers: &Drivers) -> Vec<String> {
        let mut found: Vec<String> = drivers
            .iter()
            .map(|((s, r), d)| (s, r, d.checks.load(Ordering::SeqCst)))
            .filter(|(_, _, n)| *n > 0)
            .map(|(s, r, n)| format!("{s}/{r}={n}"))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn containers_are_swept_every_tenth_pass_only() {
        let passes: Vec<u64> = (1..=30)
            .filter(|&p| sweep_for(p) == Sweep::Everything)
            .collect();
        assert_eq!(passes, [10, 20, 30]);
        assert_eq!(sweep_for(1), Sweep::Unfollowed);
        assert_eq!(sweep_for(9), Sweep::Unfollowed);
    }

    #[test]
    fn periods_are_jittered_by_a_fifth_either_way() {
        let period = Duration::from_secs(30);
        assert_eq!(jittered(period, 0.0), Duration::from_secs(24));
        assert_eq!(jittered(period, 0.5), period);
        assert!(jittered(period, 0.999_999) < Duration::from_secs(36));
        assert_eq!(jittered(period, 7.0), Duration::from_secs(36));
        let draws: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        assert!(draws.iter().any(|u| *u < 0.2) && draws.iter().any(|u| *u > 0.8));
    }

    #[tokio::test(start_paused = true)]
    async fn own_checks_run_on_their_schedule_and_never_in_a_reconcile_pass() {
        let (engine, drivers) = engine_with(&["a"], Some("ip#1"));
        engine.reconcile(Sweep::Everything).await;
        assert!(!checked(&drivers).iter().any(|c| c.starts_with("a/ip#1")));
        let runtime = engine.service("a").unwrap();
        runtime.follow_own_checks(Duration::from_secs(1));
        // Asked twice for one configuration: one schedule.
        runtime.follow_own_checks(Duration::from_secs(1));
        let ip = &drivers[&("a".to_string(), "ip#1".to_string())];
        let before = ip.checks.load(Ordering::SeqCst);
        // Within its first minute (its phase), then once a minute.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(ip.checks.load(Ordering::SeqCst), before + 1);
        tokio::time::sleep(Duration::from_secs(60 * 5)).await;
        assert_eq!(ip.checks.load(Ordering::SeqCst), before + 6);
        // Gone from the tree: no more checks.
        crate::sync::write(&engine.services).remove("a");
        drop(runtime);
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(ip.checks.load(Ordering::SeqCst), before + 6);
    }

    #[tokio::test]
    async fn a_reconcile_pass_skips_event_followed_resources_but_for_the_safety_net() {
        let (engine, drivers) = engine(&["a", "b"]);
        engine.reconcile(Sweep::Unfollowed).await;
        assert_eq!(
            checked(&drivers),
            ["a/fs#1=1", "a/ip#1=1", "b/fs#1=1", "b/ip#1=1"]
        );
        engine.reconcile(sweep_for(SAFETY_NET_EVERY)).await;
        assert_eq!(
            checked(&drivers),
            [
                "a/container#1=1",
                "a/container#2=1",
                "a/container#3=1",
                "a/fs#1=2",
                "a/ip#1=2",
                "b/container#1=1",
                "b/container#2=1",
                "b/container#3=1",
                "b/fs#1=2",
                "b/ip#1=2"
            ]
        );
    }

    #[tokio::test]
    async fn a_refresh_of_some_resources_keeps_the_others_known_state() {
        let (engine, _) = engine(&["a"]);
        engine.refresh_all().await;
        let before = engine.service("a").unwrap().snapshot();
        engine.reconcile(Sweep::Unfollowed).await;
        let after = engine.service("a").unwrap().snapshot();
        let status =
            |s: &crate::engine::ServiceSnapshot| s.resource("container#2").map(|r| r.state.status);
        assert_eq!(status(&before), Some(Status::Up));
        assert_eq!(status(&after), Some(Status::Up));
    }

    /// A docker event about a container of service `a`.
    fn container_event(action: &str, rid: &str) -> bollard::models::EventMessage {
        use crate::docker::naming::{LABEL_RID, LABEL_SERVICE};
        bollard::models::EventMessage {
            typ: Some(bollard::models::EventMessageTypeEnum::CONTAINER),
            action: Some(action.into()),
            actor: Some(bollard::models::EventActor {
                id: None,
                attributes: Some(HashMap::from([
                    (LABEL_SERVICE.to_string(), "a".to_string()),
                    (LABEL_RID.to_string(), rid.to_string()),
                ])),
            }),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn an_event_refreshes_only_the_container_it_names() {
        use crate::engine::events::{dispatch, target_of};
        let (engine, drivers) = engine(&["a", "b"]);
        let host = "unix:///nonexistent/docker.sock";
        dispatch(
            &engine,
            host,
            target_of(&container_event("die", "container#2")),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(checked(&drivers), ["a/container#2=1"]);
        // A burst (stop: kill, die, stop) is one check per container.
        for action in ["kill", "die", "stop"] {
            dispatch(
                &engine,
                host,
                target_of(&container_event(action, "container#2")),
            );
            dispatch(
                &engine,
                host,
                target_of(&container_event(action, "container#3")),
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(checked(&drivers), ["a/container#2=2", "a/container#3=1"]);
        assert!(lock(&engine.pending).is_empty());
    }

    #[tokio::test]
    async fn a_mount_behind_svcfs_s_back_refreshes_the_filesystems() {
        let dir = std::env::temp_dir().join(format!("svcfs-ut-mountwatch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (engine, drivers) = engine(&["a"]);
        engine.spawn_mount_watcher();
        let mount = |args: &[&str]| {
            std::process::Command::new(args[0])
                .args(&args[1..])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let target = dir.to_string_lossy().into_owned();
        if !mount(&["mount", "-t", "tmpfs", "svcfs-ut", &target]) {
            let message = "the mount table watcher test needs root and mount(8)";
            assert!(std::env::var_os("CI").is_none(), "{message}");
            eprintln!("skipping: {message}");
            return;
        }
        let fs = &drivers[&("a".to_string(), "fs#1".to_string())];
        let mut seen = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if fs.checks.load(Ordering::SeqCst) > 0 {
                seen = true;
                break;
            }
        }
        assert!(mount(&["umount", &target]));
        let _ = std::fs::remove_dir(&dir);
        assert!(seen, "no refresh after a mount");
        // Only the filesystems: containers follow events, ip the reconcile.
        assert!(checked(&drivers).iter().all(|c| c.starts_with("a/fs#1=")));
    }

    #[tokio::test]
    async fn a_docker_reconnection_refreshes_the_containers_of_its_services() {
        let (engine, drivers) = engine(&["a"]);
        engine.docker_connection_changed("unix:///nonexistent/docker.sock");
        engine.docker_connection_changed("unix:///other.sock");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            checked(&drivers),
            ["a/container#1=1", "a/container#2=1", "a/container#3=1"]
        );
    }
}
