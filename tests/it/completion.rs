//! Shell completion against a real mount: the scripts the Debian package
//! installs (contrib/completions/, the same bytes `svcfs completions`
//! prints) complete service names and rids from the mounted tree. bash's
//! completion function is called as bash calls it; zsh completes for real
//! in a terminal (tmux), since its completion system runs only there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

fn completions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/completions")
}

/// What bash offers for the last word of `words`, as when Tab is pressed
/// after them, with SVCFS_MOUNT set to `mount_env`.
fn bash_complete(mount_env: &str, words: &[&str]) -> Vec<String> {
    let script = format!(
        "source '{}'\n\
         COMP_WORDS=(\"$@\"); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n\
         _svcfs_tree svcfs \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD - 1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        completions_dir().join("svcfs.bash").display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .args(words)
        .env("SVCFS_MOUNT", mount_env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_and_zsh_complete_services_and_rids_from_the_mount() {
    let mut missing: Vec<String> = ["bash", "zsh", "tmux"]
        .iter()
        .filter(|p| !in_path(p))
        .map(|p| format!("{p} (package {p})"))
        .collect();
    if !prerequisites() || !require(&std::mem::take(&mut missing)) {
        return;
    }
    let app = "app.complete.svcfs.test";
    let db = "db.complete.svcfs.test";
    let sandbox = Sandbox::new("complete", &[app, db]);
    sandbox.service_file(
        &format!("{app}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\n\
         [container#2]\ntype = docker\nrun_image = busybox:latest\n\
         [fs#1]\ndev = /dev/null\nmnt = /nonexistent\ntype = ext4\n",
    );
    sandbox.service_file(
        &format!("{db}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\n",
    );
    let d = sandbox.mount(&[]);
    let mnt = d.mnt.to_string_lossy().into_owned();

    // bash: service names where a service goes, for every client verb.
    for verb in ["status", "start", "freeze", "rollback", "switch", "docker"] {
        assert_eq!(
            bash_complete(&mnt, &["svcfs", verb, ""]),
            [app, db],
            "{verb}"
        );
    }
    assert_eq!(bash_complete(&mnt, &["svcfs", "stop", "d"]), [db]);
    // Rids after --rid (both spellings), after those already typed.
    assert_eq!(
        bash_complete(&mnt, &["svcfs", "stop", app, "--rid", ""]),
        ["container#1", "container#2", "fs#1"]
    );
    assert_eq!(
        bash_complete(&mnt, &["svcfs", "start", app, "--rid", "=", "f"]),
        ["fs#1"]
    );
    assert_eq!(
        bash_complete(
            &mnt,
            &["svcfs", "start", app, "--rid", "container#1,container#"]
        ),
        ["container#1,container#1", "container#1,container#2"]
    );
    // --mountpoint on the line wins over SVCFS_MOUNT.
    assert_eq!(
        bash_complete(
            "/nonexistent",
            &["svcfs", "status", "--mountpoint", &mnt, ""]
        ),
        [app, db]
    );
    assert!(bash_complete("/nonexistent", &["svcfs", "status", ""]).is_empty());
    // The rest is clap's: subcommands and options, no hidden watchdog.
    assert_eq!(bash_complete(&mnt, &["svcfs", "fre"]), ["freeze"]);
    assert!(bash_complete(&mnt, &["svcfs", "f"])
        .iter()
        .all(|c| !c.contains("fence")));
    assert!(bash_complete(&mnt, &["svcfs", "start", app, "--r"]).contains(&"--rid".to_string()));

    // zsh, in a terminal: compinit with the packaged _svcfs in fpath.
    let session = format!("svcfs-complete-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let _ = tmux(&["kill-session", "-t", &session]);
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "30",
        "env",
        "-i",
        "TERM=xterm",
        "HOME=/nonexistent",
        "PATH=/usr/bin:/bin",
        &format!("SVCFS_MOUNT={mnt}"),
        "zsh",
        "-f",
    ]);
    let screen = || tmux(&["capture-pane", "-p", "-t", &session]);
    let setup = format!(
        "fpath=({} $fpath); autoload -U compinit; compinit -u; PS1='zsh> '; clear",
        completions_dir().display()
    );
    tmux(&["send-keys", "-t", &session, "--", &setup, "Enter"]);
    assert!(
        wait_until(Duration::from_secs(10), || screen().contains("zsh> ")),
        "{}",
        screen()
    );
    let keys = format!("svcfs start {}", &app[..3]);
    tmux(&["send-keys", "-t", &session, "--", &keys, "Tab"]);
    // (capture-pane drops the trailing space after the completed name.)
    let line = format!("zsh> svcfs start {app}");
    let completed = wait_until(Duration::from_secs(10), || screen().contains(&line));
    tmux(&["send-keys", "-t", &session, "--", " --rid ", "Tab"]);
    let rids = wait_until(Duration::from_secs(10), || {
        let s = screen();
        s.contains("container\\#1") && s.contains("container\\#2") && s.contains("fs\\#1")
    });
    let shown = screen();
    let _ = tmux(&["kill-session", "-t", &session]);
    assert!(completed, "zsh did not complete the service name:\n{shown}");
    assert!(rids, "zsh did not list the rids:\n{shown}");
}
