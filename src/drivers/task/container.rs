//! A container task's run: a one-shot container of the service's docker
//! daemon, `docker run --rm` as svcfs does it — created (named
//! `<svc>.task.<N>.<run>`, labelled with its service and rid), started,
//! waited for (killed at the task's `timeout` or by `kill`), its output
//! read, then removed. svcfs removes it rather than docker (`--rm`), so
//! that the output is read first. A container whose daemon stopped
//! svcfs mid-run keeps running in docker: the next daemon adopts it
//! ([`adopt`]), waits for it and records its run like any other.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use tokio::time::Instant;

use super::book::Ending;
use super::Outcome;
use crate::children::{KillSignal, OUTPUT_LIMIT};
use crate::docker::naming::{LABEL_RID, LABEL_SERVICE};
use crate::docker::DockerApi;
use crate::drivers::container::run_args::redact_env;
use crate::drivers::container::run_args_body;
use crate::drivers::programs::RunAs;
use crate::error::Result;
use crate::model::Rid;

/// How many of the container's last output lines are read: with at most
/// [`OUTPUT_LIMIT`] bytes of them kept.
const OUTPUT_LINES: usize = 4096;

/// How long a killed container gets to be seen exited.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// The name of run `seq` of `rid`: `<svc>.task.<N>.<seq>`.
pub fn name(service: &str, rid: &Rid, seq: u64) -> String {
    format!("{service}.task.{}.{seq}", rid.index().unwrap_or(0))
}

/// One run of a container task.
pub struct OneShot<'a> {
    pub docker: &'a dyn DockerApi,
    pub service: &'a str,
    pub rid: &'a Rid,
    pub name: &'a str,
    pub image: &'a str,
    pub command: &'a [String],
    pub run_args: &'a str,
    pub run_as: &'a RunAs,
    pub timeout: Duration,
}

impl OneShot<'_> {
    /// The `docker run` line it amounts to, for the log (environment
    /// values redacted: everyone may read the log).
    pub fn equivalent_command(&self) -> String {
        let mut words = vec![
            "docker".to_string(),
            "-H".to_string(),
            self.docker.host().to_string(),
            "run --rm".to_string(),
            format!("--name={}", self.name),
        ];
        let run_args = redact_env(self.run_args);
        if !run_args.trim().is_empty() {
            words.push(run_args.trim().to_string());
        }
        words.push(self.image.to_string());
        words.extend(self.command.iter().map(|w| crate::host::quote_if_needed(w)));
        words.join(" ")
    }

    /// Create, start, follow to its end, read, remove.
    pub async fn run(&self, kill: KillSignal) -> Outcome {
        let body = match self.body().await {
            Ok(body) => body,
            Err(e) => return not_started(e.message()),
        };
        let id = match self.docker.create_container(self.name, body).await {
            Ok(created) => created.id,
            Err(e) => return not_started(&e.message()),
        };
        if let Err(e) = self.docker.start_container(&id).await {
            let _ = self.docker.remove_container(&id).await;
            return not_started(&e.message());
        }
        follow(self.docker, &id, self.timeout, kill).await
    }

    async fn body(&self) -> Result<ContainerCreateBody> {
        let mut body = run_args_body(self.run_args).await?;
        body.image = Some(self.image.to_string());
        if !self.command.is_empty() {
            body.cmd = Some(self.command.to_vec());
        }
        // Its output is read from docker's log, never through a terminal.
        body.tty = Some(false);
        body.open_stdin = Some(false);
        body.attach_stdin = Some(false);
        body.attach_stdout = Some(false);
        body.attach_stderr = Some(false);
        let mut env = vec![
            format!("SVCFS_SERVICE={}", self.service),
            format!("SVCFS_RID={}", self.rid),
            "SVCFS_ACTION=run".to_string(),
        ];
        env.extend(
            self.run_as
                .environment
                .iter()
                .map(|(k, v)| format!("{k}={v}")),
        );
        // What run_args sets wins, as later -e options do.
        env.extend(body.env.take().unwrap_or_default());
        body.env = Some(env);
        if let Some(user) = &self.run_as.user {
            body.user = Some(match &self.run_as.group {
                Some(group) => format!("{user}:{group}"),
                None => user.clone(),
            });
        }
        if let Some(cwd) = &self.run_as.cwd {
            body.working_dir = Some(cwd.display().to_string());
        }
        let labels = body.labels.get_or_insert_with(HashMap::new);
        labels.insert(LABEL_SERVICE.to_string(), self.service.to_string());
        labels.insert(LABEL_RID.to_string(), self.rid.to_string());
        Ok(body)
    }
}

/// Follow the container `name` that a previous daemon left running, to
/// its end, and record it.
pub async fn adopt(
    docker: &dyn DockerApi,
    name: &str,
    timeout: Duration,
    kill: KillSignal,
) -> Outcome {
    match docker.inspect_container(name).await {
        Ok(_) => follow(docker, name, timeout, kill).await,
        Err(e) if e.is_not_found() => Outcome {
            ending: Ending::Lost(format!(
                "its container {name} is gone (removed while svcfs was down)"
            )),
            output: String::new(),
            said: String::new(),
        },
        Err(e) => Outcome {
            ending: Ending::Lost(e.message()),
            output: String::new(),
            said: String::new(),
        },
    }
}

/// Wait for container `id` to end, killing it at `timeout` or at `kill`;
/// read its output; remove it.
async fn follow(
    docker: &dyn DockerApi,
    id: &str,
    timeout: Duration,
    mut kill: KillSignal,
) -> Outcome {
    let deadline = Instant::now() + timeout;
    let ending = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            waited = docker.wait_container(id, left) => match waited {
                Ok(code) => break Ending::Exit(code),
                // A long run outlives one wait call: wait again.
                Err(e) if e.kind == crate::docker::ErrorKind::TimedOut && Instant::now() < deadline => continue,
                Err(e) if e.kind == crate::docker::ErrorKind::TimedOut => {
                    stop(docker, id).await;
                    break Ending::TimedOut;
                }
                Err(e) => break Ending::Lost(e.message()),
            },
            () = &mut kill => {
                stop(docker, id).await;
                break Ending::Killed;
            }
        }
    };
    let (output, said) = match docker.container_logs(id, OUTPUT_LINES).await {
        Ok(text) => kept(&text),
        Err(e) => (
            format!("[svcfs: cannot read the output: {}]\n", e.message()),
            String::new(),
        ),
    };
    if let Err(e) = docker.remove_container(id).await {
        if !e.is_not_found() {
            tracing::warn!(
                container = id,
                "cannot remove a task's container: {}",
                e.message()
            );
        }
    }
    Outcome {
        ending,
        output,
        said,
    }
}

/// Kill the container and wait (a bound) until docker has it exited, so
/// that its output is whole when read.
async fn stop(docker: &dyn DockerApi, id: &str) {
    let _ = docker.kill_container(id, "KILL").await;
    let _ = docker.wait_container(id, KILL_WAIT).await;
}

/// The last [`OUTPUT_LIMIT`] bytes of `text`, with a note when cut, and
/// its last non-empty line.
fn kept(text: &str) -> (String, String) {
    let said = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    let lines = text.lines().count();
    if text.len() <= OUTPUT_LIMIT && lines < OUTPUT_LINES {
        return (text.to_string(), said);
    }
    let mut cut = text.len().saturating_sub(OUTPUT_LIMIT);
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    let note = format!(
        "[svcfs: only the last {} bytes of the last {OUTPUT_LINES} lines of the output are kept]\n",
        text.len() - cut
    );
    (format!("{note}{}", &text[cut..]), said)
}

fn not_started(why: &str) -> Outcome {
    Outcome {
        ending: Ending::NotStarted(why.to_string()),
        output: String::new(),
        said: String::new(),
    }
}
