//! Healing against recording drivers on tokio's paused clock: restart
//! counting and delays, user-stopped resources, the restart limit, the
//! monitor, freeze and hold, `clear`, and the failure ledger. Waits are
//! virtual time; what is asserted is which calls were made.

use std::time::Duration;

use super::action_tests::{fixture, Fixture, LIMIT};
use super::heal::{restart_delay, RESTART_DELAY_MAX};
use super::*;

const ONE: &str = "[container#1]\nrun_image = a\nrestart = 2\n";

impl Fixture {
    fn starts(&self, rid: &str) -> usize {
        let wanted = format!("start {rid}");
        self.calls().iter().filter(|c| **c == wanted).count()
    }

    fn resource(&self, rid: &str) -> crate::model::ResourceSnapshot {
        self.runtime.snapshot().resource(rid).unwrap().clone()
    }

    fn file(&self, name: &str) -> String {
        let tree = self.runtime.tree();
        String::from_utf8(tree.file(name).unwrap().content.to_vec()).unwrap()
    }

    fn resource_file(&self, rid: &str, name: &str) -> String {
        let tree = self.runtime.tree();
        let file = tree.resource(rid).unwrap().file(name).unwrap();
        String::from_utf8(file.content.to_vec()).unwrap()
    }

    /// `rid` dies behind svcfs's back and a refresh sees it.
    async fn crash(&self, rid: &str) {
        self.drivers[rid].set_status(Status::Down);
        self.runtime.refresh(LIMIT).await;
    }

    async fn ctl(&self, verb: Verb, rid: &str) -> Result<()> {
        self.runtime.run_on_resource(rid, verb, "n", LIMIT).await
    }
}

async fn wait(seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
}

/// Let the tasks spawned so far run (a hold publishes from one).
async fn settle() {
    wait(0.001).await;
}

#[test]
fn delays_double_per_try_up_to_a_cap() {
    let base = Duration::from_millis(500);
    let waits: Vec<u128> = (0..9).map(|t| restart_delay(base, t).as_millis()).collect();
    assert_eq!(
        waits,
        [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
    );
    assert_eq!(restart_delay(base, u32::MAX), RESTART_DELAY_MAX);
    // A delay set longer than the cap is used as it is.
    let long = Duration::from_secs(60);
    assert_eq!(restart_delay(long, 3), long);
}

#[tokio::test(start_paused = true)]
async fn a_resource_that_goes_down_is_restarted_up_to_restart_times_then_warns() {
    let f = fixture(ONE);
    f.run(Verb::Start).await.unwrap();
    assert_eq!(f.starts("container#1"), 1);

    f.crash("container#1").await;
    wait(1.0).await;
    assert_eq!(f.starts("container#1"), 2);
    assert_eq!(f.status("container#1"), Status::Up);
    assert_eq!(f.resource("container#1").restarts, 1);

    f.crash("container#1").await;
    wait(3.0).await;
    assert_eq!(f.starts("container#1"), 3);
    assert_eq!(f.resource("container#1").restarts, 2);

    // The tries are spent: left down, shown warn, said once.
    f.crash("container#1").await;
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 3);
    let c1 = f.resource("container#1");
    assert_eq!(c1.state.status, Status::Warn);
    assert!(
        c1.state
            .messages
            .contains(&"restart limit reached after 2 tries".to_string()),
        "{:?}",
        c1.state.messages
    );
    assert_eq!(c1.failures.count, 3);
    let lines = f.runtime.log().resource_lines("container#1");
    assert!(
        lines.iter().any(|l| l.contains("restart try 1/2")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("restart try 2/2")),
        "{lines:?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("restart limit reached"))
            .count(),
        1
    );
    assert!(f
        .resource_file("container#1", "failures")
        .starts_with("3\nwent down without a ctl stop\n"));

    // A successful ctl start resets the tries.
    f.ctl(Verb::Start, "container#1").await.unwrap();
    assert_eq!(f.status("container#1"), Status::Up);
    f.crash("container#1").await;
    wait(1.0).await;
    assert_eq!(f.starts("container#1"), 5);
}

#[tokio::test(start_paused = true)]
async fn each_try_waits_twice_as_long_as_the_one_before() {
    let f = fixture("[container#1]\nrun_image = a\nrestart = 3\n");
    f.run(Verb::Start).await.unwrap();
    f.crash("container#1").await;
    // First try after 500 ms.
    wait(0.4).await;
    assert_eq!(f.starts("container#1"), 1);
    wait(0.2).await;
    assert_eq!(f.starts("container#1"), 2);
    // Second after 1 s more.
    f.crash("container#1").await;
    wait(0.9).await;
    assert_eq!(f.starts("container#1"), 2);
    wait(0.2).await;
    assert_eq!(f.starts("container#1"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_failed_restart_counts_as_a_try_and_in_the_ledger() {
    let f = fixture(ONE);
    f.run(Verb::Start).await.unwrap();
    f.drivers["container#1"].fail_next(Error::backend("no such image"));
    f.crash("container#1").await;
    wait(0.6).await;
    assert_eq!(f.starts("container#1"), 2);
    let c1 = f.resource("container#1");
    assert_eq!(c1.failures.count, 2, "{:?}", c1.failures);
    assert_eq!(
        c1.failures.last.unwrap().error,
        "start failed: no such image"
    );
    // The second try (after 1 s) succeeds.
    wait(1.1).await;
    assert_eq!(f.starts("container#1"), 3);
    assert_eq!(f.status("container#1"), Status::Up);
    // Up again: the failed start's message is gone, the ledger keeps it.
    let c1 = f.resource("container#1");
    assert!(c1.state.messages.is_empty(), "{:?}", c1.state.messages);
    assert_eq!(c1.failures.count, 2);
}

#[tokio::test(start_paused = true)]
async fn a_resource_stopped_through_ctl_is_never_restarted() {
    let f = fixture(ONE);
    f.run(Verb::Start).await.unwrap();
    f.ctl(Verb::Stop, "container#1").await.unwrap();
    f.runtime.refresh(LIMIT).await;
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 1);
    assert_eq!(f.status("container#1"), Status::Down);
    assert_eq!(f.resource("container#1").failures.count, 0);

    // The service's stop marks every resource too.
    f.run(Verb::Start).await.unwrap();
    f.run(Verb::Stop).await.unwrap();
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 2);

    // Started again: restarted again.
    f.ctl(Verb::Start, "container#1").await.unwrap();
    f.crash("container#1").await;
    wait(1.0).await;
    assert_eq!(f.starts("container#1"), 4);
}

#[tokio::test(start_paused = true)]
async fn a_resource_never_seen_up_is_not_restarted() {
    let f = fixture(ONE);
    f.runtime.refresh(LIMIT).await;
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 0);
    assert_eq!(f.resource("container#1").failures.count, 0);
}

#[tokio::test(start_paused = true)]
async fn an_unhealthy_resource_is_stopped_and_started() {
    let f = fixture(ONE);
    f.run(Verb::Start).await.unwrap();
    f.drivers["container#1"].turn_unhealthy();
    f.runtime.refresh(LIMIT).await;
    let c1 = f.resource("container#1");
    assert_eq!(c1.state.status, Status::Warn);
    assert_eq!(c1.state.messages, ["container is unhealthy: probe failed"]);
    wait(1.0).await;
    assert_eq!(
        f.calls(),
        ["start container#1", "stop container#1", "start container#1"]
    );
    assert_eq!(f.status("container#1"), Status::Up);
    let c1 = f.resource("container#1");
    assert_eq!(c1.failures.count, 1);
    assert_eq!(
        c1.failures.last.unwrap().error,
        "container is unhealthy: probe failed"
    );
    // The healer's stop did not make it user-stopped.
    f.crash("container#1").await;
    wait(2.0).await;
    assert_eq!(f.starts("container#1"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_frozen_service_is_watched_but_not_healed_until_thawed() {
    let f = fixture(ONE);
    f.run(Verb::Start).await.unwrap();
    f.run(Verb::Freeze).await.unwrap();
    assert!(f.file("frozen").starts_with("yes\nfrozen through ctl at "));
    assert!(f
        .file("overview")
        .contains("# frozen (frozen through ctl at "));
    f.crash("container#1").await;
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 1);
    // Monitoring goes on: the failure is seen and counted.
    assert_eq!(f.status("container#1"), Status::Down);
    assert_eq!(f.resource("container#1").failures.count, 1);

    f.run(Verb::Thaw).await.unwrap();
    assert_eq!(f.file("frozen"), "no\n");
    wait(1.0).await;
    assert_eq!(f.starts("container#1"), 2);
    assert_eq!(f.status("container#1"), Status::Up);
}

#[tokio::test(start_paused = true)]
async fn a_hold_freezes_until_its_last_holder_goes() {
    let f = fixture(ONE);
    f.run(Verb::Start).await.unwrap();
    f.runtime.hold_opened(7, 4242);
    f.runtime.hold_opened(8, 4343);
    settle().await;
    assert_eq!(f.file("frozen"), "yes\nhold open by pid 4242, 4343\n");
    assert_eq!(f.file("hold"), "4242\n4343\n");
    f.crash("container#1").await;
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 1);
    f.runtime.hold_released(7);
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 1);
    assert_eq!(f.file("frozen"), "yes\nhold open by pid 4343\n");
    f.runtime.hold_released(8);
    settle().await;
    assert_eq!(f.file("frozen"), "no\n");
    wait(1.0).await;
    assert_eq!(f.starts("container#1"), 2);
    let lines = f.runtime.log().service_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("hold: released by pid 4343: the service is thawed")),
        "{lines:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn freeze_and_thaw_take_no_rid() {
    let f = fixture(ONE);
    let e = f
        .runtime
        .run(Verb::Freeze, &["container#1".into()], "n", LIMIT)
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    assert!(!f.runtime.is_frozen());
}

#[tokio::test(start_paused = true)]
async fn a_ctl_freeze_is_kept_across_daemon_restarts() {
    let dir = crate::drivers::mounts::tests::TempDir::new("freeze");
    let path = dir.path().join("svc").join("frozen");
    let f = fixture(ONE);
    f.runtime.keep_freeze_in(path.clone());
    f.run(Verb::Freeze).await.unwrap();
    assert!(path.exists());
    // The next daemon.
    let next = fixture(ONE);
    next.runtime.keep_freeze_in(path.clone());
    assert!(next.runtime.is_frozen());
    assert!(next
        .file("frozen")
        .starts_with("yes\nfrozen through ctl at "));
    next.run(Verb::Thaw).await.unwrap();
    assert!(!path.exists());
    let after = fixture(ONE);
    after.runtime.keep_freeze_in(path);
    assert!(!after.runtime.is_frozen());
}

#[tokio::test(start_paused = true)]
async fn clear_resets_the_ledger_tries_marks_and_stale_messages() {
    let f = fixture("[container#1]\nrun_image = a\nrestart = 1\n[container#2]\nrun_image = b\n");
    f.run(Verb::Start).await.unwrap();
    f.crash("container#1").await;
    wait(1.0).await;
    f.crash("container#1").await;
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 2);
    assert_eq!(f.resource("container#1").state.status, Status::Warn);
    assert_eq!(
        f.resource_file("container#1", "failures").lines().next(),
        Some("2")
    );
    // container#2 stopped through ctl, with a failed start after.
    f.ctl(Verb::Stop, "container#2").await.unwrap();
    f.drivers["container#2"].fail_next(Error::backend("boom"));
    assert!(f.ctl(Verb::Start, "container#2").await.is_err());
    f.ctl(Verb::Stop, "container#2").await.unwrap();
    assert_eq!(f.resource("container#2").failures.count, 1);

    // One resource's clear touches only it.
    f.ctl(Verb::Clear, "container#2").await.unwrap();
    assert_eq!(f.resource_file("container#2", "failures"), "0\n");
    assert_eq!(f.resource("container#1").failures.count, 2);

    // The service's clear: tries reset, so the monitor recovers it.
    f.run(Verb::Clear).await.unwrap();
    assert_eq!(f.resource_file("container#1", "failures"), "0\n");
    wait(1.0).await;
    assert_eq!(f.starts("container#1"), 3);
    let c1 = f.resource("container#1");
    assert_eq!(c1.state.status, Status::Up);
    assert!(c1.state.messages.is_empty(), "{:?}", c1.state.messages);
    // The restart counter is a counter: clear keeps it.
    assert_eq!(c1.restarts, 2);
    // A cleared user-stop mark does not start anything by itself.
    assert_eq!(f.starts("container#2"), 2);
    assert_eq!(f.status("container#2"), Status::Down);
    let e = f
        .runtime
        .run(Verb::Clear, &["fs#9".into()], "n", LIMIT)
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
}

#[tokio::test(start_paused = true)]
async fn a_failed_action_s_message_clears_once_the_resource_is_seen_up() {
    let f = fixture("[container#1]\nrun_image = a\n");
    f.drivers["container#1"].fail_next(Error::backend("boom"));
    assert!(f.run(Verb::Start).await.is_err());
    f.runtime.refresh(LIMIT).await;
    assert_eq!(
        f.resource("container#1").state.messages,
        ["start failed: boom"]
    );
    // Fixed by hand.
    f.drivers["container#1"].set_status(Status::Up);
    f.runtime.refresh(LIMIT).await;
    let c1 = f.resource("container#1");
    assert!(c1.state.messages.is_empty(), "{:?}", c1.state.messages);
    assert_eq!(f.runtime.snapshot().overall, Status::Up);
    assert_eq!(c1.failures.count, 1);
    assert!(f
        .resource_file("container#1", "failures")
        .starts_with("1\nstart failed: boom\n20"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_s_message_stays_while_the_resource_is_up_but_not_healthy() {
    let f = fixture("[container#1]\nrun_image = a\n");
    f.drivers["container#1"].fail_next(Error::timed_out("not healthy within start_timeout"));
    assert!(f.run(Verb::Start).await.is_err());
    // Running, its health check still starting: up, with a message.
    f.drivers["container#1"].set_status(Status::Up);
    f.drivers["container#1"].say("health check starting");
    f.runtime.refresh(LIMIT).await;
    assert_eq!(
        f.resource("container#1").state.messages,
        [
            "health check starting",
            "start failed: not healthy within start_timeout"
        ]
    );
    f.drivers["container#1"].say("");
    f.runtime.refresh(LIMIT).await;
    assert!(f.resource("container#1").state.messages.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_stop_s_message_stays_while_the_resource_is_up() {
    let f = fixture("[container#1]\nrun_image = a\n");
    f.run(Verb::Start).await.unwrap();
    f.drivers["container#1"].fail_next(Error::busy("in use"));
    assert!(f.run(Verb::Stop).await.is_err());
    f.runtime.refresh(LIMIT).await;
    assert_eq!(
        f.resource("container#1").state.messages,
        ["stop failed: in use"]
    );
    f.drivers["container#1"].set_status(Status::Down);
    f.runtime.refresh(LIMIT).await;
    assert!(f.resource("container#1").state.messages.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_monitored_resource_down_makes_the_service_warn() {
    let f = fixture("[container#1]\nrun_image = a\nmonitor = true\n[container#2]\nrun_image = b\n");
    f.run(Verb::Start).await.unwrap();
    assert!(f.resource("container#1").flags.monitored);
    assert!(f.file("overview").contains("container#1    M... up"));
    f.crash("container#1").await;
    let snapshot = f.runtime.snapshot();
    assert_eq!(snapshot.overall, Status::Warn);
    assert!(
        snapshot
            .messages
            .contains(&"monitored resource container#1 is down".to_string()),
        "{:?}",
        snapshot.messages
    );
    // monitor_action none: nothing else happens.
    wait(120.0).await;
    assert!(!f.runtime.is_frozen());
    assert_eq!(f.calls().len(), 2);
    // Up again: the alert goes.
    f.drivers["container#1"].set_status(Status::Up);
    f.runtime.refresh(LIMIT).await;
    assert!(f.runtime.snapshot().messages.is_empty());
}

#[tokio::test(start_paused = true)]
async fn freezestop_freezes_then_stops_once_the_restarts_are_spent() {
    let f = fixture(
        "[DEFAULT]\nmonitor_action = freezestop\n\
         [container#1]\nrun_image = a\nmonitor = true\nrestart = 1\n\
         [container#2]\nrun_image = b\n",
    );
    f.run(Verb::Start).await.unwrap();
    f.crash("container#1").await;
    wait(1.0).await;
    // The restart came first.
    assert_eq!(f.starts("container#1"), 2);
    assert!(!f.runtime.is_frozen());
    f.crash("container#1").await;
    wait(10.0).await;
    assert!(f.runtime.is_frozen());
    assert!(f
        .file("frozen")
        .starts_with("yes\nfrozen by monitor_action freezestop: container#1 went down at "));
    let calls = f.calls();
    assert_eq!(
        &calls[calls.len() - 2..],
        ["stop container#2", "stop container#1"]
    );
    assert_eq!(f.status("container#2"), Status::Down);
    let lines = f.runtime.log().service_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("monitor_action freezestop: service stopped")),
        "{lines:?}"
    );
    // Thawed: what freezestop stopped is user-stopped, nothing restarts.
    f.run(Verb::Thaw).await.unwrap();
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_restart_waits_for_a_running_action() {
    let f = fixture(ONE);
    f.run(Verb::Start).await.unwrap();
    let guard = f.runtime.try_begin("start").unwrap();
    f.crash("container#1").await;
    wait(60.0).await;
    assert_eq!(f.starts("container#1"), 1);
    drop(guard);
    // The pass skipped while it ran happens at the next refresh.
    f.runtime.refresh(LIMIT).await;
    wait(1.0).await;
    assert_eq!(f.starts("container#1"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_service_that_left_the_tree_is_not_restarted() {
    let f = fixture(ONE);
    f.run(Verb::Start).await.unwrap();
    f.crash("container#1").await;
    // The restart waits for its delay; the service file goes meanwhile.
    f.runtime.retire();
    wait(120.0).await;
    assert_eq!(f.starts("container#1"), 1);
}
