//! The core without a mount: every errno and mode svcfs(8) documents, the
//! caching decisions, and a reference model of the tree checked against
//! random sequences of operations and state changes.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;
use crate::fs::inodes::ROOT;
use crate::model::snapshot::snapshot_of;
use crate::model::Status;
use crate::render::service_tree;

/// Published trees, changed by the tests.
#[derive(Default)]
struct FakeSource {
    trees: Mutex<BTreeMap<String, Arc<ServiceTree>>>,
}

impl FakeSource {
    fn publish(&self, name: &str, text: &str, states: &[(&str, Status)]) {
        let snapshot = snapshot_of(name, text, states);
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
    assert_eq!(
        walk(&core, "app/container#1/run_image").unwrap().perm,
        0o444
    );
    assert_eq!(walk(&core, "app/ctl").unwrap().perm, 0o200);
    assert_eq!(walk(&core, "app/fs#1/ctl").unwrap().perm, 0o200);
    let (_, grouped) = setup(Some(42));
    let ctl = walk(&grouped, "app/container#1/ctl").unwrap();
    assert_eq!((ctl.perm, ctl.gid), (0o220, 42));
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

#[test]
fn listings_hold_dot_entries_files_then_resources() {
    let (_, core) = setup(None);
    assert_eq!(names(&core, ""), [".", "..", "app"]);
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
            "container#1",
            "fs#1"
        ]
    );
    assert_eq!(
        names(&core, "app/fs#1"),
        [".", "..", "status", "label", "messages", "ctl", "log", "dev", "mnt"]
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
    let status = ino(&core, "app/container#1/status");
    let fh = core.open(status, false).unwrap().fh;
    source.publish("app", FILE, &[("container#1", Status::Down)]);
    assert_eq!(core.read(fh, 0, 100).unwrap().as_slice(), b"up\n");
    assert_eq!(read_all(&core, status), b"down\n");
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
    assert!(core.read(fh, 0, 10).unwrap().stale_in_cache);
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

    fn model_of(source: &FakeSource) -> Model {
        let mut model = Model::new();
        model.insert(String::new(), None);
        for (name, tree) in lock(&source.trees).iter() {
            model.insert(name.clone(), None);
            for f in &tree.files {
                model.insert(format!("{name}/{}", f.name), Some(f.content.to_vec()));
            }
            for r in &tree.resources {
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
