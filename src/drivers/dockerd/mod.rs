//! The private docker daemon of a service (`docker_data_dir`): an implicit
//! resource that starts after the filesystems (its data lives on one) and
//! before the containers, and stops after the last container.
//!
//! It runs detached from svcfs (its own session, output in
//! `<var-dir>/<svc>/dockerd.log`) so that it outlives a daemon restart; a
//! later svcfs finds it again through its socket and pid file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::drivers::{Driver, DriverContext};

mod manifest;
use crate::actionlog::ResourceLog;
use crate::bounded::{bounded_blocking, poll_until};
use crate::docker::naming::{private_daemon_dir, private_socket};
use crate::docker::{DockerApi, DockerError};
use crate::error::{Error, Result};
use crate::host::command_line;
use crate::model::{ResourceState, Status};
pub use manifest::{DockerdSpec, MANIFEST};

/// Bound on the daemon answering after it was spawned.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Grace period between SIGTERM and SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the daemon's containerd exiting after the daemon did.
const LEFTOVER_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on the containerd of a daemon that died going before a new
/// daemon starts (it takes over one that stays).
const DYING_CONTAINERD_WAIT: Duration = Duration::from_secs(5);
/// Bound on reading the daemon's process state in /proc.
const PROC_TIMEOUT: Duration = Duration::from_secs(5);
/// How often start and stop look at the daemon while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Lines of the daemon's log shown when it fails to start.
const FAILURE_LOG_LINES: usize = 15;

/// Files of one private daemon, all under `<var-dir>/<svc>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonPaths {
    /// `docker.sock`: the tutorial's `/opt/opensvc/var/<svc>/docker.sock`
    /// with `--var-dir /opt/opensvc/var`.
    pub socket: PathBuf,
    /// `dockerd.pid`.
    pub pidfile: PathBuf,
    /// `exec`: the daemon's exec root (containerd state and sockets).
    pub exec_root: PathBuf,
    /// `dockerd.log`.
    pub log: PathBuf,
}

impl DaemonPaths {
    /// The paths of `service`'s daemon under `var_dir`.
    pub fn new(var_dir: &Path, service: &str) -> Self {
        let dir = private_daemon_dir(var_dir, service);
        DaemonPaths {
            socket: private_socket(var_dir, service),
            pidfile: dir.join("dockerd.pid"),
            exec_root: dir.join("exec"),
            log: dir.join("dockerd.log"),
        }
    }
}

/// The dockerd command line: svcfs's own settings, then
/// `docker_daemon_args`.
pub fn daemon_args(service: &str, spec: &DockerdSpec, paths: &DaemonPaths) -> Vec<String> {
    let mut args = vec![
        "--data-root".to_string(),
        spec.data_dir.display().to_string(),
        "-H".to_string(),
        format!("unix://{}", paths.socket.display()),
        "--pidfile".to_string(),
        paths.pidfile.display().to_string(),
        "--exec-root".to_string(),
        paths.exec_root.display().to_string(),
        // Separate containerd namespaces keep this daemon's containers
        // apart from the host daemon's, should they share a containerd.
        "--containerd-namespace".to_string(),
        format!("svcfs-{service}"),
        "--containerd-plugins-namespace".to_string(),
        format!("svcfs-{service}-plugins"),
    ];
    args.extend(spec.args.iter().cloned());
    args
}

/// Whether `pid` is a live dockerd serving `socket` (pids get reused: a
/// stale pid file must not make svcfs signal another process).
fn is_our_daemon(pid: i32, socket: &Path) -> bool {
    let socket = format!("unix://{}", socket.display());
    cmdline_words(&Path::new("/proc").join(pid.to_string()))
        .is_some_and(|words| words.iter().any(|w| w == &socket))
}

/// The argument words of the process at `/proc/<pid>` (`proc_dir`).
fn cmdline_words(proc_dir: &Path) -> Option<Vec<String>> {
    let cmdline = std::fs::read(proc_dir.join("cmdline")).ok()?;
    Some(
        cmdline
            .split(|b| *b == 0)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect(),
    )
}

fn read_pid(pidfile: &Path) -> Option<i32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

fn last_lines(path: &Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// Drives the implicit `dockerd` resource.
pub struct DockerdDriver {
    service: String,
    spec: DockerdSpec,
    paths: DaemonPaths,
    docker: Arc<dyn DockerApi>,
    /// Exit status of a daemon this svcfs spawned, once it ended.
    exited: Arc<Mutex<Option<String>>>,
}

impl DockerdDriver {
    /// A driver for `ctx.service`'s private daemon.
    pub fn new(ctx: &DriverContext, spec: DockerdSpec) -> Self {
        DockerdDriver {
            paths: DaemonPaths::new(&ctx.var_dir, &ctx.service),
            service: ctx.service.clone(),
            spec,
            docker: ctx.docker.clone(),
            exited: Arc::default(),
        }
    }

    async fn answers(&self) -> std::result::Result<(), DockerError> {
        self.docker.ping().await
    }

    /// The pid of the running daemon, from its pid file, checked against
    /// its command line (off the runtime, bounded: /proc can block on a
    /// process stuck in the kernel).
    async fn running_pid(&self) -> Option<i32> {
        let (pidfile, socket) = (self.paths.pidfile.clone(), self.paths.socket.clone());
        let target = self.paths.pidfile.display().to_string();
        bounded_blocking(
            "reading the daemon's pid",
            &target,
            PROC_TIMEOUT,
            move || read_pid(&pidfile).filter(|pid| is_our_daemon(*pid, &socket)),
        )
        .await
        .ok()
        .flatten()
    }

    async fn is_running(&self, pid: i32) -> bool {
        let socket = self.paths.socket.clone();
        let target = format!("dockerd (pid {pid})");
        bounded_blocking("looking at the daemon", &target, PROC_TIMEOUT, move || {
            is_our_daemon(pid, &socket)
        })
        .await
        .unwrap_or(true)
    }

    fn spawn(&self, log: &ResourceLog) -> Result<()> {
        let dir = self.paths.socket.parent().ok_or_else(|| {
            Error::invalid(format!(
                "{} has no directory to create",
                self.paths.socket.display()
            ))
        })?;
        crate::vardir::private_dir(dir)
            .map_err(|e| Error::backend(format!("cannot create {}: {e}", dir.display())))?;
        // A socket left by a daemon that died would make the new one fail.
        let _ = std::fs::remove_file(&self.paths.socket);
        let output = crate::vardir::append(&self.paths.log).map_err(|e| {
            Error::backend(format!("cannot open {}: {e}", self.paths.log.display()))
        })?;
        let args = daemon_args(&self.service, &self.spec, &self.paths);
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        log.info(command_line(&self.spec.exe, &arg_refs));
        let mut command = tokio::process::Command::new(&self.spec.exe);
        command
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(output.try_clone().map_err(|e| {
                Error::backend(format!("cannot share {}: {e}", self.paths.log.display()))
            })?)
            .stderr(output)
            .kill_on_drop(false);
        // SAFETY: setsid and close_range are async-signal-safe syscalls.
        // setsid detaches the daemon from svcfs's session so that it
        // outlives svcfs and its terminal. The daemon outlives svcfs, so it
        // must not keep what svcfs inherited open (a caller's lock file, a
        // pipe a script waits on): every descriptor above stderr is closed
        // at exec (CLOEXEC rather than closed now, so a failed exec is
        // still reported through the standard library's own pipe).
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
                if libc::syscall(
                    libc::SYS_close_range,
                    3,
                    libc::c_uint::MAX,
                    CLOSE_RANGE_CLOEXEC,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| Error::backend(format!("cannot start {}: {e}", self.spec.exe)))?;
        log.info(format!("output in {}", self.paths.log.display()));
        *self.exited.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let exited = Arc::clone(&self.exited);
        // Reap the daemon when it ends, and remember how it ended.
        tokio::spawn(async move {
            let status = child.wait().await;
            let text = match status {
                Ok(s) => s.to_string(),
                Err(e) => format!("unknown ({e})"),
            };
            *exited.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
        });
        Ok(())
    }

    async fn wait_until_answering(&self, log: &ResourceLog) -> Result<()> {
        log.info("wait for docker daemon up status");
        let socket = format!("unix://{}", self.paths.socket.display());
        poll_until(
            "waiting for dockerd to answer",
            &socket,
            START_TIMEOUT,
            POLL_INTERVAL,
            || async {
                if self.answers().await.is_ok() {
                    return Ok(Some(()));
                }
                let exited = self
                    .exited
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                match exited {
                    Some(status) => Err(Error::backend(format!(
                        "dockerd ended while starting ({status}); last lines of {}:\n{}",
                        self.paths.log.display(),
                        last_lines(&self.paths.log, FAILURE_LOG_LINES)
                    ))),
                    None => Ok(None),
                }
            },
        )
        .await
        .map_err(|e| match e.errno() {
            libc::ETIMEDOUT => {
                Error::timed_out(format!("{}; see {}", e.message(), self.paths.log.display()))
            }
            _ => e,
        })?;
        log.info(format!("docker daemon is up on {socket}"));
        Ok(())
    }

    async fn wait_for_exit(&self, pid: i32, limit: Duration) -> bool {
        poll_until(
            "waiting for dockerd to exit",
            &format!("dockerd (pid {pid})"),
            limit,
            POLL_INTERVAL,
            || async { Ok((!self.is_running(pid).await).then_some(())) },
        )
        .await
        .is_ok()
    }
}

fn signal(pid: i32, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
}

#[async_trait]
impl Driver for DockerdDriver {
    /// Its socket answering is its state: an event stream that connects
    /// or breaks says it changed.
    fn follows_docker_connection(&self) -> bool {
        true
    }

    async fn status(&self) -> ResourceState {
        let label = self.spec.data_dir.display().to_string();
        match self.answers().await {
            Ok(()) => ResourceState::new(Status::Up, label),
            Err(e) if e.is_unreachable() => match self.running_pid().await {
                Some(pid) => ResourceState::new(Status::Warn, label).with_message(format!(
                    "dockerd (pid {pid}) runs but its socket does not answer"
                )),
                None => ResourceState::new(Status::Down, label)
                    .with_message("docker daemon is not running"),
            },
            Err(e) => ResourceState::new(Status::Warn, label).with_message(e.message()),
        }
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        if self.answers().await.is_ok() {
            log.info("docker daemon is already up");
            return Ok(());
        }
        match self.running_pid().await {
            Some(pid) => log.info(format!("dockerd (pid {pid}) is starting")),
            None => {
                self.wait_for_dying_containerd(log).await;
                self.spawn(log)?
            }
        }
        self.wait_until_answering(log).await
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        let Some(pid) = self.running_pid().await else {
            if self.answers().await.is_ok() {
                return Err(Error::backend(format!(
                    "a docker daemon answers on {} but {} does not name it: stop it by hand",
                    self.paths.socket.display(),
                    self.paths.pidfile.display()
                )));
            }
            log.info("docker daemon is already down");
            return Ok(());
        };
        log.info(format!("kill -TERM {pid} (dockerd)"));
        signal(pid, nix::sys::signal::Signal::SIGTERM);
        log.info("wait for docker daemon down status");
        if !self.wait_for_exit(pid, STOP_TIMEOUT).await {
            log.warn(format!(
                "dockerd (pid {pid}) still runs after {}s: kill -KILL {pid}",
                STOP_TIMEOUT.as_secs()
            ));
            signal(pid, nix::sys::signal::Signal::SIGKILL);
            if !self.wait_for_exit(pid, Duration::from_secs(5)).await {
                return Err(Error::timed_out(format!(
                    "dockerd (pid {pid}) survived SIGKILL"
                )));
            }
        }
        self.reap_leftovers(log).await;
        self.docker.reset().await;
        log.info("docker daemon is down");
        Ok(())
    }
}

/// The daemon's managed containerd and its shims: processes whose program
/// is a `containerd*` and one of whose arguments is a path in the daemon's
/// exec root. Nothing else is ever taken for them (an operator's `tail`
/// of a file there, say).
fn containerd_of(proc_root: &Path, exec_root: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let is_ours = |words: Vec<String>| {
        let program = words.first().map(Path::new).and_then(Path::file_name);
        program.is_some_and(|p| p.to_string_lossy().starts_with("containerd"))
            && words
                .iter()
                .skip(1)
                .any(|w| Path::new(w).starts_with(exec_root))
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| cmdline_words(&proc_root.join(pid.to_string())).is_some_and(is_ours))
        .collect()
}

/// The containerd that the daemon's containerd pid file names, while that
/// process exists, a zombie included: a new daemon takes it over by the
/// same test (the pid exists), and a zombie not yet reaped (its parent,
/// the daemon, died) still has its `comm` but no command line.
fn previous_containerd(proc_root: &Path, exec_root: &Path) -> Option<i32> {
    let pid = read_pid(&exec_root.join("containerd").join("containerd.pid"))?;
    let comm = std::fs::read_to_string(proc_root.join(pid.to_string()).join("comm")).ok()?;
    (comm.trim() == "containerd").then_some(pid)
}

impl DockerdDriver {
    /// A daemon that died (killed, crashed) leaves its managed containerd
    /// to go a moment after it; a new daemon that finds it still there
    /// takes it over, then times out when it goes ("failed to start
    /// containerd"). Wait for it, bounded: one that stays is taken over
    /// for good.
    async fn wait_for_dying_containerd(&self, log: &ResourceLog) {
        let exec_root = self.paths.exec_root.clone();
        let target = exec_root.display().to_string();
        let found = || {
            let (exec_root, target) = (exec_root.clone(), target.clone());
            async move {
                bounded_blocking(
                    "looking for the previous daemon's containerd",
                    &target,
                    PROC_TIMEOUT,
                    move || previous_containerd(Path::new("/proc"), &exec_root),
                )
                .await
                .ok()
                .flatten()
            }
        };
        let Some(pid) = found().await else {
            return;
        };
        log.info(format!(
            "the containerd of the previous daemon (pid {pid}) is still there: wait for it to go"
        ));
        let _ = poll_until(
            "waiting for the previous daemon's containerd to go",
            &target,
            DYING_CONTAINERD_WAIT,
            POLL_INTERVAL,
            || async { Ok(found().await.is_none().then_some(())) },
        )
        .await;
    }

    /// Wait for the daemon's containerd and shims, which can outlive it by
    /// a moment and keep its data root busy (the next resource to stop is
    /// usually the filesystem it lives on); kill them past a bound.
    async fn reap_leftovers(&self, log: &ResourceLog) {
        // With live-restore, shims are meant to outlive the daemon.
        if self
            .spec
            .args
            .iter()
            .any(|a| a.starts_with("--live-restore"))
        {
            return;
        }
        let exec_root = self.paths.exec_root.clone();
        let target = exec_root.display().to_string();
        let leftovers = || {
            let (exec_root, target) = (exec_root.clone(), target.clone());
            async move {
                bounded_blocking(
                    "looking for the daemon's containerd",
                    &target,
                    PROC_TIMEOUT,
                    move || containerd_of(Path::new("/proc"), &exec_root),
                )
                .await
                .unwrap_or_default()
            }
        };
        if leftovers().await.is_empty() {
            return;
        }
        log.info("wait for the daemon's containerd to exit");
        let gone = poll_until(
            "waiting for the daemon's containerd to exit",
            &target,
            LEFTOVER_TIMEOUT,
            POLL_INTERVAL,
            || async { Ok(leftovers().await.is_empty().then_some(())) },
        )
        .await;
        if gone.is_ok() {
            return;
        }
        let pids = leftovers().await;
        log.warn(format!(
            "still running after {}s, killed: {}",
            LEFTOVER_TIMEOUT.as_secs(),
            pids.iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        ));
        for pid in pids {
            signal(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_is_served_by_its_private_daemon_or_the_shared_one() {
        let parse = |text| {
            crate::config::parse_service(
                &crate::drivers::registry::KINDS,
                "app",
                Path::new("/etc/svcfs/app.env"),
                text,
            )
        };
        let private = parse("[DEFAULT]\ndocker_data_dir = /d\n[container#1]\nrun_image = a\n");
        let shared = parse("[container#1]\nrun_image = a\n");
        let var = Path::new("/opt/opensvc/var");
        let docker_host_of = |config: &crate::config::ServiceConfig, var, shared| {
            crate::docker::naming::service_docker_host(
                &config.name,
                config.defaults.docker_data_dir.is_some(),
                var,
                shared,
            )
        };
        assert_eq!(
            docker_host_of(&private, var, "/var/run/docker.sock"),
            "unix:///opt/opensvc/var/app/docker.sock"
        );
        assert_eq!(
            docker_host_of(&shared, var, "/var/run/docker.sock"),
            "unix:///var/run/docker.sock"
        );
        assert_eq!(
            docker_host_of(&shared, var, "tcp://10.0.0.1:2375"),
            "tcp://10.0.0.1:2375"
        );
    }

    fn spec() -> DockerdSpec {
        DockerdSpec {
            data_dir: PathBuf::from("/opt/app.opensvc.com/appdata"),
            args: vec!["--ip".into(), "37.59.71.25".into()],
            exe: "dockerd".into(),
        }
    }

    #[test]
    fn paths_follow_the_tutorial_with_its_var_dir() {
        let paths = DaemonPaths::new(Path::new("/opt/opensvc/var"), "app.opensvc.com");
        assert_eq!(
            paths.socket,
            PathBuf::from("/opt/opensvc/var/app.opensvc.com/docker.sock")
        );
        assert_eq!(
            paths.pidfile,
            PathBuf::from("/opt/opensvc/var/app.opensvc.com/dockerd.pid")
        );
    }

    #[test]
    fn args_put_svcfs_settings_before_the_configured_ones() {
        let paths = DaemonPaths::new(Path::new("/v"), "app");
        let args = daemon_args("app", &spec(), &paths);
        assert_eq!(
            args,
            [
                "--data-root",
                "/opt/app.opensvc.com/appdata",
                "-H",
                "unix:///v/app/docker.sock",
                "--pidfile",
                "/v/app/dockerd.pid",
                "--exec-root",
                "/v/app/exec",
                "--containerd-namespace",
                "svcfs-app",
                "--containerd-plugins-namespace",
                "svcfs-app-plugins",
                "--ip",
                "37.59.71.25"
            ]
        );
    }

    #[test]
    fn a_recycled_pid_is_not_taken_for_the_daemon() {
        // Our own pid is alive but is not a dockerd serving that socket.
        let me = std::process::id() as i32;
        assert!(!is_our_daemon(me, Path::new("/v/app/docker.sock")));
        assert!(!is_our_daemon(i32::MAX, Path::new("/v/app/docker.sock")));
    }

    #[test]
    fn the_previous_containerd_is_the_one_its_pid_file_names_while_it_exists() {
        let root = std::env::temp_dir().join(format!("svcfs-proc-prev-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let exec = root.join("exec");
        std::fs::create_dir_all(exec.join("containerd")).unwrap();
        let proc_root = root.join("proc");
        assert_eq!(previous_containerd(&proc_root, &exec), None);
        std::fs::write(exec.join("containerd/containerd.pid"), "4000007").unwrap();
        assert_eq!(previous_containerd(&proc_root, &exec), None);
        std::fs::create_dir_all(proc_root.join("4000007")).unwrap();
        std::fs::write(proc_root.join("4000007/comm"), "sleep\n").unwrap();
        assert_eq!(previous_containerd(&proc_root, &exec), None);
        std::fs::write(proc_root.join("4000007/comm"), "containerd\n").unwrap();
        assert_eq!(previous_containerd(&proc_root, &exec), Some(4000007));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn the_daemons_containerd_is_found_by_program_and_exec_root() {
        let root = std::env::temp_dir().join(format!("svcfs-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (pid, cmdline) in [
            ("4000001", "containerd\0--config\0/v/app/exec/containerd/containerd.toml\0"),
            (
                "4000002",
                "/usr/bin/containerd-shim-runc-v2\0-address\0/v/app/exec/containerd/containerd.sock\0",
            ),
            ("4000003", "tail\0-f\0/v/app/exec/containerd/log\0"),
            ("4000004", "containerd\0--config\0/v/app/executable\0"),
            ("4000005", "sleep\x0060\0"),
        ] {
            std::fs::create_dir_all(root.join(pid)).unwrap();
            std::fs::write(root.join(pid).join("cmdline"), cmdline).unwrap();
        }
        std::fs::create_dir_all(root.join("self")).unwrap();
        let mut found = containerd_of(&root, Path::new("/v/app/exec"));
        found.sort();
        assert_eq!(found, [4000001, 4000002]);
        assert!(containerd_of(&root, Path::new("/other/exec")).is_empty());
        assert!(containerd_of(Path::new("/nonexistent"), Path::new("/x")).is_empty());
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn last_lines_of_a_log() {
        let path = std::env::temp_dir().join(format!("svcfs-dockerd-log-{}", std::process::id()));
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(last_lines(&path, 2), "b\nc");
        assert_eq!(last_lines(Path::new("/nonexistent"), 2), "");
        let _ = std::fs::remove_file(path);
    }
}
