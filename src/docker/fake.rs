//! A docker daemon in memory, for unit tests (youki's `TestHelperSyscall`
//! is the model): every call is recorded in order as a typed [`Call`], the
//! state (containers by name with their image, labels, state and create
//! body; images) is scripted by the test and changed by the calls as
//! dockerd would, failures are injected per call, and a container can be
//! scripted to exit some time after it starts. Test-only: not compiled
//! into the release binary.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bollard::models::{
    ContainerConfig, ContainerCreateBody, ContainerCreateResponse, ContainerInspectResponse,
    ContainerState, ContainerStateStatusEnum, EndpointSettings, EventMessage, Health,
    HealthStatusEnum, ImageInspect, NetworkCreateRequest, NetworkInspect, NetworkSettings,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{DockerApi, DockerError, ErrorKind, EventStream, LogStream};
use crate::sync::lock;

/// One call svcfs made, with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Ping,
    ApiVersion,
    InspectContainer(String),
    InspectImage(String),
    Create {
        name: String,
        body: Box<ContainerCreateBody>,
    },
    Start(String),
    Stop {
        id: String,
        grace: Duration,
    },
    Kill {
        id: String,
        signal: String,
    },
    Rename {
        id: String,
        to: String,
    },
    Remove(String),
    ConnectNetwork {
        network: String,
        container: String,
        endpoint: Box<EndpointSettings>,
    },
    InspectNetwork(String),
    CreateNetwork(Box<NetworkCreateRequest>),
    RemoveNetwork(String),
    ListNetworks(String),
    ContainersOnNetwork(String),
    Logs(String),
    Wait(String),
    Events,
    Reset,
}

impl Call {
    /// The call's name, as failures are injected by.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Ping => "ping",
            Call::ApiVersion => "version",
            Call::InspectContainer(_) => "inspect container",
            Call::InspectImage(_) => "inspect image",
            Call::Create { .. } => "create container",
            Call::Start(_) => "start container",
            Call::Stop { .. } => "stop container",
            Call::Kill { .. } => "kill container",
            Call::Rename { .. } => "rename container",
            Call::Remove(_) => "remove container",
            Call::ConnectNetwork { .. } => "connect network",
            Call::InspectNetwork(_) => "inspect network",
            Call::CreateNetwork(_) => "create network",
            Call::RemoveNetwork(_) => "remove network",
            Call::ListNetworks(_) => "list networks",
            Call::ContainersOnNetwork(_) => "containers on network",
            Call::Logs(_) => "container logs",
            Call::Wait(_) => "wait container",
            Call::Events => "events",
            Call::Reset => "reset",
        }
    }

    /// The call as a short line (`start c0ffee000001`), for asserting
    /// sequences; inspections and pings are `None`.
    pub fn action(&self) -> Option<String> {
        Some(match self {
            Call::Create { name, .. } => format!("create {name}"),
            Call::Start(id) => format!("start {id}"),
            Call::Stop { id, grace } => format!("stop -t {} {id}", grace.as_secs()),
            Call::Kill { id, signal } => format!("kill --signal {signal} {id}"),
            Call::Rename { id, to } => format!("rename {id} {to}"),
            Call::Remove(id) => format!("rm -f {id}"),
            Call::ConnectNetwork {
                network, container, ..
            } => format!("network connect {network} {container}"),
            Call::CreateNetwork(body) => format!("network create {}", body.name),
            Call::RemoveNetwork(name) => format!("network rm {name}"),
            _ => return None,
        })
    }
}

/// A container of the fake daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeContainer {
    /// Full id (the fake's own are `c0ffee…`, 64 digits).
    pub id: String,
    /// Its name, without docker's leading slash.
    pub name: String,
    /// Id of its image.
    pub image_id: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
    /// `created`, `running`, `exited`.
    pub status: ContainerStateStatusEnum,
    /// Exit code of the last run.
    pub exit_code: i64,
    /// Host pid of PID 1 while it runs (0: none to be seen in /proc).
    pub pid: i64,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// Health check status, when it has one.
    pub health: Option<HealthStatusEnum>,
    /// What `docker logs` prints.
    pub logs: String,
    /// Scripted: once started, it exits with this code after that long.
    pub exits_after_start: Option<(Duration, i64)>,
    /// The body it was created with, when created through the fake.
    pub body: Option<ContainerCreateBody>,
    /// The networks it is attached to, by name, with their endpoints.
    pub networks: Vec<(String, EndpointSettings)>,
    started_at: Option<Instant>,
}

impl FakeContainer {
    /// A created (never started) container `name` of image `image_id`.
    pub fn new(name: &str, image_id: &str, labels: &[(&str, &str)]) -> Self {
        FakeContainer {
            id: String::new(),
            name: name.to_string(),
            image_id: image_id.to_string(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            status: ContainerStateStatusEnum::CREATED,
            exit_code: 0,
            pid: 0,
            stop_signal: None,
            health: None,
            logs: String::new(),
            exits_after_start: None,
            body: None,
            networks: Vec::new(),
            started_at: None,
        }
    }

    /// Whether its process runs.
    pub fn running(&self) -> bool {
        self.status == ContainerStateStatusEnum::RUNNING
    }

    /// The same, running.
    pub fn started(mut self) -> Self {
        self.status = ContainerStateStatusEnum::RUNNING;
        self.started_at = Some(Instant::now());
        self
    }

    /// The same, exited with `code`.
    pub fn exited(mut self, code: i64) -> Self {
        self.status = ContainerStateStatusEnum::EXITED;
        self.exit_code = code;
        self
    }

    fn exit(&mut self, code: i64) {
        self.status = ContainerStateStatusEnum::EXITED;
        self.exit_code = code;
        self.pid = 0;
        self.started_at = None;
    }

    /// Apply a scripted exit whose time has come.
    fn advance(&mut self) {
        if let (Some((after, code)), Some(started)) = (self.exits_after_start, self.started_at) {
            if self.running() && Instant::now() >= started + after {
                self.exit(code);
            }
        }
    }

    fn inspect(&self) -> ContainerInspectResponse {
        ContainerInspectResponse {
            id: Some(self.id.clone()),
            name: Some(format!("/{}", self.name)),
            image: Some(self.image_id.clone()),
            state: Some(ContainerState {
                status: Some(self.status),
                running: Some(self.running()),
                pid: Some(if self.running() { self.pid } else { 0 }),
                exit_code: Some(self.exit_code),
                health: self.health.map(|status| Health {
                    status: Some(status),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            config: Some(ContainerConfig {
                labels: Some(self.labels.clone()),
                stop_signal: self.stop_signal.clone(),
                ..Default::default()
            }),
            network_settings: Some(NetworkSettings {
                networks: Some(self.networks.iter().cloned().collect()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// A network of the fake daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeNetwork {
    /// Its id (`ne7…`).
    pub id: String,
    /// How it was created.
    pub body: NetworkCreateRequest,
}

impl FakeNetwork {
    fn inspect(&self) -> NetworkInspect {
        NetworkInspect {
            id: Some(self.id.clone()),
            name: Some(self.body.name.clone()),
            driver: self.body.driver.clone().or(Some("bridge".into())),
            internal: self.body.internal,
            ipam: self.body.ipam.clone(),
            options: self.body.options.clone(),
            labels: self.body.labels.clone(),
            ..Default::default()
        }
    }
}

#[derive(Default)]
struct World {
    /// Every call fails as with no daemon on the socket.
    down: bool,
    containers: Vec<FakeContainer>,
    networks: Vec<FakeNetwork>,
    /// (id, repo tags).
    images: Vec<(String, Vec<String>)>,
    failures: HashMap<&'static str, (ErrorKind, String)>,
    /// How long calls of a name take before they answer.
    delays: HashMap<&'static str, Duration>,
    /// Scripted exit of the containers created from now on.
    created_exit: Option<(Duration, i64, String)>,
    created: u64,
    subscribers: Vec<mpsc::UnboundedSender<Result<EventMessage, DockerError>>>,
}

impl World {
    fn find(&mut self, name_or_id: &str) -> Option<&mut FakeContainer> {
        let found = self.containers.iter_mut().find(|c| {
            c.name == name_or_id
                || c.id == name_or_id
                || (name_or_id.len() >= 12 && c.id.starts_with(name_or_id))
        })?;
        found.advance();
        Some(found)
    }

    fn image(&self, reference: &str) -> Option<(String, Vec<String>)> {
        let bare = reference.strip_prefix("sha256:").unwrap_or(reference);
        let tagged = if reference.contains(':') {
            reference.to_string()
        } else {
            format!("{reference}:latest")
        };
        self.images
            .iter()
            .find(|(id, tags)| {
                (bare.len() >= 12 && id.strip_prefix("sha256:").unwrap_or(id).starts_with(bare))
                    || tags.iter().any(|t| *t == tagged || t == reference)
            })
            .cloned()
    }
}

/// The fake daemon.
pub struct FakeDocker {
    host: String,
    world: Mutex<World>,
    calls: Mutex<Vec<Call>>,
}

impl FakeDocker {
    /// An empty daemon at `host`.
    pub fn new(host: &str) -> Self {
        FakeDocker {
            host: host.to_string(),
            world: Mutex::default(),
            calls: Mutex::default(),
        }
    }

    /// Add an image with its id (`sha256:…`) and tags.
    pub fn add_image(&self, id: &str, tags: &[&str]) {
        lock(&self.world)
            .images
            .push((id.to_string(), tags.iter().map(|t| t.to_string()).collect()));
    }

    /// Add a container; an empty id gets one of the fake's.
    pub fn add_container(&self, mut container: FakeContainer) -> String {
        let mut world = lock(&self.world);
        if container.id.is_empty() {
            world.created += 1;
            container.id = fake_id(world.created);
        }
        let id = container.id.clone();
        world.containers.push(container);
        id
    }

    /// The container of that name or id, as it is now.
    pub fn container(&self, name_or_id: &str) -> Option<FakeContainer> {
        lock(&self.world).find(name_or_id).cloned()
    }

    /// Add a network (made by someone else than svcfs, or before).
    pub fn add_network(&self, body: NetworkCreateRequest) -> String {
        let mut world = lock(&self.world);
        world.created += 1;
        let id = format!("ne7{:061x}", world.created);
        world.networks.push(FakeNetwork {
            id: id.clone(),
            body,
        });
        id
    }

    /// The network of that name or id, as it is now.
    pub fn network(&self, name_or_id: &str) -> Option<FakeNetwork> {
        lock(&self.world)
            .networks
            .iter()
            .find(|n| n.id == name_or_id || n.body.name == name_or_id)
            .cloned()
    }

    /// Names of every container.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = lock(&self.world)
            .containers
            .iter()
            .map(|c| c.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Change a container in place.
    pub fn update(&self, name_or_id: &str, change: impl FnOnce(&mut FakeContainer)) {
        let mut world = lock(&self.world);
        change(world.find(name_or_id).expect("no such fake container"));
    }

    /// Containers created from now on exit with `code` that long after
    /// they start, having printed `logs`.
    pub fn created_exit_after_start(&self, after: Duration, code: i64, logs: &str) {
        lock(&self.world).created_exit = Some((after, code, logs.to_string()));
    }

    /// Make every call named `call` fail (see [`Call::name`]).
    pub fn fail(&self, call: &'static str, kind: ErrorKind, detail: &str) {
        lock(&self.world)
            .failures
            .insert(call, (kind, detail.to_string()));
    }

    /// Make every call named `call` take `delay` before it answers (a
    /// daemon busy cleaning up a container).
    pub fn delay(&self, call: &'static str, delay: Duration) {
        lock(&self.world).delays.insert(call, delay);
    }

    /// The daemon stops (`true`: every call is unreachable) or comes back.
    pub fn set_down(&self, down: bool) {
        let mut world = lock(&self.world);
        world.down = down;
        if down {
            // Its event streams end with it.
            world.subscribers.clear();
        }
    }

    /// Send an event to every open event stream.
    pub fn emit(&self, event: EventMessage) {
        lock(&self.world)
            .subscribers
            .retain(|s| s.send(Ok(event.clone())).is_ok());
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.calls).clone()
    }

    /// The calls that change something, as short lines (see
    /// [`Call::action`]).
    pub fn actions(&self) -> Vec<String> {
        self.calls().iter().filter_map(Call::action).collect()
    }

    /// Record `call`, then answer with the injected failure if any.
    async fn enter(
        &self,
        call: Call,
        about: &str,
    ) -> Result<std::sync::MutexGuard<'_, World>, DockerError> {
        let name = call.name();
        lock(&self.calls).push(call);
        let delay = lock(&self.world).delays.get(name).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let world = lock(&self.world);
        let what = if about.is_empty() {
            name.to_string()
        } else {
            format!("{name} {about}")
        };
        if world.down {
            return Err(self.error(ErrorKind::Unreachable, &what, "connection refused"));
        }
        if let Some((kind, detail)) = world.failures.get(name) {
            return Err(self.error(*kind, &what, detail));
        }
        Ok(world)
    }

    fn error(&self, kind: ErrorKind, call: &str, detail: &str) -> DockerError {
        DockerError::new(kind, &self.host, call, detail)
    }

    fn no_such_container(&self, call: &str, id: &str) -> DockerError {
        self.error(
            ErrorKind::NotFound,
            &format!("{call} {id}"),
            &format!("No such container: {id}"),
        )
    }
}

/// Whether a network mode names a network of the daemon's own making.
fn is_user_network(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// Ids whose short form is `c0ffee00000N`.
fn fake_id(n: u64) -> String {
    format!("{:012x}{}", 0xc0ff_ee00_0000_u64 + n, "0".repeat(52))
}

#[async_trait]
impl DockerApi for FakeDocker {
    fn host(&self) -> &str {
        &self.host
    }

    async fn ping(&self) -> Result<(), DockerError> {
        self.enter(Call::Ping, "").await.map(|_| ())
    }

    async fn api_version(&self) -> Result<String, DockerError> {
        self.enter(Call::ApiVersion, "")
            .await
            .map(|_| "1.41".to_string())
    }

    async fn inspect_container(
        &self,
        name_or_id: &str,
    ) -> Result<ContainerInspectResponse, DockerError> {
        let mut world = self
            .enter(Call::InspectContainer(name_or_id.into()), name_or_id)
            .await?;
        match world.find(name_or_id) {
            Some(c) => Ok(c.inspect()),
            None => Err(self.no_such_container("inspect container", name_or_id)),
        }
    }

    async fn inspect_image(&self, reference: &str) -> Result<ImageInspect, DockerError> {
        let world = self
            .enter(Call::InspectImage(reference.into()), reference)
            .await?;
        match world.image(reference) {
            Some((id, tags)) => Ok(ImageInspect {
                id: Some(id),
                repo_tags: Some(tags),
                ..Default::default()
            }),
            None => Err(self.error(
                ErrorKind::NotFound,
                &format!("inspect image {reference}"),
                &format!("No such image: {reference}"),
            )),
        }
    }

    async fn create_container(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<ContainerCreateResponse, DockerError> {
        let call = Call::Create {
            name: name.into(),
            body: Box::new(body.clone()),
        };
        let mut world = self.enter(call, name).await?;
        let what = format!("create container {name}");
        if world.containers.iter().any(|c| c.name == name) {
            return Err(self.error(
                ErrorKind::Api(409),
                &what,
                &format!("Conflict. The container name \"/{name}\" is already in use"),
            ));
        }
        let image = body.image.clone().unwrap_or_default();
        let Some((image_id, _)) = world.image(&image) else {
            return Err(self.error(
                ErrorKind::NotFound,
                &what,
                &format!("No such image: {image}"),
            ));
        };
        world.created += 1;
        let mut container = FakeContainer::new(name, &image_id, &[]);
        container.id = fake_id(world.created);
        container.labels = body.labels.clone().unwrap_or_default();
        container.stop_signal = body.stop_signal.clone();
        if let Some((after, code, logs)) = world.created_exit.clone() {
            container.exits_after_start = Some((after, code));
            container.logs = logs;
        }
        let mode = body
            .host_config
            .as_ref()
            .and_then(|h| h.network_mode.clone())
            .unwrap_or_else(|| "bridge".into());
        let endpoints = body
            .networking_config
            .as_ref()
            .and_then(|n| n.endpoints_config.clone())
            .unwrap_or_default();
        if endpoints.len() > 1 {
            // What dockerd before API 1.44 answers.
            return Err(self.error(
                ErrorKind::Api(400),
                &what,
                "Container cannot be connected to network endpoints",
            ));
        }
        if is_user_network(&mode) && !world.networks.iter().any(|n| n.body.name == mode) {
            return Err(self.error(
                ErrorKind::NotFound,
                &what,
                &format!("network {mode} not found"),
            ));
        }
        let endpoint = endpoints.get(&mode).cloned().unwrap_or_default();
        container.networks = vec![(mode, endpoint)];
        container.body = Some(body);
        let id = container.id.clone();
        world.containers.push(container);
        Ok(ContainerCreateResponse {
            id,
            warnings: Vec::new(),
        })
    }

    async fn start_container(&self, id: &str) -> Result<(), DockerError> {
        let mut world = self.enter(Call::Start(id.into()), id).await?;
        let c = world
            .find(id)
            .ok_or_else(|| self.no_such_container("start container", id))?;
        if !c.running() {
            c.status = ContainerStateStatusEnum::RUNNING;
            c.started_at = Some(Instant::now());
        }
        Ok(())
    }

    async fn stop_container(&self, id: &str, grace: Duration) -> Result<(), DockerError> {
        let call = Call::Stop {
            id: id.into(),
            grace,
        };
        let mut world = self.enter(call, id).await?;
        let c = world
            .find(id)
            .ok_or_else(|| self.no_such_container("stop container", id))?;
        if c.running() {
            c.exit(137);
        }
        Ok(())
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<(), DockerError> {
        let call = Call::Kill {
            id: id.into(),
            signal: signal.into(),
        };
        let mut world = self.enter(call, id).await?;
        let c = world
            .find(id)
            .ok_or_else(|| self.no_such_container("kill container", id))?;
        if !c.running() {
            return Err(self.error(
                ErrorKind::Api(409),
                &format!("kill container {id}"),
                &format!("Container {id} is not running"),
            ));
        }
        c.exit(137);
        Ok(())
    }

    async fn rename_container(&self, id: &str, to: &str) -> Result<(), DockerError> {
        let call = Call::Rename {
            id: id.into(),
            to: to.into(),
        };
        let mut world = self.enter(call, id).await?;
        if world.containers.iter().any(|c| c.name == to) {
            return Err(self.error(
                ErrorKind::Api(409),
                &format!("rename container {id}"),
                &format!("Conflict. The container name \"/{to}\" is already in use"),
            ));
        }
        let c = world
            .find(id)
            .ok_or_else(|| self.no_such_container("rename container", id))?;
        c.name = to.to_string();
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<(), DockerError> {
        let mut world = self.enter(Call::Remove(id.into()), id).await?;
        let Some(found) = world.find(id).map(|c| c.id.clone()) else {
            return Err(self.no_such_container("remove container", id));
        };
        world.containers.retain(|c| c.id != found);
        Ok(())
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        endpoint: EndpointSettings,
    ) -> Result<(), DockerError> {
        let call = Call::ConnectNetwork {
            network: network.into(),
            container: container.into(),
            endpoint: Box::new(endpoint.clone()),
        };
        let mut world = self.enter(call, network).await?;
        let what = format!("connect container {container} to network {network}");
        if !world
            .networks
            .iter()
            .any(|n| n.body.name == network || n.id == network)
        {
            return Err(self.error(
                ErrorKind::NotFound,
                &what,
                &format!("network {network} not found"),
            ));
        }
        let c = world
            .find(container)
            .ok_or_else(|| self.no_such_container("connect container", container))?;
        if c.networks.iter().any(|(n, _)| n == network) {
            return Err(self.error(
                ErrorKind::Api(403),
                &what,
                &format!(
                    "endpoint with name {} already exists in network {network}",
                    c.name
                ),
            ));
        }
        c.networks.push((network.to_string(), endpoint));
        Ok(())
    }

    async fn inspect_network(&self, name_or_id: &str) -> Result<NetworkInspect, DockerError> {
        let world = self
            .enter(Call::InspectNetwork(name_or_id.into()), name_or_id)
            .await?;
        world
            .networks
            .iter()
            .find(|n| n.id == name_or_id || n.body.name == name_or_id)
            .map(FakeNetwork::inspect)
            .ok_or_else(|| {
                self.error(
                    ErrorKind::NotFound,
                    &format!("inspect network {name_or_id}"),
                    &format!("network {name_or_id} not found"),
                )
            })
    }

    async fn create_network(&self, body: NetworkCreateRequest) -> Result<String, DockerError> {
        let name = body.name.clone();
        let mut world = self
            .enter(Call::CreateNetwork(Box::new(body.clone())), &name)
            .await?;
        if world.networks.iter().any(|n| n.body.name == name) {
            return Err(self.error(
                ErrorKind::Api(409),
                &format!("create network {name}"),
                &format!("network with name {name} already exists"),
            ));
        }
        world.created += 1;
        let id = format!("ne7{:061x}", world.created);
        world.networks.push(FakeNetwork {
            id: id.clone(),
            body,
        });
        Ok(id)
    }

    async fn remove_network(&self, name_or_id: &str) -> Result<(), DockerError> {
        let mut world = self
            .enter(Call::RemoveNetwork(name_or_id.into()), name_or_id)
            .await?;
        let what = format!("remove network {name_or_id}");
        let Some(found) = world
            .networks
            .iter()
            .find(|n| n.id == name_or_id || n.body.name == name_or_id)
            .cloned()
        else {
            return Err(self.error(
                ErrorKind::NotFound,
                &what,
                &format!("network {name_or_id} not found"),
            ));
        };
        let running_on_it = world
            .containers
            .iter()
            .any(|c| c.running() && c.networks.iter().any(|(n, _)| *n == found.body.name));
        if running_on_it {
            return Err(self.error(
                ErrorKind::Api(403),
                &what,
                &format!(
                    "error while removing network: network {} has active endpoints",
                    found.body.name
                ),
            ));
        }
        world.networks.retain(|n| n.id != found.id);
        Ok(())
    }

    async fn networks_labelled(&self, label: &str) -> Result<Vec<NetworkInspect>, DockerError> {
        let world = self.enter(Call::ListNetworks(label.into()), label).await?;
        Ok(world
            .networks
            .iter()
            .filter(|n| {
                n.body
                    .labels
                    .as_ref()
                    .is_some_and(|labels| labels.contains_key(label))
            })
            .map(FakeNetwork::inspect)
            .collect())
    }

    async fn containers_on_network(&self, network: &str) -> Result<Vec<String>, DockerError> {
        let world = self
            .enter(Call::ContainersOnNetwork(network.into()), network)
            .await?;
        let name = world
            .networks
            .iter()
            .find(|n| n.id == network || n.body.name == network)
            .map(|n| n.body.name.clone())
            .unwrap_or_else(|| network.to_string());
        Ok(world
            .containers
            .iter()
            .filter(|c| c.networks.iter().any(|(n, _)| *n == name))
            .map(|c| c.name.clone())
            .collect())
    }

    async fn container_logs(&self, id: &str, _tail: usize) -> Result<String, DockerError> {
        let mut world = self.enter(Call::Logs(id.into()), id).await?;
        world
            .find(id)
            .map(|c| c.logs.clone())
            .ok_or_else(|| self.no_such_container("logs of container", id))
    }

    async fn wait_container(&self, id: &str, limit: Duration) -> Result<i64, DockerError> {
        let until = Instant::now() + limit;
        drop(self.enter(Call::Wait(id.into()), id).await?);
        loop {
            {
                let mut world = lock(&self.world);
                let c = world
                    .find(id)
                    .ok_or_else(|| self.no_such_container("wait container", id))?;
                if !c.running() {
                    return Ok(c.exit_code);
                }
            }
            if Instant::now() >= until {
                return Err(self.error(
                    ErrorKind::TimedOut,
                    &format!("wait container {id}"),
                    "request timed out",
                ));
            }
            tokio::time::sleep(Duration::from_millis(10).min(until - Instant::now())).await;
        }
    }

    async fn follow_logs(&self, id: &str, _since: i64) -> Result<LogStream, DockerError> {
        let mut world = self.enter(Call::Logs(id.into()), id).await?;
        let logs = world
            .find(id)
            .map(|c| c.logs.clone())
            .ok_or_else(|| self.no_such_container("logs of container", id))?;
        // What it printed, then the stream ends (as when it stops).
        let record = super::logfile::Record {
            stderr: false,
            time: 0,
            text: logs.into_bytes(),
            ends_line: false,
        };
        Ok(Box::pin(futures_util::stream::iter([Ok(record)])))
    }

    async fn events(&self) -> Result<EventStream, DockerError> {
        let mut world = self.enter(Call::Events, "").await?;
        let (sender, receiver) = mpsc::unbounded_channel();
        world.subscribers.push(sender);
        Ok(Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move { receiver.recv().await.map(|e| (e, receiver)) },
        )))
    }

    async fn reset(&self) {
        lock(&self.calls).push(Call::Reset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_fake_behaves_like_dockerd_for_what_svcfs_asks() {
        let docker = FakeDocker::new("unix:///fake.sock");
        docker.add_image("sha256:f66342b343ae0000", &["busybox:latest"]);
        let body = ContainerCreateBody {
            image: Some("busybox".into()),
            ..Default::default()
        };
        let id = docker.create_container("a", body.clone()).await.unwrap().id;
        assert_eq!(
            docker.create_container("a", body).await.unwrap_err().kind,
            ErrorKind::Api(409)
        );
        docker.start_container(&id).await.unwrap();
        assert!(docker.container("a").unwrap().running());
        docker.rename_container(&id, "b").await.unwrap();
        let inspected = docker.inspect_container("b").await.unwrap();
        assert_eq!(inspected.image.as_deref(), Some("sha256:f66342b343ae0000"));
        docker.kill_container(&id, "SIGKILL").await.unwrap();
        assert_eq!(
            docker
                .kill_container(&id, "SIGKILL")
                .await
                .unwrap_err()
                .kind,
            ErrorKind::Api(409)
        );
        docker.remove_container(&id).await.unwrap();
        assert!(docker
            .inspect_container("b")
            .await
            .unwrap_err()
            .is_not_found());
        assert_eq!(
            docker.actions(),
            [
                "create a".to_string(),
                "create a".into(),
                format!("start {id}"),
                format!("rename {id} b"),
                format!("kill --signal SIGKILL {id}"),
                format!("kill --signal SIGKILL {id}"),
                format!("rm -f {id}"),
            ]
        );
        docker.set_down(true);
        let err = docker.ping().await.unwrap_err();
        assert!(err.is_unreachable());
        assert!(err.message().contains("unix:///fake.sock"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_scripted_exit_happens_that_long_after_the_start() {
        let docker = FakeDocker::new("unix:///fake.sock");
        docker.add_image("sha256:f66342b343ae0000", &["busybox:latest"]);
        let mut c = FakeContainer::new("a", "sha256:f66342b343ae0000", &[]);
        c.exits_after_start = Some((Duration::from_millis(50), 3));
        let id = docker.add_container(c);
        docker.start_container(&id).await.unwrap();
        assert!(docker.container("a").unwrap().running());
        tokio::time::advance(Duration::from_millis(50)).await;
        let c = docker.container("a").unwrap();
        assert_eq!((c.running(), c.exit_code), (false, 3));
    }
}
