//! The core's directories: opening one, its listing (taken at the first
//! readdir of a handle and kept until it is closed), and its entries by
//! offset.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Core, DirEntry, DirHandle, NodeType, Resolved};
use crate::error::{Error, Result};
use crate::render::tree::{usage_files, CLUSTER_DIR, NODES_DIR, ROOT_FILES, WAIT_DIR, WAIT_WORDS};
use crate::sync::lock;

impl Core {
    /// Open a directory (its listing is taken by the first `readdir`).
    pub fn opendir(&self, ino: u64) -> Result<u64> {
        let (path, resolved) = self.resolve_ino(ino)?;
        if matches!(
            resolved,
            Resolved::File(_)
                | Resolved::RootEvents
                | Resolved::WaitFile(..)
                | Resolved::Live(..)
                | Resolved::Follow(..)
        ) {
            return Err(Error::new(
                libc::ENOTDIR,
                format!("{} is a file", path.name()),
            ));
        }
        // Listed at the first readdir, not here: a warm walk opens every
        // directory but the kernel answers its readdirs from its cache.
        let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
        lock(&self.dirs).insert(fh, DirHandle::Unlisted(ino));
        Ok(fh)
    }

    /// The entries of directory `ino` as of now; empty once it is gone.
    fn listing(&self, ino: u64) -> Arc<[DirEntry]> {
        let Ok((path, resolved)) = self.resolve_ino(ino) else {
            return Arc::from([]);
        };
        let wait = || (Arc::<str>::from(WAIT_DIR), NodeType::Directory);
        let children: Vec<(Arc<str>, NodeType)> = match &resolved {
            Resolved::File(_)
            | Resolved::RootEvents
            | Resolved::WaitFile(..)
            | Resolved::Live(..)
            | Resolved::Follow(..) => return Arc::from([]),
            Resolved::Root => ROOT_FILES
                .iter()
                .map(|name| (Arc::from(*name), NodeType::File))
                .chain(
                    self.source
                        .cluster_tree()
                        .map(|_| (Arc::<str>::from(CLUSTER_DIR), NodeType::Directory)),
                )
                .chain(
                    self.source
                        .service_names()
                        .into_iter()
                        .map(|name| (name, NodeType::Directory)),
                )
                .collect(),
            Resolved::Service(tree) => tree
                .files
                .iter()
                .map(|f| (f.name.clone(), NodeType::File))
                .chain(
                    tree.has_usage()
                        .then(usage_files)
                        .into_iter()
                        .flatten()
                        .map(|name| (Arc::from(name), NodeType::File)),
                )
                .chain(std::iter::once(wait()))
                .chain(
                    (!tree.nodes.is_empty())
                        .then(|| (Arc::<str>::from(NODES_DIR), NodeType::Directory)),
                )
                .chain(
                    tree.resources
                        .iter()
                        .map(|r| (r.rid.clone(), NodeType::Directory)),
                )
                .collect(),
            Resolved::ClusterDir(_, false) => vec![
                (Arc::from("etcd"), NodeType::File),
                (Arc::from(NODES_DIR), NodeType::Directory),
            ],
            Resolved::ClusterDir(tree, true) => tree
                .nodes
                .iter()
                .map(|n| (n.rid.clone(), NodeType::Directory))
                .collect(),
            Resolved::ClusterNode(tree, index) => tree.nodes[*index]
                .files
                .iter()
                .map(|f| (f.name.clone(), NodeType::File))
                .collect(),
            Resolved::NodesDir(tree) => tree
                .nodes
                .iter()
                .map(|n| (n.rid.clone(), NodeType::Directory))
                .collect(),
            Resolved::NodeDir(tree, index) => tree.nodes[*index]
                .files
                .iter()
                .map(|f| (f.name.clone(), NodeType::File))
                .collect(),
            Resolved::Resource(tree, index) => {
                let dir = &tree.resources[*index];
                dir.files
                    .iter()
                    .map(|f| (f.name.clone(), NodeType::File))
                    .chain(
                        dir.live_files()
                            .iter()
                            .map(|name| (Arc::from(*name), NodeType::File)),
                    )
                    .chain(std::iter::once(wait()))
                    .collect()
            }
            Resolved::WaitDir(tree, index) => {
                let streams = index.map_or(&[][..], |i| tree.resources[i].shown.streams);
                WAIT_WORDS
                    .iter()
                    .map(|w| Arc::from(w.as_str()))
                    .chain(streams.iter().map(|s| Arc::from(*s)))
                    .map(|name| (name, NodeType::File))
                    .collect()
            }
        };
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
            if let Some(child) = self.child_of(&path, name.clone()) {
                listing.push(DirEntry {
                    ino: inodes.ino(child),
                    node_type,
                    name,
                });
            }
        }
        listing.into()
    }

    /// The entries of an open directory from `offset` (the offset of an
    /// entry is its index plus one). The listing is taken at the first
    /// readdir of the handle and kept until it is closed, so that offsets
    /// stay right while services come and go.
    pub fn readdir(&self, fh: u64, offset: u64) -> Result<Vec<(u64, DirEntry)>> {
        let unlisted = match lock(&self.dirs).get(&fh) {
            None => return Err(Error::new(libc::EBADF, "not an open directory")),
            Some(DirHandle::Listed(listing)) => Err(Arc::clone(listing)),
            Some(DirHandle::Unlisted(ino)) => Ok(*ino),
        };
        let listing = match unlisted {
            Err(listing) => listing,
            Ok(ino) => {
                let built = self.listing(ino);
                let mut dirs = lock(&self.dirs);
                match dirs.get_mut(&fh) {
                    // Another readdir of the handle listed it first.
                    Some(DirHandle::Listed(listing)) => Arc::clone(listing),
                    Some(handle) => {
                        *handle = DirHandle::Listed(Arc::clone(&built));
                        built
                    }
                    None => return Err(Error::new(libc::EBADF, "not an open directory")),
                }
            }
        };
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
