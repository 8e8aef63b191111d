//! The host dockerd restarted under a mounted tree: the status converges,
//! the events of the new daemon are followed again, and a later start
//! works. A test binary of its own, so that no other test runs while the
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

/// Restart the host dockerd with the command line it runs with (how
/// scripts/setup-test-env.sh started it, or systemd's unit).
fn restart_host_dockerd() {
    let systemd = run("systemctl", &["is-active", "--quiet", "docker"]).is_ok();
    if systemd {
        run("systemctl", &["restart", "docker"]).unwrap();
    } else {
        let pid = pid_in(Path::new(HOST_PIDFILE)).expect("the host dockerd's pid file");
        let argv: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap()
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        unsafe { libc::kill(pid, libc::SIGTERM) };
        assert!(
            wait_until(Duration::from_secs(60), || !is_dockerd(pid)),
            "the host dockerd (pid {pid}) did not stop"
        );
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(DOCKERD_LOG)
            .unwrap();
        // Through scripts/detached: the daemon must not keep the heavy
        // lock's descriptor (or any other) open for its lifetime.
        let detached = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/detached");
        let mut child = Command::new(detached)
            .args(&argv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        // The child is dockerd itself (exec): leave it running.
        std::thread::spawn(move || child.wait());
    }
    assert!(
        wait_until(Duration::from_secs(60), || docker(&["info"]).is_ok()),
        "the host dockerd does not answer after its restart"
    );
}

#[test]
fn a_killed_container_and_a_restarted_host_dockerd_are_followed() {
    if !prerequisites() {
        return;
    }
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
