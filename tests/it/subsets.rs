//! Parallel subsets with a real dockerd: three containers of one subset
//! with `parallel = true` start and stop together; a member that cannot
//! start fails the action with a clear message once its siblings ended,
//! and the log names the ones that started.

use std::time::Duration;

use crate::harness::*;

fn member(rid: &str, image: &str) -> String {
    format!("[{rid}]\nrun_image = {image}\nrun_command = /bin/sh\nstop_timeout = 1\nsubset = web\n")
}

#[test]
fn a_parallel_subset_starts_and_stops_together() {
    if !prerequisites() {
        return;
    }
    let svc = "subsets.svcfs.test";
    let sandbox = Sandbox::new("subsets", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}{}{}[subset#web]\nparallel = true\n",
            member("container#1", "busybox:latest"),
            member("container#2", "busybox:latest"),
            member("container#3", "busybox:latest"),
        ),
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    for n in 1..=3 {
        assert!(
            container_running(&format!("{svc}.container.{n}")),
            "container#{n}"
        );
    }
    assert_eq!(d.read(&format!("{svc}/avail")), "up\n");
    let log = d.read(&format!("{svc}/log"));
    assert!(
        log.contains("subset web: start container#1, container#2, container#3 side by side"),
        "{log}"
    );
    d.must(&format!("{svc}/ctl"), "stop");
    for n in 1..=3 {
        assert!(
            !container_running(&format!("{svc}.container.{n}")),
            "container#{n}"
        );
    }
    assert!(d
        .read(&format!("{svc}/log"))
        .contains("subset web: stop container#3, container#2, container#1 side by side"));
    // One member alone.
    d.must(&format!("{svc}/ctl"), "start --rid container#2");
    assert!(container_running(&format!("{svc}.container.2")));
    assert!(!container_running(&format!("{svc}.container.1")));
    d.must(&format!("{svc}/ctl"), "stop");
}

#[test]
fn a_member_that_cannot_start_fails_the_action_after_its_siblings() {
    if !prerequisites() {
        return;
    }
    let svc = "subsetfail.svcfs.test";
    let sandbox = Sandbox::new("subsets-fail", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}{}{}[subset#container:web]\nparallel = true\n",
            member("container#1", "busybox:latest"),
            member("container#2", "svcfs-no-such-image:latest"),
            member("container#3", "busybox:latest"),
        ),
    );
    let d = sandbox.mount(&[]);
    let result = d.ctl(&format!("{svc}/ctl"), "start");
    assert!(result.is_err(), "a start with a missing image succeeded");
    // The siblings ran to their end and are up; the log says so.
    for n in [1, 3] {
        assert!(
            container_running(&format!("{svc}.container.{n}")),
            "container#{n}"
        );
    }
    let log = d.read(&format!("{svc}/log"));
    assert!(
        log.contains("subset web: container#2 failed to start; container#1, container#3 started"),
        "{log}"
    );
    let messages = d.read(&format!("{svc}/container#2/messages"));
    assert!(messages.contains("svcfs-no-such-image"), "{messages}");
    converges(
        &d,
        &format!("{svc}/avail"),
        "warn\n",
        Duration::from_secs(5),
    );
    d.must(&format!("{svc}/ctl"), "stop");
}
