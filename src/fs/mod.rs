//! The FUSE adapter: maps fuser callbacks onto the [`crate::view`] of the
//! engine's state and onto engine commands. It holds no state of its own
//! beyond inode numbers and open-file snapshots.
//!
//! Reads are served from content rendered at `open` (a consistent
//! snapshot, with direct I/O so that the size the kernel caches never
//! truncates it). A `ctl` write is handed to the engine on the tokio
//! runtime and answered when the action ends, so the FUSE worker threads
//! stay free for `cat` and `ls` while a long start runs.

mod inodes;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, INodeNo,
    KernelConfig, LockOwner, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite,
    ReplyXattr, Request, TimeOrNow, WriteFlags,
};

use crate::engine::Engine;
use crate::sync::lock;
use crate::view::{self, NodeKind};
use inodes::InodeTable;

/// How long the kernel may cache a name → inode lookup. Short: services
/// come and go with their files, and a stale entry only costs a getattr
/// that answers ENOENT.
const ENTRY_TTL: Duration = Duration::from_secs(1);
/// Attributes are never cached: sizes change with every state refresh,
/// and `stat` must agree with what `read` returns.
const ATTR_TTL: Duration = Duration::ZERO;

/// Access to `ctl` files.
#[derive(Debug, Clone, Copy)]
pub struct CtlAccess {
    /// Group allowed to write `ctl` files besides root (mode 0220).
    pub group: Option<u32>,
}

/// The filesystem served at the mountpoint.
pub struct SvcFs {
    engine: Arc<Engine>,
    runtime: tokio::runtime::Handle,
    inodes: Mutex<InodeTable>,
    open_files: Mutex<HashMap<u64, Arc<Vec<u8>>>>,
    next_handle: AtomicU64,
    ctl: CtlAccess,
    mounted_at: SystemTime,
}

impl SvcFs {
    /// A filesystem over `engine`, running actions on `runtime`.
    pub fn new(engine: Arc<Engine>, runtime: tokio::runtime::Handle, ctl: CtlAccess) -> Self {
        SvcFs {
            engine,
            runtime,
            inodes: Mutex::new(InodeTable::default()),
            open_files: Mutex::new(HashMap::new()),
            next_handle: AtomicU64::new(1),
            ctl,
            mounted_at: SystemTime::now(),
        }
    }

    fn path_of(&self, ino: INodeNo) -> Option<Vec<String>> {
        lock(&self.inodes).path(ino.0).map(<[String]>::to_vec)
    }

    fn kind_of(&self, path: &[String]) -> Option<NodeKind> {
        view::kind(&self.engine, &as_strs(path))
    }

    fn attr(&self, ino: u64, path: &[String], kind: NodeKind) -> FileAttr {
        let parts = as_strs(path);
        let (file_type, perm, size, gid) = match kind {
            NodeKind::Dir => (FileType::Directory, 0o555, 0, 0),
            NodeKind::File => {
                let size = view::content(&self.engine, &parts).map_or(0, |c| c.len());
                (FileType::RegularFile, 0o444, size as u64, 0)
            }
            NodeKind::Ctl => {
                let size = view::content(&self.engine, &parts).map_or(0, |c| c.len());
                match self.ctl.group {
                    Some(gid) => (FileType::RegularFile, 0o220, size as u64, gid),
                    None => (FileType::RegularFile, 0o200, size as u64, 0),
                }
            }
        };
        let time = match parts.first() {
            Some(service) => self
                .engine
                .service(service)
                .map_or(self.mounted_at, |s| s.snapshot().updated),
            None => self.mounted_at,
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: time,
            mtime: time,
            ctime: time,
            crtime: self.mounted_at,
            kind: file_type,
            perm,
            nlink: if kind == NodeKind::Dir { 2 } else { 1 },
            uid: 0,
            gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn lookup_child(&self, parent: INodeNo, name: &OsStr) -> Option<(u64, Vec<String>, NodeKind)> {
        let mut path = self.path_of(parent)?;
        path.push(name.to_str()?.to_string());
        let kind = self.kind_of(&path)?;
        let ino = lock(&self.inodes).ino(path.clone());
        Some((ino, path, kind))
    }

    fn remember(&self, content: Vec<u8>) -> FileHandle {
        let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
        lock(&self.open_files).insert(fh, Arc::new(content));
        FileHandle(fh)
    }
}

fn as_strs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

impl Filesystem for SvcFs {
    fn init(&mut self, _req: &Request, _config: &mut KernelConfig) -> std::io::Result<()> {
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.lookup_child(parent, name) {
            Some((ino, path, kind)) => reply.entry(
                &ENTRY_TTL,
                &self.attr(ino, &path, kind),
                fuser::Generation(0),
            ),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        match self.kind_of(&path) {
            Some(kind) => reply.attr(&ATTR_TTL, &self.attr(ino.0, &path, kind)),
            None => reply.error(Errno::ENOENT),
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
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let Some(kind) = self.kind_of(&path) else {
            return reply.error(Errno::ENOENT);
        };
        // Truncating a ctl file is how `echo start > ctl` opens it (O_TRUNC);
        // it changes nothing. Everything else about attributes is fixed.
        let truncate_only = size == Some(0) && mode.is_none() && uid.is_none() && gid.is_none();
        match kind {
            NodeKind::Ctl
                if truncate_only
                    || size.is_none() && mode.is_none() && uid.is_none() && gid.is_none() =>
            {
                reply.attr(&ATTR_TTL, &self.attr(ino.0, &path, kind))
            }
            NodeKind::File if size.is_some() => reply.error(Errno::EACCES),
            _ => reply.error(Errno::EPERM),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let mode = flags.acc_mode();
        match self.kind_of(&path) {
            None => reply.error(Errno::ENOENT),
            Some(NodeKind::Dir) => reply.error(Errno::EISDIR),
            // Root bypasses mode bits in the kernel: refuse writes here.
            Some(NodeKind::File) if mode != OpenAccMode::O_RDONLY => reply.error(Errno::EACCES),
            Some(_) => {
                let content = view::content(&self.engine, &as_strs(&path)).unwrap_or_default();
                reply.opened(self.remember(content), FopenFlags::FOPEN_DIRECT_IO)
            }
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(content) = lock(&self.open_files).get(&fh.0).cloned() else {
            return reply.error(Errno::EBADF);
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(content.len());
        let end = start.saturating_add(size as usize).min(content.len());
        reply.data(&content[start..end]);
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
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        if self.kind_of(&path) != Some(NodeKind::Ctl) {
            return reply.error(Errno::EACCES);
        }
        let engine = Arc::clone(&self.engine);
        let data = data.to_vec();
        self.runtime.spawn(async move {
            let result = match path.as_slice() {
                [service, _ctl] => engine.service_command(service, &data).await,
                [service, rid, _ctl] => engine.resource_command(service, rid, &data).await,
                _ => Err(crate::error::Error::not_found("not a ctl file")),
            };
            match result {
                Ok(()) => reply.written(u32::try_from(data.len()).unwrap_or(u32::MAX)),
                Err(e) => reply.error(Errno::from_i32(e.errno())),
            }
        });
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
        lock(&self.open_files).remove(&fh.0);
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let Some(entries) = view::list(&self.engine, &as_strs(&path)) else {
            return reply.error(if self.kind_of(&path).is_some() {
                Errno::ENOTDIR
            } else {
                Errno::ENOENT
            });
        };
        let parent = {
            let parent_path = path[..path.len().saturating_sub(1)].to_vec();
            lock(&self.inodes).ino(parent_path)
        };
        let mut all = vec![
            (ino.0, FileType::Directory, ".".to_string()),
            (parent, FileType::Directory, "..".to_string()),
        ];
        {
            let mut inodes = lock(&self.inodes);
            for entry in entries {
                let mut child = path.clone();
                child.push(entry.name.clone());
                let file_type = if entry.kind == NodeKind::Dir {
                    FileType::Directory
                } else {
                    FileType::RegularFile
                };
                all.push((inodes.ino(child), file_type, entry.name));
            }
        }
        for (i, (child_ino, file_type, name)) in all.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(child_ino), (i + 1) as u64, file_type, name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(0, 0, 0, 0, 0, 4096, 255, 4096);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        // default_permissions: the kernel already checked the mode bits.
        reply.ok();
    }

    fn getxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _size: u32,
        reply: ReplyXattr,
    ) {
        reply.error(Errno::from_i32(libc::ENODATA));
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, size: u32, reply: ReplyXattr) {
        if size == 0 {
            reply.size(0);
        } else {
            reply.data(&[]);
        }
    }

    fn mknod(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EPERM);
    }

    fn mkdir(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EPERM);
    }

    fn unlink(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EPERM);
    }

    fn rmdir(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EPERM);
    }

    fn symlink(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _link_name: &OsStr,
        _target: &Path,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EPERM);
    }

    fn rename(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _newparent: INodeNo,
        _newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EPERM);
    }

    fn link(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EPERM);
    }

    fn create(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        reply.error(Errno::EPERM);
    }
}
