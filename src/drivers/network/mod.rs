//! The `network#N` driver (see [`manifest`]): start creates the network on
//! the service's docker daemon when it does not exist — a user-defined
//! bridge unless `driver` says otherwise, labelled `svcfs.service` /
//! `svcfs.rid` as svcfs's — or, with `external = true`, checks that it
//! exists. Stop keeps it, as `docker compose stop` does: stopped
//! containers refer to their networks by id, and a network removed and
//! created again would fail their next start. A network svcfs created is
//! removed by [`sweep`] once no service declares it and no container (in
//! any state) is attached to it.

mod manifest;

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, NetworkInspect};

use crate::actionlog::ResourceLog;
use crate::config::Spec;
use crate::docker::naming::{LABEL_RID, LABEL_SERVICE, LABEL_VAR_DIR};
use crate::docker::{DockerApi, DockerError};
use crate::drivers::manifest::spec_of;
use crate::drivers::{Driver, DriverContext};
use crate::error::{Error, Result};
use crate::model::{ResourceState, Rid, Status};

pub use manifest::{NetworkSpec, Pool, MANIFEST};

/// Drives one `network#N` resource.
pub struct NetworkDriver {
    /// This daemon's var dir, on the networks it creates.
    var_dir: std::path::PathBuf,
    service: String,
    rid: Rid,
    spec: NetworkSpec,
    docker: Arc<dyn DockerApi>,
}

/// What svcfs compares of an existing network with its settings.
fn drift(spec: &NetworkSpec, found: &NetworkInspect) -> Vec<String> {
    let mut found_wrong = Vec::new();
    let driver = found.driver.as_deref().unwrap_or("");
    if driver != spec.driver {
        found_wrong.push(format!("driver {driver} instead of {}", spec.driver));
    }
    if found.internal.unwrap_or(false) != spec.internal {
        found_wrong.push(format!(
            "internal {} instead of {}",
            found.internal.unwrap_or(false),
            spec.internal
        ));
    }
    if !spec.pools.is_empty() {
        let subnets: BTreeSet<String> = found
            .ipam
            .iter()
            .flat_map(|ipam| ipam.config.iter().flatten())
            .filter_map(|config| config.subnet.clone())
            .collect();
        let wanted: BTreeSet<String> = spec.pools.iter().map(|p| p.subnet.clone()).collect();
        if subnets != wanted {
            found_wrong.push(format!(
                "subnet {} instead of {}",
                join_or_none(&subnets),
                join_or_none(&wanted)
            ));
        }
    }
    found_wrong
}

fn join_or_none(items: &BTreeSet<String>) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.iter().cloned().collect::<Vec<_>>().join(",")
    }
}

/// Whether svcfs created this network (for some service).
fn is_svcfs_s(found: &NetworkInspect) -> bool {
    found
        .labels
        .as_ref()
        .is_some_and(|labels| labels.contains_key(LABEL_SERVICE))
}

impl NetworkDriver {
    /// A driver for the network of `rid`.
    pub fn new(ctx: &DriverContext, rid: Rid, spec: NetworkSpec) -> Self {
        NetworkDriver {
            var_dir: ctx.var_dir.clone(),
            service: ctx.service.clone(),
            rid,
            spec,
            docker: ctx.docker.clone(),
        }
    }

    async fn find(&self) -> std::result::Result<Option<NetworkInspect>, DockerError> {
        match self.docker.inspect_network(&self.spec.name).await {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn label(&self) -> String {
        self.spec.name.clone()
    }

    /// The create request, as `docker network create` would send it.
    fn request(&self) -> NetworkCreateRequest {
        let mut labels = self.spec.labels.clone();
        labels.insert(LABEL_SERVICE.to_string(), self.service.clone());
        labels.insert(LABEL_RID.to_string(), self.rid.to_string());
        labels.insert(
            LABEL_VAR_DIR.to_string(),
            self.var_dir.to_string_lossy().into_owned(),
        );
        let ipam = (!self.spec.pools.is_empty()).then(|| Ipam {
            driver: Some("default".to_string()),
            config: Some(
                self.spec
                    .pools
                    .iter()
                    .map(|pool| IpamConfig {
                        subnet: Some(pool.subnet.clone()),
                        gateway: pool.gateway.clone(),
                        ip_range: pool.ip_range.clone(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            options: None,
        });
        NetworkCreateRequest {
            name: self.spec.name.clone(),
            driver: Some(self.spec.driver.clone()),
            internal: Some(self.spec.internal),
            enable_ipv6: Some(self.spec.ipv6),
            ipam,
            options: (!self.spec.options.is_empty()).then(|| self.spec.options.clone()),
            labels: Some(labels),
            ..Default::default()
        }
    }

    /// `docker network create …`, for the log.
    fn create_command(&self) -> String {
        let mut words = vec![
            "docker".to_string(),
            "-H".to_string(),
            self.docker.host().to_string(),
            "network".to_string(),
            "create".to_string(),
            format!("--driver={}", self.spec.driver),
        ];
        for pool in &self.spec.pools {
            words.push(format!("--subnet={}", pool.subnet));
            words.extend(pool.gateway.iter().map(|g| format!("--gateway={g}")));
            words.extend(pool.ip_range.iter().map(|r| format!("--ip-range={r}")));
        }
        if self.spec.internal {
            words.push("--internal".into());
        }
        if self.spec.ipv6 {
            words.push("--ipv6".into());
        }
        let mut options: Vec<_> = self.spec.options.iter().collect();
        options.sort();
        words.extend(options.iter().map(|(k, v)| format!("--opt={k}={v}")));
        words.push(format!("--label={LABEL_SERVICE}={}", self.service));
        words.push(format!("--label={LABEL_RID}={}", self.rid));
        words.push(format!(
            "--label={LABEL_VAR_DIR}={}",
            self.var_dir.display()
        ));
        words.push(self.spec.name.clone());
        words.join(" ")
    }

    fn docker_error(&self, e: DockerError) -> Error {
        e.into_action_error()
    }

    fn found_state(&self, found: &NetworkInspect) -> ResourceState {
        let mut state = ResourceState::new(Status::Up, self.label());
        let wrong = drift(&self.spec, found);
        if !self.spec.external && !wrong.is_empty() {
            state.status = Status::Warn;
            state.messages.push(format!(
                "network {} exists with {}: remove it once no container uses it (docker network rm {}), then start",
                self.spec.name,
                wrong.join(", "),
                self.spec.name
            ));
        } else if !self.spec.external && !is_svcfs_s(found) {
            state.messages.push(format!(
                "network {} was not created by svcfs: it is used as it is and never removed (external = true says so)",
                self.spec.name
            ));
        }
        state
    }
}

#[async_trait]
impl Driver for NetworkDriver {
    async fn status(&self) -> ResourceState {
        match self.find().await {
            Ok(Some(found)) => self.found_state(&found),
            Ok(None) if self.spec.external => ResourceState::new(Status::Warn, self.label())
                .with_message(format!(
                    "the external network {} does not exist: create it (docker network create {})",
                    self.spec.name, self.spec.name
                )),
            Ok(None) => ResourceState::new(Status::Down, self.label())
                .with_message(format!("network {} does not exist", self.spec.name)),
            Err(e) if e.is_unreachable() => ResourceState::new(Status::Down, self.label())
                .with_message("docker daemon is not running"),
            Err(e) => ResourceState::new(Status::Warn, self.label()).with_message(e.message()),
        }
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        match self.find().await.map_err(|e| self.docker_error(e))? {
            Some(found) => {
                let state = self.found_state(&found);
                if state.status == Status::Warn {
                    return Err(Error::backend(state.messages.join("; ")));
                }
                log.info(format!("network {} is already up", self.spec.name));
                for message in state.messages {
                    log.warn(message);
                }
                Ok(())
            }
            None if self.spec.external => Err(Error::backend(format!(
                "the external network {} does not exist: create it first (docker network create {}); svcfs never creates an external network",
                self.spec.name, self.spec.name
            ))),
            None => {
                log.info(self.create_command());
                match self.docker.create_network(self.request()).await {
                    Ok(id) => {
                        log.info(format!("output:\n{id}"));
                        Ok(())
                    }
                    // Created meanwhile (another service declaring it).
                    Err(e) if e.is_conflict() => {
                        log.info(format!("network {} was created meanwhile", self.spec.name));
                        Ok(())
                    }
                    Err(e) => Err(self.docker_error(e)),
                }
            }
        }
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        log.info(format!(
            "network {} is kept, as docker compose stop keeps it: stopped containers refer to it by id{}",
            self.spec.name,
            if self.spec.external {
                " (an external network is never removed)"
            } else {
                "; svcfs removes it once no service declares it and no container uses it"
            }
        ));
        Ok(())
    }

    fn follows_docker_connection(&self) -> bool {
        true
    }
}

/// Remove, from one docker daemon, the networks this svcfs daemon (its
/// `var_dir`) created that no service declares any more (`declared`: every
/// `network#N` of the services on that daemon) and to which no container is
/// attached, in any state; another svcfs daemon's are left to it. Returns
/// what it did or could not do, one line each, for the daemon's log. Every
/// call is bounded by the docker client.
pub async fn sweep(
    docker: Arc<dyn DockerApi>,
    declared: Vec<Arc<dyn Spec>>,
    var_dir: std::path::PathBuf,
) -> Vec<String> {
    let names: BTreeSet<String> = declared
        .iter()
        .map(|spec| spec_of::<NetworkSpec>(spec.as_ref()).name.clone())
        .collect();
    let mut said = Vec::new();
    let found = match docker.networks_labelled(LABEL_SERVICE).await {
        Ok(found) => found,
        Err(e) if e.is_unreachable() => return said,
        Err(e) => {
            said.push(format!("cannot list svcfs's networks: {}", e.message()));
            return said;
        }
    };
    for network in found {
        let (Some(name), Some(id)) = (network.name.clone(), network.id.clone()) else {
            continue;
        };
        let created_here = network
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_VAR_DIR))
            .is_some_and(|dir| std::path::Path::new(dir) == var_dir);
        if names.contains(&name) || !created_here {
            continue;
        }
        let owner = network
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_SERVICE))
            .cloned()
            .unwrap_or_default();
        match docker.containers_on_network(&id).await {
            Ok(users) if !users.is_empty() => {
                tracing::debug!(network = %name, ?users, "no service declares it, containers still use it: kept");
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                said.push(format!("network {name}: {}", e.message()));
                continue;
            }
        }
        match docker.remove_network(&id).await {
            Ok(()) => said.push(format!(
                "network {name} (created for {owner}) removed: no service declares it and no container uses it"
            )),
            Err(e) if e.is_not_found() => {}
            Err(e) => said.push(format!("network {name}: {}", e.message())),
        }
    }
    said
}

#[cfg(test)]
mod tests;
