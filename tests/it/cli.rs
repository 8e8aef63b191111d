//! The command line: `check` without a mount, and the client commands
//! through a mounted tree.

use std::process::Command;

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
    let (code, out, err) = svcfs(&[
        "check",
        "--nodename",
        "deb1.opensvc.com",
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
        "Exit status",
    ] {
        assert!(out.contains(word), "--help lacks {word}");
    }
    let (code, _, _) = svcfs(&["frobnicate"]);
    assert_eq!(code, 2);
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
        for command in ["mount", "startcontainer", "docker", "completions"] {
            assert!(out.contains(command), "{shell} script lacks {command}");
        }
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
    assert_eq!(code, 1);
    assert!(err.contains("invalid command or configuration"), "{err}");

    let (code, _, err) = svcfs(&["status", "nosuch", "--mountpoint", &mnt]);
    assert_eq!(code, 3);
    assert!(err.contains("no service nosuch"), "{err}");
    let (code, _, err) = svcfs(&["status", svc, "--mountpoint", "/nonexistent"]);
    assert_eq!(code, 3);
    assert!(err.contains("not mounted"), "{err}");
}
