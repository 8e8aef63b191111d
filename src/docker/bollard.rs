//! [`DockerApi`] over bollard: connected on first use, API version
//! negotiated down to what the daemon speaks (dockerd 20.10 speaks 1.41),
//! every call bounded and logged at debug level with its duration.
//!
//! The connection is shared and never locked across a connect: the first
//! caller starts the connect, everyone arriving meanwhile awaits that same
//! attempt, and a failure is remembered for [`CONNECT_BACKOFF`] so that a
//! thousand status checks against a dead or hung daemon cost one connect,
//! not a thousand in a row.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bollard::container::LogOutput;
use bollard::models::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspectResponse, EndpointSettings,
    ImageInspect, NetworkConnectRequest, NetworkCreateRequest, NetworkInspect,
};
use bollard::query_parameters::{
    CreateContainerOptions, EventsOptions, KillContainerOptions, ListContainersOptions,
    ListNetworksOptions, LogsOptions, RemoveContainerOptions, RenameContainerOptions,
    StopContainerOptions, WaitContainerOptions,
};
use bollard::{ClientVersion, Docker};
use futures_util::future::{BoxFuture, Shared};
use futures_util::{FutureExt, StreamExt};
use tokio::time::Instant;

use super::logfile::Record;
use super::{normalize_host, DockerApi, DockerError, ErrorKind, EventStream, LogStream};
use crate::clock::parse_rfc3339_nanos;
use crate::sync::lock;

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
/// How long a failed connect is answered from memory.
const CONNECT_BACKOFF: Duration = Duration::from_secs(1);
/// Bound on a ping.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// Bound on the quick calls (inspect, create, start, kill, rename, remove,
/// logs).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// What `docker stop` gets beyond the container's grace period.
const STOP_SLACK: Duration = Duration::from_secs(30);

/// bollard's own per-request timeout. Every call is bounded here with
/// tighter, call-specific limits; this only has to exceed the longest of
/// them (a `docker stop` with a long grace period).
const TRANSPORT_TIMEOUT_SECS: u64 = 3600;

/// Status reads (inspect container, inspect image) in flight at once on
/// one daemon. A pass over 1000 services would otherwise open one
/// connection per container at once (3000 here, ~25 KB of buffers each,
/// kept by the allocator after the pass: +80 MiB of RSS for good) and make
/// dockerd juggle them all; 16 keep a pass as fast and the pool small.
const READS_IN_FLIGHT: usize = 16;

type Connect = Shared<BoxFuture<'static, Result<Docker, DockerError>>>;

enum Connection {
    Idle,
    /// A connect under way, awaited by whoever needs the client.
    Connecting(Connect),
    Ready(Docker),
    /// The last connect failed; until `until`, callers get its error.
    Failed {
        until: Instant,
        error: DockerError,
    },
}

struct State {
    /// Bumped at every new connect or reset, so that a connect that ends
    /// after a reset does not overwrite what the reset decided.
    generation: u64,
    connection: Connection,
}

/// One docker daemon, addressed by its host string.
pub struct BollardDocker {
    host: String,
    state: Mutex<State>,
    /// Connects started, for the tests of the sharing and the backoff.
    attempts: AtomicUsize,
    /// Bounds the status reads in flight (see [`READS_IN_FLIGHT`]).
    reads: tokio::sync::Semaphore,
}

impl BollardDocker {
    /// A client of `host`; nothing is connected until the first call.
    pub fn new(host: &str) -> Self {
        BollardDocker {
            host: normalize_host(host),
            state: Mutex::new(State {
                generation: 0,
                connection: Connection::Idle,
            }),
            attempts: AtomicUsize::new(0),
            reads: tokio::sync::Semaphore::new(READS_IN_FLIGHT),
        }
    }

    /// How many connects were started.
    pub fn connect_attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// A connected, version-negotiated client: the cached one, the one
    /// being connected, the remembered failure, or a new connect.
    async fn client(&self) -> Result<Docker, DockerError> {
        let (generation, connect) = {
            let mut state = lock(&self.state);
            match &state.connection {
                Connection::Ready(client) => return Ok(client.clone()),
                Connection::Failed { until, error } if Instant::now() < *until => {
                    return Err(error.clone())
                }
                Connection::Connecting(connect) => (state.generation, connect.clone()),
                Connection::Idle | Connection::Failed { .. } => {
                    self.attempts.fetch_add(1, Ordering::SeqCst);
                    let host = self.host.clone();
                    let connect = async move {
                        bounded(&host, "connect", CONNECT_TIMEOUT, negotiate(&host)).await
                    }
                    .boxed()
                    .shared();
                    state.generation += 1;
                    state.connection = Connection::Connecting(connect.clone());
                    (state.generation, connect)
                }
            }
        };
        let result = connect.await;
        let mut state = lock(&self.state);
        if state.generation == generation && matches!(state.connection, Connection::Connecting(_)) {
            state.connection = match &result {
                Ok(client) => Connection::Ready(client.clone()),
                Err(error) => Connection::Failed {
                    until: Instant::now() + CONNECT_BACKOFF,
                    error: error.clone(),
                },
            };
        }
        result
    }

    /// A client for the event stream. Its watcher has a backoff of its
    /// own and retries quickly after a daemon went away: it connects anew
    /// past a remembered failure, and its own failures are not remembered
    /// (they would answer the calls of an action for a second after the
    /// daemon came back). A success serves every caller.
    async fn events_client(&self) -> Result<Docker, DockerError> {
        let generation = {
            let state = lock(&self.state);
            match &state.connection {
                Connection::Ready(client) => return Ok(client.clone()),
                Connection::Connecting(_) => None,
                Connection::Idle | Connection::Failed { .. } => Some(state.generation),
            }
        };
        let Some(generation) = generation else {
            return self.client().await;
        };
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let client = bounded(
            &self.host,
            "connect",
            CONNECT_TIMEOUT,
            negotiate(&self.host),
        )
        .await?;
        let mut state = lock(&self.state);
        if state.generation == generation {
            state.generation += 1;
            state.connection = Connection::Ready(client.clone());
        }
        Ok(client)
    }

    /// Drop the connection; with `failure`, remember it for the backoff.
    fn forget(&self, failure: Option<DockerError>) {
        let mut state = lock(&self.state);
        state.generation += 1;
        state.connection = match failure {
            Some(error) => Connection::Failed {
                until: Instant::now() + CONNECT_BACKOFF,
                error,
            },
            None => Connection::Idle,
        };
    }

    /// Run one API call, bounded; a connection failure is remembered.
    async fn call<T, F, Fut>(&self, what: String, limit: Duration, f: F) -> Result<T, DockerError>
    where
        F: FnOnce(Docker) -> Fut + Send,
        Fut: Future<Output = Result<T, bollard::errors::Error>> + Send,
    {
        let client = self.client().await?;
        let host = &self.host;
        let result = bounded(host, &what, limit, async {
            f(client)
                .await
                .map_err(|e| DockerError::from_bollard(e, host, &what))
        })
        .await;
        if let Err(e) = &result {
            if e.is_unreachable() {
                self.forget(Some(e.clone()));
            }
        }
        result
    }
}

#[async_trait]
impl DockerApi for BollardDocker {
    fn host(&self) -> &str {
        &self.host
    }

    async fn ping(&self) -> Result<(), DockerError> {
        self.call(
            "ping".into(),
            PING_TIMEOUT,
            |d| async move { d.ping().await },
        )
        .await
        .map(|_| ())
    }

    async fn api_version(&self) -> Result<String, DockerError> {
        self.call("version".into(), CALL_TIMEOUT, |d| async move {
            d.version().await
        })
        .await
        .map(|v| v.api_version.unwrap_or_default())
    }

    async fn inspect_container(
        &self,
        name_or_id: &str,
    ) -> Result<ContainerInspectResponse, DockerError> {
        let what = format!("inspect container {name_or_id}");
        // The wait for a slot is not the daemon's answer time: outside the
        // call's bound (the engine's status bound covers both).
        let _slot = self.reads.acquire().await;
        self.call(what, CALL_TIMEOUT, |d| async move {
            d.inspect_container(name_or_id, None).await
        })
        .await
    }

    async fn inspect_image(&self, reference: &str) -> Result<ImageInspect, DockerError> {
        let what = format!("inspect image {reference}");
        let _slot = self.reads.acquire().await;
        self.call(what, CALL_TIMEOUT, |d| async move {
            d.inspect_image(reference).await
        })
        .await
    }

    async fn create_container(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<ContainerCreateResponse, DockerError> {
        let options = CreateContainerOptions {
            name: Some(name.to_string()),
            platform: String::new(),
        };
        self.call(
            format!("create container {name}"),
            CALL_TIMEOUT,
            |d| async move { d.create_container(Some(options), body).await },
        )
        .await
    }

    async fn start_container(&self, id: &str) -> Result<(), DockerError> {
        self.call(
            format!("start container {id}"),
            CALL_TIMEOUT,
            |d| async move { d.start_container(id, None).await },
        )
        .await
    }

    async fn stop_container(&self, id: &str, grace: Duration) -> Result<(), DockerError> {
        let options = StopContainerOptions {
            signal: None,
            t: Some(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX)),
        };
        self.call(
            format!("stop container {id}"),
            grace + STOP_SLACK,
            |d| async move { d.stop_container(id, Some(options)).await },
        )
        .await
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<(), DockerError> {
        let options = KillContainerOptions {
            signal: signal.to_string(),
        };
        self.call(
            format!("kill container {id}"),
            CALL_TIMEOUT,
            |d| async move { d.kill_container(id, Some(options)).await },
        )
        .await
    }

    async fn rename_container(&self, id: &str, to: &str) -> Result<(), DockerError> {
        let options = RenameContainerOptions {
            name: to.to_string(),
        };
        self.call(
            format!("rename container {id}"),
            CALL_TIMEOUT,
            |d| async move { d.rename_container(id, options).await },
        )
        .await
    }

    async fn remove_container(&self, id: &str) -> Result<(), DockerError> {
        let options = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        self.call(
            format!("remove container {id}"),
            CALL_TIMEOUT,
            |d| async move { d.remove_container(id, Some(options)).await },
        )
        .await
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        endpoint: EndpointSettings,
    ) -> Result<(), DockerError> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(endpoint),
        };
        self.call(
            format!("connect container {container} to network {network}"),
            CALL_TIMEOUT,
            |d| async move { d.connect_network(network, request).await },
        )
        .await
    }

    async fn inspect_network(&self, name_or_id: &str) -> Result<NetworkInspect, DockerError> {
        let _slot = self.reads.acquire().await;
        self.call(
            format!("inspect network {name_or_id}"),
            CALL_TIMEOUT,
            |d| async move { d.inspect_network(name_or_id, None).await },
        )
        .await
    }

    async fn create_network(&self, body: NetworkCreateRequest) -> Result<String, DockerError> {
        let what = format!("create network {}", body.name);
        self.call(what, CALL_TIMEOUT, |d| async move {
            d.create_network(body).await
        })
        .await
        .map(|created| created.id)
    }

    async fn remove_network(&self, name_or_id: &str) -> Result<(), DockerError> {
        self.call(
            format!("remove network {name_or_id}"),
            CALL_TIMEOUT,
            |d| async move { d.remove_network(name_or_id).await },
        )
        .await
    }

    async fn networks_labelled(&self, label: &str) -> Result<Vec<NetworkInspect>, DockerError> {
        let options = ListNetworksOptions {
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![label.to_string()],
            )])),
        };
        let listed = self
            .call(
                format!("list networks labelled {label}"),
                CALL_TIMEOUT,
                |d| async move { d.list_networks(Some(options)).await },
            )
            .await?;
        // The list and the inspect answer the same fields that svcfs reads.
        Ok(listed
            .into_iter()
            .map(|n| NetworkInspect {
                name: n.name,
                id: n.id,
                driver: n.driver,
                labels: n.labels,
                ..Default::default()
            })
            .collect())
    }

    async fn containers_on_network(&self, network: &str) -> Result<Vec<String>, DockerError> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "network".to_string(),
                vec![network.to_string()],
            )])),
            ..Default::default()
        };
        let listed = self
            .call(
                format!("list containers on network {network}"),
                CALL_TIMEOUT,
                |d| async move { d.list_containers(Some(options)).await },
            )
            .await?;
        Ok(listed
            .into_iter()
            .map(|c| {
                c.names
                    .and_then(|names| names.into_iter().next())
                    .map(|name| name.trim_start_matches('/').to_string())
                    .or(c.id)
                    .unwrap_or_default()
            })
            .collect())
    }

    async fn container_logs(&self, id: &str, tail: usize) -> Result<String, DockerError> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        self.call(
            format!("logs of container {id}"),
            CALL_TIMEOUT,
            |d| async move {
                let mut out = String::new();
                let mut stream = d.logs(id, Some(options));
                while let Some(chunk) = stream.next().await {
                    out.push_str(&String::from_utf8_lossy(&chunk?.into_bytes()));
                }
                Ok(out)
            },
        )
        .await
    }

    async fn wait_container(&self, id: &str, limit: Duration) -> Result<i64, DockerError> {
        let options = WaitContainerOptions {
            condition: "not-running".to_string(),
        };
        // bollard answers a non-zero exit as an error carrying the code.
        let limit = limit.min(Duration::from_secs(TRANSPORT_TIMEOUT_SECS - 60));
        self.call(format!("wait container {id}"), limit, |d| async move {
            let mut stream = d.wait_container(id, Some(options));
            match stream.next().await {
                Some(Ok(answer)) => Ok(answer.status_code),
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
                    Ok(code)
                }
                Some(Err(e)) => Err(e),
                None => Err(bollard::errors::Error::DockerStreamError {
                    error: "the wait ended without an exit code".to_string(),
                }),
            }
        })
        .await
    }

    async fn follow_logs(&self, id: &str, since: i64) -> Result<LogStream, DockerError> {
        let client = self.client().await?;
        let options = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            since: i32::try_from(since).unwrap_or(i32::MAX),
            timestamps: true,
            ..Default::default()
        };
        let (host, what) = (self.host.clone(), format!("logs of container {id}"));
        Ok(client
            .logs(id, Some(options))
            .map(move |chunk| {
                let chunk = chunk.map_err(|e| DockerError::from_bollard(e, &host, &what))?;
                let stderr = matches!(chunk, LogOutput::StdErr { .. });
                Ok(api_record(stderr, &chunk.into_bytes()))
            })
            .boxed())
    }

    async fn events(&self) -> Result<EventStream, DockerError> {
        let client = self.events_client().await?;
        // Filters on different keys are ANDed by docker, so no label
        // filter: image events carry none.
        let options = EventsOptions {
            since: None,
            until: None,
            filters: Some(HashMap::from([(
                "type".to_string(),
                vec!["container".to_string(), "image".to_string()],
            )])),
        };
        let host = self.host.clone();
        Ok(client
            .events(Some(options))
            .map(move |e| e.map_err(|e| DockerError::from_bollard(e, &host, "events")))
            .boxed())
    }

    async fn reset(&self) {
        self.forget(None);
    }
}

/// A chunk of docker's log API with `timestamps`: `<RFC 3339> <text>`,
/// a line's end included when it ends one.
fn api_record(stderr: bool, bytes: &[u8]) -> Record {
    let stamped = bytes.iter().position(|b| *b == b' ').and_then(|space| {
        let time = std::str::from_utf8(&bytes[..space]).ok()?;
        Some((parse_rfc3339_nanos(time)?, &bytes[space + 1..]))
    });
    let (time, text) = stamped.unwrap_or((0, bytes));
    let ends_line = text.last() == Some(&b'\n');
    let text = if ends_line {
        &text[..text.len() - 1]
    } else {
        text
    };
    Record {
        stderr,
        time,
        text: text.to_vec(),
        ends_line,
    }
}

async fn negotiate(host: &str) -> Result<Docker, DockerError> {
    let probe = connect(host, &PROBE_API)?;
    let version = probe
        .version()
        .await
        .map_err(|e| DockerError::from_bollard(e, host, "version"))?;
    let text = version.api_version.unwrap_or_default();
    let speaks = parse_api_version(&text).ok_or_else(|| {
        DockerError::new(
            ErrorKind::Other,
            host,
            "version",
            "docker did not say which API version it speaks",
        )
    })?;
    let chosen = if (speaks.major_version, speaks.minor_version)
        < (NEWEST_API.major_version, NEWEST_API.minor_version)
    {
        speaks
    } else {
        NEWEST_API
    };
    tracing::debug!(
        host,
        "docker speaks API {text}; using {}.{}",
        chosen.major_version,
        chosen.minor_version
    );
    connect(host, &chosen)
}

fn connect(host: &str, version: &ClientVersion) -> Result<Docker, DockerError> {
    let client = match host.strip_prefix("tcp://") {
        _ if host.starts_with("unix://") => {
            Docker::connect_with_unix(host, TRANSPORT_TIMEOUT_SECS, version)
        }
        // The docker CLI says tcp://, the HTTP client wants http://.
        Some(address) => Docker::connect_with_http(
            &format!("http://{address}"),
            TRANSPORT_TIMEOUT_SECS,
            version,
        ),
        None => Docker::connect_with_http(host, TRANSPORT_TIMEOUT_SECS, version),
    };
    client.map_err(|e| DockerError::from_bollard(e, host, "connect"))
}

/// Bound a docker call and log its duration.
async fn bounded<T>(
    host: &str,
    what: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, DockerError>>,
) -> Result<T, DockerError> {
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(limit, fut).await;
    let elapsed = started.elapsed();
    match result {
        Ok(result) => {
            tracing::debug!(
                host,
                call = what,
                ?elapsed,
                ok = result.is_ok(),
                "docker call"
            );
            result
        }
        Err(_) => {
            tracing::debug!(host, call = what, ?elapsed, "docker call timed out");
            Err(DockerError::new(
                ErrorKind::TimedOut,
                host,
                what,
                format!("took longer than {}s", limit.as_secs_f32()),
            ))
        }
    }
}

fn parse_api_version(text: &str) -> Option<ClientVersion> {
    let (major, minor) = text.split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_log_chunks_carry_their_time_and_line_end() {
        let r = api_record(false, b"2026-12-07T10:40:18.165026886Z line 0\r\n");
        assert_eq!(r.text, b"line 0\r");
        assert!(r.ends_line && !r.stderr);
        assert_eq!(
            Some(r.time),
            parse_rfc3339_nanos("2026-12-07T10:40:18.165026886Z")
        );
        let r = api_record(true, b"no time here");
        assert_eq!(
            (r.time, &r.text[..], r.ends_line),
            (0, &b"no time here"[..], false)
        );
    }

    #[test]
    fn api_versions_parse() {
        let v = parse_api_version("1.41").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(parse_api_version("x").is_none());
    }

    #[tokio::test]
    async fn an_unreachable_daemon_is_one_connect_then_remembered() {
        let docker = BollardDocker::new("unix:///nonexistent/docker.sock");
        let calls = (0..50).map(|_| docker.ping());
        let results = futures_util::future::join_all(calls).await;
        for result in &results {
            let err = result.as_ref().unwrap_err();
            assert!(err.is_unreachable(), "{err:?}");
            assert!(err.message().contains("unix:///nonexistent/docker.sock"));
        }
        assert_eq!(docker.connect_attempts(), 1);
        // Within the backoff: the remembered error, no new connect.
        let again = docker.inspect_container("x").await.unwrap_err();
        assert!(again.is_unreachable());
        assert_eq!(docker.connect_attempts(), 1);
        // A reset (the daemon was started or stopped) tries again at once.
        docker.reset().await;
        assert!(docker.ping().await.unwrap_err().is_unreachable());
        assert_eq!(docker.connect_attempts(), 2);
    }

    #[tokio::test]
    async fn the_event_stream_connects_past_a_remembered_failure_and_leaves_none() {
        let docker = BollardDocker::new("unix:///nonexistent/docker.sock");
        assert!(docker.events().await.is_err());
        assert!(docker.events().await.is_err());
        assert_eq!(docker.connect_attempts(), 2);
        // Its failures are not remembered: a call connects anew...
        assert!(docker.ping().await.unwrap_err().is_unreachable());
        assert_eq!(docker.connect_attempts(), 3);
        // ...and that call's remembered failure does not stop the stream.
        assert!(docker.events().await.is_err());
        assert_eq!(docker.connect_attempts(), 4);
        assert!(docker.ping().await.unwrap_err().is_unreachable());
        assert_eq!(docker.connect_attempts(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn callers_of_a_hung_daemon_share_one_connect_and_retry_after_the_backoff() {
        let dir = std::env::temp_dir().join(format!("svcfs-ut-hung-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("hung.sock");
        let _ = std::fs::remove_file(&socket);
        // Connections land in the backlog and are never answered.
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let docker = BollardDocker::new(&format!("unix://{}", socket.display()));
        let calls = (0..20).map(|_| docker.inspect_image("busybox"));
        for result in futures_util::future::join_all(calls).await {
            let err = result.unwrap_err();
            assert_eq!(err.kind, ErrorKind::TimedOut, "{err:?}");
            assert!(err.message().contains(&socket.display().to_string()));
        }
        assert_eq!(docker.connect_attempts(), 1);
        assert_eq!(docker.ping().await.unwrap_err().kind, ErrorKind::TimedOut);
        assert_eq!(docker.connect_attempts(), 1);
        tokio::time::advance(CONNECT_BACKOFF).await;
        assert_eq!(docker.ping().await.unwrap_err().kind, ErrorKind::TimedOut);
        assert_eq!(docker.connect_attempts(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
