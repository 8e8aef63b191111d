//! `app#N` resources with real scripts through a real mount: the order of
//! apps among containers, the status their checks give, and a hung check
//! killed with its whole process group while reads go on.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::harness::*;

/// Write an executable script (root's, 0755: trusted) at `path`.
fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Whether process `pid` is alive (a zombie is not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z")
}

#[test]
fn an_app_starts_after_the_containers_and_stops_before_them() {
    if !prerequisites() {
        return;
    }
    let svc = "apps.svcfs.test";
    let sandbox = Sandbox::new("app-order", &[svc]);
    let journal = sandbox.root.join("journal");
    let running = sandbox.root.join("running");
    // The script notes each action with whether the container runs then:
    // started after it, stopped before it.
    script(
        &sandbox.etc().join(format!("{svc}.d/ctl.sh")),
        &format!(
            "container=$(docker inspect -f '{{{{.State.Running}}}}' {svc}.container.1 2>/dev/null)\n\
             case $1 in\n\
             start) echo \"start container=$container app=$SVCFS_RID\" >> {j}; touch {r}; echo started ;;\n\
             stop) echo \"stop container=$container\" >> {j}; rm -f {r} ;;\n\
             status) [ -e {r} ] && exit 0; exit 1 ;;\n\
             info) echo version: 1.2 ;;\n\
             esac\n",
            j = journal.display(),
            r = running.display(),
        ),
    );
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}[app#1]\nscript = ctl.sh\ninfo = true\n",
            busybox_container("container#1")
        ),
    );
    let d = sandbox.mount(&[]);
    converges(
        &d,
        &format!("{svc}/app#1/status"),
        "down\n",
        Duration::from_secs(10),
    );
    let overview = d.read(&format!("{svc}/overview"));
    let line_of = |rid: &str| overview.lines().position(|l| l.contains(rid)).unwrap();
    // Listed after the containers, its script as its label.
    assert!(line_of("container#1") < line_of("app#1"), "{overview}");
    let app = overview.lines().nth(line_of("app#1")).unwrap();
    assert!(
        app.contains(" down ") && app.ends_with("ctl.sh"),
        "{overview}"
    );

    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/app#1/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/app#1/info")), "version: 1.2\n");
    let log = d.read(&format!("{svc}/app#1/log"));
    assert!(
        log.contains("ctl.sh start") && log.contains("started"),
        "{log}"
    );
    d.must(&format!("{svc}/ctl"), "stop");
    assert_eq!(d.read(&format!("{svc}/app#1/status")), "down\n");
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap(),
        "start container=true app=app#1\nstop container=true\n"
    );
    // --rid works like any rid; starting what is up says so.
    d.must(&format!("{svc}/ctl"), "start --rid app#1");
    d.must(&format!("{svc}/app#1/ctl"), "start");
    assert!(d
        .read(&format!("{svc}/app#1/log"))
        .contains("ctl.sh is already up"));
    d.must(&format!("{svc}/ctl"), "stop");
}

#[test]
fn a_check_s_exit_code_is_the_status_and_a_hung_one_dies_with_its_group() {
    if !prerequisites() {
        return;
    }
    let svc = "checks.svcfs.test";
    let sandbox = Sandbox::new("app-checks", &[svc]);
    let pids = sandbox.root.join("pids");
    let hung = sandbox.root.join("hung.sh");
    // Its grandchild, then itself, sleep far past check_timeout.
    script(
        &hung,
        &format!(
            "sleep 300 &\necho \"$! $$\" > {}\necho waiting\nsleep 300\n",
            pids.display()
        ),
    );
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "[app#1]\ncheck = /bin/false\n\
             [app#2]\ncheck = {}\ncheck_timeout = 4\ncheck_interval = 3600\n\
             [app#3]\ncheck = /bin/sh -c 'echo disk full >&2; exit 4'\n",
            hung.display()
        ),
    );
    let d = sandbox.mount(&[]);
    // The daemon checked everything before mounting: app#2 timed out once
    // already. A start runs its check again, and hangs in it.
    converges(
        &d,
        &format!("{svc}/app#1/status"),
        "down\n",
        Duration::from_secs(10),
    );
    assert_eq!(d.read(&format!("{svc}/app#3/status")), "warn\n");
    assert_eq!(
        d.read(&format!("{svc}/app#3/messages")),
        "# check failed (exit 4): disk full\n"
    );
    std::fs::remove_file(&pids).unwrap();
    let ctl = d.path(&format!("{svc}/ctl"));
    let writer = std::thread::spawn(move || write_ctl(&ctl, "start --rid app#2"));
    assert!(
        wait_until(Duration::from_secs(10), || pids.exists()),
        "the check did not start"
    );
    let text = std::fs::read_to_string(&pids).unwrap();
    let (grandchild, check): (i32, i32) = {
        let mut words = text.split_whitespace().map(|w| w.parse().unwrap());
        (words.next().unwrap(), words.next().unwrap())
    };
    assert!(alive(grandchild) && alive(check));
    // Reads while the check hangs are served at once: each one ends while
    // the check is still there to be killed.
    for _ in 0..20 {
        let status = d.read(&format!("{svc}/app#2/status"));
        assert!(!status.is_empty());
        assert!(std::fs::read_dir(d.path(svc)).unwrap().count() > 5);
        assert!(alive(check), "a read waited for the check's timeout");
    }
    // The start's check timed out: the start itself then ran nothing (no
    // start command) and succeeded, but the app reads warn.
    assert_eq!(writer.join().unwrap(), Ok(()));
    assert_eq!(d.read(&format!("{svc}/app#2/status")), "warn\n");
    assert_eq!(
        d.read(&format!("{svc}/app#2/messages")),
        "# check timed out after 4s: its process group was killed\n"
    );
    // Killed with its whole group, and reaped: nothing left, no zombie.
    assert!(
        wait_until(Duration::from_secs(5), || !alive(grandchild)
            && !Path::new(&format!("/proc/{check}")).exists()),
        "left behind: grandchild {grandchild} alive={}, check {check} alive={}",
        alive(grandchild),
        alive(check)
    );
    assert!(
        children_of(d.pid())
            .iter()
            .all(
                |pid| !std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .unwrap_or_default()
                    .contains("hung.sh")
            ),
        "the check is still a child of the daemon"
    );
}

#[test]
fn a_script_others_may_change_is_refused() {
    if !prerequisites() {
        return;
    }
    let svc = "untrusted.svcfs.test";
    let sandbox = Sandbox::new("app-untrusted", &[svc]);
    let path = sandbox.etc().join(format!("{svc}.d/ctl.sh"));
    script(&path, "touch /tmp/svcfs-untrusted-ran\nexit 0\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let _ = std::fs::remove_file("/tmp/svcfs-untrusted-ran");
    sandbox.service_file(&format!("{svc}.env"), "[app#1]\nscript = ctl.sh\n");
    let d = sandbox.mount(&[]);
    converges(
        &d,
        &format!("{svc}/app#1/status"),
        "warn\n",
        Duration::from_secs(10),
    );
    let messages = d.read(&format!("{svc}/app#1/messages"));
    assert!(
        messages.contains("is not trusted") && messages.contains("can be written by everyone"),
        "{messages}"
    );
    assert_eq!(
        d.ctl(&format!("{svc}/app#1/ctl"), "start"),
        Err(libc::EACCES)
    );
    assert!(!Path::new("/tmp/svcfs-untrusted-ran").exists());
}
