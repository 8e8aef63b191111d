//! The fuser adapter: each callback is one call into [`Core`] plus a reply;
//! errors become replies in one place ([`fail`]), which traces the
//! operation, inode and errno. A `ctl` write's command, from the core, runs
//! on the tokio runtime and is answered when the action ends, so the FUSE
//! worker threads stay free for `cat` and `ls` while a long start runs. A read
//! of `events` or `wait/*` with nothing to return yet is parked the same
//! way: its reply is answered by whoever sees the change.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, INodeNo,
    KernelConfig, LockOwner, OpenAccMode, OpenFlags, PollEvents, PollFlags, PollNotifier,
    RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyPoll, ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};

use super::core::{shape_is_fixed, Attr, AttrChange, Caching, Core, NodeType, Written};
use super::notify::KernelCache;
use crate::engine::Engine;
use crate::error::Error;

/// How long the kernel may keep names and attributes. Every change of a
/// file's bytes or of a listing is invalidated when it is published (file
/// pages are kept with no bound at all until then), so this only bounds
/// how long a missed invalidation could show. Long enough that a walk
/// repeated every few minutes (`tree`, a monitoring agent's `find`) is
/// answered by the kernel alone: at 30 s, `ls -lR` of 1000 services took
/// 5.8 s once the names had expired against 1.7-2.2 s warm.
const CACHE_TTL: Duration = Duration::from_secs(600);

/// How long the kernel may keep the attributes of a file whose bytes are
/// computed at each open (a cgroup counter, `metrics`): not at all, so
/// that every `stat` asks, as /proc's files do. Its name is kept like any
/// other (a lookup per open would be a round trip for nothing: the name
/// stays while its directory's listing does, and is dropped with it).
fn ttl(attr: &Attr) -> &'static Duration {
    const NONE: Duration = Duration::ZERO;
    if attr.live {
        &NONE
    } else {
        &CACHE_TTL
    }
}

/// Access to `ctl` files.
#[derive(Debug, Clone, Copy)]
pub struct CtlAccess {
    /// Group allowed to write `ctl` files besides root (mode 0220).
    pub group: Option<u32>,
}

/// The filesystem served at the mountpoint.
pub struct SvcFs {
    core: Arc<Core>,
    kernel: Arc<KernelCache>,
    runtime: tokio::runtime::Handle,
    crtime: SystemTime,
}

impl SvcFs {
    /// A filesystem over `engine`, running actions on `runtime`. The
    /// returned cache must be attached to the session's notifier.
    pub fn new(
        engine: Arc<Engine>,
        runtime: tokio::runtime::Handle,
        ctl: CtlAccess,
    ) -> (Self, Arc<KernelCache>) {
        let core = Arc::new(Core::new(engine.clone(), ctl.group));
        let kernel = KernelCache::new(Arc::clone(&core));
        engine.observers().set(kernel.clone());
        let fs = SvcFs {
            core,
            kernel: Arc::clone(&kernel),
            runtime,
            crtime: SystemTime::now(),
        };
        (fs, kernel)
    }

    fn file_attr(&self, attr: &Attr) -> FileAttr {
        FileAttr {
            ino: INodeNo(attr.ino),
            size: attr.size,
            blocks: attr.size.div_ceil(512),
            atime: attr.mtime,
            mtime: attr.mtime,
            ctime: attr.mtime,
            crtime: self.crtime,
            kind: file_type(attr.node_type),
            perm: attr.perm,
            nlink: attr.nlink,
            uid: 0,
            gid: attr.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }
}

fn file_type(node_type: NodeType) -> FileType {
    match node_type {
        NodeType::Directory => FileType::Directory,
        NodeType::File => FileType::RegularFile,
    }
}

/// The one place where an error becomes a reply.
fn fail(op: &str, ino: u64, e: &Error, reply: impl FnOnce(Errno)) {
    tracing::debug!(op, ino, errno = crate::error::errno_name(e.errno()), "{e}");
    reply(Errno::from_i32(e.errno()));
}

fn refuse(op: &str, ino: u64, reply: impl FnOnce(Errno)) {
    fail(op, ino, &shape_is_fixed(op), reply)
}

impl Filesystem for SvcFs {
    fn init(&mut self, _req: &Request, _config: &mut KernelConfig) -> std::io::Result<()> {
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.core.lookup(parent.0, name) {
            Ok(attr) => reply.entry_with_ttls(
                ttl(&attr),
                &CACHE_TTL,
                &self.file_attr(&attr),
                fuser::Generation(0),
            ),
            Err(e) => fail("lookup", parent.0, &e, |errno| reply.error(errno)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.core.getattr(ino.0) {
            Ok(attr) => reply.attr(ttl(&attr), &self.file_attr(&attr)),
            Err(e) => fail("getattr", ino.0, &e, |errno| reply.error(errno)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let change = AttrChange {
            mode: mode.is_some(),
            owner: uid.is_some() || gid.is_some(),
            size,
            times: atime.is_some() || mtime.is_some(),
        };
        match self.core.setattr(ino.0, change) {
            Ok(attr) => reply.attr(ttl(&attr), &self.file_attr(&attr)),
            Err(e) => fail("setattr", ino.0, &e, |errno| reply.error(errno)),
        }
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let write = flags.acc_mode() != OpenAccMode::O_RDONLY;
        // A hold may wake the engine's healing: its tasks need the runtime.
        let _runtime = self.runtime.enter();
        match self.core.open_by(ino.0, write, req.pid()) {
            // Nothing is buffered on our side: a close has nothing to flush.
            Ok(opened) => reply.opened(
                FileHandle(opened.fh),
                FopenFlags::FOPEN_NOFLUSH
                    | match opened.caching {
                        Caching::PageCache => FopenFlags::FOPEN_KEEP_CACHE,
                        // A write that waits (`run` of a task, a start)
                        // holds the inode's lock in the kernel for as
                        // long: shared, another writer of the same `ctl`
                        // (`kill`, a start that gets EBUSY) reaches us.
                        Caching::Direct if write => {
                            FopenFlags::FOPEN_DIRECT_IO | FopenFlags::FOPEN_PARALLEL_DIRECT_WRITES
                        }
                        Caching::Direct => FopenFlags::FOPEN_DIRECT_IO,
                        Caching::Stream => {
                            FopenFlags::FOPEN_DIRECT_IO | FopenFlags::FOPEN_NONSEEKABLE
                        }
                    },
            ),
            Err(e) => fail("open", ino.0, &e, |errno| reply.error(errno)),
        }
    }

    fn read(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.core.read(fh.0, offset, size) {
            Ok(data) => {
                reply.data(data.as_slice());
                if data.stale_in_cache {
                    self.kernel.invalidate_later(ino.0);
                }
            }
            // A stream with nothing yet: wait, unless asked not to.
            Err(e) if e.errno() == libc::EAGAIN && flags.0 & libc::O_NONBLOCK == 0 => {
                self.core.read_later(
                    fh.0,
                    offset,
                    size,
                    req.pid(),
                    Box::new(move |result| match result {
                        Ok(data) => reply.data(data.as_slice()),
                        Err(e) => fail("read", ino.0, &e, |errno| reply.error(errno)),
                    }),
                )
            }
            Err(e) => fail("read", ino.0, &e, |errno| reply.error(errno)),
        }
    }

    fn poll(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        ph: PollNotifier,
        _events: PollEvents,
        flags: PollFlags,
        reply: ReplyPoll,
    ) {
        // The handle is the kernel's per open file; wake-ups go through
        // the session's notifier (see notify.rs).
        let kh = flags
            .contains(PollFlags::FUSE_POLL_SCHEDULE_NOTIFY)
            .then(|| ph.handle().0);
        match self.core.poll(fh.0, kh) {
            Ok(ready) => {
                let mut events = PollEvents::empty();
                if ready.readable {
                    events |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
                }
                if ready.changed {
                    events |= PollEvents::POLLPRI;
                }
                if ready.writable {
                    events |= PollEvents::POLLOUT | PollEvents::POLLWRNORM;
                }
                reply.poll(events)
            }
            Err(e) => fail("poll", ino.0, &e, |errno| reply.error(errno)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let written = u32::try_from(data.len()).unwrap_or(u32::MAX);
        match self.core.write(ino.0, data) {
            Ok(Written::Taken) => reply.written(written),
            // An action may take minutes: it runs on the tokio runtime,
            // and the worker thread goes back to serving reads.
            Ok(Written::Command(command)) => {
                self.runtime.spawn(async move {
                    match command.await {
                        Ok(()) => reply.written(written),
                        Err(e) => fail("write", ino.0, &e, |errno| reply.error(errno)),
                    }
                });
            }
            Err(e) => fail("write", ino.0, &e, |errno| reply.error(errno)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let _runtime = self.runtime.enter();
        self.core.release(fh.0);
        reply.ok();
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.core.opendir(ino.0) {
            // Listings are invalidated when they change, like file bytes.
            Ok(fh) => reply.opened(
                FileHandle(fh),
                FopenFlags::FOPEN_CACHE_DIR | FopenFlags::FOPEN_KEEP_CACHE,
            ),
            Err(e) => fail("opendir", ino.0, &e, |errno| reply.error(errno)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        match self.core.readdir(fh.0, offset) {
            Ok(entries) => {
                for (next, entry) in entries {
                    if reply.add(
                        INodeNo(entry.ino),
                        next,
                        file_type(entry.node_type),
                        &*entry.name,
                    ) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => fail("readdir", ino.0, &e, |errno| reply.error(errno)),
        }
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.core.releasedir(fh.0);
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(0, 0, 0, 0, 0, 4096, 255, 4096);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        // default_permissions: the kernel already checked the mode bits.
        reply.ok();
    }

    fn ioctl(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: fuser::IoctlFlags,
        _cmd: u32,
        _in_data: &[u8],
        _out_size: u32,
        reply: fuser::ReplyIoctl,
    ) {
        // Regular files have no ioctls; runtimes ask on every open
        // (Python's isatty() is TCGETS), so answer at once and quietly.
        reply.error(Errno::from_i32(libc::ENOTTY));
    }

    // The tree has no extended attributes. ENOSYS, once, makes the
    // kernel answer every later getxattr/listxattr itself (EOPNOTSUPP)
    // instead of asking: `ls -l` asks twice per file (ACL, SELinux label).
    fn getxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _size: u32,
        reply: ReplyXattr,
    ) {
        reply.error(Errno::ENOSYS);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, _size: u32, reply: ReplyXattr) {
        reply.error(Errno::ENOSYS);
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        refuse("mknod", parent.0, |errno| reply.error(errno));
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        refuse("mkdir", parent.0, |errno| reply.error(errno));
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        refuse("unlink", parent.0, |errno| reply.error(errno));
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        refuse("rmdir", parent.0, |errno| reply.error(errno));
    }

    fn symlink(
        &self,
        _req: &Request,
        parent: INodeNo,
        _link_name: &OsStr,
        _target: &Path,
        reply: ReplyEntry,
    ) {
        refuse("symlink", parent.0, |errno| reply.error(errno));
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        _name: &OsStr,
        _newparent: INodeNo,
        _newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        refuse("rename", parent.0, |errno| reply.error(errno));
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        refuse("link", ino.0, |errno| reply.error(errno));
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        refuse("create", parent.0, |errno| reply.error(errno));
    }
}
