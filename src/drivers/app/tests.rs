//! The app driver against the recording children fake: what runs for each
//! action, with which environment and bounds, and what status each ending
//! of the check gives.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::actionlog::ServiceLog;
use crate::children::{ChildSpec, FakeChildren};
use crate::config::parse_service;
use crate::docker::fake::FakeDocker;
use crate::drivers::registry::KINDS;
use crate::host::FakeRunner;

/// The settings of `[app#1]` with `keywords`, or why they are refused.
fn spec(keywords: &str) -> std::result::Result<AppSpec, String> {
    let text = format!("[app#1]\n{keywords}");
    let config = parse_service(&KINDS, "svc", Path::new("/etc/svcfs/svc.env"), &text);
    let resource = &config.resources[0];
    match &resource.spec {
        Ok(_) => Ok(resource.spec_as::<AppSpec>().unwrap().clone()),
        Err(e) => Err(e.clone()),
    }
}

fn driver_in(keywords: &str, config_dir: &Path) -> (AppDriver, Arc<FakeChildren>) {
    let children = Arc::new(FakeChildren::default());
    let ctx = DriverContext {
        carried: Default::default(),
        service: "svc".into(),
        var_dir: "/nonexistent".into(),
        config_dir: config_dir.to_path_buf(),
        nodename: "n1".into(),
        docker: Arc::new(FakeDocker::new("unix:///nonexistent.sock")),
        runner: Arc::new(FakeRunner::new()),
        children: children.clone(),
        reads: Arc::default(),
        peers: Vec::new(),
    };
    let spec = spec(keywords).unwrap();
    (
        AppDriver::new(&ctx, Rid::parse("app#1").unwrap(), spec),
        children,
    )
}

fn driver(keywords: &str) -> (AppDriver, Arc<FakeChildren>) {
    driver_in(keywords, Path::new("/etc/svcfs"))
}

fn runs(children: &FakeChildren) -> Vec<String> {
    children
        .runs()
        .iter()
        .map(ChildSpec::command_line)
        .collect()
}

fn log() -> (ServiceLog, ResourceLog) {
    let service = ServiceLog::new("svc");
    let log = service.resource("app#1");
    (service, log)
}

#[test]
fn a_script_answers_every_action_and_a_relative_one_is_in_the_service_s_dir() {
    let s = spec("script = ctl.sh\n").unwrap();
    let arg = |c: &Option<Command>| c.as_ref().map(|c| c.args.join(" "));
    assert_eq!(arg(&s.start).as_deref(), Some("start"));
    assert_eq!(arg(&s.stop).as_deref(), Some("stop"));
    assert_eq!(arg(&s.check).as_deref(), Some("status"));
    // info only when asked: a script need not know it.
    assert_eq!(s.info, None);
    assert_eq!(
        arg(&spec("script = ctl.sh\ninfo = true\n").unwrap().info).as_deref(),
        Some("info")
    );
    assert_eq!(s.label, "ctl.sh");
    let (d, _) = driver("script = ctl.sh\n");
    assert_eq!(
        d.programs.program(s.start.as_ref().unwrap()),
        Path::new("/etc/svcfs/svc.d/ctl.sh")
    );
}

#[test]
fn per_action_commands_are_split_and_found_in_path_or_the_service_s_dir() {
    let s = spec("start = pg_ctl start -D '/srv/my db'\nstop = bin/stop.sh now\ncheck = false\n")
        .unwrap();
    let start = s.start.as_ref().unwrap();
    assert_eq!(start.program, Path::new("pg_ctl"));
    assert_eq!(start.args, ["start", "-D", "/srv/my db"]);
    assert_eq!(s.check, None);
    let (d, _) = driver("start = pg_ctl start\nstop = bin/stop.sh\n");
    assert_eq!(d.programs.program(start), Path::new("pg_ctl"));
    assert_eq!(
        d.programs.program(s.stop.as_ref().unwrap()),
        Path::new("/etc/svcfs/svc.d/bin/stop.sh")
    );
}

#[test]
fn bounds_default_to_timeout_then_to_their_own_defaults() {
    let s = spec("script = a\n").unwrap();
    let secs = Duration::from_secs;
    assert_eq!(
        (
            s.start_timeout,
            s.stop_timeout,
            s.check_timeout,
            s.check_interval
        ),
        (secs(60), secs(60), secs(10), secs(60))
    );
    let s = spec("script = a\ntimeout = 5\nstop_timeout = 7\n").unwrap();
    assert_eq!((s.start_timeout, s.stop_timeout), (secs(5), secs(7)));
}

#[test]
fn bad_settings_name_their_keyword() {
    for (keywords, needle) in [
        ("start = x\nenvironment = A=1 B\n", "\"B\" is not KEY=VALUE"),
        (
            "start = x\nenvironment = 1A=1\n",
            "\"1A\" is not a variable name",
        ),
        ("comment = none\n", "has nothing to run"),
        (
            "check = true\n",
            "check: true calls the script, but no script is set",
        ),
        (
            "script = a\ncwd = relative/dir\n",
            "cwd: relative/dir is not an absolute path",
        ),
        (
            "script = a\ncheck_interval = 0\n",
            "check_interval: at least 1s",
        ),
        ("start = 'unbalanced\n", "start: cannot split"),
    ] {
        let e = spec(keywords).unwrap_err();
        assert!(e.contains(needle), "{keywords:?}: {e}");
    }
}

#[tokio::test]
async fn the_check_s_exit_code_is_the_status() {
    let (d, children) = driver("script = ctl.sh\n");
    children
        .exits(0, "running\n")
        .exits(1, "")
        .exits(3, "starting\nconfig file missing\n\n")
        .times_out("hanging\n")
        .fails_to_start(Error::backend("cannot run ctl.sh status: No such file"));
    let up = d.status().await;
    assert_eq!((up.status, up.label.as_str()), (Status::Up, "ctl.sh"));
    assert!(up.messages.is_empty());
    assert_eq!(d.status().await.status, Status::Down);
    let warn = d.status().await;
    assert_eq!(warn.status, Status::Warn);
    assert_eq!(
        warn.messages,
        ["check failed (exit 3): config file missing"]
    );
    let hung = d.status().await;
    assert_eq!(hung.status, Status::Warn);
    assert_eq!(
        hung.messages,
        ["check timed out after 10s: its process group was killed"]
    );
    let missing = d.status().await;
    assert_eq!(missing.status, Status::Warn);
    assert_eq!(
        missing.messages,
        ["check: cannot run ctl.sh status: No such file"]
    );
    let spec = &children.runs()[0];
    assert_eq!(spec.timeout, Duration::from_secs(10));
    assert_eq!(spec.args, ["status"]);
}

#[tokio::test]
async fn without_a_check_the_status_is_na_and_nothing_runs() {
    let (d, children) = driver("start = /bin/true\n");
    assert_eq!(d.status().await.status, Status::NotApplicable);
    assert!(children.runs().is_empty());
    assert_eq!(d.own_checks(), None);
    let (checked, _) = driver("script = a\ncheck_interval = 30s\n");
    assert_eq!(checked.own_checks(), Some(Duration::from_secs(30)));
    // Longer than the engine's bound: the driver reports its timeout.
    assert!(checked.status_limit().unwrap() > Duration::from_secs(10));
}

#[tokio::test]
async fn start_checks_first_then_starts_then_runs_info() {
    let (d, children) = driver(
        "script = ctl.sh\ninfo = /usr/bin/app-info --short\nenvironment = MODE=prod\n\
         cwd = /srv\nuser = app\ngroup = staff\nstart_timeout = 90\n",
    );
    children
        .exits(1, "")
        .exits(0, "started pid 42\n")
        .exits(0, "version: 3.1\n");
    let (service, log) = log();
    d.start(&log).await.unwrap();
    assert_eq!(
        runs(&children),
        [
            "/etc/svcfs/svc.d/ctl.sh status",
            "/etc/svcfs/svc.d/ctl.sh start",
            "/usr/bin/app-info --short"
        ]
    );
    let start = &children.runs()[1];
    assert_eq!(start.timeout, Duration::from_secs(90));
    assert_eq!(
        (
            start.cwd.as_deref(),
            start.user.as_deref(),
            start.group.as_deref()
        ),
        (Some(Path::new("/srv")), Some("app"), Some("staff"))
    );
    for (key, value) in [
        ("SVCFS_SERVICE", "svc"),
        ("SVCFS_RID", "app#1"),
        ("SVCFS_ACTION", "start"),
        ("MODE", "prod"),
    ] {
        assert!(
            start.env.iter().any(|(k, v)| k == key && v == value),
            "{key}={value} in {:?}",
            start.env
        );
    }
    let lines = service.resource_lines("app#1").join("\n");
    assert!(lines.contains("/etc/svcfs/svc.d/ctl.sh start"), "{lines}");
    assert!(lines.contains("started pid 42"), "{lines}");
    // The info file shows what info printed; no read runs anything.
    children.exits(0, "");
    let state = d.status().await;
    assert_eq!(state.files, [("info", Arc::from("version: 3.1\n"))]);
}

#[tokio::test]
async fn an_app_already_up_is_not_started_again() {
    let (d, children) = driver("script = ctl.sh\n");
    children.exits(0, "");
    let (service, log) = log();
    d.start(&log).await.unwrap();
    assert_eq!(runs(&children), ["/etc/svcfs/svc.d/ctl.sh status"]);
    assert!(service
        .resource_lines("app#1")
        .iter()
        .any(|l| l.contains("ctl.sh is already up")));
    // And one already down is not stopped again.
    children.exits(1, "");
    d.stop(&log).await.unwrap();
    assert_eq!(runs(&children).len(), 2);
}

#[tokio::test]
async fn a_failed_or_hung_start_says_how_it_ended() {
    let (d, children) = driver("start = /opt/app/start\nstop = /opt/app/stop\n");
    children.exits(2, "listening...\nport 80 in use\n");
    let (_service, log) = log();
    let e = d.start(&log).await.unwrap_err();
    assert_eq!(e.errno(), libc::EIO);
    assert_eq!(
        e.message(),
        "/opt/app/start failed (exit 2): port 80 in use"
    );
    children.times_out("");
    let e = d.stop(&log).await.unwrap_err();
    assert_eq!(e.errno(), libc::ETIMEDOUT);
    assert_eq!(
        e.message(),
        "/opt/app/stop timed out after 60s: its process group was killed"
    );
}

#[tokio::test]
async fn a_script_others_may_change_is_refused_and_never_run() {
    let dir = std::env::temp_dir().join(format!("svcfs-app-trust-{}", std::process::id()));
    let scripts = dir.join("svc.d");
    std::fs::create_dir_all(&scripts).unwrap();
    let script = scripts.join("ctl.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (d, children) = driver_in("script = ctl.sh\n", &dir);
    let state = d.status().await;
    assert_eq!(state.status, Status::Warn);
    let message = &state.messages[0];
    assert!(
        message.starts_with(&format!(
            "check: {} is not trusted: {} (owner ",
            script.display(),
            script.display()
        )) && message.contains("mode 0777) can be written by everyone"),
        "{message}"
    );
    let (_service, log) = log();
    let e = d.start(&log).await.unwrap_err();
    assert_eq!(e.errno(), libc::EACCES);
    assert!(children.runs().is_empty(), "{:?}", runs(&children));
    std::fs::remove_dir_all(&dir).unwrap();
}
