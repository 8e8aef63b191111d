//! Docker event watchers: one stream per docker endpoint. A container event
//! refreshes the one resource its labels name, so a container that dies or
//! is stopped behind svcfs's back shows at once — containers are not
//! polled; an image event (load, pull, tag, delete) refreshes the
//! containers of every service of that daemon, whose labels and image
//! checks depend on the local images. When the stream connects or breaks,
//! the containers of that daemon are refreshed once: events may have been
//! missed, or the daemon is gone.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use futures_util::StreamExt;

use super::Engine;
use crate::docker::naming::{container_name, LABEL_RID, LABEL_SERVICE};
use crate::docker::DockerApi;
use crate::model::Rid;

/// How often a watcher checks that a service still uses its daemon.
const STILL_NEEDED_CHECK: Duration = Duration::from_secs(30);

/// Whether a service still lives in the daemon at `endpoint`; when none
/// does (its file was removed or changed), the engine forgets the endpoint
/// and the watcher ends, instead of reconnecting for the daemon's lifetime.
fn still_needed(engine: &Weak<Engine>, endpoint: &dyn DockerApi) -> bool {
    let Some(engine) = engine.upgrade() else {
        return false;
    };
    if !engine.uses_docker_host(endpoint.host()) {
        engine.forget_endpoint(endpoint.host());
        return false;
    }
    true
}

/// The first wait before reconnecting a broken event stream: short, so
/// that a daemon restarted (or a private one started again) is followed
/// again within a second or so of answering.
const RECONNECT_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between two connection attempts: the wait doubles
/// after each failed one, so that a thousand private daemons that are not
/// started cost a connection attempt each every half minute. (A daemon svcfs
/// starts itself wakes its watcher at once, see [`EventWatchers::wake`];
/// this only delays the events of one started behind svcfs's back.)
const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(30);
/// How long a stream must have lasted for its end to count as a new
/// outage (quick retry) rather than one more failure of the same one: a
/// daemon that accepts and drops the stream at once must not be retried
/// ten times a second.
const STREAM_STABLE: Duration = Duration::from_secs(10);

/// The wait after `delay` failed once more.
fn backoff(delay: Duration) -> Duration {
    (delay * 2).min(RECONNECT_DELAY_MAX)
}

/// The wait before reconnecting after a stream that lasted `lasted` broke,
/// the previous wait having been `delay`.
fn after_break(delay: Duration, lasted: Duration) -> Duration {
    if lasted >= STREAM_STABLE {
        RECONNECT_DELAY
    } else {
        backoff(delay)
    }
}

/// What a docker event asks to refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTarget {
    /// Nothing svcfs shows: an exec (every health probe is one; the
    /// health_status event that may follow is what matters), a container
    /// that is not svcfs's, another type of object.
    Nothing,
    /// One container resource, named by its labels.
    Resource {
        /// `svcfs.service`.
        service: String,
        /// `svcfs.rid`.
        rid: String,
        /// A `die` of the container under the resource's own name (not a
        /// `.prev` one, which carries the same labels): it is down now,
        /// before docker answers an inspect again (it holds the container
        /// while it cleans up, tens of milliseconds).
        died: bool,
    },
    /// A container labelled with its service but no rid: every container
    /// of that service.
    Service(String),
    /// An image: the containers of every service of this daemon.
    Images,
}

/// What `event` asks to refresh: pure.
pub fn target_of(event: &EventMessage) -> EventTarget {
    if event
        .action
        .as_deref()
        .is_some_and(|a| a.starts_with("exec_"))
    {
        return EventTarget::Nothing;
    }
    match event.typ {
        Some(EventMessageTypeEnum::IMAGE) => EventTarget::Images,
        Some(EventMessageTypeEnum::CONTAINER) => {
            let label = |key: &str| {
                event
                    .actor
                    .as_ref()
                    .and_then(|a| a.attributes.as_ref())
                    .and_then(|attrs| attrs.get(key))
                    .cloned()
            };
            match (label(LABEL_SERVICE), label(LABEL_RID)) {
                (Some(service), Some(rid)) => {
                    let died = event.action.as_deref() == Some("die")
                        && Rid::parse(&rid).is_ok_and(|r| {
                            label("name").as_deref() == Some(container_name(&service, &r).as_str())
                        });
                    EventTarget::Resource { service, rid, died }
                }
                (Some(service), None) => EventTarget::Service(service),
                (None, _) => EventTarget::Nothing,
            }
        }
        _ => EventTarget::Nothing,
    }
}

/// Ask the engine for the refresh `target` needs (`host`: the daemon the
/// event came from).
pub(super) fn dispatch(engine: &Arc<Engine>, host: &str, target: EventTarget) {
    match target {
        EventTarget::Nothing => {}
        EventTarget::Resource { service, rid, died } => {
            if died {
                if let Some(runtime) = engine.service(&service) {
                    runtime.saw_exit(&rid);
                }
            }
            engine.refresh_resources_soon(&service, [rid])
        }
        EventTarget::Service(service) => {
            let Some(runtime) = engine.service(&service) else {
                return;
            };
            let rids: Vec<String> = runtime
                .loaded()
                .resources
                .iter()
                .filter(|r| r.driver.followed_by_events())
                .map(|r| r.config.rid.to_string())
                .collect();
            engine.refresh_resources_soon(&service, rids);
        }
        EventTarget::Images => engine.refresh_on_host_soon(host, |r| r.driver.followed_by_events()),
    }
}

/// Which endpoints already have a watcher, and how to wake each.
#[derive(Default)]
pub struct EventWatchers {
    watched: HashMap<String, Arc<Notify>>,
}

impl EventWatchers {
    /// Forget `host`: a later [`EventWatchers::watch`] starts a new watcher.
    pub fn forget(&mut self, host: &str) {
        self.watched.remove(host);
    }

    /// Make sure `endpoint` is watched.
    pub fn watch(&mut self, engine: &Arc<Engine>, endpoint: &Arc<dyn DockerApi>) {
        let host = endpoint.host().to_string();
        if self.watched.contains_key(&host) {
            return;
        }
        let wake = Arc::new(Notify::new());
        self.watched.insert(host, Arc::clone(&wake));
        let engine = Arc::downgrade(engine);
        let endpoint = Arc::clone(endpoint);
        tokio::spawn(async move { watch_events(engine, endpoint, wake).await });
    }

    /// The daemon at `host` may answer now (an action started it): a
    /// watcher waiting to reconnect tries at once. A connected watcher
    /// keeps the wake for its next outage, which costs one early retry.
    pub fn wake(&self, host: &str) {
        if let Some(wake) = self.watched.get(host) {
            wake.notify_one();
        }
    }
}

async fn watch_events(engine: Weak<Engine>, endpoint: Arc<dyn DockerApi>, wake: Arc<Notify>) {
    let mut delay = RECONNECT_DELAY;
    let mut down_since: Option<Instant> = None;
    loop {
        if !still_needed(&engine, endpoint.as_ref()) {
            return;
        }
        // Unlabelled container events are skipped by `target_of`.
        if let Ok(mut stream) = endpoint.events().await {
            let connected = Instant::now();
            if let Some(since) = down_since.take() {
                tracing::info!(
                    host = endpoint.host(),
                    "docker events followed again after {:.1}s",
                    since.elapsed().as_secs_f32()
                );
            }
            // Whatever happened while no stream was open is looked at once
            // (after the debounce, by which time the stream is subscribed).
            match engine.upgrade() {
                Some(engine) => engine.docker_connection_changed(endpoint.host()),
                None => return,
            }
            let mut check = tokio::time::interval(STILL_NEEDED_CHECK);
            loop {
                let event = tokio::select! {
                    event = stream.next() => event,
                    _ = check.tick() => {
                        if still_needed(&engine, endpoint.as_ref()) {
                            continue;
                        }
                        return;
                    }
                };
                let Some(Ok(event)) = event else { break };
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                let target = target_of(&event);
                if target != EventTarget::Nothing {
                    tracing::debug!(?target, action = ?event.action, "docker event");
                    dispatch(&engine, endpoint.host(), target);
                }
            }
            endpoint.reset().await;
            tracing::info!(
                host = endpoint.host(),
                "docker event stream ended: reconnecting"
            );
            down_since = Some(Instant::now());
            // The daemon may be gone: its containers say so at once.
            match engine.upgrade() {
                Some(engine) => engine.docker_connection_changed(endpoint.host()),
                None => return,
            }
            delay = after_break(delay, connected.elapsed());
        } else {
            down_since.get_or_insert_with(Instant::now);
            // A look may have caught the daemon dying (its socket closed,
            // its process not gone yet, a request cut short): what does
            // not read down yet is looked at again at each try, which
            // costs nothing once everything says down.
            match engine.upgrade() {
                Some(engine) if !engine.reads_down_on(endpoint.host()) => {
                    engine.docker_connection_changed(endpoint.host())
                }
                Some(_) => {}
                None => return,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => delay = backoff(delay),
            _ = wake.notified() => delay = RECONNECT_DELAY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn event(typ: EventMessageTypeEnum, action: &str, labels: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.to_string()),
            actor: Some(EventActor {
                id: Some("0123456789ab".into()),
                attributes: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    const CONTAINER: EventMessageTypeEnum = EventMessageTypeEnum::CONTAINER;

    #[test]
    fn a_container_event_names_its_one_resource() {
        let labels = [(LABEL_SERVICE, "app"), (LABEL_RID, "container#2")];
        assert_eq!(
            target_of(&event(CONTAINER, "die", &labels)),
            EventTarget::Resource {
                service: "app".into(),
                rid: "container#2".into(),
                died: false,
            }
        );
        assert_eq!(
            target_of(&event(CONTAINER, "health_status: healthy", &labels)),
            target_of(&event(CONTAINER, "start", &labels)),
        );
    }

    #[test]
    fn only_the_die_of_the_resource_s_own_container_says_it_is_down() {
        let died = |action: &str, name: &str| {
            let labels = [
                (LABEL_SERVICE, "app"),
                (LABEL_RID, "container#2"),
                ("name", name),
            ];
            match target_of(&event(CONTAINER, action, &labels)) {
                EventTarget::Resource { died, .. } => died,
                other => panic!("{other:?}"),
            }
        };
        assert!(died("die", "app.container.2"));
        assert!(!died("die", "app.container.2.prev"));
        assert!(!died("kill", "app.container.2"));
        assert!(!died("stop", "app.container.2"));
    }

    #[test]
    fn execs_and_foreign_containers_ask_for_nothing() {
        let labels = [(LABEL_SERVICE, "app"), (LABEL_RID, "container#2")];
        assert_eq!(
            target_of(&event(CONTAINER, "exec_start: /bin/true", &labels)),
            EventTarget::Nothing
        );
        assert_eq!(
            target_of(&event(CONTAINER, "die", &[("com.example", "x")])),
            EventTarget::Nothing
        );
        assert_eq!(
            target_of(&event(EventMessageTypeEnum::NETWORK, "connect", &labels)),
            EventTarget::Nothing
        );
    }

    #[test]
    fn reconnection_is_quick_first_then_backs_off_up_to_a_bound() {
        let mut delay = RECONNECT_DELAY;
        let mut waits = vec![delay.as_millis()];
        for _ in 0..11 {
            delay = backoff(delay);
            waits.push(delay.as_millis());
        }
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000]
        );
        // A stream that lasted starts over; one dropped at once does not.
        assert_eq!(after_break(delay, STREAM_STABLE), RECONNECT_DELAY);
        let short = after_break(Duration::from_millis(400), Duration::from_millis(10));
        assert_eq!(short, Duration::from_millis(800));
    }

    #[test]
    fn images_concern_every_container_and_a_missing_rid_the_whole_service() {
        assert_eq!(
            target_of(&event(EventMessageTypeEnum::IMAGE, "tag", &[])),
            EventTarget::Images
        );
        assert_eq!(
            target_of(&event(CONTAINER, "die", &[(LABEL_SERVICE, "app")])),
            EventTarget::Service("app".into())
        );
    }

    mod watcher {
        //! The watcher against the fake daemon's event stream.

        use std::path::PathBuf;

        use super::*;
        use crate::docker::fake::{Call, FakeContainer, FakeDocker};
        use crate::docker::{DockerApi, ErrorKind};
        use crate::engine::{Backends, EngineOptions};
        use crate::model::Status;
        use crate::sync::lock;

        const HOST: &str = "unix:///run/fake-docker.sock";
        const IMAGE: &str =
            "sha256:f66342b343ae0000000000000000000000000000000000000000000000000000";

        fn ours(n: u32) -> FakeContainer {
            let rid = format!("container#{n}");
            FakeContainer::new(
                &format!("app.container.{n}"),
                IMAGE,
                &[(LABEL_SERVICE, "app"), (LABEL_RID, rid.as_str())],
            )
            .started()
        }

        /// An engine with service `app` (two containers, both running in
        /// the fake daemon), its states refreshed once, and a watcher of
        /// the daemon's events subscribed.
        async fn watched() -> (Arc<Engine>, Arc<FakeDocker>, PathBuf) {
            watched_with("").await
        }

        /// [`watched`], with `extra` keywords in container#1's section.
        async fn watched_with(extra: &str) -> (Arc<Engine>, Arc<FakeDocker>, PathBuf) {
            let dir = std::env::temp_dir().join(format!(
                "svcfs-ut-events-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("app.env"),
                format!("[container#1]\nrun_image = busybox:latest\n{extra}[container#2]\nrun_image = busybox:latest\n"),
            )
            .unwrap();
            let docker = Arc::new(FakeDocker::new(HOST));
            docker.add_image(IMAGE, &["busybox:latest"]);
            docker.add_container(ours(1));
            docker.add_container(ours(2));
            let engine = Engine::new(
                EngineOptions {
                    config_dir: dir.clone(),
                    var_dir: dir.join("var"),
                    nodename: "n1".into(),
                    docker_host: HOST.into(),
                    // No periodic reconcile runs here: only events refresh.
                    refresh_interval: Duration::from_secs(3600),
                    status_timeout: Duration::from_secs(30),
                },
                Backends::fake(docker.clone()),
            );
            engine.reload(true);
            engine.refresh_all().await;
            let mut watchers = EventWatchers::default();
            watchers.watch(&engine, &(docker.clone() as Arc<dyn DockerApi>));
            *lock(&engine.events) = Some(watchers);
            // The subscription, and the refresh that follows it.
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert!(docker.calls().contains(&Call::Events));
            (engine, docker, dir)
        }

        fn status(engine: &Engine, rid: &str) -> Option<Status> {
            engine
                .service("app")?
                .snapshot()
                .resource(rid)
                .map(|r| r.state.status)
        }

        fn inspections(docker: &FakeDocker, name: &str) -> usize {
            docker
                .calls()
                .iter()
                .filter(|c| **c == Call::InspectContainer(name.to_string()))
                .count()
        }

        fn container_event(action: &str, n: u32) -> EventMessage {
            let rid = format!("container#{n}");
            let name = format!("app.container.{n}");
            event(
                CONTAINER,
                action,
                &[
                    (LABEL_SERVICE, "app"),
                    (LABEL_RID, rid.as_str()),
                    ("name", name.as_str()),
                ],
            )
        }

        #[tokio::test(start_paused = true)]
        async fn an_event_refreshes_the_one_container_it_names() {
            let (engine, docker, dir) = watched().await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Up));
            // Stopped behind svcfs's back, without an event: nothing polls.
            docker.update("app.container.1", |c| {
                c.status = bollard::models::ContainerStateStatusEnum::EXITED
            });
            tokio::time::sleep(Duration::from_secs(60)).await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Up));
            let other = inspections(&docker, "app.container.2");
            docker.emit(container_event("stop", 1));
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Down));
            assert_eq!(inspections(&docker, "app.container.2"), other);
            std::fs::remove_dir_all(&dir).unwrap();
        }

        fn subscriptions(docker: &FakeDocker) -> usize {
            docker
                .calls()
                .iter()
                .filter(|c| **c == Call::Events)
                .count()
        }

        #[tokio::test(start_paused = true)]
        async fn a_daemon_that_goes_away_shows_down_and_is_followed_again() {
            let (engine, docker, dir) = watched().await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Up));
            docker.set_down(true);
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Down));
            // Away for a minute: quick retries first, then ever rarer ones.
            let before = subscriptions(&docker);
            tokio::time::sleep(Duration::from_secs(60)).await;
            let tries = subscriptions(&docker) - before;
            assert!((8..=12).contains(&tries), "{tries} tries in 60 s");
            docker.set_down(false);
            tokio::time::sleep(Duration::from_secs(1)).await;
            // Still waiting out its backoff...
            assert_eq!(status(&engine, "container#1"), Some(Status::Down));
            // ...until an action says the daemon may be back.
            lock(&engine.events).as_ref().unwrap().wake(HOST);
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Up));
            std::fs::remove_dir_all(&dir).unwrap();
        }

        #[tokio::test(start_paused = true)]
        async fn a_daemon_caught_dying_is_looked_at_again_until_it_reads_down() {
            let (engine, docker, dir) = watched().await;
            // Dying: its streams end, its socket refuses new subscribers,
            // the requests it had accepted are cut short.
            docker.fail(
                "inspect container",
                ErrorKind::Other,
                "client error (SendRequest)",
            );
            docker.fail("events", ErrorKind::Unreachable, "connection refused");
            docker.set_down(true);
            docker.set_down(false);
            // Past the first reconnect try, still dying.
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Warn));
            // Gone.
            docker.set_down(true);
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Down));
            assert_eq!(status(&engine, "container#2"), Some(Status::Down));
            // Down everywhere: the tries that follow look at nothing.
            let before = inspections(&docker, "app.container.1");
            tokio::time::sleep(Duration::from_secs(60)).await;
            assert_eq!(inspections(&docker, "app.container.1"), before);
            std::fs::remove_dir_all(&dir).unwrap();
        }

        #[tokio::test(start_paused = true)]
        async fn a_die_restarts_a_container_with_restart_from_the_watcher() {
            let (engine, docker, dir) = watched_with("restart = 1\n").await;
            assert_eq!(status(&engine, "container#1"), Some(Status::Up));
            let starts = |docker: &FakeDocker| {
                docker
                    .calls()
                    .iter()
                    .filter(|c| matches!(c, Call::Start(_)))
                    .count()
            };
            let before = starts(&docker);
            docker.update("app.container.1", |c| {
                c.status = bollard::models::ContainerStateStatusEnum::EXITED
            });
            docker.emit(container_event("die", 1));
            tokio::time::sleep(Duration::from_secs(30)).await;
            assert_eq!(starts(&docker), before + 1);
            assert_eq!(status(&engine, "container#1"), Some(Status::Up));
            let c1 = engine
                .service("app")
                .unwrap()
                .snapshot()
                .resource("container#1")
                .unwrap()
                .clone();
            assert_eq!((c1.restarts, c1.failures.count), (1, 1));
            // container#2 has no restart: its die leaves it down.
            docker.update("app.container.2", |c| {
                c.status = bollard::models::ContainerStateStatusEnum::EXITED
            });
            docker.emit(container_event("die", 2));
            tokio::time::sleep(Duration::from_secs(30)).await;
            assert_eq!(starts(&docker), before + 1);
            assert_eq!(status(&engine, "container#2"), Some(Status::Down));
            std::fs::remove_dir_all(&dir).unwrap();
        }

        #[tokio::test(start_paused = true)]
        async fn a_die_marks_the_container_down_before_docker_answers_again() {
            let (engine, docker, dir) = watched().await;
            // dockerd holds the container while it cleans up.
            docker.delay("inspect container", Duration::from_secs(5));
            docker.update("app.container.1", |c| {
                c.status = bollard::models::ContainerStateStatusEnum::EXITED
            });
            docker.emit(container_event("die", 1));
            let mut seen = None;
            for _ in 0..1000 {
                tokio::task::yield_now().await;
                seen = status(&engine, "container#1");
                if seen == Some(Status::Down) {
                    break;
                }
            }
            assert_eq!(seen, Some(Status::Down));
            // Under the paused clock no time passed: the refresh still waits.
            assert_eq!(status(&engine, "container#2"), Some(Status::Up));
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
