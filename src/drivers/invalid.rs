//! The driver of a resource that cannot be used as configured: it reports
//! the reason as a `warn` status and refuses to start with EINVAL. Stopping
//! it is a warning, not a failure: svcfs never started it, and a service
//! stop must still reach the resources below it.

use async_trait::async_trait;

use super::Driver;
use crate::actionlog::ResourceLog;
use crate::error::{Error, Result, INVALID_CONFIGURATION};
use crate::model::{KindVerb, ResourceState, Status};

/// A resource with an invalid configuration.
pub struct InvalidDriver {
    reason: String,
    label: String,
}

impl InvalidDriver {
    /// A driver that explains `reason`.
    pub fn new(reason: String, label: String) -> Self {
        InvalidDriver { reason, label }
    }

    fn refuse(&self, log: &ResourceLog) -> Result<()> {
        let message = format!("{INVALID_CONFIGURATION}{}", self.reason);
        log.error(&message);
        Err(Error::invalid(message))
    }
}

#[async_trait]
impl Driver for InvalidDriver {
    async fn status(&self) -> ResourceState {
        ResourceState::new(Status::Warn, self.label.clone())
            .with_message(format!("{INVALID_CONFIGURATION}{}", self.reason))
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        self.refuse(log)
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        log.warn(format!(
            "invalid configuration, nothing to stop: {}",
            self.reason
        ));
        Ok(())
    }

    /// Its kind's verbs (a container's `rollback`) are refused for what
    /// they are: the configuration is invalid (EINVAL), not the verb out of
    /// place (EOPNOTSUPP).
    async fn run_verb(&self, _verb: &'static KindVerb, log: &ResourceLog) -> Result<()> {
        self.refuse(log)
    }
}
