//! The fence of a daemon that ends without leaving the cluster (SIGKILL,
//! a panic, the OOM killer). Its lease expires a TTL after its last
//! renewal and a peer starts its services, while what it ran here still
//! runs: two nodes would run one service. So `svcfs mount --cluster`
//! starts a process of its own beside it (`svcfs fence-watch`, hidden)
//! that holds the read end of a pipe. A daemon that leaves says so before
//! it closes the pipe, and the watchdog exits; when the pipe ends without
//! that word the daemon is gone, and the watchdog stops here, at once and
//! within the stop budget, every service the cluster may place on this
//! node, as the daemon's own fence would (docs/cluster.md §6).
//!
//! The daemon's lock on `<var dir>/cluster.lock` is shared with the
//! watchdog (one open file, inherited), so it is held until both have
//! ended: a daemon started again waits for the watchdog's stops before it
//! joins, and two daemons never share a var dir.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bounded::bounded;
use crate::engine::{Backends, Engine, EngineOptions, Verb};
use crate::error::{Error, Result};

/// The lock in the var dir.
pub const LOCK_FILE: &str = "cluster.lock";
/// How long a daemon waits for the lock (the stops of a dead daemon's
/// watchdog take at most the stop budget).
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// What a leaving daemon writes before it closes the pipe.
const LEFT: &[u8] = b"left\n";
/// The descriptor the watchdog finds the shared lock on.
const LOCK_FD: i32 = 3;

/// The var dir's cluster lock, held for the daemon's life.
pub struct ClusterLock(File);

impl ClusterLock {
    /// Take the lock of `var_dir`, waiting up to [`LOCK_WAIT`] for what
    /// holds it: another daemon on the same var dir, or the watchdog of
    /// one that died, while it stops what that one ran.
    pub fn take(var_dir: &Path) -> Result<ClusterLock> {
        let path = var_dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::backend(format!("cannot open {}: {e}", path.display())))?;
        let waited_since = Instant::now();
        let mut told = false;
        loop {
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(ClusterLock(file));
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(Error::backend(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
            if waited_since.elapsed() >= LOCK_WAIT {
                return Err(Error::busy(format!(
                    "{} is still locked after {}s: another svcfs daemon uses this var dir with --cluster, or the fence watchdog of one that died is stopping its services",
                    path.display(),
                    LOCK_WAIT.as_secs()
                )));
            }
            if !told {
                tracing::warn!(lock = %path.display(), "waiting for the lock: another svcfs daemon on this var dir, or the fence watchdog of one that died, stopping what it ran");
                told = true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// What the watchdog needs to stop this node's services.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub engine: EngineOptions,
    pub stop_budget: Duration,
}

/// The daemon's side of the watchdog.
pub struct Watchdog {
    child: Child,
    pipe: Option<std::process::ChildStdin>,
}

impl Watchdog {
    /// Start `svcfs fence-watch` (this executable) for `options`, sharing
    /// `lock` with it.
    pub fn start(lock: &ClusterLock, options: &WatchOptions) -> Result<Watchdog> {
        let exe = std::env::current_exe()
            .map_err(|e| Error::backend(format!("cannot find svcfs's own executable: {e}")))?;
        let engine = &options.engine;
        let mut command = Command::new(exe);
        command
            .arg("fence-watch")
            .arg("--config-dir")
            .arg(&engine.config_dir)
            .arg("--var-dir")
            .arg(&engine.var_dir)
            .arg("--docker-host")
            .arg(&engine.docker_host)
            .arg("--nodename")
            .arg(&engine.nodename)
            .arg("--status-timeout")
            .arg(engine.status_timeout.as_secs().max(1).to_string())
            .arg("--stop-budget-ms")
            .arg(options.stop_budget.as_millis().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            // A Ctrl-C meant for the daemon's terminal must not end it:
            // the daemon then leaves and tells it so.
            .process_group(0);
        let lock_fd = lock.0.as_raw_fd();
        // SAFETY: dup2 and fcntl are async-signal-safe. The lock goes to
        // the watchdog on a known descriptor; every other descriptor of
        // the daemon is CLOEXEC (the standard library opens them so).
        unsafe {
            command.pre_exec(move || {
                let moved = if lock_fd == LOCK_FD {
                    libc::fcntl(LOCK_FD, libc::F_SETFD, 0)
                } else {
                    libc::dup2(lock_fd, LOCK_FD)
                };
                if moved < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| Error::backend(format!("cannot start the fence watchdog: {e}")))?;
        let pipe = child.stdin.take();
        tracing::info!(pid = child.id(), "fence watchdog started");
        Ok(Watchdog { child, pipe })
    }

    /// The daemon leaves the cluster: the watchdog ends without stopping
    /// anything.
    pub fn disarm(mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(LEFT);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        tracing::warn!(
            pid = self.child.id(),
            "the fence watchdog did not end: killing it"
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether what the daemon wrote before the pipe ended says it left.
pub fn said_left(written: &[u8]) -> bool {
    written.ends_with(LEFT)
}

/// `svcfs fence-watch`: wait for the daemon's end; if it did not leave,
/// stop every service whose `nodes` name this node. Returns the exit code.
pub fn watch(options: WatchOptions, backends: Backends) -> i32 {
    // Kept open (the lock is held until this process ends) but not given
    // to the commands the stops run. The signals meant for the daemon
    // (`killall svcfs`, a hangup, SIGHUP's reload) do not end the
    // watchdog: only the daemon's word or its end do.
    // SAFETY: fcntl on a descriptor inherited from the daemon; ignoring
    // signals before any thread starts.
    unsafe {
        libc::fcntl(LOCK_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::signal(signal, libc::SIG_IGN);
        }
    }
    let mut written = Vec::new();
    // Read errors count as the end of the daemon.
    let _ = std::io::stdin().lock().read_to_end(&mut written);
    if said_left(&written) {
        return 0;
    }
    tracing::warn!(
        node = %options.engine.nodename,
        "the svcfs daemon ended without leaving the cluster: stopping the services it may run here before its lease expires"
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("fence watchdog: cannot start a runtime: {e}");
            return 1;
        }
    };
    let failed = runtime.block_on(fence(&options, backends));
    i32::from(failed > 0)
}

/// Stop, here and all at once, each service the cluster may place on this
/// node (a stop of what does not run here is quick and changes nothing).
/// Returns how many failed.
async fn fence(options: &WatchOptions, backends: Backends) -> usize {
    let engine = Engine::new(options.engine.clone(), backends);
    engine.reload(true);
    let nodename = options.engine.nodename.clone();
    let stops = engine
        .services()
        .into_iter()
        .filter(|runtime| super::placement::places_on(&runtime.loaded().config, &nodename))
        .map(|runtime| stop_one(runtime, options, &nodename));
    let results = futures_util::future::join_all(stops).await;
    results.into_iter().filter(|ok| !ok).count()
}

async fn stop_one(
    runtime: Arc<crate::engine::ServiceRuntime>,
    options: &WatchOptions,
    nodename: &str,
) -> bool {
    let name = runtime.name().to_string();
    let run = runtime.run(Verb::Stop, &[], nodename, options.engine.status_timeout);
    match bounded("stop", &name, options.stop_budget, run).await {
        Ok(()) => {
            tracing::info!(service = %name, "fence watchdog: stopped");
            true
        }
        Err(e) => {
            tracing::error!(service = %name, "fence watchdog: stop failed: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_word_of_a_leaving_daemon_disarms() {
        assert!(said_left(b"left\n"));
        assert!(!said_left(b""));
        assert!(!said_left(b"lef"));
        assert!(!said_left(b"left\nx"));
    }

    #[test]
    fn the_lock_is_held_until_its_last_holder_ends_and_waits_are_bounded() {
        let dir = std::env::temp_dir().join(format!("svcfs-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = ClusterLock::take(&dir).unwrap();
        // A second open file of the same lock: refused while held.
        let other = File::options()
            .write(true)
            .open(dir.join(LOCK_FILE))
            .unwrap();
        // SAFETY: flock on a descriptor this test owns.
        let taken = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(taken, -1);
        // A copy of the first descriptor (what the watchdog inherits)
        // keeps it held after the first is closed.
        let copy = first.0.try_clone().unwrap();
        drop(first);
        // SAFETY: as above.
        let taken = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(taken, -1);
        drop(copy);
        let again = ClusterLock::take(&dir).unwrap();
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
