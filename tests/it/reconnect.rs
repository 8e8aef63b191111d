//! State that follows a private docker daemon killed behind svcfs's back,
//! and a later start. The periodic reconcile is set an hour away, so only
//! the event stream and its reconnection can tell. (The host dockerd
//! restarted is tests/host_dockerd.rs: a binary of its own, so that no
//! other test runs while the host daemon is down.)

use std::time::Duration;

use crate::harness::*;

#[test]
fn a_killed_private_daemon_shows_down_and_starts_again() {
    if !prerequisites() {
        return;
    }
    let svc = "private.svcfs.test";
    let sandbox = Sandbox::new("reconnect_private", &[svc]);
    let _daemon = private_daemon_service(&sandbox, svc, "svcfs-rc0");
    let d = sandbox.mount(&["--refresh-interval", "3600"]);
    let host = start_private_daemon_service(&d, &sandbox, svc);

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
        &["-H", host.as_str(), "kill", &format!("{svc}.container.1")],
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
