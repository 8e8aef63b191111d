//! Healing with a real dockerd and a real mount: containers killed behind
//! svcfs's back are restarted (`restart = N`), one stopped through ctl is
//! not, the restart limit shows, an unhealthy container is restarted, and
//! a freeze (ctl, or a process holding `hold` open) blocks restarts until
//! it ends. Every wait is bounded; what is asserted is the tree's content.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

/// Long enough for a restart on a loaded machine.
const CONVERGE: Duration = Duration::from_secs(60);
/// How long a restart that must not happen is given to happen anyway:
/// many times the 100 ms restart_delay of these services.
const WOULD_HAVE: Duration = Duration::from_secs(3);

/// A container that stops at once (`--init`) and runs until killed.
fn sleeper(n: u32, extra: &str) -> String {
    format!(
        "[container#{n}]\ntype = docker\nrun_image = busybox:latest\nrun_args = --init\n\
         run_command = sleep 100000\nstop_timeout = 2\nrestart_delay = 100ms\n{extra}"
    )
}

fn read_or_empty(d: &Daemon, rel: &str) -> String {
    std::fs::read_to_string(d.path(rel)).unwrap_or_default()
}

fn kill(container: &str) {
    docker(&["kill", container]).unwrap_or_else(|e| panic!("docker kill {container}: {e}"));
}

/// Wait until `rel` reads `want`, or fail showing the service's log.
fn wait_for(d: &Daemon, svc: &str, rel: &str, want: &str) {
    let seen = wait_until(CONVERGE, || read_or_empty(d, rel) == want);
    assert!(
        seen,
        "{rel} is {:?}, not {want:?}\nlog:\n{}",
        read_or_empty(d, rel),
        read_or_empty(d, &format!("{svc}/log"))
    );
}

fn wait_for_text(d: &Daemon, svc: &str, rel: &str, needle: &str) {
    let seen = wait_until(CONVERGE, || read_or_empty(d, rel).contains(needle));
    assert!(
        seen,
        "{rel} never contained {needle:?}: {:?}\nlog:\n{}",
        read_or_empty(d, rel),
        read_or_empty(d, &format!("{svc}/log"))
    );
}

fn restart_lines(d: &Daemon, svc: &str, rid: &str) -> Vec<String> {
    lines_with(
        &read_or_empty(d, &format!("{svc}/{rid}/log")),
        "restart try",
    )
}

#[test]
fn a_killed_container_is_restarted_and_one_stopped_through_ctl_is_not() {
    if !prerequisites() {
        return;
    }
    let svc = "heal-restart";
    let sandbox = Sandbox::new(svc, &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}{}",
            sleeper(1, "restart = 2\n"),
            sleeper(2, "restart = 2\n")
        ),
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/container#1/failures")), "0\n");

    kill(&format!("{svc}.container.1"));
    wait_for_text(
        &d,
        svc,
        &format!("{svc}/container#1/log"),
        "restart try 1/2 done",
    );
    wait_for(&d, svc, &format!("{svc}/container#1/status"), "up\n");
    assert!(container_running(&format!("{svc}.container.1")));
    let failures = d.read(&format!("{svc}/container#1/failures"));
    let lines: Vec<&str> = failures.lines().collect();
    assert_eq!(
        lines[..2],
        ["1", "went down without a ctl stop"],
        "{failures}"
    );
    assert!(
        lines[2].ends_with('Z') && lines[2].contains('T'),
        "{failures}"
    );
    // Up again: no stale message.
    assert_eq!(d.read(&format!("{svc}/container#1/messages")), "");

    // Stopped through ctl: user-stopped, left down.
    d.must(&format!("{svc}/container#2/ctl"), "stop");
    assert_eq!(d.read(&format!("{svc}/container#2/status")), "down\n");
    std::thread::sleep(WOULD_HAVE);
    assert_eq!(d.read(&format!("{svc}/container#2/status")), "down\n");
    assert!(!container_running(&format!("{svc}.container.2")));
    assert!(restart_lines(&d, svc, "container#2").is_empty());
    assert_eq!(d.read(&format!("{svc}/container#2/failures")), "0\n");

    // clear resets the ledger.
    d.must(&format!("{svc}/container#1/ctl"), "clear");
    assert_eq!(d.read(&format!("{svc}/container#1/failures")), "0\n");
}

#[test]
fn the_restart_limit_leaves_the_container_down_and_warns() {
    if !prerequisites() {
        return;
    }
    let svc = "heal-limit";
    let sandbox = Sandbox::new(svc, &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &sleeper(1, "restart = 1\n"));
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    let name = format!("{svc}.container.1");

    kill(&name);
    wait_for_text(
        &d,
        svc,
        &format!("{svc}/container#1/log"),
        "restart try 1/1 done",
    );
    wait_for(&d, svc, &format!("{svc}/container#1/status"), "up\n");

    kill(&name);
    wait_for(&d, svc, &format!("{svc}/container#1/status"), "warn\n");
    assert_eq!(
        d.read(&format!("{svc}/container#1/messages")),
        "# restart limit reached after 1 tries\n"
    );
    std::thread::sleep(WOULD_HAVE);
    assert!(!container_running(&name));
    assert_eq!(restart_lines(&d, svc, "container#1").len(), 2);
    assert!(d
        .read(&format!("{svc}/container#1/failures"))
        .starts_with("2\n"));

    // A ctl start is the operator's answer: it runs again, tries reset.
    d.must(&format!("{svc}/container#1/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/container#1/messages")), "");
}

#[test]
fn an_unhealthy_container_warns_with_its_health_output_then_is_restarted() {
    if !prerequisites() {
        return;
    }
    let svc = "heal-health";
    let sandbox = Sandbox::new(svc, &[svc]);
    // /run is a tmpfs: the marker of sickness is gone once the container
    // restarts. The delay leaves the warn state long enough to be read.
    sandbox.service_file(
        &format!("{svc}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\n\
         run_args = --init --tmpfs /run --health-cmd \"if test -e /run/sick; then echo feeling-sick; exit 1; fi\" --health-interval 1s --health-retries 1\n\
         run_command = sleep 100000\nstop_timeout = 2\nrestart = 1\nrestart_delay = 3s\n",
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
    let name = format!("{svc}.container.1");

    docker(&["exec", &name, "touch", "/run/sick"]).unwrap();
    wait_for(&d, svc, &format!("{svc}/container#1/status"), "warn\n");
    assert_eq!(
        d.read(&format!("{svc}/container#1/messages")),
        "# container is unhealthy: feeling-sick\n"
    );
    wait_for_text(
        &d,
        svc,
        &format!("{svc}/container#1/log"),
        "restart try 1/1 done",
    );
    wait_for(&d, svc, &format!("{svc}/container#1/status"), "up\n");
    let failures = d.read(&format!("{svc}/container#1/failures"));
    assert!(
        failures.starts_with("1\ncontainer is unhealthy: feeling-sick\n"),
        "{failures}"
    );
}

#[test]
fn a_ctl_freeze_blocks_a_restart_until_thaw() {
    if !prerequisites() {
        return;
    }
    let svc = "heal-freeze";
    let sandbox = Sandbox::new(svc, &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &sleeper(1, "restart = 2\n"));
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/frozen")), "no\n");
    d.must(&format!("{svc}/ctl"), "freeze");
    let frozen = d.read(&format!("{svc}/frozen"));
    assert!(
        frozen.starts_with("yes\nfrozen through ctl at "),
        "{frozen}"
    );
    assert!(d
        .read(&format!("{svc}/overview"))
        .contains("# frozen (frozen through ctl"));
    // Kept for the next daemon.
    assert!(sandbox.var().join(svc).join("frozen").exists());

    kill(&format!("{svc}.container.1"));
    wait_for(&d, svc, &format!("{svc}/container#1/status"), "down\n");
    std::thread::sleep(WOULD_HAVE);
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "down\n");
    assert!(restart_lines(&d, svc, "container#1").is_empty());
    // Monitoring went on: the failure is counted.
    assert!(d
        .read(&format!("{svc}/container#1/failures"))
        .starts_with("1\n"));

    d.must(&format!("{svc}/ctl"), "thaw");
    assert_eq!(d.read(&format!("{svc}/frozen")), "no\n");
    wait_for_text(
        &d,
        svc,
        &format!("{svc}/container#1/log"),
        "restart try 1/2 done",
    );
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
    assert_eq!(restart_lines(&d, svc, "container#1").len(), 2);
}

#[test]
fn a_hold_thaws_when_its_holder_is_killed() {
    if !prerequisites() {
        return;
    }
    let svc = "heal-hold";
    let sandbox = Sandbox::new(svc, &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &sleeper(1, "restart = 2\n"));
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");

    // `exec 3>hold`, then the shell becomes the sleep: one process holds it.
    let hold = d.path(&format!("{svc}/hold"));
    let mut holder = Command::new("sh")
        .args([
            "-c",
            &format!("exec 3>'{}' && exec sleep 100000", hold.display()),
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = holder.id();
    wait_for(
        &d,
        svc,
        &format!("{svc}/frozen"),
        &format!("yes\nhold open by pid {pid}\n"),
    );
    assert_eq!(d.read(&format!("{svc}/hold")), format!("{pid}\n"));

    kill(&format!("{svc}.container.1"));
    wait_for(&d, svc, &format!("{svc}/container#1/status"), "down\n");
    std::thread::sleep(WOULD_HAVE);
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "down\n");

    // The holder dies: the kernel releases its descriptor, the service thaws.
    holder.kill().unwrap();
    holder.wait().unwrap();
    wait_for(&d, svc, &format!("{svc}/frozen"), "no\n");
    wait_for(&d, svc, &format!("{svc}/container#1/status"), "up\n");
    let log = d.read(&format!("{svc}/log"));
    assert!(
        log.contains(&format!(
            "hold: released by pid {pid}: the service is thawed"
        )),
        "{log}"
    );
}
