//! Tasks in the engine: the service's actions leave them alone, their runs
//! go on outside the action lock, their status counts only where `check =
//! last_run` says, and the scheduler runs them at their slots while the
//! service is up — once per slot, across a restart too. The tasks' own
//! drivers run against fake children; the other resources are recording
//! fakes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::Notify;

use super::action_tests::runtime_of;
use super::*;
use crate::children::{ChildOutput, ChildRunner, ChildSpec, FakeChildren, KillSignal};
use crate::config::parse_service;
use crate::docker::fake::FakeDocker;
use crate::drivers::fake::{FakeDriver, Journal};
use crate::drivers::DriverContext;
use crate::host::FakeRunner;

const LIMIT: Duration = Duration::from_secs(5);

/// Children that wait for a gate (or their kill) before exiting 0.
#[derive(Default)]
struct GatedChildren {
    gate: Arc<Notify>,
    runs: std::sync::Mutex<usize>,
}

#[async_trait]
impl ChildRunner for GatedChildren {
    async fn run_until(&self, _spec: &ChildSpec, kill: KillSignal) -> Result<ChildOutput> {
        *lock(&self.runs) += 1;
        let killed = tokio::select! {
            () = self.gate.notified() => false,
            () = kill => true,
        };
        Ok(ChildOutput {
            code: (!killed).then_some(0),
            timed_out: false,
            killed,
            output: "gated\n".into(),
            cut: 0,
        })
    }
}

struct Fixture {
    runtime: Arc<ServiceRuntime>,
    journal: Journal,
    drivers: HashMap<String, Arc<FakeDriver>>,
    /// Removed with the fixture.
    scratch: Option<PathBuf>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn var_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("svcfs-tasks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The service of `text`: its tasks with their own drivers over
/// `children`, the rest recording fakes; records kept under `var`.
fn fixture_in(text: &str, children: Arc<dyn ChildRunner>, var: PathBuf) -> Fixture {
    let config = parse_service(
        &crate::drivers::registry::KINDS,
        "svc",
        Path::new("/x/svc.env"),
        text,
    );
    assert!(!config.has_errors(), "{:?}", config.problems);
    let ctx = DriverContext {
        service: "svc".into(),
        var_dir: var.clone(),
        config_dir: "/etc/svcfs".into(),
        nodename: "n".into(),
        docker: Arc::new(FakeDocker::new("unix:///fake.sock")),
        runner: Arc::new(FakeRunner::new()),
        children,
        reads: Arc::default(),
        peers: Vec::new(),
        carried: Arc::default(),
    };
    let journal = Journal::default();
    let mut drivers = HashMap::new();
    let runtime = runtime_of(config, &journal, &mut drivers, |r| {
        (r.rid.type_name() == "task").then(|| crate::drivers::build(&ctx, r))
    });
    Fixture {
        runtime,
        journal,
        drivers,
        scratch: None,
    }
}

fn fixture(text: &str, children: Arc<dyn ChildRunner>, name: &str) -> Fixture {
    let var = var_dir(name);
    let mut f = fixture_in(text, children, var.clone());
    f.scratch = Some(var);
    f
}

impl Fixture {
    fn resource(&self, rid: &str) -> crate::model::ResourceSnapshot {
        self.runtime.snapshot().resource(rid).unwrap().clone()
    }

    fn file(&self, rid: &str, name: &str) -> String {
        let state = self.resource(rid).state;
        state
            .files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c.to_string())
            .unwrap_or_else(|| panic!("no {name} in {rid}"))
    }

    async fn ctl(&self, verb: Verb, rid: &str) -> Result<()> {
        self.runtime.run(verb, &[rid.to_string()], "n", LIMIT).await
    }

    fn lines(&self, rid: &str) -> Vec<String> {
        self.runtime.log().resource_lines(rid)
    }
}

fn run_verb() -> Verb {
    Verb::Kind(&crate::drivers::task::RUN)
}

fn kill_verb() -> Verb {
    Verb::Kind(&crate::drivers::task::KILL)
}

const DUMP: &str = "\
[container#1]\nrun_image = a\n\
[task#1]\ncommand = /usr/bin/pg_dump -f /backup/db.sql db\n";

#[tokio::test]
async fn the_service_s_actions_leave_a_task_alone_and_avail_ignores_it() {
    let f = fixture(DUMP, Arc::new(FakeChildren::default()), "alone");
    f.runtime.run(Verb::Start, &[], "n", LIMIT).await.unwrap();
    f.runtime.run(Verb::Stop, &[], "n", LIMIT).await.unwrap();
    assert_eq!(*lock(&f.journal), ["start container#1", "stop container#1"]);
    for verb in [Verb::Start, Verb::Stop, Verb::Restart] {
        let e = f.ctl(verb, "task#1").await.unwrap_err();
        assert_eq!(e.errno(), libc::EOPNOTSUPP, "{verb:?}: {e}");
        assert!(e.message().contains("neither start nor stop"), "{e}");
    }
    f.runtime.refresh(LIMIT).await;
    let task = f.resource("task#1");
    assert_eq!(task.state.status, Status::NotApplicable);
    assert!(task.outside_actions);
    assert_eq!(f.file("task#1", "last_run"), "");
    f.drivers["container#1"].set_status(Status::Up);
    f.runtime.refresh(LIMIT).await;
    assert_eq!(f.runtime.snapshot().avail, Status::Up);
}

#[tokio::test]
async fn run_returns_with_the_run_s_result_and_the_files_follow() {
    let children = Arc::new(FakeChildren::default());
    children
        .exits(0, "dumped 12 tables\n")
        .exits(1, "connecting\npg_dump: error: connection refused\n")
        .times_out("slow\n");
    let f = fixture(
        &format!("{DUMP}environment = PGUSER=backup\ncwd = /backup\nuser = nobody\n"),
        children.clone(),
        "result",
    );
    f.drivers["container#1"].set_status(Status::Up);
    f.runtime.refresh(LIMIT).await;
    f.ctl(run_verb(), "task#1").await.unwrap();
    let task = f.resource("task#1");
    assert_eq!(task.state.status, Status::Up);
    assert_eq!(f.file("task#1", "output"), "dumped 12 tables\n");
    let last_run = f.file("task#1", "last_run");
    let fields: Vec<&str> = last_run.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{last_run:?}");
    assert!(
        fields[0].ends_with('Z') && fields[0].contains('T'),
        "{last_run}"
    );
    assert_eq!(fields[2], "0");
    let spec = &children.runs()[0];
    assert_eq!(spec.program, PathBuf::from("/usr/bin/pg_dump"));
    assert_eq!(spec.args, ["-f", "/backup/db.sql", "db"]);
    assert!(spec.env.contains(&("PGUSER".into(), "backup".into())));
    assert!(spec.env.contains(&("SVCFS_ACTION".into(), "run".into())));
    assert_eq!(spec.cwd.as_deref(), Some(Path::new("/backup")));
    assert_eq!(spec.user.as_deref(), Some("nobody"));
    assert_eq!(spec.timeout, Duration::from_secs(3600));

    let e = f.ctl(run_verb(), "task#1").await.unwrap_err();
    assert_eq!(e.errno(), libc::EIO);
    assert!(
        e.message().ends_with("pg_dump: error: connection refused"),
        "{e}"
    );
    let task = f.resource("task#1");
    assert_eq!(task.state.status, Status::Warn);
    assert!(
        task.state.messages[0].contains("failed (exit 1): pg_dump: error: connection refused"),
        "{:?}",
        task.state.messages
    );
    assert!(f.file("task#1", "last_run").ends_with(" 1\n"));
    // Only the task warns: the service's status and avail ignore it.
    let snapshot = f.runtime.snapshot();
    assert_eq!((snapshot.avail, snapshot.overall), (Status::Up, Status::Up));

    let e = f.ctl(run_verb(), "task#1").await.unwrap_err();
    assert_eq!(e.errno(), libc::ETIMEDOUT, "{e}");
    assert!(f.file("task#1", "last_run").ends_with(" timeout\n"));
    let lines = f.lines("task#1");
    assert!(
        lines.iter().any(|l| l.contains("run failed after")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/usr/bin/pg_dump -f /backup/db.sql db")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn check_last_run_makes_a_failed_run_warn_the_service_not_its_avail() {
    let children = Arc::new(FakeChildren::default());
    children.exits(2, "disk full\n");
    let f = fixture(&format!("{DUMP}check = last_run\n"), children, "check");
    f.drivers["container#1"].set_status(Status::Up);
    f.runtime.refresh(LIMIT).await;
    assert_eq!(f.runtime.snapshot().overall, Status::Up);
    assert!(f.ctl(run_verb(), "task#1").await.is_err());
    let snapshot = f.runtime.snapshot();
    assert_eq!(
        (snapshot.avail, snapshot.overall),
        (Status::Up, Status::Warn)
    );
    // The next run succeeds: the service is up again.
    f.ctl(run_verb(), "task#1").await.unwrap();
    assert_eq!(f.runtime.snapshot().overall, Status::Up);
}

#[tokio::test]
async fn a_run_going_on_leaves_the_service_free_and_is_not_doubled() {
    let children = Arc::new(GatedChildren::default());
    let f = Arc::new(fixture(DUMP, children.clone(), "free"));
    let running = tokio::spawn({
        let f = Arc::clone(&f);
        async move { f.ctl(run_verb(), "task#1").await }
    });
    while *lock(&children.runs) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Reads show it going on.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let task = f.resource("task#1");
    assert!(
        task.state
            .messages
            .iter()
            .any(|m| m.starts_with("running since")),
        "{:?}",
        task.state.messages
    );
    // The service's actions are not busy.
    assert!(!f.runtime.is_acting());
    f.runtime.run(Verb::Stop, &[], "n", LIMIT).await.unwrap();
    // A second run is refused while max_parallel (1) runs go on.
    let e = f.ctl(run_verb(), "task#1").await.unwrap_err();
    assert_eq!(e.errno(), libc::EBUSY, "{e}");
    assert_eq!(*lock(&children.runs), 1);
    children.gate.notify_waiters();
    running.await.unwrap().unwrap();
    assert_eq!(f.resource("task#1").state.status, Status::Up);
}

#[tokio::test]
async fn kill_ends_the_run_going_on_which_fails() {
    let children = Arc::new(GatedChildren::default());
    let f = Arc::new(fixture(DUMP, children.clone(), "kill"));
    // Nothing to kill is not a failure.
    f.ctl(kill_verb(), "task#1").await.unwrap();
    let running = tokio::spawn({
        let f = Arc::clone(&f);
        async move { f.ctl(run_verb(), "task#1").await }
    });
    while *lock(&children.runs) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    f.ctl(kill_verb(), "task#1").await.unwrap();
    let e = running.await.unwrap().unwrap_err();
    assert_eq!(e.errno(), libc::EIO);
    assert!(e.message().contains("killed through ctl"), "{e}");
    assert!(f.file("task#1", "last_run").ends_with(" killed\n"));
}

#[tokio::test]
async fn a_task_runs_at_its_slots_while_the_service_is_up() {
    let children = Arc::new(FakeChildren::default());
    let f = fixture(
        "[container#1]\nrun_image = a\n[task#1]\ncommand = /bin/true\nschedule = @1s\n",
        children.clone(),
        "slots",
    );
    f.drivers["container#1"].set_status(Status::Up);
    f.runtime.refresh(LIMIT).await;
    f.runtime.follow_schedules(LIMIT, "n");
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let runs = children.runs().len();
    assert!((2..=3).contains(&runs), "{runs} runs in 2.6 s of @1s");
    let next = f.file("task#1", "next_run");
    assert!(next.ends_with("Z\n"), "{next:?}");
    // Successes in a row take one line of the log.
    let lines = f.lines("task#1");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!("{runs} in a row since")),
        "{lines:?}"
    );
    // Down: the slots are skipped, and the log says so.
    f.drivers["container#1"].set_status(Status::Down);
    f.runtime.refresh(LIMIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = children.runs().len();
    assert!(after <= runs + 1, "{runs} then {after}");
    let lines = f.lines("task#1");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("skipped: the service's avail is down")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_slot_missed_while_down_runs_once_when_persistent_and_never_twice() {
    let text = "[container#1]\nrun_image = a\n[task#1]\ncommand = /bin/true\nschedule = @1h\npersistent = true\n";
    let var = var_dir("missed");
    // A previous daemon handled a slot three hours ago.
    {
        let config = parse_service(
            &crate::drivers::registry::KINDS,
            "svc",
            Path::new("/x/svc.env"),
            text,
        );
        let ctx = DriverContext {
            service: "svc".into(),
            var_dir: var.clone(),
            config_dir: "/etc/svcfs".into(),
            nodename: "n".into(),
            docker: Arc::new(FakeDocker::new("unix:///fake.sock")),
            runner: Arc::new(FakeRunner::new()),
            children: Arc::new(FakeChildren::default()),
            reads: Arc::default(),
            peers: Vec::new(),
            carried: Arc::default(),
        };
        let task = config.resource("task#1").unwrap();
        let driver = crate::drivers::build(&ctx, task);
        let scheduled = driver.scheduled().unwrap();
        let now = SystemTime::now();
        let back = scheduled
            .next_slot(now - Duration::from_secs(4 * 3600))
            .unwrap();
        assert!(scheduled.claim(back));
    }
    let children = Arc::new(FakeChildren::default());
    let f = fixture_in(text, children.clone(), var.clone());
    f.drivers["container#1"].set_status(Status::Up);
    f.runtime.refresh(LIMIT).await;
    f.runtime.follow_schedules(LIMIT, "n");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(children.runs().len(), 1);
    let lines = f.lines("task#1");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("missed 3 slots while svcfs was down")
                && l.contains("running once now")),
        "{lines:?}"
    );
    drop(f);
    // The next daemon does not run it again.
    let children = Arc::new(FakeChildren::default());
    let mut f = fixture_in(text, children.clone(), var.clone());
    f.scratch = Some(var);
    f.drivers["container#1"].set_status(Status::Up);
    f.runtime.refresh(LIMIT).await;
    f.runtime.follow_schedules(LIMIT, "n");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(children.runs().len(), 0);
}
