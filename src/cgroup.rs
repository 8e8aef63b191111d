//! A process's control group and what it has used, read from cgroupfs:
//! the group is found through `/proc/<pid>/cgroup` (its PID 1 for a
//! container) joined with where each hierarchy is mounted (the daemon's
//! own `/proc/self/mountinfo`), and each counter of
//! [`crate::model::usage`] is one small kernel file, read when asked.
//!
//! Both layouts are read, and what docker's two cgroup drivers make of
//! them alike (`/docker/<id>` for cgroupfs, `/system.slice/docker-<id>.scope`
//! for systemd: a path is a path): cgroup v1, one hierarchy per
//! controller or group of controllers (`cpu,cpuacct`), and cgroup v2,
//! one unified hierarchy. A hybrid host (v1 controllers, and a v2
//! hierarchy without controllers, as this project's test machine has)
//! takes each counter from v1 first, then from v2.

use std::path::{Path, PathBuf};

use crate::model::usage::{Amount, Counter};

/// A limit at or above this is no limit: cgroup v1 shows "unlimited" as
/// the largest page-aligned counter (9223372036854771712 on 4 KiB pages).
const V1_UNLIMITED: u64 = 1 << 62;

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    /// The v1 controllers it carries (`cpu`, `cpuacct`, `name=systemd`);
    /// `None` for the v2 hierarchy.
    controllers: Option<Vec<String>>,
    /// The group mounted there (`/` unless the mount is of a subtree).
    root: String,
    /// Where it is mounted.
    point: PathBuf,
}

/// Where the cgroup hierarchies are mounted, as one mount table says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchies {
    mounts: Vec<Mount>,
}

/// A process's group: its directory in each hierarchy that has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cgroup {
    /// (controller, directory) of each v1 hierarchy.
    v1: Vec<(String, PathBuf)>,
    /// Its directory in the v2 hierarchy.
    v2: Option<PathBuf>,
}

impl Hierarchies {
    /// The hierarchies of a mount table in `/proc/<pid>/mountinfo`'s
    /// format.
    pub fn parse(mountinfo: &str) -> Self {
        let mounts = mountinfo
            .lines()
            .filter_map(|line| {
                let (mount, rest) = line.split_once(" - ")?;
                let fields: Vec<&str> = mount.split(' ').collect();
                let (root, point) = (fields.get(3)?, fields.get(4)?);
                let mut rest = rest.split(' ');
                let fstype = rest.next()?;
                let _source = rest.next();
                let options = rest.next().unwrap_or("");
                let controllers = match fstype {
                    "cgroup2" => None,
                    "cgroup" => Some(
                        options
                            .split(',')
                            .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains("release_agent"))
                            .map(str::to_string)
                            .collect(),
                    ),
                    _ => return None,
                };
                Some(Mount {
                    controllers,
                    root: unescape(root),
                    point: PathBuf::from(unescape(point)),
                })
            })
            .collect();
        Hierarchies { mounts }
    }

    /// The hierarchies this process sees.
    pub fn of_this_host() -> std::io::Result<Self> {
        Ok(Self::parse(&std::fs::read_to_string(
            "/proc/self/mountinfo",
        )?))
    }

    /// The group of the process whose `/proc/<pid>/cgroup` reads
    /// `membership`; `None` when no hierarchy of it is mounted here.
    pub fn locate(&self, membership: &str) -> Option<Cgroup> {
        let mut group = Cgroup::default();
        for line in membership.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_id), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if controllers.is_empty() {
                let mount = self.mounts.iter().find(|m| m.controllers.is_none());
                group.v2 = mount.and_then(|m| under(m, path));
                continue;
            }
            for controller in controllers.split(',') {
                let mount = self.mounts.iter().find(|m| {
                    m.controllers
                        .as_ref()
                        .is_some_and(|c| c.iter().any(|c| c == controller))
                });
                if let Some(dir) = mount.and_then(|m| under(m, path)) {
                    group.v1.push((controller.to_string(), dir));
                }
            }
        }
        (!group.v1.is_empty() || group.v2.is_some()).then_some(group)
    }

    /// The group of process `pid`, from `<proc_root>/<pid>/cgroup`.
    pub fn of_pid(&self, proc_root: &Path, pid: u32) -> Option<Cgroup> {
        let membership = std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup"));
        self.locate(&membership.ok()?)
    }
}

/// The directory of group `path` in `mount`, when the mount holds it.
fn under(mount: &Mount, path: &str) -> Option<PathBuf> {
    let relative = if mount.root == "/" {
        path
    } else {
        let rest = path.strip_prefix(mount.root.as_str())?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    Some(mount.point.join(relative.trim_start_matches('/')))
}

/// mountinfo's octal escapes (`\040` for a space) undone.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(digits)) => {
                let value = digits.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Cgroup {
    /// Its directory in the v1 hierarchy of `controller`.
    fn v1(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, dir)| dir.as_path())
    }

    /// The contents of `file` in the v1 directory of `controller`.
    fn read_v1(&self, controller: &str, file: &str) -> Option<String> {
        std::fs::read_to_string(self.v1(controller)?.join(file)).ok()
    }

    /// The contents of `file` in the v2 directory.
    fn read_v2(&self, file: &str) -> Option<String> {
        std::fs::read_to_string(self.v2.as_ref()?.join(file)).ok()
    }

    /// What `counter` says now; `None` when this group has no such file
    /// (the controller is not mounted, or not enabled in v2).
    pub fn read(&self, counter: Counter) -> Option<Amount> {
        match counter {
            Counter::Cpu => self
                .read_v1("cpuacct", "cpuacct.usage")
                .and_then(|t| number(&t))
                .or_else(|| {
                    let usec = keyed(&self.read_v2("cpu.stat")?, "usage_usec")?;
                    Some(usec.saturating_mul(1000))
                })
                .map(Amount::Value),
            Counter::Memory => self
                .read_v1("memory", "memory.usage_in_bytes")
                .or_else(|| self.read_v2("memory.current"))
                .and_then(|t| number(&t))
                .map(Amount::Value),
            Counter::MemoryLimit => match self.read_v1("memory", "memory.limit_in_bytes") {
                Some(text) => number(&text).map(|n| match n {
                    n if n >= V1_UNLIMITED => Amount::Unlimited,
                    n => Amount::Value(n),
                }),
                None => match self.read_v2("memory.max")?.trim() {
                    "max" => Some(Amount::Unlimited),
                    text => number(text).map(Amount::Value),
                },
            },
            Counter::Processes => {
                let procs = match &self.v2 {
                    Some(_) => self.read_v2("cgroup.procs"),
                    None => None,
                }
                .or_else(|| {
                    self.v1
                        .iter()
                        .find_map(|(_, dir)| std::fs::read_to_string(dir.join("cgroup.procs")).ok())
                })?;
                Some(Amount::Value(
                    procs.lines().filter(|l| !l.trim().is_empty()).count() as u64,
                ))
            }
            Counter::IoRead | Counter::IoWrite => {
                let read = counter == Counter::IoRead;
                let v1 = self
                    .read_v1("blkio", "blkio.throttle.io_service_bytes")
                    .filter(|t| !t.trim().is_empty())
                    .or_else(|| self.read_v1("blkio", "blkio.io_service_bytes"));
                match v1 {
                    Some(text) => Some(v1_io(&text, if read { "Read" } else { "Write" })),
                    None => Some(v2_io(
                        &self.read_v2("io.stat")?,
                        if read { "rbytes" } else { "wbytes" },
                    )),
                }
                .map(Amount::Value)
            }
        }
    }
}

fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The value of `key` in a `key value` file (`cpu.stat`).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| number(v)).flatten()
    })
}

/// The sum over devices of the `op` lines of a v1 blkio file
/// (`8:0 Read 4096`; the `Total` line is not a device).
fn v1_io(text: &str, op: &str) -> u64 {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (_device, kind, value) = (words.next()?, words.next()?, words.next()?);
            (kind == op).then(|| value.parse::<u64>().ok()).flatten()
        })
        .fold(0, u64::saturating_add)
}

/// The sum over devices of `key=` in v2's `io.stat`
/// (`8:0 rbytes=4096 wbytes=0 rios=1 …`).
fn v2_io(text: &str, key: &str) -> u64 {
    text.lines()
        .flat_map(|line| line.split_whitespace().skip(1))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == key).then(|| v.parse::<u64>().ok()).flatten()
        })
        .fold(0, u64::saturating_add)
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;
