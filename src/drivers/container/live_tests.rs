//! A container's live view against json-file logs written by the tests
//! as docker writes them: the snapshot across runs with its markers and
//! its bound, and the stream following appends, a restart and a
//! recreation, ending when its last reader leaves.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::*;
use crate::docker::fake::FakeDocker;
use crate::drivers::container::Identity;
use crate::drivers::mounts::tests::TempDir;

const T0: &str = "2026-12-07T10:00:00Z";

/// `seconds` after T0, as docker writes times.
fn at(seconds: u64) -> String {
    let t = parse_rfc3339_nanos(T0).unwrap() + seconds as i64 * 1_000_000_000;
    format!(
        "{}Z",
        rfc3339_utc_millis(from_nanos(t)).trim_end_matches('Z')
    )
}

fn append(path: &Path, lines: &[(&str, u64)]) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for (text, second) in lines {
        let record = serde_json::json!({"log": format!("{text}\r\n"), "stream": "stdout", "time": at(*second)});
        writeln!(file, "{record}").unwrap();
    }
}

/// What an inspect says of container `id` whose log is `log`, started at
/// second `started`, still running or finished at second `finished`.
fn container(id: &str, log: &Path, started: u64, finished: Option<u64>) -> Observed {
    Observed {
        id: full_id(id),
        image_id: "sha256:f66342b343ae".into(),
        running: finished.is_none(),
        exited: finished.is_some(),
        exit_code: 0,
        health: None,
        health_output: None,
        labels: HashMap::new(),
        pid: 0,
        stop_signal: None,
        networks: Vec::new(),
        identity: Identity {
            started_at: at(started),
            finished_at: finished.map(at).unwrap_or_default(),
            log_driver: "json-file".into(),
            log_path: log.display().to_string(),
            ..Identity::default()
        },
    }
}

fn view(size: usize) -> Arc<ContainerLive> {
    ContainerLive::new(Arc::new(FakeDocker::new("unix:///x")), size, "/proc".into())
}

fn snapshot(live: &ContainerLive) -> String {
    String::from_utf8(live.read(OUTPUT).unwrap()).unwrap()
}

fn marker_at(id: &str, second: u64) -> String {
    marker(&full_id(id), parse_rfc3339_nanos(&at(second)).unwrap())
}

fn full_id(id: &str) -> String {
    format!("{id}{}", "0".repeat(64 - id.len()))
}

#[test]
fn the_snapshot_shows_every_run_with_a_marker_where_each_begins() {
    let tmp = TempDir::new("live-snapshot");
    let (a, b) = (tmp.path().join("a-json.log"), tmp.path().join("b-json.log"));
    let live = view(OUTPUT_SIZE);
    // Before svcfs saw it: a run whose start it does not know.
    append(&a, &[("old run", 1)]);
    append(&a, &[("first", 10), ("second", 11)]);
    live.saw(Some(&container("aaaa", &a, 10, None)));
    assert_eq!(
        snapshot(&live),
        format!("old run\n{}\nfirst\nsecond\n", marker_at("aaaa", 10))
    );
    // Restarted: the same file goes on.
    live.saw(Some(&container("aaaa", &a, 10, Some(12))));
    append(&a, &[("after restart", 20)]);
    live.saw(Some(&container("aaaa", &a, 20, None)));
    // Recreated (an upgrade): another container, another file.
    live.saw(Some(&container("aaaa", &a, 20, Some(30))));
    append(&b, &[("upgraded", 31)]);
    live.saw(Some(&container("bbbb", &b, 31, None)));
    let expected = [
        "old run".to_string(),
        marker_at("aaaa", 10),
        "first".into(),
        "second".into(),
        marker_at("aaaa", 20),
        "after restart".into(),
        marker_at("bbbb", 31),
        "upgraded".into(),
    ];
    assert_eq!(snapshot(&live), format!("{}\n", expected.join("\n")));
    // Rolled back: the old container runs again, its old lines stay in
    // their places.
    append(&a, &[("rolled back", 40)]);
    live.saw(Some(&container("aaaa", &a, 40, None)));
    let text = snapshot(&live);
    assert!(
        text.ends_with(&format!(
            "upgraded\n{}\nrolled back\n",
            marker_at("aaaa", 40)
        )),
        "{text}"
    );
    assert_eq!(text.matches("first").count(), 1, "{text}");
}

#[test]
fn the_snapshot_keeps_the_newest_lines_that_fit() {
    let tmp = TempDir::new("live-bound");
    let a = tmp.path().join("a-json.log");
    let lines: Vec<String> = (0..1000).map(|i| format!("line {i:04}")).collect();
    let records: Vec<(&str, u64)> = lines.iter().map(|l| (l.as_str(), 5)).collect();
    append(&a, &records);
    let live = view(100);
    live.saw(Some(&container("aaaa", &a, 1, None)));
    let text = snapshot(&live);
    assert!(text.len() <= 100, "{}", text.len());
    assert!(
        text.ends_with("line 0999\n") && text.starts_with("line 09"),
        "{text}"
    );
    // The window began after the run's start: no marker for it.
    assert!(!text.contains("==>"));
    // No container yet, or one whose log file is gone: nothing.
    assert_eq!(snapshot(&view(100)), "");
    std::fs::remove_file(&a).unwrap();
    assert_eq!(snapshot(&live), "");
}

#[test]
fn markers_show_only_where_the_window_shows_what_came_before() {
    let rec = |text: &str, time: i64| Record {
        stderr: false,
        time,
        text: format!("{text}\r").into_bytes(),
        ends_line: true,
    };
    let starts = [(10, "==> 10 <==".to_string()), (20, "==> 20 <==".into())];
    let records = [rec("a", 11), rec("b", 21)];
    assert_eq!(render(&records, &starts, false), ["a", "==> 20 <==", "b"]);
    assert_eq!(
        render(&records, &starts, true),
        ["==> 10 <==", "a", "==> 20 <==", "b"]
    );
    // A run that printed nothing yet ends the lines with its marker.
    assert_eq!(render(&records[..1], &starts, false), ["a", "==> 20 <=="]);
    assert!(render(&[], &starts, false).is_empty());
}

/// The lines queued for a reader, waiting up to 5 s for `count`.
async fn lines(feed: &Feed, count: usize) -> Vec<String> {
    let mut got = String::new();
    for _ in 0..500 {
        if let Some(bytes) = feed.take(1 << 20) {
            got.push_str(&String::from_utf8(bytes).unwrap());
        }
        if got.lines().count() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    got.lines().map(String::from).collect()
}

#[tokio::test]
async fn the_stream_follows_from_the_open_across_a_restart_and_a_recreation() {
    let tmp = TempDir::new("live-stream");
    let (a, b) = (tmp.path().join("a-json.log"), tmp.path().join("b-json.log"));
    append(&a, &[("before the open", 1)]);
    let live = view(OUTPUT_SIZE);
    live.saw(Some(&container("aaaa", &a, 1, None)));
    let first = live.follow(OUTPUT, Box::new(|| {})).unwrap();
    let second = live.follow(OUTPUT, Box::new(|| {})).unwrap();
    append(&a, &[("hello", 2)]);
    assert_eq!(lines(&first, 1).await, ["hello"]);
    assert_eq!(lines(&second, 1).await, ["hello"]);
    // Died, then a line of the next run before svcfs knows of its start.
    live.saw(Some(&container("aaaa", &a, 1, Some(3))));
    append(&a, &[("again", 4)]);
    assert_eq!(
        lines(&first, 2).await,
        [marker_at("aaaa", 4), "again".into()]
    );
    // Its start, when the inspect tells it, is no second marker.
    live.saw(Some(&container("aaaa", &a, 4, None)));
    // Recreated: the new container's file, from its run's start.
    append(&b, &[("new container", 6)]);
    live.saw(Some(&container("bbbb", &b, 5, None)));
    assert_eq!(
        lines(&first, 2).await,
        [marker_at("bbbb", 5), "new container".into()]
    );
    append(&b, &[("more", 7)]);
    assert_eq!(lines(&first, 1).await, ["more"]);
    assert_eq!(lines(&second, 5).await.len(), 5);
    // The last reader leaves: the follower stops within a tick.
    drop(first);
    drop(second);
    tokio::time::sleep(FOLLOW_TICK * 2).await;
    assert!(!lock(&live.readers).following);
}

// Several threads: the snapshot waits (as a filesystem thread does) for
// the API call it hands to the runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_without_a_log_file_says_so() {
    let live = view(OUTPUT_SIZE);
    let mut c = container("aaaa", Path::new("/x"), 1, None);
    c.identity.log_driver = "none".into();
    live.saw(Some(&c));
    let feed = live.follow(OUTPUT, Box::new(|| {})).unwrap();
    let said = lines(&feed, 1).await;
    assert!(
        said[0].contains("(log driver none) is in no file"),
        "{said:?}"
    );
    // The snapshot asks docker's API, bounded (the fake has no such
    // container: its error is shown).
    let text = snapshot(&live);
    assert!(text.starts_with("==> docker's log API failed"), "{text}");
}

/// Docker records `StartedAt` once the process runs; the process may
/// have printed already.
#[tokio::test]
async fn a_first_line_older_than_docker_s_start_time_gets_one_marker_before_it() {
    let tmp = TempDir::new("live-race");
    let a = tmp.path().join("a-json.log");
    append(&a, &[("first run", 10)]);
    let live = view(OUTPUT_SIZE);
    live.saw(Some(&container("aaaa", &a, 10, None)));
    let feed = live.follow(OUTPUT, Box::new(|| {})).unwrap();
    live.saw(Some(&container("aaaa", &a, 10, Some(12))));
    // Printed at 20, docker says it started at 21.
    append(&a, &[("second run", 20)]);
    assert_eq!(
        lines(&feed, 2).await,
        [marker_at("aaaa", 20), "second run".into()]
    );
    live.saw(Some(&container("aaaa", &a, 21, None)));
    append(&a, &[("more", 22)]);
    assert_eq!(lines(&feed, 1).await, ["more"]);
    let expected = [
        marker_at("aaaa", 10),
        "first run".into(),
        marker_at("aaaa", 21),
        "second run".into(),
        "more".into(),
    ];
    assert_eq!(snapshot(&live), format!("{}\n", expected.join("\n")));
}

#[test]
fn a_reloaded_service_s_driver_keeps_the_runs_and_readers_of_its_resource() {
    let carried = crate::drivers::Carried::default();
    let make = || view(OUTPUT_SIZE);
    let first = carried.take_or("app", "container#1", make);
    let again = carried.take_or("app", "container#1", make);
    assert!(Arc::ptr_eq(&first, &again));
    let other = carried.take_or("app", "container#2", make);
    assert!(!Arc::ptr_eq(&first, &other));
    // Gone with its last driver: the next one starts afresh.
    let weak = Arc::downgrade(&first);
    drop((first, again));
    assert!(weak.upgrade().is_none());
    let fresh = carried.take_or("app", "container#1", make);
    assert!(!Arc::ptr_eq(&fresh, &other));
}

#[test]
fn output_and_resource_use_are_listed_while_a_container_exists() {
    let tmp = TempDir::new("live-listing");
    let live = view(OUTPUT_SIZE);
    assert!(live.files().is_empty() && !live.has_usage());
    // The stream is there before any container: open it, then start.
    assert_eq!(live.streams(), [OUTPUT]);
    live.saw(Some(&container(
        "aaaa",
        &tmp.path().join("a-json.log"),
        1,
        Some(2),
    )));
    assert_eq!(live.files(), [OUTPUT]);
    assert!(live.has_usage());
    // Stopped: it exists, its counters are unknown (no PID 1).
    assert_eq!(live.usage(Counter::Memory), None);
    live.saw(None);
    assert!(live.files().is_empty() && !live.has_usage());
}

#[tokio::test]
async fn a_container_without_a_log_file_is_followed_through_docker_s_log_api() {
    let docker = Arc::new(FakeDocker::new("unix:///x"));
    let mut fake = crate::docker::fake::FakeContainer::new("app.container.1", "sha256:f6", &[]);
    fake.id = full_id("aaaa");
    fake.logs = "hello\r\nworld\r\n".into();
    docker.add_container(fake);
    let live = ContainerLive::new(docker.clone(), OUTPUT_SIZE, "/proc".into());
    let mut c = container("aaaa", Path::new("/nonexistent"), 1, None);
    c.identity.log_driver = "syslog".into();
    c.identity.log_cache_disabled = true;
    live.saw(Some(&c));
    let feed = live.follow(OUTPUT, Box::new(|| {})).unwrap();
    assert_eq!(lines(&feed, 2).await, ["hello", "world"]);
}
