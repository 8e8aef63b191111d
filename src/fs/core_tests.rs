//! The core without a mount: every errno and mode svcfs(8) documents, the
//! caching decisions, and a reference model of the tree checked against
//! random sequences of operations and state changes.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;
use crate::engine::snapshot::snapshot_of;
use crate::engine::{ChangeBus, TreeObserver};
use crate::fs::inodes::ROOT;
use crate::model::Status;
use crate::render::service_tree;

/// Published trees, changed by the tests.
#[derive(Default)]
struct FakeSource {
    trees: Mutex<BTreeMap<String, Arc<ServiceTree>>>,
    /// `hold_opened` / `hold_released` calls, in order.
    holds: Mutex<Vec<String>>,
    changes: ChangeBus,
    cluster: Mutex<Option<Arc<crate::render::tree::ClusterTree>>>,
    /// Commands written to `ctl` files: service, rid, text.
    commands: Mutex<Vec<(String, Option<String>, String)>>,
}

impl FakeSource {
    fn publish(&self, name: &str, text: &str, states: &[(&str, Status)]) {
        self.publish_as(name, text, states, false);
    }

    /// Publish a service whose file others may read (`public`) or not.
    fn publish_as(&self, name: &str, text: &str, states: &[(&str, Status)], public: bool) {
        let mut snapshot = snapshot_of(name, text, states);
        snapshot.config_public = public;
        self.publish_snapshot(snapshot);
    }

    fn publish_snapshot(&self, snapshot: crate::model::ServiceSnapshot) {
        let name = snapshot.name.clone();
        let name = name.as_str();
        let mut trees = lock(&self.trees);
        let previous = trees.get(name).cloned();
        // Generation n is published at second 6 + n.
        let now = 7 + previous.as_ref().map_or(0, |p| p.generation);
        let tree = service_tree(
            &snapshot,
            previous.as_deref(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(now),
        );
        trees.insert(name.to_string(), Arc::new(tree));
    }

    fn remove(&self, name: &str) {
        lock(&self.trees).remove(name);
    }
}

impl TreeSource for FakeSource {
    fn service_names(&self) -> Vec<Arc<str>> {
        lock(&self.trees)
            .keys()
            .map(|k| k.as_str().into())
            .collect()
    }

    fn service_tree(&self, name: &str) -> Option<Arc<ServiceTree>> {
        lock(&self.trees).get(name).cloned()
    }

    fn listing_changed(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
    }

    fn hold_opened(&self, service: &str, fh: u64, pid: u32) {
        lock(&self.holds).push(format!("opened {service} {fh} by {pid}"));
    }

    fn hold_released(&self, service: &str, fh: u64) {
        lock(&self.holds).push(format!("released {service} {fh}"));
    }

    fn cluster_tree(&self) -> Option<Arc<crate::render::tree::ClusterTree>> {
        lock(&self.cluster).clone()
    }

    fn changes(&self) -> &ChangeBus {
        &self.changes
    }

    fn command(
        self: Arc<Self>,
        target: CtlTarget,
        data: Vec<u8>,
    ) -> futures_util::future::BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            let text = String::from_utf8_lossy(&data).into_owned();
            let refused = text.trim() == "bogus";
            lock(&self.commands).push((
                target.service.to_string(),
                target.rid.map(|r| r.to_string()),
                text,
            ));
            if refused {
                return Err(Error::invalid("unknown command \"bogus\""));
            }
            Ok(())
        })
    }
}

const FILE: &str = "[container#1]\nrun_image = busybox\n[fs#1]\ndev = /d\nmnt = /m\n";

fn setup(ctl_group: Option<u32>) -> (Arc<FakeSource>, Core) {
    let source = Arc::new(FakeSource::default());
    source.publish("app", FILE, &[("container#1", Status::Up)]);
    let core = Core::new(source.clone(), ctl_group);
    (source, core)
}

/// The inode of a path, looked up component by component like the kernel.
fn walk(core: &Core, path: &str) -> Result<Attr> {
    let mut attr = core.getattr(ROOT)?;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        attr = core.lookup(attr.ino, OsStr::new(part))?;
    }
    Ok(attr)
}

fn ino(core: &Core, path: &str) -> u64 {
    walk(core, path).unwrap().ino
}

fn read_all(core: &Core, ino: u64) -> Vec<u8> {
    let fh = core.open(ino, false).unwrap().fh;
    let mut out = Vec::new();
    loop {
        let data = core.read(fh, out.len() as u64, 4).unwrap();
        if data.as_slice().is_empty() {
            break;
        }
        out.extend_from_slice(data.as_slice());
    }
    core.release(fh);
    out
}

fn errno<T: std::fmt::Debug>(result: Result<T>) -> i32 {
    result.unwrap_err().errno()
}

fn names(core: &Core, path: &str) -> Vec<String> {
    let fh = core.opendir(ino(core, path)).unwrap();
    let entries = core.readdir(fh, 0).unwrap();
    core.releasedir(fh);
    entries
        .into_iter()
        .map(|(_, e)| e.name.to_string())
        .collect()
}

#[test]
fn modes_follow_the_manual() {
    let (_, core) = setup(None);
    let dir = walk(&core, "app").unwrap();
    assert_eq!(
        (dir.node_type, dir.perm, dir.nlink),
        (NodeType::Directory, 0o555, 2)
    );
    assert_eq!(walk(&core, "").unwrap().perm, 0o555);
    assert_eq!(walk(&core, "app/container#1").unwrap().perm, 0o555);
    let status = walk(&core, "app/status").unwrap();
    assert_eq!(
        (status.node_type, status.perm, status.gid),
        (NodeType::File, 0o444, 0)
    );
    assert_eq!(walk(&core, "app/ctl").unwrap().perm, 0o200);
    assert_eq!(walk(&core, "app/hold").unwrap().perm, 0o200);
    assert_eq!(walk(&core, "app/frozen").unwrap().perm, 0o444);
    assert_eq!(walk(&core, "app/fs#1/ctl").unwrap().perm, 0o200);
    let (_, grouped) = setup(Some(42));
    for path in ["app/container#1/ctl", "app/ctl", "app/hold"] {
        let ctl = walk(&grouped, path).unwrap();
        assert_eq!((ctl.perm, ctl.gid), (0o220, 42), "{path}");
    }
}

/// The files that show configuration (`config`, `type`, the keyword files).
const CONFIG_FILES: [&str; 5] = [
    "app/config",
    "app/container#1/type",
    "app/container#1/run_image",
    "app/fs#1/dev",
    "app/fs#1/mnt",
];

/// State files: public whatever the service file's mode.
const STATE_FILES: [&str; 17] = [
    "app/status",
    "app/avail",
    "app/overview",
    "app/status.json",
    "app/log",
    "app/messages",
    "app/docker_host",
    "app/frozen",
    "app/events",
    "app/wait/up",
    "app/container#1/status",
    "app/container#1/label",
    "app/container#1/messages",
    "app/container#1/log",
    "app/container#1/failures",
    "metrics",
    "events",
];

fn perm_and_gid(core: &Core, path: &str) -> (u16, u32) {
    let attr = walk(core, path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    (attr.perm, attr.gid)
}

#[test]
fn configuration_is_as_readable_as_the_service_file_and_state_is_public() {
    let (source, core) = setup(None);
    let (_, grouped) = setup(Some(42));
    for path in CONFIG_FILES {
        assert_eq!(perm_and_gid(&core, path), (0o400, 0), "{path}");
        assert_eq!(perm_and_gid(&grouped, path), (0o440, 42), "{path}");
    }
    for path in STATE_FILES {
        assert_eq!(perm_and_gid(&core, path), (0o444, 0), "{path}");
        assert_eq!(perm_and_gid(&grouped, path), (0o444, 0), "{path}");
    }
    // The service file became world-readable: so does its configuration.
    source.publish_as("app", FILE, &[("container#1", Status::Up)], true);
    for path in CONFIG_FILES.iter().chain(&STATE_FILES) {
        assert_eq!(perm_and_gid(&core, path), (0o444, 0), "{path}");
    }
    // And back.
    source.publish_as("app", FILE, &[("container#1", Status::Up)], false);
    assert_eq!(perm_and_gid(&core, "app/config"), (0o400, 0));
}

#[test]
fn sizes_equal_the_bytes_read() {
    let (_, core) = setup(None);
    for path in [
        "app/status",
        "app/overview",
        "app/status.json",
        "app/container#1/label",
    ] {
        let attr = walk(&core, path).unwrap();
        assert_eq!(read_all(&core, attr.ino).len() as u64, attr.size, "{path}");
    }
    assert_eq!(read_all(&core, ino(&core, "app/status")), b"warn\n");
    assert_eq!(
        read_all(&core, ino(&core, "app/container#1/status")),
        b"up\n"
    );
}

#[test]
fn mtimes_are_when_the_content_changed() {
    let (source, core) = setup(None);
    let second = |n| SystemTime::UNIX_EPOCH + Duration::from_secs(n);
    assert_eq!(
        walk(&core, "app/container#1/status").unwrap().mtime,
        second(7)
    );
    source.publish("app", FILE, &[("container#1", Status::Down)]);
    assert_eq!(
        walk(&core, "app/container#1/status").unwrap().mtime,
        second(8)
    );
    assert_eq!(
        walk(&core, "app/container#1/label").unwrap().mtime,
        second(7)
    );
    assert_eq!(walk(&core, "app").unwrap().mtime, second(7));
    source.publish("app", "[container#1]\nrun_image = busybox\n", &[]);
    assert_eq!(walk(&core, "app").unwrap().mtime, second(9));
}

#[test]
fn unknown_names_are_enoent() {
    let (_, core) = setup(None);
    assert_eq!(errno(walk(&core, "nope")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app/nope")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app/container#9")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app/container#1/nope")), libc::ENOENT);
    assert_eq!(errno(core.getattr(9999)), libc::ENOENT);
    assert_eq!(errno(core.getattr(0)), libc::ENOENT);
    let bad_utf8 = std::os::unix::ffi::OsStrExt::from_bytes(b"\xff");
    assert_eq!(errno(core.lookup(ROOT, bad_utf8)), libc::ENOENT);
}

#[test]
fn a_service_that_leaves_turns_its_inodes_into_enoent_and_keeps_their_numbers() {
    let (source, core) = setup(None);
    let status = ino(&core, "app/status");
    source.remove("app");
    assert_eq!(errno(core.getattr(status)), libc::ENOENT);
    assert_eq!(errno(core.open(status, false)), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app")), libc::ENOENT);
    source.publish("app", FILE, &[]);
    assert_eq!(ino(&core, "app/status"), status);
}

#[test]
fn lookups_under_a_file_are_enotdir() {
    let (_, core) = setup(None);
    let status = ino(&core, "app/status");
    assert_eq!(errno(core.lookup(status, OsStr::new("x"))), libc::ENOTDIR);
    assert_eq!(errno(core.opendir(status)), libc::ENOTDIR);
}

#[test]
fn opening_a_directory_is_eisdir() {
    let (_, core) = setup(None);
    assert_eq!(errno(core.open(ino(&core, "app"), false)), libc::EISDIR);
    assert_eq!(errno(core.open(ROOT, false)), libc::EISDIR);
}

#[test]
fn writing_anything_but_ctl_is_eacces() {
    let (_, core) = setup(None);
    for path in ["app/status", "app/config", "app/container#1/run_image"] {
        let ino = ino(&core, path);
        assert_eq!(errno(core.open(ino, true)), libc::EACCES, "{path}");
        assert_eq!(errno(core.ctl_target(ino)), libc::EACCES, "{path}");
    }
    assert_eq!(errno(core.ctl_target(ino(&core, "app"))), libc::EACCES);
}

#[test]
fn ctl_writes_are_routed_to_their_service_or_resource() {
    let (_, core) = setup(None);
    assert!(core.open(ino(&core, "app/ctl"), true).is_ok());
    assert_eq!(
        core.ctl_target(ino(&core, "app/ctl")).unwrap(),
        CtlTarget {
            service: "app".into(),
            rid: None
        }
    );
    assert_eq!(
        core.ctl_target(ino(&core, "app/fs#1/ctl")).unwrap(),
        CtlTarget {
            service: "app".into(),
            rid: Some("fs#1".into())
        }
    );
    // Reading a ctl file gives the commands it accepts.
    assert!(String::from_utf8(read_all(&core, ino(&core, "app/ctl")))
        .unwrap()
        .contains("startcontainer"));
}

#[test]
fn truncating_or_touching_ctl_changes_nothing() {
    let (_, core) = setup(None);
    let ctl = ino(&core, "app/ctl");
    let truncate = AttrChange {
        size: Some(0),
        ..AttrChange::default()
    };
    assert_eq!(core.setattr(ctl, truncate).unwrap().perm, 0o200);
    let touch = AttrChange {
        times: true,
        ..AttrChange::default()
    };
    assert!(core.setattr(ctl, touch).is_ok());
    let grow = AttrChange {
        size: Some(3),
        ..AttrChange::default()
    };
    assert_eq!(errno(core.setattr(ctl, grow)), libc::EPERM);
}

#[test]
fn attributes_are_fixed_elsewhere() {
    let (_, core) = setup(None);
    let status = ino(&core, "app/status");
    let chmod = AttrChange {
        mode: true,
        ..AttrChange::default()
    };
    let chown = AttrChange {
        owner: true,
        ..AttrChange::default()
    };
    let truncate = AttrChange {
        size: Some(0),
        ..AttrChange::default()
    };
    let touch = AttrChange {
        times: true,
        ..AttrChange::default()
    };
    assert_eq!(errno(core.setattr(status, truncate)), libc::EACCES);
    assert_eq!(errno(core.setattr(status, chmod)), libc::EPERM);
    assert_eq!(errno(core.setattr(status, touch)), libc::EPERM);
    assert_eq!(
        errno(core.setattr(ino(&core, "app/ctl"), chmod)),
        libc::EPERM
    );
    assert_eq!(
        errno(core.setattr(ino(&core, "app/ctl"), chown)),
        libc::EPERM
    );
    assert_eq!(errno(core.setattr(ino(&core, "app"), touch)), libc::EPERM);
    assert_eq!(shape_is_fixed("mkdir").errno(), libc::EPERM);
}

#[test]
fn stale_handles_are_ebadf() {
    let (_, core) = setup(None);
    assert_eq!(errno(core.read(12345, 0, 10)), libc::EBADF);
    assert_eq!(errno(core.readdir(12345, 0)), libc::EBADF);
    let fh = core.open(ino(&core, "app/status"), false).unwrap().fh;
    core.release(fh);
    assert_eq!(errno(core.read(fh, 0, 10)), libc::EBADF);
}

/// The command a write starts, run to its end.
fn written(core: &Core, ino: u64, data: &[u8]) -> Result<()> {
    match core.write(ino, data)? {
        Written::Taken => Ok(()),
        Written::Command(command) => tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(command),
    }
}

#[test]
fn a_ctl_write_runs_its_command_and_returns_its_result() {
    let (source, core) = setup(None);
    assert!(written(&core, ino(&core, "app/ctl"), b"start\n").is_ok());
    assert!(written(&core, ino(&core, "app/fs#1/ctl"), b"stop").is_ok());
    assert_eq!(
        errno(written(&core, ino(&core, "app/ctl"), b"bogus")),
        libc::EINVAL
    );
    assert_eq!(
        *lock(&source.commands),
        [
            ("app".to_string(), None, "start\n".to_string()),
            (
                "app".to_string(),
                Some("fs#1".to_string()),
                "stop".to_string()
            ),
            ("app".to_string(), None, "bogus".to_string()),
        ]
    );
    // A hold takes its bytes and runs nothing; other files refuse them.
    assert!(matches!(
        core.write(ino(&core, "app/hold"), b"x"),
        Ok(Written::Taken)
    ));
    for path in ["app/status", "app/container#1/run_image", "app"] {
        assert_eq!(
            errno(written(&core, ino(&core, path), b"start")),
            libc::EACCES,
            "{path}"
        );
    }
    assert_eq!(lock(&source.commands).len(), 3);
}

#[test]
fn a_hold_opened_for_writing_holds_until_released() {
    let (source, core) = setup(None);
    let hold = ino(&core, "app/hold");
    // `exec 3>hold` truncates it on open.
    let truncate = AttrChange {
        size: Some(0),
        ..AttrChange::default()
    };
    assert!(core.setattr(hold, truncate).is_ok());
    assert!(core.is_hold(hold));
    assert!(!core.is_hold(ino(&core, "app/ctl")));
    let reader = core.open_by(hold, false, 10).unwrap().fh;
    let writer = core.open_by(hold, true, 11).unwrap().fh;
    core.release(reader);
    assert_eq!(*lock(&source.holds), [format!("opened app {writer} by 11")]);
    core.release(writer);
    assert_eq!(
        *lock(&source.holds),
        [
            format!("opened app {writer} by 11"),
            format!("released app {writer}")
        ]
    );
    assert_eq!(
        errno(core.open_by(ino(&core, "app/frozen"), true, 11)),
        libc::EACCES
    );
}

#[test]
fn metrics_is_a_root_file_rebuilt_only_when_a_service_changes() {
    let (source, core) = setup(None);
    let attr = walk(&core, "metrics").unwrap();
    assert_eq!(attr.node_type, NodeType::File);
    assert_eq!(attr.perm, 0o444);
    let text = String::from_utf8(read_all(&core, attr.ino)).unwrap();
    // Computed at each open (resource use is read then): size 0, as
    // /proc's files.
    assert_eq!(attr.size, 0);
    assert!(attr.live);
    assert!(text.contains("svcfs_resource_status{service=\"app\",rid=\"container#1\",type=\"container\",status=\"up\"} 1"));
    let held = |core: &Core| {
        let fh = core.open(attr.ino, false).unwrap().fh;
        let data = core.read(fh, 0, 1 << 20).unwrap();
        core.release(fh);
        data.bytes
    };
    let first = held(&core);
    // Nothing changed: the same bytes, not a new rendering.
    assert!(Arc::ptr_eq(&first, &held(&core)));
    source.publish("app", FILE, &[("container#1", Status::Down)]);
    let after = held(&core);
    assert!(!Arc::ptr_eq(&first, &after));
    assert!(std::str::from_utf8(&after)
        .unwrap()
        .contains("status=\"down\"} 1"));
    assert_eq!(errno(core.open(attr.ino, true)), libc::EACCES);
    assert_eq!(errno(walk(&core, "metrics/x")), libc::ENOTDIR);
}

#[test]
fn listings_hold_dot_entries_files_then_resources() {
    let (_, core) = setup(None);
    assert_eq!(names(&core, ""), [".", "..", "events", "metrics", "app"]);
    assert_eq!(
        names(&core, "app"),
        [
            ".",
            "..",
            "status",
            "avail",
            "overview",
            "status.json",
            "ctl",
            "log",
            "messages",
            "config",
            "docker_host",
            "frozen",
            "hold",
            "events",
            "wait",
            "container#1",
            "fs#1"
        ]
    );
    assert_eq!(
        names(&core, "app/fs#1"),
        [
            ".", "..", "status", "label", "messages", "ctl", "log", "failures", "dev", "mnt",
            "wait"
        ]
    );
    assert_eq!(
        names(&core, "app/fs#1/wait"),
        [".", "..", "up", "down", "warn"]
    );
}

#[test]
fn a_listing_stays_the_same_for_its_opendir_and_offsets_resume() {
    let (source, core) = setup(None);
    let fh = core.opendir(ino(&core, "app")).unwrap();
    let first = core.readdir(fh, 0).unwrap();
    source.publish("app", "[container#1]\nrun_image = busybox\n", &[]);
    let again = core.readdir(fh, 0).unwrap();
    assert_eq!(first, again);
    let (offset, _) = first[4].clone();
    assert_eq!(core.readdir(fh, offset).unwrap(), first[5..]);
    assert!(core.readdir(fh, 1000).unwrap().is_empty());
    core.releasedir(fh);
    assert!(!names(&core, "app").contains(&"fs#1".to_string()));
}

#[test]
fn an_open_file_keeps_the_bytes_it_was_opened_on() {
    let (source, core) = setup(None);
    // Not yet stat'ed, so not for the page cache.
    let status = ino(&core, "app/container#1/label");
    source.publish("app", FILE, &[]);
    let fh = core.open(status, false).unwrap().fh;
    assert_eq!(core.open(status, false).unwrap().caching, Caching::Direct);
    source.publish("app", FILE, &[("container#1", Status::Down)]);
    assert_eq!(core.read(fh, 0, 100).unwrap().as_slice(), b"\n");
    assert_eq!(read_all(&core, status), b"label\n");
}

#[test]
fn a_cached_handle_fills_the_page_from_the_current_bytes() {
    let (source, core) = setup(None);
    let status = ino(&core, "app/container#1/status");
    let fh = core.open(status, false).unwrap().fh;
    assert_eq!(
        core.open(status, false).unwrap().caching,
        Caching::PageCache
    );
    source.publish("app", FILE, &[("container#1", Status::Down)]);
    let fill = core.read(fh, 0, 4096).unwrap();
    assert_eq!(
        (fill.as_slice(), fill.stale_in_cache),
        (&b"down\n"[..], false)
    );
}

#[test]
fn small_files_whose_size_the_kernel_has_go_through_the_page_cache() {
    let (source, core) = setup(None);
    let status = ino(&core, "app/container#1/status");
    assert_eq!(
        core.open(status, false).unwrap().caching,
        Caching::PageCache
    );
    // The size changed and the kernel has not heard yet: a cached read
    // would stop at the old size.
    source.publish("app", FILE, &[("container#1", Status::Down)]);
    assert_eq!(core.open(status, false).unwrap().caching, Caching::Direct);
    assert_eq!(core.getattr(status).unwrap().size, 5);
    assert_eq!(
        core.open(status, false).unwrap().caching,
        Caching::PageCache
    );
}

#[test]
fn a_ctl_file_is_cached_when_read_and_direct_when_written() {
    let (_source, core) = setup(None);
    let ctl = walk(&core, "app/ctl").unwrap();
    assert!(ctl.size > 0, "a ctl file shows its help");
    assert_eq!(
        core.open(ctl.ino, false).unwrap().caching,
        Caching::PageCache
    );
    assert_eq!(core.open(ctl.ino, true).unwrap().caching, Caching::Direct);
    let rid_ctl = walk(&core, "app/container#1/ctl").unwrap();
    assert_eq!(
        core.open(rid_ctl.ino, false).unwrap().caching,
        Caching::PageCache
    );
    assert_eq!(
        core.open(rid_ctl.ino, true).unwrap().caching,
        Caching::Direct
    );
}

#[test]
fn files_of_several_pages_are_a_snapshot_per_open() {
    let (source, core) = setup(None);
    let long = format!(
        "[container#1]\nrun_image = busybox\ncomment = {}\n",
        "x".repeat(CACHED_FILE_MAX)
    );
    source.publish("app", &long, &[]);
    let config = walk(&core, "app/config").unwrap();
    assert!(config.size as usize > CACHED_FILE_MAX);
    assert_eq!(
        core.open(config.ino, false).unwrap().caching,
        Caching::Direct
    );
}

#[test]
fn a_cached_read_of_an_older_generation_asks_for_invalidation() {
    let (source, core) = setup(None);
    let status = ino(&core, "app/container#1/status");
    let fh = core.open(status, false).unwrap().fh;
    assert!(!core.read(fh, 0, 10).unwrap().stale_in_cache);
    source.publish("app", FILE, &[("container#1", Status::Warn)]);
    // Read again from 0: the new bytes, nothing stale.
    let again = core.read(fh, 0, 10).unwrap();
    assert_eq!(
        (again.as_slice(), again.stale_in_cache),
        (&b"warn\n"[..], false)
    );
    // A read inside the page, of the snapshot, after a change.
    core.getattr(status).unwrap();
    let fh = core.open(status, false).unwrap().fh;
    source.publish("app", FILE, &[("container#1", Status::Up)]);
    assert!(core.read(fh, 1, 10).unwrap().stale_in_cache);
}

/// Publish a new generation of `app` and tell the core, as the kernel
/// cache observer does.
fn publish_app(source: &FakeSource, core: &Core, text: &str, states: &[(&str, Status)]) {
    let before = source.service_tree("app");
    source.publish("app", text, states);
    let after = source.service_tree("app");
    core.published(before.as_deref(), after.as_deref());
}

/// A parked read's handle and what it was answered: bytes or an errno.
type Answered = (u64, std::result::Result<Vec<u8>, i32>);
type Answers = std::sync::mpsc::Receiver<Answered>;
type AnswerTx = std::sync::mpsc::Sender<Answered>;

/// A read that waits: its answer, when it comes, arrives on the channel.
fn read_later(core: &Core, fh: u64, offset: u64, pid: u32, tx: &AnswerTx) {
    let tx = tx.clone();
    core.read_later(
        fh,
        offset,
        4096,
        pid,
        Box::new(move |result| {
            let _ = tx.send((
                fh,
                result.map(|d| d.as_slice().to_vec()).map_err(|e| e.errno()),
            ));
        }),
    );
}

fn answers() -> (AnswerTx, Answers) {
    std::sync::mpsc::channel()
}

fn woken_handles(core: &Core) -> Arc<Mutex<Vec<u64>>> {
    let woken = Arc::new(Mutex::new(Vec::new()));
    let sink = woken.clone();
    core.waiting()
        .set_waker(Box::new(move |kh| lock(&sink).push(kh)));
    woken
}

#[test]
fn poll_wakes_once_the_bytes_differ_and_a_rewound_read_gives_them() {
    let (source, core) = setup(None);
    let woken = woken_handles(&core);
    let status = ino(&core, "app/container#1/status");
    let fh = core.open(status, false).unwrap().fh;
    assert_eq!(core.read(fh, 0, 100).unwrap().as_slice(), b"up\n");
    assert_eq!(core.poll(fh, Some(7)).unwrap(), Readiness::default());
    assert_eq!(core.waiting().polled(), 1);
    // A publication that leaves this file as it was wakes nobody.
    publish_app(
        &source,
        &core,
        FILE,
        &[("container#1", Status::Up), ("fs#1", Status::Up)],
    );
    assert!(lock(&woken).is_empty());
    assert!(!core.poll(fh, Some(7)).unwrap().readable);
    publish_app(&source, &core, FILE, &[("container#1", Status::Down)]);
    assert_eq!(*lock(&woken), [7]);
    let ready = core.poll(fh, Some(7)).unwrap();
    assert!(ready.readable && ready.changed && !ready.writable);
    // lseek(fd, 0) + read: the new bytes, and nothing to wake for.
    assert_eq!(core.read(fh, 0, 100).unwrap().as_slice(), b"down\n");
    assert_eq!(core.poll(fh, Some(7)).unwrap(), Readiness::default());
    core.release(fh);
    assert_eq!(core.waiting().polled(), 0);
}

#[test]
fn poll_on_metrics_wakes_when_a_service_s_series_change() {
    let (source, core) = setup(None);
    let woken = woken_handles(&core);
    let fh = core.open(ino(&core, "metrics"), false).unwrap().fh;
    let _ = core.read(fh, 0, 1 << 20).unwrap();
    assert!(!core.poll(fh, Some(5)).unwrap().readable);
    // Only the log would change: the series stay, nobody is woken.
    publish_app(&source, &core, FILE, &[("container#1", Status::Up)]);
    assert!(lock(&woken).is_empty());
    assert!(!core.poll(fh, Some(5)).unwrap().readable);
    publish_app(&source, &core, FILE, &[("container#1", Status::Down)]);
    assert_eq!(*lock(&woken), [5]);
    assert!(core.poll(fh, Some(5)).unwrap().readable);
    let text = String::from_utf8(core.read(fh, 0, 1 << 20).unwrap().as_slice().to_vec()).unwrap();
    assert!(
        text.contains("type=\"container\",status=\"down\"} 1"),
        "{text}"
    );
    assert!(!core.poll(fh, Some(5)).unwrap().readable);
}

#[test]
fn the_first_read_is_of_the_bytes_opened_on_and_reads_past_zero_keep_the_snapshot() {
    let (source, core) = setup(None);
    let status = ino(&core, "app/container#1/status");
    // A size the kernel has not heard of: a direct handle.
    source.publish("app", FILE, &[("container#1", Status::Warn)]);
    let fh = core.open(status, false).unwrap();
    assert_eq!(fh.caching, Caching::Direct);
    let fh = fh.fh;
    publish_app(&source, &core, FILE, &[("container#1", Status::Down)]);
    // Opened on "warn": poll is ready, the first read still gives "warn".
    assert!(core.poll(fh, None).unwrap().changed);
    assert_eq!(core.read(fh, 0, 2).unwrap().as_slice(), b"wa");
    publish_app(&source, &core, FILE, &[("container#1", Status::Up)]);
    assert_eq!(core.read(fh, 2, 100).unwrap().as_slice(), b"rn\n");
    assert_eq!(core.read(fh, 0, 100).unwrap().as_slice(), b"up\n");
}

#[test]
fn a_poll_without_a_waiter_registers_nothing_and_ctl_is_always_ready() {
    let (_, core) = setup(None);
    let fh = core.open(ino(&core, "app/status"), false).unwrap().fh;
    assert!(!core.poll(fh, None).unwrap().readable);
    assert_eq!(core.waiting().polled(), 0);
    let ctl = core.open(ino(&core, "app/ctl"), true).unwrap().fh;
    let ready = core.poll(ctl, None).unwrap();
    assert!(ready.readable && ready.writable && !ready.changed);
    assert_eq!(errno(core.poll(12345, None)), libc::EBADF);
}

#[test]
fn streams_are_read_only_empty_and_not_cached() {
    let (_, core) = setup(None);
    for path in [
        "events",
        "app/events",
        "app/wait/up",
        "app/container#1/wait/warn",
    ] {
        let attr = walk(&core, path).unwrap();
        assert_eq!(
            (attr.node_type, attr.perm, attr.size),
            (NodeType::File, 0o444, 0),
            "{path}"
        );
        assert_eq!(
            core.open(attr.ino, false).unwrap().caching,
            Caching::Stream,
            "{path}"
        );
        assert_eq!(errno(core.open(attr.ino, true)), libc::EACCES, "{path}");
        let truncate = AttrChange {
            size: Some(0),
            ..AttrChange::default()
        };
        assert_eq!(
            errno(core.setattr(attr.ino, truncate)),
            libc::EACCES,
            "{path}"
        );
    }
    assert_eq!(
        walk(&core, "app/wait").unwrap().node_type,
        NodeType::Directory
    );
    assert_eq!(errno(walk(&core, "app/wait/n/a")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app/wait/running")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app/container#9/wait")), libc::ENOENT);
}

#[test]
fn events_readers_wait_for_the_next_line_each_for_its_service() {
    let (source, core) = setup(None);
    let woken = woken_handles(&core);
    let all = core.open(ino(&core, "events"), false).unwrap().fh;
    let app = core.open(ino(&core, "app/events"), false).unwrap().fh;
    let polled = core.open(ino(&core, "app/events"), false).unwrap().fh;
    assert_eq!(errno(core.read(all, 0, 4096)), libc::EAGAIN);
    assert!(!core.poll(polled, Some(9)).unwrap().readable);
    let (tx, rx) = answers();
    read_later(&core, all, 0, 1, &tx);
    read_later(&core, app, 0, 1, &tx);
    assert!(rx.try_recv().is_err());
    assert_eq!(core.waiting().parked(), 2);
    source.changes().action_began("db", None, "start");
    let (fh, got) = rx.try_recv().unwrap();
    assert_eq!(fh, all);
    assert!(String::from_utf8(got.unwrap())
        .unwrap()
        .contains("\"service\":\"db\""));
    assert!(rx.try_recv().is_err(), "app/events does not hear of db");
    source.changes().action_began("app", None, "start");
    let (fh, got) = rx.try_recv().unwrap();
    assert_eq!(fh, app);
    let line = String::from_utf8(got.unwrap()).unwrap();
    assert!(
        line.ends_with("}\n") && line.contains("\"action\":\"start\""),
        "{line}"
    );
    assert_eq!(*lock(&woken), [9]);
    assert!(core.poll(polled, Some(9)).unwrap().readable);
    core.release(polled);
    // The root reader is not parked any more: its line waits for it.
    assert_eq!(core.waiting().parked(), 0);
    assert!(core
        .read(all, 0, 4096)
        .unwrap()
        .as_slice()
        .starts_with(b"{\"time\""));
    core.release(all);
    core.release(app);
    assert_eq!(source.changes().readers(), 0);
}

#[test]
fn status_transitions_reach_events_readers_through_the_bus() {
    let (source, core) = setup(None);
    let fh = core.open(ino(&core, "app/events"), false).unwrap().fh;
    let before = source.service_tree("app");
    source.publish("app", FILE, &[("container#1", Status::Down)]);
    source
        .changes()
        .published(before.as_deref(), source.service_tree("app").as_deref());
    let text = String::from_utf8(core.read(fh, 0, 4096).unwrap().as_slice().to_vec()).unwrap();
    assert!(
        text.contains("\"rid\":\"container#1\",\"from\":\"up\",\"to\":\"down\""),
        "{text}"
    );
}

#[test]
fn a_wait_file_answers_at_once_when_the_status_is_its_word() {
    let (_, core) = setup(None);
    let fh = core
        .open(ino(&core, "app/container#1/wait/up"), false)
        .unwrap()
        .fh;
    assert_eq!(core.read(fh, 0, 4096).unwrap().as_slice(), b"up\n");
    assert_eq!(core.read(fh, 3, 4096).unwrap().as_slice(), b"");
    let (tx, rx) = answers();
    read_later(&core, fh, 3, 1, &tx);
    assert_eq!(rx.try_recv().unwrap().1, Ok(Vec::new()));
    // Not refreshed yet: the service is warn.
    let warn = core.open(ino(&core, "app/wait/warn"), false).unwrap().fh;
    assert_eq!(core.read(warn, 0, 2).unwrap().as_slice(), b"wa");
    assert_eq!(core.read(warn, 2, 100).unwrap().as_slice(), b"rn\n");
}

#[test]
fn a_wait_file_blocks_until_the_status_equals_its_word() {
    let (source, core) = setup(None);
    let woken = woken_handles(&core);
    let down = core
        .open(ino(&core, "app/container#1/wait/down"), false)
        .unwrap()
        .fh;
    let up = core.open(ino(&core, "app/wait/up"), false).unwrap().fh;
    assert_eq!(errno(core.read(down, 0, 4096)), libc::EAGAIN);
    assert!(!core.poll(down, Some(3)).unwrap().readable);
    let (tx, rx) = answers();
    read_later(&core, down, 0, 1, &tx);
    read_later(&core, up, 0, 1, &tx);
    publish_app(&source, &core, FILE, &[("container#1", Status::Warn)]);
    assert!(rx.try_recv().is_err());
    publish_app(&source, &core, FILE, &[("container#1", Status::Down)]);
    assert_eq!(rx.try_recv().unwrap(), (down, Ok(b"down\n".to_vec())));
    assert_eq!(*lock(&woken), [3]);
    assert!(rx.try_recv().is_err());
    publish_app(
        &source,
        &core,
        FILE,
        &[("container#1", Status::Up), ("fs#1", Status::Up)],
    );
    assert_eq!(rx.try_recv().unwrap(), (up, Ok(b"up\n".to_vec())));
    assert_eq!(core.waiting().parked(), 0);
}

#[test]
fn a_wait_on_something_that_leaves_fails_with_enoent() {
    let (source, core) = setup(None);
    let fh = core.open(ino(&core, "app/fs#1/wait/up"), false).unwrap().fh;
    let (tx, rx) = answers();
    read_later(&core, fh, 0, 1, &tx);
    publish_app(&source, &core, "[container#1]\nrun_image = busybox\n", &[]);
    assert_eq!(rx.try_recv().unwrap(), (fh, Err(libc::ENOENT)));
}

#[test]
fn signalled_readers_get_eintr_and_the_others_keep_waiting() {
    let (_, core) = setup(None);
    let (tx, rx) = answers();
    let a = core.open(ino(&core, "events"), false).unwrap().fh;
    let b = core.open(ino(&core, "app/wait/down"), false).unwrap().fh;
    let c = core.open(ino(&core, "app/events"), false).unwrap().fh;
    read_later(&core, a, 0, 100, &tx);
    read_later(&core, b, 0, 200, &tx);
    read_later(&core, c, 0, 300, &tx);
    assert_eq!(core.waiting().interrupt(&|pid| pid != 300), 2);
    let mut ended: Vec<_> = rx.try_iter().collect();
    ended.sort();
    assert_eq!(ended, [(a, Err(libc::EINTR)), (b, Err(libc::EINTR))]);
    assert_eq!(core.waiting().parked_pids(), [300]);
    // Closing the file drops what it still waits for.
    core.release(c);
    assert_eq!(rx.try_recv().unwrap(), (c, Err(libc::EBADF)));
    assert_eq!(core.waiting().parked(), 0);
}

#[test]
fn stopping_ends_events_with_eof_and_waits_with_enotconn() {
    let (_, core) = setup(None);
    let (tx, rx) = answers();
    let events = core.open(ino(&core, "events"), false).unwrap().fh;
    let wait = core.open(ino(&core, "app/wait/down"), false).unwrap().fh;
    read_later(&core, events, 0, 1, &tx);
    read_later(&core, wait, 0, 1, &tx);
    core.close_streams();
    let mut ended: Vec<_> = rx.try_iter().collect();
    ended.sort();
    assert_eq!(
        ended,
        [(events, Ok(Vec::new())), (wait, Err(libc::ENOTCONN))]
    );
    read_later(&core, events, 0, 1, &tx);
    assert_eq!(rx.try_recv().unwrap(), (events, Ok(Vec::new())));
    assert!(core.poll(wait, None).unwrap().readable);
}

#[test]
fn a_hundred_parked_readers_are_answered_by_one_line_without_a_thread_each() {
    let (source, core) = setup(None);
    let (tx, rx) = answers();
    let fhs: Vec<u64> = (0..100)
        .map(|i| {
            let path = if i % 2 == 0 {
                "events"
            } else {
                "app/container#1/wait/down"
            };
            let fh = core.open(ino(&core, path), false).unwrap().fh;
            read_later(&core, fh, 0, 1000 + i, &tx);
            fh
        })
        .collect();
    // Every read_later returned: none holds the calling thread.
    assert_eq!(core.waiting().parked(), 100);
    assert_eq!(read_all(&core, ino(&core, "app/status")), b"warn\n");
    source.changes().action_began("app", None, "stop");
    assert_eq!(rx.try_iter().count(), 50);
    publish_app(&source, &core, FILE, &[("container#1", Status::Down)]);
    assert_eq!(rx.try_iter().count(), 50);
    for fh in fhs {
        core.release(fh);
    }
    assert_eq!(core.waiting().parked(), 0);
    assert_eq!(source.changes().readers(), 0);
}

mod reference {
    //! Random sequences of lookups, reads, listings and state changes,
    //! checked against a plain map of paths to bytes built from the same
    //! configurations.

    use super::*;
    use proptest::prelude::*;

    const CONFIGS: [&str; 3] = [
        FILE,
        "[container#1]\nrun_image = busybox\n",
        "[ip#1]\nipname = a\nipdev = lo\n[container#2]\nrun_image = b\n",
    ];
    const SERVICES: [&str; 2] = ["a", "b"];
    const STATUSES: [Status; 3] = [Status::Up, Status::Down, Status::Warn];

    #[derive(Debug, Clone)]
    enum Op {
        Publish(usize, usize, usize),
        Remove(usize),
        Read(usize),
        List(usize),
        Stat(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..2usize, 0..3usize, 0..3usize).prop_map(|(s, c, st)| Op::Publish(s, c, st)),
            (0..2usize).prop_map(Op::Remove),
            any::<usize>().prop_map(Op::Read),
            any::<usize>().prop_map(Op::List),
            any::<usize>().prop_map(Op::Stat),
        ]
    }

    /// The model: every path with its bytes (None for directories).
    type Model = BTreeMap<String, Option<Vec<u8>>>;

    /// What a model stream gives to a read that would wait.
    const STREAM: &[u8] = b"(would wait)";

    fn model_of(source: &FakeSource) -> Model {
        let mut model = Model::new();
        model.insert(String::new(), None);
        model.insert("events".into(), Some(STREAM.to_vec()));
        let series: Vec<_> = lock(&source.trees)
            .values()
            .map(|t| t.metrics.clone())
            .collect();
        let metrics = crate::render::metrics_text(&series).into_bytes();
        model.insert("metrics".into(), Some(metrics));
        for (name, tree) in lock(&source.trees).iter() {
            model.insert(name.clone(), None);
            for f in &tree.files {
                let bytes = match f.kind {
                    FileKind::Events => STREAM.to_vec(),
                    _ => f.content.to_vec(),
                };
                model.insert(format!("{name}/{}", f.name), Some(bytes));
            }
            let status = |file: Option<&FileNode>| {
                String::from_utf8(file.unwrap().content.to_vec()).unwrap()
            };
            let wait = |model: &mut Model, dir: String, now: String| {
                model.insert(dir.clone(), None);
                for word in ["up", "down", "warn"] {
                    let bytes = if now.trim_end() == word {
                        now.as_bytes().to_vec()
                    } else {
                        STREAM.to_vec()
                    };
                    model.insert(format!("{dir}/{word}"), Some(bytes));
                }
            };
            wait(
                &mut model,
                format!("{name}/wait"),
                status(tree.file("status")),
            );
            for r in &tree.resources {
                wait(
                    &mut model,
                    format!("{name}/{}/wait", r.rid),
                    status(r.file("status")),
                );
                model.insert(format!("{name}/{}", r.rid), None);
                for f in &r.files {
                    model.insert(
                        format!("{name}/{}/{}", r.rid, f.name),
                        Some(f.content.to_vec()),
                    );
                }
            }
        }
        model
    }

    /// Paths worth trying: the model's plus some that never exist.
    fn candidates(model: &Model) -> Vec<String> {
        let mut paths: Vec<String> = model.keys().cloned().collect();
        paths.extend(["a/nope", "zz", "b/container#9/status"].map(String::from));
        paths.extend(
            SERVICES
                .iter()
                .flat_map(|s| [format!("{s}/status"), format!("{s}/container#1/label")]),
        );
        paths
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_core_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
            let source = Arc::new(FakeSource::default());
            let core = Core::new(source.clone(), None);
            for op in ops {
                let model = model_of(&source);
                let paths = candidates(&model);
                match op {
                    Op::Publish(s, c, st) => source.publish(
                        SERVICES[s],
                        CONFIGS[c],
                        &[("container#1", STATUSES[st]), ("ip#1", STATUSES[st])],
                    ),
                    Op::Remove(s) => source.remove(SERVICES[s]),
                    Op::Read(i) => {
                        let path = &paths[i % paths.len()];
                        match (model.get(path), walk(&core, path)) {
                            (Some(Some(bytes)), Ok(attr)) if bytes == STREAM => {
                                prop_assert_eq!(attr.size, 0);
                                let fh = core.open(attr.ino, false).unwrap().fh;
                                prop_assert_eq!(errno(core.read(fh, 0, 100)), libc::EAGAIN);
                                core.release(fh);
                            }
                            (Some(Some(bytes)), Ok(attr))
                                if path.contains("/wait/") || path == "metrics" =>
                            {
                                prop_assert_eq!(attr.size, 0);
                                prop_assert_eq!(&read_all(&core, attr.ino), bytes);
                            }
                            (Some(Some(bytes)), Ok(attr)) => {
                                prop_assert_eq!(attr.size, bytes.len() as u64);
                                prop_assert_eq!(&read_all(&core, attr.ino), bytes);
                            }
                            (Some(None), Ok(attr)) => {
                                prop_assert_eq!(attr.node_type, NodeType::Directory);
                            }
                            (None, Err(e)) => prop_assert_eq!(e.errno(), libc::ENOENT),
                            (expected, got) => {
                                prop_assert!(false, "{path}: model {expected:?}, core {got:?}");
                            }
                        }
                    }
                    Op::List(i) => {
                        let dirs: Vec<&String> =
                            model.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect();
                        let dir = dirs[i % dirs.len()];
                        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
                        let mut expected: Vec<String> = model
                            .keys()
                            .filter_map(|k| k.strip_prefix(&prefix))
                            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                            .map(String::from)
                            .collect();
                        expected.sort();
                        let mut got = names(&core, dir);
                        prop_assert_eq!(&got[..2], &[".".to_string(), "..".to_string()]);
                        got.drain(..2);
                        got.sort();
                        prop_assert_eq!(got, expected);
                    }
                    Op::Stat(i) => {
                        let path = &paths[i % paths.len()];
                        if let Ok(attr) = walk(&core, path) {
                            let again = core.getattr(attr.ino).unwrap();
                            prop_assert_eq!(attr, again);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_clustered_service_has_its_owner_and_a_directory_per_node() {
    let (source, core) = setup(None);
    assert_eq!(errno(walk(&core, "app/nodes")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app/owner")), libc::ENOENT);
    let shown = |state: &str| {
        let mut snapshot = snapshot_of("app", FILE, &[("container#1", Status::Up)]);
        snapshot.cluster = Some(Arc::new(crate::model::ClusterShown {
            owner: "n1".into(),
            hb: Status::Up,
            nodes: vec![
                ("n1".into(), "up".into(), "up".into()),
                ("n2".into(), "down".into(), state.into()),
            ],
            messages: Vec::new(),
        }));
        snapshot
    };
    source.publish_snapshot(shown("down"));
    let listing = names(&core, "app");
    assert!(listing.contains(&"owner".to_string()), "{listing:?}");
    let wait = listing.iter().position(|n| n == "wait").unwrap();
    assert_eq!(listing[wait + 1], "nodes");
    assert_eq!(names(&core, "app/nodes"), [".", "..", "n1", "n2"]);
    assert_eq!(names(&core, "app/nodes/n2"), [".", "..", "status", "state"]);
    assert_eq!(read_all(&core, ino(&core, "app/owner")), b"n1\n");
    assert_eq!(read_all(&core, ino(&core, "app/nodes/n1/status")), b"up\n");
    let state = ino(&core, "app/nodes/n2/state");
    assert_eq!(read_all(&core, state), b"down\n");
    assert_eq!(walk(&core, "app/nodes/n2").unwrap().perm, 0o555);
    assert_eq!(walk(&core, "app/nodes/n2/state").unwrap().perm, 0o444);
    assert_eq!(errno(walk(&core, "app/nodes/n3")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app/nodes/n1/alive")), libc::ENOENT);
    assert_eq!(errno(core.open(state, true)), libc::EACCES);
    source.publish_snapshot(shown("failed"));
    assert_eq!(read_all(&core, state), b"failed\n");
    // Out of the cluster again: the same inode is gone.
    source.publish("app", FILE, &[("container#1", Status::Up)]);
    assert_eq!(errno(core.getattr(state)), libc::ENOENT);
}

#[test]
fn the_cluster_directory_shows_etcd_and_every_node_and_is_never_cached() {
    use crate::render::tree::cluster_tree;
    let (source, core) = setup(None);
    // Without a cluster, `cluster` is a service name like any other.
    assert_eq!(errno(walk(&core, "cluster")), libc::ENOENT);
    assert!(!names(&core, "").contains(&"cluster".to_string()));
    let now = SystemTime::UNIX_EPOCH;
    let tree = cluster_tree(
        &[
            ("http://127.0.0.1:1".into(), "healthy"),
            ("http://127.0.0.1:2".into(), "unreachable"),
        ],
        &[("n1".into(), true, 7), ("n2".into(), false, 0)],
        None,
        now,
    );
    *lock(&source.cluster) = Some(Arc::new(tree));
    assert_eq!(
        names(&core, ""),
        [".", "..", "events", "metrics", "cluster", "app"]
    );
    assert_eq!(names(&core, "cluster"), [".", "..", "etcd", "nodes"]);
    assert_eq!(names(&core, "cluster/nodes"), [".", "..", "n1", "n2"]);
    assert_eq!(
        names(&core, "cluster/nodes/n1"),
        [".", "..", "alive", "ttl"]
    );
    let etcd = ino(&core, "cluster/etcd");
    assert_eq!(
        read_all(&core, etcd),
        b"http://127.0.0.1:1 healthy\nhttp://127.0.0.1:2 unreachable\n"
    );
    assert_eq!(
        read_all(&core, ino(&core, "cluster/nodes/n1/alive")),
        b"yes\n"
    );
    assert_eq!(
        read_all(&core, ino(&core, "cluster/nodes/n2/alive")),
        b"no\n"
    );
    let ttl = ino(&core, "cluster/nodes/n1/ttl");
    assert_eq!(read_all(&core, ttl), b"7\n");
    assert_eq!(core.open(ttl, false).unwrap().caching, Caching::Direct);
    assert_eq!(errno(walk(&core, "cluster/nodes/n3")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "cluster/members")), libc::ENOENT);
    assert_eq!(errno(core.open(ttl, true)), libc::EACCES);
    assert_eq!(walk(&core, "cluster/nodes").unwrap().perm, 0o555);
}

#[path = "core_live_tests.rs"]
mod live;
