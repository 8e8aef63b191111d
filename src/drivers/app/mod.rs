//! The `app#N` driver: an application started, stopped and checked by
//! commands of the operator's (see [`manifest`]). The check's exit code is
//! the status — 0 up, 1 down, anything else warn with the code and the
//! last line it printed — checked every `check_interval` and after each
//! action, never on a read; at most [`MAX_CHECKS`] checks of every app run
//! at once, apart from the host commands of the other drivers. Every
//! command is a child (`crate::children`): its own process group, killed
//! whole at its timeout, always reaped; a program anyone but root could
//! change is refused, as a service file would be.

mod manifest;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::actionlog::ResourceLog;
use crate::bounded::seconds;
use crate::children::{ChildOutput, ChildRunner};
use crate::drivers::programs::Programs;
use crate::drivers::{Driver, DriverContext};
use crate::error::{Error, Result};
use crate::model::{ResourceState, Rid, Status};
use crate::sync::lock;

pub use crate::drivers::programs::Command;
pub use manifest::{AppSpec, MANIFEST};

/// How many app checks run at once, in the whole daemon: enough to keep a
/// thousand apps checked every minute, few enough that checks that hang
/// never take the slots of the LVM, mount and ip commands (which have
/// their own, `host::MAX_HOST_COMMANDS`) nor fork a storm.
pub const MAX_CHECKS: usize = 4;

static CHECK_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CHECKS);

/// How many of a command's last output lines an action logs.
const LOGGED_LINES: usize = 50;

/// What a status check may add to `check_timeout`: waiting for a slot.
const SLOT_WAIT: Duration = Duration::from_secs(5);

/// Drives one `app#N` resource.
pub struct AppDriver {
    rid: Rid,
    spec: AppSpec,
    /// Where the script and the other programs are.
    programs: Programs,
    children: Arc<dyn ChildRunner>,
    /// The output of the last info run, served as the `info` file.
    info: Mutex<Option<Arc<str>>>,
}

impl AppDriver {
    /// A driver for `rid` of the service of `ctx`.
    pub fn new(ctx: &DriverContext, rid: Rid, spec: AppSpec) -> Self {
        AppDriver {
            programs: Programs::new(&ctx.config_dir, &ctx.service),
            rid,
            spec,
            children: Arc::clone(&ctx.children),
            info: Mutex::new(None),
        }
    }

    /// Run `command` for `action`, bounded by `timeout`.
    async fn run(&self, command: &Command, action: &str, timeout: Duration) -> Result<ChildOutput> {
        let spec = self.programs.child(
            self.rid.as_str(),
            command,
            action,
            &self.spec.run_as,
            timeout,
        )?;
        self.children.run(&spec).await
    }

    /// The check's verdict, or `None` without a check.
    async fn check(&self) -> Option<ResourceState> {
        let command = self.spec.check.as_ref()?;
        let outcome = self.run(command, "status", self.spec.check_timeout).await;
        Some(checked_state(&self.spec, outcome))
    }

    /// An action's command: logged with its output, its failure an error
    /// naming how it ended and what it said last.
    async fn act(
        &self,
        command: &Command,
        action: &str,
        timeout: Duration,
        log: &ResourceLog,
    ) -> Result<()> {
        let program = self.programs.program(command);
        let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
        // The error names the command, as a host command's does: the
        // engine says which action failed ("start failed: ...").
        let line = crate::host::command_line(&program.to_string_lossy(), &args);
        log.info(&line);
        let output = self.run(command, action, timeout).await?;
        log_output(log, &output);
        if output.timed_out {
            return Err(Error::timed_out(format!(
                "{line} timed out after {}: its process group was killed",
                seconds(timeout)
            )));
        }
        if !output.success() {
            return Err(Error::backend(format!(
                "{line} failed ({}){}",
                output.ending(),
                said(&output)
            )));
        }
        Ok(())
    }

    /// Run info after a start, keeping its output for the `info` file.
    async fn refresh_info(&self, log: &ResourceLog) {
        let Some(command) = &self.spec.info else {
            return;
        };
        let output = match self.run(command, "info", self.spec.check_timeout).await {
            Ok(output) => output,
            Err(e) => {
                log.warn(format!("info: {}", e.message()));
                return;
            }
        };
        if !output.success() {
            log.warn(format!(
                "info failed ({}){}",
                output.ending(),
                said(&output)
            ));
        }
        *lock(&self.info) = Some(output.output_with_note().into());
    }

    fn with_files(&self, mut state: ResourceState) -> ResourceState {
        if self.spec.info.is_some() {
            let info = lock(&self.info).clone().unwrap_or_else(|| "".into());
            state.files.push(("info", info));
        }
        state
    }
}

/// The status a check's outcome says.
fn checked_state(spec: &AppSpec, outcome: Result<ChildOutput>) -> ResourceState {
    let label = spec.label.clone();
    match outcome {
        Err(e) => {
            ResourceState::new(Status::Warn, label).with_message(format!("check: {}", e.message()))
        }
        Ok(output) if output.timed_out => {
            ResourceState::new(Status::Warn, label).with_message(format!(
                "check timed out after {}: its process group was killed",
                seconds(spec.check_timeout)
            ))
        }
        Ok(output) => match output.code {
            Some(0) => ResourceState::new(Status::Up, label),
            Some(1) => ResourceState::new(Status::Down, label),
            _ => ResourceState::new(Status::Warn, label).with_message(format!(
                "check failed ({}){}",
                output.ending(),
                said(&output)
            )),
        },
    }
}

/// `: <last line>` of what a command printed, or nothing.
fn said(output: &ChildOutput) -> String {
    match output.last_line() {
        "" => String::new(),
        line => format!(": {line}"),
    }
}

/// The last lines of a command's output, in the resource's log.
fn log_output(log: &ResourceLog, output: &ChildOutput) {
    let lines: Vec<&str> = output.output.lines().collect();
    let skipped = lines.len().saturating_sub(LOGGED_LINES);
    if skipped > 0 || output.cut > 0 {
        log.info(format!(
            "output ({} earlier lines not logged):",
            skipped + usize::from(output.cut > 0)
        ));
    } else if !lines.is_empty() {
        log.info("output:");
    }
    for line in &lines[skipped..] {
        log.info(*line);
    }
}

#[async_trait]
impl Driver for AppDriver {
    async fn status(&self) -> ResourceState {
        let state = match &self.spec.check {
            None => ResourceState::new(Status::NotApplicable, self.spec.label.clone()),
            Some(_) => {
                // A slot of the apps' own: hung checks wait on each other,
                // never on the host commands.
                let Ok(_slot) = CHECK_SLOTS.acquire().await else {
                    return ResourceState::new(Status::Warn, self.spec.label.clone())
                        .with_message("check: shutting down");
                };
                self.check().await.unwrap_or_else(|| {
                    ResourceState::new(Status::NotApplicable, self.spec.label.clone())
                })
            }
        };
        self.with_files(state)
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        if let Some(state) = self.check().await {
            if state.status == Status::Up {
                log.info(format!("{} is already up", self.spec.label));
                return Ok(());
            }
        }
        match &self.spec.start {
            None => log.info("no start command: nothing to start"),
            Some(command) => {
                self.act(command, "start", self.spec.start_timeout, log)
                    .await?
            }
        }
        self.refresh_info(log).await;
        Ok(())
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        if let Some(state) = self.check().await {
            if state.status == Status::Down {
                log.info(format!("{} is already down", self.spec.label));
                return Ok(());
            }
        }
        match &self.spec.stop {
            None => {
                log.info("no stop command: nothing to stop");
                Ok(())
            }
            Some(command) => self.act(command, "stop", self.spec.stop_timeout, log).await,
        }
    }

    fn own_checks(&self) -> Option<Duration> {
        self.spec.check.as_ref().map(|_| self.spec.check_interval)
    }

    fn status_limit(&self) -> Option<Duration> {
        Some(self.spec.check_timeout + SLOT_WAIT)
    }
}
