//! Secrets and trust, as an unprivileged user meets them: the files that
//! show configuration are no more readable than the service file, what
//! everyone reads (`log`, `status.json`, `events`, `messages`, `metrics`)
//! carries no environment value, and a service file that others could
//! change is refused by the daemon and by `svcfs check`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

/// The group the tests hand files and the ctl group to (no name).
const GROUP: u32 = 4242;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode_and_gid(path: &Path) -> (u32, u32) {
    let meta = std::fs::metadata(path).unwrap();
    (meta.mode() & 0o7777, meta.gid())
}

/// `cat path` as user nobody with primary group `gid` and no other:
/// what it printed, or what it said on failure.
fn cat_as_nobody(path: &Path, gid: u32) -> Result<String, String> {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", &format!("--regid={gid}"), "--clear-groups"])
        .arg("cat")
        .arg(path)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn nobody_reads(path: &Path) -> Result<String, String> {
    cat_as_nobody(path, 65534)
}

fn denied(result: Result<String, String>) -> bool {
    matches!(result, Err(said) if said.contains("Permission denied"))
}

/// A busybox container whose run_args set `run_args`.
fn service_with(run_args: &str) -> String {
    format!(
        "{}run_args = {run_args}\n",
        busybox_container("container#1")
    )
}

#[test]
fn configuration_is_as_readable_as_the_service_file_and_state_is_public() {
    if !prerequisites() || !host_tools(&["setpriv"]) {
        return;
    }
    let private = "private.secrets.svcfs.test";
    let public = "public.secrets.svcfs.test";
    let sandbox = Sandbox::new("secrets-modes", &[private, public]);
    // Others must be able to reach the mountpoint.
    chmod(&sandbox.root, 0o755);
    let file = service_with("-e DB_PASSWORD=hunter2");
    for (svc, mode) in [(private, 0o600), (public, 0o644)] {
        sandbox.service_file(&format!("{svc}.env"), &file);
        chmod(&sandbox.etc().join(format!("{svc}.env")), mode);
    }
    let d = sandbox.mount(&[]);
    let path = |svc: &str, rel: &str| d.path(&format!("{svc}/{rel}"));
    let config_files = ["config", "container#1/run_args", "container#1/run_image"];
    for rel in config_files {
        assert_eq!(mode_and_gid(&path(private, rel)), (0o400, 0), "{rel}");
        assert_eq!(mode_and_gid(&path(public, rel)), (0o444, 0), "{rel}");
        assert!(denied(nobody_reads(&path(private, rel))), "{rel}");
        assert!(nobody_reads(&path(public, rel)).is_ok(), "{rel}");
    }
    assert!(nobody_reads(&path(public, "container#1/run_args"))
        .unwrap()
        .contains("DB_PASSWORD=hunter2"));
    // State is everyone's, whatever the file's mode.
    for svc in [private, public] {
        assert_eq!(nobody_reads(&path(svc, "status")), Ok("down\n".into()));
        let overview = nobody_reads(&path(svc, "overview")).unwrap();
        assert!(overview.starts_with(svc), "{overview}");
        for rel in ["avail", "status.json", "log", "container#1/status"] {
            assert!(nobody_reads(&path(svc, rel)).is_ok(), "{svc}/{rel}");
        }
        // Acting stays root's.
        assert_eq!(mode_and_gid(&path(svc, "ctl")), (0o200, 0));
        assert_eq!(mode_and_gid(&path(svc, "hold")), (0o200, 0));
    }
    // The file opened to others: so does its configuration.
    chmod(&sandbox.etc().join(format!("{private}.env")), 0o644);
    assert!(
        wait_until(Duration::from_secs(10), || nobody_reads(&path(
            private, "config"
        ))
        .is_ok()),
        "{}",
        d.output()
    );
    assert_eq!(
        mode_and_gid(&path(private, "container#1/run_args")).0,
        0o444
    );
    drop(d);

    // With a ctl group: it reads what root reads, others do not.
    chmod(&sandbox.etc().join(format!("{private}.env")), 0o600);
    let d = sandbox.mount(&["--ctl-group", &GROUP.to_string()]);
    let path = |rel: &str| d.path(&format!("{private}/{rel}"));
    assert_eq!(mode_and_gid(&path("config")), (0o440, GROUP));
    assert_eq!(mode_and_gid(&path("hold")), (0o220, GROUP));
    assert_eq!(mode_and_gid(&path("container#1/ctl")), (0o220, GROUP));
    assert!(cat_as_nobody(&path("config"), GROUP)
        .unwrap()
        .contains("DB_PASSWORD=hunter2"));
    assert!(denied(nobody_reads(&path("container#1/run_args"))));
    assert!(nobody_reads(&path("status")).is_ok());
}

#[test]
fn what_everyone_reads_carries_no_environment_value() {
    if !prerequisites() || !host_tools(&["setpriv"]) {
        return;
    }
    let svc = "redact.secrets.svcfs.test";
    let sandbox = Sandbox::new("secrets-redact", &[svc]);
    chmod(&sandbox.root, 0o755);
    let env_file = sandbox.root.join("env.list");
    std::fs::write(&env_file, "FILE_SECRET=f1le-s3cret\n").unwrap();
    chmod(&env_file, 0o600);
    let secrets = [
        "hunter2",
        "t0ken-s3cret",
        "k3y-s3cret",
        "0ther-s3cret",
        "f1le-s3cret",
    ];
    sandbox.service_file(
        &format!("{svc}.env"),
        &service_with(&format!(
            "-e DB_PASSWORD=hunter2 -eTOKEN=t0ken-s3cret --env API_KEY=k3y-s3cret \
             --env=OTHER=0ther-s3cret --env-file {} -e HOME",
            env_file.display()
        )),
    );
    chmod(&sandbox.etc().join(format!("{svc}.env")), 0o600);
    let d = sandbox.mount(&[]);
    // The change lines of the start, as anyone following them sees them.
    let events_path = d.path(&format!("{svc}/events"));
    let events = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(&events_path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // setpriv became cat: follow once it has the file open.
    let fds = format!("/proc/{}/fd", events.id());
    assert!(wait_until(Duration::from_secs(10), || {
        std::fs::read_dir(&fds).is_ok_and(|fds| {
            fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .any(|target| target == events_path)
        })
    }));
    d.must(&format!("{svc}/ctl"), "start");
    // Read while the run line is among its last lines.
    let status_json = nobody_reads(&d.path(&format!("{svc}/status.json"))).unwrap();
    assert!(
        status_json.contains("-e DB_PASSWORD=<redacted>"),
        "{status_json}"
    );
    d.must(&format!("{svc}/ctl"), "stop");
    unsafe { libc::kill(events.id() as i32, libc::SIGTERM) };
    let events = String::from_utf8_lossy(&events.wait_with_output().unwrap().stdout).into_owned();

    // The values did reach the container.
    let env = docker(&[
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &format!("{svc}.container.1"),
    ])
    .unwrap();
    for secret in secrets {
        assert!(env.contains(secret), "{secret} not in {env}");
    }
    let log = nobody_reads(&d.path(&format!("{svc}/log"))).unwrap();
    assert!(
        log.contains(&format!(
            "-e DB_PASSWORD=<redacted> -eTOKEN=<redacted> --env API_KEY=<redacted> \
             --env=OTHER=<redacted> --env-file {} -e HOME",
            env_file.display()
        )),
        "{log}"
    );
    assert!(events.contains("\"phase\":\"begin\""), "{events}");
    let mut read = vec![
        ("log".to_string(), log),
        ("events".to_string(), events),
        ("status.json".to_string(), status_json),
        (
            "metrics".to_string(),
            nobody_reads(&d.path("metrics")).unwrap(),
        ),
    ];
    for rel in [
        "status.json",
        "messages",
        "container#1/log",
        "container#1/messages",
    ] {
        let text = nobody_reads(&d.path(&format!("{svc}/{rel}"))).unwrap();
        read.push((rel.to_string(), text));
    }
    for (name, text) in &read {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} in {name}:\n{text}");
        }
    }
    // The unredacted command went to the daemon's own log only.
    let own = d.output();
    assert!(
        own.lines()
            .any(|l| l.contains("unredacted:") && l.contains("DB_PASSWORD=hunter2")),
        "{own}"
    );
    // And the daemon's own files are root's alone.
    assert_eq!(mode_and_gid(&sandbox.var()).0, 0o700);
}

#[test]
fn a_service_file_others_can_change_is_refused() {
    if !prerequisites() {
        return;
    }
    let svc = "trust.secrets.svcfs.test";
    let sandbox = Sandbox::new("secrets-trust", &[svc]);
    let file = sandbox.etc().join(format!("{svc}.env"));
    sandbox.service_file(&format!("{svc}.env"), &busybox_container("container#1"));
    std::os::unix::fs::chown(&file, Some(0), Some(GROUP)).unwrap();
    chmod(&file, 0o664);
    // The daemon names the group as the host's group database does (a
    // host where that gid has a name shows the name), so the expected
    // text is derived the same way.
    let group = group_name(GROUP);
    let reason = format!(
        "{} (owner root, group {group}, mode 0664) can be written by group {group}",
        file.display()
    );

    // `svcfs check`: an error naming the file, its owner and mode.
    let check = || {
        let out = Command::new(SVCFS)
            .args(["check", "--nodename", "node1", "--config-dir"])
            .arg(sandbox.etc())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = check();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with(&format!(
            "error: {}: not loaded: {reason}; ",
            file.display()
        )),
        "{out}"
    );
    // A config directory anyone may write: every file in it is refused.
    chmod(&sandbox.etc(), 0o1777);
    let (code, out) = check();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: the config directory cannot be trusted, no service file is loaded from it: {} (owner root, group root, mode 1777) can be written by everyone",
            sandbox.etc().display(),
            sandbox.etc().display()
        )),
        "{out}"
    );
    chmod(&sandbox.etc(), 0o755);

    // The daemon: the service warns with the reason, start is EACCES.
    let d = sandbox.mount(&[]);
    assert_eq!(d.read(&format!("{svc}/status")), "warn\n");
    let messages = d.read(&format!("{svc}/messages"));
    assert!(messages.contains(&reason), "{messages}");
    assert_eq!(d.ctl(&format!("{svc}/ctl"), "start"), Err(libc::EACCES));
    let log = d.read(&format!("{svc}/log"));
    assert!(log.contains("not trusted"), "{log}");
    assert!(!d.path(&format!("{svc}/container#1")).exists());

    // Fixed: loaded.
    chmod(&file, 0o644);
    converges(
        &d,
        &format!("{svc}/container#1/status"),
        "down\n",
        Duration::from_secs(10),
    );
    assert_eq!(d.read(&format!("{svc}/messages")), "");

    // Loaded, then group-writable again: refused like a broken edit, what
    // was loaded keeps serving with the reason shown.
    chmod(&file, 0o664);
    assert!(
        wait_until(Duration::from_secs(10), || {
            d.read(&format!("{svc}/messages"))
                .contains("can no longer be trusted")
        }),
        "{}",
        d.output()
    );
    assert!(d.read(&format!("{svc}/messages")).contains(&reason));
    assert_eq!(d.read(&format!("{svc}/status")), "warn\n");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "down\n");
    assert!(d
        .read(&format!("{svc}/config"))
        .contains("run_image = busybox"));
    chmod(&file, 0o644);
    assert!(
        wait_until(Duration::from_secs(10), || d
            .read(&format!("{svc}/messages"))
            .is_empty()),
        "{}",
        d.read(&format!("{svc}/messages"))
    );
}

/// How the host's group database names `gid`: its name, or the number
/// when it has none (what the daemon's messages say).
fn group_name(gid: u32) -> String {
    match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
        Ok(Some(group)) => group.name,
        _ => gid.to_string(),
    }
}
