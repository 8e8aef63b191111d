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
//!
//! Rewinding. A read from offset 0 after the first read of a handle
//! starts over: it takes a new snapshot, so that `lseek(fd, 0)` and
//! `read` after poll(2) woke give the new bytes (sysfs's convention). A
//! handle polls ready once its current file differs from its snapshot.
//! For a handle served from the page cache, every read that reaches the
//! daemon is a fill of the one page, from the current bytes (its first
//! read may have been the kernel's alone: checked on a real mount).
//!
//! Streams. `events` and `wait/<word>` have no bytes in the tree: a read
//! returns what the change bus queued for that open, or the word once the
//! status equals it, and otherwise waits, parked, in [`Waiting`].

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures_util::future::BoxFuture;

use super::inodes::{InodeTable, NodePath};
use super::waiting::{Waiting, Waits};
use crate::engine::{ChangeBus, Feed};
use crate::error::{Error, Result};
use crate::model::LiveRef;
use crate::model::Status;
use crate::render::tree::{is_usage_file, ClusterTree, CLUSTER_DIR, WAIT_WORDS};
use crate::render::{metrics_text, FileKind, FileNode, ServiceMetrics, ServiceTree};
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
    /// `<service>/hold` was opened for writing (handle `fh`) by `pid`.
    fn hold_opened(&self, _service: &str, _fh: u64, _pid: u32) {}
    /// The handle `fh` of `<service>/hold` was released: its last
    /// descriptor closed, by `close` or by the death of its process.
    fn hold_released(&self, _service: &str, _fh: u64) {}
    /// Where change lines are sent (the `events` files read them).
    fn changes(&self) -> &ChangeBus;
    /// The root `cluster/` directory, with `--cluster`.
    fn cluster_tree(&self) -> Option<Arc<ClusterTree>> {
        None
    }
    /// Run the command `data` written to the `ctl` file `target`; the
    /// write's result is the command's.
    fn command(self: Arc<Self>, target: CtlTarget, data: Vec<u8>)
        -> BoxFuture<'static, Result<()>>;
}

/// What a write to a file of the tree does.
pub enum Written {
    /// Taken as it is: a `hold`, where only being open matters.
    Taken,
    /// The command of a `ctl` write, to be run off the FUSE worker
    /// threads; its result is the write's.
    Command(BoxFuture<'static, Result<()>>),
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
    /// Owning group (root, or the ctl group for `ctl` and private
    /// configuration).
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Computed at each open (size 0, like /proc's files): the kernel
    /// must not keep its attributes.
    pub live: bool,
}

/// How the kernel should serve an open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// From the page cache, kept across opens.
    PageCache,
    /// Every read asks the daemon (the bytes taken at open).
    Direct,
    /// Every read asks the daemon, and the file has no positions to seek
    /// to (`events`, `wait/*`).
    Stream,
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
    fn owned(bytes: Vec<u8>) -> Data {
        let end = bytes.len();
        Data {
            bytes: bytes.into(),
            start: 0,
            end,
            stale_in_cache: false,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }
}

/// A node resolved against the current trees.
enum Resolved {
    Root,
    RootEvents,
    Service(Arc<ServiceTree>),
    Resource(Arc<ServiceTree>, usize),
    File(FileNode),
    /// A `wait` directory, of the service or of a resource.
    WaitDir(Arc<ServiceTree>, Option<usize>),
    /// A `wait/<word>` file.
    WaitFile(Arc<ServiceTree>, Option<usize>, Status),
    /// `nodes/` of a clustered service.
    NodesDir(Arc<ServiceTree>),
    /// `nodes/<node>/`, by index in the tree's nodes.
    NodeDir(Arc<ServiceTree>, usize),
    /// The root `cluster/` or its `nodes/`.
    ClusterDir(Arc<ClusterTree>, bool),
    /// `cluster/nodes/<node>/`, by index.
    ClusterNode(Arc<ClusterTree>, usize),
    /// A file computed at each open, with the mtime it shows (its
    /// directory's: stable, so that `tar` does not see it change).
    Live(LiveFile, SystemTime),
    /// A stream of a resource's live view (`wait/output`).
    Follow(LiveRef, Arc<str>),
}

/// A file computed at each open, from a cheap local source.
#[derive(Clone)]
enum LiveFile {
    /// A file of a resource's live view: its own, or one of resource use.
    Resource(LiveRef, Arc<str>),
    /// A sum of resource use over a service's resources.
    ServiceUsage(Arc<ServiceTree>, Arc<str>),
    /// The root `metrics`: the state's series, then the resources' use.
    Metrics,
}

impl Stream {
    /// What a read of this stream of the file at `path` waits for.
    fn waits(&self, path: &NodePath) -> Waits {
        match self {
            Stream::Lines(feed) => Waits::Line(feed.clone()),
            Stream::Wait(word) => Waits::Status(path.clone(), *word),
        }
    }
}

/// What a stream's reads come from.
enum Stream {
    /// Lines queued for this open (`events`, `wait/output`); the feed
    /// stops when the handle drops it.
    Lines(Arc<Feed>),
    Wait(Status),
}

struct OpenFile {
    path: NodePath,
    kind: FileKind,
    content: Arc<[u8]>,
    caching: Caching,
    /// The service this handle holds frozen (`<svc>/hold` opened for
    /// writing).
    holds: Option<Arc<str>>,
    /// A read happened: a read from offset 0 now starts over.
    read_once: bool,
    stream: Option<Stream>,
    /// What a live file's bytes are computed from, to compute them
    /// again when a read starts over.
    live: Option<LiveFile>,
    /// For `metrics`: the state's series its bytes began with (what
    /// poll(2) compares; the resource use is new at every read).
    basis: Option<Arc<[u8]>>,
}

/// An open directory.
enum DirHandle {
    /// Not read yet: the directory's inode.
    Unlisted(u64),
    /// Its entries as of its first readdir.
    Listed(Arc<[DirEntry]>),
}

/// The core of the filesystem.
pub struct Core {
    source: Arc<dyn TreeSource>,
    inodes: Mutex<InodeTable>,
    files: Mutex<HashMap<u64, OpenFile>>,
    dirs: Mutex<HashMap<u64, DirHandle>>,
    next_handle: AtomicU64,
    ctl_group: Option<u32>,
    waiting: Arc<Waiting>,
    /// The root `metrics` file with the services' series it was built
    /// from: rebuilt only when one of them changed, not at every read.
    metrics: Mutex<Option<(Vec<Arc<ServiceMetrics>>, FileNode)>>,
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
            waiting: Arc::default(),
            metrics: Mutex::new(None),
        }
    }

    /// Parked reads and poll registrations.
    pub fn waiting(&self) -> &Arc<Waiting> {
        &self.waiting
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

    /// The `metrics` file as of the current trees.
    fn metrics_file(&self) -> FileNode {
        let series: Vec<Arc<ServiceMetrics>> = self
            .source
            .service_names()
            .iter()
            .filter_map(|name| self.source.service_tree(name))
            .map(|tree| Arc::clone(&tree.metrics))
            .collect();
        let mut cached = lock(&self.metrics);
        if let Some((built_from, file)) = cached.as_ref() {
            let same = built_from.len() == series.len()
                && built_from
                    .iter()
                    .zip(&series)
                    .all(|(a, b)| Arc::ptr_eq(a, b));
            if same {
                return file.clone();
            }
        }
        let content: Arc<[u8]> = metrics_text(&series).into_bytes().into();
        let mtime = match cached.as_ref() {
            Some((_, before)) if before.content == content => before.mtime,
            _ => SystemTime::now(),
        };
        let file = FileNode {
            name: "metrics".into(),
            kind: FileKind::ReadOnly,
            content,
            mtime,
        };
        *cached = Some((series, file.clone()));
        file
    }

    fn resolve(&self, path: &NodePath) -> Option<Resolved> {
        if matches!(path, NodePath::RootFile(name) if &**name == "metrics") {
            return Some(Resolved::Live(
                LiveFile::Metrics,
                self.source.listing_changed(),
            ));
        }
        let in_cluster = || self.source.cluster_tree();
        match path {
            NodePath::ClusterDir => return Some(Resolved::ClusterDir(in_cluster()?, false)),
            NodePath::ClusterNodes => return Some(Resolved::ClusterDir(in_cluster()?, true)),
            NodePath::ClusterFile(name) if &**name == "etcd" => {
                return Some(Resolved::File(in_cluster()?.etcd.clone()))
            }
            NodePath::ClusterFile(_) => return None,
            NodePath::ClusterNode(node) => {
                let tree = in_cluster()?;
                let index = tree.nodes.iter().position(|n| n.rid == *node)?;
                return Some(Resolved::ClusterNode(tree, index));
            }
            NodePath::ClusterNodeFile(node, name) => {
                return Some(Resolved::File(
                    in_cluster()?.node(node)?.file(name)?.clone(),
                ))
            }
            _ => {}
        }
        let tree = match path.service() {
            None if matches!(path, NodePath::RootFile(_)) => return Some(Resolved::RootEvents),
            None => return Some(Resolved::Root),
            Some(service) => self.source.service_tree(service)?,
        };
        resolve_in(tree, path)
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
            live: false,
        };
        let stream = |mtime| Attr {
            ino,
            node_type: NodeType::File,
            perm: 0o444,
            size: 0,
            mtime,
            gid: 0,
            nlink: 1,
            live: false,
        };
        match resolved {
            Resolved::Root => dir(self.source.listing_changed()),
            Resolved::RootEvents => stream(self.source.listing_changed()),
            Resolved::Service(tree) | Resolved::WaitDir(tree, None) | Resolved::NodesDir(tree) => {
                dir(tree.mtime)
            }
            Resolved::NodeDir(tree, index) => dir(tree.nodes[*index].mtime),
            Resolved::ClusterDir(tree, _) => dir(tree.mtime),
            Resolved::ClusterNode(tree, index) => dir(tree.nodes[*index].mtime),
            Resolved::Resource(tree, index) | Resolved::WaitDir(tree, Some(index)) => {
                dir(tree.resources[*index].mtime)
            }
            Resolved::WaitFile(tree, index, _) => {
                stream(status_file(tree, *index).map_or(tree.mtime, |f| f.mtime))
            }
            Resolved::Follow(..) => stream(SystemTime::now()),
            // Its bytes are new at every open: size 0, as /proc's.
            Resolved::Live(_, mtime) => Attr {
                live: true,
                ..stream(*mtime)
            },
            Resolved::File(file) => {
                let (perm, gid) = match (file.kind, self.ctl_group) {
                    (FileKind::ReadOnly | FileKind::Events, _) => (0o444, 0),
                    // Configuration: no more readers than the service file
                    // has (the kernel enforces it: default_permissions).
                    (FileKind::Config { public: true }, _) => (0o444, 0),
                    (FileKind::Config { public: false }, Some(gid)) => (0o440, gid),
                    (FileKind::Config { public: false }, None) => (0o400, 0),
                    (FileKind::Ctl | FileKind::Hold, Some(gid)) => (0o220, gid),
                    (FileKind::Ctl | FileKind::Hold, None) => (0o200, 0),
                };
                Attr {
                    ino,
                    node_type: NodeType::File,
                    perm,
                    size: file.content.len() as u64,
                    mtime: file.mtime,
                    gid,
                    nlink: 1,
                    live: false,
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
        let path = self
            .child_of(&parent_path, name.into())
            .ok_or_else(|| Error::new(libc::ENOTDIR, "not a directory"))?;
        let resolved = self.resolve(&path).ok_or_else(missing)?;
        let ino = lock(&self.inodes).ino(path);
        Ok(self.told(self.attr(ino, &resolved)))
    }

    /// The node `name` is in `parent`: the root's `cluster` is the
    /// cluster's directory while there is one, a service's otherwise.
    fn child_of(&self, parent: &NodePath, name: Arc<str>) -> Option<NodePath> {
        if *parent == NodePath::Root
            && &*name == CLUSTER_DIR
            && self.source.cluster_tree().is_some()
        {
            return Some(NodePath::ClusterDir);
        }
        parent.child_named(name)
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
            // `exec 3>hold` opens with O_TRUNC too.
            Resolved::File(file) if matches!(file.kind, FileKind::Ctl | FileKind::Hold) => {
                if change.mode || change.owner || change.size.is_some_and(|s| s != 0) {
                    return Err(fixed());
                }
            }
            Resolved::File(_)
            | Resolved::RootEvents
            | Resolved::WaitFile(..)
            | Resolved::Live(..)
            | Resolved::Follow(..)
                if change.size.is_some() =>
            {
                return Err(Error::access(format!("{} is read-only", path.name())))
            }
            _ => return Err(fixed()),
        }
        Ok(self.told(self.attr(ino, &resolved)))
    }

    /// Open a file on a snapshot of its bytes (a stream on its source).
    pub fn open(&self, ino: u64, write: bool) -> Result<Opened> {
        self.open_by(ino, write, 0)
    }

    /// Open a file on a snapshot of its bytes, for process `pid` (who
    /// holds the service when the file is a `hold` opened for writing).
    pub fn open_by(&self, ino: u64, write: bool, pid: u32) -> Result<Opened> {
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
        let read_only = || Error::access(format!("{} is read-only", path.name()));
        let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
        let empty = || Arc::from(&[][..]);
        let mut live = None;
        let mut basis = None;
        let (kind, content, stream) = match resolved {
            Resolved::File(file) => {
                // Root bypasses mode bits in the kernel: refuse writes here.
                if write && !matches!(file.kind, FileKind::Ctl | FileKind::Hold) {
                    return Err(read_only());
                }
                let stream = (file.kind == FileKind::Events)
                    .then(|| Stream::Lines(self.subscribe(fh, path.service())));
                (file.kind, file.content, stream)
            }
            Resolved::RootEvents
            | Resolved::WaitFile(..)
            | Resolved::Live(..)
            | Resolved::Follow(..)
                if write =>
            {
                return Err(read_only())
            }
            Resolved::RootEvents => (
                FileKind::Events,
                empty(),
                Some(Stream::Lines(self.subscribe(fh, None))),
            ),
            Resolved::WaitFile(_, _, word) => {
                (FileKind::ReadOnly, empty(), Some(Stream::Wait(word)))
            }
            Resolved::Follow(view, name) => {
                let feed = self
                    .follow(fh, &view, &name)
                    .ok_or_else(|| Error::not_found(format!("{name} is gone")))?;
                (FileKind::ReadOnly, empty(), Some(Stream::Lines(feed)))
            }
            Resolved::Live(file, _) => {
                let (content, state) = self.live_bytes(&file);
                basis = state;
                live = Some(file);
                (FileKind::ReadOnly, content, None)
            }
            _ => {
                return Err(Error::new(
                    libc::EISDIR,
                    format!("{} is a directory", path.name()),
                ))
            }
        };
        // A `ctl` opened to be read shows its help like any small file. A
        // write is direct: its bytes go to the daemon and never into the
        // pages (the kernel drops the cached help when such an open does
        // not keep the cache).
        // The cluster's files change every second and no publication
        // tells the kernel: never from the page cache.
        let clustered = matches!(
            path,
            NodePath::ClusterFile(_) | NodePath::ClusterNodeFile(..)
        );
        let caching = if stream.is_some() {
            Caching::Stream
        } else if live.is_some() {
            // Computed at this open: never from pages another open filled.
            Caching::Direct
        } else if !write
            && !clustered
            && matches!(
                kind,
                FileKind::ReadOnly | FileKind::Config { .. } | FileKind::Ctl
            )
            && content.len() <= CACHED_FILE_MAX
            && told == Some(content.len() as u64)
        {
            Caching::PageCache
        } else {
            Caching::Direct
        };
        let holds = match &path {
            NodePath::ServiceFile(service, _) if write && kind == FileKind::Hold => {
                Some(service.clone())
            }
            _ => None,
        };
        lock(&self.files).insert(
            fh,
            OpenFile {
                path,
                kind,
                content,
                caching,
                holds: holds.clone(),
                // The kernel serves reads of a cached handle from pages any
                // handle filled, without asking: each read it does ask for
                // fills the cache, from the bytes as they are now.
                read_once: caching == Caching::PageCache,
                stream,
                live,
                basis,
            },
        );
        if let Some(service) = holds {
            self.source.hold_opened(&service, fh, pid);
        }
        Ok(Opened { fh, caching })
    }

    /// Read from an open file without waiting: its snapshot, or what its
    /// stream has now (EAGAIN when nothing).
    pub fn read(&self, fh: u64, offset: u64, size: u32) -> Result<Data> {
        let (path, mut bytes, caching, stream, rewind) = {
            let mut files = lock(&self.files);
            let file = files
                .get_mut(&fh)
                .ok_or_else(|| Error::new(libc::EBADF, "not an open file"))?;
            let rewind = offset == 0 && file.read_once && file.stream.is_none();
            file.read_once = true;
            let stream = file.stream.as_ref().map(|s| s.waits(&file.path));
            let bytes = Arc::clone(&file.content);
            (file.path.clone(), bytes, file.caching, stream, rewind)
        };
        // The trees are read without the handles locked: a publisher may
        // hold the engine's locks while it takes that one.
        if rewind {
            // Starting over: from the file as it is now.
            match self.resolve(&path) {
                Some(Resolved::File(now)) => {
                    if let Some(file) = lock(&self.files).get_mut(&fh) {
                        file.content = now.content.clone();
                    }
                    bytes = now.content;
                }
                Some(Resolved::Live(live, _)) => {
                    let (now, basis) = self.live_bytes(&live);
                    if let Some(file) = lock(&self.files).get_mut(&fh) {
                        file.content = now.clone();
                        file.basis = basis;
                    }
                    bytes = now;
                }
                _ => {}
            }
        }
        if let Some(waits) = stream {
            return self
                .stream_now(&waits, offset, size)
                .unwrap_or_else(|| Err(Error::new(libc::EAGAIN, "nothing to read yet")));
        }
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let end = start.saturating_add(size as usize).min(bytes.len());
        // A read the kernel will cache, from a handle opened before the
        // last change: the cache would keep old bytes after the
        // publisher's invalidation. Rare (a read straddling a change).
        let stale_in_cache = caching == Caching::PageCache
            && !matches!(
                self.resolve(&path),
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
        let file = lock(&self.files).remove(&fh);
        if let Some(file) = file {
            self.waiting.forget(fh);
            if let Some(service) = file.holds {
                self.source.hold_released(&service, fh);
            }
        }
    }

    /// A write of `data` to `ino`: a `ctl` file's command, a `hold`'s
    /// bytes taken and dropped, EACCES anywhere else.
    pub fn write(&self, ino: u64, data: &[u8]) -> Result<Written> {
        if self.is_hold(ino) {
            return Ok(Written::Taken);
        }
        let target = self.ctl_target(ino)?;
        Ok(Written::Command(
            Arc::clone(&self.source).command(target, data.to_vec()),
        ))
    }

    /// Whether `ino` is a service's `hold` (writes to it are taken and
    /// dropped: only being open matters).
    pub fn is_hold(&self, ino: u64) -> bool {
        matches!(self.resolve_ino(ino), Ok((_, Resolved::File(f))) if f.kind == FileKind::Hold)
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
}

/// `path` in its service's `tree`.
fn resolve_in(tree: Arc<ServiceTree>, path: &NodePath) -> Option<Resolved> {
    let index = |rid: &Option<Arc<str>>| match rid {
        None => Some(None),
        Some(rid) => tree.resources.iter().position(|r| r.rid == *rid).map(Some),
    };
    Some(match path {
        NodePath::Root => Resolved::Root,
        NodePath::RootFile(_) => Resolved::RootEvents,
        NodePath::Service(_) => Resolved::Service(tree),
        NodePath::ServiceFile(_, name) => match tree.file(name) {
            Some(file) => Resolved::File(file.clone()),
            None if tree.has_usage() && is_usage_file(name) => {
                let mtime = tree.mtime;
                Resolved::Live(LiveFile::ServiceUsage(tree.clone(), name.clone()), mtime)
            }
            None => return None,
        },
        NodePath::Resource(_, rid) => {
            let index = index(&Some(rid.clone()))??;
            Resolved::Resource(tree, index)
        }
        NodePath::ResourceFile(_, rid, name) => {
            let dir = tree.resource(rid)?;
            match (dir.file(name), &dir.live) {
                (Some(file), _) => Resolved::File(file.clone()),
                (None, Some(live)) if dir.has_live(name) => {
                    Resolved::Live(LiveFile::Resource(live.clone(), name.clone()), dir.mtime)
                }
                _ => return None,
            }
        }
        NodePath::Wait(_, rid) => {
            let index = index(rid)?;
            Resolved::WaitDir(tree, index)
        }
        NodePath::WaitFile(_, rid, word) => {
            let index = index(rid)?;
            match (WAIT_WORDS.iter().find(|w| w.as_str() == &**word), index) {
                (Some(status), _) => Resolved::WaitFile(tree, index, *status),
                (None, Some(i)) if tree.resources[i].has_stream(word) => {
                    let live = tree.resources[i].live.clone()?;
                    Resolved::Follow(live, word.clone())
                }
                _ => return None,
            }
        }
        NodePath::Nodes(_) if tree.nodes.is_empty() => return None,
        NodePath::Nodes(_) => Resolved::NodesDir(tree),
        NodePath::NodeDir(_, node) => {
            let index = tree.nodes.iter().position(|n| n.rid == *node)?;
            Resolved::NodeDir(tree, index)
        }
        NodePath::NodeFile(_, node, name) => Resolved::File(tree.node(node)?.file(name)?.clone()),
        // Not in a service (see `Core::resolve`).
        NodePath::ClusterDir
        | NodePath::ClusterFile(_)
        | NodePath::ClusterNodes
        | NodePath::ClusterNode(_)
        | NodePath::ClusterNodeFile(..) => return None,
    })
}

/// The `status` file of the service (`None`) or of its resource `index`.
fn status_file(tree: &ServiceTree, index: Option<usize>) -> Option<&FileNode> {
    match index {
        None => tree.file("status"),
        Some(i) => tree.resources.get(i)?.file("status"),
    }
}

/// The answer to every request that would change the tree's shape
/// (mkdir, mknod, create, unlink, rmdir, symlink, link, rename).
pub fn shape_is_fixed(what: &str) -> Error {
    Error::new(libc::EPERM, format!("{what}: the tree's shape is fixed"))
}

#[path = "core_dirs.rs"]
mod dirs;

#[path = "core_live.rs"]
mod live;

#[path = "core_streams.rs"]
mod streams;
pub use streams::Readiness;

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
