//! The FUSE floor of a walk: the smallest fuser filesystem that serves a
//! whole tree (the tmpfs copy of svcfs's, loaded into memory: same names,
//! sizes, modes and shape), cached as far as FUSE caches: TTLs of an
//! hour, every file and listing kept in the page cache. Opens and opendirs
//! still reach it, one round trip each (and a release), as they reach
//! svcfs: what a walk of it costs is what FUSE itself costs that walk.
//!
//! As [`NO_OPEN_KIND`], it also asks the kernel for
//! FUSE_NO_OPEN_SUPPORT and FUSE_NO_OPENDIR_SUPPORT and answers the first
//! open and opendir with ENOSYS: from then on the kernel opens nothing
//! through it (the measure of what those flags would gain).
//!
//! It counts the requests it serves, by operation, and writes the counts
//! beside its mountpoint (`<mountpoint>.counts`) on SIGUSR1.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, Request,
};

use crate::floor::Floor;

/// The floor kinds the bench binary serves for [`crate::floor::SERVE_ENV`]:
/// with opens, and without.
pub const KIND: &str = "tree";
pub const NO_OPEN_KIND: &str = "tree-no-open";
/// The directory whose copy the floor serves.
const SOURCE_ENV: &str = "SVCFS_BENCH_FLOOR_SOURCE";

const TTL: Duration = Duration::from_secs(3600);

/// The operations counted, in the order reported.
const OPS: [&str; 10] = [
    "LOOKUP",
    "GETATTR",
    "OPEN",
    "READ",
    "RELEASE",
    "OPENDIR",
    "READDIR",
    "RELEASEDIR",
    "FLUSH",
    "other",
];

struct Counts([AtomicU64; OPS.len()]);

impl Counts {
    fn add(&self, op: &str) {
        let i = OPS.iter().position(|o| *o == op).unwrap_or(OPS.len() - 1);
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }

    fn text(&self) -> String {
        OPS.iter()
            .zip(&self.0)
            .map(|(op, n)| format!("{op} {}\n", n.load(Ordering::Relaxed)))
            .collect()
    }
}

enum Content {
    File(Vec<u8>),
    /// Entries after `.` and `..`: name, inode, type.
    Dir(Vec<(OsString, u64, FileType)>),
}

struct Node {
    parent: u64,
    perm: u16,
    mtime: SystemTime,
    content: Content,
}

struct TreeFs {
    /// Index = inode number; 0 unused, 1 the root.
    nodes: Vec<Node>,
    names: HashMap<(u64, OsString), u64>,
    no_open: bool,
    counts: Arc<Counts>,
}

/// Load `dir` and everything under it.
fn load(dir: &Path) -> (Vec<Node>, HashMap<(u64, OsString), u64>) {
    let placeholder = || Node {
        parent: 1,
        perm: 0,
        mtime: SystemTime::UNIX_EPOCH,
        content: Content::Dir(Vec::new()),
    };
    let mut nodes = vec![placeholder(), placeholder()];
    let mut names = HashMap::new();
    let mut pending: Vec<(u64, PathBuf)> = vec![(1, dir.to_path_buf())];
    while let Some((ino, path)) = pending.pop() {
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut entries: Vec<_> = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        let mut listing = Vec::new();
        for entry in entries {
            let child = nodes.len() as u64;
            let child_path = entry.path();
            let child_meta = std::fs::metadata(&child_path)
                .unwrap_or_else(|e| panic!("{}: {e}", child_path.display()));
            let kind = if child_meta.is_dir() {
                pending.push((child, child_path.clone()));
                FileType::Directory
            } else {
                FileType::RegularFile
            };
            let content = match kind {
                FileType::Directory => Content::Dir(Vec::new()),
                _ => Content::File(std::fs::read(&child_path).unwrap_or_default()),
            };
            nodes.push(Node {
                parent: ino,
                perm: (child_meta.permissions().mode() & 0o7777) as u16,
                mtime: child_meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                content,
            });
            names.insert((ino, entry.file_name()), child);
            listing.push((entry.file_name(), child, kind));
        }
        let node = &mut nodes[ino as usize];
        node.perm = (meta.permissions().mode() & 0o7777) as u16;
        node.mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        node.content = Content::Dir(listing);
    }
    (nodes, names)
}

impl TreeFs {
    fn node(&self, ino: INodeNo) -> Option<&Node> {
        match ino.0 {
            0 => None,
            n => self.nodes.get(n as usize),
        }
    }

    fn attr(&self, ino: u64, node: &Node) -> FileAttr {
        let (kind, size, nlink) = match &node.content {
            Content::File(bytes) => (FileType::RegularFile, bytes.len() as u64, 1),
            Content::Dir(_) => (FileType::Directory, 0, 2),
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: node.mtime,
            mtime: node.mtime,
            ctime: node.mtime,
            crtime: node.mtime,
            kind,
            perm: node.perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }
}

impl Filesystem for TreeFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        if self.no_open {
            let flags = InitFlags::FUSE_NO_OPEN_SUPPORT | InitFlags::FUSE_NO_OPENDIR_SUPPORT;
            if let Err(missing) = config.add_capabilities(flags) {
                eprintln!("tree floor: the kernel lacks {missing:?}");
            }
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        self.counts.add("LOOKUP");
        match self.names.get(&(parent.0, name.to_os_string())) {
            Some(&ino) => reply.entry(
                &TTL,
                &self.attr(ino, &self.nodes[ino as usize]),
                fuser::Generation(0),
            ),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        self.counts.add("GETATTR");
        match self.node(ino) {
            Some(node) => reply.attr(&TTL, &self.attr(ino.0, node)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, _ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        self.counts.add("OPEN");
        if self.no_open {
            return reply.error(Errno::ENOSYS);
        }
        reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE);
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        self.counts.add("READ");
        let Some(Node {
            content: Content::File(bytes),
            ..
        }) = self.node(ino)
        else {
            return reply.error(Errno::EISDIR);
        };
        let start = (offset as usize).min(bytes.len());
        let end = start.saturating_add(size as usize).min(bytes.len());
        reply.data(&bytes[start..end]);
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        self.counts.add("FLUSH");
        reply.error(Errno::ENOSYS);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.counts.add("RELEASE");
        reply.ok();
    }

    fn opendir(&self, _req: &Request, _ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        self.counts.add("OPENDIR");
        if self.no_open {
            return reply.error(Errno::ENOSYS);
        }
        // The listing is cached by the kernel, as svcfs's are.
        reply.opened(
            FileHandle(0),
            FopenFlags::FOPEN_CACHE_DIR | FopenFlags::FOPEN_KEEP_CACHE,
        );
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        self.counts.add("READDIR");
        let Some(Node {
            parent,
            content: Content::Dir(listing),
            ..
        }) = self.node(ino)
        else {
            return reply.error(Errno::ENOTDIR);
        };
        let dots = [
            (OsStr::new("."), ino.0, FileType::Directory),
            (OsStr::new(".."), *parent, FileType::Directory),
        ];
        let entries = dots
            .into_iter()
            .chain(listing.iter().map(|(n, i, k)| (n.as_os_str(), *i, *k)));
        for (i, (name, child, kind)) in entries.enumerate().skip(offset as usize) {
            if reply.add(INodeNo(child), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.counts.add("RELEASEDIR");
        reply.ok();
    }
}

/// The file the counts are written to on SIGUSR1.
fn counts_path(mountpoint: &Path) -> PathBuf {
    mountpoint.with_extension("counts")
}

/// In the floor server process: load the tree, mount it and serve until
/// unmounted.
pub fn serve(mountpoint: &Path, no_open: bool) {
    let source = PathBuf::from(std::env::var_os(SOURCE_ENV).expect("the tree to serve"));
    let (nodes, names) = load(&source);
    let counts = Arc::new(Counts(std::array::from_fn(|_| AtomicU64::new(0))));
    // SIGUSR1 blocked here, before any thread starts, is blocked in every
    // thread: only the waiter below takes it.
    // SAFETY: plain signal-mask calls on a local, initialised set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let path = counts_path(mountpoint);
    let waiter_counts = Arc::clone(&counts);
    std::thread::spawn(move || loop {
        let mut signal = 0;
        // SAFETY: `set` is initialised; sigwait only writes `signal`.
        if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
            return;
        }
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, waiter_counts.text()).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    });
    let fs = TreeFs {
        nodes,
        names,
        no_open,
        counts,
    };
    if let Err(e) = crate::floor::session(fs, mountpoint, KIND).run() {
        eprintln!("tree floor server: {e}");
    }
}

/// A mounted tree floor serving a copy of `source`.
pub struct TreeFloor {
    floor: Floor,
}

impl TreeFloor {
    /// Mount the floor of `source`, with or without opens.
    pub fn mount(source: &Path, no_open: bool) -> TreeFloor {
        let kind = if no_open { NO_OPEN_KIND } else { KIND };
        let floor = Floor::start(kind, &[(SOURCE_ENV, source.as_os_str())]);
        // The session serves once the kernel has sent INIT (and the tree
        // is loaded before the session starts).
        let listed = std::fs::read_dir(floor.mountpoint()).map(|d| d.count());
        assert!(listed.is_ok_and(|n| n > 0), "the tree floor lists its root");
        TreeFloor { floor }
    }

    pub fn mountpoint(&self) -> &Path {
        self.floor.mountpoint()
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.floor.pid()
    }

    /// The requests served so far, by operation.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let path = counts_path(self.mountpoint());
        let _ = std::fs::remove_file(&path);
        let Some(pid) = self.floor.pid() else {
            return BTreeMap::new();
        };
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(pid as i32, libc::SIGUSR1) };
        let mut text = String::new();
        crate::harness::wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(&path).is_ok_and(|t| {
                text = t;
                true
            })
        });
        let _ = std::fs::remove_file(&path);
        text.lines()
            .filter_map(|l| {
                let (op, n) = l.split_once(' ')?;
                Some((op.to_string(), n.parse().ok()?))
            })
            .collect()
    }
}

/// `after - before`, by operation, without the zeros.
pub fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = OPS
        .iter()
        .filter_map(|op| {
            let n = after
                .get(*op)?
                .saturating_sub(*before.get(*op).unwrap_or(&0));
            (n > 0).then(|| (op.to_string(), n))
        })
        .collect();
    out.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    out
}
