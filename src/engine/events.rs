//! Docker event watchers: one stream per docker endpoint. A container event
//! refreshes the service its label names, so a container that dies or is
//! stopped behind svcfs's back shows at once rather than at the next
//! periodic reconcile; an image event (load, pull, tag, delete) refreshes
//! every service of that daemon, whose labels and image checks depend on
//! the local images.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bollard::models::EventMessageTypeEnum;
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;

use super::Engine;
use crate::docker::DockerEndpoint;
use crate::drivers::container::LABEL_SERVICE;

/// How often a watcher checks that a service still uses its daemon.
const STILL_NEEDED_CHECK: Duration = Duration::from_secs(30);

/// Whether a service still lives in the daemon at `endpoint`; when none
/// does (its file was removed or changed), the engine forgets the endpoint
/// and the watcher ends, instead of reconnecting for the daemon's lifetime.
fn still_needed(engine: &Weak<Engine>, endpoint: &DockerEndpoint) -> bool {
    let Some(engine) = engine.upgrade() else {
        return false;
    };
    if engine.services_on(endpoint.host()).is_empty() {
        engine.forget_endpoint(endpoint.host());
        return false;
    }
    true
}

/// Wait before reconnecting a broken event stream.
const RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// Which endpoints already have a watcher.
#[derive(Default)]
pub struct EventWatchers {
    watched: HashSet<String>,
}

impl EventWatchers {
    /// Forget `host`: a later [`EventWatchers::watch`] starts a new watcher.
    pub fn forget(&mut self, host: &str) {
        self.watched.remove(host);
    }

    /// Make sure `endpoint` is watched.
    pub fn watch(&mut self, engine: &Arc<Engine>, endpoint: &Arc<DockerEndpoint>) {
        if !self.watched.insert(endpoint.host().to_string()) {
            return;
        }
        let engine = Arc::downgrade(engine);
        let endpoint = Arc::clone(endpoint);
        tokio::spawn(async move { watch_events(engine, endpoint).await });
    }
}

async fn watch_events(engine: Weak<Engine>, endpoint: Arc<DockerEndpoint>) {
    // Filters on different keys are ANDed by docker, so no label filter:
    // image events carry none. Unlabelled container events are skipped.
    let filters = HashMap::from([(
        "type".to_string(),
        vec!["container".to_string(), "image".to_string()],
    )]);
    loop {
        if !still_needed(&engine, &endpoint) {
            return;
        }
        if let Ok(client) = endpoint.client().await {
            let options = EventsOptions {
                since: None,
                until: None,
                filters: Some(filters.clone()),
            };
            let mut stream = client.events(Some(options));
            let mut check = tokio::time::interval(STILL_NEEDED_CHECK);
            loop {
                let event = tokio::select! {
                    event = stream.next() => event,
                    _ = check.tick() => {
                        if still_needed(&engine, &endpoint) {
                            continue;
                        }
                        return;
                    }
                };
                let Some(Ok(event)) = event else { break };
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                // Every health probe is an exec: those events change no
                // state (the health_status event that may follow does).
                if event
                    .action
                    .as_deref()
                    .is_some_and(|a| a.starts_with("exec_"))
                {
                    continue;
                }
                let is_image = event.typ == Some(EventMessageTypeEnum::IMAGE);
                let services = if is_image {
                    engine.services_on(endpoint.host())
                } else {
                    event
                        .actor
                        .and_then(|a| a.attributes)
                        .and_then(|mut attrs| attrs.remove(LABEL_SERVICE))
                        .into_iter()
                        .collect()
                };
                if services.is_empty() {
                    continue;
                }
                tracing::debug!(?services, action = ?event.action, "docker event");
                engine.refresh_soon(services);
            }
            endpoint.reset().await;
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}
