//! The tutorial's container scenario, end to end through the mounted tree,
//! plus the upgrade/rollback flow the tutorial wished for.

use std::time::Duration;

use crate::harness::*;

const TUTORIAL: &str = include_str!("../data/app.opensvc.com.env");

/// The tutorial's service file with what this machine forces changed:
/// local image ids, free host ports, this test's node name, bind sources
/// under the sandbox, and a short stop_timeout (the images' PID 1 ignores
/// SIGTERM). The host resources and the private daemon are left out here;
/// they have their own tests.
fn tutorial_containers(sandbox: &Sandbox, port_http: u16, port_ssh: u16) -> String {
    let vol1 = sandbox.root.join("vol1");
    let mut text = String::new();
    let mut keep = true;
    for line in TUTORIAL.lines() {
        if line.starts_with('[') {
            keep = line.starts_with("[DEFAULT]") || line.starts_with("[container#");
        }
        if !keep || line.starts_with("docker_") {
            continue;
        }
        let line = line
            .replace("deb1.opensvc.com", "node1")
            .replace("f66342b343ae", &image_short_id("busybox:latest"))
            .replace("30e0b59613ff", &image_short_id("shipyard/shipyard:latest"))
            .replace("2bbfe079a942", &image_short_id("dhrp/sshd:latest"))
            .replace("-p 8888:8000", &format!("-p {port_http}:8000"))
            .replace("-p 42222:22", &format!("-p {port_ssh}:22"))
            .replace(
                "/opt/opensvc/var/app.opensvc.com/docker.sock",
                "/var/run/docker.sock",
            )
            .replace("/opt/app.opensvc.com/vol1", &vol1.to_string_lossy());
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("type = docker") {
            text.push_str("stop_timeout = 2\n");
        }
    }
    text
}

fn is_short_id_at(label: &str, image: &str) -> bool {
    let Some((id, rest)) = label.trim().split_once('@') else {
        return false;
    };
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && rest == image
}

#[test]
fn tutorial_container_scenario() {
    if !prerequisites() {
        return;
    }
    let svc = "app.opensvc.com";
    let sandbox = Sandbox::new("tutorial-containers", &[svc]);
    let [port_http, port_ssh] = free_ports();
    sandbox.service_file(
        "app.opensvc.com.env",
        &tutorial_containers(&sandbox, port_http, port_ssh),
    );
    let d = sandbox.mount(&[]);

    // Before any start: the tutorial's tree, containers down with its message.
    let expected = "\
app.opensvc.com
overall                   down
|- avail                  down
|  |- container#1    .... down     busybox:latest
|  |  |                            # can not find container id
|  |- container#2    .... down     shipyard/shipyard:latest
|  |  |                            # can not find container id
|  '- container#3    .... down     dhrp/sshd:latest
|     |                            # can not find container id
|- sync                   n/a
'- hb                     n/a
";
    assert_eq!(d.read(&format!("{svc}/overview")), expected);

    // echo start > ctl: the containers start in order, with the tutorial's names.
    d.must(&format!("{svc}/ctl"), "start");
    let log = d.read(&format!("{svc}/log"));
    let runs: Vec<String> = lines_with(&log, " run -t -i -d --name=");
    assert_eq!(runs.len(), 3, "{log}");
    for (i, line) in runs.iter().enumerate() {
        let n = i + 1;
        assert!(
            line.contains(&format!("APP.OPENSVC.COM.CONTAINER#{n} docker -H unix:///var/run/docker.sock run -t -i -d --name=app.opensvc.com.container.{n} ")),
            "{line}"
        );
    }
    let position = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {log}"))
    };
    assert!(
        position("CONTAINER#1 wait for container operational")
            < position("--name=app.opensvc.com.container.2")
    );
    assert!(
        position("CONTAINER#2 wait for container operational")
            < position("--name=app.opensvc.com.container.3")
    );
    for line in log.lines() {
        let time = &line[..8];
        assert!(
            time.as_bytes()[2] == b':' && time.as_bytes()[5] == b':',
            "{line}"
        );
    }

    assert_eq!(d.read(&format!("{svc}/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/avail")), "up\n");
    for (rid, image) in [
        ("container#1", "busybox:latest"),
        ("container#2", "shipyard/shipyard:latest"),
        ("container#3", "dhrp/sshd:latest"),
    ] {
        let label = d.read(&format!("{svc}/{rid}/label"));
        assert!(is_short_id_at(&label, image), "{rid}: {label}");
        assert_eq!(d.read(&format!("{svc}/{rid}/status")), "up\n");
        assert_eq!(d.read(&format!("{svc}/{rid}/messages")), "");
    }
    let overview = d.read(&format!("{svc}/overview"));
    assert!(
        overview.starts_with(
            "app.opensvc.com\noverall                   up\n|- avail                  up\n"
        ),
        "{overview}"
    );

    // The published port answers on 127.0.0.1.
    let page = http_get(port_http).expect("container#2 answers on its published port");
    assert!(page.contains("shipyard"), "{page}");

    // Stop container#1 alone: the service is warn, and a later start
    // starts the same container again.
    let id1 = container_id("app.opensvc.com.container.1").expect("container#1 exists");
    d.must(&format!("{svc}/container#1/ctl"), "stop");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "down\n");
    assert_eq!(d.read(&format!("{svc}/status")), "warn\n");
    assert!(d
        .read(&format!("{svc}/container#1/label"))
        .starts_with(&id1[..12]));
    assert!(!container_running("app.opensvc.com.container.1"));
    d.must(&format!("{svc}/ctl"), "start --rid container#1");
    assert_eq!(
        container_id("app.opensvc.com.container.1").as_deref(),
        Some(id1.as_str())
    );
    assert!(container_running("app.opensvc.com.container.1"));
    assert_eq!(d.read(&format!("{svc}/status")), "up\n");

    // stopcontainer / startcontainer act on all containers, in order.
    d.must(&format!("{svc}/ctl"), "stopcontainer");
    assert_eq!(d.read(&format!("{svc}/status")), "down\n");
    let log = d.read(&format!("{svc}/log"));
    // A PID 1 without a SIGTERM handler is killed at once rather than
    // stopped: either line marks the container's stop.
    let stops: Vec<String> = lines_with(&log, " docker -H ")
        .into_iter()
        .filter(|l| l.contains(" stop ") || l.contains(" kill --signal KILL "))
        .collect();
    let last_three: Vec<&String> = stops.iter().rev().take(3).rev().collect();
    assert!(
        last_three[0].contains("CONTAINER#3") && last_three[2].contains("CONTAINER#1"),
        "{stops:?}"
    );
    d.must(&format!("{svc}/ctl"), "startcontainer");
    assert_eq!(d.read(&format!("{svc}/status")), "up\n");
    assert_eq!(
        container_id("app.opensvc.com.container.1").as_deref(),
        Some(id1.as_str())
    );

    // Starting what is up is a success that says so.
    d.must(&format!("{svc}/container#2/ctl"), "start");
    assert!(
        d.read(&format!("{svc}/container#2/log"))
            .lines()
            .last()
            .unwrap()
            .contains("already up")
            || d.read(&format!("{svc}/container#2/log"))
                .contains("is already up")
    );
}

#[test]
fn upgrade_keeps_the_old_container_for_rollback() {
    if !prerequisites() {
        return;
    }
    let svc = "upgrade.svcfs.test";
    let sandbox = Sandbox::new("upgrade", &[svc]);
    let old_id = image_short_id("busybox:latest");
    let new_id = image_short_id("google/busybox:latest");
    let file = |image: &str| {
        format!("[container#1]\ntype = docker\nrun_image = {image}\nrun_command = /bin/sh\nstop_timeout = 1\n")
    };
    sandbox.service_file(&format!("{svc}.env"), &file(&old_id));
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    let first = container_id(&format!("{svc}.container.1")).unwrap();
    assert!(is_short_id_at(
        &d.read(&format!("{svc}/container#1/label")),
        "busybox:latest"
    ));

    // The tutorial's sed on run_image; the change is picked up without a restart.
    sandbox.service_file(&format!("{svc}.env"), &file(&new_id));
    let drift =
        format!("# the current container is based on image busybox:latest instead of {new_id}\n");
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(d.path(&format!("{svc}/container#1/messages")))
                .unwrap_or_default()
                == drift
        }),
        "messages: {:?}",
        d.read(&format!("{svc}/container#1/messages"))
    );
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "warn\n");
    assert_eq!(
        d.read(&format!("{svc}/container#1/run_image")),
        format!("{new_id}\n")
    );

    // start = the six manual steps: stop, keep as .prev, run the new image.
    d.must(&format!("{svc}/container#1/ctl"), "start");
    let second = container_id(&format!("{svc}.container.1")).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        container_id(&format!("{svc}.container.1.prev")).as_deref(),
        Some(first.as_str())
    );
    assert!(is_short_id_at(
        &d.read(&format!("{svc}/container#1/label")),
        "google/busybox:latest"
    ));
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
    assert_eq!(d.read(&format!("{svc}/container#1/messages")), "");

    // rollback swaps back to the previous container.
    d.must(&format!("{svc}/container#1/ctl"), "rollback");
    assert_eq!(
        container_id(&format!("{svc}.container.1")).as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        container_id(&format!("{svc}.container.1.prev")).as_deref(),
        Some(second.as_str())
    );
    assert!(container_running(&format!("{svc}.container.1")));
    assert!(!container_running(&format!("{svc}.container.1.prev")));
    // run_image still names the new image: the drift is shown, not hidden.
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "warn\n");
    assert!(d
        .read(&format!("{svc}/container#1/log"))
        .contains("rolled back"));

    // A second upgrade replaces the older .prev.
    d.must(&format!("{svc}/container#1/ctl"), "start");
    assert_eq!(
        container_id(&format!("{svc}.container.1.prev")).as_deref(),
        Some(first.as_str())
    );
    assert!(
        container_id(&second).is_none(),
        "the older .prev is removed"
    );

    // A change of run_args (or run_command) recreates the container too.
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!("{}run_args = -e SVCFS_TEST=changed\n", file(&new_id)),
    );
    assert!(wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(d.path(&format!("{svc}/container#1/messages")))
            .unwrap_or_default()
            .contains("created with another run_command or run_args")
    }));
    d.must(&format!("{svc}/container#1/ctl"), "start");
    let env = docker(&[
        "inspect",
        "--format",
        "{{.Config.Env}}",
        &format!("{svc}.container.1"),
    ])
    .unwrap();
    assert!(env.contains("SVCFS_TEST=changed"), "{env}");
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "up\n");
}

#[test]
fn start_fails_with_exit_code_and_output_when_the_container_exits() {
    if !prerequisites() {
        return;
    }
    let svc = "crash.svcfs.test";
    let sandbox = Sandbox::new("crash", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh -c \"echo boom-from-the-container; exit 3\"\n\
         [container#2]\ntype = docker\nrun_image = busybox:latest\n",
    );
    let d = sandbox.mount(&[]);
    assert_eq!(d.ctl(&format!("{svc}/ctl"), "start"), Err(libc::EIO));
    let messages = d.read(&format!("{svc}/container#1/messages"));
    assert!(messages.contains("exited with code 3"), "{messages}");
    assert!(messages.contains("boom-from-the-container"), "{messages}");
    let log = d.read(&format!("{svc}/log"));
    assert!(log.contains("start interrupted here"), "{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("CONTAINER#2") && l.contains("docker -H")),
        "container#2 must not start:\n{log}"
    );
    // It was created ahead, together with container#1, and the log says
    // what became of it.
    assert!(
        log.contains("was created ahead of its start, which did not come"),
        "{log}"
    );
    assert_eq!(d.read(&format!("{svc}/container#2/status")), "down\n");
}

#[test]
fn stop_kills_at_once_a_pid1_without_a_sigterm_handler_and_waits_for_one_with() {
    if !prerequisites() {
        return;
    }
    let svc = "stopwait.svcfs.test";
    let sandbox = Sandbox::new("stopwait", &[svc]);
    // container#1: busybox sh ignores SIGTERM, so docker stop would wait
    // the whole 20 s. container#2: tini (--init) forwards it to sleep.
    // container#3: a shell that traps it.
    sandbox.service_file(
        &format!("{svc}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 20\n\
         [container#2]\ntype = docker\nrun_image = busybox:latest\nrun_args = --init\nrun_command = sleep 1000\nstop_timeout = 20\n\
         [container#3]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh -c \"trap 'exit 0' TERM; while true; do sleep 1; done\"\nstop_timeout = 20\n",
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    assert_eq!(d.read(&format!("{svc}/avail")), "up\n");

    // Who waited for stop_timeout shows in the log, not in a stopwatch:
    // one kill for the container without a handler, docker stop for the
    // others.
    d.must(&format!("{svc}/ctl"), "stop");
    let log = d.read(&format!("{svc}/log"));
    for n in 1..=3 {
        assert!(!container_running(&format!("{svc}.container.{n}")), "{log}");
        assert_eq!(
            d.read(&format!("{svc}/container#{n}/status")),
            "down\n",
            "{log}"
        );
    }
    let why = "PID 1 (/bin/sh) of container#1 has no SIGTERM handler: killing at once; set stop_wait = timeout to wait anyway";
    assert_eq!(lines_with(&log, why).len(), 1, "{log}");
    let kills = lines_with(&log, " kill --signal KILL ");
    assert_eq!(kills.len(), 1, "{log}");
    assert!(
        kills[0].contains("STOPWAIT.SVCFS.TEST.CONTAINER#1 "),
        "{log}"
    );
    for n in [2, 3] {
        let stops: Vec<String> = lines_with(&log, &format!("CONTAINER#{n} docker -H "))
            .into_iter()
            .filter(|l| l.contains(" stop "))
            .collect();
        assert_eq!(stops.len(), 1, "container#{n} must get docker stop:\n{log}");
    }
}

/// `--env-file` is read when the container is created, not when the file is
/// loaded: a missing one fails that start naming the file, and the same
/// daemon picks the file up once it exists.
#[test]
fn env_file_is_read_when_the_container_is_created() {
    if !prerequisites() {
        return;
    }
    let svc = "envfile.svcfs.test";
    let sandbox = Sandbox::new("envfile", &[svc]);
    let env_file = sandbox.root.join("app.env");
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = sleep 1000\n\
             run_args = --env-file {} -e FROM_ARGS=1\nstop_timeout = 1\n",
            env_file.display()
        ),
    );
    let d = sandbox.mount(&[]);
    assert_eq!(d.read(&format!("{svc}/container#1/status")), "down\n");

    assert_eq!(d.ctl(&format!("{svc}/ctl"), "start"), Err(libc::EINVAL));
    let log = d.read(&format!("{svc}/log"));
    assert!(
        log.contains(&format!("--env-file {}", env_file.display())),
        "the error names the file:\n{log}"
    );

    std::fs::write(&env_file, "GREETING=from-the-file\n").unwrap();
    d.must(&format!("{svc}/ctl"), "start");
    let env = docker(&[
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &format!("{svc}.container.1"),
    ])
    .unwrap();
    assert!(
        env.contains("\"GREETING=from-the-file\"") && env.contains("\"FROM_ARGS=1\""),
        "{env}"
    );
}
