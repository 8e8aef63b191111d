//! The task kind: its settings as a service file writes them, and a
//! container task's run against the fake docker daemon (created, waited
//! for, read, removed; killed at its timeout; adopted by the next daemon).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::actionlog::ServiceLog;
use crate::children::FakeChildren;
use crate::config::parse_service;
use crate::docker::fake::FakeDocker;
use crate::drivers::registry::KINDS;
use crate::host::FakeRunner;

fn spec(keywords: &str) -> std::result::Result<TaskSpec, String> {
    let text = format!("[task#1]\n{keywords}");
    let config = parse_service(&KINDS, "svc", Path::new("/etc/svcfs/svc.env"), &text);
    let resource = &config.resources[0];
    match &resource.spec {
        Ok(_) => Ok(resource.spec_as::<TaskSpec>().unwrap().clone()),
        Err(e) => Err(e.clone()),
    }
}

#[test]
fn a_host_task_reads_its_command_and_defaults() {
    let s = spec("command = /bin/sh -c 'pg_dump db | gzip > /backup/db.gz'\n").unwrap();
    let Job::Host(command) = &s.job else {
        panic!("{:?}", s.job)
    };
    assert_eq!(command.args, ["-c", "pg_dump db | gzip > /backup/db.gz"]);
    assert_eq!(s.schedule, None);
    assert_eq!(
        (s.timeout, s.max_parallel, s.check_last_run, s.persistent),
        (Duration::from_secs(3600), 1, false, false)
    );
    assert_eq!(s.label, "/bin/sh -c 'pg_dump db | gzip > /backup/db.gz'");
    let s = spec(
        "command = purge\nschedule = */5 * * * *\ntimeout = 90s\nmax_parallel = 2\ncheck = last_run\npersistent = yes\n",
    )
    .unwrap();
    assert_eq!(s.schedule.unwrap().to_string(), "*/5 * * * *");
    assert_eq!(
        (s.timeout, s.max_parallel, s.check_last_run, s.persistent),
        (Duration::from_secs(90), 2, true, true)
    );
}

#[test]
fn a_container_task_is_an_image_with_its_command() {
    let s = spec(
        "run_image = busybox:latest\ncommand = sh -c 'echo hi'\nrun_args = -v /srv:/srv -e A=1\n",
    )
    .unwrap();
    assert_eq!(
        s.job,
        Job::Container {
            image: "busybox:latest".into(),
            command: vec!["sh".into(), "-c".into(), "echo hi".into()],
            run_args: "-v /srv:/srv -e A=1".into(),
        }
    );
    assert_eq!(s.label, "busybox:latest sh -c 'echo hi'");
    assert!(matches!(
        spec("type = docker\nrun_image = a\n").unwrap().job,
        Job::Container { .. }
    ));
}

#[test]
fn bad_settings_name_their_keyword() {
    for (keywords, says) in [
        ("schedule = @daily\n", "missing required keyword command"),
        (
            "type = docker\ncommand = x\n",
            "missing required keyword run_image",
        ),
        (
            "type = host\ncommand = x\nrun_image = a\n",
            "run_image is for a container task",
        ),
        (
            "command = x\nschedule = 61 * * * *\n",
            "schedule: invalid schedule",
        ),
        (
            "command = x\nmax_parallel = 0\n",
            "max_parallel: a number of runs from 1 to 64",
        ),
        (
            "command = x\ncheck = always\n",
            "check: invalid value \"always\"",
        ),
        ("command = x\ntimeout = 0\n", "timeout: at least 1s"),
        ("command = 'x\n", "command: cannot split"),
        (
            "run_image = a\nrun_args = --rm\n",
            "run_args of [task#1]: option --rm",
        ),
        (
            "command = x\ncwd = tmp\n",
            "cwd: tmp is not an absolute path",
        ),
    ] {
        let e = spec(keywords).unwrap_err();
        assert!(e.contains(says), "{keywords}: {e}");
    }
}

struct Fixture {
    driver: Arc<dyn Driver>,
    docker: Arc<FakeDocker>,
    log: ServiceLog,
    var: std::path::PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.var);
    }
}

fn container_task(keywords: &str, name: &str, docker: Option<Arc<FakeDocker>>) -> Fixture {
    let var = std::env::temp_dir().join(format!("svcfs-task-{name}-{}", std::process::id()));
    let docker = docker.unwrap_or_else(|| {
        let docker = Arc::new(FakeDocker::new("unix:///fake.sock"));
        docker.add_image("sha256:f66342b343ae0000", &["busybox:latest"]);
        docker
    });
    let ctx = DriverContext {
        service: "svc".into(),
        var_dir: var.clone(),
        config_dir: "/etc/svcfs".into(),
        nodename: "n".into(),
        docker: docker.clone(),
        runner: Arc::new(FakeRunner::new()),
        children: Arc::new(FakeChildren::default()),
        reads: Arc::default(),
        peers: Vec::new(),
        carried: Arc::default(),
    };
    let text = format!("[task#1]\nrun_image = busybox:latest\n{keywords}");
    let config = parse_service(&KINDS, "svc", Path::new("/etc/svcfs/svc.env"), &text);
    let driver = crate::drivers::build(&ctx, &config.resources[0]);
    Fixture {
        driver,
        docker,
        log: ServiceLog::new("svc"),
        var,
    }
}

fn file(state: &ResourceState, name: &str) -> String {
    state
        .files
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.to_string())
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_container_run_is_created_waited_for_read_and_removed() {
    let f = container_task(
        "command = sh -c 'echo dumped'\nenvironment = MODE=full\nuser = 1000\n",
        "oneshot",
        None,
    );
    f.docker
        .created_exit_after_start(Duration::from_secs(3), 0, "dumped\n");
    f.driver
        .run_verb(&RUN, &f.log.resource("task#1"))
        .await
        .unwrap();
    let id = format!("c0ffee000001{}", "0".repeat(52));
    assert_eq!(
        f.docker.actions(),
        [
            "create svc.task.1.1".to_string(),
            format!("start {id}"),
            format!("rm -f {id}"),
        ]
    );
    // Nothing is left behind.
    assert!(f.docker.names().is_empty());
    let body = f
        .docker
        .calls()
        .into_iter()
        .find_map(|c| match c {
            crate::docker::fake::Call::Create { body, .. } => Some(body),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        body.cmd.as_deref(),
        Some(&["sh".to_string(), "-c".into(), "echo dumped".into()][..])
    );
    assert_eq!(body.tty, Some(false));
    assert_eq!(body.user.as_deref(), Some("1000"));
    let env = body.env.unwrap();
    assert!(
        env.contains(&"MODE=full".to_string()) && env.contains(&"SVCFS_RID=task#1".to_string())
    );
    assert_eq!(body.labels.unwrap()["svcfs.rid"], "task#1");
    let state = f.driver.status().await;
    assert_eq!(state.status, Status::Up);
    assert_eq!(file(&state, "output"), "dumped\n");
    assert!(file(&state, "last_run").ends_with(" 0\n"));
    let lines = f.log.resource_lines("task#1");
    assert!(
        lines[0].contains("docker -H unix:///fake.sock run --rm --name=svc.task.1.1 busybox:latest sh -c 'echo dumped'"),
        "{lines:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_container_run_past_its_timeout_is_killed_and_removed() {
    let f = container_task("timeout = 5s\n", "timeout", None);
    f.docker
        .created_exit_after_start(Duration::from_secs(600), 0, "working\n");
    let e = f
        .driver
        .run_verb(&RUN, &f.log.resource("task#1"))
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::ETIMEDOUT, "{e}");
    assert!(e.message().contains("after 5s"), "{e}");
    assert!(
        f.docker
            .actions()
            .iter()
            .any(|a| a.starts_with("kill --signal KILL")),
        "{:?}",
        f.docker.actions()
    );
    assert!(f.docker.names().is_empty());
    let state = f.driver.status().await;
    assert_eq!(state.status, Status::Warn);
    assert!(file(&state, "last_run").ends_with(" timeout\n"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_container_run_says_its_last_line_and_an_unknown_image_fails_to_start() {
    let f = container_task("", "fails", None);
    f.docker
        .created_exit_after_start(Duration::from_secs(1), 3, "step 1\nno space left\n");
    let e = f
        .driver
        .run_verb(&RUN, &f.log.resource("task#1"))
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EIO);
    assert!(e.message().ends_with("(exit 3): no space left"), "{e}");
    let g = container_task(
        "",
        "noimage",
        Some(Arc::new(FakeDocker::new("unix:///empty.sock"))),
    );
    let e = g
        .driver
        .run_verb(&RUN, &g.log.resource("task#1"))
        .await
        .unwrap_err();
    assert!(
        e.message().contains("could not start") && e.message().contains("No such image"),
        "{e}"
    );
    assert!(g.docker.names().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_next_daemon_adopts_a_container_run_left_going() {
    let docker = Arc::new(FakeDocker::new("unix:///fake.sock"));
    docker.add_image("sha256:f66342b343ae0000", &["busybox:latest"]);
    docker.created_exit_after_start(Duration::from_secs(30), 0, "all done\n");
    {
        let mut f = container_task("", "adopt", Some(docker.clone()));
        let log = f.log.resource("task#1");
        let run = f.driver.run_verb(&RUN, &log);
        // The daemon stops mid-run, its record kept.
        assert!(tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .is_err());
        f.var = "/nonexistent/kept".into();
    }
    assert_eq!(docker.names(), ["svc.task.1.1"]);
    let f = container_task("", "adopt", Some(docker.clone()));
    let state = f.driver.status().await;
    assert!(
        state
            .messages
            .iter()
            .any(|m| m.starts_with("running since")),
        "{:?}",
        state.messages
    );
    // Not doubled while it goes on.
    let e = f
        .driver
        .run_verb(&RUN, &f.log.resource("task#1"))
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EBUSY);
    tokio::time::sleep(Duration::from_secs(40)).await;
    let state = f.driver.status().await;
    assert_eq!(state.status, Status::Up, "{:?}", state.messages);
    assert_eq!(file(&state, "output"), "all done\n");
    assert!(docker.names().is_empty());
}
