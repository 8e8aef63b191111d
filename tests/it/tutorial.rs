//! The OpenSVC tutorial end to end, with its own service file: an IP
//! address, a volume group, two nested ext4 filesystems, a private docker
//! daemon whose data lives on the second one, and its three containers.
//!
//! The file is changed only where this machine forces it: image ids (local
//! images), `dev` paths (image files: LVs cannot be activated without
//! device-mapper), `ipname` (an address inside a network namespace the test
//! creates, whose veth is named eth0 like the tutorial's device), and
//! `docker_daemon_args` (a bridge of that namespace, so the private daemon
//! coexists with the host's). The daemon runs with `--nodename
//! deb1.opensvc.com` and `--var-dir /opt/opensvc/var`, so the private
//! socket is exactly the tutorial's. Host ports stay the tutorial's: they
//! are published inside the namespace.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::*;

const TUTORIAL: &str = include_str!("../data/app.opensvc.com.env");
const SVC: &str = "app.opensvc.com";
const ADDRESS: &str = "10.213.0.25";
const VAR_DIR: &str = "/opt/opensvc/var";
const SOCKET: &str = "/opt/opensvc/var/app.opensvc.com/docker.sock";
const ROOT_MNT: &str = "/opt/app.opensvc.com";
const DATA_MNT: &str = "/opt/app.opensvc.com/appdata";

fn tutorial_file(root_img: &Path, data_img: &Path) -> String {
    TUTORIAL
        .replace("f66342b343ae", &image_short_id("busybox:latest"))
        .replace("30e0b59613ff", &image_short_id("shipyard/shipyard:latest"))
        .replace("2bbfe079a942", &image_short_id("dhrp/sshd:latest"))
        .replace("/dev/mapper/vgapp-lvapproot", &root_img.to_string_lossy())
        .replace("/dev/mapper/vgapp-lvappdata", &data_img.to_string_lossy())
        .replace("ipname = app.opensvc.com", &format!("ipname = {ADDRESS}"))
        .replace(
            "docker_daemon_args = --ip 37.59.71.25",
            &format!("docker_daemon_args = --ip {ADDRESS} --bridge=br-app --iptables=false"),
        )
}

/// The private daemon's pid, if one runs.
fn private_daemon_pid() -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(format!("{VAR_DIR}/{SVC}/dockerd.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline)
        .contains(SOCKET)
        .then_some(pid)
}

/// Stop a private daemon a failed run left behind.
fn kill_private_daemon() {
    if let Some(pid) = private_daemon_pid() {
        unsafe { libc::kill(pid, libc::SIGTERM) };
        wait_until(Duration::from_secs(30), || private_daemon_pid().is_none());
    }
}

/// `svcfs docker app.opensvc.com ARGS...` as an operator types it: only
/// `SVCFS_MOUNT` set, none of the daemon's options (its --var-dir is not
/// the default), so the docker host comes from the mounted tree.
fn svcfs_docker(mnt: &Path, args: &[&str]) -> Result<String, String> {
    run_command(
        std::process::Command::new(SVCFS)
            .args(["docker", SVC])
            .args(args)
            .env("SVCFS_MOUNT", mnt)
            .env_remove("SVCFS_VAR_DIR")
            .env_remove("SVCFS_CONFIG_DIR")
            .env_remove("DOCKER_HOST"),
    )
}

/// Whether local `HH:MM:SS` times never go back, but for one midnight.
fn times_go_forward(times: &[&str]) -> bool {
    let seconds = |t: &str| -> u32 {
        t.split(':')
            .map(|part| part.parse::<u32>().expect("HH:MM:SS"))
            .fold(0, |total, part| total * 60 + part)
    };
    let mut midnights = 0;
    for pair in times.windows(2) {
        let (before, after) = (seconds(pair[0]), seconds(pair[1]));
        if after < before {
            let across_midnight = before >= 23 * 3600 && after < 3600;
            midnights += 1;
            if !across_midnight || midnights > 1 {
                return false;
            }
        }
    }
    true
}

#[test]
fn log_times_may_cross_one_midnight_only() {
    assert!(times_go_forward(&["10:00:00", "10:00:00", "10:00:01"]));
    assert!(times_go_forward(&["23:59:59", "00:00:00", "00:00:02"]));
    assert!(!times_go_forward(&["10:00:01", "10:00:00"]));
    assert!(!times_go_forward(&[
        "23:59:59", "00:00:00", "23:59:59", "00:00:01"
    ]));
}

/// The lines of `log` after the first `skip` lines, without their times.
fn lines_after(log: &str, skip: usize) -> Vec<String> {
    log.lines().skip(skip).map(|l| l[9..].to_string()).collect()
}

fn index_of(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", lines.join("\n")))
}

struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        kill_private_daemon();
    }
}

#[test]
fn tutorial_service_end_to_end() {
    if !prerequisites()
        || !host_tools(&[
            "ip",
            "nsenter",
            "losetup",
            "mkfs.ext4",
            "vgcreate",
            "ping",
            "curl",
        ])
    {
        return;
    }
    let sandbox = Sandbox::new("tutorial", &[]);
    let _cleanup_daemon = Cleanup;
    kill_private_daemon();
    let mut storage = Storage::default();
    storage.unmount_on_drop(Path::new(ROOT_MNT));
    storage.unmount_on_drop(Path::new(DATA_MNT));
    for mnt in [DATA_MNT, ROOT_MNT] {
        if is_mounted(Path::new(mnt)) {
            let _ = run("umount", &["-l", mnt]);
        }
    }
    let root_img = sandbox.root.join("lvapproot.img");
    let data_img = sandbox.root.join("lvappdata.img");
    storage.ext4_image(&root_img, 64);
    storage.ext4_image(&data_img, 256);
    storage.volume_group("vgapp", &sandbox.root.join("pv.img"));

    let ns = NetNs::new("svcfs-tutorial");
    ns.ip(&[
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0-peer",
    ]);
    ns.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["link", "set", "eth0-peer", "up"]);
    ns.ip(&["link", "add", "br-app", "type", "bridge"]);
    ns.ip(&["addr", "add", "10.213.1.1/24", "dev", "br-app"]);
    ns.ip(&["link", "set", "br-app", "up"]);

    sandbox.service_file("app.opensvc.com.env", &tutorial_file(&root_img, &data_img));
    let wrapper = ns.wrapper();
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let options = ["--var-dir", VAR_DIR, "--nodename", "deb1.opensvc.com"];
    let mut d = sandbox.mount_wrapped(&wrapper, &options);
    let file = |rel: &str| d.read(&format!("{SVC}/{rel}"));

    // The host resources and the private daemon first, to load the images
    // into it (the tutorial's prerequisite: images in the local repository).
    d.must(
        &format!("{SVC}/ctl"),
        "start --rid ip#1,vg#1,fs#1,fs#2,dockerd",
    );
    let images = sandbox.root.join("images.tar");
    docker(&[
        "save",
        "-o",
        &images.to_string_lossy(),
        "busybox:latest",
        "shipyard/shipyard:latest",
        "dhrp/sshd:latest",
    ])
    .unwrap();
    svcfs_docker(&d.mnt, &["load", "-i", &images.to_string_lossy()]).unwrap();

    // The tutorial's first "print status": host resources up, containers
    // never started.
    let root = root_img.to_string_lossy();
    let data = data_img.to_string_lossy();
    let before = format!(
        "\
app.opensvc.com
overall                   warn
|- avail                  warn
|  |- container#1    .... down     busybox:latest
|  |  |                            # can not find container id
|  |- container#2    .... down     shipyard/shipyard:latest
|  |  |                            # can not find container id
|  |- container#3    .... down     dhrp/sshd:latest
|  |  |                            # can not find container id
|  |- dockerd        .... up       /opt/app.opensvc.com/appdata
|  |- vg#1           .... up       vgapp
|  |- fs#1           .... up       {root}@/opt/app.opensvc.com
|  |- fs#2           .... up       {data}@/opt/app.opensvc.com/appdata
|  '- ip#1           .... up       10.213.0.25@eth0
|- sync                   n/a
'- hb                     n/a
"
    );
    // Loading images refreshes the tree (docker image events).
    wait_until(Duration::from_secs(10), || file("overview") == before);
    assert_eq!(file("overview"), before);

    // "run the containers": the tutorial's start log, line for line.
    let skip = file("log").lines().count();
    d.must(&format!("{SVC}/ctl"), "start");
    let log = lines_after(&file("log"), skip);
    let expected_start = [
        format!("APP.OPENSVC.COM.IP#1    checking {ADDRESS} availability"),
        format!("APP.OPENSVC.COM.IP#1    {ADDRESS} is already up on eth0"),
        "APP.OPENSVC.COM.VG#1    vgapp is already up".to_string(),
        format!("APP.OPENSVC.COM.FS#1    fs({root} /opt/app.opensvc.com) is already mounted"),
        format!("APP.OPENSVC.COM.FS#2    fs({data} /opt/app.opensvc.com/appdata) is already mounted"),
        "APP.OPENSVC.COM.DOCKERD docker daemon is already up".to_string(),
        format!(
            "APP.OPENSVC.COM.CONTAINER#1 docker -H unix://{SOCKET} run -t -i -d --name=app.opensvc.com.container.1 {} /bin/sh",
            image_short_id("busybox:latest")
        ),
    ];
    for (n, expected) in expected_start.iter().enumerate() {
        assert!(
            log[n].ends_with(expected.as_str()),
            "line {n}: {:?}\nexpected {expected:?}",
            log[n]
        );
    }
    let c2 = index_of(
        &log,
        &format!(
            "run -t -i -d --name=app.opensvc.com.container.2 -v {SOCKET}:/docker.sock -p 8888:8000"
        ),
    );
    let c3 = index_of(&log, "run -t -i -d --name=app.opensvc.com.container.3 -v /opt/app.opensvc.com/vol1:/vol1:rw -p 42222:22");
    assert!(index_of(&log, "CONTAINER#1 wait for container operational") < c2 && c2 < c3);

    assert_eq!(file("status"), "up\n");
    let overview = file("overview");
    for (rid, image) in [
        ("container#1", "busybox:latest"),
        ("container#2", "shipyard/shipyard:latest"),
        ("container#3", "dhrp/sshd:latest"),
    ] {
        let label = file(&format!("{rid}/label"));
        let (id, name) = label.trim().split_once('@').unwrap();
        assert_eq!((id.len(), name), (12, image), "{rid}: {label}");
        assert!(
            overview.contains(&format!("|  |- {rid}    .... up       {id}@{image}\n")),
            "{overview}"
        );
    }

    // Querying the private docker daemon, like `app.opensvc.com docker ps -a`.
    assert_eq!(
        file("docker_host"),
        format!("unix://{VAR_DIR}/{SVC}/docker.sock\n")
    );
    let ps = svcfs_docker(
        &d.mnt,
        &["ps", "-a", "--format", "{{.Names}} {{.Image}} {{.Status}}"],
    )
    .unwrap();
    for n in 1..=3 {
        assert!(
            ps.contains(&format!("app.opensvc.com.container.{n} ")),
            "{ps}"
        );
    }
    assert_eq!(ps.lines().filter(|l| l.contains(" Up ")).count(), 3, "{ps}");

    // container#2 sees the private daemon's socket at /docker.sock.
    let sock = svcfs_docker(
        &d.mnt,
        &[
            "exec",
            "app.opensvc.com.container.2",
            "sh",
            "-c",
            "test -S /docker.sock && echo socket",
        ],
    )
    .unwrap();
    assert_eq!(sock.trim(), "socket");
    // Files written in container#3's volume land on fs#1.
    svcfs_docker(
        &d.mnt,
        &[
            "exec",
            "app.opensvc.com.container.3",
            "sh",
            "-c",
            "echo proof > /vol1/proof",
        ],
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string("/opt/app.opensvc.com/vol1/proof").unwrap(),
        "proof\n"
    );
    // The published port answers on the service address.
    let page = ns
        .exec(&["curl", "-s", "-m", "5", &format!("http://{ADDRESS}:8888/")])
        .unwrap();
    assert!(page.contains("shipyard"), "{page}");
    let ids: Vec<String> = (1..=3)
        .map(|n| file(&format!("container#{n}/label")))
        .collect();

    // Stop: everything down, in reverse order, nothing left behind.
    let skip = file("log").lines().count();
    d.must(&format!("{SVC}/ctl"), "stop");
    let log = lines_after(&file("log"), skip);
    let order = [
        "CONTAINER#3",
        "CONTAINER#2",
        "CONTAINER#1",
        "DOCKERD",
        "FS#2",
        "FS#1",
        "VG#1",
        "IP#1",
    ]
    .map(|rid| index_of(&log, &format!("APP.OPENSVC.COM.{rid} ")));
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "stop order {order:?}:\n{}",
        log.join("\n")
    );
    assert_eq!(file("status"), "down\n");
    assert!(!is_mounted(Path::new(ROOT_MNT)) && !is_mounted(Path::new(DATA_MNT)));
    assert!(
        !Path::new("/opt/app.opensvc.com/vol1/proof").exists(),
        "fs#1 is unmounted"
    );
    assert!(!ns.addresses("eth0").contains(ADDRESS));
    let tags = run("vgs", &["--noheadings", "-o", "vg_tags", "vgapp"]).unwrap();
    assert_eq!(tags.trim(), "", "no host tag left");
    assert!(
        private_daemon_pid().is_none(),
        "the private daemon is stopped"
    );
    assert!(!Path::new(SOCKET).exists());

    // Start from cold: ip → vg → fs#1 → fs#2 → dockerd → container#1..3,
    // with the same containers again.
    let skip = file("log").lines().count();
    d.must(&format!("{SVC}/ctl"), "start");
    let raw: Vec<String> = file("log").lines().skip(skip).map(str::to_string).collect();
    let log: Vec<String> = raw.iter().map(|l| l[9..].to_string()).collect();
    let order = [
        "IP#1",
        "VG#1",
        "FS#1",
        "FS#2",
        "DOCKERD",
        "CONTAINER#1",
        "CONTAINER#2",
        "CONTAINER#3",
    ]
    .map(|rid| index_of(&log, &format!("APP.OPENSVC.COM.{rid} ")));
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "start order {order:?}:\n{}",
        log.join("\n")
    );
    let times: Vec<&str> = raw.iter().map(|l| &l[..8]).collect();
    assert!(times_go_forward(&times), "timestamps go forward: {times:?}");
    assert!(
        !log.iter().any(|l| l.contains("already")),
        "everything really started:\n{}",
        log.join("\n")
    );
    assert!(ns.addresses("eth0").contains(&format!("{ADDRESS}/24")));
    let tags = run("vgs", &["--noheadings", "-o", "vg_tags", "vgapp"]).unwrap();
    assert_eq!(tags.trim(), "deb1.opensvc.com");
    assert_eq!(file("status"), "up\n");
    let again: Vec<String> = (1..=3)
        .map(|n| file(&format!("container#{n}/label")))
        .collect();
    assert_eq!(ids, again, "the same containers are started again");
    assert_eq!(
        std::fs::read_to_string("/opt/app.opensvc.com/vol1/proof").unwrap(),
        "proof\n"
    );

    // svcfs stops, the service runs on; a new svcfs adopts the private
    // daemon (its pid file) and can stop it.
    let daemon_pid = private_daemon_pid().expect("the private daemon runs");
    d.signal_and_wait(libc::SIGTERM);
    assert_eq!(private_daemon_pid(), Some(daemon_pid));
    drop(d);
    let d = sandbox.mount_wrapped(&wrapper, &options);
    let file = |rel: &str| d.read(&format!("{SVC}/{rel}"));
    assert_eq!(file("status"), "up\n");

    // A start that fails at fs#2 stops there and names the cause; a later
    // stop cleans up what did start.
    d.must(&format!("{SVC}/ctl"), "stop");
    let broken = tutorial_file(&root_img, &PathBuf::from("/nonexistent/lvappdata.img"));
    sandbox.service_file("app.opensvc.com.env", &broken);
    assert!(wait_until(Duration::from_secs(10), || file("fs#2/dev")
        .contains("/nonexistent")));
    assert_eq!(d.ctl(&format!("{SVC}/ctl"), "start"), Err(libc::EIO));
    assert!(
        file("fs#2/messages").contains("/nonexistent/lvappdata.img"),
        "{}",
        file("fs#2/messages")
    );
    for rid in ["ip#1", "vg#1", "fs#1"] {
        assert_eq!(file(&format!("{rid}/status")), "up\n", "{rid}");
    }
    for rid in ["fs#2", "dockerd", "container#1"] {
        assert_eq!(file(&format!("{rid}/status")), "down\n", "{rid}");
    }
    assert!(file("log").contains("start interrupted here"));
    d.must(&format!("{SVC}/ctl"), "stop");
    assert!(!is_mounted(Path::new(ROOT_MNT)));
    assert!(!ns.addresses("eth0").contains(ADDRESS));
    assert_eq!(
        run("vgs", &["--noheadings", "-o", "vg_tags", "vgapp"])
            .unwrap()
            .trim(),
        ""
    );
    assert_eq!(file("status"), "down\n");
}
