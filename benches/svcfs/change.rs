//! First read after a change: `docker kill` a service's container, poll
//! its `status` file in a tight loop until the bytes change, and measure
//! from the docker `die` event's own timestamp (its TimeNano, the same
//! host clock) to the moment the new bytes were read.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::harness::{docker, wait_until, Daemon};
use crate::report::{Row, Series};
use crate::settings::Settings;
use crate::stats::Samples;

/// How long a poll waits for the change before giving up on the sample.
const POLL_LIMIT: Duration = Duration::from_secs(10);

fn unix_nanos(t: SystemTime) -> i128 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

fn unix_arg(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

/// Read `path` until its bytes differ from `before`: when, and what.
fn poll_until_changed(path: PathBuf, before: Vec<u8>) -> Option<(SystemTime, String)> {
    let deadline = Instant::now() + POLL_LIMIT;
    while Instant::now() < deadline {
        if let Ok(bytes) = std::fs::read(&path) {
            if bytes != before {
                return Some((
                    SystemTime::now(),
                    String::from_utf8_lossy(&bytes).trim().to_string(),
                ));
            }
        }
    }
    None
}

/// The `die` event of `container` between `since` and `until`.
fn die_event(container: &str, since: SystemTime, until: SystemTime) -> Option<i128> {
    let out = docker(&[
        "events",
        "--since",
        &unix_arg(since),
        "--until",
        &unix_arg(until),
        "--filter",
        &format!("container={container}"),
        "--filter",
        "event=die",
        "--format",
        "{{.TimeNano}}",
    ])
    .ok()?;
    out.lines().rev().find_map(|l| l.trim().parse().ok())
}

pub fn row(settings: &Settings, daemon: &Daemon, svc: &str) -> Row {
    let status = daemon.path(&format!("{svc}/container#1/status"));
    let container = format!("{svc}.container.1");
    let up = || std::fs::read(&status).is_ok_and(|b| b == b"up\n");
    assert!(wait_until(Duration::from_secs(10), up), "{svc} is up");
    let mut samples = Vec::new();
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..settings.changes {
        let since = SystemTime::now() - Duration::from_secs(1);
        let before = std::fs::read(&status).unwrap_or_default();
        let poller = std::thread::spawn({
            let status = status.clone();
            move || poll_until_changed(status, before)
        });
        if let Err(e) = docker(&["kill", &container]) {
            failures.push(format!("sample {i}: {e}"));
        }
        let changed = poller.join().ok().flatten();
        let until = SystemTime::now() + Duration::from_millis(1);
        match (changed, die_event(&container, since, until)) {
            (Some((read_at, text)), Some(die)) => {
                let ns = (unix_nanos(read_at) - die).max(0);
                samples.push(Duration::from_nanos(ns as u64));
                *seen.entry(text).or_default() += 1;
            }
            (None, _) => failures.push(format!(
                "sample {i}: status did not change within {POLL_LIMIT:?}"
            )),
            (_, None) => failures.push(format!("sample {i}: no die event")),
        }
        if let Err(errno) = daemon.ctl(&format!("{svc}/ctl"), "start") {
            failures.push(format!("sample {i}: start failed with errno {errno}"));
        }
        if !wait_until(Duration::from_secs(10), up) {
            failures.push(format!("sample {i}: not up again after start"));
            break;
        }
    }
    let samples = Samples::new(samples);
    let met = failures.is_empty() && samples.n() > 0 && samples.p99() <= Duration::from_millis(50);
    let seen_text: Vec<String> = seen.iter().map(|(k, v)| format!("`{k}` ×{v}")).collect();
    let mut note = format!(
        "docker kill of {container}, then a tight read loop of container#1/status; \
         the status read: {}",
        seen_text.join(", ")
    );
    if !failures.is_empty() {
        note.push_str(&format!("; failures: {}", failures.join("; ")));
    }
    Row {
        name: "first read after a change (docker kill → new bytes readable)".to_string(),
        svcfs: Some(Series::new(
            "svcfs: die event → changed status read",
            samples,
        )),
        baseline_name: "the docker `die` event's own timestamp (t = 0)".to_string(),
        target: "p99 ≤ 50 ms".to_string(),
        met: Some(met),
        note,
        data: json!({ "failures": failures }),
        ..Row::default()
    }
}
