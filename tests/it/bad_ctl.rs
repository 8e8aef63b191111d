//! The bad-write corpus: writes to ctl files that are not commands, and
//! changes to the tree's shape, each refused with its errno; after each,
//! nothing changed (the same containers, the same states).

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::harness::*;

const SVC: &str = "badctl.svcfs.test";

/// One write(2) of `bytes` on a fresh open of `path` with `flags`.
fn write_once(path: &Path, bytes: &[u8], append: bool) -> Result<(), i32> {
    let mut file = OpenOptions::new()
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| e.raw_os_error().unwrap_or(-1))?;
    file.write_all(bytes)
        .map_err(|e| e.raw_os_error().unwrap_or(-1))
}

fn errno_of<T>(result: std::io::Result<T>) -> Result<(), i32> {
    result.map(drop).map_err(|e| e.raw_os_error().unwrap_or(-1))
}

fn setxattr(path: &Path) -> Result<(), i32> {
    let path = CString::new(path.as_os_str().as_bytes()).unwrap();
    let name = CString::new("user.svcfs").unwrap();
    // SAFETY: both strings are NUL-terminated and outlive the call; the
    // value is a valid buffer of the length given.
    let rc = unsafe { libc::setxattr(path.as_ptr(), name.as_ptr(), b"1".as_ptr().cast(), 1, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(-1))
    }
}

/// What must not change: each container's id and running state, and every
/// status word.
fn world(d: &Daemon) -> Vec<String> {
    let mut seen = Vec::new();
    for rid in ["container#1", "container#2"] {
        let name = format!("{SVC}.container.{}", &rid[10..]);
        seen.push(format!(
            "{rid} {:?} running={} status={}",
            container_id(&name),
            container_running(&name),
            d.read(&format!("{SVC}/{rid}/status")).trim()
        ));
    }
    seen.push(format!(
        "service {}",
        d.read(&format!("{SVC}/status")).trim()
    ));
    seen
}

#[test]
fn bad_writes_and_shape_changes_are_refused_and_change_nothing() {
    if !prerequisites() {
        return;
    }
    let sandbox = Sandbox::new("bad-ctl", &[SVC]);
    let mut text = String::new();
    for n in 1..=2 {
        text.push_str(&format!(
            "[container#{n}]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n"
        ));
    }
    sandbox.service_file(&format!("{SVC}.env"), &text);
    let d = sandbox.mount(&[]);
    // One container up, one down: a change either way would show.
    d.must(&format!("{SVC}/container#1/ctl"), "start");
    let before = world(&d);

    let svc_ctl = d.path(&format!("{SVC}/ctl"));
    let c1_ctl = d.path(&format!("{SVC}/container#1/ctl"));
    let c2_ctl = d.path(&format!("{SVC}/container#2/ctl"));
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let writes: Vec<(&str, &Path, Vec<u8>, i32)> = vec![
        (
            "unknown verb",
            &svc_ctl,
            b"frobnicate\n".to_vec(),
            libc::EINVAL,
        ),
        ("upper case", &svc_ctl, b"START\n".to_vec(), libc::EINVAL),
        (
            "extra argument",
            &svc_ctl,
            b"start now\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "unknown option",
            &svc_ctl,
            b"start --frobnicate\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "--rid without value",
            &svc_ctl,
            b"start --rid\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "--rid= empty",
            &svc_ctl,
            b"start --rid=\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "--rid comma",
            &svc_ctl,
            b"start --rid ,\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "--rid empty item",
            &svc_ctl,
            b"start --rid container#1,,container#2\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "--rid repeated",
            &svc_ctl,
            b"start --rid container#2,container#2\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "--rid unknown",
            &svc_ctl,
            b"start --rid container#9\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "--rid unknown with a known one",
            &svc_ctl,
            b"stop --rid container#1,fs#1\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "restart of an unknown rid",
            &svc_ctl,
            b"restart --rid ip#1\n".to_vec(),
            libc::EINVAL,
        ),
        ("empty line", &svc_ctl, b"\n".to_vec(), libc::EINVAL),
        ("only spaces", &svc_ctl, b"   \n".to_vec(), libc::EINVAL),
        ("a CR alone", &svc_ctl, b"\r".to_vec(), libc::EINVAL),
        ("NUL inside", &svc_ctl, b"st\0art\n".to_vec(), libc::EINVAL),
        ("NUL alone", &svc_ctl, b"\0".to_vec(), libc::EINVAL),
        (
            "invalid UTF-8",
            &svc_ctl,
            b"\xff\xfestart\n".to_vec(),
            libc::EINVAL,
        ),
        ("2 MiB", &svc_ctl, huge.clone(), libc::EINVAL),
        (
            "two commands",
            &svc_ctl,
            b"start\nstop\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "unbalanced quote",
            &svc_ctl,
            b"'start\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "unbalanced quote in --rid",
            &svc_ctl,
            b"start --rid 'container#1\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "resource verb on the service",
            &svc_ctl,
            b"rollback\n".to_vec(),
            libc::EOPNOTSUPP,
        ),
        (
            "freeze with an argument",
            &svc_ctl,
            b"freeze now\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "service verb on a resource",
            &c1_ctl,
            b"startcontainer\n".to_vec(),
            libc::EOPNOTSUPP,
        ),
        (
            "service verb on a resource (stop)",
            &c1_ctl,
            b"stopcontainer\n".to_vec(),
            libc::EOPNOTSUPP,
        ),
        (
            "freeze on a resource",
            &c1_ctl,
            b"freeze\n".to_vec(),
            libc::EOPNOTSUPP,
        ),
        (
            "--rid on a resource",
            &c1_ctl,
            b"stop --rid container#1\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "two words on a resource",
            &c1_ctl,
            b"stop now\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "mixed case on a resource",
            &c1_ctl,
            b"Stop\n".to_vec(),
            libc::EINVAL,
        ),
        ("empty on a resource", &c1_ctl, b"\n".to_vec(), libc::EINVAL),
        ("NUL on a resource", &c1_ctl, b"\0".to_vec(), libc::EINVAL),
        (
            "invalid UTF-8 on a resource",
            &c1_ctl,
            b"sto\xffp".to_vec(),
            libc::EINVAL,
        ),
        ("2 MiB on a resource", &c1_ctl, huge, libc::EINVAL),
        (
            "rollback without .prev",
            &c2_ctl,
            b"rollback\n".to_vec(),
            libc::EINVAL,
        ),
        (
            "unknown verb on a resource",
            &c2_ctl,
            b"frobnicate\n".to_vec(),
            libc::EINVAL,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, path, bytes, errno) in &writes {
        let got = write_once(path, bytes, false);
        if got != Err(*errno) {
            wrong.push(format!("{what}: {got:?}, expected errno {errno}"));
        }
    }
    // One command split over two write() calls on one open file: each
    // piece is judged alone (svcfs(8)), and neither is a command.
    let mut split = OpenOptions::new().write(true).open(&c2_ctl).unwrap();
    for piece in [&b"sta"[..], b"rt\n"] {
        let got = errno_of(split.write(piece));
        if got != Err(libc::EINVAL) {
            wrong.push(format!("piece {piece:?} of a split write: {got:?}"));
        }
    }
    drop(split);
    if write_once(&svc_ctl, b"frobnicate", true) != Err(libc::EINVAL) {
        wrong.push("O_APPEND write of an unknown verb".to_string());
    }

    // The tree's shape and its attributes are fixed.
    let status = d.path(&format!("{SVC}/status"));
    let dir = d.path(SVC);
    let shape: Vec<(&str, Result<(), i32>, i32)> = vec![
        (
            "mkdir",
            errno_of(std::fs::create_dir(dir.join("new"))),
            libc::EPERM,
        ),
        (
            "create",
            errno_of(std::fs::File::create(dir.join("new-file"))),
            libc::EPERM,
        ),
        ("rm", errno_of(std::fs::remove_file(&status)), libc::EPERM),
        (
            "rmdir",
            errno_of(std::fs::remove_dir(dir.join("container#1"))),
            libc::EPERM,
        ),
        (
            "mv",
            errno_of(std::fs::rename(&status, dir.join("moved"))),
            libc::EPERM,
        ),
        (
            "mv of a resource",
            errno_of(std::fs::rename(
                dir.join("container#1"),
                dir.join("container#3"),
            )),
            libc::EPERM,
        ),
        (
            "ln -s",
            errno_of(std::os::unix::fs::symlink("status", dir.join("link"))),
            libc::EPERM,
        ),
        (
            "ln",
            errno_of(std::fs::hard_link(&status, dir.join("hard"))),
            libc::EPERM,
        ),
        (
            "chmod",
            errno_of(std::fs::set_permissions(
                &status,
                std::os::unix::fs::PermissionsExt::from_mode(0o666),
            )),
            libc::EPERM,
        ),
        (
            "chown",
            errno_of(std::os::unix::fs::chown(&status, Some(1), Some(1))),
            libc::EPERM,
        ),
        (
            "truncate a status",
            errno_of(OpenOptions::new().write(true).truncate(true).open(&status)),
            libc::EACCES,
        ),
        (
            "open a status O_RDWR",
            errno_of(OpenOptions::new().read(true).write(true).open(&status)),
            libc::EACCES,
        ),
        (
            "open a status O_APPEND",
            errno_of(
                OpenOptions::new()
                    .append(true)
                    .custom_flags(0)
                    .open(&status),
            ),
            libc::EACCES,
        ),
        ("setfattr", setxattr(&status), libc::EOPNOTSUPP),
        (
            "mkdir at the root",
            errno_of(std::fs::create_dir(d.mnt.join("new.svcfs.test"))),
            libc::EPERM,
        ),
        (
            "rm at the root",
            errno_of(std::fs::remove_dir(d.mnt.join(SVC))),
            libc::EPERM,
        ),
    ];
    for (what, got, errno) in &shape {
        if *got != Err(*errno) {
            wrong.push(format!("{what}: {got:?}, expected errno {errno}"));
        }
    }
    let after = world(&d);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(before, after, "something changed");
    assert!(
        writes.len() + 3 + shape.len() >= 40,
        "{} cases",
        writes.len() + 3 + shape.len()
    );
    // And it still acts.
    d.must(&format!("{SVC}/ctl"), "stop");
    assert_eq!(d.read(&format!("{SVC}/status")), "down\n");
}
