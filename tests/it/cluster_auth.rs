//! Nodes etcd must not let in: a wrong password, a client certificate of
//! another CA, a CA file that did not sign etcd's certificate, a password
//! file others may read. Each is refused before the tree is mounted (exit
//! 1, with a message that names the cause) and starts nothing, though its
//! service is to start at once (`--autostart`); options that do not go
//! together are a usage error (exit 2). The same node with the right
//! files joins and starts it: the refusals are not a broken set-up.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cluster_etcd::{make_certs, Etcd, Security};
use crate::harness::{in_path, is_mounted, require, run, wait_until, Sandbox, SVCFS};

fn prerequisites() -> bool {
    let mut missing: Vec<String> = Vec::new();
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".into());
    }
    for tool in ["etcd", "etcdctl", "openssl", "curl", "mkfs.ext4"] {
        if !in_path(tool) {
            missing.push(format!("{tool} in PATH"));
        }
    }
    require(&missing)
}

/// `svcfs mount` with these options instead of the node's own: its exit
/// status and what it said (killed after 30 s: it did not refuse).
fn mount_with(sandbox: &Sandbox, options: &[String]) -> (Option<i32>, String) {
    let log = sandbox.root.join("refused.log");
    let mut child = Command::new(SVCFS)
        .args(["mount", &sandbox.mnt().to_string_lossy()])
        .args(["--config-dir", &sandbox.etc().to_string_lossy()])
        .args(["--var-dir", &sandbox.var().to_string_lossy()])
        .args(["--nodename", "n1", "--autostart"])
        .args(options)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("svcfs starts");
    let mut status = None;
    wait_until(Duration::from_secs(30), || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        let _ = run("umount", &["-l", &sandbox.mnt().to_string_lossy()]);
    }
    (
        status.and_then(|s| s.code()),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

/// The node's options with `option`'s value replaced.
fn with(options: &[String], option: &str, value: &Path) -> Vec<String> {
    let mut options = options.to_vec();
    let at = options.iter().position(|o| o == option).unwrap() + 1;
    options[at] = value.to_string_lossy().into_owned();
    options
}

#[test]
fn cluster_refuses_a_wrong_password_or_certificate_before_mounting() {
    if !prerequisites() {
        return;
    }
    let sandbox = Sandbox::new("cluster-auth", &[]);
    let image = sandbox.root.join("disk.img");
    let data = sandbox.root.join("data");
    run("truncate", &["-s", "16M", &image.to_string_lossy()]).unwrap();
    run("mkfs.ext4", &["-q", "-F", &image.to_string_lossy()]).unwrap();
    sandbox.service_file(
        "app.conf",
        &format!(
            "[DEFAULT]\nnodes = n1\nautostart_node = n1\n\n[fs#1]\ndev = {}\nmnt = {}\ntype = ext4\n",
            image.display(),
            data.display()
        ),
    );
    let etcd = Etcd::start(&sandbox.root, Security::TlsAuth);
    let good = etcd.node_args();
    let other = sandbox.root.join("other-ca");
    make_certs(&other);
    let wrong_password = sandbox.root.join("wrong.password");
    std::fs::write(&wrong_password, "not-the-password\n").unwrap();
    std::fs::set_permissions(&wrong_password, std::fs::Permissions::from_mode(0o600)).unwrap();
    let readable = sandbox.root.join("readable.password");
    std::fs::copy(etcd.password_file(), &readable).unwrap();
    std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();

    let refusals = [
        (
            "a wrong password",
            with(&good, "--etcd-password-file", &wrong_password),
            "refused etcd user svcfs: etcdserver: authentication failed",
        ),
        (
            "a client certificate of another CA",
            with(
                &with(&good, "--etcd-cert", &other.join("client.pem")),
                "--etcd-key",
                &other.join("client.key"),
            ),
            "TLS with https://127.0.0.1:",
        ),
        (
            "a CA that did not sign etcd's certificate",
            with(&good, "--etcd-cacert", &other.join("ca.pem")),
            "invalid peer certificate",
        ),
        (
            "a password file its group and others may read",
            with(&good, "--etcd-password-file", &readable),
            "mode 0644 lets everyone read it",
        ),
    ];
    for (what, options, said) in refusals {
        let (status, output) = mount_with(&sandbox, &options);
        assert_eq!(status, Some(1), "{what}: {output}");
        assert!(output.contains(said), "{what}: {output}");
        assert!(!output.contains("not-the-password"), "{what}: {output}");
        assert!(!is_mounted(&sandbox.mnt()), "{what}: the tree was mounted");
        assert!(!is_mounted(&data), "{what}: the service was started");
    }
    // Nothing of the refused node is in etcd either.
    let keys = etcd
        .etcdctl(&["get", "--prefix", "--keys-only", "/svcfs/"])
        .unwrap();
    assert_eq!(keys.trim(), "", "{keys}");

    // A certificate without its key: a usage error.
    let mut usage = good.clone();
    let at = usage.iter().position(|o| o == "--etcd-key").unwrap();
    usage.drain(at..at + 2);
    let (status, output) = mount_with(&sandbox, &usage);
    assert_eq!(status, Some(2), "{output}");
    assert!(output.contains("--etcd-cert needs --etcd-key"), "{output}");

    // The right files: the node joins, and --autostart starts the service.
    let mut options = vec!["--nodename", "n1", "--autostart"];
    options.extend(good.iter().map(String::as_str));
    let daemon = sandbox.mount(&options);
    assert!(
        wait_until(Duration::from_secs(20), || is_mounted(&data)),
        "the node with the right files did not start its service:\n{}",
        daemon.output()
    );
    assert_eq!(daemon.read("app/owner"), "n1\n");
    drop(daemon);
    let _ = run("umount", &[&data.to_string_lossy()]);
    drop(etcd);
}
