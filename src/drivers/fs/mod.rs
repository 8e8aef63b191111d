//! The filesystem driver (`fs#N`): `dev` (a block device under any alias,
//! or an image file mounted through a loop device) mounted on `mnt`.
//! Status reads the kernel's mount table; start creates `mnt`, runs
//! `fsck -p` for ext2/3/4 and mounts; stop unmounts, and when the
//! filesystem is busy names the processes holding it — killing them only
//! when `kill_procs = true`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nix::sys::signal::Signal;

use crate::drivers::mounts::{self, Device, Holder, MountEntry};
use crate::drivers::shared::HostReads;
use crate::drivers::{Driver, DriverContext};

mod manifest;
use crate::actionlog::ResourceLog;
use crate::bounded::{bounded_blocking, poll_until};
use crate::error::{Error, Result};
use crate::host::{command_failure, command_line, run_checked, CommandOutput, CommandRunner};
use crate::model::{ResourceState, Rid, Status};
pub use manifest::{FsSpec, MANIFEST};

/// Bound on `fsck -p`: a large ext4 with many inodes takes minutes; the
/// ctl write waits for it, so it is bounded all the same.
const FSCK_TIMEOUT: Duration = Duration::from_secs(600);
/// Bound on `mount` (journal replay included).
const MOUNT_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound on `umount` (flushing dirty pages included).
const UMOUNT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long processes get to exit after SIGTERM before SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long killed processes get to release the filesystem after SIGKILL
/// (a process in uninterruptible sleep may never).
const KILL_WAIT: Duration = Duration::from_secs(2);
/// Unmount attempts after a "busy" with no holder found.
const BUSY_RETRIES: usize = 3;
/// Pause between those attempts.
const BUSY_RETRY_DELAY: Duration = Duration::from_millis(500);
/// How often the holders are scanned again while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Bound on reading the mount table, resolving paths and scanning /proc.
const INSPECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Filesystem types `fsck -p` is run for.
const FSCK_TYPES: [&str; 3] = ["ext2", "ext3", "ext4"];

/// Sends a signal to a process.
pub type SignalSender = Arc<dyn Fn(u32, Signal) -> std::io::Result<()> + Send + Sync>;

/// What the driver looks at besides commands: the mount table, `/proc`,
/// `/sys`, and how it signals processes. Tests point these at fake trees.
#[derive(Clone)]
pub struct HostView {
    /// The mount table (`/proc/self/mountinfo`).
    pub mountinfo: PathBuf,
    /// `/proc`, scanned for the processes holding a busy filesystem.
    pub proc_root: PathBuf,
    /// `/sys`, for the files behind loop devices.
    pub sys_root: PathBuf,
    /// Time between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// Signals a process.
    pub signal: SignalSender,
}

impl HostView {
    /// The real host.
    pub fn system() -> Self {
        HostView {
            mountinfo: mounts::MOUNTINFO.into(),
            proc_root: "/proc".into(),
            sys_root: "/sys".into(),
            kill_grace: KILL_GRACE,
            signal: Arc::new(|pid, signal| {
                let pid = i32::try_from(pid)
                    .map_err(|_| std::io::Error::from_raw_os_error(libc::ESRCH))?;
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
                    .map_err(|e| std::io::Error::from_raw_os_error(e as i32))
            }),
        }
    }
}

/// Where `dev` stands with respect to `mnt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// `dev` is the filesystem visible on `mnt`.
    Mounted,
    /// Nothing on `mnt`, `dev` mounted nowhere.
    Unmounted,
    /// `dev` is mounted on `mnt`, under another mount on the same point.
    Hidden {
        /// The mount on top.
        over: MountEntry,
    },
    /// Something else is mounted on `mnt`.
    Occupied {
        /// The mount on top.
        by: MountEntry,
    },
    /// Nothing on `mnt`, but `dev` is mounted elsewhere.
    Elsewhere {
        /// Where.
        mount_points: Vec<PathBuf>,
    },
}

/// Where `dev` (recognised by `is_dev`) stands with respect to `mnt`
/// (canonical) in a mount table: pure.
pub fn placement(
    table: &[MountEntry],
    mnt: &Path,
    is_dev: impl Fn(&MountEntry) -> bool,
) -> Placement {
    let at_mnt: Vec<&MountEntry> = table.iter().filter(|e| e.mount_point == mnt).collect();
    // Mounting twice on one point stacks: the top one is the mount no other
    // mount on that point has for parent.
    let top = at_mnt
        .iter()
        .find(|e| !at_mnt.iter().any(|c| c.parent_id == e.mount_id))
        .or(at_mnt.last());
    if let Some(top) = top {
        return if is_dev(top) {
            Placement::Mounted
        } else if at_mnt.iter().any(|e| is_dev(e)) {
            Placement::Hidden {
                over: (*top).clone(),
            }
        } else {
            Placement::Occupied { by: (*top).clone() }
        };
    }
    let mut mount_points: Vec<PathBuf> = table
        .iter()
        .filter(|e| is_dev(e))
        .map(|e| e.mount_point.clone())
        .collect();
    mount_points.dedup();
    if mount_points.is_empty() {
        Placement::Unmounted
    } else {
        Placement::Elsewhere { mount_points }
    }
}

impl Placement {
    /// What is wrong with this placement, if anything.
    pub fn problem(&self, dev: &Path, mnt: &Path) -> Option<String> {
        let (dev, mnt) = (dev.display(), mnt.display());
        match self {
            Placement::Mounted | Placement::Unmounted => None,
            Placement::Hidden { over } => Some(format!(
                "{dev} is mounted on {mnt} but hidden by {} mounted over it",
                over.describe()
            )),
            Placement::Occupied { by } => Some(format!(
                "{} is mounted on {mnt} instead of {dev}",
                by.describe()
            )),
            Placement::Elsewhere { mount_points } => Some(format!(
                "{dev} is mounted on {} instead of {mnt}",
                join_paths(mount_points)
            )),
        }
    }

    /// Refuse what this placement forbids: mounting `dev` a second time
    /// (an image file through a second loop device is two writers on one
    /// ext4), mounting over another mount, or unmounting what lies on top
    /// of `dev` — never what the operator wants (EBUSY).
    fn refuse_conflict(&self, dev: &Path, mnt: &Path) -> Result<()> {
        let remedy = match self {
            Placement::Mounted | Placement::Unmounted => return Ok(()),
            Placement::Hidden { .. } => "unmount that first",
            Placement::Occupied { .. } => "unmount it first",
            Placement::Elsewhere { .. } => "unmount it there first",
        };
        let problem = self.problem(dev, mnt).unwrap_or_default();
        Err(Error::busy(format!("{problem}: {remedy}")))
    }
}

/// The state shown for the filesystem: pure.
pub fn fs_state(spec: &FsSpec, placement: &Placement) -> ResourceState {
    let label = format!("{}@{}", spec.dev.display(), spec.mnt.display());
    let status = match placement {
        Placement::Mounted => Status::Up,
        Placement::Unmounted => Status::Down,
        _ => Status::Warn,
    };
    let mut state = ResourceState::new(status, label);
    state
        .messages
        .extend(placement.problem(&spec.dev, &spec.mnt));
    state
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn join_holders(holders: &[Holder]) -> String {
    holders
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The mount options: `mnt_opt`, plus `loop` for an image file (the
/// kernel then detaches the loop device itself at unmount).
pub fn mount_options(mnt_opt: Option<&str>, image_file: bool) -> Option<String> {
    let mut options: Vec<&str> = mnt_opt
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    if image_file && !options.contains(&"loop") {
        options.push("loop");
    }
    (!options.is_empty()).then(|| options.join(","))
}

/// What one look at the host found.
struct Observation {
    table: Arc<Vec<MountEntry>>,
    device: Device,
    /// `mnt`, canonical.
    mnt: PathBuf,
    placement: Placement,
}

impl Observation {
    /// Mount points strictly inside `mnt`.
    fn submounts(&self) -> Vec<PathBuf> {
        self.table
            .iter()
            .filter(|e| e.mount_point != self.mnt && e.mount_point.starts_with(&self.mnt))
            .map(|e| e.mount_point.clone())
            .collect()
    }
}

fn read_table(host: &HostView) -> Result<Arc<Vec<MountEntry>>> {
    let started = Instant::now();
    let table = mounts::read_mount_table(&host.mountinfo);
    tracing::debug!(path = %host.mountinfo.display(), elapsed = ?started.elapsed(), ok = table.is_ok(), "mount table read");
    table
        .map(Arc::new)
        .map_err(|e| Error::backend(format!("cannot read {}: {e}", host.mountinfo.display())))
}

fn observe(spec: &FsSpec, host: &HostView) -> Result<Observation> {
    Ok(observe_in(spec, host, read_table(host)?))
}

/// Where `spec` stands in `table`: resolves `dev` and `mnt` on the host.
fn observe_in(spec: &FsSpec, host: &HostView, table: Arc<Vec<MountEntry>>) -> Observation {
    let device = mounts::resolve_device(&spec.dev);
    let mnt = mounts::canonical_mount_point(&spec.mnt);
    let placement = placement(&table, &mnt, |e| {
        mounts::is_device(e, &device, &spec.dev, &host.sys_root)
    });
    Observation {
        table,
        device,
        mnt,
        placement,
    }
}

/// Whether umount failed because the filesystem is in use.
fn says_busy(output: &CommandOutput) -> bool {
    output.diagnostic().contains("busy")
}

/// Drives one `fs#N` resource.
pub struct FsDriver {
    spec: FsSpec,
    runner: Arc<dyn CommandRunner>,
    host: HostView,
    reads: Arc<HostReads>,
}

impl FsDriver {
    /// A driver for the filesystem of `spec`. The rid is not kept: the
    /// engine names the resource in logs and errors.
    pub fn new(ctx: &DriverContext, _rid: Rid, spec: FsSpec) -> Self {
        FsDriver {
            spec,
            runner: ctx.runner.clone(),
            host: HostView::system(),
            reads: ctx.reads.clone(),
        }
    }

    /// The same driver looking at another view of the host (fake trees).
    pub fn with_host(mut self, host: HostView) -> Self {
        self.host = host;
        self
    }

    /// `fs(<dev> <mnt>)`, as OpenSVC names the resource in its log.
    fn name(&self) -> String {
        format!(
            "fs({} {})",
            self.spec.dev.display(),
            self.spec.mnt.display()
        )
    }

    fn dev_arg(&self) -> String {
        self.spec.dev.to_string_lossy().into_owned()
    }

    fn mnt_arg(&self) -> String {
        self.spec.mnt.to_string_lossy().into_owned()
    }

    /// Look at the host off the async threads: reading the mount table and
    /// resolving paths may block on a hung filesystem. Actions decide on
    /// this fresh look.
    async fn observe(&self) -> Result<Observation> {
        let (spec, host) = (self.spec.clone(), self.host.clone());
        let target = self.mnt_arg();
        bounded_blocking(
            "the mount table check",
            &target,
            INSPECT_TIMEOUT,
            move || observe(&spec, &host),
        )
        .await?
    }

    /// The same look for a status check, with the mount table that every
    /// filesystem of the pass shares (read once, see [`HostReads`]).
    async fn observe_shared(&self) -> Result<Observation> {
        let host = self.host.clone();
        let table = self
            .reads
            .mounts
            .get(|| async move {
                let target = host.mountinfo.display().to_string();
                bounded_blocking(
                    "reading the mount table",
                    &target,
                    INSPECT_TIMEOUT,
                    move || read_table(&host),
                )
                .await?
            })
            .await?;
        let (spec, host) = (self.spec.clone(), self.host.clone());
        let target = self.mnt_arg();
        bounded_blocking(
            "the mount table check",
            &target,
            INSPECT_TIMEOUT,
            move || observe_in(&spec, &host, table),
        )
        .await
    }

    async fn holders(&self, mnt: &Path, excluded: &[PathBuf]) -> Vec<Holder> {
        let (proc_root, mnt, excluded) = (
            self.host.proc_root.clone(),
            mnt.to_path_buf(),
            excluded.to_vec(),
        );
        let me = std::process::id();
        let target = mnt.display().to_string();
        let scan = bounded_blocking(
            "the scan for processes holding it",
            &target,
            INSPECT_TIMEOUT,
            move || {
                // svcfs never kills itself: if it holds the filesystem, the
                // unmount fails and says so.
                let mut holders = mounts::find_holders(&proc_root, &mnt, &excluded);
                holders.retain(|h| h.pid != me);
                holders
            },
        );
        // Without a scan, no process is named (and none is killed).
        scan.await.unwrap_or_default()
    }

    async fn create_mount_point(&self, log: &ResourceLog) -> Result<()> {
        let mnt = self.spec.mnt.clone();
        let target = self.mnt_arg();
        let exists = bounded_blocking(
            "looking at the mountpoint",
            &target,
            INSPECT_TIMEOUT,
            move || std::fs::symlink_metadata(&mnt).is_ok(),
        )
        .await?;
        if exists {
            return Ok(());
        }
        log.info(format!(
            "create missing mountpoint {}",
            self.spec.mnt.display()
        ));
        let mnt = self.spec.mnt.clone();
        bounded_blocking(
            "creating the mountpoint",
            &target,
            INSPECT_TIMEOUT,
            move || {
                std::fs::create_dir_all(&mnt).map_err(|e| {
                    Error::backend(format!("cannot create mountpoint {}: {e}", mnt.display()))
                })
            },
        )
        .await?
    }

    /// `fsck -p`: exit 0 (clean) and 1 (errors corrected) let the mount go
    /// on; anything else needs the operator.
    async fn fsck(&self, log: &ResourceLog) -> Result<()> {
        let dev = self.dev_arg();
        let args = ["-p", dev.as_str()];
        log.info(command_line("fsck", &args));
        let out = self.runner.run("fsck", &args, FSCK_TIMEOUT).await?;
        let output = [out.stdout.trim(), out.stderr.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        match out.code {
            Some(0) => Ok(()),
            Some(1) => {
                log.warn(format!("fsck corrected errors on {dev}:\n{output}"));
                Ok(())
            }
            code => Err(Error::backend(format!(
                "{} failed ({}): {output}",
                command_line("fsck", &args),
                code.map_or_else(|| "killed".to_string(), |c| format!("exit {c}"))
            ))),
        }
    }

    async fn mount(&self, image_file: bool, log: &ResourceLog) -> Result<()> {
        let (dev, mnt) = (self.dev_arg(), self.mnt_arg());
        let options = mount_options(self.spec.mnt_opt.as_deref(), image_file);
        let mut args: Vec<&str> = Vec::new();
        if let Some(fs_type) = &self.spec.fs_type {
            args.extend(["-t", fs_type]);
        }
        if let Some(options) = &options {
            args.extend(["-o", options]);
        }
        args.extend([dev.as_str(), mnt.as_str()]);
        log.info(command_line("mount", &args));
        let result = run_checked(self.runner.as_ref(), "mount", &args, MOUNT_TIMEOUT).await;
        // Even a failed or timed out mount may have changed the table.
        self.reads.mounts.invalidate();
        result.map(drop)
    }

    /// One unmount attempt: `None` when done, the output when the
    /// filesystem is busy, an error for any other failure.
    async fn try_umount(&self, log: &ResourceLog) -> Result<Option<CommandOutput>> {
        let mnt = self.mnt_arg();
        log.info(command_line("umount", &[&mnt]));
        let out = self.runner.run("umount", &[&mnt], UMOUNT_TIMEOUT).await;
        self.reads.mounts.invalidate();
        let out = out?;
        if out.success() {
            Ok(None)
        } else if says_busy(&out) {
            Ok(Some(out))
        } else {
            Err(command_failure("umount", &[&mnt], &out))
        }
    }

    /// SIGTERM the holders, SIGKILL those still holding after the grace
    /// period, and wait (bounded) for the filesystem to be released.
    async fn kill_holders(
        &self,
        holders: &[Holder],
        mnt: &Path,
        excluded: &[PathBuf],
        log: &ResourceLog,
    ) {
        let mut remaining = holders.to_vec();
        for (signal, name, wait) in [
            (Signal::SIGTERM, "TERM", self.host.kill_grace),
            (Signal::SIGKILL, "KILL", KILL_WAIT),
        ] {
            let pids: Vec<String> = remaining.iter().map(|h| h.pid.to_string()).collect();
            log.info(format!("kill -{name} {}", pids.join(" ")));
            for holder in &remaining {
                if let Err(e) = (self.host.signal)(holder.pid, signal) {
                    if e.raw_os_error() != Some(libc::ESRCH) {
                        log.warn(format!("cannot signal {holder}: {e}"));
                    }
                }
            }
            // Only processes of the first scan are signalled: a pid that
            // exited and was reused is not ours to kill.
            let signalled = &remaining;
            let released = poll_until(
                "waiting for its processes to exit",
                &mnt.display().to_string(),
                wait,
                POLL_INTERVAL,
                || async move {
                    let still = self.holders(mnt, excluded).await;
                    Ok((!signalled
                        .iter()
                        .any(|h| still.iter().any(|s| s.pid == h.pid)))
                    .then_some(()))
                },
            )
            .await;
            if released.is_ok() {
                return;
            }
            let still = self.holders(mnt, excluded).await;
            remaining.retain(|h| still.iter().any(|s| s.pid == h.pid));
            if remaining.is_empty() {
                return;
            }
        }
        log.warn(format!(
            "still holding {} after SIGKILL: {}",
            mnt.display(),
            join_holders(&remaining)
        ));
    }

    /// The error of an unmount that found the filesystem busy.
    fn busy_error(
        &self,
        out: &CommandOutput,
        holders: &[Holder],
        submounts: &[PathBuf],
        hint: &str,
    ) -> Error {
        let mnt = self.spec.mnt.display();
        if !holders.is_empty() {
            Error::busy(format!(
                "{mnt} is busy: held by {}{hint}",
                join_holders(holders)
            ))
        } else if !submounts.is_empty() {
            Error::busy(format!(
                "{mnt} is busy: {} mounted inside it; unmount it first",
                join_paths(submounts)
            ))
        } else {
            Error::busy(format!(
                "{mnt} is busy, but no process was found holding it (another mount namespace, a swap file, an NFS export?): {}",
                out.diagnostic()
            ))
        }
    }
}

#[async_trait]
impl Driver for FsDriver {
    fn follows_mount_table(&self) -> bool {
        true
    }

    async fn status(&self) -> ResourceState {
        match self.observe_shared().await {
            Ok(observed) => fs_state(&self.spec, &observed.placement),
            Err(e) => ResourceState::new(
                Status::Warn,
                format!("{}@{}", self.spec.dev.display(), self.spec.mnt.display()),
            )
            .with_message(e.message()),
        }
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        let observed = self.observe().await?;
        if observed.placement == Placement::Mounted {
            log.info(format!("{} is already mounted", self.name()));
            return Ok(());
        }
        observed
            .placement
            .refuse_conflict(&self.spec.dev, &self.spec.mnt)?;
        let dev = self.spec.dev.display();
        let image_file = match &observed.device {
            Device::Block { .. } => false,
            Device::File { .. } => true,
            Device::Missing => {
                return Err(Error::backend(format!(
                    "device {dev} not found (a logical volume appears when its volume group is started: is the vg resource up?)"
                )))
            }
            Device::Other { kind } => {
                return Err(Error::invalid(format!(
                    "dev {dev} is a {kind}, not a block device or an image file"
                )))
            }
        };
        self.create_mount_point(log).await?;
        let fsck_type = self
            .spec
            .fs_type
            .as_deref()
            .is_some_and(|t| FSCK_TYPES.contains(&t));
        if self.spec.fsck && fsck_type {
            self.fsck(log).await?;
        }
        self.mount(image_file, log).await
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        let observed = self.observe().await?;
        match &observed.placement {
            Placement::Mounted => {}
            Placement::Unmounted => {
                log.info(format!("{} is already unmounted", self.name()));
                return Ok(());
            }
            // Not this resource's mount: left alone.
            Placement::Elsewhere { .. } | Placement::Occupied { .. } => {
                log.info(format!("{} is already unmounted", self.name()));
                if let Some(problem) = observed.placement.problem(&self.spec.dev, &self.spec.mnt) {
                    log.warn(format!("{problem}: left alone"));
                }
                return Ok(());
            }
            Placement::Hidden { .. } => {
                return observed
                    .placement
                    .refuse_conflict(&self.spec.dev, &self.spec.mnt);
            }
        }
        let Some(mut out) = self.try_umount(log).await? else {
            return Ok(());
        };
        let submounts = observed.submounts();
        let mut holders = self.holders(&observed.mnt, &submounts).await;
        // Busy with no holder in sight is often a process that is exiting
        // (a daemon stopped just before); give it a moment.
        for _ in 0..BUSY_RETRIES {
            if !holders.is_empty() || !submounts.is_empty() {
                break;
            }
            tokio::time::sleep(BUSY_RETRY_DELAY).await;
            let Some(busy) = self.try_umount(log).await? else {
                return Ok(());
            };
            out = busy;
            holders = self.holders(&observed.mnt, &submounts).await;
        }
        if holders.is_empty() || !self.spec.kill_procs {
            return Err(self.busy_error(
                &out,
                &holders,
                &submounts,
                "; set kill_procs = true to have svcfs kill them",
            ));
        }
        log.info(format!(
            "{} is busy: held by {}; killing them (kill_procs = true)",
            self.spec.mnt.display(),
            join_holders(&holders)
        ));
        self.kill_holders(&holders, &observed.mnt, &submounts, log)
            .await;
        let Some(out) = self.try_umount(log).await? else {
            return Ok(());
        };
        let holders = self.holders(&observed.mnt, &submounts).await;
        Err(self
            .busy_error(&out, &holders, &submounts, "")
            .context("still busy after killing its processes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actionlog::ServiceLog;
    use crate::docker::fake::FakeDocker;
    use crate::drivers::mounts::parse_mountinfo;
    use crate::drivers::mounts::tests::TempDir;
    use crate::host::FakeRunner;
    use std::sync::Mutex;

    /// Fake pids above the kernel's pid_max: never a real process.
    const SH: u32 = 9_000_001;
    const SLEEP: u32 = 9_000_002;

    fn spec(dev: &str, mnt: &str) -> FsSpec {
        FsSpec {
            dev: dev.into(),
            mnt: mnt.into(),
            fs_type: Some("ext4".into()),
            mnt_opt: Some("rw".into()),
            fsck: true,
            kill_procs: false,
        }
    }

    fn entry(line: &str) -> MountEntry {
        parse_mountinfo(line.as_bytes()).remove(0)
    }

    const ROOT: &str = "27 1 254:1 / / rw - ext4 /dev/vda1 rw";
    const APPROOT: &str =
        "80 27 253:3 / /opt/app.opensvc.com rw shared:7 - ext4 /dev/mapper/vgapp-lvapproot rw";

    fn is_approot(e: &MountEntry) -> bool {
        e.dev == (253, 3)
    }

    #[test]
    fn device_on_its_mount_point_is_up_with_the_tutorial_label() {
        let table = [entry(ROOT), entry(APPROOT)];
        let p = placement(&table, Path::new("/opt/app.opensvc.com"), is_approot);
        assert_eq!(p, Placement::Mounted);
        let state = fs_state(
            &spec("/dev/mapper/vgapp-lvapproot", "/opt/app.opensvc.com"),
            &p,
        );
        assert_eq!(
            state,
            ResourceState::new(
                Status::Up,
                "/dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com"
            )
        );
    }

    #[test]
    fn nothing_mounted_is_down() {
        let table = [entry(ROOT)];
        let p = placement(&table, Path::new("/opt/app.opensvc.com"), is_approot);
        assert_eq!(p, Placement::Unmounted);
        let state = fs_state(&spec("/dev/vgapp/lvapproot", "/opt/app.opensvc.com"), &p);
        assert_eq!(state.status, Status::Down);
        assert!(state.messages.is_empty());
    }

    #[test]
    fn another_filesystem_on_the_mount_point_is_warn_naming_it() {
        let table = [
            entry(ROOT),
            entry("90 27 0:50 / /opt/app.opensvc.com rw - tmpfs tmpfs rw"),
        ];
        let p = placement(&table, Path::new("/opt/app.opensvc.com"), is_approot);
        let state = fs_state(&spec("/dev/vgapp/lvapproot", "/opt/app.opensvc.com"), &p);
        assert_eq!(state.status, Status::Warn);
        assert_eq!(
            state.messages,
            ["tmpfs (tmpfs) is mounted on /opt/app.opensvc.com instead of /dev/vgapp/lvapproot"]
        );
    }

    #[test]
    fn device_mounted_elsewhere_is_warn_naming_where() {
        let table = [
            entry(ROOT),
            entry("80 27 253:3 / /mnt/x rw - ext4 /dev/dm-3 rw"),
        ];
        let p = placement(&table, Path::new("/opt/app.opensvc.com"), is_approot);
        let state = fs_state(&spec("/dev/vgapp/lvapproot", "/opt/app.opensvc.com"), &p);
        assert_eq!(state.status, Status::Warn);
        assert_eq!(
            state.messages,
            ["/dev/vgapp/lvapproot is mounted on /mnt/x instead of /opt/app.opensvc.com"]
        );
    }

    #[test]
    fn device_under_another_mount_on_the_same_point_is_warn() {
        let table = [
            entry(ROOT),
            entry(APPROOT),
            entry("95 80 0:51 / /opt/app.opensvc.com rw - tmpfs over rw"),
        ];
        let p = placement(&table, Path::new("/opt/app.opensvc.com"), is_approot);
        assert!(matches!(&p, Placement::Hidden { over } if over.mount_id == 95));
        let state = fs_state(&spec("/dev/vgapp/lvapproot", "/opt/app.opensvc.com"), &p);
        assert_eq!(
            state.messages,
            ["/dev/vgapp/lvapproot is mounted on /opt/app.opensvc.com but hidden by over (tmpfs) mounted over it"]
        );
        // The other way round: the device is on top.
        let table = [
            entry(ROOT),
            entry("95 27 0:51 / /opt/app.opensvc.com rw - tmpfs under rw"),
            entry("96 95 253:3 / /opt/app.opensvc.com rw - ext4 /dev/dm-3 rw"),
        ];
        let p = placement(&table, Path::new("/opt/app.opensvc.com"), is_approot);
        assert_eq!(p, Placement::Mounted);
    }

    #[test]
    fn bind_mounts_elsewhere_do_not_spoil_up() {
        let table = [
            entry(ROOT),
            entry(APPROOT),
            entry("97 27 253:3 /vol1 /var/lib/docker/x rw - ext4 /dev/mapper/vgapp-lvapproot rw"),
        ];
        let p = placement(&table, Path::new("/opt/app.opensvc.com"), is_approot);
        assert_eq!(p, Placement::Mounted);
    }

    #[test]
    fn image_files_get_the_loop_option_once() {
        assert_eq!(mount_options(None, false), None);
        assert_eq!(mount_options(Some(" "), false), None);
        assert_eq!(mount_options(Some("rw"), false).as_deref(), Some("rw"));
        assert_eq!(mount_options(None, true).as_deref(), Some("loop"));
        assert_eq!(mount_options(Some("rw"), true).as_deref(), Some("rw,loop"));
        assert_eq!(
            mount_options(Some("loop,ro"), true).as_deref(),
            Some("loop,ro")
        );
    }

    /// A fake host: an image file, a mount table, /proc and /sys trees,
    /// and a record of the signals sent.
    struct Fake {
        tmp: TempDir,
        runner: Arc<FakeRunner>,
        signals: Arc<Mutex<Vec<(u32, Signal)>>>,
        log: ServiceLog,
        /// Shared by every driver of this fake, as the engine shares them.
        reads: Arc<HostReads>,
    }

    impl Fake {
        fn new(tag: &str) -> Self {
            let tmp = TempDir::new(tag);
            std::fs::write(tmp.path().join("disk.img"), b"").unwrap();
            std::fs::create_dir_all(tmp.path().join("proc")).unwrap();
            std::fs::create_dir_all(tmp.path().join("sys/block/loop7/loop")).unwrap();
            std::fs::write(
                tmp.path().join("sys/block/loop7/loop/backing_file"),
                format!("{}\n", tmp.path().join("disk.img").display()),
            )
            .unwrap();
            let fake = Fake {
                tmp,
                runner: Arc::new(FakeRunner::new()),
                signals: Arc::default(),
                log: ServiceLog::new("s"),
                reads: Arc::default(),
            };
            fake.mount_table(&[ROOT]);
            fake
        }

        fn image(&self) -> String {
            self.tmp.path().join("disk.img").display().to_string()
        }

        fn mnt(&self) -> String {
            self.tmp.path().join("mnt").display().to_string()
        }

        /// The host's mount table changes, and the kernel says so (the
        /// engine's mount table watcher then invalidates the shared read).
        fn mount_table(&self, lines: &[&str]) {
            self.mount_table_silently(lines);
            self.reads.mounts.invalidate();
        }

        /// The table changes without the shared read knowing.
        fn mount_table_silently(&self, lines: &[&str]) {
            std::fs::write(self.tmp.path().join("mountinfo"), lines.join("\n")).unwrap();
        }

        fn mounted_line(&self) -> String {
            format!("100 27 7:7 / {} rw - ext4 /dev/loop7 rw", self.mnt())
        }

        /// The image mounted on mnt through /dev/loop7.
        fn mounted(&self) {
            std::fs::create_dir_all(self.mnt()).unwrap();
            self.mount_table(&[ROOT, &self.mounted_line()]);
        }

        /// A process whose `link` (cwd, fd/3, ...) points at `target`.
        fn process(&self, pid: u32, comm: &str, link: &str, target: &str) {
            let dir = self.tmp.path().join("proc").join(pid.to_string());
            std::fs::create_dir_all(dir.join("fd")).unwrap();
            std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
            std::os::unix::fs::symlink(target, dir.join(link)).unwrap();
        }

        /// A driver for `spec`; signalled processes in `dies_on_term`
        /// exit at SIGTERM, the others only at SIGKILL.
        fn driver(&self, spec: FsSpec, dies_on_term: &[u32]) -> FsDriver {
            let ctx = DriverContext {
                carried: Default::default(),
                service: "s".into(),
                var_dir: "/nonexistent".into(),
                config_dir: "/nonexistent".into(),
                nodename: "n".into(),
                docker: Arc::new(FakeDocker::new("unix:///nonexistent.sock")),
                runner: self.runner.clone(),
                children: Arc::new(crate::children::FakeChildren::default()),
                reads: self.reads.clone(),
                peers: Vec::new(),
            };
            let (signals, proc_root, dies_on_term) = (
                self.signals.clone(),
                self.tmp.path().join("proc"),
                dies_on_term.to_vec(),
            );
            let host = HostView {
                mountinfo: self.tmp.path().join("mountinfo"),
                proc_root: self.tmp.path().join("proc"),
                sys_root: self.tmp.path().join("sys"),
                kill_grace: Duration::from_millis(300),
                signal: Arc::new(move |pid, signal| {
                    signals.lock().unwrap().push((pid, signal));
                    if signal == Signal::SIGKILL || dies_on_term.contains(&pid) {
                        std::fs::remove_dir_all(proc_root.join(pid.to_string()))?;
                    }
                    Ok(())
                }),
            };
            FsDriver::new(&ctx, Rid::parse("fs#1").unwrap(), spec).with_host(host)
        }

        fn image_spec(&self) -> FsSpec {
            spec(&self.image(), &self.mnt())
        }

        fn lines(&self) -> Vec<String> {
            self.log
                .resource_lines("fs#1")
                .iter()
                .map(|l| l.split_once("S.FS#1").unwrap().1.trim().to_string())
                .collect()
        }

        fn resource_log(&self) -> ResourceLog {
            self.log.resource("fs#1")
        }
    }

    fn busy(mnt: &str) -> CommandOutput {
        CommandOutput::failed(32, &format!("umount: {mnt}: target is busy.\n"))
    }

    #[tokio::test]
    async fn status_matches_an_image_through_its_loop_device() {
        let fake = Fake::new("fs-status");
        let driver = fake.driver(fake.image_spec(), &[]);
        assert_eq!(driver.status().await.status, Status::Down);
        fake.mounted();
        let state = driver.status().await;
        assert_eq!(state.status, Status::Up);
        assert_eq!(state.label, format!("{}@{}", fake.image(), fake.mnt()));
        assert!(fake.runner.calls().is_empty());
    }

    #[tokio::test]
    async fn a_pass_over_many_filesystems_reads_the_mount_table_once() {
        let fake = Fake::new("fs-shared");
        fake.mounted();
        let mut specs = vec![fake.image_spec()];
        specs.extend((0..20).map(|i| spec(&fake.image(), &format!("{}{i}", fake.mnt()))));
        let drivers: Vec<FsDriver> = specs.into_iter().map(|s| fake.driver(s, &[])).collect();
        let states = futures_util::future::join_all(drivers.iter().map(|d| d.status())).await;
        assert_eq!(fake.reads.mounts.reads(), 1);
        assert_eq!(states[0].status, Status::Up);
        // The image is mounted on the first one's mount point only.
        assert!(states[1..].iter().all(|s| s.status == Status::Warn));
        // A second pass within the lifetime reads nothing more.
        futures_util::future::join_all(drivers.iter().map(|d| d.status())).await;
        assert_eq!(fake.reads.mounts.reads(), 1);
    }

    #[tokio::test]
    async fn actions_decide_on_a_fresh_table_and_invalidate_the_shared_one() {
        let fake = Fake::new("fs-fresh");
        let driver = fake.driver(fake.image_spec(), &[]);
        assert_eq!(driver.status().await.status, Status::Down);
        // svcfs mounts: the check that follows sees it at once.
        fake.runner
            .expect("fsck -p", CommandOutput::ok(""))
            .expect("mount", CommandOutput::ok(""));
        driver.start(&fake.resource_log()).await.unwrap();
        fake.mount_table_silently(&[ROOT, &fake.mounted_line()]);
        assert_eq!(driver.status().await.status, Status::Up);
        // Unmounted behind svcfs's back, unnoticed: status keeps the
        // shared table for its lifetime, but stop looks for itself.
        fake.mount_table_silently(&[ROOT]);
        assert_eq!(driver.status().await.status, Status::Up);
        driver.stop(&fake.resource_log()).await.unwrap();
        assert_eq!(fake.runner.calls().len(), 2, "already unmounted");
        // svcfs unmounts: same as mounts.
        fake.mount_table(&[ROOT, &fake.mounted_line()]);
        assert_eq!(driver.status().await.status, Status::Up);
        fake.runner.expect("umount", CommandOutput::ok(""));
        driver.stop(&fake.resource_log()).await.unwrap();
        fake.mount_table_silently(&[ROOT]);
        assert_eq!(driver.status().await.status, Status::Down);
        assert_eq!(fake.reads.mounts.reads(), 4);
    }

    #[tokio::test]
    async fn status_without_a_mount_table_is_warn() {
        let fake = Fake::new("fs-nomountinfo");
        std::fs::remove_file(fake.tmp.path().join("mountinfo")).unwrap();
        let state = fake.driver(fake.image_spec(), &[]).status().await;
        assert_eq!(state.status, Status::Warn);
        assert!(state.messages[0].starts_with("cannot read "), "{state:?}");
    }

    #[tokio::test]
    async fn start_of_a_mounted_filesystem_is_already_mounted() {
        let fake = Fake::new("fs-already");
        fake.mounted();
        fake.driver(fake.image_spec(), &[])
            .start(&fake.resource_log())
            .await
            .unwrap();
        assert!(fake.runner.calls().is_empty());
        assert_eq!(
            fake.lines(),
            [format!(
                "fs({} {}) is already mounted",
                fake.image(),
                fake.mnt()
            )]
        );
    }

    #[tokio::test]
    async fn start_creates_the_mount_point_checks_then_mounts_with_loop() {
        let fake = Fake::new("fs-start");
        let (img, mnt) = (fake.image(), fake.mnt());
        fake.runner
            .expect(
                "fsck -p",
                CommandOutput::ok("fsck from util-linux 2.38.1\n"),
            )
            .expect("mount", CommandOutput::ok(""));
        fake.driver(fake.image_spec(), &[])
            .start(&fake.resource_log())
            .await
            .unwrap();
        let mount = format!("mount -t ext4 -o rw,loop {img} {mnt}");
        assert_eq!(
            fake.runner.calls(),
            [format!("fsck -p {img}"), mount.clone()]
        );
        assert_eq!(
            fake.lines(),
            [
                format!("create missing mountpoint {mnt}"),
                format!("fsck -p {img}"),
                mount
            ]
        );
        assert!(Path::new(&mnt).is_dir());
    }

    #[tokio::test]
    async fn start_without_type_or_options_lets_mount_guess_and_skips_fsck() {
        let fake = Fake::new("fs-guess");
        std::fs::create_dir_all(fake.mnt()).unwrap();
        fake.runner.expect("mount", CommandOutput::ok(""));
        let mut spec = fake.image_spec();
        spec.fs_type = None;
        spec.mnt_opt = None;
        fake.driver(spec, &[])
            .start(&fake.resource_log())
            .await
            .unwrap();
        assert_eq!(
            fake.runner.calls(),
            [format!("mount -o loop {} {}", fake.image(), fake.mnt())]
        );
        assert_eq!(fake.lines().len(), 1, "no mountpoint creation logged");
    }

    #[tokio::test]
    async fn start_skips_fsck_when_disabled_or_not_ext() {
        for (fs_type, fsck) in [("ext4", false), ("xfs", true)] {
            let fake = Fake::new("fs-nofsck");
            fake.runner.expect("mount", CommandOutput::ok(""));
            let mut spec = fake.image_spec();
            spec.fs_type = Some(fs_type.into());
            spec.fsck = fsck;
            fake.driver(spec, &[])
                .start(&fake.resource_log())
                .await
                .unwrap();
            assert_eq!(fake.runner.calls().len(), 1);
            assert!(fake.runner.calls()[0].starts_with(&format!("mount -t {fs_type} ")));
        }
    }

    #[tokio::test]
    async fn fsck_that_corrected_errors_lets_the_mount_go_on() {
        let fake = Fake::new("fs-fsck1");
        fake.runner
            .expect(
                "fsck -p",
                CommandOutput {
                    code: Some(1),
                    stdout: "disk.img: 11/8192 files (0.0% non-contiguous)\n".into(),
                    stderr: String::new(),
                },
            )
            .expect("mount", CommandOutput::ok(""));
        fake.driver(fake.image_spec(), &[])
            .start(&fake.resource_log())
            .await
            .unwrap();
        assert!(fake.runner.exhausted());
        assert!(fake
            .log
            .resource_lines("fs#1")
            .iter()
            .any(|l| l.contains("WARNING") && l.contains("fsck corrected errors")));
    }

    #[tokio::test]
    async fn fsck_failure_fails_the_start_with_its_output() {
        let fake = Fake::new("fs-fsck4");
        fake.runner.expect(
            "fsck -p",
            CommandOutput {
                code: Some(4),
                stdout: "disk.img: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n".into(),
                stderr: "\n".into(),
            },
        );
        let e = fake
            .driver(fake.image_spec(), &[])
            .start(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(
            e.message(),
            format!(
                "fsck -p {} failed (exit 4): disk.img: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.",
                fake.image()
            )
        );
        assert_eq!(fake.runner.calls().len(), 1, "no mount after a failed fsck");
    }

    #[tokio::test]
    async fn start_reports_mount_stderr() {
        let fake = Fake::new("fs-mountfail");
        fake.runner.expect("fsck -p", CommandOutput::ok("")).expect(
            "mount",
            CommandOutput::failed(
                32,
                "mount: /x: wrong fs type, bad option, bad superblock.\n",
            ),
        );
        let e = fake
            .driver(fake.image_spec(), &[])
            .start(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert!(e
            .message()
            .ends_with("failed (exit 32): mount: /x: wrong fs type, bad option, bad superblock."));
    }

    #[tokio::test]
    async fn start_of_a_missing_device_fails() {
        let fake = Fake::new("fs-nodev");
        let e = fake
            .driver(spec("/dev/mapper/vgapp-lvapproot", &fake.mnt()), &[])
            .start(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert!(
            e.message()
                .starts_with("device /dev/mapper/vgapp-lvapproot not found ("),
            "{}",
            e.message()
        );
        assert!(fake.runner.calls().is_empty());
        assert!(!Path::new(&fake.mnt()).exists(), "nothing created");
    }

    #[tokio::test]
    async fn start_refuses_a_device_that_is_not_one() {
        let fake = Fake::new("fs-notdev");
        let e = fake
            .driver(spec("/dev/null", &fake.mnt()), &[])
            .start(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        assert_eq!(
            e.message(),
            "dev /dev/null is a character device, not a block device or an image file"
        );
    }

    #[tokio::test]
    async fn start_refuses_to_mount_an_image_twice_or_over_another_mount() {
        let fake = Fake::new("fs-twice");
        fake.mount_table(&[ROOT, "100 27 7:7 / /elsewhere rw - ext4 /dev/loop7 rw"]);
        let e = fake
            .driver(fake.image_spec(), &[])
            .start(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EBUSY);
        assert_eq!(
            e.message(),
            format!(
                "{} is mounted on /elsewhere instead of {}: unmount it there first",
                fake.image(),
                fake.mnt()
            )
        );
        fake.mount_table(&[
            ROOT,
            &format!("100 27 0:50 / {} rw - tmpfs tmpfs rw", fake.mnt()),
        ]);
        let e = fake
            .driver(fake.image_spec(), &[])
            .start(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EBUSY);
        assert_eq!(
            e.message(),
            format!(
                "tmpfs (tmpfs) is mounted on {} instead of {}: unmount it first",
                fake.mnt(),
                fake.image()
            )
        );
        assert!(fake.runner.calls().is_empty());
    }

    #[tokio::test]
    async fn stop_of_an_unmounted_filesystem_is_already_unmounted() {
        let fake = Fake::new("fs-stopdown");
        fake.driver(fake.image_spec(), &[])
            .stop(&fake.resource_log())
            .await
            .unwrap();
        assert!(fake.runner.calls().is_empty());
        assert_eq!(
            fake.lines(),
            [format!(
                "fs({} {}) is already unmounted",
                fake.image(),
                fake.mnt()
            )]
        );
    }

    #[tokio::test]
    async fn stop_leaves_someone_elses_mount_alone() {
        let fake = Fake::new("fs-stopother");
        std::fs::create_dir_all(fake.mnt()).unwrap();
        fake.mount_table(&[
            ROOT,
            &format!("100 27 0:50 / {} rw - tmpfs tmpfs rw", fake.mnt()),
        ]);
        fake.driver(fake.image_spec(), &[])
            .stop(&fake.resource_log())
            .await
            .unwrap();
        assert!(fake.runner.calls().is_empty());
        assert_eq!(fake.lines().len(), 2);
        assert_eq!(
            fake.lines()[1],
            format!(
                "tmpfs (tmpfs) is mounted on {} instead of {}: left alone",
                fake.mnt(),
                fake.image()
            )
        );
    }

    #[tokio::test]
    async fn stop_refuses_to_unmount_what_hides_the_device() {
        let fake = Fake::new("fs-hidden");
        fake.mounted();
        let mnt = fake.mnt();
        fake.mount_table(&[
            ROOT,
            &format!("100 27 7:7 / {mnt} rw - ext4 /dev/loop7 rw"),
            &format!("101 100 0:50 / {mnt} rw - tmpfs over rw"),
        ]);
        let driver = fake.driver(fake.image_spec(), &[]);
        assert_eq!(driver.status().await.status, Status::Warn);
        let e = driver.stop(&fake.resource_log()).await.unwrap_err();
        assert_eq!(e.errno(), libc::EBUSY);
        assert_eq!(
            e.message(),
            format!(
                "{} is mounted on {mnt} but hidden by over (tmpfs) mounted over it: unmount that first",
                fake.image()
            )
        );
        assert!(fake.runner.calls().is_empty());
    }

    #[tokio::test]
    async fn stop_unmounts() {
        let fake = Fake::new("fs-stop");
        fake.mounted();
        fake.runner.expect("umount", CommandOutput::ok(""));
        fake.driver(fake.image_spec(), &[])
            .stop(&fake.resource_log())
            .await
            .unwrap();
        assert_eq!(fake.runner.calls(), [format!("umount {}", fake.mnt())]);
        assert_eq!(fake.lines(), [format!("umount {}", fake.mnt())]);
    }

    #[tokio::test]
    async fn busy_unmount_names_the_holders_and_kills_nobody() {
        let fake = Fake::new("fs-busy");
        fake.mounted();
        let mnt = fake.mnt();
        fake.process(SH, "sh", "cwd", &format!("{mnt}/dir"));
        fake.process(SLEEP, "sleep", "fd/3", &format!("{mnt}/log"));
        fake.process(9_000_003, "bash", "cwd", "/");
        fake.runner.expect("umount", busy(&mnt));
        let e = fake
            .driver(fake.image_spec(), &[])
            .stop(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EBUSY);
        assert_eq!(
            e.message(),
            format!("{mnt} is busy: held by {SH} (sh), {SLEEP} (sleep); set kill_procs = true to have svcfs kill them")
        );
        assert_eq!(fake.runner.calls(), [format!("umount {mnt}")]);
        assert!(fake.signals.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn busy_unmount_with_kill_procs_terms_then_kills_then_unmounts() {
        let fake = Fake::new("fs-kill");
        fake.mounted();
        let mnt = fake.mnt();
        fake.process(SH, "sh", "cwd", &format!("{mnt}/dir"));
        fake.process(SLEEP, "sleep", "fd/3", &format!("{mnt}/log"));
        fake.runner
            .expect("umount", busy(&mnt))
            .expect("umount", CommandOutput::ok(""));
        let mut spec = fake.image_spec();
        spec.kill_procs = true;
        // sh exits at SIGTERM; sleep ignores it and needs SIGKILL.
        fake.driver(spec, &[SH])
            .stop(&fake.resource_log())
            .await
            .unwrap();
        assert_eq!(
            *fake.signals.lock().unwrap(),
            [
                (SH, Signal::SIGTERM),
                (SLEEP, Signal::SIGTERM),
                (SLEEP, Signal::SIGKILL)
            ]
        );
        assert_eq!(
            fake.runner.calls(),
            [format!("umount {mnt}"), format!("umount {mnt}")]
        );
        assert_eq!(
            fake.lines(),
            [
                format!("umount {mnt}"),
                format!("{mnt} is busy: held by {SH} (sh), {SLEEP} (sleep); killing them (kill_procs = true)"),
                format!("kill -TERM {SH} {SLEEP}"),
                format!("kill -KILL {SLEEP}"),
                format!("umount {mnt}"),
            ]
        );
    }

    #[tokio::test]
    async fn processes_that_exit_at_sigterm_are_not_killed() {
        let fake = Fake::new("fs-term");
        fake.mounted();
        let mnt = fake.mnt();
        fake.process(SH, "sh", "cwd", &mnt);
        fake.runner
            .expect("umount", busy(&mnt))
            .expect("umount", CommandOutput::ok(""));
        let mut spec = fake.image_spec();
        spec.kill_procs = true;
        fake.driver(spec, &[SH])
            .stop(&fake.resource_log())
            .await
            .unwrap();
        assert_eq!(*fake.signals.lock().unwrap(), [(SH, Signal::SIGTERM)]);
    }

    #[tokio::test]
    async fn busy_with_a_nested_mount_says_so() {
        let fake = Fake::new("fs-nested");
        fake.mounted();
        let mnt = fake.mnt();
        let inner = format!("{mnt}/appdata");
        fake.mount_table(&[
            ROOT,
            &format!("100 27 7:7 / {mnt} rw - ext4 /dev/loop7 rw"),
            &format!("101 100 7:8 / {inner} rw - ext4 /dev/loop8 rw"),
        ]);
        // Inside the nested filesystem: not a holder of this one.
        fake.process(SH, "sh", "cwd", &inner);
        fake.runner.expect("umount", busy(&mnt));
        let mut spec = fake.image_spec();
        spec.kill_procs = true;
        let e = fake
            .driver(spec, &[])
            .stop(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EBUSY);
        assert_eq!(
            e.message(),
            format!("{mnt} is busy: {inner} mounted inside it; unmount it first")
        );
        assert!(fake.signals.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn busy_without_holder_is_retried_before_failing() {
        let fake = Fake::new("fs-transient");
        fake.mounted();
        let mnt = fake.mnt();
        // A process that was exiting: busy once, then free.
        fake.runner.expect("umount", busy(&mnt));
        fake.runner.expect("umount", CommandOutput::ok(""));
        fake.driver(fake.image_spec(), &[])
            .stop(&fake.resource_log())
            .await
            .unwrap();
        assert!(fake.runner.exhausted());

        let fake = Fake::new("fs-busy-forever");
        fake.mounted();
        let mnt = fake.mnt();
        for _ in 0..=BUSY_RETRIES {
            fake.runner.expect("umount", busy(&mnt));
        }
        let e = fake
            .driver(fake.image_spec(), &[])
            .stop(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EBUSY);
        assert!(
            e.message().contains("no process was found holding it"),
            "{e}"
        );
        assert!(fake.runner.exhausted());
    }

    #[tokio::test]
    async fn other_unmount_failures_are_eio() {
        let fake = Fake::new("fs-umountfail");
        fake.mounted();
        let mnt = fake.mnt();
        fake.runner.expect(
            "umount",
            CommandOutput::failed(32, &format!("umount: {mnt}: not mounted.\n")),
        );
        let e = fake
            .driver(fake.image_spec(), &[])
            .stop(&fake.resource_log())
            .await
            .unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(
            e.message(),
            format!("umount {mnt} failed (exit 32): umount: {mnt}: not mounted.")
        );
    }
}
