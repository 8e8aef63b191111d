//! `task#N` through a real mount with real children and a real dockerd:
//! runs at the slots of an interval schedule while the service is up,
//! `run` through `ctl` returning with the run's result, a failed run
//! warning the task (and the service with `check = last_run`), a run
//! longer than its interval not doubled and leaving `stop` free, `kill`
//! and `timeout`, a container task that leaves no container behind, and a
//! daemon restarted mid-run that neither loses the schedule nor runs a
//! slot twice.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::*;

/// The lines of `rx` that came within `limit` and contain every needle.
fn lines_within(rx: &mpsc::Receiver<String>, needles: &[&str], limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut found = Vec::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if needles.iter().all(|n| line.contains(n)) {
            found.push(line);
        }
    }
    found
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_task_runs_at_its_slots_while_the_service_is_up_and_its_files_follow() {
    if !prerequisites() {
        return;
    }
    let svc = "tasks.svcfs.test";
    let sandbox = Sandbox::new("task-slots", &[svc]);
    let runs = sandbox.root.join("runs");
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}[task#1]\ncommand = /bin/sh -c 'date +%s >> {}; echo ran at $(date +%T)'\nschedule = @2s\n",
            busybox_container("container#1"),
            runs.display()
        ),
    );
    let d = sandbox.mount(&[]);
    // The service is down: the slots are skipped, and the log says why.
    assert!(
        wait_until(Duration::from_secs(10), || d
            .read(&format!("{svc}/task#1/log"))
            .contains("skipped: the service's avail is down")),
        "{}",
        d.read(&format!("{svc}/log"))
    );
    assert!(lines_of(&runs).is_empty());
    assert_eq!(d.read(&format!("{svc}/task#1/status")), "n/a\n");
    assert_eq!(d.read(&format!("{svc}/task#1/last_run")), "");
    let ctl_help = d.read(&format!("{svc}/task#1/ctl"));
    assert_eq!(ctl_help, "clear\nrun\nkill\n");
    let events = follow_events(&d.path(&format!("{svc}/events")));
    d.must(&format!("{svc}/ctl"), "start");
    // The service's start left the task alone.
    assert!(!d.read(&format!("{svc}/log")).contains("TASK#1 start"));
    assert!(
        wait_until(Duration::from_secs(12), || lines_of(&runs).len() >= 2),
        "fewer than 2 runs of @2s: {:?}\n{}",
        lines_of(&runs),
        d.read(&format!("{svc}/log"))
    );
    assert!(wait_until(Duration::from_secs(5), || d
        .read(&format!("{svc}/task#1/status"))
        == "up\n"));
    let last_run = d.read(&format!("{svc}/task#1/last_run"));
    let fields: Vec<&str> = last_run.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{last_run:?}");
    assert!(
        fields[0].len() == 20 && fields[0].ends_with('Z'),
        "{last_run:?}"
    );
    assert!(fields[1].parse::<f64>().is_ok(), "{last_run:?}");
    assert_eq!(fields[2], "0");
    let next_run = d.read(&format!("{svc}/task#1/next_run"));
    assert!(
        next_run.ends_with("Z\n") && next_run.len() == 21,
        "{next_run:?}"
    );
    assert!(d
        .read(&format!("{svc}/task#1/output"))
        .starts_with("ran at "));
    // Each run is a begin and an end line of `events`.
    let ends = lines_within(
        &events,
        &[
            "\"rid\":\"task#1\"",
            "\"phase\":\"end\"",
            "\"result\":\"ok\"",
        ],
        Duration::from_secs(5),
    );
    assert!(!ends.is_empty(), "no end of a run in events");
    assert!(
        ends[0].contains("\"action\":\"scheduled run of "),
        "{ends:?}"
    );
    // The task does not count in avail.
    assert_eq!(d.read(&format!("{svc}/avail")), "up\n");
    d.must(&format!("{svc}/ctl"), "stop");
}

#[test]
fn run_through_ctl_returns_with_the_run_s_result() {
    if !prerequisites() {
        return;
    }
    let svc = "taskrun.svcfs.test";
    let sandbox = Sandbox::new("task-run", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}[task#1]\ncommand = /bin/sh -c 'sleep 1; echo dumped to $PWD as $(id -un) $MODE'\n\
             cwd = /tmp\nuser = nobody\nenvironment = MODE=full\n\
             [task#2]\ncommand = /bin/sh -c 'echo connecting; echo pg_dump: connection refused >&2; exit 3'\ncheck = last_run\n\
             [task#3]\ncommand = /bin/sleep 60\ntimeout = 2\n",
            busybox_container("container#1")
        ),
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    converges(
        &d,
        &format!("{svc}/status"),
        "up\n",
        Duration::from_secs(10),
    );
    // start and stop do not apply to a task.
    assert_eq!(
        d.ctl(&format!("{svc}/task#1/ctl"), "start"),
        Err(libc::EOPNOTSUPP)
    );
    assert_eq!(
        d.ctl(&format!("{svc}/ctl"), "stop --rid task#1"),
        Err(libc::EOPNOTSUPP)
    );
    let started = Instant::now();
    d.must(&format!("{svc}/task#1/ctl"), "run");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the write returned before the run ended"
    );
    assert_eq!(
        d.read(&format!("{svc}/task#1/output")),
        "dumped to /tmp as nobody full\n"
    );
    assert_eq!(d.read(&format!("{svc}/task#1/status")), "up\n");

    // A failed run: EIO, the task warns with its last line, and the
    // service too (check = last_run), its avail still up.
    assert_eq!(d.ctl(&format!("{svc}/task#2/ctl"), "run"), Err(libc::EIO));
    assert_eq!(d.read(&format!("{svc}/task#2/status")), "warn\n");
    let messages = d.read(&format!("{svc}/task#2/messages"));
    assert!(
        messages.contains("failed (exit 3): pg_dump: connection refused"),
        "{messages}"
    );
    assert!(d.read(&format!("{svc}/task#2/last_run")).ends_with(" 3\n"));
    assert_eq!(d.read(&format!("{svc}/status")), "warn\n");
    assert_eq!(d.read(&format!("{svc}/avail")), "up\n");

    // Past its timeout: ETIMEDOUT, killed.
    assert_eq!(
        d.ctl(&format!("{svc}/task#3/ctl"), "run"),
        Err(libc::ETIMEDOUT)
    );
    assert!(d
        .read(&format!("{svc}/task#3/last_run"))
        .ends_with(" timeout\n"));

    // The command line's twin says the same.
    let out = std::process::Command::new(SVCFS)
        .args(["run", svc, "--rid", "task#2", "--mountpoint"])
        .arg(d.path(""))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = std::process::Command::new(SVCFS)
        .args(["run", svc, "--rid", "task#1", "--mountpoint"])
        .arg(d.path(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // `svcfs kill` reaches a run that a `svcfs run` still waits for on
    // the same ctl: the run ends killed, not at its timeout.
    let runs_logged = || {
        d.read(&format!("{svc}/task#3/log"))
            .matches("/bin/sleep 60")
            .count()
    };
    let before = runs_logged();
    let waiting = std::process::Command::new(SVCFS)
        .args(["run", svc, "--rid", "task#3", "--mountpoint"])
        .arg(d.path(""))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || runs_logged() > before),
        "the run began"
    );
    let kill = std::process::Command::new(SVCFS)
        .args(["kill", svc, "--rid", "task#3", "--mountpoint"])
        .arg(d.path(""))
        .output()
        .unwrap();
    assert!(kill.status.success(), "{kill:?}");
    let run = waiting.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let messages = d.read(&format!("{svc}/task#3/messages"));
    assert!(messages.contains("killed through ctl"), "{messages}");
    d.must(&format!("{svc}/ctl"), "stop");
}

#[test]
fn a_run_longer_than_its_interval_is_not_doubled_and_leaves_stop_free() {
    if !prerequisites() {
        return;
    }
    let svc = "tasklong.svcfs.test";
    let sandbox = Sandbox::new("task-long", &[svc]);
    let runs = sandbox.root.join("runs");
    let pids = sandbox.root.join("pids");
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}[task#1]\ncommand = /bin/sh -c 'echo $$ >> {}; sleep 300 & echo $! >> {}; echo begin >> {}; wait'\nschedule = @1s\n",
            busybox_container("container#1"),
            pids.display(),
            pids.display(),
            runs.display()
        ),
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    assert!(wait_until(Duration::from_secs(10), || !lines_of(&runs).is_empty()));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(lines_of(&runs).len(), 1, "a slot doubled a run going on");
    let log = d.read(&format!("{svc}/task#1/log"));
    assert!(log.contains("skipped: 1 run(s) going on since"), "{log}");
    assert!(d
        .read(&format!("{svc}/task#1/messages"))
        .contains("running since"));
    // The run holds no action lock: the service stops meanwhile.
    d.must(&format!("{svc}/ctl"), "stop");
    // `kill` ends it with its process group.
    let group: Vec<i32> = lines_of(&pids)
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    assert_eq!(group.len(), 2, "{group:?}");
    d.must(&format!("{svc}/task#1/ctl"), "kill");
    assert!(
        wait_until(Duration::from_secs(10), || d
            .read(&format!("{svc}/task#1/last_run"))
            .ends_with(" killed\n")),
        "{}",
        d.read(&format!("{svc}/task#1/log"))
    );
    for pid in group {
        assert!(
            wait_until(Duration::from_secs(5), || !std::path::Path::new(&format!(
                "/proc/{pid}"
            ))
            .exists()),
            "{pid} outlived the kill"
        );
    }
}

#[test]
fn a_container_task_runs_and_leaves_no_container_behind() {
    if !prerequisites() {
        return;
    }
    let svc = "taskbox.svcfs.test";
    let sandbox = Sandbox::new("task-container", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        "[task#1]\nrun_image = busybox:latest\ncommand = sh -c 'echo hello from $SVCFS_RID in $(pwd) as $(id -u); echo warn >&2'\n\
         cwd = /tmp\nuser = 65534\n\
         [task#2]\nrun_image = busybox:latest\ncommand = sh -c 'echo cannot; exit 4'\n",
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/task#1/ctl"), "run");
    // stdout and stderr reach docker's log by two pipes: their order
    // between each other is docker's, not the run's.
    let output = d.read(&format!("{svc}/task#1/output"));
    let mut lines: Vec<&str> = output.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["hello from task#1 in /tmp as 65534", "warn"],
        "{output:?}"
    );
    assert_eq!(d.ctl(&format!("{svc}/task#2/ctl"), "run"), Err(libc::EIO));
    assert!(d
        .read(&format!("{svc}/task#2/messages"))
        .contains("(exit 4): cannot"));
    let left = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=svcfs.service={svc}"),
    ])
    .unwrap();
    assert_eq!(left.trim(), "", "containers left behind");
    let log = d.read(&format!("{svc}/task#1/log"));
    assert!(
        log.contains(&format!("run --rm --name={svc}.task.1.1 busybox:latest")),
        "{log}"
    );
}

#[test]
fn a_daemon_restarted_mid_run_keeps_the_schedule_and_runs_no_slot_twice() {
    if !prerequisites() {
        return;
    }
    let svc = "taskrestart.svcfs.test";
    let sandbox = Sandbox::new("task-restart", &[svc]);
    let runs = sandbox.root.join("runs");
    // Each run notes when it began (nanoseconds): its slot is the 3 s step
    // it began in.
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}[task#1]\ncommand = /bin/sh -c 'date +%s%N >> {}; sleep 2'\nschedule = @3s\n",
            busybox_container("container#1"),
            runs.display()
        ),
    );
    let mut d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    assert!(wait_until(Duration::from_secs(10), || !lines_of(&runs).is_empty()));
    // Mid-run (it sleeps 2 s): the daemon stops and comes back at once.
    std::thread::sleep(Duration::from_millis(500));
    d.signal_and_wait(libc::SIGTERM);
    let d = sandbox.mount(&[]);
    assert!(
        wait_until(Duration::from_secs(15), || lines_of(&runs).len() >= 3),
        "the schedule was lost: {:?}\n{}",
        lines_of(&runs),
        d.read(&format!("{svc}/log"))
    );
    let slots: Vec<u128> = lines_of(&runs)
        .iter()
        .map(|l| l.parse::<u128>().unwrap() / 3_000_000_000)
        .collect();
    let mut distinct = slots.clone();
    distinct.dedup();
    assert_eq!(slots, distinct, "a slot ran twice");
    d.must(&format!("{svc}/ctl"), "stop");
}
