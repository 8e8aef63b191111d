//! What svcfs asks of a docker daemon, as one trait: the container driver,
//! the private daemon's driver and the event watchers see nothing else, so
//! they are tested against [`fake::FakeDocker`] without a daemon. The one
//! real implementation, over bollard, is [`BollardDocker`].

mod bollard;
#[cfg(test)]
pub mod fake;
pub mod logfile;
pub mod naming;

use std::sync::Arc;
use std::time::Duration;

use ::bollard::models::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspectResponse, EndpointSettings,
    EventMessage, ImageInspect, NetworkCreateRequest, NetworkInspect,
};
use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::error::Error;

pub use self::bollard::BollardDocker;

/// The docker host used when neither `--docker-host` nor `DOCKER_HOST` is set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Docker events of containers and images, as they come.
pub type EventStream = BoxStream<'static, Result<EventMessage, DockerError>>;

/// A container's output as it comes, from docker's log API; the stream
/// ends when the container stops.
pub type LogStream = BoxStream<'static, Result<logfile::Record, DockerError>>;

/// The docker client of a host (`unix:///…`, `tcp://…`): the composition
/// root's way of giving the engine its daemons.
pub type DockerFactory = Arc<dyn Fn(&str) -> Arc<dyn DockerApi> + Send + Sync>;

/// The calls svcfs makes to one docker daemon. Implementations bound every
/// call; errors name the daemon and what was asked.
#[async_trait]
pub trait DockerApi: Send + Sync {
    /// The host string, as `docker -H` takes it.
    fn host(&self) -> &str;

    /// Whether the daemon answers.
    async fn ping(&self) -> Result<(), DockerError>;

    /// The API version the daemon speaks (`1.41`).
    async fn api_version(&self) -> Result<String, DockerError>;

    /// A container, by name or id.
    async fn inspect_container(
        &self,
        name_or_id: &str,
    ) -> Result<ContainerInspectResponse, DockerError>;

    /// An image of the local store, by reference or id.
    async fn inspect_image(&self, reference: &str) -> Result<ImageInspect, DockerError>;

    /// Create a container named `name`.
    async fn create_container(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<ContainerCreateResponse, DockerError>;

    /// Start a created or stopped container.
    async fn start_container(&self, id: &str) -> Result<(), DockerError>;

    /// `docker stop -t grace`: the stop signal, then SIGKILL after `grace`.
    async fn stop_container(&self, id: &str, grace: Duration) -> Result<(), DockerError>;

    /// `docker kill --signal signal`.
    async fn kill_container(&self, id: &str, signal: &str) -> Result<(), DockerError>;

    /// `docker rename id to`.
    async fn rename_container(&self, id: &str, to: &str) -> Result<(), DockerError>;

    /// `docker rm -f id`.
    async fn remove_container(&self, id: &str) -> Result<(), DockerError>;

    /// `docker network connect`: join a created or stopped container to
    /// another network (the engine before API 1.44 creates a container on
    /// one network only).
    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        endpoint: EndpointSettings,
    ) -> Result<(), DockerError>;

    /// A network, by name or id.
    async fn inspect_network(&self, name_or_id: &str) -> Result<NetworkInspect, DockerError>;

    /// `docker network create`; the new network's id.
    async fn create_network(&self, body: NetworkCreateRequest) -> Result<String, DockerError>;

    /// `docker network rm`.
    async fn remove_network(&self, name_or_id: &str) -> Result<(), DockerError>;

    /// The names of the networks that carry the label `label` (any value).
    async fn networks_labelled(&self, label: &str) -> Result<Vec<NetworkInspect>, DockerError>;

    /// The names of the containers (in any state) attached to a network.
    async fn containers_on_network(&self, network: &str) -> Result<Vec<String>, DockerError>;

    /// The last `tail` lines of a container's output (stdout and stderr).
    async fn container_logs(&self, id: &str, tail: usize) -> Result<String, DockerError>;

    /// `docker wait`: the exit code of a container once it no longer
    /// runs, waiting at most `limit` (then a `TimedOut` error: the caller
    /// waits again or kills it).
    async fn wait_container(&self, id: &str, limit: Duration) -> Result<i64, DockerError>;

    /// Events of containers and images from now on; the stream ends when
    /// the connection breaks.
    async fn events(&self) -> Result<EventStream, DockerError>;

    /// The output of a container from `since` (Unix seconds) on, followed:
    /// for the log drivers that leave no file svcfs can read.
    async fn follow_logs(&self, id: &str, since: i64) -> Result<LogStream, DockerError>;

    /// Forget the connection (the daemon went away or was stopped), so the
    /// next call connects again at once, to whatever daemon answers then.
    async fn reset(&self);
}

/// The kind of a docker failure: what the caller may do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing answers on the socket.
    Unreachable,
    /// The daemon did not answer within the bound.
    TimedOut,
    /// The object does not exist (HTTP 404).
    NotFound,
    /// The daemon refused the request with this HTTP status.
    Api(u16),
    /// Anything else (bad response, I/O mid-request).
    Other,
}

/// What went wrong talking to docker, naming the daemon and the call
/// (with the container or image it was about).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The daemon, as `docker -H` takes it.
    pub host: String,
    /// What was asked: `start container 2d4b80bdec71`.
    pub call: String,
    /// What the daemon or the transport said.
    pub detail: String,
}

impl DockerError {
    /// An error of `kind` from `host` answering `call`.
    pub fn new(
        kind: ErrorKind,
        host: impl Into<String>,
        call: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        DockerError {
            kind,
            host: host.into(),
            call: call.into(),
            detail: detail.into(),
        }
    }

    /// Sort a bollard error into what an operator needs to know.
    pub fn from_bollard(e: ::bollard::errors::Error, host: &str, call: &str) -> Self {
        use ::bollard::errors::Error as B;
        let (kind, detail) = match e {
            B::DockerResponseServerError {
                status_code: 404,
                message,
            } => (ErrorKind::NotFound, message),
            B::DockerResponseServerError {
                status_code,
                message,
            } => (ErrorKind::Api(status_code), message),
            B::SocketNotFoundError(path) => {
                (ErrorKind::Unreachable, format!("no socket at {path}"))
            }
            B::RequestTimeoutError => (ErrorKind::TimedOut, "request timed out".into()),
            B::HyperLegacyError { .. } | B::IOError { .. } => {
                // hyper's own text ("client error (SendRequest)") hides the
                // cause ("connection closed before message completed"):
                // a daemon dying mid-request would read as a docker error.
                let text = with_causes(&e);
                if is_connection_failure(&text) {
                    (ErrorKind::Unreachable, text)
                } else {
                    (ErrorKind::Other, text)
                }
            }
            other => (ErrorKind::Other, other.to_string()),
        };
        DockerError::new(kind, host, call, detail)
    }

    /// Whether nothing answers on the socket.
    pub fn is_unreachable(&self) -> bool {
        self.kind == ErrorKind::Unreachable
    }

    /// Whether docker refused because the object exists already (a name
    /// in use).
    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Api(409)
    }

    /// Whether the object asked about does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// The message an operator sees.
    pub fn message(&self) -> String {
        let DockerError {
            host, call, detail, ..
        } = self;
        match self.kind {
            ErrorKind::Unreachable => format!("docker daemon is not running (no answer on {host})"),
            ErrorKind::TimedOut => {
                format!("docker daemon did not answer on {host}: {call}: {detail}")
            }
            ErrorKind::NotFound => format!("{call} on {host}: {detail}"),
            ErrorKind::Api(status) => {
                format!("docker on {host} refused to {call} ({status}): {detail}")
            }
            ErrorKind::Other => format!("{call} on {host} failed: {detail}"),
        }
    }

    /// The error of an action that needed the daemon: when it is not
    /// running, naming it and what to do.
    pub fn into_action_error(self) -> Error {
        if self.is_unreachable() {
            Error::backend(format!(
                "docker daemon is not running (no answer on {}): start it first (the service's dockerd resource, or startcontainer)",
                self.host
            ))
        } else {
            self.into_error()
        }
    }

    /// The svcfs error, with its errno chosen by the kind of failure.
    pub fn into_error(self) -> Error {
        match self.kind {
            ErrorKind::TimedOut => Error::timed_out(self.message()),
            _ => Error::backend(self.message()),
        }
    }
}

impl std::fmt::Display for DockerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// `e` followed by each of its sources, as `outer: inner: …`.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text = format!("{text}: {inner_text}");
        }
        cause = inner.source();
    }
    text
}

/// Whether the transport failed (nothing listens, or the daemon closed the
/// connection without answering) rather than the daemon answering badly.
fn is_connection_failure(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "connect",
        "refused",
        "no such file",
        "not found",
        "broken pipe",
        "reset",
        "connection closed",
        "unexpected eof",
        "sendrequest",
    ]
    .iter()
    .any(|needle| text.contains(needle))
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "unix:///var/run/docker.sock";

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("/run/d.sock"), "unix:///run/d.sock");
        assert_eq!(normalize_host("unix:///run/d.sock"), "unix:///run/d.sock");
        assert_eq!(normalize_host("tcp://10.0.0.1:2375"), "tcp://10.0.0.1:2375");
    }

    #[test]
    fn missing_socket_means_daemon_not_running_and_names_it() {
        let e = DockerError::from_bollard(
            ::bollard::errors::Error::SocketNotFoundError("/x".into()),
            HOST,
            "ping",
        );
        assert!(e.is_unreachable());
        assert_eq!(
            e.message(),
            "docker daemon is not running (no answer on unix:///var/run/docker.sock)"
        );
        assert_eq!(e.into_error().errno(), libc::EIO);
    }

    #[derive(Debug)]
    struct Caused(&'static str, Option<Box<Caused>>);
    impl std::fmt::Display for Caused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Caused {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    #[test]
    fn a_daemon_that_closes_the_connection_mid_request_is_unreachable() {
        // What hyper says when the daemon dies between accept and answer.
        let dying = Caused(
            "client error (SendRequest)",
            Some(Box::new(Caused(
                "connection closed before message completed",
                None,
            ))),
        );
        let text = with_causes(&dying);
        assert_eq!(
            text,
            "client error (SendRequest): connection closed before message completed"
        );
        assert!(is_connection_failure(&text));
        let e = DockerError::from_bollard(
            ::bollard::errors::Error::IOError {
                err: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, dying),
            },
            HOST,
            "version",
        );
        assert!(e.is_unreachable(), "{e:?}");
        assert!(!is_connection_failure(
            "error decoding response body: invalid type"
        ));
    }

    #[test]
    fn not_found_is_told_apart_from_refusals() {
        let e = DockerError::from_bollard(
            ::bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message: "No such container: x".into(),
            },
            HOST,
            "inspect container x",
        );
        assert!(e.is_not_found());
        assert_eq!(
            e.message(),
            "inspect container x on unix:///var/run/docker.sock: No such container: x"
        );
        let e = DockerError::from_bollard(
            ::bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message: "conflict".into(),
            },
            HOST,
            "kill container 2d4b80bdec71",
        );
        assert_eq!(e.kind, ErrorKind::Api(409));
        assert_eq!(
            e.message(),
            "docker on unix:///var/run/docker.sock refused to kill container 2d4b80bdec71 (409): conflict"
        );
    }

    #[test]
    fn a_timeout_names_the_daemon_and_the_call_and_is_etimedout() {
        let e = DockerError::new(
            ErrorKind::TimedOut,
            HOST,
            "inspect image busybox",
            "took longer than 10s",
        );
        assert_eq!(
            e.message(),
            "docker daemon did not answer on unix:///var/run/docker.sock: inspect image busybox: took longer than 10s"
        );
        assert_eq!(e.into_error().errno(), libc::ETIMEDOUT);
    }
}
