//! The `task#N` kind: a job that belongs to the service (om3's task
//! resource), run on its schedule, or on demand through `run`: a host
//! command, or a one-shot container on the service's docker daemon.

use std::sync::Arc;
use std::time::Duration;

use super::schedule::Schedule;
use super::TaskDriver;
use crate::config::{kw, Keyword, KindSchema, Spec, Values};
use crate::drivers::container::run_args;
use crate::drivers::manifest::{spec_of, Manifest};
use crate::drivers::programs::{self, Command, RunAs};
use crate::model::{KindVerb, Step};

/// `task#N`.
pub static MANIFEST: Manifest = Manifest {
    schema: KindSchema::new("task", KEYWORDS, build)
        .ranks(70, 16)
        .labelled_by("command")
        .verbs(&[RUN, KILL])
        .outside_actions(),
    driver: |ctx, rid, spec| TaskDriver::build(ctx, rid, spec_of::<TaskSpec>(spec).clone()),
    sweep: None,
};

/// `run`: run the task now; the write returns when the run ends.
pub const RUN: KindVerb = KindVerb {
    word: "run",
    doc: "run the task now; returns when the run ends (its exit code 0: success)",
    outside_lock: true,
};

/// `kill`: end the task's running run(s).
pub const KILL: KindVerb = KindVerb {
    word: "kill",
    doc: "kill the task's running run, with its process group (or its container)",
    outside_lock: true,
};

use crate::config::ValueKind::{Bool, Choice, Duration as Seconds, Int, Text, Words};

#[rustfmt::skip]
const KEYWORDS: &[Keyword] = &[
    kw("type", Choice(&["host", "docker"]), false, None,
       "host: command runs on the host; docker: a one-shot container of run_image (the default when run_image is set)."),
    kw("command", Text, false, None,
       "The command line (shell words, no shell: write sh -c '...' for one); of a container task, its command (the image's CMD when absent). A relative program is in <config-dir>/<svc>.d/."),
    kw("run_image", Text, false, None,
       "Image of a container task: each run is a container of the service's docker daemon, removed when the run ends (docker run --rm)."),
    kw("run_args", Words, false, None,
       "docker run options of a container task (as a container's run_args)."),
    kw("schedule", Text, false, None,
       "When it runs by itself: 5 cron fields (0 3 * * *), @hourly, @daily, @weekly, @monthly, @yearly, or an interval anchored to the clock (@10m runs at :00, :10, ...); empty: only through run."),
    kw("persistent", Bool, false, Some("false"),
       "A slot missed while svcfs was down runs once when svcfs starts again (systemd's Persistent=); otherwise it is skipped and logged."),
    kw("timeout", Seconds, false, Some("1h"),
       "Bound on a run: past it the run is killed with its process group (or its container) and fails with ETIMEDOUT."),
    kw("max_parallel", Int, false, Some("1"),
       "Runs that may go on at once; a scheduled run beyond it is skipped (and logged), a run through ctl is refused with EBUSY."),
    kw("check", Text, false, None,
       "last_run: a failed last run makes the service warn (om3's keyword); without it only the task warns."),
    kw("environment", Words, false, None,
       "Variables given to the run, as KEY=VALUE words (added to SVCFS_SERVICE, SVCFS_RID and SVCFS_ACTION=run)."),
    kw("cwd", Text, false, None, "Working directory of the run (default / on the host, the image's in a container)."),
    kw("user", Text, false, None, "User the run runs as (name or uid; default root, or the image's user)."),
    kw("group", Text, false, None, "Group the run runs as (name or gid; default the user's)."),
];

/// What the engine adds to a run's own bound: killing and reaping it, or
/// killing, reading and removing its container.
const SLACK: Duration = Duration::from_secs(30);

/// What a run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// A host command.
    Host(Command),
    /// A one-shot container.
    Container {
        /// Its image.
        image: String,
        /// Its command (empty: the image's CMD).
        command: Vec<String>,
        /// docker run options, as written.
        run_args: String,
    },
}

/// `task#N` settings.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    /// What each run runs.
    pub job: Job,
    /// When it runs by itself; `None`: only through `run`.
    pub schedule: Option<Schedule>,
    /// A slot missed while svcfs was down runs once at start.
    pub persistent: bool,
    /// Bound on a run.
    pub timeout: Duration,
    /// Runs at once.
    pub max_parallel: u32,
    /// A failed last run warns the service.
    pub check_last_run: bool,
    /// Environment, directory, user and group of the run.
    pub run_as: RunAs,
    /// The overview's label: the command line, or the image.
    pub label: String,
}

impl PartialEq for TaskSpec {
    fn eq(&self, other: &Self) -> bool {
        self.job == other.job
            && self.schedule == other.schedule
            && self.persistent == other.persistent
            && self.timeout == other.timeout
            && self.max_parallel == other.max_parallel
            && self.check_last_run == other.check_last_run
            && self.run_as == other.run_as
    }
}

impl Spec for TaskSpec {
    fn deadline(&self, step: Step) -> Duration {
        match step {
            Step::Verb(verb) if verb.word == RUN.word => self.timeout + SLACK,
            _ => SLACK,
        }
    }

    fn warns_service(&self) -> bool {
        self.check_last_run
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn build(values: &Values<'_>) -> Result<Arc<dyn Spec>, String> {
    let image = values.text("run_image");
    let in_container = match values.raw("type").map(str::trim) {
        Some("docker") => true,
        Some("host") => false,
        // A bad value was reported by the shape check.
        _ => image.is_some(),
    };
    let command = values.text("command");
    let job = if in_container {
        if image.is_none() {
            values.take::<()>(
                "run_image",
                Err(format!(
                    "missing required keyword run_image in [{}] (type = docker)",
                    values.section()
                )),
            );
        }
        let run_args = values.raw("run_args").unwrap_or("").to_string();
        if let Err(errors) = run_args::parse_all(&run_args) {
            values.take_each("run_args", errors.iter().map(ToString::to_string));
        }
        let command = values
            .take("command", values.words("command"))
            .unwrap_or_default();
        Job::Container {
            image: image.clone().unwrap_or_default(),
            command,
            run_args,
        }
    } else {
        if image.is_some() || values.raw("run_args").is_some() {
            let keyword = if image.is_some() {
                "run_image"
            } else {
                "run_args"
            };
            values.take::<()>(
                keyword,
                Err(format!(
                    "{keyword} is for a container task, and this one has type = host"
                )),
            );
        }
        let command = match &command {
            None => Err(format!(
                "missing required keyword command in [{}]",
                values.section()
            )),
            Some(line) => Command::parse(line),
        };
        Job::Host(values.take("command", command).unwrap_or(Command {
            program: Default::default(),
            args: Vec::new(),
            is_script: false,
        }))
    };
    let schedule = values
        .take(
            "schedule",
            Schedule::parse(values.raw("schedule").unwrap_or("")),
        )
        .flatten();
    let persistent = values
        .take("persistent", values.bool("persistent"))
        .unwrap_or(false);
    let timeout = values
        .take("timeout", values.duration("timeout"))
        .and_then(|t| {
            values.take(
                "timeout",
                (t >= Duration::from_secs(1))
                    .then_some(t)
                    .ok_or_else(|| "at least 1s".to_string()),
            )
        })
        .unwrap_or_default();
    let max_parallel = values
        .take(
            "max_parallel",
            values
                .raw_or_default("max_parallel")
                .unwrap_or("1")
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| "a number of runs from 1 to 64".to_string()),
        )
        .unwrap_or(1);
    let check_last_run = values
        .take(
            "check",
            match values.raw("check").map(str::trim) {
                None | Some("") | Some("none") => Ok(false),
                Some("last_run") => Ok(true),
                Some(other) => Err(format!(
                    "invalid value {other:?} (use last_run, or leave it out)"
                )),
            },
        )
        .unwrap_or(false);
    let run_as = programs::run_as(values);
    if let Some(reason) = values.first_taken() {
        return Err(match reason.strip_prefix("run_args: ") {
            Some(option) => format!("run_args of [{}]: {option}", values.section()),
            None => reason,
        });
    }
    let label = match &job {
        Job::Host(_) => command.unwrap_or_default(),
        Job::Container { image, .. } => match &command {
            Some(command) => format!("{image} {command}"),
            None => image.clone(),
        },
    };
    Ok(Arc::new(TaskSpec {
        job,
        schedule,
        persistent,
        timeout,
        max_parallel,
        check_last_run,
        run_as,
        label,
    }))
}
