//! What the tree shows of a container beyond its status, from the inspect
//! data its status check already fetched (no call of its own): its full
//! id, its image's, its addresses per network, its published ports, when
//! it started, its last exit code, docker's restart count, its health
//! check with the last probe's output; and where its output and its
//! cgroup are, for its live files (`live.rs`).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use bollard::models::ContainerInspectResponse;

use super::Observed;

/// The files of the identity, in listing order; `health` and
/// `health_output` only for a container with a health check. None is a
/// keyword nor a standard file of a resource directory.
pub const IDENTITY_FILES: [&str; 9] = [
    "id",
    "image_id",
    "addresses",
    "ports",
    "started",
    "exit_code",
    "docker_restarts",
    "health",
    "health_output",
];

/// What inspect says of a container beyond what its status needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `State.StartedAt`, as docker writes it; empty when never started.
    pub started_at: String,
    /// `State.FinishedAt`; empty while it never finished.
    pub finished_at: String,
    /// Docker's `RestartCount` (its restart policy's restarts).
    pub restart_count: i64,
    /// (network, IPv4 address, IPv6 address) per network, by name.
    pub networks: Vec<(String, String, String)>,
    /// `8000/tcp -> 0.0.0.0:8888` per published binding, as `docker
    /// port` prints them, sorted.
    pub ports: Vec<String>,
    /// `HostConfig.LogConfig.Type`.
    pub log_driver: String,
    /// `LogPath` (json-file only).
    pub log_path: String,
    /// The container's directory in docker's data root (that of
    /// `HostnamePath`), where the other log drivers' files are.
    pub container_dir: Option<PathBuf>,
    /// `--log-opt cache-disabled=true`: no local copy of the output for
    /// a remote log driver.
    pub log_cache_disabled: bool,
}

/// Docker's "never" (`0001-01-01T00:00:00Z`) as nothing.
fn known_time(time: Option<&String>) -> String {
    match time {
        Some(t) if !t.starts_with("0001-") => t.clone(),
        _ => String::new(),
    }
}

impl Identity {
    /// The identity in `c`.
    pub fn from_inspect(c: &ContainerInspectResponse) -> Self {
        let state = c.state.as_ref();
        let settings = c.network_settings.as_ref();
        let mut networks: Vec<(String, String, String)> = settings
            .and_then(|s| s.networks.as_ref())
            .map(|networks| {
                networks
                    .iter()
                    .map(|(name, endpoint)| {
                        (
                            name.clone(),
                            endpoint.ip_address.clone().unwrap_or_default(),
                            endpoint.global_ipv6_address.clone().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        networks.sort();
        let mut ports: Vec<String> = settings
            .and_then(|s| s.ports.as_ref())
            .map(|ports| {
                ports
                    .iter()
                    .flat_map(|(port, bindings)| {
                        bindings.iter().flatten().map(move |b| {
                            let ip = b.host_ip.as_deref().unwrap_or("");
                            let ip = if ip.contains(':') {
                                format!("[{ip}]")
                            } else {
                                ip.to_string()
                            };
                            format!("{port} -> {ip}:{}", b.host_port.as_deref().unwrap_or(""))
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        ports.sort();
        let log = c.host_config.as_ref().and_then(|h| h.log_config.as_ref());
        Identity {
            started_at: known_time(state.and_then(|s| s.started_at.as_ref())),
            finished_at: known_time(state.and_then(|s| s.finished_at.as_ref())),
            restart_count: c.restart_count.unwrap_or(0),
            networks,
            ports,
            log_driver: log.and_then(|l| l.typ.clone()).unwrap_or_default(),
            log_path: c.log_path.clone().unwrap_or_default(),
            container_dir: c
                .hostname_path
                .as_deref()
                .filter(|p| !p.is_empty())
                .and_then(|p| std::path::Path::new(p).parent())
                .map(PathBuf::from),
            log_cache_disabled: log
                .and_then(|l| l.config.as_ref())
                .and_then(|c| c.get("cache-disabled"))
                .is_some_and(|v| v == "true"),
        }
    }
}

/// A one-value file's content: the value and a newline, or nothing.
fn value(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    if text.is_empty() {
        text
    } else {
        format!("{text}\n")
    }
}

/// The one empty content, shared by every empty identity file (the
/// addresses and ports of stopped containers).
fn empty() -> Arc<str> {
    static EMPTY: OnceLock<Arc<str>> = OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::from("")))
}

/// The identity files of the container `current`: none when there is
/// none (a thousand services whose containers are not created yet list
/// none of them).
pub fn details(current: Option<&Observed>) -> Vec<(&'static str, Arc<str>)> {
    let Some(c) = current else {
        return Vec::new();
    };
    let identity = &c.identity;
    let running = c.running;
    let mut addresses = String::new();
    for (network, ipv4, ipv6) in identity.networks.iter().filter(|_| running) {
        for address in [ipv4, ipv6].into_iter().filter(|a| !a.is_empty()) {
            addresses.push_str(&format!("{network} {address}\n"));
        }
    }
    let ports: String = identity
        .ports
        .iter()
        .filter(|_| running)
        .map(|p| format!("{p}\n"))
        .collect();
    let mut files = vec![
        ("id", value(&c.id)),
        ("image_id", value(&c.image_id)),
        ("addresses", addresses),
        ("ports", ports),
        ("started", value(&identity.started_at)),
        ("exit_code", value(c.exit_code)),
        ("docker_restarts", value(identity.restart_count)),
    ];
    if let Some(health) = c.health {
        files.push(("health", value(health)));
        files.push((
            "health_output",
            c.health_output
                .as_deref()
                .map(|o| {
                    if o.is_empty() {
                        String::new()
                    } else {
                        format!("{o}\n")
                    }
                })
                .unwrap_or_default(),
        ));
    }
    files
        .into_iter()
        .map(|(name, text)| {
            (
                name,
                if text.is_empty() {
                    empty()
                } else {
                    text.into()
                },
            )
        })
        .collect()
}
