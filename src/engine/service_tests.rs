//! Plans, refusals and failures of a service's actions, and what they
//! leave in the snapshot.

use super::*;
use crate::config::parse_service;
use crate::drivers::InvalidDriver;
use std::path::Path;

fn loaded(text: &str) -> LoadedService {
    let config = parse_service(
        &crate::drivers::registry::KINDS,
        "svc",
        Path::new("/x/svc.env"),
        text,
    );
    let resources = config
        .resources
        .iter()
        .map(|r| LoadedResource {
            config: r.clone(),
            driver: Arc::new(InvalidDriver::new("test".into(), String::new())),
        })
        .collect();
    LoadedService {
        config: Arc::new(config),
        resources,
        docker_host: crate::docker::DEFAULT_DOCKER_HOST.to_string(),
    }
}

const TUTORIAL: &str = include_str!("../../tests/data/app.opensvc.com.env");

fn plan_rids(l: &LoadedService, verb: Verb, rids: &[&str]) -> Vec<String> {
    let rids: Vec<String> = rids.iter().map(|s| s.to_string()).collect();
    plan(l, verb, &rids)
        .unwrap()
        .into_iter()
        .map(|(i, op)| format!("{:?} {}", op, l.resources[i].config.rid))
        .collect()
}

#[test]
fn start_follows_kind_order_and_stop_reverses_it() {
    let l = loaded(TUTORIAL);
    assert_eq!(
        plan_rids(&l, Verb::Start, &[]),
        [
            "Start ip#1",
            "Start vg#1",
            "Start fs#1",
            "Start fs#2",
            "Start dockerd",
            "Start container#1",
            "Start container#2",
            "Start container#3"
        ]
    );
    assert_eq!(
        plan_rids(&l, Verb::Stop, &[]),
        [
            "Stop container#3",
            "Stop container#2",
            "Stop container#1",
            "Stop dockerd",
            "Stop fs#2",
            "Stop fs#1",
            "Stop vg#1",
            "Stop ip#1"
        ]
    );
}

#[test]
fn container_verbs_cover_the_private_daemon() {
    let l = loaded(TUTORIAL);
    assert_eq!(
        plan_rids(&l, Verb::StartContainer, &[]),
        [
            "Start dockerd",
            "Start container#1",
            "Start container#2",
            "Start container#3"
        ]
    );
    assert_eq!(
        plan_rids(&l, Verb::StopContainer, &[]),
        [
            "Stop container#3",
            "Stop container#2",
            "Stop container#1",
            "Stop dockerd"
        ]
    );
}

#[test]
fn container_verbs_refuse_other_resources() {
    let l = loaded(TUTORIAL);
    let e = plan(&l, Verb::StartContainer, &["ip#1".to_string()]).unwrap_err();
    assert_eq!(e.errno(), libc::EOPNOTSUPP);
    assert!(e.message().contains("not on ip#1"), "{e}");
    assert_eq!(
        plan_rids(&l, Verb::StopContainer, &["container#2"]),
        ["Stop container#2"]
    );
}

#[test]
fn rid_selection_keeps_start_order_whatever_the_written_order() {
    let l = loaded(TUTORIAL);
    assert_eq!(
        plan_rids(&l, Verb::Start, &["container#2", "fs#1"]),
        ["Start fs#1", "Start container#2"]
    );
    assert_eq!(
        plan_rids(&l, Verb::Restart, &["container#1"]),
        ["Stop container#1", "Start container#1"]
    );
}

#[test]
fn unknown_rid_is_einval_and_lists_the_resources() {
    let l = loaded(TUTORIAL);
    let e = plan(&l, Verb::Start, &["container#9".to_string()]).unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    assert!(e.message().contains("container#1"));
}

#[test]
fn node_outside_nodes_is_eacces() {
    let l = loaded(TUTORIAL);
    assert!(check_node(&l.config, "deb1.opensvc.com").is_ok());
    let e = check_node(&l.config, "other").unwrap_err();
    assert_eq!(e.errno(), libc::EACCES);
    assert!(e.message().contains("deb1.opensvc.com"));
    assert!(check_node(&loaded("[container#1]\nrun_image = a\n").config, "any").is_ok());
}

#[tokio::test]
async fn failing_resource_stops_the_action_and_is_remembered() {
    let runtime = ServiceRuntime::new_for_test(loaded(
        "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\n",
    ));
    let e = runtime
        .run(Verb::Start, &[], "n", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    assert!(e.message().starts_with("container#1: "), "{e}");
    let lines = runtime.log().service_lines();
    assert!(
        lines.iter().any(|l| l.contains("start interrupted here")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("CONTAINER#2")),
        "container#2 must not be tried"
    );
    let snapshot = runtime.snapshot();
    let c1 = snapshot.resource("container#1").unwrap();
    assert!(c1
        .state
        .messages
        .iter()
        .any(|m| m.starts_with("start failed: ")));
}

#[tokio::test]
async fn a_failure_at_the_last_step_claims_nothing_was_skipped() {
    // In a restart plan the resource appears twice (stop, then start).
    let runtime = ServiceRuntime::new_for_test(loaded("[container#1]\nrun_image = a\n"));
    let e = runtime
        .run(
            Verb::Restart,
            &["container#1".to_string()],
            "n",
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    let lines = runtime.log().service_lines();
    assert!(
        !lines.iter().any(|l| l.contains("interrupted here")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn optional_failures_do_not_stop_the_action() {
    let runtime = ServiceRuntime::new_for_test(loaded(
        "[container#1]\nrun_image = a\noptional = true\n[container#2]\nrun_image = b\n",
    ));
    let e = runtime
        .run(Verb::Start, &[], "n", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(e.message().starts_with("container#2: "), "{e}");
}

#[test]
fn an_exit_turns_an_up_container_down_at_once_and_nothing_else() {
    let runtime = ServiceRuntime::new_for_test(loaded(
        "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\n",
    ));
    {
        let mut known = lock(&runtime.known);
        let epoch = known.begin_check();
        known.record(
            "container#1".into(),
            epoch,
            ResourceState::new(Status::Up, "id@a"),
        );
        let warned = ResourceState::new(Status::Warn, "id@b").with_message("drift");
        known.record("container#2".into(), epoch, warned);
    }
    runtime.saw_exit("container#1");
    runtime.saw_exit("container#2");
    runtime.saw_exit("container#9");
    let snapshot = runtime.snapshot();
    let c1 = &snapshot.resource("container#1").unwrap().state;
    assert_eq!((c1.status, c1.label.as_str()), (Status::Down, "id@a"));
    assert!(c1.messages.is_empty());
    let c2 = &snapshot.resource("container#2").unwrap().state;
    assert_eq!(c2.status, Status::Warn);
    // A check that began before the exit cannot bring "up" back.
    let mut known = lock(&runtime.known);
    assert!(!known.record(
        "container#1".into(),
        1,
        ResourceState::new(Status::Up, "id@a")
    ));
}

/// A driver whose start never ends: one that missed its own bounds.
struct Hangs;

#[async_trait::async_trait]
impl Driver for Hangs {
    async fn status(&self) -> ResourceState {
        ResourceState::new(Status::Down, "")
    }
    async fn start(&self, _log: &crate::actionlog::ResourceLog) -> Result<()> {
        std::future::pending().await
    }
    async fn stop(&self, _log: &crate::actionlog::ResourceLog) -> Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_step_past_the_engine_deadline_fails_naming_the_rid_and_frees_the_service() {
    let mut l = loaded("[vg#1]\nvgname = vgapp\n");
    l.resources[0].driver = Arc::new(Hangs);
    let runtime =
        ServiceRuntime::with_deadline(l, Observers::default(), |_, _| Duration::from_millis(50));
    let e = runtime
        .run(Verb::Start, &[], "n", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::ETIMEDOUT);
    assert!(
        e.message()
            .starts_with("vg#1: start did not finish within 0.05s (the engine's deadline"),
        "{e}"
    );
    let lines = runtime.log().service_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("start failed after") && l.contains("vg#1: start did not finish")),
        "{lines:?}"
    );
    assert!(!runtime.is_acting());
    let snapshot = runtime.snapshot();
    let failure = &snapshot.resource("vg#1").unwrap().state.messages;
    assert!(
        failure.iter().any(|m| m.starts_with("start failed: ")),
        "{failure:?}"
    );
    runtime
        .run(Verb::Stop, &[], "n", Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn second_action_while_one_runs_is_ebusy() {
    let runtime = ServiceRuntime::new_for_test(loaded("[container#1]\nrun_image = a\n"));
    let guard = runtime.try_begin("start").unwrap();
    let e = runtime
        .run(Verb::Stop, &[], "n", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EBUSY);
    assert!(e.message().contains("start (since"), "{e}");
    drop(guard);
}
