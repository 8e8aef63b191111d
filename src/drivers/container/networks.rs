//! A container on several networks (`--network` given more than once in
//! `run_args`, as `svcfs import` writes for a Compose service on several
//! networks): the engine before API 1.44 creates a container on one
//! network only, so it is created on the first (its network mode) and
//! connected to the others before it starts — at every start, for those
//! it is not on yet, so that a connect cut short is made up for.

use bollard::models::{ContainerCreateBody, EndpointSettings};

use super::{run_args, short_id, ContainerDriver};
use crate::actionlog::ResourceLog;
use crate::error::{Error, Result};

/// The networks `run_args` puts the container on beyond its network mode,
/// with their endpoint settings (none when run_args does not parse: the
/// resource is then invalid anyway).
pub(super) fn extra(run_args: &str) -> Vec<(String, EndpointSettings)> {
    run_args::parse(run_args)
        .map(|parsed| parsed.networks().into_iter().skip(1).collect())
        .unwrap_or_default()
}

/// Keep in the create body only the endpoint of its network mode.
pub(super) fn keep_first(body: &mut ContainerCreateBody) {
    let mode = body
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.clone());
    if let Some(endpoints) = body
        .networking_config
        .as_mut()
        .and_then(|n| n.endpoints_config.as_mut())
    {
        endpoints.retain(|name, _| Some(name) == mode.as_ref());
        if endpoints.is_empty() {
            body.networking_config = None;
        }
    }
}

/// `--alias A --ip X` of a connect, as the docker CLI writes them.
fn connect_options(endpoint: &EndpointSettings) -> String {
    let mut out = String::new();
    for alias in endpoint.aliases.iter().flatten() {
        out.push_str(&format!(" --alias {alias}"));
    }
    if let Some(ipam) = &endpoint.ipam_config {
        if let Some(ip) = &ipam.ipv4_address {
            out.push_str(&format!(" --ip {ip}"));
        }
        if let Some(ip) = &ipam.ipv6_address {
            out.push_str(&format!(" --ip6 {ip}"));
        }
    }
    out
}

impl ContainerDriver {
    /// Connect the container `id` to the networks of `run_args` it is not
    /// on yet.
    pub(super) async fn join_networks(&self, id: &str, log: &ResourceLog) -> Result<()> {
        if self.extra_networks.is_empty() {
            return Ok(());
        }
        let joined = self
            .inspect(id)
            .await
            .map_err(|e| self.docker_error(e))?
            .map(|c| c.networks)
            .ok_or_else(|| Error::backend(format!("container {} vanished", short_id(id))))?;
        for (network, endpoint) in &self.extra_networks {
            if joined.contains(network) {
                continue;
            }
            log.info(format!(
                "docker -H {} network connect{} {network} {}",
                self.docker.host(),
                connect_options(endpoint),
                short_id(id)
            ));
            self.docker
                .connect_network(network, id, endpoint.clone())
                .await
                .map_err(|e| self.docker_error(e))?;
        }
        Ok(())
    }
}
