//! The `app#N` kind: OpenSVC's script resource. A `script` called with
//! `start`, `stop`, `status` and `info` (OpenSVC 1.x), or a command per
//! action (om3's `start`, `stop`, `check`, `info`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::AppDriver;
use crate::config::{kw, Keyword, KindSchema, Spec, Values};
use crate::drivers::manifest::{spec_of, Manifest};
use crate::drivers::programs::{self, Command, RunAs};
use crate::model::Step;

/// `app#N`.
pub static MANIFEST: Manifest = Manifest {
    schema: KindSchema::new("app", KEYWORDS, build)
        .ranks(60, 15)
        .labelled_by("script"),
    driver: |ctx, rid, spec| {
        Arc::new(AppDriver::new(
            ctx,
            rid.clone(),
            spec_of::<AppSpec>(spec).clone(),
        ))
    },
    sweep: None,
};

use crate::config::ValueKind::{Duration as Seconds, Text, Words};

#[rustfmt::skip]
const KEYWORDS: &[Keyword] = &[
    kw("script", Text, false, None,
       "Executable called with start, stop, status or info as its argument, for each action without a command of its own (OpenSVC 1.x); a relative path is in <config-dir>/<svc>.d/."),
    kw("start", Text, false, None,
       "Command run to start (shell words, no shell); true: `script start`, the default with a script; false: nothing."),
    kw("stop", Text, false, None,
       "Command run to stop; true: `script stop`, the default with a script; false: nothing."),
    kw("check", Text, false, None,
       "Command whose exit code is the status: 0 up, 1 down, else warn; true: `script status`, the default with a script; false: none (status n/a)."),
    kw("info", Text, false, None,
       "Command run after each successful start, its output served as the resource's info file; true: `script info`; none by default."),
    kw("timeout", Seconds, false, None,
       "Bound on start and stop when start_timeout or stop_timeout is not set."),
    kw("start_timeout", Seconds, false, Some("60s"),
       "Bound on the start command (default: timeout, else 60s); its process group is killed past it."),
    kw("stop_timeout", Seconds, false, Some("60s"),
       "Bound on the stop command (default: timeout, else 60s); its process group is killed past it."),
    kw("check_timeout", Seconds, false, Some("10s"),
       "Bound on the check and info commands; a check past it is killed with its process group and reads warn."),
    kw("check_interval", Seconds, false, Some("60s"),
       "How often the check runs (besides after each action); each app at its own moment of the interval."),
    kw("environment", Words, false, None,
       "Variables given to every command, as KEY=VALUE words (added to SVCFS_SERVICE, SVCFS_RID and SVCFS_ACTION)."),
    kw("cwd", Text, false, None, "Working directory of the commands (default /)."),
    kw("user", Text, false, None, "User the commands run as (name or uid; default root)."),
    kw("group", Text, false, None, "Group the commands run as (name or gid; default the user's)."),
];

/// What the engine adds to a step's own bounds, for the calls around the
/// commands (reads of the trust of a script).
const SLACK: Duration = Duration::from_secs(5);

/// `app#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    /// Start command, if any.
    pub start: Option<Command>,
    /// Stop command, if any.
    pub stop: Option<Command>,
    /// Check command, if any: without one, the status is n/a.
    pub check: Option<Command>,
    /// Info command, if any.
    pub info: Option<Command>,
    /// Bound on start.
    pub start_timeout: Duration,
    /// Bound on stop.
    pub stop_timeout: Duration,
    /// Bound on check and info.
    pub check_timeout: Duration,
    /// How often the check runs.
    pub check_interval: Duration,
    /// Environment, directory, user and group of the commands.
    pub run_as: RunAs,
    /// What identifies it in the overview: its script, else its start or
    /// check command's program.
    pub label: String,
}

impl Spec for AppSpec {
    fn deadline(&self, step: Step) -> Duration {
        // Every action first asks the check whether there is anything to
        // do; a start then runs info.
        let own = match step {
            Step::Start => self.start_timeout + self.check_timeout * 2,
            Step::Stop => self.stop_timeout + self.check_timeout,
            Step::Verb(_) => self.check_timeout,
        };
        own + SLACK
    }

    fn stop_budget(&self) -> Duration {
        self.stop_timeout + self.check_timeout
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn build(values: &Values<'_>) -> Result<Arc<dyn Spec>, String> {
    let script = values.text("script").map(PathBuf::from);
    let command = |name: &'static str, script_word: &str| {
        values
            .take(
                name,
                action_command(values, name, script.as_ref(), script_word),
            )
            .flatten()
    };
    let timeout = values.raw("timeout").map(|_| values.duration("timeout"));
    let timeout = timeout.and_then(|t| values.take("timeout", t));
    let bound = |name: &'static str| match (values.raw(name), timeout) {
        (None, Some(timeout)) => Some(timeout),
        _ => values.take(name, values.duration(name)),
    };
    let check_interval = values
        .take("check_interval", values.duration("check_interval"))
        .and_then(|interval| {
            let valid = (interval >= Duration::from_secs(1))
                .then_some(interval)
                .ok_or_else(|| "at least 1s".to_string());
            values.take("check_interval", valid)
        });
    let run_as = programs::run_as(values);
    let spec = AppSpec {
        start: command("start", "start"),
        stop: command("stop", "stop"),
        check: command("check", "status"),
        // Off unless asked: a script need not know `info`.
        info: values.raw("info").and_then(|_| command("info", "info")),
        start_timeout: bound("start_timeout").unwrap_or_default(),
        stop_timeout: bound("stop_timeout").unwrap_or_default(),
        check_timeout: values
            .take("check_timeout", values.duration("check_timeout"))
            .unwrap_or_default(),
        check_interval: check_interval.unwrap_or_default(),
        run_as,
        label: String::new(),
    };
    if let Some(reason) = values.first_taken() {
        return Err(reason);
    }
    if spec.start.is_none() && spec.stop.is_none() && spec.check.is_none() {
        return Err(format!(
            "[{}] has nothing to run: set script, or start, stop or check",
            values.section()
        ));
    }
    let label = script
        .or_else(|| spec.start.as_ref().map(|c| c.program.clone()))
        .or_else(|| spec.check.as_ref().map(|c| c.program.clone()))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Ok(Arc::new(AppSpec { label, ..spec }))
}

/// An action's command: its keyword's command line, `true` (or nothing,
/// for the actions a script answers by default) for `script WORD`, `false`
/// for none.
fn action_command(
    values: &Values<'_>,
    name: &str,
    script: Option<&PathBuf>,
    script_word: &str,
) -> Result<Option<Command>, String> {
    let by_script = || {
        script.map(|program| Command {
            program: program.clone(),
            args: vec![script_word.to_string()],
            is_script: true,
        })
    };
    match values.raw(name).map(str::trim) {
        None | Some("true") => match script {
            Some(_) => Ok(by_script()),
            None if values.raw(name).is_some() => Err(format!(
                "{name}: true calls the script, but no script is set"
            )),
            None => Ok(None),
        },
        Some("false") | Some("") => Ok(None),
        Some(line) => Command::parse(line).map(Some),
    }
}
