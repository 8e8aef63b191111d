//! The filesystem's core, without FUSE: it resolves inodes against the
//! published trees, gives attributes (modes, sizes, times), opens files on
//! a snapshot of their bytes, lists directories with a listing that stays
//! stable for each `opendir`, and says which errno every refusal is. The
//! fuser adapter (`fuse.rs`) only translates; everything here is tested
//! without a mount.
//!
//! Caching. A file of at most one page whose size the kernel already has,
//! opened to be read, is opened for the page cache: `cat` is then served
//! by the kernel, and the publisher drops the cached bytes when they
//! change. Anything else is opened for direct I/O, reading the bytes taken
//! at open: a `ctl` opened to be written; a file of
//! several pages, because pages cached by different opens could mix two
//! generations in one read (a snapshot per open is the promise); and a
//! file whose size changed since the kernel last heard, because a cached
//! read stops at the size the kernel knows.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::inodes::{InodeTable, NodePath};
use crate::error::{Error, Result};
use crate::render::{FileKind, FileNode, ServiceTree};
use crate::sync::lock;

/// The largest file served from the page cache: one read of it is one
/// page, hence one generation.
pub const CACHED_FILE_MAX: usize = 4096;

/// Where the trees come from (the engine; a fake in tests).
pub trait TreeSource: Send + Sync {
    /// The services, in listing order.
    fn service_names(&self) -> Vec<Arc<str>>;
    /// The current files of a service.
    fn service_tree(&self, name: &str) -> Option<Arc<ServiceTree>>;
    /// When a service last joined or left the root.
    fn listing_changed(&self) -> SystemTime;
}

/// Directory or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    /// The root, a service or a resource.
    Directory,
    /// A state, configuration or ctl file.
    File,
}

/// What `stat` shows of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Inode number.
    pub ino: u64,
    /// Directory or file.
    pub node_type: NodeType,
    /// Permission bits.
    pub perm: u16,
    /// Bytes a read returns.
    pub size: u64,
    /// When the content (or a directory's listing) last changed.
    pub mtime: SystemTime,
    /// Owning group (root, or the ctl group for `ctl`).
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
}

/// How the kernel should serve an open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// From the page cache, kept across opens.
    PageCache,
    /// Every read asks the daemon (the bytes taken at open).
    Direct,
}

/// An open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Its handle.
    pub fh: u64,
    /// How the kernel serves it.
    pub caching: Caching,
}

/// A directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode of the entry.
    pub ino: u64,
    /// Directory or file.
    pub node_type: NodeType,
    /// Name in the directory.
    pub name: Arc<str>,
}

/// What a `ctl` write acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtlTarget {
    /// The service.
    pub service: Arc<str>,
    /// The resource, for a resource's `ctl`.
    pub rid: Option<Arc<str>>,
}

/// What a `setattr` asks to change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttrChange {
    /// chmod.
    pub mode: bool,
    /// chown/chgrp.
    pub owner: bool,
    /// truncate to this size.
    pub size: Option<u64>,
    /// utimes.
    pub times: bool,
}

/// Bytes answering a read.
#[derive(Debug, Clone)]
pub struct Data {
    bytes: Arc<[u8]>,
    start: usize,
    end: usize,
    /// These bytes are an older generation than the file's, and the kernel
    /// may keep them in its page cache: the cache should be dropped again.
    pub stale_in_cache: bool,
}

impl Data {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }
}

/// A node resolved against the current trees.
enum Resolved {
    Root,
    Service(Arc<ServiceTree>),
    Resource(Arc<ServiceTree>, usize),
    File(FileNode),
}

struct OpenFile {
    ino: u64,
    content: Arc<[u8]>,
    caching: Caching,
}

/// The core of the filesystem.
pub struct Core {
    source: Arc<dyn TreeSource>,
    inodes: Mutex<InodeTable>,
    files: Mutex<HashMap<u64, OpenFile>>,
    dirs: Mutex<HashMap<u64, Arc<[DirEntry]>>>,
    next_handle: AtomicU64,
    ctl_group: Option<u32>,
}

impl Core {
    /// A core over `source`; `ctl_group` may also write `ctl` files.
    pub fn new(source: Arc<dyn TreeSource>, ctl_group: Option<u32>) -> Self {
        Core {
            source,
            inodes: Mutex::new(InodeTable::default()),
            files: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            next_handle: AtomicU64::new(1),
            ctl_group,
        }
    }

    /// The inode of `path` if the kernel may know it (invalidation).
    pub fn known_ino(&self, path: &NodePath) -> Option<u64> {
        lock(&self.inodes).existing(path)
    }

    fn path(&self, ino: u64) -> Result<NodePath> {
        lock(&self.inodes)
            .path(ino)
            .ok_or_else(|| Error::not_found(format!("no inode {ino}")))
    }

    fn resolve(&self, path: &NodePath) -> Option<Resolved> {
        let tree = match path.service() {
            None => return Some(Resolved::Root),
            Some(service) => self.source.service_tree(service)?,
        };
        Some(match path {
            NodePath::Root => Resolved::Root,
            NodePath::Service(_) => Resolved::Service(tree),
            NodePath::ServiceFile(_, name) => Resolved::File(tree.file(name)?.clone()),
            NodePath::Resource(_, rid) => {
                let index = tree.resources.iter().position(|r| r.rid == *rid)?;
                Resolved::Resource(tree, index)
            }
            NodePath::ResourceFile(_, rid, name) => {
                Resolved::File(tree.resource(rid)?.file(name)?.clone())
            }
        })
    }

    fn resolve_ino(&self, ino: u64) -> Result<(NodePath, Resolved)> {
        let path = self.path(ino)?;
        self.resolve_path(path)
    }

    fn resolve_path(&self, path: NodePath) -> Result<(NodePath, Resolved)> {
        let resolved = self
            .resolve(&path)
            .ok_or_else(|| Error::not_found(format!("{} is gone", path.name())))?;
        Ok((path, resolved))
    }

    fn attr(&self, ino: u64, resolved: &Resolved) -> Attr {
        let dir = |mtime| Attr {
            ino,
            node_type: NodeType::Directory,
            perm: 0o555,
            size: 0,
            mtime,
            gid: 0,
            nlink: 2,
        };
        match resolved {
            Resolved::Root => dir(self.source.listing_changed()),
            Resolved::Service(tree) => dir(tree.mtime),
            Resolved::Resource(tree, index) => dir(tree.resources[*index].mtime),
            Resolved::File(file) => {
                let (perm, gid) = match (file.kind, self.ctl_group) {
                    (FileKind::ReadOnly, _) => (0o444, 0),
                    (FileKind::Ctl, Some(gid)) => (0o220, gid),
                    (FileKind::Ctl, None) => (0o200, 0),
                };
                Attr {
                    ino,
                    node_type: NodeType::File,
                    perm,
                    size: file.content.len() as u64,
                    mtime: file.mtime,
                    gid,
                    nlink: 1,
                }
            }
        }
    }

    /// Attributes given to the kernel: remember the size it now has.
    fn told(&self, attr: Attr) -> Attr {
        if attr.node_type == NodeType::File {
            lock(&self.inodes).tell_size(attr.ino, attr.size);
        }
        attr
    }

    /// `name` in directory `parent`.
    pub fn lookup(&self, parent: u64, name: &OsStr) -> Result<Attr> {
        let missing = || Error::not_found(format!("no {}", name.to_string_lossy()));
        let parent_path = self.path(parent)?;
        let name = name.to_str().ok_or_else(missing)?;
        let path = parent_path
            .child(name)
            .ok_or_else(|| Error::new(libc::ENOTDIR, "not a directory"))?;
        let resolved = self.resolve(&path).ok_or_else(missing)?;
        let ino = lock(&self.inodes).ino(path);
        Ok(self.told(self.attr(ino, &resolved)))
    }

    /// `stat`.
    pub fn getattr(&self, ino: u64) -> Result<Attr> {
        let (_, resolved) = self.resolve_ino(ino)?;
        Ok(self.told(self.attr(ino, &resolved)))
    }

    /// `truncate`, `chmod`, `chown`, `utimes`. The tree's shape and modes
    /// are fixed; truncating a `ctl` file is how `echo start > ctl` opens
    /// it (O_TRUNC), so that and touching it succeed and change nothing.
    pub fn setattr(&self, ino: u64, change: AttrChange) -> Result<Attr> {
        let (path, resolved) = self.resolve_ino(ino)?;
        let fixed = || Error::new(libc::EPERM, format!("{} cannot be changed", path.name()));
        match &resolved {
            Resolved::File(file) if file.kind == FileKind::Ctl => {
                if change.mode || change.owner || change.size.is_some_and(|s| s != 0) {
                    return Err(fixed());
                }
            }
            Resolved::File(_) if change.size.is_some() => {
                return Err(Error::access(format!("{} is read-only", path.name())))
            }
            _ => return Err(fixed()),
        }
        Ok(self.told(self.attr(ino, &resolved)))
    }

    /// Open a file on a snapshot of its bytes.
    pub fn open(&self, ino: u64, write: bool) -> Result<Opened> {
        // The node and the size the kernel has, under one lock: this is
        // every `cat`'s path.
        let (path, told) = {
            let inodes = lock(&self.inodes);
            let path = inodes
                .path(ino)
                .ok_or_else(|| Error::not_found(format!("no inode {ino}")))?;
            (path, inodes.told_size(ino))
        };
        let (path, resolved) = self.resolve_path(path)?;
        let Resolved::File(file) = resolved else {
            return Err(Error::new(
                libc::EISDIR,
                format!("{} is a directory", path.name()),
            ));
        };
        // Root bypasses mode bits in the kernel: refuse writes here.
        if write && file.kind != FileKind::Ctl {
            return Err(Error::access(format!("{} is read-only", path.name())));
        }
        // A `ctl` opened to be read shows its help like any small file. A
        // write is direct: its bytes go to the daemon and never into the
        // pages (the kernel drops the cached help when such an open does
        // not keep the cache).
        let caching = if !write
            && file.content.len() <= CACHED_FILE_MAX
            && told == Some(file.content.len() as u64)
        {
            Caching::PageCache
        } else {
            Caching::Direct
        };
        let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
        lock(&self.files).insert(
            fh,
            OpenFile {
                ino,
                content: file.content,
                caching,
            },
        );
        Ok(Opened { fh, caching })
    }

    /// Read from an open file's snapshot.
    pub fn read(&self, fh: u64, offset: u64, size: u32) -> Result<Data> {
        let (ino, bytes, caching) = {
            let files = lock(&self.files);
            let file = files
                .get(&fh)
                .ok_or_else(|| Error::new(libc::EBADF, "not an open file"))?;
            (file.ino, Arc::clone(&file.content), file.caching)
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let end = start.saturating_add(size as usize).min(bytes.len());
        // A read the kernel will cache, from a handle opened before the
        // last change: the cache would keep old bytes after the
        // publisher's invalidation. Rare (a read straddling a change).
        let stale_in_cache = caching == Caching::PageCache
            && !matches!(
                self.path(ino).ok().and_then(|p| self.resolve(&p)),
                Some(Resolved::File(now)) if Arc::ptr_eq(&now.content, &bytes)
            );
        Ok(Data {
            bytes,
            start,
            end,
            stale_in_cache,
        })
    }

    /// Close a file.
    pub fn release(&self, fh: u64) {
        lock(&self.files).remove(&fh);
    }

    /// The file a write goes to, when it is a `ctl` file.
    pub fn ctl_target(&self, ino: u64) -> Result<CtlTarget> {
        let (path, resolved) = self.resolve_ino(ino)?;
        match (&path, &resolved) {
            (_, Resolved::File(file)) if file.kind == FileKind::Ctl => {}
            _ => return Err(Error::access(format!("{} is read-only", path.name()))),
        }
        Ok(match path {
            NodePath::ResourceFile(service, rid, _) => CtlTarget {
                service,
                rid: Some(rid),
            },
            NodePath::ServiceFile(service, _) => CtlTarget { service, rid: None },
            _ => return Err(Error::access("not a ctl file")),
        })
    }

    /// Open a directory: its listing is taken now and stays the same for
    /// every `readdir` of this handle.
    pub fn opendir(&self, ino: u64) -> Result<u64> {
        let (path, resolved) = self.resolve_ino(ino)?;
        let children: Vec<(Arc<str>, NodeType)> = match &resolved {
            Resolved::File(_) => {
                return Err(Error::new(
                    libc::ENOTDIR,
                    format!("{} is a file", path.name()),
                ))
            }
            Resolved::Root => self
                .source
                .service_names()
                .into_iter()
                .map(|name| (name, NodeType::Directory))
                .collect(),
            Resolved::Service(tree) => tree
                .files
                .iter()
                .map(|f| (f.name.clone(), NodeType::File))
                .chain(
                    tree.resources
                        .iter()
                        .map(|r| (r.rid.clone(), NodeType::Directory)),
                )
                .collect(),
            Resolved::Resource(tree, index) => tree.resources[*index]
                .files
                .iter()
                .map(|f| (f.name.clone(), NodeType::File))
                .collect(),
        };
        let listing: Arc<[DirEntry]> = {
            let mut inodes = lock(&self.inodes);
            let parent = inodes.ino(path.parent());
            let mut listing = vec![
                DirEntry {
                    ino,
                    node_type: NodeType::Directory,
                    name: ".".into(),
                },
                DirEntry {
                    ino: parent,
                    node_type: NodeType::Directory,
                    name: "..".into(),
                },
            ];
            for (name, node_type) in children {
                if let Some(child) = path.child(&name) {
                    listing.push(DirEntry {
                        ino: inodes.ino(child),
                        node_type,
                        name,
                    });
                }
            }
            listing.into()
        };
        let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
        lock(&self.dirs).insert(fh, listing);
        Ok(fh)
    }

    /// The entries of an open directory from `offset` (the offset of an
    /// entry is its index plus one).
    pub fn readdir(&self, fh: u64, offset: u64) -> Result<Vec<(u64, DirEntry)>> {
        let listing = lock(&self.dirs)
            .get(&fh)
            .cloned()
            .ok_or_else(|| Error::new(libc::EBADF, "not an open directory"))?;
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        Ok(listing
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(i, e)| (i as u64 + 1, e.clone()))
            .collect())
    }

    /// Close a directory.
    pub fn releasedir(&self, fh: u64) {
        lock(&self.dirs).remove(&fh);
    }
}

/// The answer to every request that would change the tree's shape
/// (mkdir, mknod, create, unlink, rmdir, symlink, link, rename).
pub fn shape_is_fixed(what: &str) -> Error {
    Error::new(libc::EPERM, format!("{what}: the tree's shape is fixed"))
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
