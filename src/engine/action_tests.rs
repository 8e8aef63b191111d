//! The engine's success paths against recording drivers: the order of
//! an action's steps, what `disable` and `optional` change, where a failure
//! stops it, and that a slow status check never overwrites a newer one.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::*;
use crate::config::parse_service;
use crate::drivers::fake::{FakeDriver, Journal};

pub(super) const LIMIT: Duration = Duration::from_secs(5);

/// Resources written out of order on purpose: the plan orders them.
const SERVICE: &str = "\
[container#2]\nrun_image = b\n\
[fs#1]\ndev = /dev/loop9\nmnt = /m\ntype = ext4\n\
[container#1]\nrun_image = a\n\
[ip#1]\nipname = 127.0.0.42\nipdev = lo\n";

pub(super) struct Fixture {
    pub(super) runtime: Arc<ServiceRuntime>,
    pub(super) journal: Journal,
    pub(super) drivers: HashMap<String, Arc<FakeDriver>>,
}

pub(super) fn fixture(text: &str) -> Fixture {
    let config = parse_service(
        &crate::drivers::registry::KINDS,
        "svc",
        std::path::Path::new("/x/svc.env"),
        text,
    );
    let journal = Journal::default();
    let mut drivers = HashMap::new();
    let runtime = runtime_of(config, &journal, &mut drivers, |_| None);
    Fixture {
        runtime,
        journal,
        drivers,
    }
}

/// The runtime of `config`: each resource driven by what `own` gives it,
/// or else by a recording fake writing to `journal`, kept in `drivers`.
pub(super) fn runtime_of(
    config: crate::config::ServiceConfig,
    journal: &Journal,
    drivers: &mut HashMap<String, Arc<FakeDriver>>,
    own: impl Fn(&crate::config::ResourceConfig) -> Option<Arc<dyn crate::drivers::Driver>>,
) -> Arc<ServiceRuntime> {
    let resources = config
        .resources
        .iter()
        .map(|r| {
            let driver = own(r).unwrap_or_else(|| {
                let fake = FakeDriver::new(r.rid.as_str(), journal);
                drivers.insert(r.rid.to_string(), Arc::clone(&fake));
                fake
            });
            LoadedResource {
                config: r.clone(),
                driver,
            }
        })
        .collect();
    ServiceRuntime::new_for_test(LoadedService {
        config: Arc::new(config),
        resources,
        docker_host: crate::docker::DEFAULT_DOCKER_HOST.to_string(),
    })
}

impl Fixture {
    pub(super) fn calls(&self) -> Vec<String> {
        lock(&self.journal).clone()
    }

    pub(super) fn status(&self, rid: &str) -> Status {
        self.runtime.snapshot().resource(rid).unwrap().state.status
    }

    pub(super) async fn run(&self, verb: Verb) -> Result<()> {
        self.runtime.run(verb, &[], "n", LIMIT).await
    }
}

#[tokio::test]
async fn start_follows_the_resource_order_and_stop_reverses_it() {
    let f = fixture(SERVICE);
    f.run(Verb::Start).await.unwrap();
    assert_eq!(
        f.calls(),
        [
            "start ip#1",
            "start fs#1",
            "start container#1",
            "start container#2"
        ]
    );
    for rid in ["ip#1", "fs#1", "container#1", "container#2"] {
        assert_eq!(f.status(rid), Status::Up, "{rid}");
    }
    assert_eq!(f.runtime.snapshot().avail, Status::Up);
    let lines = f.runtime.log().service_lines();
    assert!(
        lines.iter().any(|l| l.contains("start done in")),
        "{lines:?}"
    );

    lock(&f.journal).clear();
    f.run(Verb::Stop).await.unwrap();
    assert_eq!(
        f.calls(),
        [
            "stop container#2",
            "stop container#1",
            "stop fs#1",
            "stop ip#1"
        ]
    );
    assert_eq!(f.runtime.snapshot().avail, Status::Down);
}

#[tokio::test]
async fn disabled_resources_are_skipped_and_shown_not_applicable() {
    let f = fixture(&SERVICE.replace("run_image = a\n", "run_image = a\ndisable = true\n"));
    f.run(Verb::Start).await.unwrap();
    assert!(
        !f.calls().iter().any(|c| c.ends_with("container#1")),
        "{:?}",
        f.calls()
    );
    assert_eq!(f.calls().len(), 3);
    assert_eq!(f.status("container#1"), Status::NotApplicable);
    assert_eq!(f.runtime.snapshot().avail, Status::Up);
    let lines = f.runtime.log().resource_lines("container#1");
    assert!(
        lines.iter().any(|l| l.contains("disabled, skipped")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn an_optional_failure_lets_the_rest_start_and_warns() {
    let f = fixture(&SERVICE.replace("ipdev = lo\n", "ipdev = lo\noptional = true\n"));
    f.drivers["ip#1"].fail_next(Error::backend("no such device"));
    f.run(Verb::Start).await.unwrap();
    assert_eq!(f.calls().len(), 4, "{:?}", f.calls());
    assert_eq!(f.status("container#2"), Status::Up);
    let snapshot = f.runtime.snapshot();
    // avail counts what is not optional; the failure still shows.
    assert_eq!(snapshot.avail, Status::Up);
    assert_eq!(snapshot.overall, Status::Warn);
    let ip = &snapshot.resource("ip#1").unwrap().state;
    assert!(
        ip.messages
            .iter()
            .any(|m| m == "start failed: no such device"),
        "{:?}",
        ip.messages
    );
}

#[tokio::test]
async fn the_first_failure_stops_the_action_and_what_started_stays_up() {
    let f = fixture(SERVICE);
    f.drivers["fs#1"].fail_next(Error::backend("mount: wrong fs type"));
    let e = f.run(Verb::Start).await.unwrap_err();
    assert_eq!(e.errno(), libc::EIO);
    assert_eq!(e.message(), "fs#1: mount: wrong fs type");
    assert_eq!(f.calls(), ["start ip#1", "start fs#1"]);
    assert_eq!(f.status("ip#1"), Status::Up);
    assert_eq!(f.status("container#1"), Status::Down);

    // The next start goes through and clears the failure.
    lock(&f.journal).clear();
    f.run(Verb::Start).await.unwrap();
    assert_eq!(f.calls().len(), 4);
    let snapshot = f.runtime.snapshot();
    let fs = &snapshot.resource("fs#1").unwrap().state;
    assert!(fs.messages.is_empty(), "{:?}", fs.messages);
}

#[tokio::test]
async fn a_slow_check_never_overwrites_what_a_later_one_saw() {
    let f = fixture("[container#1]\nrun_image = a\n");
    let gate = Arc::new(Notify::new());
    f.drivers["container#1"].hold_next_status(&gate);
    // A periodic refresh reads "down", then stalls...
    let slow = tokio::spawn({
        let runtime = Arc::clone(&f.runtime);
        async move { runtime.refresh(LIMIT).await }
    });
    tokio::task::yield_now().await;
    // ...while an action starts the container and checks it again.
    let log = f.runtime.log().resource("container#1");
    let loaded = f.runtime.loaded();
    let resource = &loaded.resources[0];
    resource.driver.start(&log).await.unwrap();
    f.runtime.refresh_resource(resource, LIMIT).await;
    assert_eq!(f.status("container#1"), Status::Up);
    // The stalled answer arrives last and is older: it is dropped.
    gate.notify_one();
    slow.await.unwrap();
    assert_eq!(f.status("container#1"), Status::Up);
}

async fn until_called(f: &Fixture, call: &str) {
    while !f.calls().iter().any(|c| c == call) {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_run_of_containers_is_prepared_together_once_what_precedes_it_is_up() {
    let f = fixture(SERVICE);
    // container#1's preparation waits for container#2's: unless both
    // run at once, the start never ends.
    let gate = Arc::new(Notify::new());
    f.drivers["container#1"].prepare_with(Some(&gate));
    f.drivers["container#2"].prepare_with(None);
    let release = async {
        until_called(&f, "prepare container#2").await;
        gate.notify_one();
    };
    let (result, ()) =
        tokio::time::timeout(LIMIT, async { tokio::join!(f.run(Verb::Start), release) })
            .await
            .expect("the run's preparations did not happen together");
    result.unwrap();
    assert_eq!(
        f.calls(),
        [
            "start ip#1",
            "start fs#1",
            "prepare container#2",
            "prepare container#1",
            "start container#1",
            "start container#2",
        ]
    );

    lock(&f.journal).clear();
    f.run(Verb::Stop).await.unwrap();
    assert!(
        f.calls().iter().all(|c| c.starts_with("stop ")),
        "{:?}",
        f.calls()
    );
}

#[tokio::test]
async fn an_interrupted_start_ends_after_the_preparations_it_began() {
    let f = fixture(SERVICE);
    let gate = Arc::new(Notify::new());
    f.drivers["container#1"].prepare_with(None);
    f.drivers["container#2"].prepare_with(Some(&gate));
    f.drivers["container#1"].fail_next(Error::backend("exited at once"));
    let run = tokio::spawn({
        let runtime = Arc::clone(&f.runtime);
        async move { runtime.run(Verb::Start, &[], "n", LIMIT).await }
    });
    until_called(&f, "start container#1").await;
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(
        !run.is_finished(),
        "the start ended before its preparations"
    );
    gate.notify_one();
    let e = run.await.unwrap().unwrap_err();
    assert_eq!(e.message(), "container#1: exited at once");
    let calls = f.calls();
    assert_eq!(
        calls[calls.len() - 2..],
        ["prepare container#2", "unused container#2"]
    );
    assert_eq!(f.status("container#2"), Status::Down);
}

#[tokio::test]
async fn an_interrupted_action_ends_with_the_reason_and_lets_the_next_one_in() {
    let f = fixture(SERVICE);
    let gate = Arc::new(Notify::new());
    f.drivers["container#1"].prepare_with(Some(&gate));
    f.drivers["container#2"].prepare_with(None);
    assert!(
        !f.runtime.interrupt(Error::no_quorum("fencing")),
        "nothing runs yet"
    );
    let run = tokio::spawn({
        let runtime = Arc::clone(&f.runtime);
        async move { runtime.run(Verb::Start, &[], "n", LIMIT).await }
    });
    // container#2's create is done, container#1's held: the start waits
    // for it, and a stop is refused.
    until_called(&f, "prepare container#2").await;
    let busy = f.run(Verb::Stop).await.unwrap_err();
    assert_eq!(busy.errno(), libc::EBUSY);
    assert!(f.runtime.interrupt(Error::no_quorum("fencing")));
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(
        !run.is_finished(),
        "the interrupted start ended before the create it began"
    );
    gate.notify_one();
    let e = run.await.unwrap().unwrap_err();
    assert_eq!((e.errno(), e.message()), (libc::EAGAIN, "fencing"));
    let calls = f.calls();
    assert!(
        !calls.contains(&"start container#1".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"unused container#1".to_string()),
        "{calls:?}"
    );
    assert!(f
        .runtime
        .snapshot()
        .log
        .service
        .iter()
        .any(|l| l.contains("interrupted: fencing")));
    f.run(Verb::Stop).await.unwrap();
    assert_eq!(f.status("ip#1"), Status::Down);
}

#[tokio::test]
async fn actions_are_counted_by_verb_and_result_for_metrics() {
    let f = fixture(SERVICE);
    f.drivers["fs#1"].fail_next(Error::backend("mount: wrong fs type"));
    f.run(Verb::Start).await.unwrap_err();
    f.run(Verb::Start).await.unwrap();
    f.run(Verb::Stop).await.unwrap();
    // No such resource: refused before anything runs.
    f.runtime
        .run(Verb::Stop, &["nope".to_string()], "n", LIMIT)
        .await
        .unwrap_err();
    let snapshot = f.runtime.snapshot();
    let counts = &snapshot.actions.counts;
    assert_eq!(counts[&("start", Outcome::Failed)], 1);
    assert_eq!(counts[&("start", Outcome::Ok)], 1);
    assert_eq!(counts[&("stop", Outcome::Ok)], 1);
    assert_eq!(counts[&("stop", Outcome::Refused)], 1);
    assert_eq!(snapshot.actions.durations["start"].count, 2);
    assert_eq!(snapshot.actions.durations["stop"].count, 1);
}

/// Three containers in a parallel subset between an ip and an app.
const SUBSET: &str = "\
[ip#1]\nipname = 127.0.0.42\nipdev = lo\n\
[container#1]\nrun_image = a\nsubset = web\n\
[container#2]\nrun_image = b\nsubset = web\n\
[container#3]\nrun_image = c\nsubset = web\n\
[container#4]\nrun_image = d\n\
[subset#web]\nparallel = true\n";

#[tokio::test]
async fn a_parallel_subset_starts_and_stops_side_by_side_in_its_kind_s_turn() {
    let f = fixture(SUBSET);
    let barrier = Arc::new(tokio::sync::Barrier::new(3));
    for rid in ["container#1", "container#2", "container#3"] {
        f.drivers[rid].meet_at(&barrier);
    }
    // Each member's start can only end once all three are under way.
    tokio::time::timeout(Duration::from_secs(10), f.run(Verb::Start))
        .await
        .expect("the subset's members started one at a time")
        .unwrap();
    let calls = f.calls();
    // The ip first, the container outside any subset, then the subset.
    assert_eq!(&calls[..2], ["start ip#1", "start container#4"]);
    let mut members = calls[2..].to_vec();
    members.sort();
    assert_eq!(
        members,
        [
            "start container#1",
            "start container#2",
            "start container#3"
        ]
    );
    let lines = f.runtime.log().service_lines();
    assert!(
        lines
            .iter()
            .any(|l| l
                .contains("subset web: start container#1, container#2, container#3 side by side")),
        "{lines:?}"
    );
    lock(&f.journal).clear();
    tokio::time::timeout(Duration::from_secs(10), f.run(Verb::Stop))
        .await
        .expect("the subset's members stopped one at a time")
        .unwrap();
    let calls = f.calls();
    assert_eq!(&calls[3..], ["stop container#4", "stop ip#1"]);
}

#[tokio::test]
async fn a_failed_member_fails_the_action_once_its_siblings_ended() {
    let f = fixture(&format!("{SUBSET}[app#1]\nstart = /bin/true\n"));
    f.drivers["container#2"].fail_next(Error::backend("image not found"));
    let e = f.run(Verb::Start).await.unwrap_err();
    assert_eq!(e.errno(), libc::EIO);
    assert_eq!(
        e.message(),
        "subset web: container#2: image not found (container#1, container#3 started)"
    );
    // The siblings ran to their end; nothing after the subset started.
    for rid in ["container#1", "container#3"] {
        assert!(
            f.calls().contains(&format!("start {rid}")),
            "{:?}",
            f.calls()
        );
        assert_eq!(f.status(rid), Status::Up);
    }
    assert!(!f.calls().contains(&"start app#1".to_string()));
    let lines = f.runtime.log().service_lines();
    assert!(
        lines.iter().any(|l| l
            .contains("subset web: container#2 failed to start; container#1, container#3 started")),
        "{lines:?}"
    );
    // --rid on a member acts on it alone.
    lock(&f.journal).clear();
    f.runtime
        .run(Verb::Start, &["container#2".to_string()], "n", LIMIT)
        .await
        .unwrap();
    assert_eq!(f.calls(), ["start container#2"]);
}

#[tokio::test]
async fn a_subset_without_parallel_goes_one_at_a_time_after_the_others() {
    let f = fixture(&SUBSET.replace("parallel = true", "parallel = false"));
    f.run(Verb::Start).await.unwrap();
    assert_eq!(
        f.calls(),
        [
            "start ip#1",
            "start container#4",
            "start container#1",
            "start container#2",
            "start container#3"
        ]
    );
}
