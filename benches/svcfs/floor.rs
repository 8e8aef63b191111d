//! The FUSE floors: the smallest fuser filesystem that serves one
//! directory with one 5-byte file, served by a child process of the bench
//! with the session and mount options of svcfs. What a
//! read of it costs is what any FUSE filesystem pays for the round trips,
//! before doing any work of its own:
//! - uncached: entry and attribute TTL 0 and direct I/O, so every
//!   open+read+close goes to the daemon (lookup, open, read, release);
//! - cached: TTLs of an hour and FOPEN_KEEP_CACHE, so the kernel keeps the
//!   name, the attributes and the page: only open and release reach the
//!   daemon.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, INodeNo, LockOwner,
    MountOption, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen, Request,
};

/// What the one file holds, as a status file would.
pub const CONTENT: &[u8] = b"down\n";
/// The file's name.
pub const FILE: &str = "status";

const ROOT: u64 = 1;
const FILE_INO: u64 = 2;

/// How a floor lets the kernel cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    Uncached,
    Cached,
}

impl Caching {
    pub fn name(self) -> &'static str {
        match self {
            Caching::Uncached => "uncached",
            Caching::Cached => "cached",
        }
    }

    fn ttl(self) -> Duration {
        match self {
            Caching::Uncached => Duration::ZERO,
            Caching::Cached => Duration::from_secs(3600),
        }
    }

    fn open_flags(self) -> FopenFlags {
        match self {
            Caching::Uncached => FopenFlags::FOPEN_DIRECT_IO,
            Caching::Cached => FopenFlags::FOPEN_KEEP_CACHE,
        }
    }
}

struct FloorFs {
    caching: Caching,
    started: SystemTime,
}

impl FloorFs {
    fn attr(&self, ino: u64) -> FileAttr {
        let (kind, perm, size, nlink) = if ino == ROOT {
            (FileType::Directory, 0o555, 0, 2)
        } else {
            (FileType::RegularFile, 0o444, CONTENT.len() as u64, 1)
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: self.started,
            mtime: self.started,
            ctime: self.started,
            crtime: self.started,
            kind,
            perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }
}

impl Filesystem for FloorFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        if parent.0 == ROOT && name == FILE {
            reply.entry(
                &self.caching.ttl(),
                &self.attr(FILE_INO),
                fuser::Generation(0),
            );
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match ino.0 {
            ROOT | FILE_INO => reply.attr(&self.caching.ttl(), &self.attr(ino.0)),
            _ => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        if ino.0 == FILE_INO {
            reply.opened(FileHandle(0), self.caching.open_flags());
        } else {
            reply.error(Errno::EISDIR);
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let start = (offset as usize).min(CONTENT.len());
        let end = start.saturating_add(size as usize).min(CONTENT.len());
        reply.data(&CONTENT[start..end]);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino.0 != ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let entries = [
            (ROOT, FileType::Directory, "."),
            (ROOT, FileType::Directory, ".."),
            (FILE_INO, FileType::RegularFile, FILE),
        ];
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(ino), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }
}

/// The environment variables that make the bench binary a floor server.
pub const SERVE_ENV: &str = "SVCFS_BENCH_FLOOR_SERVE";
const AT_ENV: &str = "SVCFS_BENCH_FLOOR_AT";

/// A mounted floor, served by a process of its own like svcfs (a server in
/// the reader's own process saves the switch between two address spaces on
/// every round trip); unmounted (and its directory removed) on drop.
pub struct Floor {
    mountpoint: PathBuf,
    server: Option<std::process::Child>,
}

/// In the floor server process (see [`SERVE_ENV`]): mount and serve until
/// unmounted. `kind` is a [`Caching`] name or a tree floor's kind.
pub fn serve(kind: &str) {
    let mountpoint = PathBuf::from(std::env::var_os(AT_ENV).expect("the floor's mountpoint"));
    match kind {
        crate::tree_floor::KIND => return crate::tree_floor::serve(&mountpoint, false),
        crate::tree_floor::NO_OPEN_KIND => return crate::tree_floor::serve(&mountpoint, true),
        _ => {}
    }
    let caching = match kind {
        "cached" => Caching::Cached,
        _ => Caching::Uncached,
    };
    let fs = FloorFs {
        caching,
        started: SystemTime::now(),
    };
    if let Err(e) = session(fs, &mountpoint, caching.name()).run() {
        eprintln!("floor server: {e}");
    }
}

/// A session with the mount options and threads of svcfs's
/// (src/daemon.rs), so that a floor differs from svcfs only in the work
/// done per request.
pub fn session<FS: Filesystem>(fs: FS, mountpoint: &Path, name: &str) -> fuser::Session<FS> {
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("svcfs-bench-floor".to_string()),
        MountOption::Subtype("svcfs-bench-floor".to_string()),
        // svcfs's options: writable, as svcfs's ctl files need, which also
        // makes the kernel ask for attributes again after a read that
        // reached the daemon (the access time changed).
        MountOption::DefaultPermissions,
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::NoExec,
    ];
    // Four workers with their own fd, as svcfs.
    config.n_threads = Some(4);
    config.clone_fd = true;
    fuser::Session::new(fs, mountpoint, &config)
        .unwrap_or_else(|e| panic!("mount the {name} floor: {e}"))
}

impl Floor {
    /// Mount a floor at /tmp/svcfs-bench-floor-<caching>, served by a
    /// child process.
    pub fn mount(caching: Caching) -> Floor {
        let floor = Floor::start(caching.name(), &[]);
        // The session serves once the kernel has sent INIT; the first read
        // waits for it.
        let got = std::fs::read(floor.file()).expect("read the floor's file");
        assert_eq!(got, CONTENT, "the {} floor serves its file", caching.name());
        floor
    }

    /// Start a floor server of `kind` (with `env` for it) at
    /// /tmp/svcfs-bench-floor-<kind> and wait for its mount.
    pub fn start(kind: &str, env: &[(&str, &OsStr)]) -> Floor {
        let mountpoint = mountpoint(kind);
        unmount_leftover(&mountpoint);
        std::fs::create_dir_all(&mountpoint)
            .unwrap_or_else(|e| panic!("create {}: {e}", mountpoint.display()));
        let exe = std::env::current_exe().expect("the bench binary");
        let server = std::process::Command::new(exe)
            .env(SERVE_ENV, kind)
            .env(AT_ENV, &mountpoint)
            .envs(env.iter().copied())
            .spawn()
            .unwrap_or_else(|e| panic!("start the {kind} floor: {e}"));
        let floor = Floor {
            mountpoint,
            server: Some(server),
        };
        let mounted = crate::harness::wait_until(Duration::from_secs(10), || {
            crate::harness::is_mounted(&floor.mountpoint)
        });
        assert!(mounted, "the {kind} floor did not mount");
        floor
    }

    /// The served file.
    pub fn file(&self) -> PathBuf {
        self.mountpoint.join(FILE)
    }

    /// Where it is mounted.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(|s| s.id())
    }
}

/// Where a floor of `kind` is mounted.
pub fn mountpoint(kind: &str) -> PathBuf {
    std::env::temp_dir().join(format!("svcfs-bench-floor-{kind}"))
}

impl Drop for Floor {
    fn drop(&mut self) {
        // The unmount ends the server's session loop; a server that does
        // not exit by itself is killed.
        let _ = crate::harness::run("fusermount3", &["-u", &self.mountpoint.to_string_lossy()]);
        unmount_leftover(&self.mountpoint);
        if let Some(mut server) = self.server.take() {
            let exited = crate::harness::wait_until(Duration::from_secs(5), || {
                server.try_wait().ok().flatten().is_some()
            });
            if !exited {
                let _ = server.kill();
                let _ = server.wait();
            }
        }
        let _ = std::fs::remove_dir(&self.mountpoint);
    }
}

/// Lazily unmount what a crashed run may have left at `path`.
pub fn unmount_leftover(path: &Path) {
    if crate::harness::is_mounted(path) {
        let _ = crate::harness::run("umount", &["-l", &path.to_string_lossy()]);
    }
}
