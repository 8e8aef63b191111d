//! svcfs killed with SIGKILL in the middle of an action (a three-container
//! start, an upgrade, a rollback), at several points of it: restarted on
//! the same mountpoint, it cleans the stale mount, adopts what docker
//! holds, leaves no duplicate or half-renamed container, and the next
//! action completes.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::*;

/// The points of an action the daemon is killed at: before docker was
/// asked anything, during the first container, and later on.
const KILL_AFTER_MS: [u64; 3] = [20, 250, 700];

/// Write `command` to `ctl` from a thread, as a script would: the write
/// ends (with an errno) when the daemon dies under it.
fn write_in_background(ctl: PathBuf, command: &'static str) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        // Done before the kill, or cut by it: the writer is told which.
        if let Err(errno) = write_ctl(&ctl, command) {
            assert!(
                [libc::ECONNABORTED, libc::ENOTCONN].contains(&errno),
                "{command} cut by the daemon's death: errno {errno}"
            );
        }
    })
}

/// The names of the containers of `svc` docker holds, running or not,
/// sorted.
fn containers_of(svc: &str) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=svcfs.service={svc}"),
        "--format",
        "{{.Names}}",
    ])
    .unwrap();
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    names.sort();
    names
}

/// Every container of `svc` is one of `allowed`, each at most once.
fn no_duplicate_nor_stray(svc: &str, allowed: &[String], when: &str) {
    let names = containers_of(svc);
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique, names, "{when}: a duplicate container: {names:?}");
    for name in &names {
        assert!(
            allowed.contains(name),
            "{when}: a container svcfs would not leave: {name} (all: {names:?})"
        );
    }
}

/// A start of `svc`'s container#1 succeeds and leaves it up (`when`
/// says after what, on failure with the resource's messages).
fn start_brings_it_up(d: &Daemon, svc: &str, when: &str) {
    d.must(&format!("{svc}/container#1/ctl"), "start");
    assert_eq!(
        d.read(&format!("{svc}/container#1/status")),
        "up\n",
        "{when}: after the next start ({:?})",
        d.read(&format!("{svc}/container#1/messages"))
    );
}

#[test]
fn a_daemon_killed_mid_start_is_restarted_adopts_and_the_next_start_completes() {
    if !prerequisites() {
        return;
    }
    let svc = "crashstart.svcfs.test";
    let sandbox = Sandbox::new("crash_start", &[svc]);
    let text: String = (1..=3)
        .map(|n| busybox_container(&format!("container#{n}")))
        .collect();
    sandbox.service_file(&format!("{svc}.env"), &text);
    let names: Vec<String> = (1..=3).map(|n| format!("{svc}.container.{n}")).collect();
    for delay in KILL_AFTER_MS {
        let mut d = sandbox.mount(&[]);
        let writer = write_in_background(d.path(&format!("{svc}/ctl")), "start");
        std::thread::sleep(Duration::from_millis(delay));
        d.signal_and_wait(libc::SIGKILL);
        writer.join().unwrap();
        let when = format!("killed {delay} ms into a start");
        no_duplicate_nor_stray(svc, &names, &when);

        let d = sandbox.mount(&[]);
        no_duplicate_nor_stray(svc, &names, &format!("{when}, restarted"));
        d.must(&format!("{svc}/ctl"), "start");
        for n in 1..=3 {
            assert_eq!(
                d.read(&format!("{svc}/container#{n}/status")),
                "up\n",
                "{when}: container#{n} after the next start"
            );
        }
        assert_eq!(containers_of(svc), names, "{when}: after the next start");
        // The next round starts from nothing again.
        d.must(&format!("{svc}/ctl"), "stop");
        remove_containers(svc);
    }
}

#[test]
fn a_daemon_killed_mid_upgrade_or_rollback_leaves_one_current_and_one_previous() {
    if !prerequisites() {
        return;
    }
    let svc = "crashupgrade.svcfs.test";
    let sandbox = Sandbox::new("crash_upgrade", &[svc]);
    let file = |image: &str| {
        format!("[container#1]\ntype = docker\nrun_image = {image}\nrun_command = /bin/sh\nstop_timeout = 1\n")
    };
    let current = format!("{svc}.container.1");
    let allowed = [current.clone(), format!("{current}.prev")];
    let images = ["busybox:latest", "google/busybox:latest"];
    for (round, delay) in KILL_AFTER_MS.into_iter().enumerate() {
        // Each round upgrades to the other image, then rolls back.
        let (from, to) = (images[round % 2], images[(round + 1) % 2]);
        sandbox.service_file(&format!("{svc}.env"), &file(from));
        let d = sandbox.mount(&[]);
        d.must(&format!("{svc}/ctl"), "start");
        drop(d);

        sandbox.service_file(&format!("{svc}.env"), &file(to));
        let mut d = sandbox.mount(&[]);
        let ctl = d.path(&format!("{svc}/container#1/ctl"));
        let writer = write_in_background(ctl.clone(), "start");
        std::thread::sleep(Duration::from_millis(delay));
        d.signal_and_wait(libc::SIGKILL);
        writer.join().unwrap();
        let when = format!("killed {delay} ms into an upgrade to {to}");
        no_duplicate_nor_stray(svc, &allowed, &when);

        let d = sandbox.mount(&[]);
        start_brings_it_up(&d, svc, &when);
        assert!(
            d.read(&format!("{svc}/container#1/label")).contains(to),
            "{when}: the next start runs {to}"
        );
        no_duplicate_nor_stray(svc, &allowed, &format!("{when}, upgraded"));

        let mut d = d;
        let writer = write_in_background(ctl, "rollback");
        std::thread::sleep(Duration::from_millis(delay));
        d.signal_and_wait(libc::SIGKILL);
        writer.join().unwrap();
        let when = format!("killed {delay} ms into a rollback to {from}");
        // Cut between its renames, a rollback leaves the current
        // container parked: the next action puts it back.
        let parked = [allowed.to_vec(), vec![format!("{current}.rollback")]].concat();
        no_duplicate_nor_stray(svc, &parked, &when);

        // Whichever image the killed rollback left current, a start
        // brings the configured one up.
        let d = sandbox.mount(&[]);
        start_brings_it_up(&d, svc, &when);
        no_duplicate_nor_stray(svc, &allowed, &format!("{when}, started again"));
        assert!(
            container_id(&current).is_some(),
            "{when}: no current container"
        );
        d.must(&format!("{svc}/ctl"), "stop");
        drop(d);
        remove_containers(svc);
    }
}
