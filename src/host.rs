//! Host commands (mount, fsck, losetup, vgchange, ping, ...) behind a small
//! trait, so drivers are unit-tested against a recording fake and run the
//! real thing in integration tests. Every command has a timeout, a debug
//! log line with its duration, and LVM's fd warnings silenced; it is
//! always reaped (killed with its process group first when it outlives
//! its bound or its caller), and few run at once.

#[cfg(test)]
use std::collections::VecDeque;
#[cfg(test)]
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::{Error, Result};

/// What a finished command left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CommandOutput {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// A successful output with this stdout (for fakes).
    #[cfg(test)]
    pub fn ok(stdout: &str) -> Self {
        CommandOutput {
            code: Some(0),
            stdout: stdout.to_string(),
            stderr: String::new(),
        }
    }

    /// A failed output with this exit code and stderr (for fakes).
    #[cfg(test)]
    pub fn failed(code: i32, stderr: &str) -> Self {
        CommandOutput {
            code: Some(code),
            stdout: String::new(),
            stderr: stderr.to_string(),
        }
    }

    /// stderr (or stdout when stderr is empty), trimmed, for error messages.
    pub fn diagnostic(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        text.trim().to_string()
    }
}

/// Runs host commands.
#[async_trait]
pub trait CommandRunner: Send + Sync {
    /// Run `program args...`, bounded by `timeout`. Err only when it could
    /// not run or hit the bound (ETIMEDOUT); a non-zero exit is an Ok
    /// output for the caller to judge.
    async fn run(&self, program: &str, args: &[&str], timeout: Duration) -> Result<CommandOutput>;
}

/// `program arg arg` for logs and messages.
pub fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .map(quote_if_needed)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quote a word for a shell only when it needs it, so log lines read like
/// what an operator types (`--bridge=br0`, not `'--bridge=br0'`).
pub fn quote_if_needed(word: &str) -> String {
    // A word starting with `#` would read back as a comment.
    let plain = !word.is_empty()
        && !word.starts_with('#')
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,@+%#".contains(&b));
    if plain {
        word.to_string()
    } else {
        shell_words::quote(word).into_owned()
    }
}

/// Run a command and fail with EIO, naming the command and its stderr,
/// unless it exits 0.
pub async fn run_checked(
    runner: &dyn CommandRunner,
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<CommandOutput> {
    let output = runner.run(program, args, timeout).await?;
    if output.success() {
        Ok(output)
    } else {
        Err(command_failure(program, args, &output))
    }
}

/// The EIO of a command that did not exit 0: `<command line> failed (exit
/// N): <stderr>`, for callers that judge some failures themselves before
/// giving up (not found, busy).
pub fn command_failure(program: &str, args: &[&str], output: &CommandOutput) -> Error {
    Error::backend(format!(
        "{} failed ({}): {}",
        command_line(program, args),
        output
            .code
            .map_or_else(|| "killed".to_string(), |c| format!("exit {c}")),
        output.diagnostic()
    ))
}

/// How many host commands run at once, in the whole process (every
/// runner shares the bound: the cost is the host's, however many services
/// hold a runner). Status checks share their reads (see
/// `drivers::shared`), so this only bites when they cannot (an LVM listing
/// that fails makes each VG ask for itself) or when many actions run
/// together; the others wait for a slot instead of forking hundreds of
/// `vgs` on a two-core host.
pub const MAX_HOST_COMMANDS: usize = 8;

static HOST_COMMANDS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_HOST_COMMANDS);

/// How long a killed command gets to be reaped (a process in
/// uninterruptible sleep dies only when the kernel lets it).
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

/// The real thing: `tokio::process`, at most [`MAX_HOST_COMMANDS`] at a
/// time. A command that hits its bound, or whose caller gives up (an
/// engine deadline, a status check's bound), has its process group killed
/// and is then waited for: no zombie is left behind, and no `fsck.ext4`
/// goes on writing after svcfs gave up on it.
pub struct SystemRunner;

/// Why a command's wait ended early.
enum Cut {
    TimedOut,
    Abandoned,
}

#[async_trait]
impl CommandRunner for SystemRunner {
    async fn run(&self, program: &str, args: &[&str], timeout: Duration) -> Result<CommandOutput> {
        let started = Instant::now();
        let line = command_line(program, args);
        let slot = HOST_COMMANDS
            .acquire()
            .await
            .map_err(|_| Error::backend(format!("cannot run {program}: shutting down")))?;
        let queued = started.elapsed();
        // Its own process group, so that a timeout kills what it started
        // too (fsck runs fsck.ext4, which must not go on writing).
        let child = tokio::process::Command::new(program)
            .args(args)
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => {
                tracing::debug!(command = %line, "command could not run: {e}");
                return Err(Error::backend(format!("cannot run {program}: {e}")));
            }
        };
        // The child is watched by a task of its own, which outlives this
        // future: dropping the future (the caller gave up) drops `abandon`,
        // and the task kills and reaps the command.
        let (abandon, abandoned) = tokio::sync::oneshot::channel::<()>();
        let watcher = tokio::spawn(supervise(child, timeout, abandoned, slot));
        let result = watcher
            .await
            .map_err(|e| Error::backend(format!("{line}: the command's watcher failed: {e}")))?;
        drop(abandon);
        let elapsed = started.elapsed();
        match result {
            Err(Cut::TimedOut) => {
                tracing::debug!(command = %line, ?queued, ?elapsed, "command timed out");
                Err(crate::bounded::timed_out(&line, program, timeout))
            }
            // Only seen by a watcher whose caller is gone.
            Err(Cut::Abandoned) => Err(Error::backend(format!("{line}: abandoned"))),
            Ok(Err(e)) => {
                tracing::debug!(command = %line, ?queued, ?elapsed, "command could not run: {e}");
                Err(Error::backend(format!("cannot run {program}: {e}")))
            }
            Ok(Ok(output)) => {
                tracing::debug!(command = %line, ?queued, ?elapsed, code = ?output.code, "command");
                Ok(output)
            }
        }
    }
}

/// Collect the command's output until it exits, its bound passes or its
/// caller gives up; in the last two cases kill its process group and reap
/// it.
async fn supervise(
    mut child: tokio::process::Child,
    timeout: Duration,
    abandoned: tokio::sync::oneshot::Receiver<()>,
    // Held until the command is reaped, wherever that happens.
    _slot: tokio::sync::SemaphorePermit<'static>,
) -> std::result::Result<std::io::Result<CommandOutput>, Cut> {
    use tokio::io::AsyncReadExt;
    let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
    let finished = {
        let collect = async {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let read_out = async {
                match stdout.as_mut() {
                    Some(pipe) => pipe.read_to_end(&mut out).await.map(drop),
                    None => Ok(()),
                }
            };
            let read_err = async {
                match stderr.as_mut() {
                    Some(pipe) => pipe.read_to_end(&mut err).await.map(drop),
                    None => Ok(()),
                }
            };
            let (o, e, status) = tokio::join!(read_out, read_err, child.wait());
            o?;
            e?;
            Ok(CommandOutput {
                code: status?.code(),
                stdout: String::from_utf8_lossy(&out).into_owned(),
                stderr: String::from_utf8_lossy(&err).into_owned(),
            })
        };
        tokio::select! {
            output = collect => Ok(output),
            _ = tokio::time::sleep(timeout) => Err(Cut::TimedOut),
            _ = abandoned => Err(Cut::Abandoned),
        }
    };
    if finished.is_err() {
        kill_and_reap(&mut child).await;
    }
    finished
}

/// SIGKILL the command's process group (it leads it), then wait for the
/// command so that it leaves no zombie.
async fn kill_and_reap(child: &mut tokio::process::Child) {
    if let Some(group) = child.id().and_then(|g| i32::try_from(g).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(group),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.start_kill();
    match tokio::time::timeout(REAP_TIMEOUT, child.wait()).await {
        Ok(_) => {}
        // Dropped with kill_on_drop: tokio reaps it when it finally dies.
        Err(_) => tracing::warn!(
            pid = ?child.id(),
            "a killed command did not exit within {}",
            crate::bounded::seconds(REAP_TIMEOUT)
        ),
    }
}

/// A recording fake: answers commands from a script of expected
/// `(command line prefix, output)` pairs, in order, and records every call.
/// An unexpected command fails the test with the list of calls so far.
#[cfg(test)]
#[derive(Default)]
pub struct FakeRunner {
    script: Mutex<VecDeque<(String, CommandOutput)>>,
    calls: Mutex<Vec<String>>,
}

#[cfg(test)]
impl FakeRunner {
    /// A fake with no expectations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expect a command whose line starts with `prefix`, answering `output`.
    pub fn expect(&self, prefix: &str, output: CommandOutput) -> &Self {
        crate::sync::lock(&self.script).push_back((prefix.to_string(), output));
        self
    }

    /// Every command line run so far.
    pub fn calls(&self) -> Vec<String> {
        crate::sync::lock(&self.calls).clone()
    }

    /// Whether every expected command was run.
    pub fn exhausted(&self) -> bool {
        crate::sync::lock(&self.script).is_empty()
    }
}

#[cfg(test)]
#[async_trait]
impl CommandRunner for FakeRunner {
    async fn run(&self, program: &str, args: &[&str], _timeout: Duration) -> Result<CommandOutput> {
        let line = command_line(program, args);
        crate::sync::lock(&self.calls).push(line.clone());
        let next = crate::sync::lock(&self.script).pop_front();
        match next {
            Some((prefix, output)) if line.starts_with(&prefix) => Ok(output),
            Some((prefix, _)) => panic!(
                "unexpected command {line:?}, expected one starting with {prefix:?}; calls: {:?}",
                self.calls()
            ),
            None => panic!(
                "unexpected command {line:?} after the script ended; calls: {:?}",
                self.calls()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn system_runner_reports_exit_codes_and_output() {
        let out = SystemRunner
            .run(
                "sh",
                &["-c", "echo out; echo err >&2; exit 3"],
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.diagnostic(), "err");
    }

    #[tokio::test]
    async fn system_runner_bounds_commands() {
        let e = SystemRunner
            .run("sleep", &["5"], Duration::from_millis(100))
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::ETIMEDOUT);
        assert!(e.message().contains("sleep 5"));
    }

    #[tokio::test]
    async fn a_timeout_kills_what_the_command_started() {
        let marker = std::env::temp_dir().join(format!("svcfs-pg-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!("(sleep 1; touch {}) & wait", marker.display());
        let e = SystemRunner
            .run("sh", &["-c", &script], Duration::from_millis(200))
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::ETIMEDOUT);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !marker.exists(),
            "the child of the command survived the timeout"
        );
    }

    /// The state of process `pid` when it is a child of this test process
    /// (tests run in parallel threads: only the pid a test started is
    /// looked at).
    fn our_child(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let mut fields = stat[stat.rfind(')')? + 2..].split(' ');
        let state = fields.next()?.chars().next()?;
        let ppid: u32 = fields.next()?.parse().ok()?;
        (ppid == std::process::id()).then_some(state)
    }

    /// A shell that writes its pid to a fresh file, then sleeps.
    fn pid_then_sleep(tag: &str) -> (std::path::PathBuf, String) {
        let marker = std::env::temp_dir().join(format!("svcfs-reap-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!("echo $$ > {}; exec sleep 30", marker.display());
        (marker, script)
    }

    fn pid_in(marker: &std::path::Path) -> u32 {
        let text = std::fs::read_to_string(marker).expect("the command wrote its pid");
        let _ = std::fs::remove_file(marker);
        text.trim().parse().unwrap()
    }

    #[tokio::test]
    async fn a_timed_out_command_is_reaped_before_the_call_returns() {
        let (marker, script) = pid_then_sleep("timeout");
        let e = SystemRunner
            .run("sh", &["-c", &script], Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::ETIMEDOUT);
        let pid = pid_in(&marker);
        assert_eq!(our_child(pid), None, "pid {pid} is still a child of ours");
    }

    #[tokio::test]
    async fn an_abandoned_command_is_killed_and_reaped() {
        let (marker, script) = pid_then_sleep("abandoned");
        let args = ["-c", script.as_str()];
        let run = SystemRunner.run("sh", &args, Duration::from_secs(60));
        // The caller gives up (an engine deadline, a status check's bound).
        assert!(tokio::time::timeout(Duration::from_secs(2), run)
            .await
            .is_err());
        let pid = pid_in(&marker);
        // Reaped by the command's own watcher task, soon after.
        let gone = crate::bounded::poll_until(
            "reaping",
            "sh",
            Duration::from_secs(20),
            Duration::from_millis(20),
            || async { Ok(our_child(pid).is_none().then_some(())) },
        )
        .await;
        assert_eq!(gone, Ok(()), "pid {pid}: {:?}", our_child(pid));
    }

    #[tokio::test]
    async fn missing_program_is_eio() {
        let e = SystemRunner
            .run("/nonexistent/prog", &[], Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
    }

    #[tokio::test]
    async fn run_checked_names_the_command_and_stderr() {
        let fake = FakeRunner::new();
        fake.expect(
            "vgchange -ay",
            CommandOutput::failed(5, "  Volume group \"x\" not found\n"),
        );
        let e = run_checked(&fake, "vgchange", &["-ay", "x"], Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(
            e.message(),
            "vgchange -ay x failed (exit 5): Volume group \"x\" not found"
        );
        assert!(fake.exhausted());
    }

    #[test]
    fn command_lines_quote_words() {
        assert_eq!(
            command_line("mount", &["-o", "rw", "/a b"]),
            "mount -o rw '/a b'"
        );
        assert_eq!(
            command_line("dockerd", &["--bridge=br0", ""]),
            "dockerd --bridge=br0 ''"
        );
    }
}
