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

use crate::render::tree::{
    is_usage_file, CLUSTER_DIR, CLUSTER_SERVICE_FILES, NODES_DIR, ROOT_FILES, SERVICE_FILES,
    WAIT_DIR,
};

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
    /// `<svc>/nodes/` (`--cluster`).
    Nodes(Arc<str>),
    /// `<svc>/nodes/<node>/`.
    NodeDir(Arc<str>, Arc<str>),
    /// `<svc>/nodes/<node>/<file>`.
    NodeFile(Arc<str>, Arc<str>, Arc<str>),
    /// The root `cluster/` (`--cluster`; the core decides when the root's
    /// `cluster` is this rather than a service).
    ClusterDir,
    /// `cluster/<file>` (`etcd`).
    ClusterFile(Arc<str>),
    /// `cluster/nodes/`.
    ClusterNodes,
    /// `cluster/nodes/<node>/`.
    ClusterNode(Arc<str>),
    /// `cluster/nodes/<node>/<file>`.
    ClusterNodeFile(Arc<str>, Arc<str>),
}

impl NodePath {
    /// The node `name` would be inside this one, if this is a directory.
    pub fn child(&self, name: &str) -> Option<NodePath> {
        self.child_named(name.into())
    }

    /// [`Self::child`], for a name the caller already holds as an `Arc`.
    pub fn child_named(&self, name: Arc<str>) -> Option<NodePath> {
        Some(match self {
            NodePath::Root if ROOT_FILES.contains(&&*name) => NodePath::RootFile(name),
            NodePath::Root => NodePath::Service(name),
            // Rids are `<type>#<n>` or `dockerd`: they never collide with
            // the service's own file names.
            NodePath::Service(svc)
                if SERVICE_FILES.contains(&&*name)
                    || CLUSTER_SERVICE_FILES.contains(&&*name)
                    || is_usage_file(&name) =>
            {
                NodePath::ServiceFile(svc.clone(), name)
            }
            NodePath::Service(svc) if &*name == WAIT_DIR => NodePath::Wait(svc.clone(), None),
            NodePath::Service(svc) if &*name == NODES_DIR => NodePath::Nodes(svc.clone()),
            NodePath::Nodes(svc) => NodePath::NodeDir(svc.clone(), name),
            NodePath::NodeDir(svc, node) => NodePath::NodeFile(svc.clone(), node.clone(), name),
            NodePath::ClusterDir if &*name == NODES_DIR => NodePath::ClusterNodes,
            NodePath::ClusterDir => NodePath::ClusterFile(name),
            NodePath::ClusterNodes => NodePath::ClusterNode(name),
            NodePath::ClusterNode(node) => NodePath::ClusterNodeFile(node.clone(), name),
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
            | NodePath::WaitFile(..)
            | NodePath::NodeFile(..)
            | NodePath::ClusterFile(_)
            | NodePath::ClusterNodeFile(..) => return None,
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
            NodePath::Nodes(svc) => NodePath::Service(svc.clone()),
            NodePath::NodeDir(svc, _) => NodePath::Nodes(svc.clone()),
            NodePath::NodeFile(svc, node, _) => NodePath::NodeDir(svc.clone(), node.clone()),
            NodePath::ClusterDir => NodePath::Root,
            NodePath::ClusterFile(_) | NodePath::ClusterNodes => NodePath::ClusterDir,
            NodePath::ClusterNode(_) => NodePath::ClusterNodes,
            NodePath::ClusterNodeFile(node, _) => NodePath::ClusterNode(node.clone()),
        }
    }

    /// The node's name in its directory (empty for the root).
    pub fn name(&self) -> &str {
        match self {
            NodePath::Root => "",
            NodePath::Wait(..) => WAIT_DIR,
            NodePath::Nodes(_) => NODES_DIR,
            NodePath::NodeDir(_, name) | NodePath::NodeFile(_, _, name) => name,
            NodePath::ClusterDir => CLUSTER_DIR,
            NodePath::ClusterNodes => NODES_DIR,
            NodePath::ClusterFile(name)
            | NodePath::ClusterNode(name)
            | NodePath::ClusterNodeFile(_, name) => name,
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
            NodePath::Root
            | NodePath::RootFile(_)
            | NodePath::ClusterDir
            | NodePath::ClusterFile(_)
            | NodePath::ClusterNodes
            | NodePath::ClusterNode(_)
            | NodePath::ClusterNodeFile(..) => None,
            NodePath::Service(svc)
            | NodePath::ServiceFile(svc, _)
            | NodePath::Resource(svc, _)
            | NodePath::ResourceFile(svc, _, _)
            | NodePath::Wait(svc, _)
            | NodePath::WaitFile(svc, _, _)
            | NodePath::Nodes(svc)
            | NodePath::NodeDir(svc, _)
            | NodePath::NodeFile(svc, _, _) => Some(svc),
        }
    }
}

/// Which variant of [`NodePath`] a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Service,
    ServiceFile,
    Resource,
    ResourceFile,
    RootFile,
    Wait,
    WaitFile,
    Nodes,
    NodeDir,
    NodeFile,
    ClusterDir,
    ClusterFile,
    ClusterNodes,
    ClusterNode,
    ClusterNodeFile,
}

/// One inode, compact: a walk of a big tree names every node, and the
/// table keeps them all for the daemon's life (62 000 nodes for 1000
/// services). The path is rebuilt from the parent chain on demand.
struct Slot {
    /// Index of the name in [`InodeTable::names`].
    name: u32,
    /// Inode of the directory holding the node.
    parent: u32,
    kind: Kind,
    /// The size in the last attributes given to the kernel; [`UNTOLD`]
    /// before any.
    told_size: u64,
}

const UNTOLD: u64 = u64::MAX;

/// Nodes ↔ inode numbers.
pub struct InodeTable {
    /// Every name seen once (a few per resource type, one per service):
    /// nodes refer to them by index, and paths share the `Arc`s.
    names: Vec<Arc<str>>,
    name_index: HashMap<Arc<str>, u32>,
    /// (parent inode << 32 | name index) → inode.
    by_key: HashMap<u64, u32>,
    /// Index = inode number; 0 is unused (invalid in FUSE).
    slots: Vec<Slot>,
}

impl Default for InodeTable {
    fn default() -> Self {
        let root = || Slot {
            name: 0,
            parent: ROOT as u32,
            kind: Kind::Root,
            told_size: UNTOLD,
        };
        let empty: Arc<str> = "".into();
        InodeTable {
            names: vec![empty.clone()],
            name_index: HashMap::from([(empty, 0)]),
            by_key: HashMap::new(),
            slots: vec![root(), root()],
        }
    }
}

fn kind_of(path: &NodePath) -> Kind {
    match path {
        NodePath::Root => Kind::Root,
        NodePath::Service(_) => Kind::Service,
        NodePath::ServiceFile(..) => Kind::ServiceFile,
        NodePath::Resource(..) => Kind::Resource,
        NodePath::ResourceFile(..) => Kind::ResourceFile,
        NodePath::RootFile(_) => Kind::RootFile,
        NodePath::Wait(..) => Kind::Wait,
        NodePath::WaitFile(..) => Kind::WaitFile,
        NodePath::Nodes(_) => Kind::Nodes,
        NodePath::NodeDir(..) => Kind::NodeDir,
        NodePath::NodeFile(..) => Kind::NodeFile,
        NodePath::ClusterDir => Kind::ClusterDir,
        NodePath::ClusterFile(_) => Kind::ClusterFile,
        NodePath::ClusterNodes => Kind::ClusterNodes,
        NodePath::ClusterNode(_) => Kind::ClusterNode,
        NodePath::ClusterNodeFile(..) => Kind::ClusterNodeFile,
    }
}

fn key(parent: u32, name: u32) -> u64 {
    (u64::from(parent) << 32) | u64::from(name)
}

impl InodeTable {
    fn slot(&self, ino: u64) -> Option<&Slot> {
        match ino {
            0 => None,
            n => self.slots.get(usize::try_from(n).ok()?),
        }
    }

    fn name(&self, index: u32) -> Arc<str> {
        self.names[index as usize].clone()
    }

    /// The node of an inode.
    pub fn path(&self, ino: u64) -> Option<NodePath> {
        let slot = self.slot(ino)?;
        let parent = || &self.slots[slot.parent as usize];
        Some(match slot.kind {
            Kind::Root => NodePath::Root,
            Kind::Service => NodePath::Service(self.name(slot.name)),
            Kind::ServiceFile => {
                NodePath::ServiceFile(self.name(parent().name), self.name(slot.name))
            }
            Kind::Resource => NodePath::Resource(self.name(parent().name), self.name(slot.name)),
            Kind::ResourceFile => {
                let resource = parent();
                NodePath::ResourceFile(
                    self.name(self.slots[resource.parent as usize].name),
                    self.name(resource.name),
                    self.name(slot.name),
                )
            }
            Kind::RootFile => NodePath::RootFile(self.name(slot.name)),
            // `wait/` of a service or of a resource: its parent says which.
            Kind::Wait => match self.path(u64::from(slot.parent))? {
                NodePath::Service(svc) => NodePath::Wait(svc, None),
                NodePath::Resource(svc, rid) => NodePath::Wait(svc, Some(rid)),
                _ => return None,
            },
            Kind::WaitFile => match self.path(u64::from(slot.parent))? {
                NodePath::Wait(svc, rid) => NodePath::WaitFile(svc, rid, self.name(slot.name)),
                _ => return None,
            },
            Kind::Nodes => NodePath::Nodes(self.name(parent().name)),
            Kind::NodeDir | Kind::NodeFile => match self.path(u64::from(slot.parent))? {
                NodePath::Nodes(svc) => NodePath::NodeDir(svc, self.name(slot.name)),
                NodePath::NodeDir(svc, node) => NodePath::NodeFile(svc, node, self.name(slot.name)),
                _ => return None,
            },
            Kind::ClusterDir => NodePath::ClusterDir,
            Kind::ClusterFile => NodePath::ClusterFile(self.name(slot.name)),
            Kind::ClusterNodes => NodePath::ClusterNodes,
            Kind::ClusterNode => NodePath::ClusterNode(self.name(slot.name)),
            Kind::ClusterNodeFile => {
                NodePath::ClusterNodeFile(self.name(parent().name), self.name(slot.name))
            }
        })
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&index) = self.name_index.get(name) {
            return index;
        }
        let index = self.names.len() as u32;
        let name: Arc<str> = name.into();
        self.names.push(name.clone());
        self.name_index.insert(name, index);
        index
    }

    /// The inode of a node, allocated on first sight.
    pub fn ino(&mut self, path: NodePath) -> u64 {
        if path == NodePath::Root {
            return ROOT;
        }
        let parent = self.ino(path.parent()) as u32;
        let name = self.intern(path.name());
        let next = self.slots.len() as u32;
        let ino = *self.by_key.entry(key(parent, name)).or_insert(next);
        if ino == next {
            self.slots.push(Slot {
                name,
                parent,
                kind: kind_of(&path),
                told_size: UNTOLD,
            });
        }
        u64::from(ino)
    }

    /// The inode of a node the kernel may know, without allocating one.
    pub fn existing(&self, path: &NodePath) -> Option<u64> {
        if *path == NodePath::Root {
            return Some(ROOT);
        }
        let parent = self.existing(&path.parent())? as u32;
        let name = *self.name_index.get(path.name())?;
        self.by_key
            .get(&key(parent, name))
            .map(|&ino| u64::from(ino))
    }

    /// Remember the size just given to the kernel for `ino`.
    pub fn tell_size(&mut self, ino: u64, size: u64) {
        if let Some(slot) = usize::try_from(ino)
            .ok()
            .filter(|&i| i != 0)
            .and_then(|i| self.slots.get_mut(i))
        {
            slot.told_size = size;
        }
    }

    /// The size last given to the kernel for `ino`.
    pub fn told_size(&self, ino: u64) -> Option<u64> {
        Some(self.slot(ino)?.told_size).filter(|&s| s != UNTOLD)
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
        assert_eq!(t.path(ROOT), Some(NodePath::Root));
        assert_eq!(t.path(0), None);
    }

    #[test]
    fn nodes_keep_their_numbers() {
        let mut t = InodeTable::default();
        let a = t.ino(file("svc", "status"));
        let b = t.ino(file("svc", "ctl"));
        assert_ne!(a, b);
        assert_eq!(t.ino(file("svc", "status")), a);
        assert_eq!(t.path(b), Some(file("svc", "ctl")));
        assert_eq!(t.path(999), None);
        assert_eq!(t.existing(&file("svc", "log")), None);
    }

    #[test]
    fn every_kind_of_node_keeps_its_path_and_number() {
        let mut t = InodeTable::default();
        let svc = NodePath::Service("app".into());
        let rid = svc.child("container#1").unwrap();
        let paths = [
            svc.clone(),
            svc.child("status").unwrap(),
            rid.clone(),
            rid.child("status").unwrap(),
            NodePath::Service("other".into()),
            NodePath::Resource("other".into(), "container#1".into()),
            NodePath::ResourceFile("other".into(), "container#1".into(), "status".into()),
            NodePath::RootFile("metrics".into()),
            svc.child("wait").unwrap(),
            svc.child("wait").unwrap().child("up").unwrap(),
            rid.child("wait").unwrap(),
            rid.child("wait").unwrap().child("down").unwrap(),
            svc.child("nodes").unwrap(),
            svc.child("nodes").unwrap().child("n1").unwrap(),
            svc.child("nodes")
                .unwrap()
                .child("n1")
                .unwrap()
                .child("state")
                .unwrap(),
            NodePath::ClusterDir,
            NodePath::ClusterDir.child("etcd").unwrap(),
            NodePath::ClusterDir.child("nodes").unwrap(),
            NodePath::ClusterNode("n1".into()),
            NodePath::ClusterNode("n1".into()).child("ttl").unwrap(),
        ];
        // Files before their directories, as lookups never come: the
        // parents are numbered on the way.
        let inos: Vec<u64> = paths.iter().rev().map(|p| t.ino(p.clone())).collect();
        for (path, ino) in paths.iter().rev().zip(&inos) {
            assert_eq!(t.path(*ino).as_ref(), Some(path));
            assert_eq!(t.existing(path), Some(*ino));
            assert_eq!(t.ino(path.clone()), *ino);
        }
        let mut unique = inos.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), inos.len());
        assert_eq!(t.existing(&NodePath::Service("third".into())), None);
        assert_eq!(t.existing(&rid.child("log").unwrap()), None);
    }

    #[test]
    fn names_are_stored_once_and_nodes_are_small() {
        let mut t = InodeTable::default();
        for i in 0..100 {
            let svc = NodePath::Service(format!("svc{i}").into());
            for rid in ["container#1", "fs#1"] {
                let rid = svc.child(rid).unwrap();
                for f in ["status", "label", "log"] {
                    t.ino(rid.child(f).unwrap());
                }
            }
        }
        // "", 100 services, 2 rids, 3 file names.
        assert_eq!(t.names.len(), 1 + 100 + 2 + 3);
        assert_eq!(t.slots.len(), 2 + 100 * (1 + 2 * 4));
        // The path of every node lives in the table's names: a node is
        // its numbers alone.
        assert!(std::mem::size_of::<Slot>() <= 24);
        // The services of two paths share the interned name.
        let a = t.path(t.slots.len() as u64 - 1).unwrap();
        let b = t.path(t.slots.len() as u64 - 2).unwrap();
        match (a, b) {
            (NodePath::ResourceFile(s1, ..), NodePath::ResourceFile(s2, ..)) => {
                assert!(Arc::ptr_eq(&s1, &s2))
            }
            other => panic!("not resource files: {other:?}"),
        }
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
        t.tell_size(0, 1);
        assert_eq!(t.told_size(0), None);
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
