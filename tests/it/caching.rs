//! The kernel caches what svcfs serves (attributes, small files' pages,
//! listings) and is told when it changes: a plain read after a change sees
//! the new bytes, never a stale cache.

use std::time::Duration;

use crate::harness::*;

/// What a `cat` sees, with the size `stat` gives; they must agree.
fn cat(path: &std::path::Path) -> String {
    let size = std::fs::metadata(path).unwrap().len();
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        size,
        text.len() as u64,
        "stat size of {} vs its bytes",
        path.display()
    );
    text
}

#[test]
fn status_changes_behind_svcfs_back_are_read_at_once() {
    if !prerequisites() {
        return;
    }
    let svc = "cache.svcfs.test";
    let sandbox = Sandbox::new("caching", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n",
    );
    // The periodic reconcile far away: only docker's events can tell.
    let d = sandbox.mount(&["--refresh-interval", "3600"]);
    d.must(&format!("{svc}/ctl"), "start");
    let status = d.path(&format!("{svc}/container#1/status"));
    let service_status = d.path(&format!("{svc}/status"));
    // Read a few times, so that the kernel holds the bytes and the size.
    for _ in 0..20 {
        assert_eq!(cat(&status), "up\n");
        assert_eq!(cat(&service_status), "up\n");
    }

    docker(&["kill", &format!("{svc}.container.1")]).unwrap();
    let mut reads = 0u64;
    let changed = wait_until(Duration::from_secs(20), || {
        reads += 1;
        cat(&status) == "down\n"
    });
    assert!(
        changed,
        "container#1/status still says up after {reads} reads"
    );
    assert_eq!(cat(&service_status), "down\n");
    assert!(cat(&d.path(&format!("{svc}/overview"))).contains("container#1    .... down"));

    // The state an action leaves is what the next read shows. A ctl file
    // read (from the page cache) and then written still reads as its help.
    let ctl = d.path(&format!("{svc}/container#1/ctl"));
    let help = cat(&ctl);
    assert!(help.contains("start"), "ctl help: {help:?}");
    assert_eq!(cat(&ctl), help);
    d.must(&format!("{svc}/container#1/ctl"), "start");
    assert_eq!(cat(&status), "up\n");
    assert!(cat(&d.path(&format!("{svc}/container#1/log"))).contains("start"));
    d.must(&format!("{svc}/container#1/ctl"), "stop");
    assert_eq!(cat(&status), "down\n");
    assert_eq!(cat(&ctl), help, "ctl after two writes");
    assert!(
        std::fs::read_to_string(d.path(&format!("{svc}/status.json")))
            .unwrap()
            .contains("\"status\": \"down\"")
    );
}

#[test]
fn listings_follow_the_service_file() {
    if !prerequisites() {
        return;
    }
    let svc = "listing.svcfs.test";
    let sandbox = Sandbox::new("listing", &[svc]);
    let one = "[container#1]\nrun_image = busybox:latest\n";
    sandbox.service_file(&format!("{svc}.env"), one);
    let d = sandbox.mount(&[]);
    let dir = d.path(svc);
    let names = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    for _ in 0..5 {
        assert!(!names().contains(&"container#2".to_string()));
    }
    let label = d.path(&format!("{svc}/container#1/label"));
    assert_eq!(cat(&label), "busybox:latest\n");

    let two = format!("{one}[container#2]\nrun_image = google/busybox:latest\n");
    sandbox.service_file(&format!("{svc}.env"), &two);
    assert!(
        wait_until(Duration::from_secs(10), || names()
            .contains(&"container#2".to_string())),
        "container#2 never appeared: {:?}",
        names()
    );
    assert_eq!(
        cat(&d.path(&format!("{svc}/container#2/run_image"))),
        "google/busybox:latest\n"
    );

    sandbox.service_file(&format!("{svc}.env"), one);
    assert!(
        wait_until(Duration::from_secs(10), || !names()
            .contains(&"container#2".to_string())),
        "container#2 never left: {:?}",
        names()
    );
    assert!(!d.path(&format!("{svc}/container#2")).exists());
    assert!(!d.path(&format!("{svc}/container#2/status")).exists());
}
