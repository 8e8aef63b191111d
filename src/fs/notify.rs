//! Telling the kernel what changed. Attributes, file pages and directory
//! listings are cached by the kernel (see the TTLs in `fuse.rs`); each
//! publication of a service is compared with the previous one, buffer by
//! buffer, and every node the kernel may hold whose bytes or listing
//! changed is invalidated at once, before the publisher returns: a reader
//! that comes after the state changed reads the new bytes.
//!
//! Then, the caches dropped, the core answers the parked `wait` reads the
//! publication satisfies and names the polled handles it made ready,
//! which are woken here (FUSE_NOTIFY_POLL): a woken reader reads the new
//! bytes.
//!
//! Notifications are sent from the publishing task, never from a FUSE
//! handler (the kernel may wait for the handler's reply before it can drop
//! a page), and never while the publisher holds a lock that a handler
//! takes (the engine's service map: a reload publishes after dropping it).
//! The one invalidation a handler asks for goes through a thread of its
//! own.

use std::ffi::OsStr;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use fuser::{INodeNo, Notifier, PollHandle};

use super::core::Core;
use super::inodes::{NodePath, ROOT};
use crate::engine::TreeObserver;
use crate::render::{FileNode, ServiceTree};

/// How long the deferred invalidation of a stale cached read waits, so
/// that the handler's reply (which fills the page) comes first.
const DEFERRED_DELAY: Duration = Duration::from_millis(20);

/// When a changed listing is invalidated once more: a readdir answered
/// from the old tree may fill the kernel's cache after the first
/// invalidation (the reader fills it once woken, past our reply), which
/// nothing would drop until the next change.
const LISTING_AGAIN: Duration = Duration::from_millis(200);

/// What the kernel must forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// An inode's attributes and cached pages (a file's bytes).
    Inode(u64),
    /// A directory's attributes and cached listing.
    Listing(u64),
    /// The name `name` in directory `parent`, which no longer exists.
    Entry(u64, Arc<str>),
}

/// The kernel side of the caches: where invalidations are sent.
pub struct KernelCache {
    core: Arc<Core>,
    notifier: OnceLock<Notifier>,
    deferred: OnceLock<mpsc::Sender<(u64, Instant)>>,
}

impl KernelCache {
    /// Invalidations for the inodes of `core`; silent until attached.
    pub fn new(core: Arc<Core>) -> Arc<Self> {
        Arc::new(KernelCache {
            core,
            notifier: OnceLock::new(),
            deferred: OnceLock::new(),
        })
    }

    /// Send invalidations through the session's notifier from now on.
    pub fn attach(self: &Arc<Self>, notifier: Notifier) {
        if self.notifier.set(notifier.clone()).is_err() {
            return;
        }
        self.core.waiting().set_waker(Box::new(move |kh| {
            if let Err(e) = notifier.poll(PollHandle(kh)) {
                tracing::debug!(kh, "poll wake-up not taken: {e}");
            }
        }));
        if let Err(e) = super::signals::spawn_sweeper(self.core.waiting()) {
            tracing::warn!("no thread to end the blocked reads of signalled readers: {e}");
        }
        let (tx, rx) = mpsc::channel::<(u64, Instant)>();
        let me = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("svcfs-inval".to_string())
            .spawn(move || {
                while let Ok((ino, due)) = rx.recv() {
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    match me.upgrade() {
                        Some(cache) => cache.send(&[Invalidation::Inode(ino)]),
                        None => return,
                    }
                }
            });
        match spawned {
            Ok(_) => {
                let _ = self.deferred.set(tx);
            }
            Err(e) => tracing::warn!("no thread for deferred invalidations: {e}"),
        }
    }

    /// The daemon stops: end every blocked `events` and `wait` read, so
    /// that their readers let go of the mount.
    pub fn close_streams(&self) {
        self.core.close_streams();
    }

    /// From a handler: drop `ino`'s cache shortly, after the reply.
    pub fn invalidate_later(&self, ino: u64) {
        self.invalidate_after(ino, DEFERRED_DELAY);
    }

    fn invalidate_after(&self, ino: u64, delay: Duration) {
        if let Some(tx) = self.deferred.get() {
            let _ = tx.send((ino, Instant::now() + delay));
        }
    }

    fn send(&self, invalidations: &[Invalidation]) {
        let Some(notifier) = self.notifier.get() else {
            return;
        };
        for invalidation in invalidations {
            let result = match invalidation {
                Invalidation::Inode(ino) | Invalidation::Listing(ino) => {
                    notifier.inval_inode(INodeNo(*ino), 0, 0)
                }
                Invalidation::Entry(parent, name) => {
                    notifier.inval_entry(INodeNo(*parent), OsStr::new(&**name))
                }
            };
            if let Err(e) = result {
                tracing::debug!(?invalidation, "invalidation not taken: {e}");
            }
        }
    }
}

impl TreeObserver for KernelCache {
    fn published(&self, before: Option<&ServiceTree>, after: Option<&ServiceTree>) {
        let invalidations = changes(&|path| self.core.known_ino(path), before, after);
        if !invalidations.is_empty() {
            tracing::trace!(count = invalidations.len(), "invalidating");
            self.send(&invalidations);
            for invalidation in &invalidations {
                if let Invalidation::Listing(ino) = invalidation {
                    self.invalidate_after(*ino, LISTING_AGAIN);
                }
            }
        }
        self.core.published(before, after);
    }
}

/// What the kernel must forget when a service's files go from `before` to
/// `after`, among the nodes it may know (`known` gives their inodes).
pub fn changes(
    known: &dyn Fn(&NodePath) -> Option<u64>,
    before: Option<&ServiceTree>,
    after: Option<&ServiceTree>,
) -> Vec<Invalidation> {
    let mut out = Vec::new();
    // The root `metrics` file holds every service's series.
    let metrics_changed = match (before, after) {
        (Some(b), Some(a)) => !Arc::ptr_eq(&b.metrics, &a.metrics),
        (None, None) => false,
        _ => true,
    };
    if metrics_changed {
        out.extend(known(&NodePath::RootFile("metrics".into())).map(Invalidation::Inode));
    }
    match (before, after) {
        (Some(before), Some(after)) => {
            let service = NodePath::Service(after.name.clone());
            files_changed(known, &service, &before.files, &after.files, &mut out);
            // The sums of resource use come or go with the first or last
            // resource that has them.
            let mut listing_changed = before.resources.len() != after.resources.len()
                || before.has_usage() != after.has_usage();
            if before.has_usage() && !after.has_usage() {
                if let Some(parent) = known(&service) {
                    out.extend(
                        crate::render::tree::usage_files()
                            .map(|name| Invalidation::Entry(parent, name.into())),
                    );
                }
            }
            for old in &before.resources {
                let dir = NodePath::Resource(after.name.clone(), old.rid.clone());
                match after.resource(&old.rid) {
                    Some(new) => {
                        files_changed(known, &dir, &old.files, &new.files, &mut out);
                        // Its live files and streams came or went.
                        if old.shown != new.shown {
                            out.extend(known(&dir).map(Invalidation::Listing));
                            // The kernel keeps live files' names like any.
                            if let Some(parent) = known(&dir) {
                                let kept = new.live_files();
                                out.extend(
                                    old.live_files()
                                        .iter()
                                        .filter(|name| !kept.contains(name))
                                        .map(|name| Invalidation::Entry(parent, (*name).into())),
                                );
                            }
                            let wait = NodePath::Wait(after.name.clone(), Some(old.rid.clone()));
                            out.extend(known(&wait).map(Invalidation::Listing));
                        }
                    }
                    None => {
                        listing_changed = true;
                        if let Some(parent) = known(&service) {
                            out.push(Invalidation::Entry(parent, old.rid.clone()));
                        }
                    }
                }
            }
            let nodes = NodePath::Nodes(after.name.clone());
            for old in &before.nodes {
                let dir = NodePath::NodeDir(after.name.clone(), old.rid.clone());
                match after.node(&old.rid) {
                    Some(new) => files_changed(known, &dir, &old.files, &new.files, &mut out),
                    None => {
                        if let Some(parent) = known(&nodes) {
                            out.push(Invalidation::Entry(parent, old.rid.clone()));
                        }
                    }
                }
            }
            if before.nodes.len() != after.nodes.len()
                || before
                    .nodes
                    .iter()
                    .zip(&after.nodes)
                    .any(|(a, b)| a.rid != b.rid)
            {
                out.extend(known(&nodes).map(Invalidation::Inode));
                listing_changed |= before.nodes.is_empty() != after.nodes.is_empty();
            }
            if listing_changed
                || before
                    .resources
                    .iter()
                    .zip(&after.resources)
                    .any(|(a, b)| a.rid != b.rid)
            {
                out.extend(known(&service).map(Invalidation::Listing));
            }
        }
        (Some(gone), None) => {
            out.push(Invalidation::Entry(ROOT, gone.name.clone()));
            out.push(Invalidation::Listing(ROOT));
        }
        (None, Some(_)) => out.push(Invalidation::Listing(ROOT)),
        (None, None) => {}
    }
    out
}

fn files_changed(
    known: &dyn Fn(&NodePath) -> Option<u64>,
    dir: &NodePath,
    before: &[FileNode],
    after: &[FileNode],
    out: &mut Vec<Invalidation>,
) {
    let mut listing_changed = before.len() != after.len();
    for (i, old) in before.iter().enumerate() {
        listing_changed |= after.get(i).is_none_or(|new| new.name != old.name);
        let Some(path) = dir.child_named(old.name.clone()) else {
            continue;
        };
        match after.iter().find(|f| f.name == old.name) {
            Some(new) if Arc::ptr_eq(&new.content, &old.content) => {}
            Some(_) => out.extend(known(&path).map(Invalidation::Inode)),
            None => {
                if let Some(parent) = known(dir) {
                    out.push(Invalidation::Entry(parent, old.name.clone()));
                }
            }
        }
    }
    if listing_changed {
        out.extend(known(dir).map(Invalidation::Listing));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::snapshot_of;
    use crate::model::Status;
    use crate::render::service_tree;
    use std::time::SystemTime;

    const TWO: &str = "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\n";

    fn tree(text: &str, c1: Status, previous: Option<&ServiceTree>) -> ServiceTree {
        let snapshot = snapshot_of(
            "s",
            text,
            &[("container#1", c1), ("container#2", Status::Up)],
        );
        service_tree(&snapshot, previous, SystemTime::UNIX_EPOCH)
    }

    /// Every node is known, with an inode derived from its path.
    fn all_known(path: &NodePath) -> Option<u64> {
        let text = format!("{path:?}");
        Some(text.bytes().map(u64::from).sum::<u64>() + text.len() as u64 * 1000)
    }

    fn ino(path: NodePath) -> u64 {
        all_known(&path).unwrap()
    }

    fn file(rid: &str, name: &str) -> NodePath {
        NodePath::ResourceFile("s".into(), rid.into(), name.into())
    }

    #[test]
    fn a_status_change_invalidates_exactly_the_files_that_changed() {
        let before = tree(TWO, Status::Up, None);
        let after = tree(TWO, Status::Down, Some(&before));
        let got = changes(&all_known, Some(&before), Some(&after));
        let service_file = |n: &str| ino(NodePath::ServiceFile("s".into(), n.into()));
        for expected in [
            ino(file("container#1", "status")),
            service_file("status"),
            service_file("avail"),
            service_file("overview"),
            service_file("status.json"),
        ] {
            assert!(got.contains(&Invalidation::Inode(expected)), "{got:?}");
        }
        assert!(!got.contains(&Invalidation::Inode(ino(file("container#1", "label")))));
        assert!(!got.contains(&Invalidation::Inode(ino(file("container#2", "status")))));
        assert!(!got.contains(&Invalidation::Inode(service_file("config"))));
        assert!(!got.iter().any(|i| matches!(i, Invalidation::Entry(..))));
        let metrics = ino(NodePath::RootFile("metrics".into()));
        assert!(got.contains(&Invalidation::Inode(metrics)), "{got:?}");
    }

    #[test]
    fn nothing_changed_means_nothing_to_invalidate() {
        let before = tree(TWO, Status::Up, None);
        let after = tree(TWO, Status::Up, Some(&before));
        assert_eq!(changes(&all_known, Some(&before), Some(&after)), []);
    }

    #[test]
    fn unknown_nodes_are_not_invalidated() {
        let before = tree(TWO, Status::Up, None);
        let after = tree(TWO, Status::Down, Some(&before));
        assert_eq!(changes(&|_| None, Some(&before), Some(&after)), []);
    }

    #[test]
    fn a_resource_that_leaves_drops_its_entry_and_the_listing() {
        let before = tree(TWO, Status::Up, None);
        let after = tree("[container#1]\nrun_image = a\n", Status::Up, Some(&before));
        let got = changes(&all_known, Some(&before), Some(&after));
        let service = ino(NodePath::Service("s".into()));
        assert!(got.contains(&Invalidation::Entry(service, "container#2".into())));
        assert!(got.contains(&Invalidation::Listing(service)));
    }

    #[test]
    fn a_keyword_that_leaves_drops_its_file() {
        let before = tree(TWO, Status::Up, None);
        let text = "[container#1]\nrun_image = a\nstop_timeout = 1\n[container#2]\nrun_image = b\n";
        let after = tree(text, Status::Up, Some(&before));
        let got = changes(&all_known, Some(&before), Some(&after));
        let dir = ino(NodePath::Resource("s".into(), "container#1".into()));
        assert!(got.contains(&Invalidation::Listing(dir)), "{got:?}");
        let back = changes(
            &all_known,
            Some(&after),
            Some(&tree(TWO, Status::Up, Some(&after))),
        );
        assert!(back.contains(&Invalidation::Entry(dir, "stop_timeout".into())));
    }

    #[test]
    fn a_node_state_that_changes_invalidates_its_file() {
        let clustered = |state: &str, previous: Option<&ServiceTree>| {
            let mut snapshot = snapshot_of("s", TWO, &[]);
            snapshot.cluster = Some(Arc::new(crate::model::ClusterShown {
                owner: String::new(),
                hb: Status::Up,
                nodes: vec![("n1".into(), "down".into(), state.into())],
                messages: Vec::new(),
            }));
            service_tree(&snapshot, previous, SystemTime::UNIX_EPOCH)
        };
        let before = clustered("down", None);
        // "down" and "warn" have one size: only the invalidation tells.
        let after = clustered("warn", Some(&before));
        let got = changes(&all_known, Some(&before), Some(&after));
        let node = |f: &str| NodePath::NodeFile("s".into(), "n1".into(), f.into());
        assert!(
            got.contains(&Invalidation::Inode(ino(node("state")))),
            "{got:?}"
        );
        assert!(
            !got.contains(&Invalidation::Inode(ino(node("status")))),
            "{got:?}"
        );
        // Leaving the cluster drops the node's entry.
        let plain = tree(TWO, Status::Up, Some(&after));
        let got = changes(&all_known, Some(&after), Some(&plain));
        let nodes = ino(NodePath::Nodes("s".into()));
        assert!(
            got.contains(&Invalidation::Entry(nodes, "n1".into())),
            "{got:?}"
        );
    }

    #[test]
    fn a_resource_that_gains_live_files_drops_its_listings_and_the_service_s() {
        struct Streams;
        impl crate::model::LiveView for Streams {
            fn has_usage(&self) -> bool {
                true
            }
            fn streams(&self) -> &'static [&'static str] {
                &["output"]
            }
        }
        let before = tree(TWO, Status::Up, None);
        let mut snapshot = snapshot_of("s", TWO, &[("container#1", Status::Up)]);
        snapshot.resources[0].live = Some(crate::model::LiveRef(Arc::new(Streams)));
        let rid = snapshot.resources[0].rid.to_string();
        let after = service_tree(&snapshot, Some(&before), SystemTime::UNIX_EPOCH);
        let got = changes(&all_known, Some(&before), Some(&after));
        let dir = ino(NodePath::Resource("s".into(), rid.as_str().into()));
        let wait = ino(NodePath::Wait("s".into(), Some(rid.as_str().into())));
        let service = ino(NodePath::Service("s".into()));
        for listing in [dir, wait, service] {
            assert!(got.contains(&Invalidation::Listing(listing)), "{got:?}");
        }
        // The same view again: nothing to drop.
        let again = service_tree(&snapshot, Some(&after), SystemTime::UNIX_EPOCH);
        assert_eq!(changes(&all_known, Some(&after), Some(&again)), []);
    }

    #[test]
    fn services_joining_and_leaving_touch_the_root() {
        let t = tree(TWO, Status::Up, None);
        let metrics = Invalidation::Inode(ino(NodePath::RootFile("metrics".into())));
        assert_eq!(
            changes(&all_known, Some(&t), None),
            [
                metrics.clone(),
                Invalidation::Entry(ROOT, "s".into()),
                Invalidation::Listing(ROOT)
            ]
        );
        assert_eq!(
            changes(&all_known, None, Some(&t)),
            [metrics, Invalidation::Listing(ROOT)]
        );
    }
}
