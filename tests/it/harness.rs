//! Shared test machinery: prerequisites, a daemon per test with its own
//! config dir, var dir and mountpoint, ctl writes that report the errno,
//! and clean-up of everything a test created.

#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The svcfs binary cargo built for these tests.
pub const SVCFS: &str = env!("CARGO_BIN_EXE_svcfs");

/// The images the tests run, built locally by scripts/setup-test-env.sh.
pub const IMAGES: [&str; 4] = [
    "busybox:latest",
    "shipyard/shipyard:latest",
    "dhrp/sshd:latest",
    "google/busybox:latest",
];

/// Run a command, returning stdout when it succeeds.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let mut command = Command::new(program);
    command.args(args);
    run_command(&mut command)
}

/// Run a prepared command (its environment set), returning stdout when it
/// succeeds, else what it said, with its command line.
pub fn run_command(command: &mut Command) -> Result<String, String> {
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|w| w.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = command.output().map_err(|e| format!("{line}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{line}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The docker CLI against the host daemon.
pub fn docker(args: &[&str]) -> Result<String, String> {
    run("docker", args)
}

/// Whether the machine can run these tests: false only when a prerequisite
/// is missing and `SVCFS_SKIP_INTEGRATION=1` asks to skip (see
/// [`require`]).
pub fn prerequisites() -> bool {
    let mut missing = Vec::new();
    if !Path::new("/dev/fuse").exists() {
        missing.push("/dev/fuse".to_string());
    }
    if run("fusermount3", &["-V"]).is_err() {
        missing.push("fusermount3 (package fuse3)".to_string());
    }
    if docker(&["info", "--format", "{{.ServerVersion}}"]).is_err() {
        missing.push("a running dockerd".to_string());
    } else {
        for image in IMAGES {
            if docker(&["image", "inspect", image]).is_err() {
                missing.push(format!("image {image}"));
            }
        }
    }
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".to_string());
    }
    require(&missing)
}

/// The verdict on what is missing: nothing → run the test. Otherwise the
/// test fails, naming itself and what is missing, so that a green `cargo
/// test` always means tested; `SVCFS_SKIP_INTEGRATION=1` skips it on
/// purpose instead (never under `CI`: a green CI run must mean tested).
pub fn require(missing: &[String]) -> bool {
    if missing.is_empty() {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this integration test")
        .to_string();
    let message = format!(
        "{test} cannot run: missing {} (run scripts/setup-test-env.sh as root)",
        missing.join(", ")
    );
    let opted_out = std::env::var_os("SVCFS_SKIP_INTEGRATION").is_some_and(|v| v == "1");
    if std::env::var_os("CI").is_some() || !opted_out {
        panic!("{message}; SVCFS_SKIP_INTEGRATION=1 skips the integration tests on purpose");
    }
    eprintln!("skipping (SVCFS_SKIP_INTEGRATION=1): {message}");
    false
}

/// Whether `program` is in PATH.
pub fn in_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The 12-character id of a local image, as the tutorial writes run_image.
pub fn image_short_id(image: &str) -> String {
    let id = docker(&["image", "inspect", "--format", "{{.Id}}", image]).expect("image exists");
    id.trim().trim_start_matches("sha256:")[..12].to_string()
}

/// The full id of a container by name, if it exists.
pub fn container_id(name: &str) -> Option<String> {
    docker(&["inspect", "--format", "{{.Id}}", name])
        .ok()
        .map(|s| s.trim().to_string())
}

/// Whether a container runs.
pub fn container_running(name: &str) -> bool {
    docker(&["inspect", "--format", "{{.State.Running}}", name])
        .map(|s| s.trim() == "true")
        .unwrap_or(false)
}

/// Remove every container of a service (labels survive renames, so the
/// `.prev` containers go too).
pub fn remove_containers(service: &str) {
    if let Ok(ids) = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=svcfs.service={service}"),
    ]) {
        for id in ids.split_whitespace() {
            let _ = docker(&["rm", "-f", id]);
        }
    }
}

/// Write one command to a ctl file like `echo cmd > ctl`; Err is the errno.
pub fn write_ctl(path: &Path, command: &str) -> Result<(), i32> {
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| e.raw_os_error().unwrap_or(-1))?;
    file.write_all(format!("{command}\n").as_bytes())
        .map_err(|e| e.raw_os_error().unwrap_or(-1))
}

/// Poll `check` until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether something is mounted at `path`.
pub fn is_mounted(path: &Path) -> bool {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let target = path.to_string_lossy();
    table
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(target.as_ref()))
}

/// A test's private directory tree: etc/ (service files), var/, mnt/.
pub struct Sandbox {
    pub root: PathBuf,
    pub services: Vec<String>,
}

impl Sandbox {
    /// A fresh sandbox named after the test; `services` are the service
    /// names whose containers are removed before and after.
    pub fn new(test: &str, services: &[&str]) -> Sandbox {
        let root = std::env::temp_dir().join(format!("svcfs-it-{test}"));
        if is_mounted(&root.join("mnt")) {
            let _ = run("umount", &["-l", &root.join("mnt").to_string_lossy()]);
        }
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("etc")).unwrap();
        let services: Vec<String> = services.iter().map(|s| s.to_string()).collect();
        for s in &services {
            remove_containers(s);
        }
        Sandbox { root, services }
    }

    pub fn etc(&self) -> PathBuf {
        self.root.join("etc")
    }

    pub fn mnt(&self) -> PathBuf {
        self.root.join("mnt")
    }

    pub fn var(&self) -> PathBuf {
        self.root.join("var")
    }

    /// Write a service file.
    pub fn service_file(&self, file: &str, text: &str) {
        std::fs::write(self.etc().join(file), text).unwrap();
    }

    /// Start a daemon on this sandbox with extra arguments.
    pub fn mount(&self, extra: &[&str]) -> Daemon {
        Daemon::start(self, &[], extra)
    }

    /// Start a daemon whose command line is prefixed (e.g. by `nsenter`).
    pub fn mount_wrapped(&self, wrapper: &[&str], extra: &[&str]) -> Daemon {
        Daemon::start(self, wrapper, extra)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for s in &self.services {
            remove_containers(s);
        }
        if is_mounted(&self.mnt()) {
            let _ = run("umount", &["-l", &self.mnt().to_string_lossy()]);
        }
    }
}

/// A running `svcfs mount`.
pub struct Daemon {
    child: Option<Child>,
    pub mnt: PathBuf,
    pub log_path: PathBuf,
}

impl Daemon {
    fn start(sandbox: &Sandbox, wrapper: &[&str], extra: &[&str]) -> Daemon {
        let log_path = sandbox.root.join(format!(
            "daemon-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
        ));
        let log = std::fs::File::create(&log_path).unwrap();
        let mnt = sandbox.mnt();
        let mut args: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
        args.push(SVCFS.to_string());
        args.extend(
            [
                "mount",
                &mnt.to_string_lossy(),
                "--config-dir",
                &sandbox.etc().to_string_lossy(),
            ]
            .map(String::from),
        );
        // Defaults a test may override through `extra`.
        let var = sandbox.var().to_string_lossy().into_owned();
        for (option, default) in [
            ("--var-dir", var.as_str()),
            ("--nodename", "node1"),
            ("--refresh-interval", "2"),
        ] {
            if !extra.contains(&option) {
                args.extend([option.to_string(), default.to_string()]);
            }
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(&args[0])
            .args(&args[1..])
            .env("RUST_LOG", "info,svcfs=debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("svcfs starts");
        let mut daemon = Daemon {
            child: Some(child),
            mnt: mnt.clone(),
            log_path,
        };
        // The daemon logs "mounted" once the session serves requests; a
        // stale mount of a killed daemon may be in the table before that.
        let mounted = wait_until(Duration::from_secs(15), || {
            if let Some(Ok(Some(_))) = daemon.child.as_mut().map(|c| c.try_wait()) {
                return true;
            }
            daemon.output().contains("svcfs::daemon: mounted")
        });
        assert!(
            mounted && is_mounted(&mnt) && std::fs::read_dir(&mnt).is_ok(),
            "svcfs did not mount {}:\n{}",
            mnt.display(),
            daemon.output()
        );
        daemon
    }

    /// What the daemon printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// A path under the mountpoint.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.mnt.join(rel)
    }

    /// Read a file of the tree.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel))
            .unwrap_or_else(|e| panic!("read {rel}: {e}\n{}", self.output()))
    }

    /// `echo command > <rel>` (rel names a ctl file).
    pub fn ctl(&self, rel: &str, command: &str) -> Result<(), i32> {
        write_ctl(&self.path(rel), command)
    }

    /// `echo command > <rel>` that must succeed.
    pub fn must(&self, rel: &str, command: &str) {
        if let Err(errno) = self.ctl(rel, command) {
            let svc = rel.split('/').next().unwrap_or("");
            panic!(
                "{command} > {rel} failed with errno {errno}\nlog:\n{}\ndaemon:\n{}",
                std::fs::read_to_string(self.path(&format!("{svc}/log"))).unwrap_or_default(),
                self.output()
            );
        }
    }

    /// The daemon's pid.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    /// The node dies with its daemon: the daemon's fence watchdog (`svcfs
    /// fence-watch`, which fences for a daemon killed alone) is SIGKILLed
    /// first, then the daemon.
    pub fn kill_node(&mut self) -> Option<std::process::ExitStatus> {
        for pid in children_of(self.pid()) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("fence-watch") {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        self.signal_and_wait(libc::SIGKILL)
    }

    /// Send a signal and wait for the daemon to exit; its exit status.
    pub fn signal_and_wait(&mut self, signal: i32) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        unsafe { libc::kill(child.id() as i32, signal) };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.signal_and_wait(libc::SIGTERM);
    }
}

/// `N` distinct TCP ports of 127.0.0.1 that nothing listens on now (the
/// kernel's picks, all held until every one is chosen), so that tests
/// running side by side, or a service of the machine, never collide on a
/// fixed one.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a free port on 127.0.0.1"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("bound").port())
}

/// GET / on 127.0.0.1:port; the response body, if anything answered.
pub fn http_get(port: u16) -> Option<String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// Lines of a file that contain `needle`.
pub fn lines_with(text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Host commands a test needs, checked like [`prerequisites`].
pub fn host_tools(tools: &[&str]) -> bool {
    let missing: Vec<String> = tools
        .iter()
        .filter(|t| !in_path(t))
        .map(|t| format!("{t} in PATH"))
        .collect();
    require(&missing)
}

/// A network namespace the test owns, deleted on drop.
pub struct NetNs {
    pub name: String,
}

impl NetNs {
    /// A fresh namespace with `lo` up.
    pub fn new(name: &str) -> NetNs {
        let _ = run("ip", &["netns", "del", name]);
        run("ip", &["netns", "add", name]).expect("ip netns add");
        let ns = NetNs {
            name: name.to_string(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n <ns> args...`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", &self.name];
        full.extend_from_slice(args);
        run("ip", &full).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `/run/netns/<name>`.
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// The `nsenter` prefix that runs a command in this network namespace
    /// only (the mount namespace stays the host's, so FUSE mounts are seen).
    pub fn wrapper(&self) -> Vec<String> {
        vec!["nsenter".to_string(), format!("--net={}", self.path())]
    }

    /// Run a command inside the namespace.
    pub fn exec(&self, command: &[&str]) -> Result<String, String> {
        let net = format!("--net={}", self.path());
        let mut full = vec![net.as_str()];
        full.extend_from_slice(command);
        run("nsenter", &full)
    }

    /// `ip -o addr show dev <dev>` inside the namespace.
    pub fn addresses(&self, dev: &str) -> String {
        self.ip(&["-o", "addr", "show", "dev", dev])
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// Block storage a test made: image files, loop devices, a VG, mounts.
/// Everything is undone on drop, mounts first.
#[derive(Default)]
pub struct Storage {
    mounts: Vec<PathBuf>,
    vg: Option<(String, String)>,
}

impl Storage {
    /// An ext4 filesystem in an image file of `megabytes`.
    pub fn ext4_image(&self, path: &Path, megabytes: u32) {
        let _ = std::fs::remove_file(path);
        run(
            "truncate",
            &["-s", &format!("{megabytes}M"), &path.to_string_lossy()],
        )
        .unwrap();
        run("mkfs.ext4", &["-q", "-F", &path.to_string_lossy()]).unwrap();
    }

    /// A volume group named `vg` (no logical volumes) on a loop device
    /// backed by `image`; an earlier leftover of that name is removed first.
    pub fn volume_group(&mut self, vg: &str, image: &Path) {
        remove_vg(vg);
        let _ = std::fs::remove_file(image);
        run("truncate", &["-s", "32M", &image.to_string_lossy()]).unwrap();
        let dev = run("losetup", &["-f", "--show", &image.to_string_lossy()])
            .unwrap()
            .trim()
            .to_string();
        run("pvcreate", &["-q", &dev]).unwrap();
        run("vgcreate", &["-q", vg, &dev]).unwrap();
        self.vg = Some((vg.to_string(), dev));
    }

    /// Remember a mountpoint to unmount on drop (if still mounted).
    pub fn unmount_on_drop(&mut self, path: &Path) {
        self.mounts.push(path.to_path_buf());
    }
}

/// Remove a VG and the loop devices under it (leftovers of a crashed run).
pub fn remove_vg(vg: &str) {
    let pvs = run("vgs", &["--noheadings", "-o", "pv_name", vg]).unwrap_or_default();
    let _ = run("vgremove", &["-f", "-q", vg]);
    for pv in pvs.split_whitespace() {
        let _ = run("pvremove", &["-q", pv]);
        if pv.starts_with("/dev/loop") {
            let _ = run("losetup", &["-d", pv]);
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        for mount in self.mounts.iter().rev() {
            for _ in 0..5 {
                if !is_mounted(mount) {
                    break;
                }
                if run("umount", &[&mount.to_string_lossy()]).is_err() {
                    let _ = run("umount", &["-l", &mount.to_string_lossy()]);
                }
            }
        }
        if let Some((vg, _)) = &self.vg {
            remove_vg(vg);
        }
    }
}

/// A container resource of busybox running a shell, quick to stop.
pub fn busybox_container(rid: &str) -> String {
    format!("[{rid}]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n")
}

/// Wait for `rel` to read `want`; how long it took, or a panic naming
/// what it said.
pub fn converges(d: &Daemon, rel: &str, want: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut seen = String::new();
    let ok = wait_until(limit, || {
        seen = std::fs::read_to_string(d.path(rel)).unwrap_or_default();
        seen == want
    });
    // What the resource says of itself tells why it did not converge.
    let messages = std::path::Path::new(rel)
        .parent()
        .map(|dir| std::fs::read_to_string(d.path(&dir.join("messages").to_string_lossy())))
        .and_then(Result::ok)
        .unwrap_or_default();
    assert!(
        ok,
        "{rel} still says {seen:?}, not {want:?} (messages: {messages:?})\n{}",
        d.output()
    );
    started.elapsed()
}

/// The pid a pid file holds.
/// The parent of process `pid`.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ...: comm may hold spaces, the last ')' ends it.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The processes whose parent is `pid`.
pub fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                .filter(|&child| parent_of(child) == Some(pid))
                .collect()
        })
        .unwrap_or_default()
}

pub fn pid_in(pidfile: &Path) -> Option<i32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

/// Whether `pid` is a dockerd process.
pub fn is_dockerd(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "dockerd")
}

/// The private daemon of a test service, stopped when the test ends
/// whatever happened.
pub struct PrivateDaemon {
    pub pidfile: PathBuf,
    pub data: PathBuf,
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

/// A bridge of a test's own for a private dockerd (`--bridge=<name>`).
/// NEVER `--bridge=none`: a private dockerd given it deletes the host
/// daemon's docker0 and breaks every host container (seen here).
pub fn private_bridge(name: &str) {
    // It may be there from an earlier run.
    let _ = Command::new("ip")
        .args(["link", "add", name, "type", "bridge"])
        .stderr(Stdio::null())
        .status();
    let _ = Command::new("ip")
        .args(["link", "set", name, "up"])
        .status();
}

/// Copy `image` from the host daemon's store into the daemon at `host`.
pub fn load_image(sandbox: &Sandbox, host: &str, image: &str) {
    let tar = sandbox.root.join("image.tar");
    docker(&["save", "-o", &tar.to_string_lossy(), image]).unwrap();
    run(
        "docker",
        &["-H", host, "load", "-i", &tar.to_string_lossy()],
    )
    .unwrap();
}

/// A service whose one busybox container lives in a private dockerd of
/// its own (on bridge `bridge`): its file written, and the guard that
/// stops that daemon whatever happens to the test.
pub fn private_daemon_service(sandbox: &Sandbox, svc: &str, bridge: &str) -> PrivateDaemon {
    let data = sandbox.root.join("data");
    private_bridge(bridge);
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "[DEFAULT]\ndocker_data_dir = {}\ndocker_daemon_args = --bridge={bridge} --iptables=false\n{}",
            data.display(),
            busybox_container("container#1")
        ),
    );
    PrivateDaemon {
        pidfile: sandbox.var().join(svc).join("dockerd.pid"),
        data,
    }
}

/// Start that service: its daemon, the image loaded into it, then the
/// rest; the daemon's host, as `docker -H` takes it.
pub fn start_private_daemon_service(d: &Daemon, sandbox: &Sandbox, svc: &str) -> String {
    d.must(&format!("{svc}/ctl"), "start --rid dockerd");
    let host = d.read(&format!("{svc}/docker_host")).trim().to_string();
    load_image(sandbox, &host, "busybox:latest");
    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
    host
}

/// A reader of an `events` file in a thread: its lines, as they come.
pub fn follow_events(path: &Path) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(file).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}
