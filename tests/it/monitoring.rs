//! What monitoring reads: the root `metrics` file checked by the real
//! `promtool` and scraped by the real node_exporter through a `*.prom`
//! symlink, the `contrib/check_svcfs` plugin's exit codes, and a broken
//! edit that leaves the running service served with its error shown.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

const CHECK_SVCFS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/check_svcfs");

fn container(rid: &str) -> String {
    format!("[{rid}]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n")
}

/// The metrics file as a scraper reads it. Its resource use is read at
/// each open: a live file, stat size 0 like /proc's, read to its end.
fn metrics(d: &Daemon) -> String {
    let path = d.path("metrics");
    let size = std::fs::metadata(&path).unwrap().len();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(size, 0, "stat size of the live metrics file");
    assert!(text.ends_with('\n'), "{text}");
    text
}

#[test]
fn metrics_pass_promtool_and_feed_node_exporter_through_a_symlink() {
    if !prerequisites() || !host_tools(&["promtool", "prometheus-node-exporter", "curl"]) {
        return;
    }
    let svc = "metrics.svcfs.test";
    let sandbox = Sandbox::new("metrics", &[svc]);
    sandbox.service_file(&format!("{svc}.env"), &container("container#1"));
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    let text = metrics(&d);
    for line in [
        format!("svcfs_resource_status{{service=\"{svc}\",rid=\"container#1\",type=\"container\",status=\"up\"}} 1"),
        format!("svcfs_service_status{{service=\"{svc}\",status=\"up\"}} 1"),
        format!("svcfs_actions_total{{service=\"{svc}\",verb=\"start\",result=\"ok\"}} 1"),
        format!("svcfs_action_duration_seconds_count{{service=\"{svc}\",verb=\"start\"}} 1"),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(d.path("metrics")).unwrap())
        .output()
        .unwrap();
    promtool.stdout.extend(promtool.stderr);
    let said = String::from_utf8_lossy(&promtool.stdout);
    assert!(
        promtool.status.success(),
        "promtool check metrics: {said}\n{text}"
    );
    assert!(said.trim().is_empty(), "promtool lint: {said}");

    // node_exporter's textfile collector, through a symlink into the tree.
    let textfiles = sandbox.root.join("textfiles");
    std::fs::create_dir_all(&textfiles).unwrap();
    std::os::unix::fs::symlink(d.path("metrics"), textfiles.join("svcfs.prom")).unwrap();
    let [port] = free_ports::<1>();
    let mut exporter = Command::new("prometheus-node-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--collector.disable-defaults")
        .arg("--collector.textfile")
        .arg(format!(
            "--collector.textfile.directory={}",
            textfiles.display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut scraped = String::new();
    wait_until(Duration::from_secs(10), || {
        scraped = run("curl", &["-sf", &url]).unwrap_or_default();
        !scraped.is_empty()
    });
    let _ = exporter.kill();
    let _ = exporter.wait();
    let series = format!(
        "svcfs_resource_status{{rid=\"container#1\",service=\"{svc}\",status=\"up\",type=\"container\"}} 1"
    );
    assert!(
        scraped.lines().any(|l| l == series),
        "{series} not scraped:\n{scraped}"
    );
    assert!(
        scraped.lines().any(|l| l == "node_textfile_scrape_error 0"),
        "{}",
        lines_with(&scraped, "node_textfile").join("\n")
    );
}

/// check_svcfs's exit code and status line.
fn check(mount: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(CHECK_SVCFS)
        .arg("-m")
        .arg(mount)
        .args(args)
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), line)
}

#[test]
fn check_svcfs_says_ok_warn_critical_and_unknown() {
    if !prerequisites() {
        return;
    }
    let svc = "check.svcfs.test";
    let sandbox = Sandbox::new("check_svcfs", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!("{}{}", container("container#1"), container("container#2")),
    );
    let d = sandbox.mount(&[]);
    let mnt = d.mnt.clone();
    d.must(&format!("{svc}/ctl"), "start");
    let (code, line) = check(&mnt, &[svc]);
    assert_eq!(code, 0, "{line}");
    assert_eq!(
        line,
        format!("SVCFS OK - {svc} is up | up=2;;;0 down=0;;;0 warn=0;;;0 na=0;;;0\n")
    );

    d.must(&format!("{svc}/container#2/ctl"), "stop");
    let (code, line) = check(&mnt, &[svc]);
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with(&format!("SVCFS WARNING - {svc} is warn")),
        "{line}"
    );
    assert!(
        line.ends_with("| up=1;;;0 down=1;;;0 warn=0;;;0 na=0;;;0\n"),
        "{line}"
    );
    let (code, line) = check(&mnt, &[svc, "container#2"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with(&format!("SVCFS CRITICAL - {svc} container#2 is down")));
    assert_eq!(check(&mnt, &[svc, "container#1"]).0, 0);

    d.must(&format!("{svc}/ctl"), "stop");
    let (code, line) = check(&mnt, &[svc]);
    assert_eq!(code, 2, "{line}");

    // Unknown: no such service, no such resource, no tree, bad usage.
    for args in [vec!["nope"], vec![svc, "container#9"], vec![]] {
        let (code, line) = check(&mnt, &args);
        assert_eq!(code, 3, "{args:?}: {line}");
        assert!(line.starts_with("SVCFS UNKNOWN - "), "{line}");
    }
    assert_eq!(check(&sandbox.etc(), &[svc]).0, 3);
    // The mount from the environment, as Icinga would set it.
    let out = Command::new(CHECK_SVCFS)
        .arg(svc)
        .env("SVCFS_MOUNT", &mnt)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_broken_edit_keeps_the_old_tree_serving_with_the_error_shown() {
    if !prerequisites() {
        return;
    }
    let svc = "edit.svcfs.test";
    let sandbox = Sandbox::new("broken_edit", &[svc]);
    let file = format!("{svc}.env");
    let good = container("container#1");
    sandbox.service_file(&file, &good);
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");

    // An error on line 6: a keyword whose value is not a duration.
    sandbox.service_file(&file, &format!("{good}start_timeout = soon\n"));
    let messages = format!("{svc}/messages");
    let shown = wait_until(Duration::from_secs(10), || {
        d.read(&messages).contains("cannot be used")
    });
    assert!(shown, "{}\n{}", d.read(&messages), d.output());
    let text = d.read(&messages);
    assert!(
        text.contains(&format!("{file}:6: [container#1] start_timeout:")),
        "{text}"
    );
    assert!(d
        .read(&format!("{svc}/log"))
        .contains(&format!("{file}:6:")));
    // The last good configuration keeps serving: tree, states, actions.
    assert_eq!(d.read(&format!("{svc}/config")), good);
    assert_eq!(d.read(&format!("{svc}/status")), "warn\n");
    assert_eq!(d.read(&format!("{svc}/avail")), "up\n");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/container#1/stop_timeout")), "1\n");
    d.must(&format!("{svc}/container#1/ctl"), "stop");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "down\n");

    // The next good edit replaces it.
    let fixed = good.replace("stop_timeout = 1", "stop_timeout = 2");
    sandbox.service_file(&file, &fixed);
    let replaced = wait_until(Duration::from_secs(10), || {
        d.read(&format!("{svc}/config")) == fixed
    });
    assert!(replaced, "{}", d.output());
    assert_eq!(d.read(&messages), "");
    assert_eq!(d.read(&format!("{svc}/container#1/stop_timeout")), "2\n");
}
