//! The VG takeover with `--cluster`: two nodes on one machine share a real
//! LVM volume group (on a loop device, without logical volumes). The node
//! that owns the service has its host tag on the VG; when that node dies
//! (its daemon SIGKILLed, the VG left active and tagged for it, as a dead
//! host leaves it), the node that takes over removes the dead node's tag
//! before adding its own. Run on an etcd with TLS and authentication, and
//! on a plain one (both must keep working). With TLS, the nodes' service
//! files also come to differ: the service warns, naming the node, and a
//! switch there is refused until they are equal again.

use std::time::Duration;

use crate::cluster_etcd::{Etcd, Security};
use crate::harness::{in_path, require, run, wait_until, Daemon, Sandbox, Storage};

/// The volume group of each run: the two runs may go side by side (the
/// test threads), each on a VG of its own.
fn vg_of(security: Security) -> &'static str {
    match security {
        Security::Plain => "svcfsclvgplain",
        Security::TlsAuth => "svcfsclvg",
    }
}

fn prerequisites() -> bool {
    let mut missing: Vec<String> = Vec::new();
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".into());
    }
    for tool in [
        "etcd", "etcdctl", "openssl", "vgcreate", "vgs", "vgchange", "losetup",
    ] {
        if !in_path(tool) {
            missing.push(format!("{tool} in PATH"));
        }
    }
    require(&missing)
}

/// The VG's tags.
fn tags_of(vg: &str) -> Vec<String> {
    run("vgs", &["--noheadings", "-o", "vg_tags", vg])
        .unwrap_or_default()
        .trim()
        .split(',')
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// The service file, the same on both nodes.
fn service_file(vg: &str) -> String {
    format!("[DEFAULT]\nnodes = a b\nautostart_node = a\n\n[vg#1]\nvgname = {vg}\n")
}

#[test]
fn cluster_vg_start_takes_the_vg_over_from_a_dead_node_with_tls_and_auth() {
    vg_takeover(Security::TlsAuth);
}

#[test]
fn cluster_vg_start_takes_the_vg_over_from_a_dead_node_on_plain_http() {
    vg_takeover(Security::Plain);
}

fn vg_takeover(security: Security) {
    if !prerequisites() {
        return;
    }
    let test = match security {
        Security::Plain => "cluster-vg-plain",
        Security::TlsAuth => "cluster-vg",
    };
    let sandboxes: Vec<Sandbox> = ["a", "b"]
        .iter()
        .map(|n| Sandbox::new(&format!("{test}-{n}"), &[]))
        .collect();
    let vg = vg_of(security);
    let service = service_file(vg);
    let tags = || tags_of(vg);
    let mut storage = Storage::default();
    storage.volume_group(vg, &sandboxes[0].root.join("pv.img"));
    // No logical volume: the kernel here may have no device-mapper (the
    // storage tests do the same); the tags are what is taken over.
    let etcd = Etcd::start(&sandboxes[0].root, security);
    let mut daemons: Vec<Option<Daemon>> = ["a", "b"]
        .iter()
        .zip(&sandboxes)
        .map(|(name, sandbox)| {
            sandbox.service_file("app.conf", &service);
            let mut args = vec!["--nodename".to_string(), name.to_string()];
            args.extend(etcd.node_args());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Some(sandbox.mount(&args))
        })
        .collect();
    let daemon = |i: usize, daemons: &[Option<Daemon>]| -> String {
        daemons[i]
            .as_ref()
            .map(|d| std::fs::read_to_string(d.path("app/log")).unwrap_or_default())
            .unwrap_or_default()
    };

    daemons[1].as_ref().unwrap().must("app/ctl", "start");
    assert_eq!(tags(), ["a"], "{}", daemon(0, &daemons));
    assert_eq!(daemons[0].as_ref().unwrap().read("app/vg#1/status"), "up\n");

    if security == Security::TlsAuth {
        files_that_differ_are_reported_and_block_a_switch(&sandboxes, &daemons, vg);
    }

    // a dies (its daemon and fence watchdog): its VG stays active and
    // tagged for it.
    daemons[0].take().unwrap().kill_node();
    let _ = run("umount", &["-l", &sandboxes[0].mnt().to_string_lossy()]);
    assert_eq!(tags(), ["a"]);
    assert!(
        wait_until(Duration::from_secs(30), || tags() == ["b"]),
        "b did not take the VG over: tags {:?}\n{}",
        tags(),
        daemon(1, &daemons)
    );
    let b = daemons[1].as_ref().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || b.read("app/vg#1/status")
            == "up\n"),
        "{}",
        b.read("app/vg#1/messages")
    );
    assert!(b
        .read("app/vg#1/log")
        .contains(&format!("taking {vg} over from a")));
    assert_eq!(b.read("app/owner"), "b\n");
    if security == Security::TlsAuth {
        // etcd's tokens last a second here: b authenticated again, many
        // times, and never missed a renewal.
        let output = b.output();
        assert!(output.contains("authenticating again"), "{output}");
        assert!(!output.contains("lease renewal failed"), "{output}");
        assert!(!output.contains("lease expired in etcd"), "{output}");
    }
    // b leaves: the VG is released (untagged).
    daemons[1].take();
    assert!(tags().is_empty(), "{:?}", tags());
    drop(etcd);
    drop(storage);
}

/// b's file changes: both trees warn, naming b, and a switch to b is
/// refused (EINVAL) with the reason in `messages`; the file back as a's
/// clears it.
fn files_that_differ_are_reported_and_block_a_switch(
    sandboxes: &[Sandbox],
    daemons: &[Option<Daemon>],
    vg: &str,
) {
    let service = service_file(vg);
    let (a, b) = (daemons[0].as_ref().unwrap(), daemons[1].as_ref().unwrap());
    assert_eq!(a.read("app/status"), "up\n");
    let edited = format!("{service}comment = edited on b only\n");
    sandboxes[1].service_file("app.conf", &edited);
    for (name, d) in [("a", a), ("b", b)] {
        assert!(
            wait_until(Duration::from_secs(10), || d.read("app/status") == "warn\n"
                && d.read("app/messages").contains("differs on b from a's")),
            "{name}: {} {}",
            d.read("app/status"),
            d.read("app/messages")
        );
    }
    assert_eq!(a.ctl("app/ctl", "switch b"), Err(libc::EINVAL));
    assert!(a.read("app/log").contains("switch b: the service file"));
    assert_eq!(tags_of(vg), ["a"]);
    sandboxes[1].service_file("app.conf", &service);
    for d in [a, b] {
        assert!(
            wait_until(Duration::from_secs(10), || d.read("app/status") == "up\n"
                || d.read("app/status") == "down\n"),
            "{} {}",
            d.read("app/status"),
            d.read("app/messages")
        );
        assert_eq!(d.read("app/messages"), "");
    }
}
