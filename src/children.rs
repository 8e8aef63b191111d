//! Children: the programs svcfs runs on a service's behalf (an app's
//! start, stop and check scripts, a task's command), as opposed to the
//! host commands its own drivers run (`host`). Each runs as the user, in
//! the directory and with the environment its resource asks for, in a
//! process group of its own; at its timeout (or when asked to: a task's
//! `kill`) the whole group is killed, and it is always reaped. A run given
//! up by its caller (the daemon stops) kills the group too. Its
//! output (stdout and stderr as one stream, in the order written) is kept
//! bounded: the last bytes, with a note of what was cut. A child that
//! leaves something running (a start script that launches a daemon) ends
//! when it exits: what it left may keep the output open, and is left
//! alone.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::{Error, Result};

/// How much of a child's output is kept: its last bytes.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// How long the output of a child that exited is still read: what it
/// wrote just before exiting, not what a daemon it left writes later.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(100);

/// How long a killed child gets to be reaped.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSpec {
    /// The program: a path, or a name looked up in `PATH`.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables added to svcfs's own environment.
    pub env: Vec<(String, String)>,
    /// Its working directory (`/` when unset).
    pub cwd: Option<PathBuf>,
    /// The user it runs as (name or uid); root's when unset.
    pub user: Option<String>,
    /// Its group (name or gid); the user's own when unset.
    pub group: Option<String>,
    /// When its process group is killed.
    pub timeout: Duration,
}

impl ChildSpec {
    /// The command line, as an operator would type it, for logs.
    pub fn command_line(&self) -> String {
        let program = self.program.to_string_lossy();
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        crate::host::command_line(&program, &args)
    }
}

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildOutput {
    /// Its exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Killed with its group at its timeout.
    pub timed_out: bool,
    /// Killed with its group when asked to ([`ChildRunner::run_until`]).
    pub killed: bool,
    /// The last [`OUTPUT_LIMIT`] bytes of its output, lossily decoded.
    pub output: String,
    /// Bytes of output dropped before those kept.
    pub cut: usize,
}

impl ChildOutput {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out && !self.killed
    }

    /// Its output's last non-empty line, trimmed (what a check says).
    pub fn last_line(&self) -> &str {
        self.output
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }

    /// Its output as kept, with a first line saying what was cut.
    pub fn output_with_note(&self) -> String {
        if self.cut == 0 {
            self.output.clone()
        } else {
            format!(
                "[svcfs: the first {} bytes of the output were dropped]\n{}",
                self.cut, self.output
            )
        }
    }

    /// `exit N`, `killed by a signal`, `killed` or `timed out`, for
    /// messages.
    pub fn ending(&self) -> String {
        match (self.timed_out, self.killed, self.code) {
            (true, _, _) => "timed out".to_string(),
            (false, true, _) => "killed".to_string(),
            (false, false, Some(code)) => format!("exit {code}"),
            (false, false, None) => "killed by a signal".to_string(),
        }
    }
}

/// What ends a run early when it completes (a task's `kill`).
pub type KillSignal = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs children.
#[async_trait]
pub trait ChildRunner: Send + Sync {
    /// Run `spec` to its end or its timeout. Err only when it could not
    /// start (no such program, no such user): how it ended is the Ok
    /// output's.
    async fn run(&self, spec: &ChildSpec) -> Result<ChildOutput> {
        self.run_until(spec, Box::pin(std::future::pending())).await
    }

    /// [`ChildRunner::run`], its process group killed (and the output
    /// marked `killed`) as soon as `kill` completes.
    async fn run_until(&self, spec: &ChildSpec, kill: KillSignal) -> Result<ChildOutput>;
}

/// The real thing.
pub struct SystemChildren;

/// Kills a child's process group if its run is dropped before the child
/// was reaped (the daemon stops mid-run): what it started goes with it,
/// and tokio reaps the leader (`kill_on_drop`).
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn reaped(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(group),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[async_trait]
impl ChildRunner for SystemChildren {
    async fn run_until(&self, spec: &ChildSpec, mut kill: KillSignal) -> Result<ChildOutput> {
        let started = Instant::now();
        let line = spec.command_line();
        let (mut command, reader) =
            command(spec).map_err(|e| Error::backend(format!("cannot run {line}: {e}")))?;
        let mut child = command
            .spawn()
            .map_err(|e| Error::backend(format!("cannot run {line}: {e}")))?;
        // The write ends are the child's now (and its descendants').
        drop(command);
        let mut guard = GroupGuard(child.id().and_then(|g| i32::try_from(g).ok()));
        let mut reader = tokio::net::unix::pipe::Receiver::from_owned_fd(reader)
            .map_err(|e| Error::backend(format!("cannot read the output of {line}: {e}")))?;
        let mut kept = Tail::default();
        let mut buffer = ReadBuffer;
        let deadline = tokio::time::Instant::now() + spec.timeout;
        let status = loop {
            tokio::select! {
                status = child.wait() => break Some(status),
                read = buffer.read_into(&mut reader, &mut kept) => match read {
                    Ok(0) | Err(_) => break None,
                    Ok(_) => {}
                },
                () = tokio::time::sleep_until(deadline) => {
                    kill_group_and_reap(&mut child).await;
                    guard.reaped();
                    drain(&mut reader, &mut buffer, &mut kept).await;
                    tracing::debug!(command = %line, elapsed = ?started.elapsed(), "child timed out");
                    return Ok(kept.finish(None, true));
                }
                () = &mut kill => {
                    kill_group_and_reap(&mut child).await;
                    guard.reaped();
                    drain(&mut reader, &mut buffer, &mut kept).await;
                    tracing::debug!(command = %line, elapsed = ?started.elapsed(), "child killed");
                    return Ok(kept.killed());
                }
            }
        };
        // Output closed: the child is about to exit (or left a daemon
        // that closed it); wait for it within the same bound.
        let status = match status {
            Some(status) => status,
            None => {
                tokio::select! {
                    status = child.wait() => status,
                    () = tokio::time::sleep_until(deadline) => {
                        kill_group_and_reap(&mut child).await;
                        guard.reaped();
                        return Ok(kept.finish(None, true));
                    }
                    () = &mut kill => {
                        kill_group_and_reap(&mut child).await;
                        guard.reaped();
                        return Ok(kept.killed());
                    }
                }
            }
        };
        guard.reaped();
        drain(&mut reader, &mut buffer, &mut kept).await;
        let code = status
            .map_err(|e| Error::backend(format!("cannot wait for {line}: {e}")))?
            .code();
        tracing::debug!(command = %line, elapsed = ?started.elapsed(), ?code, "child");
        Ok(kept.finish(code, false))
    }
}

/// The command for `spec`, with its stdout and stderr on one pipe whose
/// read end is returned.
fn command(spec: &ChildSpec) -> std::io::Result<(tokio::process::Command, OwnedFd)> {
    // Close-on-exec: the read end must not leak into this child or into
    // those spawned beside it (the write end becomes its stdout, without).
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let mut command = tokio::process::Command::new(&spec.program);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(spec.cwd.as_deref().unwrap_or("/".as_ref()))
        .stdin(std::process::Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        // Its own group: a timeout kills what it started too.
        .process_group(0)
        .kill_on_drop(true);
    if let Some((uid, gid, home, name)) = identity(spec)? {
        command
            .env("HOME", home)
            .env("USER", &name)
            .env("LOGNAME", &name);
        // SAFETY: setgroups, setgid and setuid are async-signal-safe
        // system calls, made between fork and exec: root's supplementary
        // groups are dropped first (std's own uid() would switch before a
        // pre_exec could), so that the child has the user's rights only.
        unsafe {
            command.pre_exec(move || {
                let gid = nix::unistd::Gid::from_raw(gid);
                nix::unistd::setgroups(&[gid])?;
                nix::unistd::setgid(gid)?;
                nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))?;
                Ok(())
            });
        }
    }
    Ok((command, reader))
}

/// The uid, gid, home and name `spec` runs as, when it names a user or a
/// group.
fn identity(spec: &ChildSpec) -> std::io::Result<Option<(u32, u32, PathBuf, String)>> {
    use nix::unistd::{Group, User};
    if spec.user.is_none() && spec.group.is_none() {
        return Ok(None);
    }
    let missing = |what: &str, name: &str| {
        std::io::Error::new(std::io::ErrorKind::NotFound, format!("no {what} {name}"))
    };
    let user = match &spec.user {
        None => User::from_uid(nix::unistd::Uid::from_raw(0))?,
        Some(name) => match name.parse::<u32>() {
            Ok(uid) => User::from_uid(nix::unistd::Uid::from_raw(uid))?,
            Err(_) => User::from_name(name)?,
        },
    };
    let user = user.ok_or_else(|| missing("user", spec.user.as_deref().unwrap_or("root")))?;
    let gid = match &spec.group {
        None => user.gid.as_raw(),
        Some(name) => match name.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => Group::from_name(name)?
                .ok_or_else(|| missing("group", name))?
                .gid
                .as_raw(),
        },
    };
    Ok(Some((user.uid.as_raw(), gid, user.dir, user.name)))
}

/// What a child wrote after it exited (or was killed), for a short while:
/// a daemon it left may hold the pipe open for good.
async fn drain(
    reader: &mut tokio::net::unix::pipe::Receiver,
    buffer: &mut ReadBuffer,
    kept: &mut Tail,
) {
    let until = tokio::time::Instant::now() + DRAIN_AFTER_EXIT;
    while let Ok(Ok(n)) = tokio::time::timeout_at(until, buffer.read_into(reader, kept)).await {
        if n == 0 {
            break;
        }
    }
}

/// Where a child's output is read: a buffer of the thread that reads,
/// not one per child, so that a thousand children running at once (tasks
/// due in the same second) do not hold 8 KiB each while they wait.
#[derive(Default)]
struct ReadBuffer;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 8192]);
}

impl ReadBuffer {
    /// Wait until `reader` has output, and move what it has into `kept`;
    /// the bytes read (0 at the end of the output).
    async fn read_into(
        &mut self,
        reader: &mut tokio::net::unix::pipe::Receiver,
        kept: &mut Tail,
    ) -> std::io::Result<usize> {
        loop {
            reader.readable().await?;
            let read = SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let read = reader.try_read(&mut scratch);
                if let Ok(n) = read {
                    kept.push(&scratch[..n]);
                }
                read
            });
            match read {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }
}

/// SIGKILL the child's process group (it leads it), then reap it.
async fn kill_group_and_reap(child: &mut tokio::process::Child) {
    if let Some(group) = child.id().and_then(|g| i32::try_from(g).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(group),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.start_kill();
    if tokio::time::timeout(REAP_TIMEOUT, child.wait())
        .await
        .is_err()
    {
        // Dropped with kill_on_drop: tokio reaps it when it finally dies.
        tracing::warn!(pid = ?child.id(), "a killed child did not exit in time");
    }
}

/// The last [`OUTPUT_LIMIT`] bytes written, and how many came before.
#[derive(Default)]
struct Tail {
    bytes: std::collections::VecDeque<u8>,
    cut: usize,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.bytes.extend(data);
        let over = self.bytes.len().saturating_sub(OUTPUT_LIMIT);
        if over > 0 {
            self.bytes.drain(..over);
            self.cut += over;
        }
    }

    fn finish(self, code: Option<i32>, timed_out: bool) -> ChildOutput {
        let bytes: Vec<u8> = self.bytes.into();
        ChildOutput {
            code,
            timed_out,
            killed: false,
            output: String::from_utf8_lossy(&bytes).into_owned(),
            cut: self.cut,
        }
    }

    fn killed(self) -> ChildOutput {
        ChildOutput {
            killed: true,
            ..self.finish(None, false)
        }
    }
}

/// A recording fake: every spec run, in order, answered from a script of
/// outcomes (exit 0 with no output once the script is spent).
#[cfg(test)]
#[derive(Default)]
pub struct FakeChildren {
    script: std::sync::Mutex<std::collections::VecDeque<Result<ChildOutput>>>,
    runs: std::sync::Mutex<Vec<ChildSpec>>,
}

#[cfg(test)]
impl FakeChildren {
    /// The next run ends with `code` after printing `output`.
    pub fn exits(&self, code: i32, output: &str) -> &Self {
        self.answer(Ok(ChildOutput {
            code: Some(code),
            timed_out: false,
            killed: false,
            output: output.to_string(),
            cut: 0,
        }))
    }

    /// The next run hits its timeout after printing `output`.
    pub fn times_out(&self, output: &str) -> &Self {
        self.answer(Ok(ChildOutput {
            code: None,
            timed_out: true,
            killed: false,
            output: output.to_string(),
            cut: 0,
        }))
    }

    /// The next run cannot start.
    pub fn fails_to_start(&self, error: Error) -> &Self {
        self.answer(Err(error))
    }

    fn answer(&self, outcome: Result<ChildOutput>) -> &Self {
        crate::sync::lock(&self.script).push_back(outcome);
        self
    }

    /// Every spec run so far.
    pub fn runs(&self) -> Vec<ChildSpec> {
        crate::sync::lock(&self.runs).clone()
    }
}

#[cfg(test)]
#[async_trait]
impl ChildRunner for FakeChildren {
    async fn run_until(&self, spec: &ChildSpec, _kill: KillSignal) -> Result<ChildOutput> {
        crate::sync::lock(&self.runs).push(spec.clone());
        let next = crate::sync::lock(&self.script).pop_front();
        next.unwrap_or_else(|| {
            Ok(ChildOutput {
                code: Some(0),
                timed_out: false,
                killed: false,
                output: String::new(),
                cut: 0,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> ChildSpec {
        ChildSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("SVCFS_TEST".into(), "yes".into())],
            cwd: Some("/tmp".into()),
            user: None,
            group: None,
            timeout,
        }
    }

    #[tokio::test]
    async fn output_is_one_stream_with_the_exit_code() {
        let out = SystemChildren
            .run(&sh(
                "echo out; echo err >&2; echo $SVCFS_TEST; pwd; exit 3",
                Duration::from_secs(10),
            ))
            .await
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert!(!out.success() && !out.timed_out);
        assert_eq!(out.output, "out\nerr\nyes\n/tmp\n");
        assert_eq!(out.last_line(), "/tmp");
        assert_eq!(out.ending(), "exit 3");
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group_and_reaps_it() {
        let marker = std::env::temp_dir().join(format!("svcfs-child-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!(
            "(sleep 2; touch {}) & echo started; sleep 30",
            marker.display()
        );
        let started = Instant::now();
        let out = SystemChildren
            .run(&sh(&script, Duration::from_millis(300)))
            .await
            .unwrap();
        assert!(out.timed_out && !out.success());
        assert_eq!(out.output, "started\n");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The grandchild died with the group: it never touches the marker.
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "a grandchild outlived the timeout");
    }

    #[tokio::test]
    async fn a_kill_ends_the_whole_group_at_once() {
        let marker = std::env::temp_dir().join(format!("svcfs-child-kill-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!(
            "(sleep 2; touch {}) & echo started; sleep 30",
            marker.display()
        );
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let run = tokio::spawn(async move {
            let kill: KillSignal = Box::pin(async move {
                let _ = rx.wait_for(|k| *k).await;
            });
            SystemChildren
                .run_until(&sh(&script, Duration::from_secs(60)), kill)
                .await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.send(true).unwrap();
        let out = run.await.unwrap().unwrap();
        assert!(out.killed && !out.timed_out && !out.success());
        assert_eq!(out.ending(), "killed");
        assert_eq!(out.output, "started\n");
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "a grandchild outlived the kill");
    }

    #[tokio::test]
    async fn a_dropped_run_kills_its_group() {
        let marker = std::env::temp_dir().join(format!("svcfs-child-drop-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!("sleep 1; touch {}", marker.display());
        let spec = sh(&script, Duration::from_secs(60));
        let run = SystemChildren.run(&spec);
        assert!(tokio::time::timeout(Duration::from_millis(200), run)
            .await
            .is_err());
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "the group outlived its dropped run");
    }

    #[tokio::test]
    async fn a_daemon_left_behind_does_not_hold_the_run() {
        let started = Instant::now();
        let out = SystemChildren
            .run(&sh("sleep 5 & echo launched", Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(out.success());
        assert_eq!(out.output, "launched\n");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn only_the_tail_of_a_long_output_is_kept() {
        let out = SystemChildren
            .run(&sh(
                "i=0; while [ $i -lt 10000 ]; do echo line-$i-xxxxxxxxxx; i=$((i+1)); done",
                Duration::from_secs(20),
            ))
            .await
            .unwrap();
        assert_eq!(out.output.len(), OUTPUT_LIMIT);
        assert!(out.cut > 0);
        assert_eq!(out.last_line(), "line-9999-xxxxxxxxxx");
        assert!(out.output_with_note().starts_with("[svcfs: the first "));
    }

    #[tokio::test]
    async fn a_missing_program_or_user_cannot_start() {
        let mut spec = sh("true", Duration::from_secs(5));
        spec.program = "/nonexistent/svcfs-script".into();
        let e = SystemChildren.run(&spec).await.unwrap_err();
        assert!(e.message().contains("/nonexistent/svcfs-script"), "{e}");
        let mut spec = sh("true", Duration::from_secs(5));
        spec.user = Some("svcfs-no-such-user".into());
        let e = SystemChildren.run(&spec).await.unwrap_err();
        assert!(e.message().contains("no user svcfs-no-such-user"), "{e}");
    }

    #[tokio::test]
    async fn a_child_runs_as_its_user_and_group() {
        if !nix::unistd::Uid::effective().is_root() {
            assert!(std::env::var_os("CI").is_none(), "needs root");
            return;
        }
        let mut spec = sh("id -u; id -g; id -G; echo $HOME", Duration::from_secs(5));
        spec.user = Some("nobody".into());
        spec.group = Some("nogroup".into());
        let out = SystemChildren.run(&spec).await.unwrap();
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        let nogroup = nix::unistd::Group::from_name("nogroup").unwrap().unwrap();
        let lines: Vec<&str> = out.output.lines().collect();
        assert_eq!(lines[0], nobody.uid.to_string());
        assert_eq!(lines[1], nogroup.gid.to_string());
        assert_eq!(
            lines[2],
            nogroup.gid.to_string(),
            "supplementary groups dropped"
        );
        assert_eq!(lines[3], nobody.dir.to_string_lossy());
    }
}
