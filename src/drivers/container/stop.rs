//! How a running container is stopped (by stop, recreate and rollback):
//! `docker stop` with the `stop_timeout` grace period, unless its PID 1 has
//! no handler for the stop signal. The kernel drops such a signal for the
//! init of a PID namespace, so `docker stop` would wait the whole grace
//! period and then kill; with `stop_wait = auto` svcfs kills at once
//! instead: the same end state, without the wait. Either way the stop ends
//! when docker says the container is down.

use std::time::{Duration, Instant};

use super::pid1::{self, Pid1, StopSignal};
use super::StopWait;
use super::{short_id, ContainerDriver, Observed, POLL_INTERVAL};
use crate::actionlog::ResourceLog;
use crate::bounded::bounded_blocking;
use crate::docker::ErrorKind;
use crate::error::{Error, Result};
use crate::model::Rid;

/// Bound on the wait for the down status after stop or kill.
const STOP_SLACK: Duration = Duration::from_secs(30);
/// Bound on reading PID 1's state in /proc.
const PROC_TIMEOUT: Duration = Duration::from_secs(2);

/// How to stop a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopPlan {
    /// `docker stop` with the grace period.
    Stop,
    /// `docker kill` with SIGKILL at once, for the reason given.
    Kill {
        /// The log line saying why.
        reason: String,
    },
}

/// The stop signal docker sends: the container's own (`--stop-signal`, or
/// the image's StopSignal), else SIGTERM. `None` when svcfs cannot read it.
pub fn stop_signal(configured: Option<&str>) -> Option<StopSignal> {
    match configured {
        None => Some(StopSignal::term()),
        Some(text) => StopSignal::parse(text),
    }
}

/// The plan for `rid`: kill at once only when `stop_wait` allows it and
/// PID 1 is known not to handle the stop signal; anything unknown (the
/// signal, PID 1) keeps today's `docker stop`.
pub fn plan(
    stop_wait: StopWait,
    rid: &Rid,
    signal: Option<&StopSignal>,
    pid1: Option<&Pid1>,
) -> StopPlan {
    match (stop_wait, signal, pid1) {
        (StopWait::Auto, Some(signal), Some(pid1)) if !pid1.handles(signal) => StopPlan::Kill {
            reason: format!(
                "PID 1 ({}) of {rid} has no {} handler: killing at once; set stop_wait = timeout to wait anyway",
                pid1.command, signal.name
            ),
        },
        _ => StopPlan::Stop,
    }
}

impl ContainerDriver {
    /// Stop the running container `c` and wait for it to be down.
    pub(super) async fn stop_container(&self, c: &Observed, log: &ResourceLog) -> Result<()> {
        match self.stop_plan(c).await {
            StopPlan::Stop => self.docker_stop(&c.id, log).await?,
            StopPlan::Kill { reason } => {
                log.info(reason);
                self.docker_kill(&c.id, log).await?;
            }
        }
        self.wait_down(&c.id, log).await
    }

    async fn stop_plan(&self, c: &Observed) -> StopPlan {
        let signal = stop_signal(c.stop_signal.as_deref());
        let pid1 = match (self.spec.stop_wait, &signal) {
            (StopWait::Auto, Some(_)) => self.read_pid1(c).await,
            _ => None,
        };
        plan(
            self.spec.stop_wait,
            &self.rid,
            signal.as_ref(),
            pid1.as_ref(),
        )
    }

    /// PID 1 of `c` as /proc shows it; `None` (and a debug line) when it
    /// cannot be read, which keeps `docker stop`.
    async fn read_pid1(&self, c: &Observed) -> Option<Pid1> {
        if c.pid == 0 {
            return None;
        }
        let (pid, id, root) = (c.pid, c.id.clone(), self.proc_root.clone());
        let target = self.rid.to_string();
        let found = bounded_blocking("reading PID 1", &target, PROC_TIMEOUT, move || {
            pid1::read(&root, pid, &id)
        })
        .await;
        match found {
            Ok(Some(pid1)) => Some(pid1),
            Ok(None) => {
                tracing::debug!(rid = %self.rid, pid, "PID 1 not readable in /proc (gone, or not this host's): docker stop");
                None
            }
            Err(e) => {
                tracing::debug!(rid = %self.rid, pid, "{e}: docker stop");
                None
            }
        }
    }

    async fn docker_stop(&self, id: &str, log: &ResourceLog) -> Result<()> {
        log.info(format!(
            "docker -H {} stop {}",
            self.docker.host(),
            short_id(id)
        ));
        self.docker
            .stop_container(id, self.spec.stop_timeout)
            .await
            .map_err(|e| self.docker_error(e))
    }

    async fn docker_kill(&self, id: &str, log: &ResourceLog) -> Result<()> {
        log.info(format!(
            "docker -H {} kill --signal KILL {}",
            self.docker.host(),
            short_id(id)
        ));
        match self.docker.kill_container(id, "SIGKILL").await {
            // It stopped on its own meanwhile: down is what was wanted.
            Err(e) if e.kind == ErrorKind::Api(409) => Ok(()),
            other => other.map_err(|e| self.docker_error(e)),
        }
    }

    async fn wait_down(&self, id: &str, log: &ResourceLog) -> Result<()> {
        log.info("wait for container down status");
        let deadline = Instant::now() + STOP_SLACK;
        loop {
            match self.inspect(id).await.map_err(|e| self.docker_error(e))? {
                Some(c) if c.running => {}
                _ => return Ok(()),
            }
            if Instant::now() >= deadline {
                return Err(Error::timed_out(format!(
                    "container {} still runs after docker stop",
                    short_id(id)
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::container::pid1::{parse_status, Thread};

    fn rid() -> Rid {
        Rid::parse("container#1").unwrap()
    }

    fn pid1(ignored: &str, caught: &str) -> Pid1 {
        let status = format!(
            "Name:\tsh\nState:\tS (sleeping)\nSigBlk:\t0000000000000000\nSigIgn:\t{ignored}\nSigCgt:\t{caught}\n"
        );
        Pid1 {
            command: "/bin/sh".into(),
            threads: vec![Thread {
                status: parse_status(&status).unwrap(),
                wchan: "poll_schedule_timeout".into(),
            }],
        }
    }

    /// busybox sh with a TTY: SIGTERM ignored.
    fn busybox_sh() -> Pid1 {
        pid1("0000000000284004", "0000000008010002")
    }

    /// `trap 'exit 0' TERM`.
    fn trapping_sh() -> Pid1 {
        pid1("0000000000000004", "0000000000014002")
    }

    fn term() -> Option<StopSignal> {
        stop_signal(None)
    }

    #[test]
    fn pid1_without_a_handler_is_killed_at_once_saying_why() {
        let planned = plan(StopWait::Auto, &rid(), term().as_ref(), Some(&busybox_sh()));
        assert_eq!(
            planned,
            StopPlan::Kill {
                reason: "PID 1 (/bin/sh) of container#1 has no SIGTERM handler: killing at once; set stop_wait = timeout to wait anyway".into()
            }
        );
    }

    #[test]
    fn pid1_with_a_handler_gets_docker_stop() {
        let planned = plan(
            StopWait::Auto,
            &rid(),
            term().as_ref(),
            Some(&trapping_sh()),
        );
        assert_eq!(planned, StopPlan::Stop);
    }

    #[test]
    fn stop_wait_timeout_always_gets_docker_stop() {
        let planned = plan(
            StopWait::Timeout,
            &rid(),
            term().as_ref(),
            Some(&busybox_sh()),
        );
        assert_eq!(planned, StopPlan::Stop);
    }

    #[test]
    fn unreadable_pid1_or_signal_gets_docker_stop() {
        assert_eq!(
            plan(StopWait::Auto, &rid(), term().as_ref(), None),
            StopPlan::Stop
        );
        let unknown = stop_signal(Some("SIGNOPE"));
        assert_eq!(unknown, None);
        assert_eq!(
            plan(
                StopWait::Auto,
                &rid(),
                unknown.as_ref(),
                Some(&busybox_sh())
            ),
            StopPlan::Stop
        );
    }

    #[test]
    fn the_configured_stop_signal_is_the_one_checked() {
        // busybox sh catches SIGINT: a --stop-signal SIGINT reaches it.
        let int = stop_signal(Some("SIGINT"));
        assert_eq!(
            plan(StopWait::Auto, &rid(), int.as_ref(), Some(&busybox_sh())),
            StopPlan::Stop
        );
        // The trap catches TERM, not QUIT.
        let quit = stop_signal(Some("QUIT"));
        let StopPlan::Kill { reason } =
            plan(StopWait::Auto, &rid(), quit.as_ref(), Some(&trapping_sh()))
        else {
            panic!("SIGQUIT is not handled by the trap");
        };
        assert!(reason.contains("has no SIGQUIT handler"), "{reason}");
    }
}
