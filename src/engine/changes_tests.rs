use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::engine::snapshot::snapshot_of;
use crate::model::Status;
use crate::render::service_tree;

const TWO: &str = "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\n";

fn tree(c1: Status, c2: Status, previous: Option<&ServiceTree>, second: u64) -> ServiceTree {
    let snapshot = snapshot_of("app", TWO, &[("container#1", c1), ("container#2", c2)]);
    service_tree(
        &snapshot,
        previous,
        SystemTime::UNIX_EPOCH + Duration::from_secs(second),
    )
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn text(bytes: Option<Vec<u8>>) -> String {
    String::from_utf8(bytes.expect("something to read")).unwrap()
}

#[test]
fn a_resource_going_down_is_one_line_for_it_and_one_for_the_service() {
    let before = tree(Status::Up, Status::Up, None, 1);
    let after = tree(Status::Down, Status::Up, Some(&before), 2);
    let lines = transitions(Some(&before), Some(&after));
    assert_eq!(lines.len(), 2, "{lines:?}");
    let service = json(&lines[0]);
    assert_eq!(service["service"], "app");
    assert_eq!(service["rid"], serde_json::Value::Null);
    assert_eq!(
        (&service["from"], &service["to"]),
        (&"up".into(), &"warn".into())
    );
    let resource = json(&lines[1]);
    assert_eq!(resource["rid"], "container#1");
    assert_eq!(resource["from"], "up");
    assert_eq!(resource["to"], "down");
    assert_eq!(resource["message"], "");
    assert_eq!(resource["time"], "1970-01-01T00:00:02.000Z");
    // The keys in the order svcfs(8) gives them.
    assert!(lines[1].starts_with("{\"time\":"), "{}", lines[1]);
    let keys: Vec<&str> = [
        "\"service\"",
        "\"rid\"",
        "\"from\"",
        "\"to\"",
        "\"message\"",
    ]
    .into_iter()
    .collect();
    let at: Vec<usize> = keys.iter().map(|k| lines[1].find(k).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{}", lines[1]);
}

#[test]
fn nothing_changed_is_no_line() {
    let before = tree(Status::Up, Status::Up, None, 1);
    let after = tree(Status::Up, Status::Up, Some(&before), 2);
    assert!(transitions(Some(&before), Some(&after)).is_empty());
}

#[test]
fn messages_come_with_the_status_they_explain() {
    let first = tree(Status::Up, Status::Up, None, 1);
    // Never checked: the state is warn with a message.
    let unchecked = service_tree(
        &snapshot_of("app", TWO, &[]),
        Some(&first),
        SystemTime::UNIX_EPOCH,
    );
    let lines = transitions(Some(&first), Some(&unchecked));
    let c1 = lines
        .iter()
        .map(|l| json(l))
        .find(|j| j["rid"] == "container#1")
        .unwrap();
    assert_eq!(c1["to"], "warn");
    assert_eq!(c1["message"], "status not checked yet");
}

#[test]
fn services_joining_and_leaving_come_from_and_go_to_null() {
    let t = tree(Status::Up, Status::Down, None, 1);
    let joined = transitions(None, Some(&t));
    assert_eq!(joined.len(), 3);
    assert_eq!(json(&joined[0])["from"], serde_json::Value::Null);
    assert_eq!(json(&joined[0])["to"], "warn");
    let left = transitions(Some(&t), None);
    assert_eq!(left.len(), 3);
    assert_eq!(json(&left[2])["rid"], "container#2");
    assert_eq!(json(&left[2])["to"], serde_json::Value::Null);
    assert!(transitions(None, None).is_empty());
}

#[test]
fn a_reader_sees_only_what_comes_after_it_subscribed() {
    let bus = ChangeBus::default();
    bus.action_began("app", None, "start");
    let feed = bus.subscribe(None, || {});
    assert!(!feed.is_ready());
    assert_eq!(feed.take(4096), None);
    bus.action_ended("app", None, "start", None);
    assert!(feed.is_ready());
    let got = text(feed.take(4096));
    assert_eq!(got.lines().count(), 1);
    let end = json(got.trim_end());
    assert_eq!(
        (&end["action"], &end["phase"]),
        (&"start".into(), &"end".into())
    );
    assert_eq!(end["result"], "ok");
    assert_eq!(feed.take(4096), None);
}

#[test]
fn every_reader_gets_every_line_and_is_woken() {
    let bus = ChangeBus::default();
    let woken = Arc::new(AtomicUsize::new(0));
    let feeds: Vec<Arc<Feed>> = (0..3)
        .map(|_| {
            let woken = woken.clone();
            bus.subscribe(None, move || {
                woken.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    bus.action_ended(
        "app",
        Some("container#1"),
        "stop",
        Some("no such container"),
    );
    assert_eq!(woken.load(Ordering::SeqCst), 3);
    for feed in &feeds {
        let line = json(text(feed.take(4096)).trim_end());
        assert_eq!(line["rid"], "container#1");
        assert_eq!(line["result"], "failed");
        assert_eq!(line["message"], "no such container");
    }
}

#[test]
fn a_service_reader_sees_only_its_service() {
    let bus = ChangeBus::default();
    let app = bus.subscribe(Some("app"), || {});
    let all = bus.subscribe(None, || {});
    bus.action_began("db", None, "start");
    assert!(!app.is_ready());
    assert!(all.is_ready());
    bus.action_began("app", None, "start");
    assert!(text(app.take(4096)).contains("\"service\":\"app\""));
}

#[test]
fn a_closed_reader_leaves_the_bus() {
    let bus = ChangeBus::default();
    let feed = bus.subscribe(None, || {});
    assert_eq!(bus.readers(), 1);
    drop(feed);
    assert_eq!(bus.readers(), 0);
    bus.action_began("app", None, "start");
}

#[test]
fn a_slow_reader_loses_lines_and_is_told_how_many_where_the_gap_is() {
    let bus = ChangeBus::default();
    let feed = bus.subscribe(None, || {});
    for i in 0..FEED_LINES + 5 {
        bus.action_began("app", None, &format!("a{i}"));
    }
    // Room again: the next line comes after the gap.
    let first = text(feed.take(1 << 20));
    assert_eq!(first.lines().count(), FEED_LINES);
    assert!(first.lines().last().unwrap().contains("\"a1023\""));
    assert_eq!(feed.take(1 << 20), Some(b"{\"lost\": 5}\n".to_vec()));
    assert_eq!(feed.take(1 << 20), None);
    for i in 0..FEED_LINES + 2 {
        bus.action_began("app", None, &format!("b{i}"));
    }
    feed.take(1 << 20);
    bus.action_began("app", None, "after");
    let rest = text(feed.take(1 << 20));
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines[0], "{\"lost\": 2}");
    assert!(lines[1].contains("\"after\""));
}

#[test]
fn reads_return_whole_lines_that_fit_and_split_only_a_line_too_long() {
    let bus = ChangeBus::default();
    let feed = bus.subscribe(None, || {});
    bus.action_began("app", None, "one");
    bus.action_began("app", None, "two");
    let one_line = text(feed.take(1 << 20));
    let len = one_line.find('\n').unwrap() + 1;
    bus.action_began("app", None, "one");
    bus.action_began("app", None, "two");
    // Room for one and a half lines: one line.
    assert_eq!(feed.take(len + len / 2).unwrap().len(), len);
    // Room for less than a line: the line in pieces, nothing lost.
    let mut pieces = Vec::new();
    while let Some(piece) = feed.take(10) {
        assert!(piece.len() <= 10);
        pieces.extend(piece);
    }
    assert_eq!(pieces.len(), len);
    assert!(String::from_utf8(pieces).unwrap().contains("\"two\""));
}
