//! How a running container is stopped (by stop, recreate and rollback):
//! `docker stop` with the `stop_timeout` grace period, then a wait for
//! docker to say the container is down.

use std::time::{Duration, Instant};

use bollard::query_parameters::StopContainerOptions;

use super::{short_id, ContainerDriver, POLL_INTERVAL};
use crate::actionlog::ResourceLog;
use crate::error::{Error, Result};

/// Extra time given to `docker stop` beyond the container's grace period.
const STOP_SLACK: Duration = Duration::from_secs(30);

impl ContainerDriver {
    /// `docker stop` with the grace period, then wait for the down status.
    pub(super) async fn stop_container(&self, id: &str, log: &ResourceLog) -> Result<()> {
        log.info(format!(
            "docker -H {} stop {}",
            self.docker.host(),
            short_id(id)
        ));
        let grace = self.spec.stop_timeout;
        let options = StopContainerOptions {
            signal: None,
            t: Some(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX)),
        };
        let target = id.to_string();
        self.docker
            .call("stop container", grace + STOP_SLACK, |d| async move {
                d.stop_container(&target, Some(options)).await
            })
            .await
            .map_err(|e| self.docker_error(e))?;
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
