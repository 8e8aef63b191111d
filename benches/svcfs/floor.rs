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
/// unmounted.
pub fn serve(caching: &str) {
    let caching = match caching {
        "cached" => Caching::Cached,
        _ => Caching::Uncached,
    };
    let mountpoint = PathBuf::from(std::env::var_os(AT_ENV).expect("the floor's mountpoint"));
    let session = session(caching, &mountpoint);
    if let Err(e) = session.run() {
        eprintln!("floor server: {e}");
    }
}

fn session(caching: Caching, mountpoint: &Path) -> fuser::Session<FloorFs> {
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("svcfs-bench-floor".to_string()),
        MountOption::Subtype("svcfs-bench-floor".to_string()),
        // svcfs's options (src/daemon.rs): writable, as svcfs's ctl
        // files need, which also makes the kernel track atime.
        MountOption::DefaultPermissions,
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::NoExec,
    ];
    // The same session as svcfs's (src/daemon.rs): four workers with
    // their own fd, so that the floor differs from svcfs only in the
    // work done per request.
    config.n_threads = Some(4);
    config.clone_fd = true;
    let fs = FloorFs {
        caching,
        started: SystemTime::now(),
    };
    fuser::Session::new(fs, mountpoint, &config)
        .unwrap_or_else(|e| panic!("mount the {} floor: {e}", caching.name()))
}

impl Floor {
    /// Mount a floor at /tmp/svcfs-bench-floor-<caching>, served by a
    /// child process.
    pub fn mount(caching: Caching) -> Floor {
        let mountpoint = std::env::temp_dir().join(format!("svcfs-bench-floor-{}", caching.name()));
        unmount_leftover(&mountpoint);
        std::fs::create_dir_all(&mountpoint)
            .unwrap_or_else(|e| panic!("create {}: {e}", mountpoint.display()));
        let exe = std::env::current_exe().expect("the bench binary");
        let server = std::process::Command::new(exe)
            .env(SERVE_ENV, caching.name())
            .env(AT_ENV, &mountpoint)
            .spawn()
            .unwrap_or_else(|e| panic!("start the {} floor: {e}", caching.name()));
        let floor = Floor {
            mountpoint,
            server: Some(server),
        };
        let mounted = crate::harness::wait_until(Duration::from_secs(10), || {
            crate::harness::is_mounted(&floor.mountpoint)
        });
        assert!(mounted, "the {} floor did not mount", caching.name());
        // The session serves once the kernel has sent INIT; the first read
        // waits for it.
        let got = std::fs::read(floor.file()).expect("read the floor's file");
        assert_eq!(got, CONTENT, "the {} floor serves its file", caching.name());
        floor
    }

    /// The served file.
    pub fn file(&self) -> PathBuf {
        self.mountpoint.join(FILE)
    }
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
