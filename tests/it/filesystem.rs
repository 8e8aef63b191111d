//! The filesystem's contract: modes, errnos, sizes, concurrency, bad
//! input beside good input, a docker daemon that is down or hung, and the
//! daemon's own lifecycle (SIGTERM, re-adoption, stale mounts).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use crate::harness::*;

fn simple_service(image: &str) -> String {
    format!("[container#1]\ntype = docker\nrun_image = {image}\nrun_command = /bin/sh\nstop_timeout = 1\n")
}

#[test]
fn modes_errnos_and_sizes_follow_the_spec() {
    if !prerequisites() {
        return;
    }
    let svc = "errno.svcfs.test";
    let sandbox = Sandbox::new("errno", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    let d = sandbox.mount(&[]);
    let mode = |rel: &str| std::fs::metadata(d.path(rel)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(svc), 0o555);
    assert_eq!(mode(&format!("{svc}/status")), 0o444);
    assert_eq!(mode(&format!("{svc}/ctl")), 0o200);
    assert_eq!(mode(&format!("{svc}/container#1")), 0o555);
    assert_eq!(mode(&format!("{svc}/container#1/ctl")), 0o200);
    assert_eq!(mode(&format!("{svc}/container#1/run_image")), 0o444);

    // EINVAL: unknown command, bad arguments.
    assert_eq!(d.ctl(&format!("{svc}/ctl"), "launch"), Err(libc::EINVAL));
    assert_eq!(
        d.ctl(&format!("{svc}/ctl"), "start --rid container#9"),
        Err(libc::EINVAL)
    );
    assert_eq!(
        d.ctl(&format!("{svc}/container#1/ctl"), "start now"),
        Err(libc::EINVAL)
    );
    assert!(d
        .read(&format!("{svc}/log"))
        .contains("unknown command \"launch\""));
    // EOPNOTSUPP: a known command where it does not apply.
    assert_eq!(
        d.ctl(&format!("{svc}/ctl"), "rollback"),
        Err(libc::EOPNOTSUPP)
    );
    assert_eq!(
        d.ctl(&format!("{svc}/container#1/ctl"), "startcontainer"),
        Err(libc::EOPNOTSUPP)
    );
    // Writes to anything but ctl, even by root.
    assert_eq!(
        write_ctl(&d.path(&format!("{svc}/status")), "up"),
        Err(libc::EACCES)
    );
    // Unknown names, creation, removal, renaming.
    assert_eq!(
        std::fs::metadata(d.path(&format!("{svc}/nonexistent")))
            .unwrap_err()
            .raw_os_error(),
        Some(libc::ENOENT)
    );
    let eperm = |r: std::io::Result<()>| r.unwrap_err().raw_os_error();
    assert_eq!(
        eperm(std::fs::write(d.path(&format!("{svc}/newfile")), "x")),
        Some(libc::EPERM)
    );
    assert_eq!(
        eperm(std::fs::create_dir(d.path(&format!("{svc}/newdir")))),
        Some(libc::EPERM)
    );
    assert_eq!(
        eperm(std::fs::remove_file(d.path(&format!("{svc}/status")))),
        Some(libc::EPERM)
    );
    assert_eq!(
        eperm(std::fs::rename(
            d.path(&format!("{svc}/status")),
            d.path(&format!("{svc}/s2"))
        )),
        Some(libc::EPERM)
    );

    // printf without a newline works as well as echo.
    std::fs::write(d.path(&format!("{svc}/container#1/ctl")), "start").unwrap();
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");

    // stat size equals the bytes read, for every file of the tree.
    let mut checked = 0;
    let mut stack = vec![d.mnt.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            // Streams: a read waits for the next change (tests/it/notify.rs).
            let name =
                |p: &std::path::Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
            if name(&path).as_deref() == Some("events")
                || path.parent().and_then(name).as_deref() == Some("wait")
            {
                assert_eq!(meta.size(), 0, "{}", path.display());
                continue;
            }
            // Live files, computed at each open: size 0 like /proc's
            // (svcfs(8), Semantics), read whole all the same.
            const LIVE: [&str; 9] = [
                "metrics",
                "output",
                "cpu",
                "memory",
                "memory_limit",
                "processes",
                "io_read",
                "io_write",
                "stats",
            ];
            if name(&path).is_some_and(|n| LIVE.contains(&n.as_str())) {
                assert_eq!(meta.size(), 0, "{}", path.display());
                std::fs::read(&path).unwrap();
                checked += 1;
                continue;
            }
            let consistent = (0..5).any(|_| {
                let size = std::fs::metadata(&path).unwrap().size();
                let read = std::fs::read(&path).unwrap().len() as u64;
                size == read
            });
            assert!(
                consistent,
                "stat size differs from bytes read for {}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} files checked");

    // Reading ctl tells what it accepts.
    assert!(d
        .read(&format!("{svc}/container#1/ctl"))
        .contains("rollback"));
    assert!(d.read(&format!("{svc}/ctl")).contains("startcontainer"));
}

#[test]
fn non_root_may_read_but_not_act() {
    if !prerequisites() {
        return;
    }
    let svc = "nonroot.svcfs.test";
    let sandbox = Sandbox::new("nonroot", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    // The sandbox lives in /tmp; others must be able to reach the mountpoint.
    std::fs::set_permissions(&sandbox.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = sandbox.mount(&[]);
    let as_nobody = |script: &str| {
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sh",
                "-c",
                script,
            ])
            .output()
            .unwrap()
    };
    let read = as_nobody(&format!(
        "cat '{}'",
        d.path(&format!("{svc}/status")).display()
    ));
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&read.stdout), "down\n");
    let write = as_nobody(&format!(
        "echo start > '{}'",
        d.path(&format!("{svc}/ctl")).display()
    ));
    assert!(!write.status.success());
    assert!(String::from_utf8_lossy(&write.stderr).contains("Permission denied"));
    assert_eq!(
        d.read(&format!("{svc}/status")),
        "down\n",
        "nothing was started"
    );
}

#[test]
fn ctl_group_members_may_act() {
    if !prerequisites() {
        return;
    }
    let svc = "ctlgroup.svcfs.test";
    let sandbox = Sandbox::new("ctlgroup", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    std::fs::set_permissions(&sandbox.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = sandbox.mount(&["--ctl-group", "4242"]);
    let meta = std::fs::metadata(d.path(&format!("{svc}/ctl"))).unwrap();
    assert_eq!(
        (meta.permissions().mode() & 0o777, meta.gid()),
        (0o220, 4242)
    );
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=4242",
            "--clear-groups",
            "sh",
            "-c",
        ])
        .arg(format!(
            "echo start > '{}'",
            d.path(&format!("{svc}/ctl")).display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(d.read(&format!("{svc}/status")), "up\n");
}

#[test]
fn node_outside_nodes_is_refused_with_eacces() {
    if !prerequisites() {
        return;
    }
    let svc = "othernode.svcfs.test";
    let sandbox = Sandbox::new("othernode", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "[DEFAULT]\nnodes = node2 node3\n{}",
            simple_service("busybox:latest")
        ),
    );
    let d = sandbox.mount(&[]);
    assert_eq!(d.ctl(&format!("{svc}/ctl"), "start"), Err(libc::EACCES));
    assert_eq!(
        d.ctl(&format!("{svc}/container#1/ctl"), "start"),
        Err(libc::EACCES)
    );
    assert!(d
        .read(&format!("{svc}/log"))
        .contains("this node (node1) is not in the nodes"));
    assert!(container_id(&format!("{svc}.container.1")).is_none());
}

#[test]
fn invalid_service_files_beside_a_valid_one() {
    if !prerequisites() {
        return;
    }
    let sandbox = Sandbox::new("invalid", &["good.svcfs.test", "partial.svcfs.test"]);
    sandbox.service_file("good.svcfs.test.env", &simple_service("busybox:latest"));
    sandbox.service_file(
        "broken.svcfs.test.env",
        "[container#1\nrun_image = busybox\n",
    );
    sandbox.service_file(
        "partial.svcfs.test.conf",
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_args = --frobnicate 1\n\
         [container#2]\ntype = docker\nrun_imag = busybox:latest\n\
         [sync#1]\nsrc = x\n",
    );
    // A file that cannot be read (a dangling link: storage not mounted)
    // is a service that says so; a directory is not a service at all.
    let unreadable = sandbox.etc().join("unreadable.svcfs.test.env");
    std::os::unix::fs::symlink("/nonexistent/svcfs/unreadable.env", &unreadable).unwrap();
    std::fs::create_dir(sandbox.etc().join("directory.svcfs.test.env")).unwrap();
    let d = sandbox.mount(&[]);

    let mut names: Vec<String> = std::fs::read_dir(&d.mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "broken.svcfs.test",
            "events",
            "good.svcfs.test",
            "metrics",
            "partial.svcfs.test",
            "unreadable.svcfs.test"
        ]
    );

    assert_eq!(d.read("broken.svcfs.test/status"), "warn\n");
    assert!(d
        .read("broken.svcfs.test/messages")
        .contains("is missing its closing ']'"));
    assert!(d.read("broken.svcfs.test/overview").contains("# "));
    assert_eq!(d.ctl("broken.svcfs.test/ctl", "start"), Err(libc::EINVAL));
    assert_eq!(d.read("unreadable.svcfs.test/status"), "warn\n");
    assert!(d
        .read("unreadable.svcfs.test/messages")
        .contains("cannot read the service file"));

    let c1 = d.read("partial.svcfs.test/container#1/messages");
    assert!(
        c1.contains("--frobnicate") && c1.contains("container#1"),
        "{c1}"
    );
    assert_eq!(d.read("partial.svcfs.test/container#1/status"), "warn\n");
    assert!(d
        .read("partial.svcfs.test/container#2/messages")
        .contains("missing required keyword run_image"));
    assert!(d
        .read("partial.svcfs.test/messages")
        .contains("run_imag: unknown keyword, ignored (did you mean run_image?)"));
    assert!(d
        .read("partial.svcfs.test/sync#1/messages")
        .contains("unknown resource type"));
    assert_eq!(
        d.ctl("partial.svcfs.test/container#1/ctl", "start"),
        Err(libc::EINVAL)
    );

    // The valid service is unaffected.
    d.must("good.svcfs.test/ctl", "start");
    assert_eq!(d.read("good.svcfs.test/status"), "up\n");
}

#[test]
fn service_files_are_picked_up_without_restart() {
    if !prerequisites() {
        return;
    }
    let svc = "reload.svcfs.test";
    let sandbox = Sandbox::new("reload", &[svc]);
    let d = sandbox.mount(&[]);
    assert!(!d.path(svc).exists());
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    assert!(wait_until(Duration::from_secs(10), || d
        .path(svc)
        .join("container#1")
        .exists()));
    std::fs::remove_file(sandbox.etc().join(format!("{svc}.env"))).unwrap();
    assert!(wait_until(Duration::from_secs(10), || !d
        .path(svc)
        .exists()));
    // SIGHUP reloads at once.
    sandbox.service_file(&format!("{svc}.conf"), &simple_service("busybox:latest"));
    unsafe { libc::kill(d.pid(), libc::SIGHUP) };
    assert!(wait_until(Duration::from_secs(10), || d.path(svc).exists()));
}

#[test]
fn long_action_leaves_reads_free_and_other_writers_get_ebusy() {
    if !prerequisites() {
        return;
    }
    let svc = "busy.svcfs.test";
    let sandbox = Sandbox::new("busy", &[svc]);
    // A health check that never answers keeps the start waiting for
    // "operational" until start_timeout.
    sandbox.service_file(
        &format!("{svc}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n\
         start_timeout = 6\nrun_args = --health-cmd \"sleep 60\" --health-interval 30s --health-timeout 50s\n\
         [container#2]\ntype = docker\nrun_image = busybox:latest\nstop_timeout = 1\n",
    );
    let d = sandbox.mount(&[]);
    let ctl = d.path(&format!("{svc}/ctl"));
    let writer = std::thread::spawn(move || write_ctl(&ctl, "start"));
    assert!(wait_until(Duration::from_secs(5), || d
        .read(&format!("{svc}/log"))
        .contains("wait for container operational")));

    assert_eq!(
        d.ctl(&format!("{svc}/container#2/ctl"), "start"),
        Err(libc::EBUSY)
    );
    assert_eq!(
        d.ctl(&format!("{svc}/container#1/ctl"), "stop"),
        Err(libc::EBUSY)
    );
    let _ = d.read(&format!("{svc}/status"));
    let _ = std::fs::read_dir(d.path(svc)).unwrap().count();
    let _ = d.read(&format!("{svc}/overview"));
    // Had the refusals or reads waited for the action, it would be over.
    assert!(
        !writer.is_finished(),
        "reads and refusals must not wait for the action"
    );
    assert!(d
        .read(&format!("{svc}/log"))
        .contains("is busy: start (since"));

    // The bound was hit: ETIMEDOUT, with the reason in messages.
    assert_eq!(writer.join().unwrap(), Err(libc::ETIMEDOUT));
    assert!(d
        .read(&format!("{svc}/container#1/messages"))
        .contains("was not healthy within start_timeout (6s)"));
    // The lock is released afterwards.
    d.must(&format!("{svc}/container#2/ctl"), "start");
}

#[test]
fn docker_daemon_down_shows_down_and_reads_still_answer() {
    if !prerequisites() {
        return;
    }
    let svc = "nodocker.svcfs.test";
    let sandbox = Sandbox::new("nodocker", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    let missing = sandbox.root.join("no-docker.sock");
    let d = sandbox.mount(&["--docker-host", &format!("unix://{}", missing.display())]);
    let expected = "\
nodocker.svcfs.test
overall                   down
|- avail                  down
|  '- container#1    .... down     busybox:latest
|     |                            # docker daemon is not running
|- sync                   n/a
'- hb                     n/a
";
    assert_eq!(d.read(&format!("{svc}/overview")), expected);
    assert_eq!(d.ctl(&format!("{svc}/ctl"), "start"), Err(libc::EIO));
    assert!(d
        .read(&format!("{svc}/container#1/messages"))
        .contains("start failed: docker daemon is not running"));
    // Nothing can run without a daemon: stopping is a success.
    d.must(&format!("{svc}/ctl"), "stop");
}

#[test]
fn hung_docker_daemon_does_not_slow_reads() {
    if !prerequisites() {
        return;
    }
    let svc = "hung.svcfs.test";
    let sandbox = Sandbox::new("hung", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    // A socket that accepts connections and never answers.
    let socket = sandbox.root.join("hung.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    let d = sandbox.mount(&[
        "--docker-host",
        &format!("unix://{}", socket.display()),
        "--status-timeout",
        "60",
    ]);
    // Reads while every docker call hangs: they must all come back
    // before the status check's own bound (60 s) could release them; the
    // wait below only detects a hang, it measures nothing.
    let (dir, status, messages) = (
        d.path(svc),
        d.path(&format!("{svc}/status")),
        d.path(&format!("{svc}/container#1/messages")),
    );
    let reader = std::thread::spawn(move || {
        for _ in 0..20 {
            let _ = std::fs::read_dir(&dir).unwrap().count();
            let _ = std::fs::read(&status).unwrap();
            let _ = std::fs::read(&messages).unwrap();
        }
    });
    assert!(
        wait_until(Duration::from_secs(30), || reader.is_finished()),
        "a read waited on the hung daemon"
    );
    reader.join().unwrap();
    assert!(wait_until(Duration::from_secs(15), || d
        .read(&format!("{svc}/container#1/messages"))
        .contains("docker daemon did not answer")));
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "warn\n");
}

#[test]
fn sigterm_unmounts_and_a_new_daemon_adopts_running_containers() {
    if !prerequisites() {
        return;
    }
    let svc = "adopt.svcfs.test";
    let sandbox = Sandbox::new("adopt", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    let mut d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    let id = container_id(&format!("{svc}.container.1")).unwrap();

    let status = d.signal_and_wait(libc::SIGTERM).expect("daemon exits");
    assert!(status.success(), "exit status {status:?}\n{}", d.output());
    assert!(!is_mounted(&sandbox.mnt()), "SIGTERM must unmount");
    assert!(
        container_running(&format!("{svc}.container.1")),
        "containers keep running"
    );

    let d = sandbox.mount(&[]);
    assert_eq!(d.read(&format!("{svc}/status")), "up\n");
    assert!(d
        .read(&format!("{svc}/container#1/label"))
        .starts_with(&id[..12]));
    d.must(&format!("{svc}/ctl"), "start");
    assert!(d
        .read(&format!("{svc}/container#1/log"))
        .contains("is already up"));
    let all = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=svcfs.service={svc}"),
    ])
    .unwrap();
    assert_eq!(all.split_whitespace().count(), 1, "no duplicate container");
}

#[test]
fn stale_mount_of_a_killed_daemon_is_cleaned_up() {
    if !prerequisites() {
        return;
    }
    let svc = "stale.svcfs.test";
    let sandbox = Sandbox::new("stale", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    let mut d = sandbox.mount(&[]);
    d.signal_and_wait(libc::SIGKILL);
    let err = std::fs::metadata(sandbox.mnt().join(svc)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN));
    let d = sandbox.mount(&[]);
    assert_eq!(d.read(&format!("{svc}/status")), "down\n");
    assert!(Path::new(&d.path(svc)).is_dir());
}

#[test]
fn second_daemon_on_the_same_mountpoint_is_refused() {
    if !prerequisites() {
        return;
    }
    let sandbox = Sandbox::new("twice", &[]);
    let _first = sandbox.mount(&[]);
    // Other spellings of the same directory are the same mountpoint.
    let link = sandbox.root.join("link");
    std::os::unix::fs::symlink(sandbox.mnt(), &link).unwrap();
    let spellings = [
        sandbox.mnt().to_string_lossy().into_owned(),
        format!("{}/", sandbox.mnt().display()),
        link.to_string_lossy().into_owned(),
    ];
    for mountpoint in spellings {
        let out = std::process::Command::new(SVCFS)
            .args(["mount", &mountpoint, "--config-dir"])
            .arg(sandbox.etc())
            .arg("--var-dir")
            .arg(sandbox.var())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{mountpoint}");
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("already served by a running svcfs daemon"),
            "{mountpoint}"
        );
    }
}

#[test]
fn sigterm_ends_the_daemon_even_while_a_process_holds_the_tree() {
    if !prerequisites() {
        return;
    }
    let svc = "held.svcfs.test";
    let sandbox = Sandbox::new("held", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &simple_service("busybox:latest"));
    let mut d = sandbox.mount(&[]);
    let mut holder = std::process::Command::new("sleep")
        .arg("120")
        .current_dir(d.path(svc))
        .spawn()
        .unwrap();
    let status = d.signal_and_wait(libc::SIGTERM).expect("daemon exits");
    // The holder sleeps for two minutes: still there means nobody waited
    // for it.
    let holder_alive = matches!(holder.try_wait(), Ok(None));
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(status.success(), "{status:?}\n{}", d.output());
    assert!(holder_alive, "the daemon waited for the holder to go");
    assert!(!is_mounted(&sandbox.mnt()));
}

#[test]
fn autostart_starts_this_nodes_services_without_delaying_the_mount() {
    if !prerequisites() {
        return;
    }
    let (mine, other) = ("auto.svcfs.test", "notmine.svcfs.test");
    let sandbox = Sandbox::new("autostart", &[mine, other]);
    // The health check keeps the start busy for seconds after the mount.
    sandbox.service_file(
        &format!("{mine}.env"),
        "[DEFAULT]\nautostart_node = node1\n\
         [container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n\
         run_args = --health-cmd \"sleep 2\" --health-interval 1s\n",
    );
    sandbox.service_file(
        &format!("{other}.env"),
        &format!(
            "[DEFAULT]\nautostart_node = node2\n{}",
            simple_service("busybox:latest")
        ),
    );
    let d = sandbox.mount(&["--autostart"]);
    assert!(
        !d.read(&format!("{mine}/log")).contains("start done"),
        "the mount must not wait for the autostart"
    );
    assert!(wait_until(Duration::from_secs(30), || d
        .read(&format!("{mine}/log"))
        .contains("AUTO.SVCFS.TEST         start done in")));
    assert_eq!(d.read(&format!("{mine}/status")), "up\n");
    assert_eq!(d.read(&format!("{other}/status")), "down\n");
    assert!(container_id(&format!("{other}.container.1")).is_none());
}
