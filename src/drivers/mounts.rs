//! The kernel's mount table and the identity of the devices in it: parsing
//! `/proc/self/mountinfo`, telling whether an entry is a given device under
//! any of its names (`/dev/mapper/vg-lv`, `/dev/vg/lv`, `/dev/dm-N`, a
//! symlink, an image file behind `/dev/loopN`), and finding the processes
//! that keep a mount point busy. Parsers take text and directory roots, so
//! they are tested against fake tables and fake `/proc` / `/sys` trees.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Where the running process's mount table lives.
pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One line of `/proc/<pid>/mountinfo` (see proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Unique id of the mount.
    pub mount_id: u32,
    /// Id of the parent mount.
    pub parent_id: u32,
    /// `major:minor` of the filesystem (`st_dev` of its files).
    pub dev: (u32, u32),
    /// The directory of the filesystem that forms the root of this mount
    /// (`/` unless it is a bind mount of a subdirectory).
    pub root: PathBuf,
    /// Where it is mounted, relative to the process's root.
    pub mount_point: PathBuf,
    /// Per-mount options.
    pub options: String,
    /// Filesystem type (`ext4`, `tmpfs`, ...).
    pub fs_type: String,
    /// The mount source: a device path, or free text (`tmpfs`, `none`).
    pub source: PathBuf,
}

impl MountEntry {
    /// `source (fs_type)`, for messages.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.source.display(), self.fs_type)
    }
}

/// Parse a mountinfo table. Lines that do not have the documented shape
/// are skipped (the kernel never writes them; a fake might).
pub fn parse_mountinfo(text: &[u8]) -> Vec<MountEntry> {
    text.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .filter_map(parse_line)
        .collect()
}

/// One line: `id parent major:minor root mount-point options
/// [optional fields...] - fstype source super-options`.
fn parse_line(line: &[u8]) -> Option<MountEntry> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let number = |field: &[u8]| std::str::from_utf8(field).ok()?.parse::<u32>().ok();
    let mount_id = number(fields.first()?)?;
    let parent_id = number(fields.get(1)?)?;
    let (major, minor) = std::str::from_utf8(fields.get(2)?).ok()?.split_once(':')?;
    let dev = (major.parse().ok()?, minor.parse().ok()?);
    let root = PathBuf::from(unescape(fields.get(3)?));
    let mount_point = PathBuf::from(unescape(fields.get(4)?));
    let options = String::from_utf8_lossy(fields.get(5)?).into_owned();
    // Zero or more optional fields (shared:N, master:N, ...) end at "-".
    let separator = 6 + fields.get(6..)?.iter().position(|f| *f == b"-")?;
    let fs_type =
        String::from_utf8_lossy(&unescape(fields.get(separator + 1)?).into_vec()).into_owned();
    let source = PathBuf::from(unescape(fields.get(separator + 2)?));
    Some(MountEntry {
        mount_id,
        parent_id,
        dev,
        root,
        mount_point,
        options,
        fs_type,
        source,
    })
}

/// Undo the kernel's octal escapes (`\040` space, `\011` tab, `\012`
/// newline, `\134` backslash). Anything else is kept as is.
pub fn unescape(field: &[u8]) -> OsString {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|digits| field[i] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d)));
        match octal {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                // \400 and above are not bytes: keep the text.
                match u8::try_from(value) {
                    Ok(byte) => out.push(byte),
                    Err(_) => out.extend_from_slice(&field[i..i + 4]),
                }
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    OsString::from_vec(out)
}

/// Read and parse this process's mount table.
pub fn read_mount_table(path: &Path) -> std::io::Result<Vec<MountEntry>> {
    Ok(parse_mountinfo(&std::fs::read(path)?))
}

/// What a configured `dev` is on this host, symlinks followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// A block device and its numbers (the `st_dev` of the filesystem on it).
    Block {
        /// The canonical device node.
        path: PathBuf,
        /// `major:minor`.
        rdev: (u32, u32),
    },
    /// A regular file: an image mounted through a loop device.
    File {
        /// The canonical path, as the loop driver records it.
        path: PathBuf,
    },
    /// Nothing at that path (an LV of an inactive VG, a typo).
    Missing,
    /// A directory, character device, socket...
    Other {
        /// What it is, for messages.
        kind: &'static str,
    },
}

/// Look `dev` up: follow symlinks, then tell block devices (with their
/// numbers) from image files.
pub fn resolve_device(dev: &Path) -> Device {
    let Ok(path) = std::fs::canonicalize(dev) else {
        return Device::Missing;
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Device::Missing;
    };
    let kind = meta.file_type();
    if kind.is_block_device() {
        Device::Block {
            path,
            rdev: split_dev(meta.rdev()),
        }
    } else if kind.is_file() {
        Device::File { path }
    } else if kind.is_dir() {
        Device::Other { kind: "directory" }
    } else if kind.is_char_device() {
        Device::Other {
            kind: "character device",
        }
    } else {
        Device::Other {
            kind: "special file",
        }
    }
}

/// `major:minor` of a `dev_t`.
pub fn split_dev(dev: u64) -> (u32, u32) {
    (libc::major(dev), libc::minor(dev))
}

/// Whether a mount entry is the filesystem on `device` (`written` is
/// `dev` as configured, the last resort when the device cannot be looked
/// up). `sys_root` is `/sys`, or a fake tree in tests.
pub fn is_device(entry: &MountEntry, device: &Device, written: &Path, sys_root: &Path) -> bool {
    if entry.source == written {
        return true;
    }
    match device {
        Device::Block { path, rdev } => {
            // The numbers name the device whatever alias the mount used;
            // filesystems with anonymous numbers (btrfs) are matched by
            // their source's numbers instead.
            entry.dev == *rdev || entry.source == *path || source_rdev(&entry.source) == Some(*rdev)
        }
        Device::File { path } => loop_device_name(&entry.source)
            .and_then(|name| loop_backing_file(sys_root, name))
            .is_some_and(|backing| backing == *path),
        Device::Missing | Device::Other { .. } => false,
    }
}

/// The numbers of a mount source that is a device node under `/dev` (other
/// sources are not looked up: they may be on a hung network filesystem).
fn source_rdev(source: &Path) -> Option<(u32, u32)> {
    if !source.starts_with("/dev") {
        return None;
    }
    let meta = std::fs::metadata(source).ok()?;
    meta.file_type()
        .is_block_device()
        .then(|| split_dev(meta.rdev()))
}

/// `loop3` for `/dev/loop3`.
fn loop_device_name(source: &Path) -> Option<&str> {
    let name = source.strip_prefix("/dev").ok()?.to_str()?;
    let digits = name.strip_prefix("loop")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

/// The file behind a loop device, from `<sys_root>/block/<name>/loop/backing_file`.
pub fn loop_backing_file(sys_root: &Path, name: &str) -> Option<PathBuf> {
    let raw = std::fs::read(sys_root.join("block").join(name).join("loop/backing_file")).ok()?;
    let trimmed = raw.strip_suffix(b"\n").unwrap_or(&raw);
    Some(PathBuf::from(OsString::from_vec(trimmed.to_vec())))
}

/// `mnt` as the mount table spells it: canonical when it exists (symlinks
/// and `..` resolved), else as written.
pub fn canonical_mount_point(mnt: &Path) -> PathBuf {
    std::fs::canonicalize(mnt).unwrap_or_else(|_| mnt.to_path_buf())
}

/// A process that keeps a filesystem busy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its pid.
    pub pid: u32,
    /// Its command name (`/proc/<pid>/comm`).
    pub comm: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.pid, self.comm)
    }
}

/// The processes using files under `mnt` — through their working
/// directory, root, executable, open files or mapped files — except
/// under the `excluded` mount points (filesystems mounted inside `mnt`,
/// which hold their own processes). `proc_root` is `/proc`, or a fake
/// tree in tests. Processes that vanish while scanned are skipped. Sorted
/// by pid.
///
/// Only processes of svcfs's own mount namespace are considered: the paths
/// a process in another one (a container, say) shows are paths of its own
/// namespace, and a match there says nothing about this filesystem — such
/// a process must never be killed for it.
pub fn find_holders(proc_root: &Path, mnt: &Path, excluded: &[PathBuf]) -> Vec<Holder> {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let namespace = |dir: &Path| std::fs::read_link(dir.join("ns").join("mnt")).ok();
    let ours = namespace(&proc_root.join("self"));
    let inside = |path: &Path| {
        let path = strip_deleted(path);
        path.starts_with(mnt) && !excluded.iter().any(|sub| path.starts_with(sub))
    };
    let mut holders: Vec<Holder> = entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let dir = entry.path();
            if namespace(&dir) != ours {
                return None;
            }
            process_paths(&dir)
                .iter()
                .any(|p| inside(p))
                .then(|| Holder {
                    pid,
                    comm: std::fs::read_to_string(dir.join("comm"))
                        .map(|c| c.trim_end().to_string())
                        .unwrap_or_else(|_| "?".to_string()),
                })
        })
        .collect();
    holders.sort_by_key(|h| h.pid);
    holders
}

/// Every path a process uses: cwd, root, exe, open files, mapped files.
fn process_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = ["cwd", "root", "exe"]
        .iter()
        .filter_map(|link| std::fs::read_link(dir.join(link)).ok())
        .collect();
    if let Ok(fds) = std::fs::read_dir(dir.join("fd")) {
        paths.extend(
            fds.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok()),
        );
    }
    if let Ok(maps) = std::fs::read(dir.join("maps")) {
        paths.extend(
            maps.split(|&b| b == b'\n')
                .filter_map(maps_path)
                .map(|p| PathBuf::from(OsString::from_vec(p.to_vec()))),
        );
    }
    // Sockets, pipes and anonymous mappings are not paths.
    paths.retain(|p| p.is_absolute());
    paths
}

/// The path of a `/proc/<pid>/maps` line (`address perms offset dev inode
/// path`), which may contain spaces; `None` for anonymous mappings.
fn maps_path(line: &[u8]) -> Option<&[u8]> {
    let mut rest = line;
    for _ in 0..5 {
        let start = rest.iter().position(|b| *b != b' ')?;
        rest = &rest[start..];
        let end = rest.iter().position(|b| *b == b' ')?;
        rest = &rest[end..];
    }
    let start = rest.iter().position(|b| *b != b' ')?;
    Some(&rest[start..])
}

/// `/a/b` for `/a/b (deleted)`: a deleted file still holds its filesystem.
fn strip_deleted(path: &Path) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    match bytes.strip_suffix(b" (deleted)") {
        Some(stripped) => PathBuf::from(OsString::from_vec(stripped.to_vec())),
        None => path.to_path_buf(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const TABLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
75 27 7:0 / /tmp/x/m rw,relatime - ext4 /dev/loop0 rw
80 27 253:3 / /opt/app.opensvc.com rw,relatime shared:7 master:2 - ext4 /dev/mapper/vgapp-lvapproot rw,errors=remount-ro
81 80 0:45 /sub /opt/with\\040space\\011tab\\134back rw - tmpfs my\\040src rw
";

    fn table() -> Vec<MountEntry> {
        parse_mountinfo(TABLE.as_bytes())
    }

    #[test]
    fn mountinfo_fields_are_parsed() {
        let t = table();
        assert_eq!(t.len(), 5);
        assert_eq!(
            t[2],
            MountEntry {
                mount_id: 75,
                parent_id: 27,
                dev: (7, 0),
                root: "/".into(),
                mount_point: "/tmp/x/m".into(),
                options: "rw,relatime".into(),
                fs_type: "ext4".into(),
                source: "/dev/loop0".into(),
            }
        );
    }

    #[test]
    fn optional_fields_end_at_the_separator() {
        let t = table();
        assert_eq!(t[1].fs_type, "ext4");
        assert_eq!(t[1].source, Path::new("/dev/vda1"));
        assert_eq!(t[3].fs_type, "ext4");
        assert_eq!(t[3].source, Path::new("/dev/mapper/vgapp-lvapproot"));
        assert_eq!(t[3].dev, (253, 3));
    }

    #[test]
    fn escapes_are_undone_in_paths_and_sources() {
        let t = table();
        assert_eq!(t[4].mount_point, Path::new("/opt/with space\ttab\\back"));
        assert_eq!(t[4].root, Path::new("/sub"));
        assert_eq!(t[4].source, Path::new("my src"));
        assert_eq!(unescape(b"a\\012b"), OsString::from("a\nb"));
        // Not an escape: kept as written.
        assert_eq!(unescape(b"a\\9b\\"), OsString::from("a\\9b\\"));
        assert_eq!(unescape(b"\\400"), OsString::from("\\400"));
        // Raw non-UTF-8 bytes survive.
        assert_eq!(unescape(b"\xff\\040").as_bytes(), b"\xff ");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let t = parse_mountinfo(
            b"garbage\n1 2 3:4 / /a rw no-separator ext4 x rw\n5 6 7:8 / /b rw - ext4 /dev/sdb rw\n",
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].mount_point, Path::new("/b"));
    }

    #[test]
    fn block_devices_match_by_numbers_whatever_the_alias() {
        let t = table();
        // /dev/vgapp/lvapproot and /dev/dm-3 resolve to the node 253:3.
        let dm = Device::Block {
            path: "/dev/dm-3".into(),
            rdev: (253, 3),
        };
        let sys = Path::new("/nonexistent");
        assert!(is_device(
            &t[3],
            &dm,
            Path::new("/dev/vgapp/lvapproot"),
            sys
        ));
        assert!(!is_device(
            &t[1],
            &dm,
            Path::new("/dev/vgapp/lvapproot"),
            sys
        ));
        // The mount source as written is enough when the node is gone.
        assert!(is_device(
            &t[3],
            &Device::Missing,
            Path::new("/dev/mapper/vgapp-lvapproot"),
            sys
        ));
        assert!(!is_device(
            &t[3],
            &Device::Missing,
            Path::new("/dev/mapper/other"),
            sys
        ));
    }

    #[test]
    fn image_files_match_the_loop_device_backed_by_them() {
        let tmp = TempDir::new("loop");
        let image = tmp.path().join("disk.img");
        std::fs::write(&image, b"").unwrap();
        let sys = tmp.path().join("sys");
        std::fs::create_dir_all(sys.join("block/loop0/loop")).unwrap();
        std::fs::write(
            sys.join("block/loop0/loop/backing_file"),
            format!("{}\n", image.display()),
        )
        .unwrap();
        // A symlink to the image resolves to the same file.
        let alias = tmp.path().join("alias.img");
        symlink(&image, &alias).unwrap();
        let device = resolve_device(&alias);
        assert_eq!(
            device,
            Device::File {
                path: image.clone()
            }
        );
        let t = table();
        assert!(is_device(&t[2], &device, &alias, &sys));
        assert!(!is_device(&t[1], &device, &alias, &sys));
        // Another file on the same loop device name does not match.
        let other = Device::File {
            path: tmp.path().join("other.img"),
        };
        assert!(!is_device(&t[2], &other, &alias, &sys));
        assert_eq!(loop_device_name(Path::new("/dev/loop12")), Some("loop12"));
        assert_eq!(loop_device_name(Path::new("/dev/loop-control")), None);
        assert_eq!(loop_device_name(Path::new("/tmp/loop1")), None);
    }

    #[test]
    fn devices_are_resolved_by_kind() {
        let tmp = TempDir::new("kinds");
        assert_eq!(resolve_device(&tmp.path().join("none")), Device::Missing);
        assert_eq!(
            resolve_device(tmp.path()),
            Device::Other { kind: "directory" }
        );
        assert_eq!(
            resolve_device(Path::new("/dev/null")),
            Device::Other {
                kind: "character device"
            }
        );
        let dangling = tmp.path().join("dangling");
        symlink(tmp.path().join("none"), &dangling).unwrap();
        assert_eq!(resolve_device(&dangling), Device::Missing);
    }

    #[test]
    fn split_dev_decodes_large_numbers() {
        assert_eq!(split_dev(libc::makedev(253, 3)), (253, 3));
        assert_eq!(split_dev(libc::makedev(259, 1_048_575)), (259, 1_048_575));
    }

    #[test]
    fn maps_lines_yield_their_paths() {
        assert_eq!(
            maps_path(b"7f00-7f01 r-xp 00000000 fd:01 1234       /opt/my app/lib.so"),
            Some(&b"/opt/my app/lib.so"[..])
        );
        assert_eq!(maps_path(b"7f00-7f01 rw-p 00000000 00:00 0 "), None);
        assert_eq!(maps_path(b"7f00-7f01 rw-p 00000000 00:00 0"), None);
        assert_eq!(
            maps_path(b"7ffd-7ffe rw-p 00000000 00:00 0    [stack]"),
            Some(&b"[stack]"[..])
        );
    }

    /// A fake `/proc/<pid>` with links pointing wherever the test says.
    fn fake_process(proc_root: &Path, pid: u32, comm: &str, links: &[(&str, &Path)], maps: &str) {
        let dir = proc_root.join(pid.to_string());
        std::fs::create_dir_all(dir.join("fd")).unwrap();
        std::fs::create_dir_all(dir.join("ns")).unwrap();
        std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
        std::fs::write(dir.join("maps"), maps).unwrap();
        for (name, target) in links {
            symlink(target, dir.join(name)).unwrap();
        }
    }

    #[test]
    fn holders_are_found_through_every_kind_of_reference() {
        let tmp = TempDir::new("holders");
        let proc_root = tmp.path().join("proc");
        let mnt = Path::new("/srv/data");
        fake_process(
            &proc_root,
            10,
            "sh",
            &[("cwd", Path::new("/srv/data/sub"))],
            "",
        );
        fake_process(
            &proc_root,
            11,
            "init",
            &[("cwd", Path::new("/")), ("root", Path::new("/"))],
            "",
        );
        fake_process(
            &proc_root,
            12,
            "chrooted",
            &[("root", Path::new("/srv/data"))],
            "",
        );
        fake_process(
            &proc_root,
            13,
            "prog",
            &[("exe", Path::new("/srv/data/bin/prog (deleted)"))],
            "",
        );
        fake_process(
            &proc_root,
            14,
            "tail",
            &[
                ("fd/0", Path::new("/dev/null")),
                ("fd/3", Path::new("/srv/data/log")),
                ("fd/4", Path::new("socket:[42]")),
            ],
            "",
        );
        fake_process(
            &proc_root,
            15,
            "py",
            &[],
            "7f00-7f01 r-xp 00000000 fd:01 99 /srv/data/lib/x.so\n7f01-7f02 rw-p 00000000 00:00 0 \n",
        );
        // A sibling directory sharing the prefix is not inside.
        fake_process(
            &proc_root,
            16,
            "other",
            &[("cwd", Path::new("/srv/database"))],
            "",
        );
        // Inside a filesystem mounted within mnt: that one's business.
        fake_process(
            &proc_root,
            17,
            "nested",
            &[("cwd", Path::new("/srv/data/appdata/x"))],
            "",
        );
        std::fs::create_dir_all(proc_root.join("self")).unwrap();
        std::fs::write(proc_root.join("meminfo"), "").unwrap();

        let holders = find_holders(&proc_root, mnt, &[PathBuf::from("/srv/data/appdata")]);
        let described: Vec<String> = holders.iter().map(ToString::to_string).collect();
        assert_eq!(
            described,
            [
                "10 (sh)",
                "12 (chrooted)",
                "13 (prog)",
                "14 (tail)",
                "15 (py)"
            ]
        );
        let all = find_holders(&proc_root, mnt, &[]);
        assert_eq!(all.len(), 6);
        assert!(find_holders(&tmp.path().join("no-proc"), mnt, &[]).is_empty());
    }

    #[test]
    fn processes_of_other_mount_namespaces_are_never_holders() {
        let tmp = TempDir::new("namespaces");
        let proc_root = tmp.path().join("proc");
        let mnt = Path::new("/srv/data");
        fake_process(
            &proc_root,
            20,
            "here",
            &[
                ("cwd", Path::new("/srv/data")),
                ("ns/mnt", Path::new("mnt:[4026531841]")),
            ],
            "",
        );
        // In a container, /srv/data is another directory altogether.
        fake_process(
            &proc_root,
            21,
            "there",
            &[
                ("cwd", Path::new("/srv/data")),
                ("ns/mnt", Path::new("mnt:[4026532999]")),
            ],
            "",
        );
        std::fs::create_dir_all(proc_root.join("self").join("ns")).unwrap();
        symlink(
            "mnt:[4026531841]",
            proc_root.join("self").join("ns").join("mnt"),
        )
        .unwrap();
        let holders = find_holders(&proc_root, mnt, &[]);
        assert_eq!(holders.iter().map(|h| h.pid).collect::<Vec<_>>(), [20]);
    }

    /// A directory removed at drop.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "svcfs-mounts-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            TempDir(std::fs::canonicalize(&path).unwrap())
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
