//! Host commands (mount, fsck, losetup, vgchange, ping, ...) behind a small
//! trait, so drivers are unit-tested against a recording fake and run the
//! real thing in integration tests. Every command has a timeout, a debug
//! log line with its duration, and LVM's fd warnings silenced.

use std::collections::VecDeque;
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
    pub fn ok(stdout: &str) -> Self {
        CommandOutput {
            code: Some(0),
            stdout: stdout.to_string(),
            stderr: String::new(),
        }
    }

    /// A failed output with this exit code and stderr (for fakes).
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
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,@+%#".contains(&b));
    if plain {
        word.to_string()
    } else {
        shell_words::quote(word).into_owned()
    }
}

/// Run blocking host inspection (the mount table, `/proc`, path
/// resolution) off the runtime, bounded: a hung filesystem or a process
/// stuck in the kernel makes it ETIMEDOUT instead of freezing the action
/// that holds the service's lock.
pub async fn blocking<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    match tokio::time::timeout(limit, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::backend(format!("{what} failed: {e}"))),
        Err(_) => Err(Error::timed_out(format!(
            "{what} did not finish within {}s (a hung filesystem or process?)",
            limit.as_secs_f32()
        ))),
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

/// The real thing: `tokio::process`, killed when the bound is hit.
pub struct SystemRunner;

#[async_trait]
impl CommandRunner for SystemRunner {
    async fn run(&self, program: &str, args: &[&str], timeout: Duration) -> Result<CommandOutput> {
        let started = Instant::now();
        let line = command_line(program, args);
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
        let group = child.id();
        let result = tokio::time::timeout(timeout, child.wait_with_output()).await;
        let elapsed = started.elapsed();
        match result {
            Err(_) => {
                if let Some(group) = group.and_then(|g| i32::try_from(g).ok()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(group),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                tracing::debug!(command = %line, ?elapsed, "command timed out");
                Err(Error::timed_out(format!(
                    "{line} did not finish within {}s",
                    timeout.as_secs_f32()
                )))
            }
            Ok(Err(e)) => {
                tracing::debug!(command = %line, ?elapsed, "command could not run: {e}");
                Err(Error::backend(format!("cannot run {program}: {e}")))
            }
            Ok(Ok(output)) => {
                tracing::debug!(command = %line, ?elapsed, code = ?output.status.code(), "command");
                Ok(CommandOutput {
                    code: output.status.code(),
                    stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                })
            }
        }
    }
}

/// A recording fake: answers commands from a script of expected
/// `(command line prefix, output)` pairs, in order, and records every call.
/// An unexpected command fails the test with the list of calls so far.
#[derive(Default)]
pub struct FakeRunner {
    script: Mutex<VecDeque<(String, CommandOutput)>>,
    calls: Mutex<Vec<String>>,
}

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
