//! The host dockerd restarted under a mounted tree, or killed in the
//! middle of a start: the status converges, the events of the new daemon
//! are followed again, and a later start works. A test binary of its own, so that no other test runs while the
//! host daemon is down (the tests of one binary run side by side); like
//! every integration test it runs under the heavy lock, and it leaves the
//! host dockerd running with the command line it had.

#[path = "it/harness.rs"]
mod harness;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use harness::*;

const HOST_PIDFILE: &str = "/var/run/docker.pid";
const DOCKERD_LOG: &str = "/var/log/svcfs-test-dockerd.log";
const CONTAINERD_PIDFILE: &str = "/var/run/docker/containerd/containerd.pid";

/// The tests of this binary run side by side: one at a time takes the
/// host daemon down.
static HOST_DOCKERD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Restart the host dockerd with the command line it runs with (how
/// scripts/setup-test-env.sh started it, or systemd's unit).
fn restart_host_dockerd() {
    let systemd = run("systemctl", &["is-active", "--quiet", "docker"]).is_ok();
    if systemd {
        run("systemctl", &["restart", "docker"]).unwrap();
        wait_for_host_dockerd();
    } else {
        let argv = stop_host_dockerd(libc::SIGTERM);
        start_host_dockerd(&argv);
    }
}

/// Send `signal` to the host dockerd (not under systemd) and wait for it
/// to be gone; the command line it ran with.
fn stop_host_dockerd(signal: i32) -> Vec<String> {
    let pid = pid_in(Path::new(HOST_PIDFILE)).expect("the host dockerd's pid file");
    let argv: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap()
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let containerd = pid_in(Path::new(CONTAINERD_PIDFILE));
    unsafe { libc::kill(pid, signal) };
    assert!(
        wait_until(Duration::from_secs(60), || !is_dockerd(pid)),
        "the host dockerd (pid {pid}) did not stop"
    );
    // A killed daemon's containerd goes a moment after it; a new daemon
    // that finds it takes it over, then fails when it goes ("timeout
    // waiting for containerd to start"). svcfs waits likewise for a
    // private daemon's.
    if let Some(containerd) = containerd {
        let gone = || !Path::new(&format!("/proc/{containerd}/cmdline")).exists();
        if !wait_until(Duration::from_secs(30), gone) {
            unsafe { libc::kill(containerd, libc::SIGKILL) };
            wait_until(Duration::from_secs(10), gone);
        }
    }
    argv
}

fn start_host_dockerd(argv: &[String]) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(DOCKERD_LOG)
        .unwrap();
    // Through scripts/detached: the daemon must not keep the heavy
    // lock's descriptor (or any other) open for its lifetime.
    let detached = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/detached");
    let mut child = Command::new(detached)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    // The child is dockerd itself (exec): leave it running.
    std::thread::spawn(move || child.wait());
    wait_for_host_dockerd();
}

fn wait_for_host_dockerd() {
    assert!(
        wait_until(Duration::from_secs(60), || docker(&["info"]).is_ok()),
        "the host dockerd does not answer after its restart"
    );
}

#[test]
fn a_host_dockerd_killed_during_a_start_fails_it_and_the_tree_converges() {
    if !prerequisites() {
        return;
    }
    if run("systemctl", &["is-active", "--quiet", "docker"]).is_ok() {
        // systemd would restart it on its own, racing the test.
        eprintln!("the host dockerd runs under systemd: not killed here");
        return;
    }
    let _alone = HOST_DOCKERD.lock().unwrap_or_else(|e| e.into_inner());
    let svc = "dockerdkill.svcfs.test";
    let sandbox = Sandbox::new("dockerd_kill", &[svc]);
    let text: String = (1..=3)
        .map(|n| busybox_container(&format!("container#{n}")))
        .collect();
    sandbox.service_file(&format!("{svc}.env"), &text);
    let d = sandbox.mount(&["--refresh-interval", "3600"]);
    let ctl = d.path(&format!("{svc}/ctl"));
    let writer = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        (write_ctl(&ctl, "start"), started.elapsed())
    });
    // Into the action: the first container is being made.
    assert!(wait_until(Duration::from_secs(10), || {
        container_id(&format!("{svc}.container.1")).is_some()
    }));
    let argv = stop_host_dockerd(libc::SIGKILL);
    let (result, took) = writer.join().unwrap();
    start_host_dockerd(&argv);
    // Unless the start was done before the kill, it fails with an errno
    // that says the backend failed or did not answer, within its bound.
    if let Err(errno) = result {
        assert!(
            [libc::EIO, libc::ETIMEDOUT].contains(&errno),
            "start failed with errno {errno}"
        );
    }
    eprintln!("start ended with {result:?} after {took:?}");
    assert!(took < Duration::from_secs(60), "the start took {took:?}");
    // The tree says what docker holds now.
    for n in 1..=3 {
        let name = format!("{svc}.container.{n}");
        let want = if container_running(&name) {
            "up\n"
        } else {
            "down\n"
        };
        converges(
            &d,
            &format!("{svc}/container#{n}/status"),
            want,
            Duration::from_secs(10),
        );
    }
    d.must(&format!("{svc}/ctl"), "start");
    for n in 1..=3 {
        assert_eq!(d.read(&format!("{svc}/container#{n}/status")), "up\n");
    }
    d.must(&format!("{svc}/ctl"), "stop");
    remove_containers(svc);
}

#[test]
fn a_killed_container_and_a_restarted_host_dockerd_are_followed() {
    if !prerequisites() {
        return;
    }
    let _alone = HOST_DOCKERD.lock().unwrap_or_else(|e| e.into_inner());
    let svc = "reconnect.svcfs.test";
    let sandbox = Sandbox::new("reconnect_host", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &busybox_container("container#1"));
    let d = sandbox.mount(&["--refresh-interval", "3600"]);
    let status = format!("{svc}/container#1/status");
    d.must(&format!("{svc}/ctl"), "start");

    docker(&["kill", &format!("{svc}.container.1")]).unwrap();
    let took = converges(&d, &status, "down\n", Duration::from_secs(5));
    eprintln!("killed container seen down after {took:?}");
    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&status), "up\n");

    // dockerd's shutdown stops the container: the tree follows, and the
    // events of the new daemon are followed again.
    restart_host_dockerd();
    let running = container_running(&format!("{svc}.container.1"));
    let want = if running { "up\n" } else { "down\n" };
    let took = converges(&d, &status, want, Duration::from_secs(10));
    eprintln!("after the host dockerd restart, {want:?} after {took:?}");
    // Its watcher follows the new daemon within a moment of it answering.
    let followed = wait_until(Duration::from_secs(10), || {
        d.output().contains("docker events followed again")
    });
    assert!(followed, "{}", d.output());
    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&status), "up\n");
    assert_eq!(d.read(&format!("{svc}/status")), "up\n");
    docker(&["kill", &format!("{svc}.container.1")]).unwrap();
    let took = converges(&d, &status, "down\n", Duration::from_secs(5));
    eprintln!("killed container after the restart seen down after {took:?}");
}
