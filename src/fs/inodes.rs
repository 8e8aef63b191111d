//! Inode numbers for the nodes of the tree. A node keeps its number for
//! the daemon's life (numbers are never reused), so a service that
//! disappears and comes back gets its old number, and stale handles
//! resolve to ENOENT, not to another file.
//!
//! Each number also remembers the size the kernel was last given for it,
//! which decides whether an open may be served from the page cache (see
//! `core.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::render::tree::{ROOT_FILES, SERVICE_FILES, WAIT_DIR};

/// The root directory's inode.
pub const ROOT: u64 = 1;

/// What an inode names: its place in the tree, not its content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NodePath {
    /// The mountpoint.
    Root,
    /// `<svc>/`.
    Service(Arc<str>),
    /// `<svc>/<file>`.
    ServiceFile(Arc<str>, Arc<str>),
    /// `<svc>/<rid>/`.
    Resource(Arc<str>, Arc<str>),
    /// `<svc>/<rid>/<file>`.
    ResourceFile(Arc<str>, Arc<str>, Arc<str>),
    /// A file of the root (`events`, `metrics`).
    RootFile(Arc<str>),
    /// `<svc>/wait/`, or `<svc>/<rid>/wait/` with the rid.
    Wait(Arc<str>, Option<Arc<str>>),
    /// `<svc>[/<rid>]/wait/<word>`.
    WaitFile(Arc<str>, Option<Arc<str>>, Arc<str>),
}

impl NodePath {
    /// The node `name` would be inside this one, if this is a directory.
    pub fn child(&self, name: &str) -> Option<NodePath> {
        let name: Arc<str> = name.into();
        Some(match self {
            NodePath::Root if ROOT_FILES.contains(&&*name) => NodePath::RootFile(name),
            NodePath::Root => NodePath::Service(name),
            // Rids are `<type>#<n>` or `dockerd`: they never collide with
            // the service's own file names.
            NodePath::Service(svc) if SERVICE_FILES.contains(&&*name) => {
                NodePath::ServiceFile(svc.clone(), name)
            }
            NodePath::Service(svc) if &*name == WAIT_DIR => NodePath::Wait(svc.clone(), None),
            NodePath::Service(svc) => NodePath::Resource(svc.clone(), name),
            // No keyword is called `wait`.
            NodePath::Resource(svc, rid) if &*name == WAIT_DIR => {
                NodePath::Wait(svc.clone(), Some(rid.clone()))
            }
            NodePath::Resource(svc, rid) => NodePath::ResourceFile(svc.clone(), rid.clone(), name),
            NodePath::Wait(svc, rid) => NodePath::WaitFile(svc.clone(), rid.clone(), name),
            NodePath::ServiceFile(..)
            | NodePath::ResourceFile(..)
            | NodePath::RootFile(_)
            | NodePath::WaitFile(..) => return None,
        })
    }

    /// The directory holding this node (the root for the root).
    pub fn parent(&self) -> NodePath {
        match self {
            NodePath::Root | NodePath::Service(_) | NodePath::RootFile(_) => NodePath::Root,
            NodePath::ServiceFile(svc, _)
            | NodePath::Resource(svc, _)
            | NodePath::Wait(svc, None) => NodePath::Service(svc.clone()),
            NodePath::ResourceFile(svc, rid, _) | NodePath::Wait(svc, Some(rid)) => {
                NodePath::Resource(svc.clone(), rid.clone())
            }
            NodePath::WaitFile(svc, rid, _) => NodePath::Wait(svc.clone(), rid.clone()),
        }
    }

    /// The node's name in its directory (empty for the root).
    pub fn name(&self) -> &str {
        match self {
            NodePath::Root => "",
            NodePath::Wait(..) => WAIT_DIR,
            NodePath::Service(name)
            | NodePath::ServiceFile(_, name)
            | NodePath::Resource(_, name)
            | NodePath::ResourceFile(_, _, name)
            | NodePath::RootFile(name)
            | NodePath::WaitFile(_, _, name) => name,
        }
    }

    /// The service this node belongs to.
    pub fn service(&self) -> Option<&str> {
        match self {
            NodePath::Root | NodePath::RootFile(_) => None,
            NodePath::Service(svc)
            | NodePath::ServiceFile(svc, _)
            | NodePath::Resource(svc, _)
            | NodePath::ResourceFile(svc, _, _)
            | NodePath::Wait(svc, _)
            | NodePath::WaitFile(svc, _, _) => Some(svc),
        }
    }
}

struct Slot {
    path: NodePath,
    /// The size in the last attributes given to the kernel.
    told_size: Option<u64>,
}

/// Nodes ↔ inode numbers.
pub struct InodeTable {
    by_path: HashMap<NodePath, u64>,
    slots: Vec<Slot>,
}

impl Default for InodeTable {
    fn default() -> Self {
        let slot = |path| Slot {
            path,
            told_size: None,
        };
        InodeTable {
            by_path: HashMap::from([(NodePath::Root, ROOT)]),
            // Index 0 is unused: inode 0 is invalid in FUSE.
            slots: vec![slot(NodePath::Root), slot(NodePath::Root)],
        }
    }
}

impl InodeTable {
    /// The node of an inode.
    pub fn path(&self, ino: u64) -> Option<&NodePath> {
        match ino {
            0 => None,
            n => self.slots.get(usize::try_from(n).ok()?).map(|s| &s.path),
        }
    }

    /// The inode of a node, allocated on first sight.
    pub fn ino(&mut self, path: NodePath) -> u64 {
        if let Some(&ino) = self.by_path.get(&path) {
            return ino;
        }
        let ino = self.slots.len() as u64;
        self.slots.push(Slot {
            path: path.clone(),
            told_size: None,
        });
        self.by_path.insert(path, ino);
        ino
    }

    /// The inode of a node the kernel may know, without allocating one.
    pub fn existing(&self, path: &NodePath) -> Option<u64> {
        self.by_path.get(path).copied()
    }

    /// Remember the size just given to the kernel for `ino`.
    pub fn tell_size(&mut self, ino: u64, size: u64) {
        if let Some(slot) = usize::try_from(ino)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
        {
            slot.told_size = Some(size);
        }
    }

    /// The size last given to the kernel for `ino`.
    pub fn told_size(&self, ino: u64) -> Option<u64> {
        self.slots.get(usize::try_from(ino).ok()?)?.told_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(svc: &str, name: &str) -> NodePath {
        NodePath::ServiceFile(svc.into(), name.into())
    }

    #[test]
    fn root_is_inode_one() {
        let mut t = InodeTable::default();
        assert_eq!(t.ino(NodePath::Root), ROOT);
        assert_eq!(t.path(ROOT), Some(&NodePath::Root));
        assert_eq!(t.path(0), None);
    }

    #[test]
    fn nodes_keep_their_numbers() {
        let mut t = InodeTable::default();
        let a = t.ino(file("svc", "status"));
        let b = t.ino(file("svc", "ctl"));
        assert_ne!(a, b);
        assert_eq!(t.ino(file("svc", "status")), a);
        assert_eq!(t.path(b), Some(&file("svc", "ctl")));
        assert_eq!(t.path(999), None);
        assert_eq!(t.existing(&file("svc", "log")), None);
    }

    #[test]
    fn told_sizes_are_per_inode() {
        let mut t = InodeTable::default();
        let a = t.ino(file("svc", "status"));
        assert_eq!(t.told_size(a), None);
        t.tell_size(a, 3);
        assert_eq!(t.told_size(a), Some(3));
        t.tell_size(999, 1);
        assert_eq!(t.told_size(999), None);
    }

    #[test]
    fn children_and_parents_follow_the_layout() {
        let svc = NodePath::Root.child("app").unwrap();
        assert_eq!(svc, NodePath::Service("app".into()));
        assert_eq!(svc.child("status").unwrap(), file("app", "status"));
        let rid = svc.child("container#1").unwrap();
        assert_eq!(rid, NodePath::Resource("app".into(), "container#1".into()));
        let f = rid.child("label").unwrap();
        assert_eq!(f.parent(), rid);
        assert_eq!(f.name(), "label");
        assert_eq!(f.service(), Some("app"));
        assert_eq!(rid.parent(), svc);
        assert!(f.child("x").is_none());
        assert!(file("app", "log").child("x").is_none());
        assert_eq!(NodePath::Root.parent(), NodePath::Root);
    }

    #[test]
    fn root_files_and_wait_directories_have_their_places() {
        let events = NodePath::Root.child("events").unwrap();
        assert_eq!(events, NodePath::RootFile("events".into()));
        assert_eq!((events.parent(), events.service()), (NodePath::Root, None));
        let svc = NodePath::Service("app".into());
        let wait = svc.child("wait").unwrap();
        assert_eq!(wait, NodePath::Wait("app".into(), None));
        let up = wait.child("up").unwrap();
        assert_eq!(up.name(), "up");
        assert_eq!(up.parent().parent(), svc);
        let rid = svc.child("container#1").unwrap();
        let rid_wait = rid.child("wait").unwrap();
        assert_eq!(rid_wait.name(), "wait");
        assert_eq!(rid_wait.parent(), rid);
        assert_eq!(rid_wait.child("down").unwrap().service(), Some("app"));
        assert!(up.child("x").is_none());
    }
}
