//! The `container#N` kind: a docker container of the service's docker
//! daemon, named and labelled by svcfs.

use std::sync::Arc;
use std::time::Duration;

use super::{run_args, ContainerDriver};
use crate::config::{kw, Advice, Keyword, KindSchema, Spec, Values};
use crate::drivers::manifest::{spec_of, Manifest};
use crate::model::{KindVerb, Step};

/// `container#N`.
pub static MANIFEST: Manifest = Manifest {
    schema: KindSchema::new("container", KEYWORDS, build)
        .ranks(50, 10)
        .labelled_by("run_image")
        .verbs(&[ROLLBACK])
        .with_containers()
        .advised_by(advise),
    driver: |ctx, rid, spec| {
        Arc::new(ContainerDriver::new(
            ctx,
            rid.clone(),
            spec_of::<ContainerSpec>(spec).clone(),
        ))
    },
    sweep: None,
};

/// `rollback`: swap the container back to `<name>.prev`, the one an
/// upgrade kept.
pub const ROLLBACK: KindVerb = KindVerb {
    word: "rollback",
    doc: "swap the container back to the one the last upgrade replaced (<name>.prev)",
    outside_lock: false,
};

use crate::config::ValueKind::{Bool, Choice, Duration as Seconds, Size, Text, Words};

#[rustfmt::skip]
const KEYWORDS: &[Keyword] = &[
    kw("type", Text, false, Some("docker"),
       "Container technology; only `docker` is supported."),
    kw("run_image", Text, true, None,
       "Image to run: full id, short id (12 hex digits, as in the tutorial), or repo:tag."),
    kw("run_command", Words, false, None,
       "Command and arguments of the container (shell words); the image's CMD when absent."),
    kw("run_args", Words, false, None,
       "docker run options (shell words), translated to the Engine API; see svcfs.conf(5) for the list."),
    kw("start_timeout", Seconds, false, Some("60s"),
       "Bound on start: running, then operational (healthy when a health check is defined)."),
    kw("stop_timeout", Seconds, false, Some("10s"),
       "Grace period of docker stop before the container is killed."),
    kw("oneshot", Bool, false, Some("false"),
       "A job that runs to its end (a database migration, a Compose service_completed_successfully dependency): start waits for it to exit, within start_timeout, and succeeds when it exits 0; exited 0 it is n/a (done), exited otherwise warn."),
    kw("stop_wait", Choice(&["auto", "timeout"]), false, Some("auto"),
       "auto: kill at once a container whose PID 1 has no handler for its stop signal (it would ignore it for the whole stop_timeout); timeout: always docker stop with the full stop_timeout."),
    kw("output_size", Size, false, Some("64k"),
       "How much of the container's recent output its `output` file shows (bytes, or 64k, 1m; at most 16m)."),
];

/// The largest `output_size`: the file is read whole at each open.
pub const OUTPUT_SIZE_MAX: u64 = 16 << 20;

/// What a container's stop may add to its grace period (the driver's
/// slack after `docker stop`, then `docker kill`).
const STOP_SLACK: Duration = Duration::from_secs(40);

/// `container#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Image id, short id or repo:tag.
    pub run_image: String,
    /// Command words (empty: the image's CMD).
    pub run_command: Vec<String>,
    /// docker run options, as written.
    pub run_args: String,
    /// Bound on start.
    pub start_timeout: Duration,
    /// docker stop grace period.
    pub stop_timeout: Duration,
    /// Whether stop may skip the grace period that PID 1 would ignore.
    pub stop_wait: StopWait,
    /// The bytes of recent output its `output` file shows.
    pub output_size: usize,
    /// A job: start waits for it to exit 0.
    pub oneshot: bool,
}

/// `stop_wait`: what stop does when the container's PID 1 has no handler
/// for its stop signal (the kernel then drops the signal: PID 1 of a PID
/// namespace ignores what it does not handle).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StopWait {
    /// Kill at once: waiting would only wait for the timeout.
    #[default]
    Auto,
    /// Always `docker stop` with the full `stop_timeout`.
    Timeout,
}

impl StopWait {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "auto" => Ok(StopWait::Auto),
            "timeout" => Ok(StopWait::Timeout),
            other => Err(format!("invalid value {other:?} (use auto or timeout)")),
        }
    }
}

impl Spec for ContainerSpec {
    fn deadline(&self, step: Step) -> Duration {
        let stop = self.stop_timeout + STOP_SLACK;
        match step {
            // A start may first stop a container that drifted.
            Step::Start => self.start_timeout + stop,
            Step::Stop => stop,
            // A rollback: a stop and a start.
            Step::Verb(_) => self.start_timeout + stop * 2,
        }
    }

    fn stop_budget(&self) -> Duration {
        self.stop_timeout
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn build(values: &Values<'_>) -> Result<Arc<dyn Spec>, String> {
    let container_type = values.text("type").unwrap_or_else(|| "docker".to_string());
    values.take(
        "type",
        (container_type == "docker").then_some(()).ok_or_else(|| {
            format!("container type {container_type:?} is not supported (only docker)")
        }),
    );
    let run_args = values.raw("run_args").unwrap_or("").to_string();
    // Every bad option at once (svcfs check reports each). A seccomp
    // profile is checked at load as well (svcfs.conf(5)): the host's own
    // file, cheap to read. An --env-file is only read at create: it may
    // live on a filesystem the same start mounts.
    match run_args::parse_all(&run_args) {
        Ok(parsed) => {
            let profiles = parsed.check_seccomp_profiles(|path| std::fs::read(path));
            values.take("run_args", profiles.map_err(|e| e.to_string()));
        }
        Err(errors) => values.take_each("run_args", errors.iter().map(ToString::to_string)),
    }
    let run_image = values.require("run_image");
    if let Some(image) = &run_image {
        if image.contains(char::is_whitespace) {
            values.take::<()>(
                "run_image",
                Err(format!(
                    "{image:?} is not an image reference (no spaces; a comment must start its own line)"
                )),
            );
        }
    }
    let stop_wait = values.take(
        "stop_wait",
        values
            .raw_or_default("stop_wait")
            .map_or(Ok(StopWait::default()), StopWait::parse),
    );
    let run_command = values.take("run_command", values.words("run_command"));
    let start_timeout = values.take("start_timeout", values.duration("start_timeout"));
    let oneshot = values.take("oneshot", values.bool("oneshot"));
    let stop_timeout = values.take("stop_timeout", values.duration("stop_timeout"));
    let output_size = values.take(
        "output_size",
        values.size("output_size").and_then(|size| match size {
            0 => Err(format!(
                "output_size: {size} bytes is not between 1 and 16m"
            )),
            n if n > OUTPUT_SIZE_MAX => Err(format!(
                "output_size: {size} bytes is not between 1 and 16m"
            )),
            n => Ok(n as usize),
        }),
    );
    if let Some(reason) = values.first_taken() {
        // The section's name with the option: what a status message needs.
        return Err(match reason.strip_prefix("run_args: ") {
            Some(option) => format!("run_args of [{}]: {option}", values.section()),
            None => reason,
        });
    }
    // Each `None` above kept its error: none is left here.
    Ok(Arc::new(ContainerSpec {
        output_size: output_size.unwrap_or(super::live::OUTPUT_SIZE),
        run_image: run_image.unwrap_or_default(),
        run_command: run_command.unwrap_or_default(),
        run_args,
        start_timeout: start_timeout.unwrap_or_default(),
        stop_timeout: stop_timeout.unwrap_or_default(),
        stop_wait: stop_wait.unwrap_or_default(),
        oneshot: oneshot.unwrap_or_default(),
    }))
}

/// What `svcfs check` can tell of a container's binds on this host: a
/// bind of the service's private docker socket under another var dir than
/// the daemon's (the tutorial's `-v /opt/opensvc/var/<svc>/docker.sock`
/// with the default `--var-dir`), and a bind source that does not exist
/// and that no resource of the service provides (docker would create an
/// empty directory in its place).
fn advise(spec: &dyn Spec, advice: &Advice<'_>) -> Vec<(&'static str, String)> {
    let spec = spec_of::<ContainerSpec>(spec);
    let Ok(parsed) = run_args::parse(&spec.run_args) else {
        return Vec::new();
    };
    let socket = crate::docker::naming::private_socket(advice.var_dir, advice.service);
    let mut found = Vec::new();
    for source in parsed.bind_sources() {
        let path = std::path::Path::new(source);
        if path == socket {
            // Created when the private daemon starts.
            continue;
        }
        let names_the_service = path
            .parent()
            .and_then(|dir| dir.file_name())
            .is_some_and(|dir| dir == advice.service);
        if advice.private_daemon && path.ends_with("docker.sock") && names_the_service {
            found.push((
                "run_args",
                format!(
                    "{source} is not where the service's private docker daemon listens with --var-dir {}: {} (give svcfs check the daemon's --var-dir, or bind that path)",
                    advice.var_dir.display(),
                    socket.display()
                ),
            ));
        } else if !path.exists() && !advice.provided.iter().any(|p| path.starts_with(p)) {
            found.push((
                "run_args",
                format!(
                    "bind source {source} does not exist, and no resource of the service provides it: docker creates an empty directory in its place (-v) or refuses the container (--mount)"
                ),
            ));
        }
    }
    found
}
