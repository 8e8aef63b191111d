//! Change notification through the files, on a real mount: poll(2) on a
//! status file, `events` followed by several readers, `wait/<word>`, and
//! a hundred blocked readers that hold no FUSE worker.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::*;

/// No network: these tests need no bridge (nor wait for one).
const SERVICE_FILE: &str = "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nrun_args = --net=none\nstop_timeout = 1\n";

/// poll(2) on one descriptor for POLLIN|POLLPRI: its revents, 0 on timeout.
fn poll_in(file: &File, timeout: Duration) -> i16 {
    let mut fds = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN | libc::POLLPRI,
        revents: 0,
    };
    let n = unsafe { libc::poll(&mut fds, 1, timeout.as_millis() as libc::c_int) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    if n == 0 {
        0
    } else {
        fds.revents
    }
}

/// The first line from `rx` within `limit` that contains every needle.
fn line_with(rx: &mpsc::Receiver<String>, needles: &[&str], limit: Duration) -> Option<String> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).ok()?;
        if needles.iter().all(|n| line.contains(n)) {
            return Some(line);
        }
    }
}

#[test]
fn poll_wakes_on_a_change_and_events_tell_two_readers() {
    if !prerequisites() {
        return;
    }
    let svc = "poll.svcfs.test";
    let sandbox = Sandbox::new("notify-poll", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), SERVICE_FILE);
    // Only docker's events can tell: the periodic reconcile is far away.
    let d = sandbox.mount(&["--refresh-interval", "3600"]);
    d.must(&format!("{svc}/ctl"), "start");
    let status_path = d.path(&format!("{svc}/container#1/status"));
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
    // Read once more so that the kernel holds the page: the poll and the
    // re-read must work through its cache too.
    assert_eq!(std::fs::read_to_string(&status_path).unwrap(), "up\n");

    let mut status = File::open(&status_path).unwrap();
    let mut text = String::new();
    status.read_to_string(&mut text).unwrap();
    assert_eq!(text, "up\n");
    assert_eq!(
        poll_in(&status, Duration::from_millis(300)),
        0,
        "poll woke with nothing changed"
    );
    // A second file, read once through this descriptor.
    let mut overview = File::open(d.path(&format!("{svc}/overview"))).unwrap();
    let mut before = String::new();
    overview.read_to_string(&mut before).unwrap();
    assert!(before.contains("container#1    .... up"), "{before}");
    let root_events = follow_events(&d.path("events"));
    let service_events = follow_events(&d.path(&format!("{svc}/events")));

    docker(&["kill", &format!("{svc}.container.1")]).unwrap();
    let revents = poll_in(&status, Duration::from_secs(20));
    assert_eq!(
        revents & (libc::POLLIN | libc::POLLPRI),
        libc::POLLIN | libc::POLLPRI,
        "poll did not wake after docker kill (revents {revents:#x})\n{}",
        d.output()
    );
    status.seek(SeekFrom::Start(0)).unwrap();
    text.clear();
    status.read_to_string(&mut text).unwrap();
    assert_eq!(text, "down\n", "lseek(0) + read after the wake");
    // Read again: nothing new, the poll waits again.
    assert_eq!(poll_in(&status, Duration::from_millis(300)), 0);
    assert_ne!(poll_in(&overview, Duration::from_secs(10)), 0);
    overview.seek(SeekFrom::Start(0)).unwrap();
    text.clear();
    overview.read_to_string(&mut text).unwrap();
    assert!(text.contains("container#1    .... down"), "{text}");

    for (name, rx) in [("events", &root_events), ("<svc>/events", &service_events)] {
        let needles = [
            "\"rid\":\"container#1\"",
            "\"from\":\"up\"",
            "\"to\":\"down\"",
        ];
        let line = line_with(rx, &needles, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("{name} did not tell container#1 went down"));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["service"], svc, "{line}");
        for key in ["time", "message"] {
            assert!(json.get(key).is_some(), "{key} missing in {line}");
        }
    }

    // Actions are told too, from begin to end.
    d.must(&format!("{svc}/ctl"), "start");
    let begin = ["\"action\":\"start\"", "\"phase\":\"begin\""];
    let end = [
        "\"action\":\"start\"",
        "\"phase\":\"end\"",
        "\"result\":\"ok\"",
    ];
    for rx in [&root_events, &service_events] {
        assert!(line_with(rx, &begin, Duration::from_secs(10)).is_some());
        assert!(line_with(rx, &end, Duration::from_secs(10)).is_some());
    }
}

/// `cat <path>`, its output piped.
fn cat(path: &Path) -> Child {
    Command::new("cat")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cat starts")
}

#[test]
fn wait_up_returns_once_the_service_is_started() {
    if !prerequisites() {
        return;
    }
    let svc = "wait.svcfs.test";
    let sandbox = Sandbox::new("notify-wait", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), SERVICE_FILE);
    let d = sandbox.mount(&[]);
    assert_eq!(d.read(&format!("{svc}/status")), "down\n");
    // Already down: at once.
    assert_eq!(d.read(&format!("{svc}/wait/down")), "down\n");
    // O_NONBLOCK: no waiting.
    let nonblocking = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(d.path(&format!("{svc}/wait/up")))
        .unwrap();
    let err = (&nonblocking).read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "{err}");
    let mut up = cat(&d.path(&format!("{svc}/wait/up")));
    let mut rid_up = cat(&d.path(&format!("{svc}/container#1/wait/up")));
    assert!(
        up.try_wait().unwrap().is_none(),
        "wait/up returned while the service is down"
    );
    d.must(&format!("{svc}/ctl"), "start");
    for (name, child) in [("wait/up", &mut up), ("container#1/wait/up", &mut rid_up)] {
        assert!(
            wait_until(Duration::from_secs(10), || child
                .try_wait()
                .unwrap()
                .is_some()),
            "{name} still blocked with the service up"
        );
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success(), "{name}");
        assert_eq!(out, "up\n", "{name}");
    }

    // The daemon stops: a waiting events reader gets end of file, a
    // waiting wait reader an error, and neither holds the mount.
    let mut events = cat(&d.path("events"));
    let mut down = cat(&d.path(&format!("{svc}/wait/down")));
    assert!(wait_until(Duration::from_secs(10), || in_read(events.id())
        && in_read(down.id())));
    let mut d = d;
    let status = d.signal_and_wait(libc::SIGTERM).expect("the daemon ends");
    assert!(status.success(), "{status:?}");
    assert!(events.wait().unwrap().success());
    assert!(!down.wait().unwrap().success());
}

/// Whether thread `pid` is in a read(2) (for a blocked `cat`).
fn in_read(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<i64>().ok())
        == Some(libc::SYS_read)
}

#[test]
fn a_hundred_blocked_readers_hold_no_worker_and_ctrl_c_ends_them() {
    if !prerequisites() {
        return;
    }
    let svc = "hundred.svcfs.test";
    let sandbox = Sandbox::new("notify-hundred", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), SERVICE_FILE);
    let d = sandbox.mount(&[]);
    assert_eq!(d.read(&format!("{svc}/status")), "down\n");
    let mut readers: Vec<Child> = (0..100)
        .map(|i| match i % 3 {
            0 => cat(&d.path("events")),
            1 => cat(&d.path(&format!("{svc}/events"))),
            _ => cat(&d.path(&format!("{svc}/container#1/wait/up"))),
        })
        .collect();
    assert!(
        wait_until(Duration::from_secs(20), || readers
            .iter()
            .all(|r| in_read(r.id()))),
        "not every reader got to its blocked read"
    );
    // The daemon has 4 FUSE workers: were the readers holding them, none
    // of this would answer.
    for _ in 0..20 {
        let listing = run("ls", &[&d.mnt.to_string_lossy()]).expect("ls answers");
        assert!(listing.contains(svc), "{listing}");
        assert_eq!(d.read(&format!("{svc}/status")), "down\n");
        assert_eq!(d.read(&format!("{svc}/container#1/status")), "down\n");
    }
    assert!(readers.iter_mut().all(|r| r.try_wait().unwrap().is_none()));

    // Ctrl-C: SIGINT to each; the kernel cannot pass it on (fuser drops
    // FUSE_INTERRUPT), the daemon notices and ends the reads.
    for r in &readers {
        unsafe { libc::kill(r.id() as i32, libc::SIGINT) };
    }
    assert!(
        wait_until(Duration::from_secs(20), || readers
            .iter_mut()
            .all(|r| r.try_wait().unwrap().is_some())),
        "readers still blocked after SIGINT:\n{}",
        d.output()
    );
    for r in &mut readers {
        let status = r.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    }

    // The daemon is fine: it answers, and a new reader is told of a start.
    let listing = run("ls", &[&d.mnt.to_string_lossy()]).expect("ls answers");
    assert!(listing.contains("events"), "{listing}");
    let events = follow_events(&d.path(&format!("{svc}/events")));
    d.must(&format!("{svc}/ctl"), "start");
    assert!(line_with(&events, &["\"to\":\"up\""], Duration::from_secs(10)).is_some());
    assert_eq!(d.read(&format!("{svc}/wait/up")), "up\n");
}
