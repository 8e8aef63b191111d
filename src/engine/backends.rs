//! What drivers talk to, built once by the composition root (`daemon.rs`)
//! and handed to the engine; tests hand it fakes instead.

use std::sync::Arc;

use crate::children::ChildRunner;
use crate::docker::DockerFactory;
use crate::host::CommandRunner;

/// The backends of every driver.
#[derive(Clone)]
pub struct Backends {
    /// The docker client of a host (`unix:///…`, `tcp://…`); the engine
    /// asks once per host and shares the client.
    pub docker: DockerFactory,
    /// Runs host commands (mount, vgchange, ...).
    pub runner: Arc<dyn CommandRunner>,
    /// Runs the programs services ask for (an app's scripts).
    pub children: Arc<dyn ChildRunner>,
}

#[cfg(test)]
impl Backends {
    /// Backends over fakes: `docker` answers for every host.
    pub fn fake(docker: Arc<crate::docker::fake::FakeDocker>) -> Self {
        Backends {
            docker: Arc::new(move |_host| docker.clone() as Arc<dyn crate::docker::DockerApi>),
            runner: Arc::new(crate::host::FakeRunner::new()),
            children: Arc::new(crate::children::FakeChildren::default()),
        }
    }
}
