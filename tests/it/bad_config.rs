//! The bad-service-file corpus (`tests/data/bad-config/`): for each file,
//! `svcfs check`'s exit code and every line it prints, then all of them
//! mounted beside a good service, which keeps serving.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bad-config");
const NODENAME: &str = "corpus-node.svcfs.test";

/// `svcfs check` of a config directory: exit code and stdout.
fn check(dir: &Path) -> (i32, String) {
    let out = Command::new(SVCFS)
        .args(["check", "--nodename", NODENAME, "--config-dir"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("svcfs-it-bad-config/{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The corpus's cases: (name, file content, expected exit code and stdout
/// with `{dir}` for the directory).
fn corpus() -> Vec<(String, Vec<u8>, i32, String)> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(CORPUS).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "env") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let expect = std::fs::read_to_string(path.with_extension("expect"))
            .unwrap_or_else(|e| panic!("{name}.expect: {e}"));
        let (first, rest) = expect.split_once('\n').unwrap_or((&expect, ""));
        let code = first
            .strip_prefix("exit ")
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{name}.expect: the first line must be `exit N`"));
        cases.push((name, std::fs::read(&path).unwrap(), code, rest.to_string()));
    }
    cases.sort();
    cases
}

#[test]
fn every_bad_file_gets_its_exit_code_and_located_messages() {
    let cases = corpus();
    assert!(cases.len() >= 45, "the corpus has {} files", cases.len());
    let mut wrong = Vec::new();
    for (name, content, code, expected) in &cases {
        let dir = fresh_dir(name);
        std::fs::write(dir.join(format!("{name}.env")), content).unwrap();
        let (got_code, out) = check(&dir);
        let expected = expected.replace("{dir}", &dir.to_string_lossy());
        if (got_code, out.as_str()) != (*code, expected.as_str()) {
            wrong.push(format!(
                "{name}: exit {got_code} (expected {code})\n got:\n{out}\n expected:\n{expected}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Cases git cannot hold, made in `dir`; each with the exit code and a
/// line stdout must have.
fn generated(dir: &Path) -> Vec<(&'static str, i32, String)> {
    let image = "[container#1]\ntype = docker\nrun_image = busybox\n";
    std::fs::write(
        dir.join("big.env"),
        format!("{image}# {}\n", "x".repeat(5 * 1024 * 1024)),
    )
    .unwrap();
    std::fs::write(
        dir.join("long-line.env"),
        format!("{image}run_command = {}\n", "a".repeat(1_000_000)),
    )
    .unwrap();
    symlink("loop.env", dir.join("loop.env")).unwrap();
    symlink("/nonexistent/svcfs/x.env", dir.join("dangling.env")).unwrap();
    std::fs::create_dir(dir.join("directory.conf")).unwrap();
    let closed = dir.join("closed.env");
    std::fs::write(&closed, image).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::write(dir.join("with space.env"), image).unwrap();
    std::fs::write(dir.join("sérvice.env"), image).unwrap();
    let at = |file: &str| dir.join(file).display().to_string();
    let root = nix::unistd::geteuid().is_root();
    vec![
        (
            "big",
            1,
            format!("error: {}: the file is larger than the 1048576 bytes a service file may have; not loaded", at("big.env")),
        ),
        (
            "long-line",
            1,
            format!("error: {}:4: [container#1] line of 1000015 bytes, longer than the 65536 a line may have; line ignored", at("long-line.env")),
        ),
        (
            "loop",
            1,
            format!("error: {}: cannot read the service file: Too many levels of symbolic links (os error 40)", at("loop.env")),
        ),
        (
            "dangling",
            1,
            format!("error: {}: cannot read the service file: No such file or directory (os error 2)", at("dangling.env")),
        ),
        (
            "directory",
            0,
            format!("warning: {}: a directory, not a service file; ignored", at("directory.conf")),
        ),
        // Root reads a file of mode 000 like any other.
        if root {
            ("closed", 0, String::new())
        } else {
            (
                "closed",
                1,
                format!("error: {}: cannot read the service file: Permission denied (os error 13)", at("closed.env")),
            )
        },
        (
            "with space",
            1,
            format!("error: {}: \"with space\" is not a valid service name", at("with space.env")),
        ),
        (
            "sérvice",
            1,
            format!("error: {}: \"sérvice\" is not a valid service name", at("sérvice.env")),
        ),
    ]
}

#[test]
fn files_git_cannot_hold_are_reported_too() {
    let all = fresh_dir("generated");
    let cases = generated(&all);
    for (name, code, line) in &cases {
        let dir = fresh_dir(&format!("generated-{name}"));
        for entry in std::fs::read_dir(&all).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            if file.rsplit_once('.').is_some_and(|(stem, _)| stem == *name) {
                // Moved, so that symlinks keep pointing where they did.
                std::fs::rename(&path, dir.join(&file)).unwrap();
            }
        }
        let (got, out) = check(&dir);
        let line = line.replace(&*all.to_string_lossy(), &dir.to_string_lossy());
        assert_eq!(got, *code, "{name}: {out}");
        assert!(
            if line.is_empty() {
                out.is_empty()
            } else {
                out.lines().any(|l| l.starts_with(&line))
            },
            "{name}: expected a line starting with {line:?}, got:\n{out}"
        );
    }
}

#[test]
fn a_mounted_daemon_serves_a_good_service_beside_every_bad_file() {
    if !prerequisites() {
        return;
    }
    let good = "good.svcfs.test";
    let sandbox = Sandbox::new("bad-config-mount", &[good]);
    for (name, content, _, _) in corpus() {
        std::fs::write(sandbox.etc().join(format!("{name}.env")), content).unwrap();
    }
    generated(&sandbox.etc());
    sandbox.service_file(
        &format!("{good}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n",
    );
    let d = sandbox.mount(&[]);
    assert!(
        wait_until(std::time::Duration::from_secs(20), || d
            .read(&format!("{good}/container#1/status"))
            == "down\n"),
        "the good service's container#1 is {:?}",
        d.read(&format!("{good}/container#1/status"))
    );
    // What `check` reports as an error makes a loaded service warn.
    for svc in [
        "duplicate-section",
        "line-without-equals",
        "nul-byte",
        "big",
    ] {
        assert_eq!(d.read(&format!("{svc}/status")), "warn\n", "{svc}");
    }
    let listed: Vec<String> = std::fs::read_dir(&d.mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(listed.contains(&good.to_string()), "{listed:?}");
    for ignored in ["directory", "with space", "sérvice"] {
        assert!(
            !listed.contains(&ignored.to_string()),
            "{ignored} is listed: {listed:?}"
        );
    }
    // The tree serves a file's bytes, never a decoded guess at them.
    let config = std::fs::read(d.path("invalid-utf8/config")).unwrap();
    assert!(!String::from_utf8_lossy(&config).contains('\u{fffd}'));
    // And the good service still acts.
    d.must(&format!("{good}/ctl"), "start");
    assert_eq!(d.read(&format!("{good}/status")), "up\n");
    d.must(&format!("{good}/ctl"), "stop");
}
