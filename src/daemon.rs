//! `svcfs mount`: load the services, mount the filesystem, serve it until
//! SIGINT/SIGTERM, unmount cleanly. Services keep running when the daemon
//! stops; the next daemon finds them again by name and labels.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fuser::{Config, MountOption, SessionACL};
use tokio::signal::unix::{signal, SignalKind};

use crate::docker::{BollardDocker, DockerApi};
use crate::drivers::mounts::{canonical_mount_point, read_mount_table, MountEntry};
use crate::engine::{Backends, Engine, EngineOptions};
use crate::error::{Error, Result};
use crate::fs::{CtlAccess, SvcFs};
use crate::host::SystemRunner;

/// FUSE worker threads. Actions run on the tokio runtime, so these only
/// serve lookups, attributes and reads; a few keep `ls` and `cat` snappy
/// while several clients read at once.
const FUSE_THREADS: usize = 4;

/// Threads of tokio's blocking pool (its default is 512). It runs the
/// host inspection of status checks and actions (mount table, /proc,
/// paths: each microseconds to milliseconds, see `bounded`), name lookups
/// and file reads. Jobs beyond these wait in a queue, bounded by their
/// caller's timeout: a refresh of a thousand services then queues instead
/// of growing hundreds of threads, and a hung filesystem that pins some of
/// them shows as ETIMEDOUT checks, not as a daemon with 500 threads.
const BLOCKING_THREADS: usize = 16;

/// How long the mount waits for the first state refresh.
const FIRST_REFRESH_WAIT: Duration = Duration::from_secs(2);

/// What `svcfs mount` needs.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// Where to mount.
    pub mountpoint: PathBuf,
    /// Engine settings.
    pub engine: EngineOptions,
    /// Group allowed to write `ctl` files.
    pub ctl_group: Option<u32>,
    /// Start the services whose `autostart_node` is this node.
    pub autostart: bool,
    /// Join an etcd cluster (`--cluster`).
    pub cluster: Option<ClusterOptions>,
}

/// `--cluster`, `--cluster-ttl` and the `--etcd-*` options.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// How to reach etcd: endpoints, TLS, credentials.
    pub etcd: crate::cluster::EtcdOptions,
    /// Lease TTL and what follows from it.
    pub timings: crate::cluster::Timings,
}

/// Run the daemon until a termination signal; returns once unmounted.
pub fn run(options: MountOptions) -> Result<()> {
    limit_malloc_arenas();
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .thread_name("svcfs-engine")
        .build()
        .map_err(|e| Error::backend(format!("cannot start the runtime: {e}")))?;

    crate::vardir::create_dir(&options.engine.var_dir).map_err(|e| {
        Error::backend(format!(
            "cannot create the var dir {}: {e}",
            options.engine.var_dir.display()
        ))
    })?;
    // Before anything of the cluster runs: one daemon per var dir, and
    // none while the watchdog of a dead one still stops what it ran.
    let cluster_lock = match options.cluster {
        Some(_) => Some(crate::cluster::watchdog::ClusterLock::take(
            &options.engine.var_dir,
        )?),
        None => None,
    };
    prepare_mountpoint(&options.mountpoint)?;
    let mut options = options;
    options.mountpoint = std::fs::canonicalize(&options.mountpoint).map_err(|e| {
        Error::backend(format!(
            "cannot use mountpoint {}: {e}",
            options.mountpoint.display()
        ))
    })?;

    let engine = Engine::new(options.engine.clone(), backends());
    let agent = options.cluster.as_ref().map(|cluster| {
        let store = Arc::new(crate::cluster::Etcd::new(&cluster.etcd));
        let node =
            crate::cluster::Node::new(options.engine.nodename.clone(), cluster.timings, store);
        crate::cluster::agent::Agent::attach(&engine, node)
    });
    // A node that etcd refuses (TLS, credentials, permissions) stops
    // here: nothing mounted, nothing started.
    if let Some(agent) = &agent {
        runtime.block_on(agent.join())?;
    }
    engine.reload(true);
    for problem in engine.dir_problems() {
        tracing::warn!("{problem}");
    }
    // First states before the tree appears, so the first `cat` is right;
    // but a hung backend must not hold the mount back: after a short wait
    // the refresh goes on in the background.
    let first_refresh = runtime.spawn({
        let engine = Arc::clone(&engine);
        async move {
            engine.refresh_all().await;
            // The first refresh of every resource at once is the daemon's
            // peak: what it freed goes back to the system, not kept for a
            // peak that does not come again.
            crate::memory::give_back_freed();
        }
    });
    runtime.spawn(async {
        let mut tick = tokio::time::interval(crate::memory::LOOK_EVERY);
        loop {
            tick.tick().await;
            crate::memory::give_back_slack();
        }
    });
    let _ =
        runtime.block_on(async { tokio::time::timeout(FIRST_REFRESH_WAIT, first_refresh).await });

    let (fs, kernel_cache) = SvcFs::new(
        Arc::clone(&engine),
        runtime.handle().clone(),
        CtlAccess {
            group: options.ctl_group,
        },
    );
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("svcfs".to_string()),
        MountOption::Subtype("svcfs".to_string()),
        MountOption::DefaultPermissions,
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::NoExec,
    ];
    config.acl = SessionACL::All;
    config.n_threads = Some(FUSE_THREADS);
    config.clone_fd = true;
    let mut session = fuser::Session::new(fs, &options.mountpoint, &config).map_err(|e| {
        Error::backend(format!(
            "cannot mount {}: {e} (is fuse3 installed and /dev/fuse present?)",
            options.mountpoint.display()
        ))
    })?;
    kernel_cache.attach(session.notifier());
    let mut unmounter = session.unmount_callable();
    let (ended_tx, mut ended_rx) = tokio::sync::oneshot::channel();
    let session_thread = std::thread::Builder::new()
        .name("svcfs-fuse".to_string())
        .spawn(move || {
            let result = session.run();
            let _ = ended_tx.send(());
            result
        })
        .map_err(|e| Error::backend(format!("cannot start the FUSE thread: {e}")))?;
    // The connection's number, to abort it should a busy tree keep the
    // session alive after the unmount (read from the mount table: the
    // daemon never stats its own mountpoint).
    let connection = svcfs_entry_at(&options.mountpoint).map(|m| m.dev.1);
    tracing::info!(
        mountpoint = %options.mountpoint.display(),
        services = engine.services().len(),
        "mounted"
    );

    // From here on this node may run what the cluster places on it: a
    // daemon that ends without leaving (SIGKILL, a crash) is fenced by
    // the watchdog. Without one the daemon still fences while it lives,
    // so it serves, and says what is missing.
    let watchdog = match (&options.cluster, &cluster_lock) {
        (Some(cluster), Some(lock)) => crate::cluster::watchdog::Watchdog::start(
            lock,
            &crate::cluster::watchdog::WatchOptions {
                engine: options.engine.clone(),
                stop_budget: cluster.timings.stop_budget,
            },
        )
        .inspect_err(|e| {
            tracing::error!("{e}: if this daemon is killed, nothing stops its services here")
        })
        .ok(),
        _ => None,
    };
    let served = runtime.block_on(async {
        let mut signals = Signals::install()?;
        engine.spawn_background();
        if let Some(agent) = &agent {
            agent.spawn();
            if options.autostart {
                agent.autostart().await;
            }
        }
        if options.autostart {
            engine.autostart();
        }
        wait_for_signals(&engine, &mut signals, &mut ended_rx).await;
        if let Some(agent) = &agent {
            agent.stop_placing();
        }
        // Actions answer their writers through the mount: let the running
        // ones end (bounded; a second signal cuts the wait short).
        tokio::select! {
            _ = engine.wait_idle(ACTION_DRAIN_TIMEOUT) => {}
            _ = signals.terminate() => tracing::warn!("second signal: not waiting for running actions"),
        }
        // A node that leaves stops what it runs and gives it to its peers
        // now, rather than letting its lease expire under running services.
        if let Some(agent) = &agent {
            agent.leave().await;
        }
        Ok::<(), Error>(())
    });
    // Left the cluster (or never joined it): nothing for the watchdog to do.
    if let Some(watchdog) = watchdog {
        watchdog.disarm();
    }
    served?;

    kernel_cache.close_streams();
    tracing::info!(mountpoint = %options.mountpoint.display(), "unmounting");
    if let Err(e) = unmounter.unmount() {
        tracing::warn!("unmount failed ({e}); detaching lazily");
        detach(&options.mountpoint);
    }
    let deadline = std::time::Instant::now() + SESSION_END_TIMEOUT;
    while !session_thread.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if !session_thread.is_finished() {
        // A process still holds the detached tree: cut it off.
        match connection {
            Some(connection) => abort_connection(connection),
            None => tracing::warn!("FUSE connection unknown: waiting for the tree's last user"),
        }
    }
    match session_thread.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("FUSE session ended with: {e}"),
        Err(_) => tracing::error!("FUSE thread panicked"),
    }
    runtime.shutdown_timeout(Duration::from_secs(2));
    tracing::info!("stopped; services keep running");
    Ok(())
}

/// glibc gives every thread that allocates its own arena (up to 8 per
/// core), each keeping what its thread once freed. svcfs allocates little
/// and from ~25 threads (engine, blocking pool, FUSE), so two arenas are
/// plenty: an idle daemon with 1000 services, 45 s after mounting, holds
/// 57.4 MiB instead of 63.9 MiB (release build, measured on this 2-core VM).
/// Set before any thread starts; `MALLOC_ARENA_MAX` in the environment
/// still wins, as glibc reads it at the first allocation.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Raise the soft limit on open files to the hard one, as daemons that
/// hold many descriptors do (systemd gives services 1024 soft, 524288
/// hard): a thousand tasks due in the same second hold two descriptors
/// each while they run (their output pipe and the pidfd that reaps them),
/// besides the FUSE channel and the docker connections.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::warn!(
                    "cannot raise the open files limit: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
}

/// How long a stopping daemon waits for running actions.
const ACTION_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the FUSE session may take to end after the unmount.
const SESSION_END_TIMEOUT: Duration = Duration::from_secs(2);

/// The signals the daemon acts on.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals> {
        let install = |kind: SignalKind| {
            signal(kind)
                .map_err(|e| Error::backend(format!("cannot install a signal handler: {e}")))
        };
        Ok(Signals {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
            hup: install(SignalKind::hangup())?,
        })
    }

    /// The next SIGTERM or SIGINT.
    async fn terminate(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// Serve until SIGTERM/SIGINT or an unmount from outside; SIGHUP reloads.
async fn wait_for_signals(
    engine: &Arc<Engine>,
    signals: &mut Signals,
    ended: &mut tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = signals.term.recv() => return,
            _ = signals.int.recv() => return,
            _ = signals.hup.recv() => {
                tracing::info!("SIGHUP: reloading the config directory");
                engine.reload_and_refresh(true).await;
            }
            _ = &mut *ended => {
                tracing::warn!("the filesystem was unmounted from outside");
                return;
            }
        }
    }
}

/// Create the mountpoint if needed and clean a stale mount (ENOTCONN) left
/// by a daemon that was killed.
fn prepare_mountpoint(mountpoint: &Path) -> Result<()> {
    match std::fs::metadata(mountpoint) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::invalid(format!(
                "mountpoint {} is not a directory",
                mountpoint.display()
            )))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
            tracing::warn!(mountpoint = %mountpoint.display(), "stale mount from a previous daemon: detaching it");
            detach(mountpoint);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(mountpoint).map_err(|e| {
                Error::backend(format!("cannot create {}: {e}", mountpoint.display()))
            })?;
        }
        Err(e) => {
            return Err(Error::backend(format!(
                "cannot use mountpoint {}: {e}",
                mountpoint.display()
            )))
        }
    }
    if is_svcfs_mounted(mountpoint) {
        // The kernel answers a stat of a dead daemon's mount from its
        // attribute cache; statfs always asks the daemon.
        if answers_statfs(mountpoint) == Some(libc::ENOTCONN) {
            tracing::warn!(mountpoint = %mountpoint.display(), "stale mount from a previous daemon: detaching it");
            detach(mountpoint);
            return Ok(());
        }
        return Err(Error::busy(format!(
            "{} is already served by a running svcfs daemon",
            mountpoint.display()
        )));
    }
    Ok(())
}

/// The errno of a statfs of `mountpoint`, None when it answers or does
/// not within a second (a daemon that is alive but busy is still there).
fn answers_statfs(mountpoint: &Path) -> Option<i32> {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = mountpoint.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(nix::sys::statfs::statfs(&path).err().map(|e| e as i32));
    });
    rx.recv_timeout(std::time::Duration::from_secs(1))
        .ok()
        .flatten()
}

/// The mount table's svcfs entry at `mountpoint` (compared as an absolute,
/// canonical path: `mnt/`, a symlink or a relative path name the same
/// mount).
fn svcfs_mount_entry(mountpoint: &Path) -> Option<MountEntry> {
    svcfs_entry_at(&canonical_mount_point(mountpoint))
}

/// The svcfs entry at an already canonical path (no filesystem access but
/// the mount table: the daemon uses it on its own mountpoint).
fn svcfs_entry_at(target: &Path) -> Option<MountEntry> {
    read_mount_table(Path::new("/proc/self/mountinfo"))
        .ok()?
        .into_iter()
        .rev()
        .find(|m| {
            m.mount_point == target
                && m.fs_type.starts_with("fuse")
                && m.source == Path::new("svcfs")
        })
}

/// Whether the mount table shows an svcfs filesystem at `mountpoint`.
pub fn is_svcfs_mounted(mountpoint: &Path) -> bool {
    svcfs_mount_entry(mountpoint).is_some()
}

/// Abort the FUSE connection of the mount at `mountpoint` (what
/// `fusermount -u` cannot do while a process holds the tree): pending and
/// later requests fail with ENOTCONN, and the session ends.
fn abort_connection(connection: u32) {
    const CONNECTIONS: &str = "/sys/fs/fuse/connections";
    let path = format!("{CONNECTIONS}/{connection}/abort");
    if !Path::new(&path).exists() {
        // Not every host mounts the FUSE control filesystem (systemd does).
        let mounted = nix::mount::mount(
            Some("fusectl"),
            CONNECTIONS,
            Some("fusectl"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        );
        if let Err(e) = mounted {
            tracing::warn!("cannot mount fusectl on {CONNECTIONS}: {e}");
        }
    }
    match std::fs::write(&path, "1") {
        Ok(()) => {
            tracing::warn!("a process still held the tree: FUSE connection {connection} aborted")
        }
        Err(e) => tracing::warn!("cannot abort the FUSE connection ({path}): {e}"),
    }
}

fn detach(mountpoint: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(mountpoint.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: umount2 reads a valid NUL-terminated path.
    let rc = unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
    if rc != 0 {
        tracing::warn!(
            mountpoint = %mountpoint.display(),
            "lazy unmount failed: {}",
            io::Error::last_os_error()
        );
    }
}

/// The composition root: the real backends every driver uses, built once
/// (by the daemon, and by its fence watchdog).
pub fn backends() -> Backends {
    Backends {
        docker: Arc::new(|host: &str| Arc::new(BollardDocker::new(host)) as Arc<dyn DockerApi>),
        runner: Arc::new(SystemRunner),
        children: Arc::new(crate::children::SystemChildren),
    }
}
