//! The connection to one docker daemon: lazily connected, API version
//! negotiated down to what the daemon speaks (dockerd 20.10 speaks 1.41),
//! every call bounded by a timeout and logged at debug level with its
//! duration, and bollard's errors sorted into what an operator needs to know.

use std::future::Future;
use std::time::{Duration, Instant};

use bollard::{ClientVersion, Docker};
use tokio::sync::Mutex;

use crate::error::Error;

/// The newest API version svcfs speaks; older daemons get their own.
const NEWEST_API: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 53,
};

/// The version used to ask a daemon which version it speaks: old enough
/// that every supported daemon accepts it.
const PROBE_API: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 24,
};

/// Bound on connecting and negotiating.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// bollard's own per-request timeout. svcfs bounds every call itself with
/// tighter, call-specific limits; this only has to exceed the longest of them
/// (a `docker stop` with a long grace period).
const TRANSPORT_TIMEOUT_SECS: u64 = 3600;

/// What went wrong talking to docker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerError {
    /// Nothing answers on the socket.
    Unreachable(String),
    /// The daemon did not answer within the bound.
    TimedOut(String),
    /// The object does not exist (HTTP 404).
    NotFound(String),
    /// The daemon refused the request.
    Api(u16, String),
    /// Anything else (bad response, I/O mid-request).
    Other(String),
}

impl DockerError {
    /// The message an operator sees.
    pub fn message(&self) -> String {
        match self {
            DockerError::Unreachable(_) => "docker daemon is not running".to_string(),
            DockerError::TimedOut(what) => format!("docker daemon did not answer: {what}"),
            DockerError::NotFound(m) | DockerError::Other(m) => m.clone(),
            DockerError::Api(status, m) => format!("docker refused the request ({status}): {m}"),
        }
    }

    /// The svcfs error, with its errno chosen by the kind of failure.
    pub fn into_error(self) -> Error {
        match &self {
            DockerError::TimedOut(_) => Error::timed_out(self.message()),
            _ => Error::backend(self.message()),
        }
    }
}

impl From<bollard::errors::Error> for DockerError {
    fn from(e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        match e {
            B::DockerResponseServerError {
                status_code: 404,
                message,
            } => DockerError::NotFound(message),
            B::DockerResponseServerError {
                status_code,
                message,
            } => DockerError::Api(status_code, message),
            B::SocketNotFoundError(path) => {
                DockerError::Unreachable(format!("no socket at {path}"))
            }
            B::RequestTimeoutError => DockerError::TimedOut("request timed out".into()),
            B::HyperLegacyError { .. } | B::IOError { .. } => {
                let text = e.to_string();
                if is_connection_failure(&text) {
                    DockerError::Unreachable(text)
                } else {
                    DockerError::Other(text)
                }
            }
            other => DockerError::Other(other.to_string()),
        }
    }
}

fn is_connection_failure(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "connect",
        "refused",
        "no such file",
        "not found",
        "broken pipe",
        "reset",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// One docker daemon, addressed by its host string (`unix:///path`, `tcp://…`).
pub struct DockerEndpoint {
    host: String,
    client: Mutex<Option<Docker>>,
}

impl DockerEndpoint {
    /// An endpoint; nothing is connected until the first call.
    pub fn new(host: &str) -> Self {
        DockerEndpoint {
            host: normalize_host(host),
            client: Mutex::new(None),
        }
    }

    /// The host string, as `docker -H` takes it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// A connected, version-negotiated client.
    pub async fn client(&self) -> Result<Docker, DockerError> {
        let mut cached = self.client.lock().await;
        if let Some(client) = cached.as_ref() {
            return Ok(client.clone());
        }
        let client = bounded("connect", CONNECT_TIMEOUT, self.negotiate()).await?;
        *cached = Some(client.clone());
        Ok(client)
    }

    /// Forget the connection (after the daemon went away), so the next call
    /// negotiates again with whatever daemon answers then.
    pub async fn reset(&self) {
        *self.client.lock().await = None;
    }

    /// Run one API call on this daemon, bounded; a connection failure resets
    /// the cached client.
    pub async fn call<T, F, Fut>(&self, what: &str, limit: Duration, f: F) -> Result<T, DockerError>
    where
        F: FnOnce(Docker) -> Fut,
        Fut: Future<Output = Result<T, bollard::errors::Error>>,
    {
        let client = self.client().await?;
        let result = bounded(what, limit, async {
            f(client).await.map_err(DockerError::from)
        })
        .await;
        if matches!(result, Err(DockerError::Unreachable(_))) {
            self.reset().await;
        }
        result
    }

    async fn negotiate(&self) -> Result<Docker, DockerError> {
        let probe = self.connect(&PROBE_API)?;
        let version = probe.version().await?;
        let speaks = version
            .api_version
            .as_deref()
            .and_then(parse_api_version)
            .ok_or_else(|| {
                DockerError::Other("docker did not say which API version it speaks".into())
            })?;
        let chosen = if (speaks.major_version, speaks.minor_version)
            < (NEWEST_API.major_version, NEWEST_API.minor_version)
        {
            speaks
        } else {
            NEWEST_API
        };
        tracing::debug!(
            host = %self.host,
            "docker speaks API {}.{}; using {}.{}",
            version.api_version.as_deref().unwrap_or("?").split('.').next().unwrap_or("?"),
            version.api_version.as_deref().unwrap_or("?").split('.').nth(1).unwrap_or("?"),
            chosen.major_version,
            chosen.minor_version
        );
        self.connect(&chosen)
    }

    fn connect(&self, version: &ClientVersion) -> Result<Docker, DockerError> {
        let client = match self.host.strip_prefix("tcp://") {
            _ if self.host.starts_with("unix://") => {
                Docker::connect_with_unix(&self.host, TRANSPORT_TIMEOUT_SECS, version)
            }
            // The docker CLI says tcp://, the HTTP client wants http://.
            Some(address) => Docker::connect_with_http(
                &format!("http://{address}"),
                TRANSPORT_TIMEOUT_SECS,
                version,
            ),
            None => Docker::connect_with_http(&self.host, TRANSPORT_TIMEOUT_SECS, version),
        };
        client.map_err(DockerError::from)
    }
}

/// Bound a docker call and log its duration.
pub async fn bounded<T>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, DockerError>>,
) -> Result<T, DockerError> {
    let started = Instant::now();
    let result = tokio::time::timeout(limit, fut).await;
    let elapsed = started.elapsed();
    match result {
        Ok(result) => {
            tracing::debug!(call = what, ?elapsed, ok = result.is_ok(), "docker call");
            result
        }
        Err(_) => {
            tracing::debug!(call = what, ?elapsed, "docker call timed out");
            Err(DockerError::TimedOut(format!(
                "{what} took longer than {}s",
                limit.as_secs_f32()
            )))
        }
    }
}

/// `/var/run/docker.sock` → `unix:///var/run/docker.sock`; other hosts stay
/// as written, so log lines and `svcfs docker` use what `docker -H` takes.
pub fn normalize_host(host: &str) -> String {
    if host.starts_with('/') {
        format!("unix://{host}")
    } else {
        host.to_string()
    }
}

fn parse_api_version(text: &str) -> Option<ClientVersion> {
    let (major, minor) = text.split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// The docker host used when neither `--docker-host` nor `DOCKER_HOST` is set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("/run/d.sock"), "unix:///run/d.sock");
        assert_eq!(normalize_host("unix:///run/d.sock"), "unix:///run/d.sock");
        assert_eq!(normalize_host("tcp://10.0.0.1:2375"), "tcp://10.0.0.1:2375");
    }

    #[test]
    fn api_versions_parse() {
        let v = parse_api_version("1.41").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(parse_api_version("x").is_none());
    }

    #[test]
    fn missing_socket_means_daemon_not_running() {
        let e = DockerError::from(bollard::errors::Error::SocketNotFoundError("/x".into()));
        assert_eq!(e.message(), "docker daemon is not running");
        assert_eq!(e.into_error().errno(), libc::EIO);
    }

    #[test]
    fn not_found_is_told_apart_from_refusals() {
        let e = DockerError::from(bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "No such container: x".into(),
        });
        assert_eq!(e, DockerError::NotFound("No such container: x".into()));
        let e = DockerError::from(bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message: "conflict".into(),
        });
        assert!(e.message().contains("(409)"));
    }

    #[tokio::test]
    async fn unreachable_daemon_is_reported_quickly() {
        let endpoint = DockerEndpoint::new("unix:///nonexistent/docker.sock");
        let err = endpoint.client().await.unwrap_err();
        assert!(matches!(err, DockerError::Unreachable(_)), "{err:?}");
    }

    #[tokio::test]
    async fn bounded_turns_a_hang_into_timed_out() {
        let hang = std::future::pending::<Result<(), DockerError>>();
        let err = bounded("ping", Duration::from_millis(20), hang)
            .await
            .unwrap_err();
        assert!(matches!(err, DockerError::TimedOut(_)));
        assert_eq!(err.into_error().errno(), libc::ETIMEDOUT);
    }
}
