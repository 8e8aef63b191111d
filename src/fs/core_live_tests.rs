//! Live files and followed streams against a fake live view: what is
//! listed, that bytes are computed at each open (and only then), size 0
//! and no cached attributes, the service's sums, `metrics` with the
//! resources' use, and a stream that queues what comes after its open,
//! to each of its readers, without holding a caller, and stops being
//! followed once its last reader closes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Weak;

use super::*;
use crate::feed::Feed;
use crate::model::live::Wake;
use crate::model::usage::{Amount, Counter};
use crate::model::{LiveRef, LiveView};

/// Counters and an `output` file and stream, as the tests set them.
#[derive(Default)]
struct FakeView {
    memory: Mutex<Option<Amount>>,
    /// Opens of `output` so far.
    reads: AtomicUsize,
    readers: Mutex<Vec<Weak<Feed>>>,
}

impl FakeView {
    /// A line of output: to every reader of the stream.
    fn say(&self, line: &str) {
        let feeds: Vec<Arc<Feed>> = lock(&self.readers)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for feed in feeds {
            feed.push(&[line.into()]);
        }
    }

    fn followers(&self) -> usize {
        lock(&self.readers)
            .iter()
            .filter(|f| f.strong_count() > 0)
            .count()
    }
}

impl LiveView for FakeView {
    fn files(&self) -> &'static [&'static str] {
        &["output"]
    }
    fn read(&self, name: &str) -> Option<Vec<u8>> {
        (name == "output").then(|| {
            let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
            format!("open {n}\n").into_bytes()
        })
    }
    fn has_usage(&self) -> bool {
        true
    }
    fn usage(&self, counter: Counter) -> Option<Amount> {
        match counter {
            Counter::Memory => *lock(&self.memory),
            Counter::MemoryLimit => Some(Amount::Value(64 << 20)),
            Counter::Cpu => Some(Amount::Value(1_500_000_000)),
            _ => None,
        }
    }
    fn streams(&self) -> &'static [&'static str] {
        &["output"]
    }
    fn follow(&self, name: &str, wake: Wake) -> Option<Arc<Feed>> {
        (name == "output").then(|| {
            let feed = Feed::new(4, |n| format!("({n} lost)"), wake);
            lock(&self.readers).push(Arc::downgrade(&feed));
            feed
        })
    }
}

const TWO: &str =
    "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\n[fs#1]\ndev = /d\nmnt = /m\n";

/// Service `app` whose two containers have a live view each.
fn live_setup() -> (Arc<FakeSource>, Core, Arc<FakeView>, Arc<FakeView>) {
    let source = Arc::new(FakeSource::default());
    let (one, two) = (Arc::new(FakeView::default()), Arc::new(FakeView::default()));
    *lock(&one.memory) = Some(Amount::Value(1000));
    *lock(&two.memory) = Some(Amount::Value(24));
    let mut snapshot = snapshot_of("app", TWO, &[("container#1", Status::Up)]);
    for r in &mut snapshot.resources {
        r.live = match r.rid.as_str() {
            "container#1" => Some(LiveRef(one.clone())),
            "container#2" => Some(LiveRef(two.clone())),
            _ => None,
        };
    }
    source.publish_snapshot(snapshot);
    let core = Core::new(source.clone(), None);
    (source, core, one, two)
}

fn text(core: &Core, path: &str) -> String {
    String::from_utf8(read_all(core, ino(core, path))).unwrap()
}

#[test]
fn live_files_are_listed_after_the_files_and_streams_in_wait() {
    let (_, core, _, _) = live_setup();
    let c1 = names(&core, "app/container#1");
    let at = |name: &str| c1.iter().position(|n| n == name).unwrap();
    assert!(at("failures") < at("output") && at("output") < at("cpu"));
    for name in [
        "memory",
        "memory_limit",
        "processes",
        "io_read",
        "io_write",
        "stats",
    ] {
        assert!(
            at(name) > at("output") && at(name) < at("wait"),
            "{name}: {c1:?}"
        );
    }
    assert_eq!(
        names(&core, "app/container#1/wait"),
        [".", "..", "up", "down", "warn", "output"]
    );
    // A resource without a view has none of them.
    let fs = names(&core, "app/fs#1");
    assert!(!fs.iter().any(|n| n == "output" || n == "memory"), "{fs:?}");
    assert_eq!(errno(walk(&core, "app/fs#1/memory")), libc::ENOENT);
    assert_eq!(errno(walk(&core, "app/fs#1/wait/output")), libc::ENOENT);
    // The service sums what its resources use.
    let app = names(&core, "app");
    assert!(app.iter().any(|n| n == "memory") && app.iter().any(|n| n == "stats"));
    assert!(app.iter().position(|n| n == "stats") < app.iter().position(|n| n == "wait"));
}

#[test]
fn a_live_file_is_computed_at_each_open_with_size_zero_and_a_stable_mtime() {
    let (_, core, one, _) = live_setup();
    let attr = walk(&core, "app/container#1/output").unwrap();
    assert_eq!((attr.size, attr.perm, attr.live), (0, 0o444, true));
    assert_eq!(core.getattr(attr.ino).unwrap(), attr);
    // Listing and stat read nothing.
    assert_eq!(one.reads.load(Ordering::SeqCst), 0);
    let opened = core.open(attr.ino, false).unwrap();
    assert_eq!(opened.caching, Caching::Direct);
    assert_eq!(one.reads.load(Ordering::SeqCst), 1);
    // Consistent within the open, in pieces.
    assert_eq!(core.read(opened.fh, 0, 3).unwrap().as_slice(), b"ope");
    assert_eq!(core.read(opened.fh, 3, 100).unwrap().as_slice(), b"n 1\n");
    // lseek(fd, 0) and read: computed anew, as /proc's files.
    assert_eq!(
        core.read(opened.fh, 0, 100).unwrap().as_slice(),
        b"open 2\n"
    );
    let ready = core.poll(opened.fh, Some(3)).unwrap();
    assert!(ready.readable && !ready.changed);
    core.release(opened.fh);
    assert_eq!(text(&core, "app/container#1/output"), "open 3\n");
    assert_eq!(errno(core.open(attr.ino, true)), libc::EACCES);
    let truncate = AttrChange {
        size: Some(0),
        ..AttrChange::default()
    };
    assert_eq!(errno(core.setattr(attr.ino, truncate)), libc::EACCES);
    assert_eq!(errno(core.opendir(attr.ino)), libc::ENOTDIR);
}

#[test]
fn resource_use_is_one_value_files_a_summary_and_the_service_s_sums() {
    let (_, core, one, two) = live_setup();
    assert_eq!(text(&core, "app/container#1/memory"), "1000\n");
    assert_eq!(text(&core, "app/container#1/cpu"), "1.500000000\n");
    assert_eq!(text(&core, "app/container#1/memory_limit"), "67108864\n");
    // Not known (the counter is not in its cgroup): empty, not 0.
    assert_eq!(text(&core, "app/container#1/io_read"), "");
    assert_eq!(
        text(&core, "app/container#1/stats"),
        "cpu 1.500000000\nmemory 1000\nmemory_limit 67108864\n"
    );
    assert_eq!(text(&core, "app/memory"), "1024\n");
    assert_eq!(text(&core, "app/cpu"), "3.000000000\n");
    // Read at each open: a change shows at the next.
    *lock(&two.memory) = None;
    *lock(&one.memory) = Some(Amount::Value(7));
    assert_eq!(text(&core, "app/memory"), "7\n");
    assert_eq!(text(&core, "app/container#2/memory"), "");
    let attr = walk(&core, "app/memory").unwrap();
    assert!(attr.live && attr.size == 0);
}

#[test]
fn metrics_carry_the_series_of_resource_use_read_at_open() {
    let (_, core, one, _) = live_setup();
    let metrics = text(&core, "metrics");
    let line = "svcfs_container_memory_usage_bytes{service=\"app\",rid=\"container#1\"} 1000";
    assert!(metrics.lines().any(|l| l == line), "{metrics}");
    assert!(metrics.contains("# TYPE svcfs_container_cpu_usage_seconds_total counter\n"));
    *lock(&one.memory) = Some(Amount::Value(5));
    assert!(text(&core, "metrics").contains("container#1\"} 5\n"));
}

#[test]
fn a_stream_gives_each_reader_what_comes_after_its_open_and_ends_with_the_last() {
    let (_, core, one, _) = live_setup();
    let (tx, rx) = answers();
    one.say("before anyone reads");
    let path = ino(&core, "app/container#1/wait/output");
    let attr = core.getattr(path).unwrap();
    assert_eq!((attr.size, attr.live), (0, false));
    let a = core.open(path, false).unwrap();
    assert_eq!(a.caching, Caching::Stream);
    let b = core.open(path, false).unwrap().fh;
    assert_eq!(one.followers(), 2);
    // Nothing yet: a non-blocking read gets EAGAIN (grep -r ends)...
    assert_eq!(errno(core.read(a.fh, 0, 100)), libc::EAGAIN);
    assert!(!core.poll(a.fh, Some(9)).unwrap().readable);
    // ...a blocking one parks without holding the caller.
    read_later(&core, a.fh, 0, 1, &tx);
    assert!(rx.try_recv().is_err());
    one.say("hello");
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        (a.fh, Ok(b"hello\n".to_vec()))
    );
    assert_eq!(core.read(b, 0, 100).unwrap().as_slice(), b"hello\n");
    // A slow reader loses lines, and is told.
    for i in 0..6 {
        one.say(&format!("l{i}"));
    }
    assert!(core.poll(b, None).unwrap().readable);
    let got = String::from_utf8(core.read(b, 0, 4096).unwrap().as_slice().to_vec()).unwrap();
    assert_eq!(got, "l0\nl1\nl2\nl3\n");
    assert_eq!(core.read(b, 0, 4096).unwrap().as_slice(), b"(2 lost)\n");
    core.release(a.fh);
    assert_eq!(one.followers(), 1);
    core.release(b);
    assert_eq!(one.followers(), 0);
    assert_eq!(errno(core.open(path, true)), libc::EACCES);
}

#[test]
fn a_stream_read_blocked_at_shutdown_ends_with_end_of_file() {
    let (_, core, _, _) = live_setup();
    let (tx, rx) = answers();
    let fh = core
        .open(ino(&core, "app/container#2/wait/output"), false)
        .unwrap()
        .fh;
    read_later(&core, fh, 0, 1, &tx);
    core.close_streams();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        (fh, Ok(Vec::new()))
    );
}
