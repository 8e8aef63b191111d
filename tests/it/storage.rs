//! The vg and fs drivers against the real thing, through the
//! SystemRunner: ext4 image files mounted through loop devices, a block
//! device under an alias, nested filesystems, a busy unmount held by a
//! real process, and an LVM volume group on a loop device. Everything a
//! test creates lives under its own /tmp directory and is torn down by a
//! guard, also when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use svcfs::actionlog::ServiceLog;
use svcfs::docker::BollardDocker;
use svcfs::drivers::fs::FsDriver;
use svcfs::drivers::fs::FsSpec;
use svcfs::drivers::vg::VgDriver;
use svcfs::drivers::vg::VgSpec;
use svcfs::drivers::{Driver, DriverContext};
use svcfs::host::SystemRunner;
use svcfs::model::{Rid, Status};

use crate::harness::{in_path, require, run, wait_until};

const FS_TOOLS: [&str; 6] = [
    "mkfs.ext4",
    "fsck",
    "mount",
    "umount",
    "losetup",
    "truncate",
];
const LVM_TOOLS: [&str; 6] = [
    "pvcreate", "pvremove", "vgcreate", "vgremove", "vgs", "vgchange",
];

/// Whether this machine can run the storage tests: root, loop devices,
/// the tools (and LVM's for `lvm`); what is missing is judged by
/// [`require`].
fn storage_prerequisites(lvm: bool) -> bool {
    let mut missing: Vec<String> = Vec::new();
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        missing.push("/dev/loop-control (loop devices)".into());
    }
    let tools = FS_TOOLS
        .iter()
        .chain(if lvm { &LVM_TOOLS[..] } else { &[] });
    missing.extend(
        tools
            .filter(|t| !in_path(t))
            .map(|t| format!("{t} in PATH")),
    );
    require(&missing)
}

/// A test's scratch directory, and everything created in it: torn down at
/// drop in reverse order — processes, mounts (deepest first), volume
/// group, physical volume, loop devices, files.
struct Scratch {
    dir: PathBuf,
    children: Vec<Child>,
    vg: Option<String>,
    loops: Vec<String>,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = PathBuf::from(format!("/tmp/svcfs-storage-{test}-{}", std::process::id()));
        let scratch = Scratch {
            dir,
            children: Vec::new(),
            vg: None,
            loops: Vec::new(),
        };
        // A previous run with this pid left something: clean it first.
        scratch.teardown();
        std::fs::create_dir_all(&scratch.dir).unwrap();
        scratch
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn text(&self, rel: &str) -> String {
        self.path(rel).to_string_lossy().into_owned()
    }

    /// A fresh ext4 image file.
    fn ext4_image(&self, rel: &str) -> PathBuf {
        let image = self.path(rel);
        let name = image.to_string_lossy().into_owned();
        run("truncate", &["-s", "32M", &name]).unwrap();
        run("mkfs.ext4", &["-q", "-F", &name]).unwrap();
        image
    }

    /// Attach a file to a loop device; detached at drop.
    fn attach(&mut self, image: &Path) -> String {
        let device = run("losetup", &["-f", "--show", &image.to_string_lossy()])
            .unwrap()
            .trim()
            .to_string();
        self.loops.push(device.clone());
        device
    }

    /// Mount points under the scratch directory, deepest first.
    fn mounts(&self) -> Vec<String> {
        let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<String> = table
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(|p| p.replace("\\040", " "))
            .filter(|p| Path::new(p).starts_with(&self.dir))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        points
    }

    fn teardown(&self) {
        for point in self.mounts() {
            if run("umount", &[&point]).is_err() {
                let _ = run("umount", &["-l", &point]);
            }
        }
        if let Some(vg) = &self.vg {
            let _ = run("vgremove", &["-f", vg]);
        }
        for device in &self.loops {
            let _ = run("pvremove", &["-q", device]);
            let _ = run("losetup", &["-d", device]);
        }
        // Loop devices mount -o loop attached and the kernel did not
        // release (autoclear happens at the last close).
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let file = entry.path().to_string_lossy().into_owned();
                if let Ok(out) = run("losetup", &["-j", &file]) {
                    for line in out.lines() {
                        if let Some((device, _)) = line.split_once(':') {
                            let _ = run("losetup", &["-d", device]);
                        }
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.teardown();
    }
}

fn context(nodename: &str) -> DriverContext {
    DriverContext {
        carried: Default::default(),
        service: "storage.svcfs.test".into(),
        var_dir: "/nonexistent".into(),
        config_dir: "/nonexistent".into(),
        nodename: nodename.into(),
        docker: Arc::new(BollardDocker::new("unix:///nonexistent/docker.sock")),
        runner: Arc::new(SystemRunner),
        children: Arc::new(svcfs::children::SystemChildren),
        reads: Arc::default(),
        peers: Vec::new(),
    }
}

fn fs_spec(dev: &Path, mnt: &Path, kill_procs: bool) -> FsSpec {
    FsSpec {
        dev: dev.to_path_buf(),
        mnt: mnt.to_path_buf(),
        fs_type: Some("ext4".into()),
        mnt_opt: Some("rw".into()),
        fsck: true,
        kill_procs,
    }
}

fn fs_driver(rid: &str, spec: FsSpec) -> FsDriver {
    FsDriver::new(&context("node1"), Rid::parse(rid).unwrap(), spec)
}

/// The messages of a resource's log lines (time, level and source cut).
fn messages(log: &ServiceLog, rid: &str) -> Vec<String> {
    let source = format!("STORAGE.{}", rid.to_uppercase());
    log.resource_lines(rid)
        .iter()
        .map(|l| {
            l.split_once(&source)
                .map_or("", |(_, m)| m)
                .trim()
                .to_string()
        })
        .collect()
}

fn loop_devices_of(image: &Path) -> String {
    run("losetup", &["-j", &image.to_string_lossy()]).unwrap_or_default()
}

#[tokio::test]
async fn image_file_is_mounted_and_unmounted_through_a_loop_device() {
    if !storage_prerequisites(false) {
        return;
    }
    let scratch = Scratch::new("image");
    let image = scratch.ext4_image("disk.img");
    let mnt = scratch.path("mnt");
    let (img, mnt_text) = (scratch.text("disk.img"), scratch.text("mnt"));
    let driver = fs_driver("fs#1", fs_spec(&image, &mnt, false));
    let log = ServiceLog::new("storage");
    let rlog = log.resource("fs#1");

    let state = driver.status().await;
    assert_eq!(state.status, Status::Down, "{state:?}");
    assert_eq!(state.label, format!("{img}@{mnt_text}"));

    driver.start(&rlog).await.unwrap();
    assert_eq!(
        messages(&log, "fs#1"),
        [
            format!("create missing mountpoint {mnt_text}"),
            format!("fsck -p {img}"),
            format!("mount -t ext4 -o rw,loop {img} {mnt_text}"),
        ]
    );
    assert_eq!(driver.status().await.status, Status::Up);
    std::fs::write(mnt.join("data"), "kept").unwrap();

    driver.start(&rlog).await.unwrap();
    assert_eq!(
        messages(&log, "fs#1").last().unwrap(),
        &format!("fs({img} {mnt_text}) is already mounted")
    );

    driver.stop(&rlog).await.unwrap();
    assert_eq!(
        messages(&log, "fs#1").last().unwrap(),
        &format!("umount {mnt_text}")
    );
    assert_eq!(driver.status().await.status, Status::Down);
    // mount -o loop sets autoclear: the kernel detaches the loop device.
    assert!(
        wait_until(Duration::from_secs(5), || loop_devices_of(&image)
            .is_empty()),
        "loop device left attached: {}",
        loop_devices_of(&image)
    );
    driver.stop(&rlog).await.unwrap();
    assert_eq!(
        messages(&log, "fs#1").last().unwrap(),
        &format!("fs({img} {mnt_text}) is already unmounted")
    );

    // Mounted again (fsck included), the data is there.
    driver.start(&rlog).await.unwrap();
    assert_eq!(std::fs::read_to_string(mnt.join("data")).unwrap(), "kept");
    driver.stop(&rlog).await.unwrap();
}

#[tokio::test]
async fn nested_filesystems_and_a_block_device_alias() {
    if !storage_prerequisites(false) {
        return;
    }
    let mut scratch = Scratch::new("nested");
    let outer_image = scratch.ext4_image("outer.img");
    let inner_image = scratch.ext4_image("inner.img");
    // fs#1 names a loop device through a symlink, like /dev/vg/lv for
    // /dev/dm-N; the kernel's table will say /dev/loopN.
    let device = scratch.attach(&outer_image);
    let alias = scratch.path("alias");
    std::os::unix::fs::symlink(&device, &alias).unwrap();
    let outer_mnt = scratch.path("app");
    let inner_mnt = outer_mnt.join("appdata");
    let outer = fs_driver("fs#1", fs_spec(&alias, &outer_mnt, false));
    let inner = fs_driver("fs#2", fs_spec(&inner_image, &inner_mnt, false));
    let log = ServiceLog::new("storage");
    let (log1, log2) = (log.resource("fs#1"), log.resource("fs#2"));

    // The engine's order: fs#1 then fs#2 (whose mount point is created
    // inside fs#1).
    outer.start(&log1).await.unwrap();
    inner.start(&log2).await.unwrap();
    let state = outer.status().await;
    assert_eq!(state.status, Status::Up, "{state:?}");
    assert_eq!(
        state.label,
        format!("{}@{}", alias.display(), outer_mnt.display())
    );
    assert_eq!(inner.status().await.status, Status::Up);
    assert!(messages(&log, "fs#1").contains(&format!(
        "mount -t ext4 -o rw {} {}",
        alias.display(),
        outer_mnt.display()
    )));

    // fs#1 alone cannot go while fs#2 is mounted inside it.
    let e = outer.stop(&log1).await.unwrap_err();
    assert_eq!(e.errno(), libc::EBUSY, "{e}");
    assert_eq!(
        e.message(),
        format!(
            "{} is busy: {} mounted inside it; unmount it first",
            outer_mnt.display(),
            inner_mnt.display()
        )
    );
    assert_eq!(outer.status().await.status, Status::Up);

    // Reverse order.
    inner.stop(&log2).await.unwrap();
    outer.stop(&log1).await.unwrap();
    assert_eq!(inner.status().await.status, Status::Down);
    assert_eq!(outer.status().await.status, Status::Down);
    assert!(scratch.mounts().is_empty(), "{:?}", scratch.mounts());
}

#[tokio::test]
async fn busy_filesystem_names_its_holder_and_kill_procs_frees_it() {
    if !storage_prerequisites(false) {
        return;
    }
    let mut scratch = Scratch::new("busy");
    let image = scratch.ext4_image("disk.img");
    let mnt = scratch.path("mnt");
    let polite = fs_driver("fs#1", fs_spec(&image, &mnt, false));
    let log = ServiceLog::new("storage");
    let rlog = log.resource("fs#1");
    polite.start(&rlog).await.unwrap();

    let sleeper = Command::new("sleep")
        .arg("300")
        .current_dir(&mnt)
        .spawn()
        .unwrap();
    let pid = sleeper.id();
    scratch.children.push(sleeper);

    let e = polite.stop(&rlog).await.unwrap_err();
    assert_eq!(e.errno(), libc::EBUSY, "{e}");
    assert_eq!(
        e.message(),
        format!(
            "{} is busy: held by {pid} (sleep); set kill_procs = true to have svcfs kill them",
            mnt.display()
        )
    );
    assert_eq!(polite.status().await.status, Status::Up);

    let ruthless = fs_driver("fs#1", fs_spec(&image, &mnt, true));
    ruthless.stop(&rlog).await.unwrap();
    assert_eq!(ruthless.status().await.status, Status::Down);
    let status = scratch.children[0].wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGTERM),
        "sleep dies of SIGTERM"
    );
    let lines = messages(&log, "fs#1");
    assert!(
        lines.contains(&format!(
            "{} is busy: held by {pid} (sleep); killing them (kill_procs = true)",
            mnt.display()
        )),
        "{lines:?}"
    );
    assert!(lines.contains(&format!("kill -TERM {pid}")), "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.starts_with("kill -KILL")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn volume_group_is_tagged_activated_and_released() {
    if !storage_prerequisites(true) {
        return;
    }
    let mut scratch = Scratch::new("vg");
    let image = scratch.path("pv.img");
    run("truncate", &["-s", "64M", &image.to_string_lossy()]).unwrap();
    let device = scratch.attach(&image);
    let vgname = format!("svcfs_test_{}", std::process::id());
    let nodename = format!("svcfs-test-node-{}", std::process::id());
    run("pvcreate", &["-q", &device]).unwrap();
    scratch.vg = Some(vgname.clone());
    run("vgcreate", &["-q", &vgname, &device]).unwrap();
    let tags = || {
        run("vgs", &["--noheadings", "-o", "vg_tags", &vgname])
            .unwrap()
            .trim()
            .to_string()
    };

    let driver = VgDriver::new(
        &context(&nodename),
        Rid::parse("vg#1").unwrap(),
        VgSpec {
            vgname: vgname.clone(),
        },
    );
    let log = ServiceLog::new("storage");
    let rlog = log.resource("vg#1");
    let state = driver.status().await;
    assert_eq!(state.status, Status::Down, "{state:?}");
    assert_eq!(state.label, vgname);

    driver.start(&rlog).await.unwrap();
    assert_eq!(tags(), nodename);
    let state = driver.status().await;
    assert_eq!(state.status, Status::Up, "{state:?}");
    let lines = messages(&log, "vg#1");
    assert_eq!(lines[0], format!("vgchange --addtag @{nodename} {vgname}"));
    assert_eq!(lines[1], format!("vgchange -ay {vgname}"));

    driver.start(&rlog).await.unwrap();
    assert_eq!(
        messages(&log, "vg#1").last().unwrap(),
        &format!("{vgname} is already up")
    );

    // Tagged for another node only: not up here.
    let other = VgDriver::new(
        &context("some-other-node"),
        Rid::parse("vg#1").unwrap(),
        VgSpec {
            vgname: vgname.clone(),
        },
    );
    assert_eq!(other.status().await.status, Status::Down);

    driver.stop(&rlog).await.unwrap();
    assert_eq!(tags(), "");
    assert_eq!(driver.status().await.status, Status::Down);
    assert!(messages(&log, "vg#1").contains(&format!("vgchange --deltag @{nodename} {vgname}")));
    driver.stop(&rlog).await.unwrap();
    assert_eq!(
        messages(&log, "vg#1").last().unwrap(),
        &format!("{vgname} is already down")
    );

    // A VG LVM does not know.
    let missing = VgDriver::new(
        &context(&nodename),
        Rid::parse("vg#2").unwrap(),
        VgSpec {
            vgname: format!("{vgname}_absent"),
        },
    );
    let state = missing.status().await;
    assert_eq!(state.status, Status::Down, "{state:?}");
    assert_eq!(state.messages, [format!("vg {vgname}_absent not found")]);
    let e = missing.start(&rlog).await.unwrap_err();
    assert_eq!(e.errno(), libc::EIO);
}

/// The tutorial's host resources through the mounted tree: a VG (without
/// LVs: this machine may have no device-mapper) and two nested ext4
/// images, started, started again ("is already up", "is already
/// mounted", as in the tutorial's log) and stopped with `ctl` writes.
#[test]
fn service_host_resources_through_the_tree() {
    if !storage_prerequisites(true) {
        return;
    }
    if !Path::new("/dev/fuse").exists() || !in_path("fusermount3") {
        let missing = ["/dev/fuse, fusermount3 (package fuse3)".to_string()];
        if !require(&missing) {
            return;
        }
    }
    let mut scratch = Scratch::new("service");
    let pv = scratch.path("pv.img");
    run("truncate", &["-s", "64M", &pv.to_string_lossy()]).unwrap();
    let device = scratch.attach(&pv);
    let vg = format!("svcfs_test_svc_{}", std::process::id());
    run("pvcreate", &["-q", &device]).unwrap();
    scratch.vg = Some(vg.clone());
    run("vgcreate", &["-q", &vg, &device]).unwrap();
    let root_img = scratch.ext4_image("root.img");
    let data_img = scratch.ext4_image("data.img");
    let app = scratch.path("app");
    let appdata = app.join("appdata");

    let svc = "storage.svcfs.test";
    let sandbox = crate::harness::Sandbox::new("storage-service", &[]);
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "[DEFAULT]\nnodes = node1\n\n[vg#1]\nvgname = {vg}\n\n\
             [fs#1]\nmnt_opt = rw\nmnt = {}\ndev = {}\ntype = ext4\n\n\
             [fs#2]\nmnt_opt = rw\nmnt = {}\ndev = {}\ntype = ext4\n",
            app.display(),
            root_img.display(),
            appdata.display(),
            data_img.display()
        ),
    );
    let d = sandbox.mount(&[]);
    let line = |rid: &str, status: &str, label: &str| format!("- {rid:<15}.... {status:<9}{label}");
    let fs1 = format!("{}@{}", root_img.display(), app.display());
    let fs2 = format!("{}@{}", data_img.display(), appdata.display());

    d.must(&format!("{svc}/ctl"), "start");
    let overview = d.read(&format!("{svc}/overview"));
    for expected in [
        line("vg#1", "up", &vg),
        line("fs#1", "up", &fs1),
        line("fs#2", "up", &fs2),
    ] {
        assert!(overview.contains(&expected), "{expected:?} in\n{overview}");
    }
    assert_eq!(d.read(&format!("{svc}/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/vg#1/label")).trim_end(), vg);

    d.must(&format!("{svc}/ctl"), "start");
    let log = d.read(&format!("{svc}/log"));
    for expected in [
        format!("STORAGE.SVCFS.TEST.VG#1 {vg} is already up"),
        format!(
            "STORAGE.SVCFS.TEST.FS#1 fs({} {}) is already mounted",
            root_img.display(),
            app.display()
        ),
        format!(
            "STORAGE.SVCFS.TEST.FS#2 fs({} {}) is already mounted",
            data_img.display(),
            appdata.display()
        ),
    ] {
        assert!(log.contains(&expected), "{expected:?} in\n{log}");
    }

    d.must(&format!("{svc}/ctl"), "stop");
    assert_eq!(d.read(&format!("{svc}/status")), "down\n");
    assert!(scratch.mounts().is_empty(), "{:?}", scratch.mounts());
    let tags = run("vgs", &["--noheadings", "-o", "vg_tags", &vg]).unwrap();
    assert_eq!(tags.trim(), "");
    let log = d.read(&format!("{svc}/log"));
    let stop_order: Vec<&str> = log
        .lines()
        .filter_map(|l| {
            ["umount", "vgchange -an"]
                .iter()
                .find(|c| l.contains(&format!(" {c} ")))
                .map(|_| l.split_whitespace().nth(2).unwrap_or(""))
        })
        .collect();
    assert_eq!(
        stop_order,
        [
            "STORAGE.SVCFS.TEST.FS#2",
            "STORAGE.SVCFS.TEST.FS#1",
            "STORAGE.SVCFS.TEST.VG#1"
        ]
    );
}
