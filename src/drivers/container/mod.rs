//! The docker container driver: a container named `<svc>.container.<N>`,
//! labelled `svcfs.service` / `svcfs.rid`, created from `run_image`,
//! `run_command` and `run_args`, started and waited for ("up", then
//! "operational"), stopped and kept. When `run_image` changes, start
//! recreates the container and keeps the old one as `<name>.prev` for
//! `rollback`. How a running container is stopped is in [`stop`].

mod identity;
pub mod live;
mod manifest;
mod networks;
mod pid1;
mod resolve;
pub mod run_args;
mod settle;
mod stop;
mod upgrade;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bollard::models::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspectResponse,
    ContainerStateStatusEnum, HealthStatusEnum, HostConfig, RestartPolicy, RestartPolicyNameEnum,
};

use crate::actionlog::ResourceLog;
use crate::docker::{DockerApi, DockerError, ErrorKind};
use crate::drivers::{Driver, DriverContext};
use crate::error::{Error, Result};
use crate::model::{KindVerb, LiveView, ResourceState, Rid, Status};
use crate::sync::lock;
pub use identity::{Identity, IDENTITY_FILES};
use live::ContainerLive;
pub use manifest::{ContainerSpec, StopWait, MANIFEST, ROLLBACK};
pub use resolve::run_args_body;
use run_args::{redact_env, REDACTED};

/// Label naming the owning service.
pub use crate::docker::naming::{container_name, LABEL_RID, LABEL_SERVICE};
/// Label fingerprinting the `run_command` and `run_args` a container was
/// created with, so that a change of them is seen like a change of image.
pub const LABEL_CONFIG: &str = "svcfs.config";

/// The fingerprint stored in [`LABEL_CONFIG`]: FNV-1a of the command and
/// arguments as written (stable across svcfs versions and platforms).
pub fn config_fingerprint(spec: &ContainerSpec) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!("{}\0{}", spec.run_command.join("\0"), spec.run_args.trim());
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// How often start and stop look at the container while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Looks (one per [`POLL_INTERVAL`]) for a container whose name docker
/// says is taken while its create is still under way.
const APPEARING_LOOKS: u32 = 50;
/// Lines of container output shown when a start fails.
const FAILURE_LOG_LINES: usize = 10;

/// The first 12 hex digits of an id, as docker prints them.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// An image as found in the local store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// `sha256:…`.
    pub id: String,
    /// The first `repo:tag` naming it, if any.
    pub repo_tag: Option<String>,
}

impl ImageInfo {
    /// `repo:tag`, or the short id when the image has no tag.
    pub fn display_name(&self) -> String {
        self.repo_tag
            .clone()
            .unwrap_or_else(|| short_id(&self.id).to_string())
    }
}

/// What svcfs needs to know about an existing container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Full container id.
    pub id: String,
    /// Id of the image it was created from.
    pub image_id: String,
    /// Whether its process runs.
    pub running: bool,
    /// Whether it exited or died.
    pub exited: bool,
    /// Exit code of the last run.
    pub exit_code: i64,
    /// Health check status, when the container has one.
    pub health: Option<HealthStatusEnum>,
    /// Output of the last health probe.
    pub health_output: Option<String>,
    /// Its labels.
    pub labels: HashMap<String, String>,
    /// Host pid of its PID 1 while it runs, else 0.
    pub pid: u32,
    /// Its stop signal (`--stop-signal`, or the image's), when it has one.
    pub stop_signal: Option<String>,
    /// What the tree shows of it beyond its status, and where its output
    /// is.
    pub identity: Identity,
    /// The networks it is attached to, by name.
    pub networks: Vec<String>,
}

impl Observed {
    fn from_inspect(c: ContainerInspectResponse) -> Self {
        let identity = Identity::from_inspect(&c);
        let state = c.state.unwrap_or_default();
        let config = c.config;
        let health = state.health.as_ref().and_then(|h| h.status);
        let health_output = state
            .health
            .as_ref()
            .and_then(|h| h.log.as_ref())
            .and_then(|log| log.last())
            .and_then(|probe| probe.output.clone())
            .map(|o| o.trim().to_string());
        Observed {
            id: c.id.unwrap_or_default(),
            image_id: c.image.unwrap_or_default(),
            running: state.running.unwrap_or(false),
            exited: matches!(
                state.status,
                Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD)
            ),
            exit_code: state.exit_code.unwrap_or(0),
            health: health
                .filter(|h| !matches!(h, HealthStatusEnum::NONE | HealthStatusEnum::EMPTY)),
            health_output,
            pid: state
                .pid
                .and_then(|pid| u32::try_from(pid).ok())
                .unwrap_or(0),
            stop_signal: config
                .as_ref()
                .and_then(|c| c.stop_signal.clone())
                .filter(|s| !s.trim().is_empty()),
            labels: config.and_then(|c| c.labels).unwrap_or_default(),
            identity,
            networks: c
                .network_settings
                .and_then(|n| n.networks)
                .map(|n| n.into_keys().collect())
                .unwrap_or_default(),
        }
    }

    /// Whether the container was created from another `run_command` /
    /// `run_args` (containers from before the label carry none: no drift).
    fn config_changed(&self, fingerprint: &str) -> bool {
        self.labels
            .get(LABEL_CONFIG)
            .is_some_and(|label| label != fingerprint)
    }

    fn is_owned_by(&self, service: &str, rid: &Rid) -> bool {
        self.labels.get(LABEL_SERVICE).map(String::as_str) == Some(service)
            && self.labels.get(LABEL_RID).map(String::as_str) == Some(rid.as_str())
    }
}

/// The state of the resource from what docker said: pure, so the tutorial's
/// status lines are unit-tested.
pub fn container_state(
    service: &str,
    rid: &Rid,
    run_image: &str,
    fingerprint: &str,
    wanted: Option<&ImageInfo>,
    current: Option<(&Observed, Option<&ImageInfo>)>,
) -> ResourceState {
    let missing_image = format!("image {run_image} is not in the local image store");
    let Some((container, current_image)) = current else {
        let label = wanted.map_or_else(|| run_image.to_string(), ImageInfo::display_name);
        let mut state =
            ResourceState::new(Status::Down, label).with_message("can not find container id");
        if wanted.is_none() {
            state = state.with_message(missing_image);
        }
        return state;
    };
    let current_name = current_image.map_or_else(
        || short_id(&container.image_id).to_string(),
        ImageInfo::display_name,
    );
    let label = format!("{}@{}", short_id(&container.id), current_name);
    let mut state = ResourceState::new(
        if container.running {
            Status::Up
        } else {
            Status::Down
        },
        label,
    );
    if !container.is_owned_by(service, rid) {
        state.status = Status::Warn;
        state.messages.push(format!(
            "container {} was not created by svcfs for {rid} (labels {LABEL_SERVICE}/{LABEL_RID} differ)",
            container_name(service, rid)
        ));
    }
    match wanted {
        None => state.messages.push(missing_image),
        Some(wanted) if wanted.id != container.image_id => {
            state.status = Status::Warn;
            state.messages.push(format!(
                "the current container is based on image {current_name} instead of {run_image}"
            ));
        }
        Some(_) => {}
    }
    if container.config_changed(fingerprint) {
        state.status = Status::Warn;
        state.messages.push(
            "the current container was created with another run_command or run_args: start recreates it"
                .to_string(),
        );
    }
    if container.running {
        match container.health {
            Some(HealthStatusEnum::UNHEALTHY) => {
                state.status = Status::Warn;
                state.unhealthy = true;
                state.messages.push(match &container.health_output {
                    Some(out) if !out.is_empty() => format!("container is unhealthy: {out}"),
                    _ => "container is unhealthy".to_string(),
                });
            }
            Some(HealthStatusEnum::STARTING) => {
                state.messages.push("health check starting".to_string())
            }
            _ => {}
        }
    }
    state
}

/// The state of a `oneshot` container from its plain container state: its
/// end is what it is for, so exited 0 is done (n/a: neutral in avail, as
/// after the service stops) and another exit code a failure (warn).
pub fn job_state(mut state: ResourceState, container: &Observed) -> ResourceState {
    if state.status != Status::Down || !container.exited {
        return state;
    }
    if container.exit_code == 0 {
        state.status = Status::NotApplicable;
        state.messages.push("done: the job exited 0".to_string());
    } else {
        state.status = Status::Warn;
        state
            .messages
            .push(format!("the job exited with code {}", container.exit_code));
    }
    state
}

/// The Engine API create body: `run_args` translated, then what svcfs owns
/// (image, command, TTY and open stdin like `run -t -i -d`, labels, restart
/// policy `no` unless run_args asks otherwise).
pub async fn create_body(
    service: &str,
    rid: &Rid,
    spec: &ContainerSpec,
    image: &str,
) -> Result<ContainerCreateBody> {
    let mut body = resolve::run_args_body(&spec.run_args).await?;
    body.image = Some(image.to_string());
    if !spec.run_command.is_empty() {
        body.cmd = Some(spec.run_command.clone());
    }
    // Unless run_args says otherwise (`--tty=false`, as `svcfs import`
    // writes for Compose's defaults).
    body.tty.get_or_insert(true);
    body.open_stdin.get_or_insert(true);
    body.attach_stdin = Some(false);
    body.attach_stdout = Some(false);
    body.attach_stderr = Some(false);
    networks::keep_first(&mut body);
    let labels = body.labels.get_or_insert_with(HashMap::new);
    labels.insert(LABEL_SERVICE.to_string(), service.to_string());
    labels.insert(LABEL_RID.to_string(), rid.as_str().to_string());
    labels.insert(LABEL_CONFIG.to_string(), config_fingerprint(spec));
    let host_config = body.host_config.get_or_insert_with(HostConfig::default);
    if host_config.restart_policy.is_none() {
        host_config.restart_policy = Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        });
    }
    Ok(body)
}

/// Whether creating from `body` needs other containers to exist (their
/// network, IPC or PID namespace, their volumes, links): such a create
/// waits for its turn rather than being done ahead.
pub fn refers_to_containers(body: &ContainerCreateBody) -> bool {
    let Some(host) = &body.host_config else {
        return false;
    };
    let joins = |mode: &Option<String>| {
        mode.as_deref()
            .is_some_and(|mode| mode.starts_with("container:"))
    };
    joins(&host.network_mode)
        || joins(&host.ipc_mode)
        || joins(&host.pid_mode)
        || host.volumes_from.as_ref().is_some_and(|v| !v.is_empty())
        || host.links.as_ref().is_some_and(|l| !l.is_empty())
}

/// The `docker run` command line equivalent to what svcfs creates, for the
/// log (operators know and can replay it). Everyone may read the log:
/// environment values are redacted (`-e DB_PASSWORD=<redacted>`).
pub fn equivalent_run_command(host: &str, name: &str, spec: &ContainerSpec) -> String {
    run_command_with(host, name, spec, &redact_env(&spec.run_args))
}

fn run_command_with(host: &str, name: &str, spec: &ContainerSpec, run_args: &str) -> String {
    let mut words = vec![
        "docker".to_string(),
        "-H".to_string(),
        host.to_string(),
        "run -t -i -d".to_string(),
        format!("--name={name}"),
    ];
    if !run_args.trim().is_empty() {
        words.push(run_args.trim().to_string());
    }
    words.push(spec.run_image.clone());
    words.extend(
        spec.run_command
            .iter()
            .map(|w| crate::host::quote_if_needed(w)),
    );
    words.join(" ")
}

/// Drives one `container#N` resource.
pub struct ContainerDriver {
    service: String,
    rid: Rid,
    name: String,
    spec: ContainerSpec,
    docker: Arc<dyn DockerApi>,
    /// Where the host's processes are (`/proc`): docker's `State.Pid` is a
    /// host pid, for the private daemon too.
    proc_root: PathBuf,
    /// The container that `prepare_start` created for the start to come,
    /// whose creation that start logs.
    created_ahead: Mutex<Option<ContainerCreateResponse>>,
    /// Its output and resource use, read when the tree's files are opened.
    live: Arc<ContainerLive>,
    /// The networks it joins after its create, beyond its network mode.
    extra_networks: Vec<(String, bollard::models::EndpointSettings)>,
}

impl ContainerDriver {
    /// A driver for the container of `rid`.
    pub fn new(ctx: &DriverContext, rid: Rid, spec: ContainerSpec) -> Self {
        // The runs seen and the readers of the output stay with the
        // resource when its service's file is reloaded.
        let live = ctx.carried.take_or(&ctx.service, rid.as_str(), || {
            ContainerLive::new(ctx.docker.clone(), spec.output_size, PathBuf::from("/proc"))
        });
        live.configure(ctx.docker.clone(), spec.output_size);
        ContainerDriver {
            name: container_name(&ctx.service, &rid),
            service: ctx.service.clone(),
            rid,
            docker: ctx.docker.clone(),
            proc_root: PathBuf::from("/proc"),
            created_ahead: Mutex::new(None),
            live,
            extra_networks: networks::extra(&spec.run_args),
            spec,
        }
    }

    /// The same, reading PID 1 under another `/proc`.
    #[cfg(test)]
    pub(crate) fn with_proc_root(mut self, root: PathBuf) -> Self {
        self.live = ContainerLive::new(self.docker.clone(), self.spec.output_size, root.clone());
        self.proc_root = root;
        self
    }

    async fn inspect(&self, name: &str) -> std::result::Result<Option<Observed>, DockerError> {
        match self.docker.inspect_container(name).await {
            Ok(c) => Ok(Some(Observed::from_inspect(c))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn image(&self, reference: &str) -> std::result::Result<Option<ImageInfo>, DockerError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(Some(ImageInfo {
                id: image.id.unwrap_or_default(),
                repo_tag: image
                    .repo_tags
                    .unwrap_or_default()
                    .into_iter()
                    .find(|t| t != "<none>:<none>"),
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn observe(&self) -> std::result::Result<ResourceState, DockerError> {
        let wanted = self.image(&self.spec.run_image).await?;
        let current = self.inspect(&self.name).await?;
        let current_image = match &current {
            // An image id names one image for ever: the one just
            // inspected by name, when the container runs it.
            Some(c) if wanted.as_ref().is_some_and(|w| w.id == c.image_id) => wanted.clone(),
            Some(c) => self.image(&c.image_id).await?,
            None => None,
        };
        self.live.saw(current.as_ref());
        let state = container_state(
            &self.service,
            &self.rid,
            &self.spec.run_image,
            &config_fingerprint(&self.spec),
            wanted.as_ref(),
            current.as_ref().map(|c| (c, current_image.as_ref())),
        );
        let mut state = match (&current, self.spec.oneshot) {
            (Some(c), true) => job_state(state, c),
            _ => state,
        };
        state.files = identity::details(current.as_ref());
        Ok(state)
    }

    /// The error for a container svcfs finds under one of its names but
    /// did not create: svcfs never stops, renames or removes such a one.
    fn foreign(&self, name: &str) -> Error {
        Error::backend(format!(
            "a container named {name} exists that svcfs did not create for {} (labels {LABEL_SERVICE}/{LABEL_RID} differ): rename or remove it",
            self.rid
        ))
    }

    /// Inspect a container svcfs owns under `name`; a foreign one is an
    /// error.
    async fn inspect_owned(&self, name: &str) -> Result<Option<Observed>> {
        match self.inspect(name).await.map_err(|e| self.docker_error(e))? {
            Some(c) if !c.is_owned_by(&self.service, &self.rid) => Err(self.foreign(name)),
            found => Ok(found),
        }
    }

    /// A docker failure during an action, naming the daemon and, when it is
    /// not running, what to do.
    fn docker_error(&self, e: DockerError) -> Error {
        e.into_action_error()
    }

    async fn wanted_image(&self) -> Result<ImageInfo> {
        self.image(&self.spec.run_image)
            .await
            .map_err(|e| self.docker_error(e))?
            .ok_or_else(|| {
                Error::backend(format!(
                    "image {} is not in the local image store of {}: load or pull it first",
                    self.spec.run_image,
                    self.docker.host()
                ))
            })
    }

    async fn body(&self, image: &ImageInfo) -> Result<ContainerCreateBody> {
        let reference = image.repo_tag.clone().unwrap_or_else(|| image.id.clone());
        create_body(&self.service, &self.rid, &self.spec, &reference).await
    }

    async fn create(&self, image: &ImageInfo, log: &ResourceLog) -> Result<String> {
        let body = self.body(image).await?;
        self.create_from(body, log).await
    }

    async fn create_from(&self, body: ContainerCreateBody, log: &ResourceLog) -> Result<String> {
        self.log_run_command(log);
        let image = body.image.clone().unwrap_or_default();
        match self.docker.create_container(&self.name, body).await {
            Ok(created) => Ok(self.log_created(created, log)),
            Err(e) if e.is_conflict() => self
                .adopt_appeared(&image, log)
                .await?
                .ok_or_else(|| self.docker_error(e)),
            Err(e) => Err(self.docker_error(e)),
        }
    }

    /// The container of our name that docker says exists although the
    /// look before the create found none: a create sent by an svcfs that
    /// was killed before docker answered it. Taken when it is ours and
    /// made from `image` and this configuration.
    async fn adopt_appeared(&self, image: &str, log: &ResourceLog) -> Result<Option<String>> {
        // Docker holds the name from the start of a create but shows the
        // container only once it is made.
        let mut found = None;
        for _ in 0..APPEARING_LOOKS {
            found = self.inspect_owned(&self.name).await?;
            if found.is_some() {
                break;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        let Some(found) = found else {
            return Ok(None);
        };
        let same_image = found.image_id == image
            || self
                .image(image)
                .await
                .ok()
                .flatten()
                .is_some_and(|i| i.id == found.image_id);
        if !same_image || found.config_changed(&config_fingerprint(&self.spec)) {
            return Ok(None);
        }
        log.info(format!(
            "{} was created meanwhile (a create that an earlier svcfs sent before it stopped): taking it",
            self.name
        ));
        Ok(Some(found.id))
    }

    fn log_run_command(&self, log: &ResourceLog) {
        let host = self.docker.host();
        let shown = equivalent_run_command(host, &self.name, &self.spec);
        if shown.contains(REDACTED) {
            // The values only go to the daemon's own log (root's).
            let full = run_command_with(host, &self.name, &self.spec, &self.spec.run_args);
            tracing::debug!(service = %self.service, rid = %self.rid, "unredacted: {full}");
        }
        log.info(shown);
    }

    fn log_created(&self, created: ContainerCreateResponse, log: &ResourceLog) -> String {
        log.info(format!("output:\n{}", created.id));
        for warning in &created.warnings {
            log.warn(format!("docker: {warning}"));
        }
        created.id
    }

    /// The id of the stopped container `found`, logging its creation when
    /// it is the one created ahead of this start: the log then reads as if
    /// the create happened now, in the order of the starts.
    fn adopt_created_ahead(&self, found: String, log: &ResourceLog) -> String {
        match lock(&self.created_ahead).take() {
            Some(created) if created.id == found => {
                self.log_run_command(log);
                self.log_created(created, log)
            }
            _ => found,
        }
    }

    async fn start_container(&self, id: &str, log: &ResourceLog) -> Result<()> {
        log.info(format!(
            "docker -H {} start {}",
            self.docker.host(),
            short_id(id)
        ));
        self.docker
            .start_container(id)
            .await
            .map_err(|e| self.docker_error(e))
    }

    async fn rename(&self, from: &str, to: &str, log: &ResourceLog) -> Result<()> {
        log.info(format!(
            "docker -H {} rename {} {to}",
            self.docker.host(),
            short_id(from)
        ));
        self.docker
            .rename_container(from, to)
            .await
            .map_err(|e| self.docker_error(e))
    }

    async fn remove(&self, id: &str, log: &ResourceLog) -> Result<()> {
        log.info(format!(
            "docker -H {} rm -f {}",
            self.docker.host(),
            short_id(id)
        ));
        self.docker
            .remove_container(id)
            .await
            .map_err(|e| self.docker_error(e))
    }

    async fn last_output(&self, id: &str) -> String {
        match self.docker.container_logs(id, FAILURE_LOG_LINES).await {
            Ok(out) if out.trim().is_empty() => "(no output)".to_string(),
            Ok(out) => out.replace('\r', "").trim_end().to_string(),
            Err(e) => format!("(output unavailable: {})", e.message()),
        }
    }

    /// The container a start waits on, which must still exist.
    async fn inspect_starting(&self, id: &str) -> Result<Observed> {
        self.inspect(id)
            .await
            .map_err(|e| self.docker_error(e))?
            .ok_or_else(|| {
                Error::backend(format!(
                    "container {} vanished while starting",
                    short_id(id)
                ))
            })
    }

    /// Wait for a `oneshot` container to end: exit 0 is the start's
    /// success, any other code its failure with the job's last output.
    async fn wait_exit(&self, id: &str, deadline: Instant, log: &ResourceLog) -> Result<()> {
        log.info("wait for the job to exit");
        loop {
            let c = self.inspect_starting(id).await?;
            if c.exited && !c.running {
                if c.exit_code == 0 {
                    log.info("the job exited 0");
                    return Ok(());
                }
                let output = self.last_output(id).await;
                return Err(Error::backend(format!(
                    "job container {} of {} exited with code {}; last output:\n{output}",
                    self.name, self.rid, c.exit_code
                )));
            }
            if Instant::now() >= deadline {
                return Err(Error::timed_out(format!(
                    "job container {} did not exit within start_timeout ({}s)",
                    short_id(id),
                    self.spec.start_timeout.as_secs()
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Wait for "running", then for "operational" (healthy, when the
    /// container has a health check; else its PID 1 settled within
    /// `settle`, see `settle.rs`, which catches the common crash at
    /// start), within the start deadline.
    async fn wait_ready(
        &self,
        id: &str,
        deadline: Instant,
        settle: Duration,
        log: &ResourceLog,
    ) -> Result<()> {
        let settled_at = Instant::now() + settle;
        log.info("wait for container up status");
        let mut announced_operational = false;
        let mut settled = settle.is_zero();
        loop {
            let c = self.inspect_starting(id).await?;
            if c.exited && !c.running {
                let output = self.last_output(id).await;
                return Err(Error::backend(format!(
                    "container {} of {} exited with code {} while starting; last output:\n{output}",
                    self.name, self.rid, c.exit_code
                )));
            }
            if c.running {
                if !announced_operational {
                    log.info("wait for container operational");
                    announced_operational = true;
                }
                match c.health {
                    None if settled => return Ok(()),
                    None => {
                        settle::settle(&self.proc_root, c.pid, id, settle).await;
                        settled = true;
                        // Look again at once: it may have exited meanwhile.
                        continue;
                    }
                    Some(HealthStatusEnum::HEALTHY) if Instant::now() >= settled_at => {
                        return Ok(())
                    }
                    Some(HealthStatusEnum::UNHEALTHY) => {
                        return Err(Error::backend(format!(
                            "container is unhealthy: {}",
                            c.health_output.unwrap_or_default()
                        )))
                    }
                    _ => {}
                }
            }
            if Instant::now() >= deadline {
                let what = if announced_operational {
                    "healthy"
                } else {
                    "running"
                };
                return Err(Error::timed_out(format!(
                    "container {} was not {what} within start_timeout ({}s)",
                    short_id(id),
                    self.spec.start_timeout.as_secs()
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

#[async_trait]
impl Driver for ContainerDriver {
    async fn status(&self) -> ResourceState {
        match self.observe().await {
            Ok(state) => state,
            // The documented status line; the daemon is named in the
            // failures of actions.
            Err(e) if e.is_unreachable() => {
                // Its containers went with the daemon.
                self.live.saw(None);
                let mut state = ResourceState::new(Status::Down, self.spec.run_image.clone())
                    .with_message("docker daemon is not running");
                state.files = identity::details(None);
                state
            }
            Err(e) => {
                let mut state = ResourceState::new(Status::Warn, self.spec.run_image.clone())
                    .with_message(e.message());
                // A timeout or a request cut short: the daemon, not the
                // container, is in question (a refusal is an answer).
                state.unanswered = matches!(e.kind, ErrorKind::TimedOut | ErrorKind::Other);
                state
            }
        }
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        self.finish_interrupted_rollback(log).await?;
        let wanted = self.wanted_image().await?;
        let id = match self.inspect_owned(&self.name).await? {
            Some(c)
                if c.image_id != wanted.id
                    || c.config_changed(&config_fingerprint(&self.spec)) =>
            {
                self.recreate(&c, &wanted, log).await.map_err(|e| {
                    e.context(format!(
                        "recreating the container (the old one is {} when it got that far: rollback returns to it)",
                        self.prev_name()
                    ))
                })?
            }
            Some(c) if c.running && self.spec.oneshot => {
                log.info(format!(
                    "job container {} is already running: wait for its end",
                    short_id(&c.id)
                ));
                let deadline = Instant::now() + self.spec.start_timeout;
                return self.wait_exit(&c.id, deadline, log).await;
            }
            Some(c) if c.running => {
                log.info(format!("container {} is already up", short_id(&c.id)));
                let deadline = Instant::now() + self.spec.start_timeout;
                return self.wait_ready(&c.id, deadline, Duration::ZERO, log).await;
            }
            Some(c) => self.adopt_created_ahead(c.id, log),
            None => self.create(&wanted, log).await?,
        };
        // start_timeout bounds the start itself, not the stop of an old
        // container that a recreate waited for.
        let deadline = Instant::now() + self.spec.start_timeout;
        self.join_networks(&id, log).await?;
        self.start_container(&id, log).await?;
        if self.spec.oneshot {
            return self.wait_exit(&id, deadline, log).await;
        }
        self.wait_ready(&id, deadline, settle::SETTLE, log).await
    }

    fn prepares_start(&self) -> bool {
        true
    }

    /// The create of a container that does not exist yet; any other case
    /// (adoption, drift, a daemon that does not answer) is the start's.
    async fn prepare_start(&self) {
        let Ok(wanted) = self.wanted_image().await else {
            return;
        };
        let Ok(body) = self.body(&wanted).await else {
            return;
        };
        // Nothing is created in the place of a container a cut-short
        // rollback parked: start puts it back first.
        if refers_to_containers(&body)
            || !matches!(self.inspect(&self.name).await, Ok(None))
            || !matches!(self.inspect(&self.parking_name()).await, Ok(None))
        {
            return;
        }
        match self.docker.create_container(&self.name, body).await {
            Ok(created) => *lock(&self.created_ahead) = Some(created),
            Err(e) => tracing::debug!(
                rid = %self.rid,
                "create ahead of the start failed, the start creates it: {}",
                e.message()
            ),
        }
    }

    fn prepared_unused(&self, log: &ResourceLog) {
        if let Some(created) = lock(&self.created_ahead).take() {
            log.info(format!(
                "container {} was created ahead of its start, which did not come: it stays down, and the next start starts it",
                short_id(&created.id)
            ));
        }
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        let found = match self.inspect(&self.name).await {
            // No daemon, no running container: its containers died with it
            // (or never started), so there is nothing to stop.
            Err(e) if e.is_unreachable() => {
                log.info(format!(
                    "docker daemon is not running (no answer on {}): the container is down",
                    e.host
                ));
                return Ok(());
            }
            other => other.map_err(|e| self.docker_error(e))?,
        };
        match found {
            None => {
                log.info("can not find container id, already down");
                Ok(())
            }
            Some(c) if !c.is_owned_by(&self.service, &self.rid) => Err(self.foreign(&self.name)),
            Some(c) if !c.running => {
                log.info(format!("container {} is already down", short_id(&c.id)));
                Ok(())
            }
            Some(c) => self.stop_container(&c, log).await,
        }
    }

    fn live(&self) -> Option<Arc<dyn LiveView>> {
        Some(self.live.clone())
    }

    /// Every change of a container (and of the images its label and drift
    /// check depend on) is a docker event: see `engine::events`.
    fn followed_by_events(&self) -> bool {
        true
    }

    async fn run_verb(&self, verb: &'static KindVerb, log: &ResourceLog) -> Result<()> {
        if *verb == ROLLBACK {
            return self.rollback(log).await;
        }
        Err(Error::unsupported(format!(
            "{} does not apply to containers",
            verb.word
        )))
    }
}
