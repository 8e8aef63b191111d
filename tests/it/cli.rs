//! The command line: `check` without a mount, and the client commands
//! through a mounted tree.

use std::process::Command;
use std::time::Duration;

use crate::harness::*;

fn svcfs(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(SVCFS).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_reports_the_tutorial_typo_as_a_warning() {
    let dir = std::env::temp_dir().join("svcfs-it-check-tutorial");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("app.opensvc.com.env"),
        include_str!("../data/app.opensvc.com.env"),
    )
    .unwrap();
    // The tutorial's var dir, where container#2's bind finds the private
    // daemon's socket.
    let (code, out, err) = svcfs(&[
        "check",
        "--nodename",
        "deb1.opensvc.com",
        "--var-dir",
        "/opt/opensvc/var",
        "--config-dir",
        &dir.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        format!(
            "warning: {}/app.opensvc.com.env:38: [fs#2] mnt_opts: unknown keyword, ignored (did you mean mnt_opt?)\n",
            dir.display()
        )
    );
    assert!(err.contains("1 service(s) checked: 0 error(s), 1 warning(s)"));
    // Under another var dir that bind reaches nothing: said at its line.
    let (code, out, _) = svcfs(&[
        "check",
        "--nodename",
        "deb1.opensvc.com",
        "--var-dir",
        "/var/lib/svcfs",
        "--config-dir",
        &dir.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "warning: {}/app.opensvc.com.env:17: [container#2] run_args: /opt/opensvc/var/app.opensvc.com/docker.sock is not where the service's private docker daemon listens with --var-dir /var/lib/svcfs: /var/lib/svcfs/app.opensvc.com/docker.sock",
            dir.display()
        )),
        "{out}"
    );
    // A file by path, and JSON for a pipeline.
    let path = dir.join("app.opensvc.com.env");
    let (code, out, _) = svcfs(&[
        "check",
        "--json",
        "--var-dir",
        "/opt/opensvc/var",
        "--nodename",
        "deb1.opensvc.com",
        &path.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["services"], 1);
    assert_eq!(report["warnings"], 1);
    assert_eq!(report["problems"][0]["line"], 38);
    assert_eq!(report["problems"][0]["keyword"], "mnt_opts");
}

#[test]
fn check_fails_on_errors_and_names_every_problem() {
    let dir = std::env::temp_dir().join("svcfs-it-check-errors");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ok.env"), "[container#1]\nrun_image = busybox\n").unwrap();
    std::fs::write(
        dir.join("bad.env"),
        "[container#1]\nrun_image = busybox\nrun_args = --name x\n[fs#1]\nmnt = /m\n",
    )
    .unwrap();
    let (code, out, _) = svcfs(&["check", "--config-dir", &dir.to_string_lossy()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("error: ") && out.contains("[container#1]") && out.contains("--name"),
        "{out}"
    );
    assert!(
        out.contains("[fs#1]") && out.contains("missing required keyword dev"),
        "{out}"
    );
    let (code, out, _) = svcfs(&["check", "--config-dir", &dir.to_string_lossy(), "ok"]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, _, err) = svcfs(&["check", "--config-dir", &dir.to_string_lossy(), "missing"]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn help_lists_every_command_and_exit_codes() {
    let (code, out, _) = svcfs(&["--help"]);
    assert_eq!(code, 0);
    for word in [
        "mount",
        "check",
        "status",
        "start",
        "stop",
        "restart",
        "startcontainer",
        "stopcontainer",
        "docker",
        "clear",
        "freeze",
        "thaw",
        "rollback",
        "switch",
        "takeover",
        "giveback",
        "Exit status",
    ] {
        assert!(out.contains(word), "--help lacks {word}");
    }
    let (code, _, _) = svcfs(&["frobnicate"]);
    assert_eq!(code, 2);
    // Every subcommand has its --help, `svcfs help` too.
    let (code, out, err) = svcfs(&["help", "--help"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Usage: svcfs help"), "{out}");
    for sub in [
        "status", "start", "clear", "freeze", "thaw", "rollback", "switch", "takeover", "giveback",
    ] {
        let (code, out, err) = svcfs(&[sub, "--help"]);
        assert_eq!(code, 0, "{sub}: {err}");
        assert!(out.contains(&format!("Usage: svcfs {sub}")), "{out}");
        assert!(
            out.contains("7  the service's configuration is invalid"),
            "{sub}: {out}"
        );
        let (code, help, _) = svcfs(&["help", sub]);
        assert_eq!((code, help), (0, out));
    }
    let (code, out, _) = svcfs(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        !out.contains("fence"),
        "the watchdog is not a user command: {out}"
    );
}

#[test]
fn completions_cover_every_command_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _svcfs"),
        ("zsh", "#compdef svcfs"),
        ("fish", "complete -c svcfs"),
    ] {
        let (code, out, err) = svcfs(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell} script lacks {marker:?}");
        for command in [
            "mount",
            "startcontainer",
            "docker",
            "completions",
            "freeze",
            "rollback",
        ] {
            assert!(out.contains(command), "{shell} script lacks {command}");
        }
        assert!(
            !out.contains("fence-watch"),
            "{shell} offers the hidden watchdog"
        );
        // What the Debian package installs is what the binary prints.
        let file = match shell {
            "bash" => "svcfs.bash",
            "zsh" => "_svcfs",
            _ => "svcfs.fish",
        };
        let packaged = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("contrib/completions")
                .join(file),
        )
        .unwrap();
        assert!(
            packaged == out,
            "contrib/completions/{file} is stale: run scripts/completions"
        );
    }
    let (code, _, err) = svcfs(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn client_commands_print_the_action_log_and_exit_codes() {
    if !prerequisites() {
        return;
    }
    let svc = "client.svcfs.test";
    let sandbox = Sandbox::new("client", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n",
    );
    let d = sandbox.mount(&[]);
    let mnt = d.mnt.to_string_lossy().into_owned();

    let (code, out, err) = svcfs(&["start", svc, "--mountpoint", &mnt]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("CLIENT.SVCFS.TEST.CONTAINER#1 wait for container operational"),
        "{out}"
    );
    assert!(
        !out.contains("stop"),
        "only the new lines are printed: {out}"
    );

    let (code, out, _) = svcfs(&["status", svc, "--mountpoint", &mnt]);
    assert_eq!(code, 0);
    assert_eq!(out, d.read(&format!("{svc}/overview")));
    let (code, out, _) = svcfs(&["status", svc, "--json", "--mountpoint", &mnt]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["resources"]["container#1"]["status"], "up");

    let (code, out, _) = svcfs(&["stop", svc, "--rid", "container#1", "--mountpoint", &mnt]);
    assert_eq!(code, 0);
    assert!(out.contains("wait for container down status"), "{out}");

    let (code, _, err) = svcfs(&["start", svc, "--rid", "container#7", "--mountpoint", &mnt]);
    assert_eq!(code, 2, "a bad rid is bad usage");
    assert!(err.contains("invalid command or rid"), "{err}");

    let (code, _, err) = svcfs(&["status", "nosuch", "--mountpoint", &mnt]);
    assert_eq!(code, 3);
    assert!(err.contains("no service nosuch"), "{err}");
    let (code, _, err) = svcfs(&["status", svc, "--mountpoint", "/nonexistent"]);
    assert_eq!(code, 3);
    assert!(err.contains("not mounted"), "{err}");
}

fn svcfs_at(mnt: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = args.to_vec();
    all.extend(["--mountpoint", mnt]);
    svcfs(&all)
}

#[test]
fn every_ctl_verb_has_a_subcommand_that_acts_on_a_real_mount() {
    if !prerequisites() {
        return;
    }
    let svc = "verbs.svcfs.test";
    let other = "idle.verbs.svcfs.test";
    let sandbox = Sandbox::new("cli-verbs", &[svc, other]);
    let container = |image: &str| {
        format!("[container#1]\ntype = docker\nrun_image = {image}\nrun_command = /bin/sh\nstop_timeout = 1\n")
    };
    sandbox.service_file(&format!("{svc}.env"), &container("busybox:latest"));
    sandbox.service_file(&format!("{other}.env"), &container("busybox:latest"));
    let d = sandbox.mount(&[]);
    let mnt = d.mnt.to_string_lossy().into_owned();
    let ok = |args: &[&str]| {
        let (code, out, err) = svcfs_at(&mnt, args);
        assert_eq!(code, 0, "svcfs {args:?}: {out}{err}");
        out
    };

    // `status` without a service: every service, a header first.
    let list = ok(&["status"]);
    assert_eq!(
        list,
        format!(
            "NAME                   STATUS  AVAIL  FROZEN\n\
             {other}  down    down   no\n\
             {svc}       down    down   no\n"
        )
    );
    ok(&["start", svc]);
    let rows: serde_json::Value = serde_json::from_str(&ok(&["status", "--json"])).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([
            {"name": other, "status": "down", "avail": "down", "frozen": false, "owner": null},
            {"name": svc, "status": "up", "avail": "up", "frozen": false, "owner": null},
        ])
    );

    // freeze / thaw: the frozen file and the list say so.
    let out = ok(&["freeze", svc]);
    assert!(out.contains("freeze"), "the action's log lines: {out}");
    assert!(d.read(&format!("{svc}/frozen")).starts_with("yes\n"));
    assert!(ok(&["status"]).contains(&format!("{svc}       up      up     yes")));
    ok(&["thaw", svc]);
    assert!(d.read(&format!("{svc}/frozen")).starts_with("no"));

    // clear, with and without --rid; restart, stopcontainer, startcontainer.
    ok(&["clear", svc, "--rid", "container#1"]);
    ok(&["clear", svc]);
    let out = ok(&["restart", svc, "--rid", "container#1"]);
    assert!(out.contains("wait for container operational"), "{out}");
    ok(&["stopcontainer", svc]);
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "down\n");
    ok(&["startcontainer", svc]);
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");

    // rollback: a resource's verb, so --rid is required and names it.
    let (code, _, err) = svcfs_at(&mnt, &["rollback", svc]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = svcfs_at(&mnt, &["rollback", svc, "--rid", "container#9"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no resource container#9 in verbs.svcfs.test (resources: container#1)"),
        "{err}"
    );
    // Nothing to roll back to yet: EINVAL, bad usage.
    let (code, _, err) = svcfs_at(&mnt, &["rollback", svc, "--rid", "container#1"]);
    assert_eq!(code, 2, "{err}");
    // An upgrade, then its rollback.
    sandbox.service_file(&format!("{svc}.env"), &container("google/busybox:latest"));
    assert!(wait_until(Duration::from_secs(10), || d
        .read(&format!("{svc}/container#1/messages"))
        .contains("instead of google/busybox:latest")));
    ok(&["start", svc, "--rid", "container#1"]);
    assert!(d
        .read(&format!("{svc}/container#1/label"))
        .contains("@google/busybox:latest"));
    let out = ok(&["rollback", svc, "--rid", "container#1"]);
    assert!(!out.is_empty(), "the rollback's log lines are printed");
    assert!(
        d.read(&format!("{svc}/container#1/label"))
            .contains("@busybox:latest"),
        "{}",
        d.read(&format!("{svc}/container#1/label"))
    );

    // The cluster's verbs: without --cluster they do not apply (EOPNOTSUPP).
    for args in [
        &["switch", svc, "node2"][..],
        &["takeover", svc][..],
        &["giveback", svc][..],
    ] {
        let (code, _, err) = svcfs_at(&mnt, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("does not apply"), "{err}");
    }
    ok(&["stop", svc]);
    // (It warns, rightly: the file asks for google/busybox, and the
    // rolled back container runs busybox.)
    assert!(!container_running(&format!("{svc}.container.1")));
    // No such service, for every verb.
    for verb in ["freeze", "thaw", "takeover", "giveback"] {
        let (code, _, err) = svcfs_at(&mnt, &[verb, "nosuch"]);
        assert_eq!(code, 3, "{verb}: {err}");
    }
}

#[test]
fn exit_codes_tell_failures_apart() {
    if !prerequisites() {
        return;
    }
    let busy = "busy.codes.svcfs.test";
    let eio = "eio.codes.svcfs.test";
    let refused = "refused.codes.svcfs.test";
    let invalid = "invalid.codes.svcfs.test";
    let broken = "broken.codes.svcfs.test";
    let sandbox = Sandbox::new("cli-codes", &[busy, eio, refused, invalid, broken]);
    // container#1 is never healthy: its start waits for start_timeout.
    sandbox.service_file(
        &format!("{busy}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n\
         start_timeout = 4\nrun_args = --health-cmd \"sleep 60\" --health-interval 30s --health-timeout 50s\n\
         [container#2]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n",
    );
    sandbox.service_file(
        &format!("{eio}.env"),
        "[container#1]\ntype = docker\nrun_image = nosuch.svcfs.test/image:never\n",
    );
    sandbox.service_file(
        &format!("{refused}.env"),
        "[DEFAULT]\nnodes = othernode\n[container#1]\ntype = docker\nrun_image = busybox:latest\n",
    );
    sandbox.service_file(
        &format!("{invalid}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_args = --frobnicate\n",
    );
    sandbox.service_file(&format!("{broken}.env"), "[DEFAULT\nnodes = node1\n");
    let d = sandbox.mount(&[]);
    let mnt = d.mnt.to_string_lossy().into_owned();
    let code_of = |args: &[&str]| {
        let (code, out, err) = svcfs_at(&mnt, args);
        (code, format!("{out}{err}"))
    };

    // 1: a backend failed (the image is not in the store: EIO).
    let (code, out) = code_of(&["start", eio]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a backend failed"), "{out}");
    // 2: bad usage, from clap or from the daemon (EINVAL).
    assert_eq!(code_of(&["start", busy, "--frobnicate"]).0, 2);
    assert_eq!(code_of(&["start", busy, "--rid", "fs#9"]).0, 2);
    assert_eq!(
        code_of(&["start", busy, "--rid", "container#1,,container#2"]).0,
        2
    );
    // 3: no such service; nothing mounted.
    assert_eq!(code_of(&["start", "nosuch"]).0, 3);
    assert_eq!(code_of(&["status", "nosuch"]).0, 3);
    let (code, err) = {
        let (code, out, err) = svcfs(&["status", "--mountpoint", "/nonexistent"]);
        (code, format!("{out}{err}"))
    };
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("not mounted"), "{err}");
    // 6: this node is not in nodes (EACCES).
    let (code, out) = code_of(&["start", refused]);
    assert_eq!(code, 6, "{out}");
    assert!(out.contains("refused"), "{out}");
    // 7: the configuration is invalid: a resource, or the whole file.
    let (code, out) = code_of(&["start", invalid]);
    assert_eq!(code, 7, "{out}");
    assert!(out.contains("--frobnicate"), "the log lines say why: {out}");
    let (code, out) = code_of(&["start", broken]);
    assert_eq!(code, 7, "{out}");
    // 4: a start that waits for a health check that never comes holds
    // the service: the next writer gets EBUSY. (The first writes to the
    // resource's ctl: the kernel queues a second write to the same file
    // instead.)
    let ctl = d.path(&format!("{busy}/container#1/ctl"));
    let slow = std::thread::spawn(move || write_ctl(&ctl, "start"));
    assert!(wait_until(Duration::from_secs(10), || d
        .read(&format!("{busy}/log"))
        .contains("wait for container operational")));
    let (code, out) = code_of(&["start", busy, "--rid", "container#2"]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("another action is running"), "{out}");
    assert_eq!(slow.join().unwrap(), Err(libc::ETIMEDOUT));
    // 5: the same start through the command line hits its bound.
    let (code, out) = code_of(&["start", busy, "--rid", "container#1"]);
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("a bound was hit"), "{out}");

    // The shell functions return the same codes.
    let functions =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/svcfs-functions.sh");
    let shell = |script: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(". '{}'; {script}", functions.display()))
            .env("SVCFS_MOUNT", &mnt)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (script, expected) in [
        (format!("svcfs_ctl {eio} start"), 1),
        (format!("svcfs_ctl {busy} frobnicate"), 2),
        ("svcfs_ctl nosuch start".to_string(), 3),
        (format!("svcfs_ctl {refused} start"), 6),
        (format!("svcfs_ctl {invalid} start"), 7),
        (format!("svcfs_ctl '{busy}/container#2' start"), 0),
        (format!("svcfs_wait '{busy}/container#2' up 30"), 0),
        (format!("svcfs_wait '{busy}/container#2' down 1"), 1),
        ("svcfs_down_resources nosuch".to_string(), 3),
        (
            format!(
                "svcfs_ctl '{busy}/container#2' stop && svcfs_wait '{busy}/container#2' down 30"
            ),
            0,
        ),
    ] {
        let (code, err) = shell(&script);
        assert_eq!(code, expected, "{script}: {err}");
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(". '{}'; svcfs_list", functions.display()))
        .env("SVCFS_MOUNT", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn status_shows_the_owner_and_the_cluster_verbs_exit_as_documented() {
    let missing: Vec<String> = ["etcd"]
        .iter()
        .filter(|p| !in_path(p))
        .map(|p| format!("{p} in PATH (package etcd-server)"))
        .collect();
    if !prerequisites() || !require(&missing) {
        return;
    }
    let svc = "owned.cli.svcfs.test";
    let sandbox = Sandbox::new("cli-cluster", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        "[DEFAULT]\nnodes = node1 node2\nautostart_node = node1\n\
         [container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n",
    );
    let etcd =
        crate::cluster_etcd::Etcd::start(&sandbox.root, crate::cluster_etcd::Security::Plain);
    let d = sandbox.mount(&["--cluster", &etcd.endpoints()]);
    let mnt = d.mnt.to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let (code, out, err) = svcfs_at(&mnt, args);
        (code, format!("{out}{err}"))
    };

    let (code, out) = run(&["start", svc]);
    assert_eq!(code, 0, "{out}");
    // The list has the owner, once the cluster placed the service here.
    assert!(
        wait_until(Duration::from_secs(10), || run(&["status"]).1
            == format!(
                "NAME                  STATUS  AVAIL  FROZEN  OWNER\n\
                 {svc}  up      up     no      node1\n"
            )),
        "{}",
        run(&["status"]).1
    );
    let (code, out) = run(&["status", "--json"]);
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["owner"], "node1");

    // switch to a node that is not alive: EHOSTDOWN, refused (6); to a
    // node not in nodes: EINVAL, bad usage (2).
    let (code, out) = run(&["switch", svc, "node2"]);
    assert_eq!(code, 6, "{out}");
    let (code, out) = run(&["switch", svc, "nowhere"]);
    assert_eq!(code, 2, "{out}");
    // takeover and giveback: the service stays on this node, the only one.
    let (code, out) = run(&["takeover", svc]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["giveback", svc]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["stop", svc]);
    assert_eq!(code, 0, "{out}");
    drop(d);
}
