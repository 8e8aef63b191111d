//! The probe of a hung daemon against the fake one, on tokio's paused
//! clock: a daemon that stops answering is pinged, not its resources
//! checked, at a backoff capped at [`PROBE_DELAY_MAX`]; once it answers,
//! every resource it concerns converges.

use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::docker::fake::{Call, FakeContainer, FakeDocker};
use crate::drivers::container::{LABEL_RID, LABEL_SERVICE};
use crate::engine::{Backends, EngineOptions};
use crate::model::Status;

const HOST: &str = "unix:///run/fake-probe.sock";
const IMAGE: &str = "sha256:f66342b343ae0000000000000000000000000000000000000000000000000000";
const LIMIT: Duration = Duration::from_secs(5);

/// An engine with services `app` and `other` of two running containers
/// each in one fake daemon, refreshed once.
async fn engine() -> (Arc<Engine>, Arc<FakeDocker>, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "svcfs-ut-probe-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let docker = Arc::new(FakeDocker::new(HOST));
    docker.add_image(IMAGE, &["busybox:latest"]);
    for service in ["app", "other"] {
        std::fs::write(
            dir.join(format!("{service}.env")),
            "[container#1]\nrun_image = busybox:latest\n[container#2]\nrun_image = busybox:latest\n",
        )
        .unwrap();
        for n in 1..=2 {
            let rid = format!("container#{n}");
            docker.add_container(
                FakeContainer::new(
                    &format!("{service}.container.{n}"),
                    IMAGE,
                    &[(LABEL_SERVICE, service), (LABEL_RID, rid.as_str())],
                )
                .started(),
            );
        }
    }
    let engine = Engine::new(
        EngineOptions {
            config_dir: dir.clone(),
            var_dir: dir.join("var"),
            nodename: "n1".into(),
            docker_host: HOST.into(),
            // No reconcile pass runs within these tests.
            refresh_interval: Duration::from_secs(3600),
            status_timeout: LIMIT,
        },
        Backends::fake(docker.clone()),
    );
    engine.reload(true);
    engine.refresh_all().await;
    (engine, docker, dir)
}

fn status(engine: &Engine, service: &str, rid: &str) -> (Status, Vec<String>) {
    let snapshot = engine.service(service).unwrap().snapshot();
    let r = snapshot.resource(rid).unwrap();
    (r.state.status, r.state.messages.clone())
}

fn count(docker: &FakeDocker, name: &str) -> usize {
    docker.calls().iter().filter(|c| c.name() == name).count()
}

/// Hang every call of the daemon (SIGSTOP), or let them through again
/// (SIGCONT): a call under way then waits out its hour, as a request
/// that was cut short by its bound does.
fn hang(docker: &FakeDocker, hung: bool) {
    let delay = if hung {
        Duration::from_secs(3600)
    } else {
        Duration::ZERO
    };
    for call in ["ping", "inspect container", "inspect image"] {
        docker.delay(call, delay);
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_daemon_is_pinged_until_it_answers_then_everything_it_serves_converges() {
    let (engine, docker, dir) = engine().await;
    assert_eq!(status(&engine, "app", "container#1").0, Status::Up);
    hang(&docker, true);
    // A check (an action's, an event's) times out.
    engine.service("app").unwrap().refresh(LIMIT).await;
    let (word, messages) = status(&engine, "app", "container#1");
    assert_eq!(word, Status::Warn);
    assert!(
        messages[0].contains("did not answer within 5s"),
        "{messages:?}"
    );
    // `other` was not checked: it still reads up, from before.
    assert_eq!(status(&engine, "other", "container#2").0, Status::Up);
    let inspections = count(&docker, "inspect container");
    // A minute of silence: pings only, ever rarer, at most every 4 s.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let pings = count(&docker, "ping");
    assert!((14..=20).contains(&pings), "{pings} pings in 60 s");
    assert_eq!(count(&docker, "inspect container"), inspections);
    // Meanwhile the containers stopped behind svcfs's back.
    docker.update("app.container.2", |c| {
        c.status = bollard::models::ContainerStateStatusEnum::EXITED
    });
    hang(&docker, false);
    // Within the longest interval and a check, every resource converges:
    // app's both, and other's, whose daemon it is too.
    tokio::time::sleep(PROBE_DELAY_MAX + Duration::from_millis(500)).await;
    assert_eq!(status(&engine, "app", "container#1"), (Status::Up, vec![]));
    assert_eq!(status(&engine, "app", "container#2").0, Status::Down);
    assert_eq!(status(&engine, "other", "container#1").0, Status::Up);
    // And the probe ended: no more pings.
    let pings = count(&docker, "ping");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(count(&docker, "ping"), pings);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn many_unanswered_checks_make_one_probe_and_an_answer_elsewhere_ends_it() {
    let (engine, docker, dir) = engine().await;
    hang(&docker, true);
    let (app, other) = (
        engine.service("app").unwrap(),
        engine.service("other").unwrap(),
    );
    futures_util::join!(app.refresh(LIMIT), other.refresh(LIMIT));
    // Four checks timed out, and more say so: one probe, pinging 0.25,
    // 0.75, 1.75 and 3.75 s later.
    for _ in 0..5 {
        engine.daemon_unanswered(HOST);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pings = count(&docker, "ping");
    assert!((3..=4).contains(&pings), "{pings} pings");
    engine.daemon_unanswered(HOST);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(count(&docker, "ping"), pings);
    // The checks answer again by other means (an event's refresh): the
    // probe ends at its next turn without pinging.
    hang(&docker, false);
    engine.refresh_all().await;
    assert_eq!(status(&engine, "other", "container#1").0, Status::Up);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(count(&docker, "ping"), pings);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_daemon_that_answers_pings_but_fails_checks_is_probed_at_the_longest_interval() {
    let (engine, docker, dir) = engine().await;
    docker.delay("inspect container", Duration::from_secs(3600));
    engine.refresh_all().await;
    // Pings answer, checks still time out: each round is a ping, then a
    // check of every resource (5 s to time out), the next ping 4 s on.
    tokio::time::sleep(Duration::from_secs(120)).await;
    let pings = count(&docker, "ping");
    assert!((12..=16).contains(&pings), "{pings} pings in 120 s");
    assert!(!docker.calls().contains(&Call::Reset));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_backoff_doubles_up_to_its_cap() {
    let mut delay = PROBE_DELAY;
    let mut waits = vec![delay.as_millis()];
    for _ in 0..6 {
        delay = next_delay(delay);
        waits.push(delay.as_millis());
    }
    assert_eq!(waits, [250, 500, 1000, 2000, 4000, 4000, 4000]);
}
