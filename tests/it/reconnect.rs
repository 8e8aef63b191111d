//! State that follows a private docker daemon killed behind svcfs's back,
//! and a later start. The periodic reconcile is set an hour away, so only
//! the event stream and its reconnection can tell. (The host dockerd
//! restarted is tests/host_dockerd.rs: a binary of its own, so that no
//! other test runs while the host daemon is down.)

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::*;

/// The private daemon of a test service, stopped when the test ends
/// whatever happened.
struct PrivateDaemon {
    pidfile: PathBuf,
    data: PathBuf,
}

impl Drop for PrivateDaemon {
    fn drop(&mut self) {
        if let Some(pid) = pid_in(&self.pidfile).filter(|p| is_dockerd(*p)) {
            unsafe { libc::kill(pid, libc::SIGTERM) };
            wait_until(Duration::from_secs(30), || !is_dockerd(pid));
        }
        // What a failed run may leave: shims of the daemon's containers,
        // and mounts (the data root is made a mount of its own, each
        // container's network namespace another).
        let exec = self.pidfile.with_file_name("exec");
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let words = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if words.starts_with("/usr/bin/containerd-shim")
                && words.contains(&*exec.to_string_lossy())
            {
                if let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = self.data.parent().unwrap().to_string_lossy().into_owned();
        let mut mounts: Vec<&str> = table
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&root))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mount in mounts {
            let _ = run("umount", &["-l", mount]);
        }
    }
}

#[test]
fn a_killed_private_daemon_shows_down_and_starts_again() {
    if !prerequisites() {
        return;
    }
    let svc = "private.svcfs.test";
    let sandbox = Sandbox::new("reconnect_private", &[svc]);
    let data = sandbox.root.join("data");
    // NEVER --bridge=none: a private dockerd given it deletes the host
    // daemon's docker0 and breaks every host container (seen here; the
    // lead replaced it). A bridge of its own, created beforehand:
    let _ = std::process::Command::new("ip")
        .args(["link", "add", "svcfs-rc0", "type", "bridge"])
        .status();
    let _ = std::process::Command::new("ip")
        .args(["link", "set", "svcfs-rc0", "up"])
        .status();
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "[DEFAULT]\ndocker_data_dir = {}\ndocker_daemon_args = --bridge=svcfs-rc0 --iptables=false\n{}",
            data.display(),
            busybox_container("container#1")
        ),
    );
    let _daemon = PrivateDaemon {
        pidfile: sandbox.var().join(svc).join("dockerd.pid"),
        data: data.clone(),
    };
    let d = sandbox.mount(&["--refresh-interval", "3600"]);
    d.must(&format!("{svc}/ctl"), "start --rid dockerd");
    // The image, from the host daemon's store into the private one's.
    let host = d.read(&format!("{svc}/docker_host"));
    let image = sandbox.root.join("busybox.tar");
    docker(&["save", "-o", &image.to_string_lossy(), "busybox:latest"]).unwrap();
    run(
        "docker",
        &["-H", host.trim(), "load", "-i", &image.to_string_lossy()],
    )
    .unwrap();
    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");

    let pid = pid_in(&sandbox.var().join(svc).join("dockerd.pid")).unwrap();
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let took = converges(
        &d,
        &format!("{svc}/dockerd/status"),
        "down\n",
        Duration::from_secs(5),
    );
    eprintln!("killed private daemon seen down after {took:?}");
    converges(
        &d,
        &format!("{svc}/container#1/status"),
        "down\n",
        Duration::from_secs(5),
    );
    assert!(d
        .read(&format!("{svc}/container#1/messages"))
        .contains("docker daemon is not running"));

    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/dockerd/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
    // Followed again: a kill behind svcfs's back shows.
    run(
        "docker",
        &["-H", host.trim(), "kill", &format!("{svc}.container.1")],
    )
    .unwrap();
    converges(
        &d,
        &format!("{svc}/container#1/status"),
        "down\n",
        Duration::from_secs(5),
    );
    d.must(&format!("{svc}/ctl"), "stop");
    assert_eq!(d.read(&format!("{svc}/dockerd/status")), "down\n");
}
