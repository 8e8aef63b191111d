//! Unit tests of the container driver: the pure status mapping and create
//! body, and the lifecycle against the fake docker daemon.

use super::*;

fn rid(s: &str) -> Rid {
    Rid::parse(s).unwrap()
}

fn spec(run_args: &str) -> ContainerSpec {
    ContainerSpec {
        run_image: "f66342b343ae".into(),
        run_command: vec!["/bin/sh".into()],
        run_args: run_args.into(),
        start_timeout: Duration::from_secs(60),
        stop_timeout: Duration::from_secs(10),
        stop_wait: crate::drivers::container::StopWait::Auto,
        oneshot: false,
        output_size: live::OUTPUT_SIZE,
    }
}

fn busybox() -> ImageInfo {
    ImageInfo {
        id: "sha256:f66342b343ae0000".into(),
        repo_tag: Some("busybox:latest".into()),
    }
}

fn running(service: &str, r: &Rid, image: &str) -> Observed {
    Observed {
        id: "2d4b80bdec715a7df33bc0bb36b8e65598e41d83d0b8919b717287b3ca9c9dae".into(),
        image_id: image.into(),
        running: true,
        exited: false,
        exit_code: 0,
        health: None,
        health_output: None,
        pid: 4242,
        stop_signal: None,
        identity: Identity::default(),
        labels: HashMap::from([
            (LABEL_SERVICE.to_string(), service.to_string()),
            (LABEL_RID.to_string(), r.to_string()),
        ]),
        networks: Vec::new(),
    }
}

#[test]
fn inspect_gives_pid1_and_the_stop_signal() {
    let inspect = |pid: i64, signal: Option<&str>| {
        Observed::from_inspect(ContainerInspectResponse {
            state: Some(bollard::models::ContainerState {
                running: Some(pid > 0),
                pid: Some(pid),
                ..Default::default()
            }),
            config: Some(bollard::models::ContainerConfig {
                stop_signal: signal.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        })
    };
    let running = inspect(11058, Some("SIGQUIT"));
    assert_eq!(running.pid, 11058);
    assert_eq!(running.stop_signal.as_deref(), Some("SIGQUIT"));
    let stopped = inspect(0, Some(""));
    assert_eq!(stopped.pid, 0);
    assert_eq!(stopped.stop_signal, None);
    assert_eq!(inspect(-1, None).pid, 0);
}

#[test]
fn names_follow_the_tutorial() {
    assert_eq!(
        container_name("app.opensvc.com", &rid("container#3")),
        "app.opensvc.com.container.3"
    );
    assert_eq!(short_id("sha256:2d4b80bdec715a7df33"), "2d4b80bdec71");
    assert_eq!(short_id("abc"), "abc");
}

#[test]
fn never_started_container_is_down_with_tutorial_message() {
    let r = rid("container#1");
    let state = container_state("app", &r, "f66342b343ae", "fp", Some(&busybox()), None);
    assert_eq!(state.status, Status::Down);
    assert_eq!(state.label, "busybox:latest");
    assert_eq!(state.messages, ["can not find container id"]);
}

#[test]
fn running_container_label_is_short_id_at_repo_tag() {
    let r = rid("container#1");
    let image = busybox();
    let c = running("app", &r, &image.id);
    let state = container_state(
        "app",
        &r,
        "f66342b343ae",
        "fp",
        Some(&image),
        Some((&c, Some(&image))),
    );
    assert_eq!(state.status, Status::Up);
    assert_eq!(state.label, "2d4b80bdec71@busybox:latest");
    assert!(state.messages.is_empty());
}

#[test]
fn stopped_container_is_down_without_message() {
    let r = rid("container#1");
    let image = busybox();
    let mut c = running("app", &r, &image.id);
    c.running = false;
    let state = container_state(
        "app",
        &r,
        "f66342b343ae",
        "fp",
        Some(&image),
        Some((&c, Some(&image))),
    );
    assert_eq!(state.status, Status::Down);
    assert!(state.messages.is_empty());
}

#[test]
fn image_drift_is_a_warning_naming_both_images() {
    let r = rid("container#1");
    let old = busybox();
    let new = ImageInfo {
        id: "sha256:c8f0cfead624".into(),
        repo_tag: Some("google/busybox:latest".into()),
    };
    let c = running("app", &r, &old.id);
    let state = container_state(
        "app",
        &r,
        "c8f0cfead624",
        "fp",
        Some(&new),
        Some((&c, Some(&old))),
    );
    assert_eq!(state.status, Status::Warn);
    assert_eq!(
        state.messages,
        ["the current container is based on image busybox:latest instead of c8f0cfead624"]
    );
}

#[test]
fn changed_command_or_args_is_a_warning() {
    let r = rid("container#1");
    let image = busybox();
    let mut c = running("app", &r, &image.id);
    c.labels.insert(LABEL_CONFIG.into(), "fp".into());
    let same = container_state(
        "app",
        &r,
        "busybox",
        "fp",
        Some(&image),
        Some((&c, Some(&image))),
    );
    assert_eq!(same.status, Status::Up);
    let changed = container_state(
        "app",
        &r,
        "busybox",
        "other",
        Some(&image),
        Some((&c, Some(&image))),
    );
    assert_eq!(changed.status, Status::Warn);
    assert!(changed.messages[0].contains("another run_command or run_args"));
}

#[test]
fn fingerprints_are_stable_and_tell_specs_apart() {
    let a = spec("-p 8888:8000");
    assert_eq!(config_fingerprint(&a), config_fingerprint(&a.clone()));
    assert_eq!(config_fingerprint(&a).len(), 16);
    assert_ne!(
        config_fingerprint(&a),
        config_fingerprint(&spec("-p 8889:8000"))
    );
    let mut b = a.clone();
    b.run_command = vec!["/bin/sh".into(), "-c".into(), "true".into()];
    assert_ne!(config_fingerprint(&a), config_fingerprint(&b));
    // Known value: a change of algorithm would recreate every container.
    assert_eq!(config_fingerprint(&spec("")), "b10bbc6334850a0d");
}

#[test]
fn foreign_container_with_our_name_is_a_warning() {
    let r = rid("container#1");
    let image = busybox();
    let mut c = running("app", &r, &image.id);
    c.labels.clear();
    let state = container_state(
        "app",
        &r,
        "busybox",
        "fp",
        Some(&image),
        Some((&c, Some(&image))),
    );
    assert_eq!(state.status, Status::Warn);
    assert!(state.messages[0].contains("not created by svcfs"));
}

#[test]
fn unhealthy_running_container_is_a_warning() {
    let r = rid("container#1");
    let image = busybox();
    let mut c = running("app", &r, &image.id);
    c.health = Some(HealthStatusEnum::UNHEALTHY);
    c.health_output = Some("connection refused".into());
    let state = container_state(
        "app",
        &r,
        "busybox",
        "fp",
        Some(&image),
        Some((&c, Some(&image))),
    );
    assert_eq!(state.status, Status::Warn);
    assert!(state.unhealthy);
    assert_eq!(
        state.messages,
        ["container is unhealthy: connection refused"]
    );
    c.health = Some(HealthStatusEnum::HEALTHY);
    let healthy = container_state(
        "app",
        &r,
        "busybox",
        "fp",
        Some(&image),
        Some((&c, Some(&image))),
    );
    assert!(!healthy.unhealthy);
}

#[test]
fn missing_image_is_reported() {
    let r = rid("container#2");
    let state = container_state("app", &r, "30e0b59613ff", "fp", None, None);
    assert_eq!(state.label, "30e0b59613ff");
    assert_eq!(state.messages.len(), 2);
    assert!(state.messages[1].contains("not in the local image store"));
}

#[tokio::test]
async fn create_body_sets_what_svcfs_owns() {
    let r = rid("container#2");
    let body = create_body("app", &r, &spec("-p 8888:8000"), "busybox:latest")
        .await
        .unwrap();
    assert_eq!(body.image.as_deref(), Some("busybox:latest"));
    assert_eq!(body.cmd, Some(vec!["/bin/sh".to_string()]));
    assert_eq!((body.tty, body.open_stdin), (Some(true), Some(true)));
    let labels = body.labels.unwrap();
    assert_eq!(labels[LABEL_SERVICE], "app");
    assert_eq!(labels[LABEL_RID], "container#2");
    let host = body.host_config.unwrap();
    assert_eq!(
        host.restart_policy.unwrap().name,
        Some(RestartPolicyNameEnum::NO)
    );
    assert!(host.port_bindings.unwrap().contains_key("8000/tcp"));
}

#[tokio::test]
async fn create_body_keeps_an_explicit_restart_policy() {
    let body = create_body("app", &rid("container#1"), &spec("--restart always"), "x")
        .await
        .unwrap();
    assert_eq!(
        body.host_config.unwrap().restart_policy.unwrap().name,
        Some(RestartPolicyNameEnum::ALWAYS)
    );
}

#[tokio::test]
async fn empty_run_command_keeps_the_image_cmd() {
    let mut s = spec("");
    s.run_command.clear();
    let body = create_body("app", &rid("container#1"), &s, "x")
        .await
        .unwrap();
    assert_eq!(body.cmd, None);
}

#[test]
fn equivalent_command_reads_like_the_tutorial() {
    assert_eq!(
        equivalent_run_command(
            "unix:///opt/opensvc/var/app.opensvc.com/docker.sock",
            "app.opensvc.com.container.1",
            &spec("")
        ),
        "docker -H unix:///opt/opensvc/var/app.opensvc.com/docker.sock run -t -i -d --name=app.opensvc.com.container.1 f66342b343ae /bin/sh"
    );
}

mod lifecycle {
    //! The container lifecycle against the fake docker daemon: what svcfs
    //! asks docker, in order, and what it tells the operator.

    use std::path::Path;

    use super::*;
    use crate::actionlog::ServiceLog;
    use crate::docker::fake::{Call, FakeContainer, FakeDocker};
    use crate::docker::ErrorKind;
    use crate::drivers::container::StopWait;
    use crate::drivers::Driver;
    use crate::host::FakeRunner;

    const HOST: &str = "unix:///run/fake-docker.sock";
    const NAME: &str = "app.container.1";
    const PREV: &str = "app.container.1.prev";
    const BUSYBOX: &str = "sha256:f66342b343ae0000000000000000000000000000000000000000000000000000";
    const GOOGLE: &str = "sha256:c8f0cfead6240000000000000000000000000000000000000000000000000000";

    fn daemon() -> Arc<FakeDocker> {
        let docker = Arc::new(FakeDocker::new(HOST));
        docker.add_image(BUSYBOX, &["busybox:latest"]);
        docker.add_image(GOOGLE, &["google/busybox:latest"]);
        docker
    }

    fn driver(docker: &Arc<FakeDocker>, spec: ContainerSpec) -> ContainerDriver {
        let ctx = DriverContext {
            carried: Default::default(),
            service: "app".into(),
            var_dir: "/nonexistent".into(),
            config_dir: "/nonexistent".into(),
            nodename: "n1".into(),
            docker: docker.clone(),
            runner: Arc::new(FakeRunner::new()),
            children: Arc::new(crate::children::FakeChildren::default()),
            reads: Arc::default(),
            peers: Vec::new(),
        };
        ContainerDriver::new(&ctx, rid("container#1"), spec)
    }

    fn logs() -> (ServiceLog, ResourceLog) {
        let service = ServiceLog::new("app");
        let log = service.resource("container#1");
        (service, log)
    }

    fn lines(service: &ServiceLog) -> String {
        service.resource_lines("container#1").join("\n")
    }

    /// A container svcfs created earlier for `container#1` of `spec`.
    fn ours(name: &str, image: &str, spec: &ContainerSpec) -> FakeContainer {
        let fingerprint = config_fingerprint(spec);
        FakeContainer::new(
            name,
            image,
            &[
                (LABEL_SERVICE, "app"),
                (LABEL_RID, "container#1"),
                (LABEL_CONFIG, &fingerprint),
            ],
        )
    }

    fn timeout_spec() -> ContainerSpec {
        let mut s = spec("");
        s.stop_wait = StopWait::Timeout;
        s
    }

    #[tokio::test(start_paused = true)]
    async fn start_creates_a_missing_container_from_the_image_with_svcfs_labels() {
        let docker = daemon();
        let (service, log) = logs();
        driver(&docker, spec("-e A=1")).start(&log).await.unwrap();
        let created = docker.container(NAME).unwrap();
        assert!(created.running());
        assert_eq!(
            docker.actions(),
            [format!("create {NAME}"), format!("start {}", created.id)]
        );
        let body = docker
            .calls()
            .into_iter()
            .find_map(|c| match c {
                Call::Create { name, body } => Some((name, body)),
                _ => None,
            })
            .unwrap();
        assert_eq!(body.0, NAME);
        assert_eq!(body.1.image.as_deref(), Some("busybox:latest"));
        assert_eq!(body.1.env, Some(vec!["A=1".to_string()]));
        let labels = body.1.labels.clone().unwrap();
        assert_eq!(labels[LABEL_SERVICE], "app");
        assert_eq!(labels[LABEL_RID], "container#1");
        assert_eq!(labels[LABEL_CONFIG], config_fingerprint(&spec("-e A=1")));
        let text = lines(&service);
        // The log is everyone's: the value went to docker, not to it.
        assert!(
            text.contains(&format!(
                "docker -H {HOST} run -t -i -d --name={NAME} -e A=<redacted> f66342b343ae /bin/sh"
            )),
            "{text}"
        );
        assert!(!text.contains("A=1"), "{text}");
        assert!(text.contains("wait for container operational"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_start_prepared_ahead_creates_once_and_starts_what_was_created() {
        let docker = daemon();
        let (service, log) = logs();
        let d = driver(&docker, spec(""));
        assert!(d.prepares_start());
        d.prepare_start().await;
        assert_eq!(docker.actions(), [format!("create {NAME}")]);
        assert!(!docker.container(NAME).unwrap().running());
        assert_eq!(lines(&service), "", "a preparation is silent");
        d.start(&log).await.unwrap();
        let id = docker.container(NAME).unwrap().id;
        assert_eq!(
            docker.actions(),
            [format!("create {NAME}"), format!("start {id}")]
        );
        // The start logs the create it used, where a create would be.
        let text = lines(&service);
        let run = text
            .find(&format!("run -t -i -d --name={NAME}"))
            .expect(&text);
        let output = text.find(&id).expect(&text);
        let start = text.find(&format!("start {}", short_id(&id))).expect(&text);
        assert!(run < output && output < start, "{text}");
        d.prepared_unused(&log);
        assert_eq!(lines(&service), text, "nothing was left unused");
    }

    #[tokio::test(start_paused = true)]
    async fn a_preparation_whose_start_never_came_says_what_it_left() {
        let docker = daemon();
        let (service, log) = logs();
        let d = driver(&docker, spec(""));
        d.prepare_start().await;
        d.prepared_unused(&log);
        let id = docker.container(NAME).unwrap().id;
        let text = lines(&service);
        assert!(
            text.contains(&format!(
                "container {} was created ahead of its start",
                short_id(&id)
            )),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn preparing_leaves_existing_and_dependent_containers_to_the_start() {
        let docker = daemon();
        docker.add_container(ours(NAME, GOOGLE, &spec("")).exited(0));
        driver(&docker, spec("")).prepare_start().await;
        assert!(docker.actions().is_empty(), "{:?}", docker.actions());

        let docker = daemon();
        for args in [
            "--net=container:app.container.2",
            "--volumes-from app.container.2",
            "--ipc container:app.container.2",
        ] {
            driver(&docker, spec(args)).prepare_start().await;
        }
        assert!(docker.actions().is_empty(), "{:?}", docker.actions());

        docker.set_down(true);
        driver(&docker, spec("")).prepare_start().await;
        assert!(docker.actions().is_empty(), "{:?}", docker.actions());
    }

    #[tokio::test(start_paused = true)]
    async fn start_of_a_stopped_container_starts_it_without_creating_one() {
        let docker = daemon();
        let id = docker.add_container(ours(NAME, BUSYBOX, &spec("")).exited(0));
        let (_service, log) = logs();
        driver(&docker, spec("")).start(&log).await.unwrap();
        assert_eq!(docker.actions(), [format!("start {id}")]);
        assert!(docker.container(NAME).unwrap().running());
    }

    #[tokio::test(start_paused = true)]
    async fn a_container_that_svcfs_created_earlier_is_adopted() {
        let docker = daemon();
        let id = docker.add_container(ours(NAME, BUSYBOX, &spec("")).started());
        let d = driver(&docker, spec(""));
        let state = d.status().await;
        assert_eq!(state.status, Status::Up);
        assert_eq!(state.label, format!("{}@busybox:latest", short_id(&id)));
        let (service, log) = logs();
        d.start(&log).await.unwrap();
        assert!(docker.actions().is_empty(), "{:?}", docker.actions());
        assert!(lines(&service).contains("is already up"));
        d.stop(&log).await.unwrap();
        assert_eq!(docker.actions(), [format!("stop -t 10 {id}")]);
        assert!(!docker.container(NAME).unwrap().running());
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_inspects_the_running_image_again_only_when_it_is_another() {
        let image_inspects = |docker: &FakeDocker| {
            docker
                .calls()
                .into_iter()
                .filter(|c| matches!(c, Call::InspectImage(_)))
                .count()
        };
        let docker = daemon();
        docker.add_container(ours(NAME, BUSYBOX, &spec("")).started());
        assert_eq!(driver(&docker, spec("")).status().await.status, Status::Up);
        assert_eq!(image_inspects(&docker), 1, "{:?}", docker.calls());
        // Drift: the container runs busybox, the file asks for google's.
        let docker = daemon();
        docker.add_container(ours(NAME, BUSYBOX, &spec("")).started());
        let mut upgraded = spec("");
        upgraded.run_image = "google/busybox:latest".into();
        let state = driver(&docker, upgraded).status().await;
        assert_eq!(state.status, Status::Warn);
        assert!(state.label.ends_with("@busybox:latest"), "{}", state.label);
        assert_eq!(image_inspects(&docker), 2, "{:?}", docker.calls());
    }

    #[tokio::test(start_paused = true)]
    async fn a_container_exiting_during_the_operational_wait_fails_the_start() {
        let docker = daemon();
        docker.created_exit_after_start(
            Duration::from_millis(50),
            3,
            "sh: /app/run: not found\r\n",
        );
        let (_service, log) = logs();
        let err = driver(&docker, spec("")).start(&log).await.unwrap_err();
        assert_eq!(err.errno(), libc::EIO);
        let message = err.to_string();
        for part in [
            NAME,
            "container#1",
            "exited with code 3",
            "sh: /app/run: not found",
        ] {
            assert!(message.contains(part), "{part} not in {message}");
        }
        assert!(!message.contains('\r'));
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_run_image_recreates_the_container_keeping_the_old_as_prev() {
        let docker = daemon();
        let old = docker.add_container(ours(NAME, BUSYBOX, &spec("")).started());
        let older = docker.add_container(ours(PREV, BUSYBOX, &spec("")).exited(0));
        let mut upgraded = timeout_spec();
        upgraded.run_image = "google/busybox:latest".into();
        let d = driver(&docker, upgraded);
        assert_eq!(d.status().await.status, Status::Warn);
        let (service, log) = logs();
        d.start(&log).await.unwrap();
        let new = docker.container(NAME).unwrap();
        assert_eq!(new.image_id, GOOGLE);
        assert!(new.running());
        assert_eq!(docker.container(PREV).unwrap().id, old);
        assert_eq!(docker.names(), [NAME, PREV]);
        assert_eq!(
            docker.actions(),
            [
                format!("stop -t 10 {old}"),
                format!("rm -f {older}"),
                format!("rename {old} {PREV}"),
                format!("create {NAME}"),
                format!("start {}", new.id),
            ]
        );
        assert!(lines(&service).contains(
            "the current container is based on image busybox:latest instead of google/busybox:latest: recreating it, the old one is kept as app.container.1.prev"
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn changed_run_args_recreate_the_container() {
        let docker = daemon();
        let old = docker.add_container(ours(NAME, BUSYBOX, &spec("")).exited(0));
        let (service, log) = logs();
        driver(&docker, spec("-e A=2")).start(&log).await.unwrap();
        let new = docker.container(NAME).unwrap();
        assert_ne!(new.id, old);
        assert_eq!(
            docker.actions(),
            [
                format!("rename {old} {PREV}"),
                format!("create {NAME}"),
                format!("start {}", new.id),
            ]
        );
        assert!(lines(&service).contains("another run_command or run_args"));
    }

    #[tokio::test(start_paused = true)]
    async fn rollback_swaps_the_current_and_the_previous_container() {
        let docker = daemon();
        let mut upgraded = timeout_spec();
        upgraded.run_image = "google/busybox:latest".into();
        let current = docker.add_container(ours(NAME, GOOGLE, &upgraded).started());
        let prev = docker.add_container(ours(PREV, BUSYBOX, &upgraded).exited(0));
        let (service, log) = logs();
        let d = driver(&docker, upgraded);
        d.run_verb(&ROLLBACK, &log).await.unwrap();
        assert_eq!(
            docker.actions(),
            [
                format!("stop -t 10 {current}"),
                format!("rename {current} {NAME}.rollback"),
                format!("rename {prev} {NAME}"),
                format!("rename {current} {PREV}"),
                format!("start {prev}"),
            ]
        );
        assert!(docker.container(NAME).unwrap().running());
        assert_eq!(docker.container(PREV).unwrap().id, current);
        assert!(lines(&service).contains("rolled back; run_image still says google/busybox:latest"));
        // As documented: the image warning stays until run_image changes.
        assert_eq!(d.status().await.status, Status::Warn);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rollback_cut_short_before_the_swap_is_undone_by_the_next_start() {
        let docker = daemon();
        let mut upgraded = timeout_spec();
        upgraded.run_image = "google/busybox:latest".into();
        // svcfs died right after parking the current container.
        let parked = docker.add_container(ours(&format!("{NAME}.rollback"), GOOGLE, &upgraded));
        let prev = docker.add_container(ours(PREV, BUSYBOX, &upgraded).exited(0));
        let (service, log) = logs();
        driver(&docker, upgraded).start(&log).await.unwrap();
        assert_eq!(
            docker.actions().first(),
            Some(&format!("rename {parked} {NAME}"))
        );
        assert_eq!(docker.container(NAME).unwrap().id, parked);
        assert!(docker.container(NAME).unwrap().running());
        assert_eq!(docker.container(PREV).unwrap().id, prev);
        assert!(docker.container(&format!("{NAME}.rollback")).is_none());
        assert!(lines(&service).contains("a rollback did not end"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_rollback_cut_short_after_the_swap_is_finished_not_repeated() {
        let docker = daemon();
        let mut upgraded = timeout_spec();
        upgraded.run_image = "google/busybox:latest".into();
        // svcfs died after the previous container took the name.
        let parked = docker.add_container(ours(&format!("{NAME}.rollback"), GOOGLE, &upgraded));
        let rolled_back = docker.add_container(ours(NAME, BUSYBOX, &upgraded).exited(0));
        let (_service, log) = logs();
        let d = driver(&docker, upgraded);
        d.run_verb(&ROLLBACK, &log).await.unwrap();
        assert_eq!(
            docker.actions(),
            [
                format!("rename {parked} {PREV}"),
                format!("start {rolled_back}"),
            ]
        );
        assert_eq!(docker.container(NAME).unwrap().id, rolled_back);
        assert!(docker.container(NAME).unwrap().running());
        assert_eq!(docker.container(PREV).unwrap().id, parked);
    }

    #[tokio::test]
    async fn rollback_without_a_previous_container_is_einval() {
        let docker = daemon();
        docker.add_container(ours(NAME, BUSYBOX, &spec("")).started());
        let (_service, log) = logs();
        let err = driver(&docker, spec(""))
            .run_verb(&ROLLBACK, &log)
            .await
            .unwrap_err();
        assert_eq!(err.errno(), libc::EINVAL);
        assert!(err.to_string().contains(PREV));
        assert!(docker.actions().is_empty());
    }

    #[tokio::test]
    async fn a_foreign_container_of_the_same_name_is_refused_and_left_alone() {
        let docker = daemon();
        docker.add_container(FakeContainer::new(NAME, BUSYBOX, &[("com.example", "x")]).started());
        let d = driver(&docker, spec("-e A=2"));
        let state = d.status().await;
        assert_eq!(state.status, Status::Warn);
        assert!(state.messages[0].contains("not created by svcfs"));
        let (_service, log) = logs();
        for err in [
            d.start(&log).await.unwrap_err(),
            d.stop(&log).await.unwrap_err(),
        ] {
            assert_eq!(err.errno(), libc::EIO, "{err}");
        }
        let err = d.start(&log).await.unwrap_err().to_string();
        assert!(
            err.contains("a container named app.container.1 exists that svcfs did not create for container#1"),
            "{err}"
        );
        // Nor does a rollback move it aside for a previous container.
        docker.add_container(ours(PREV, GOOGLE, &spec("")).exited(0));
        let err = d.run_verb(&ROLLBACK, &log).await.unwrap_err();
        assert_eq!(err.errno(), libc::EIO, "{err}");
        assert!(docker.actions().is_empty(), "{:?}", docker.actions());
        assert!(docker.container(NAME).unwrap().running());
    }

    /// A host `/proc` under `root` where `pid` is busybox sh (no SIGTERM
    /// handler) in the cgroup of container `id`.
    fn proc_with_busybox_sh(root: &Path, pid: u32, id: &str) {
        let status = "Name:\tsh\nState:\tS (sleeping)\nSigBlk:\t0000000000000000\n\
            SigIgn:\t0000000000284004\nSigCgt:\t0000000008010002\n";
        let dir = root.join(pid.to_string());
        let task = dir.join("task").join(pid.to_string());
        std::fs::create_dir_all(&task).unwrap();
        std::fs::write(dir.join("status"), status).unwrap();
        std::fs::write(task.join("status"), status).unwrap();
        std::fs::write(task.join("wchan"), "poll_schedule_timeout").unwrap();
        std::fs::write(dir.join("cmdline"), b"/bin/sh\0").unwrap();
        std::fs::write(dir.join("cgroup"), format!("0::/docker/{id}\n")).unwrap();
    }

    #[tokio::test]
    async fn stop_kills_at_once_a_pid1_without_handler_unless_stop_wait_is_timeout() {
        let root = std::env::temp_dir().join(format!("svcfs-ut-stop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (stop_wait, expected) in [
            (StopWait::Auto, "kill --signal SIGKILL"),
            (StopWait::Timeout, "stop -t 10"),
        ] {
            let docker = daemon();
            let mut s = spec("");
            s.stop_wait = stop_wait;
            let id = docker.add_container(ours(NAME, BUSYBOX, &s).started());
            docker.update(NAME, |c| c.pid = 4242);
            proc_with_busybox_sh(&root, 4242, &id);
            let (service, log) = logs();
            driver(&docker, s)
                .with_proc_root(root.clone())
                .stop(&log)
                .await
                .unwrap();
            assert_eq!(docker.actions(), [format!("{expected} {id}")]);
            assert!(!docker.container(NAME).unwrap().running());
            assert_eq!(
                lines(&service).contains("has no SIGTERM handler: killing at once"),
                stop_wait == StopWait::Auto
            );
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[tokio::test]
    async fn stop_of_what_is_down_or_missing_does_nothing() {
        let docker = daemon();
        let (service, log) = logs();
        let d = driver(&docker, spec(""));
        d.stop(&log).await.unwrap();
        docker.add_container(ours(NAME, BUSYBOX, &spec("")).exited(0));
        d.stop(&log).await.unwrap();
        docker.set_down(true);
        d.stop(&log).await.unwrap();
        assert!(docker.actions().is_empty());
        let text = lines(&service);
        assert!(text.contains("can not find container id, already down"));
        assert!(text.contains("is already down"));
        assert!(text.contains(&format!(
            "docker daemon is not running (no answer on {HOST}): the container is down"
        )));
    }

    #[tokio::test]
    async fn status_maps_running_exited_missing_and_daemon_trouble() {
        let docker = daemon();
        let d = driver(&docker, spec(""));
        let missing = d.status().await;
        assert_eq!(
            (missing.status, missing.messages.clone()),
            (Status::Down, vec!["can not find container id".to_string()])
        );
        docker.add_container(ours(NAME, BUSYBOX, &spec("")).exited(137));
        assert_eq!(d.status().await.status, Status::Down);
        docker.update(NAME, |c| {
            c.status = bollard::models::ContainerStateStatusEnum::RUNNING
        });
        assert_eq!(d.status().await.status, Status::Up);
        docker.fail("inspect image", ErrorKind::TimedOut, "took longer than 10s");
        let hung = d.status().await;
        assert_eq!(hung.status, Status::Warn);
        assert!(hung.messages[0].contains(&format!("docker daemon did not answer on {HOST}")));
        docker.set_down(true);
        let down = d.status().await;
        assert_eq!(
            (down.status, down.messages),
            (
                Status::Down,
                vec!["docker daemon is not running".to_string()]
            )
        );
    }

    #[tokio::test]
    async fn start_without_a_daemon_or_an_image_fails_saying_which_daemon() {
        let docker = daemon();
        let (_service, log) = logs();
        let mut s = spec("");
        s.run_image = "30e0b59613ff".into();
        let err = driver(&docker, s).start(&log).await.unwrap_err();
        assert_eq!(err.errno(), libc::EIO);
        assert!(err.to_string().contains(&format!(
            "image 30e0b59613ff is not in the local image store of {HOST}"
        )));
        docker.set_down(true);
        let err = driver(&docker, spec("")).start(&log).await.unwrap_err();
        assert!(err.to_string().starts_with(&format!(
            "docker daemon is not running (no answer on {HOST}): start it first"
        )));
        docker.set_down(false);
        docker.fail(
            "start container",
            ErrorKind::Api(500),
            "OCI runtime create failed",
        );
        let err = driver(&docker, spec("")).start(&log).await.unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("docker on {HOST} refused to start container")),
            "{err}"
        );
        assert!(err.to_string().contains("OCI runtime create failed"));
    }
}

#[test]
fn identity_files_come_from_the_inspect_data() {
    use bollard::models::{
        EndpointSettings, Health, HostConfig, HostConfigLogConfig, NetworkSettings, PortBinding,
    };
    let c = Observed::from_inspect(ContainerInspectResponse {
        id: Some("0ad119ede2a351d2d6364a7ca54748e5b0fdcda3d3e694e2fadab974cde0dc3b".into()),
        image: Some("sha256:f04dd3a0f06e".into()),
        restart_count: Some(2),
        log_path: Some("/var/lib/docker/containers/0ad1/0ad1-json.log".into()),
        hostname_path: Some("/var/lib/docker/containers/0ad1/hostname".into()),
        state: Some(bollard::models::ContainerState {
            running: Some(true),
            pid: Some(14451),
            exit_code: Some(137),
            started_at: Some("2026-12-07T10:40:18.165208827Z".into()),
            finished_at: Some("0001-01-01T00:00:00Z".into()),
            health: Some(Health {
                status: Some(HealthStatusEnum::HEALTHY),
                log: Some(vec![bollard::models::HealthcheckResult {
                    output: Some("ok\n".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        network_settings: Some(NetworkSettings {
            networks: Some(HashMap::from([
                (
                    "bridge".to_string(),
                    EndpointSettings {
                        ip_address: Some("172.17.0.2".into()),
                        global_ipv6_address: Some("2001:db8::2".into()),
                        ..Default::default()
                    },
                ),
                (
                    "app".to_string(),
                    EndpointSettings {
                        ip_address: Some("10.1.0.5".into()),
                        ..Default::default()
                    },
                ),
            ])),
            ports: Some(HashMap::from([
                (
                    "8000/tcp".to_string(),
                    Some(vec![
                        PortBinding {
                            host_ip: Some("0.0.0.0".into()),
                            host_port: Some("8888".into()),
                        },
                        PortBinding {
                            host_ip: Some("::".into()),
                            host_port: Some("8888".into()),
                        },
                    ]),
                ),
                ("22/tcp".to_string(), None),
            ])),
            ..Default::default()
        }),
        host_config: Some(HostConfig {
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let files: HashMap<&str, String> = identity::details(Some(&c))
        .into_iter()
        .map(|(name, text)| (name, text.to_string()))
        .collect();
    assert_eq!(
        files["id"],
        "0ad119ede2a351d2d6364a7ca54748e5b0fdcda3d3e694e2fadab974cde0dc3b\n"
    );
    assert_eq!(files["image_id"], "sha256:f04dd3a0f06e\n");
    assert_eq!(
        files["addresses"],
        "app 10.1.0.5\nbridge 172.17.0.2\nbridge 2001:db8::2\n"
    );
    assert_eq!(
        files["ports"],
        "8000/tcp -> 0.0.0.0:8888\n8000/tcp -> [::]:8888\n"
    );
    assert_eq!(files["started"], "2026-12-07T10:40:18.165208827Z\n");
    assert_eq!(files["exit_code"], "137\n");
    assert_eq!(files["docker_restarts"], "2\n");
    assert_eq!(files["health"], "healthy\n");
    assert_eq!(files["health_output"], "ok\n");
    assert_eq!(
        c.identity.container_dir.as_deref(),
        Some(std::path::Path::new("/var/lib/docker/containers/0ad1"))
    );
    assert_eq!(c.identity.finished_at, "");
    // No container, no identity.
    assert!(identity::details(None).is_empty());
}

#[test]
fn identity_and_live_file_names_clash_with_no_keyword_or_standard_file() {
    let names: Vec<&str> = IDENTITY_FILES
        .iter()
        .copied()
        .chain([live::OUTPUT])
        .chain(crate::render::tree::usage_files())
        .collect();
    for name in &names {
        assert!(
            !crate::render::tree::RESOURCE_FILES.contains(name),
            "{name} is a standard file"
        );
        assert!(
            MANIFEST.schema.keyword(name).is_none()
                && crate::config::RESOURCE_KEYWORDS
                    .iter()
                    .all(|k| k.name != *name),
            "{name} is a keyword"
        );
        assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
    }
}

#[test]
fn output_size_takes_a_size_and_refuses_what_is_not_one() {
    let config = |value: &str| {
        crate::config::parse_service(
            &crate::drivers::registry::KINDS,
            "app",
            std::path::Path::new("/etc/svcfs/app.env"),
            &format!("[container#1]\nrun_image = busybox\noutput_size = {value}\n"),
        )
    };
    let size = |value: &str| {
        let config = config(value);
        let spec = config.resources[0].spec.as_ref().map_err(|e| e.clone())?;
        Ok::<usize, String>(crate::drivers::manifest::spec_of::<ContainerSpec>(&**spec).output_size)
    };
    assert_eq!(size("1m"), Ok(1 << 20));
    assert_eq!(size("4096"), Ok(4096));
    for bad in ["0", "17m", "lots"] {
        let problems = config(bad).problems;
        assert!(
            problems
                .iter()
                .any(|p| p.to_string().contains("output_size")),
            "{bad}: {problems:?}"
        );
    }
}

mod networks_and_jobs {
    //! A container on several networks, one-shot jobs, and run_args'
    //! word on the TTY.

    use std::sync::Arc;
    use std::time::Duration;

    use bollard::models::NetworkCreateRequest;

    use super::*;
    use crate::actionlog::ServiceLog;
    use crate::docker::fake::{Call, FakeDocker};
    use crate::drivers::Driver;

    const NAME: &str = "app.container.1";
    const BUSYBOX: &str = "sha256:f66342b343ae0000000000000000000000000000000000000000000000000000";

    fn daemon(networks: &[&str]) -> Arc<FakeDocker> {
        let docker = Arc::new(FakeDocker::new("unix:///run/fake-docker.sock"));
        docker.add_image(BUSYBOX, &["busybox:latest"]);
        for name in networks {
            docker.add_network(NetworkCreateRequest {
                name: name.to_string(),
                ..Default::default()
            });
        }
        docker
    }

    fn driver(docker: &Arc<FakeDocker>, spec: ContainerSpec) -> ContainerDriver {
        let ctx = DriverContext::for_tests(docker.clone());
        ContainerDriver::new(&ctx, rid("container#1"), spec)
    }

    fn logs() -> (ServiceLog, ResourceLog) {
        let service = ServiceLog::new("app");
        let log = service.resource("container#1");
        (service, log)
    }

    #[tokio::test(start_paused = true)]
    async fn a_container_on_two_networks_is_created_on_one_and_connected_to_the_other_before_it_starts(
    ) {
        let docker = daemon(&["p_front", "p_back"]);
        let (service, log) = logs();
        let args = "--network p_front --network-alias web --network name=p_back,alias=web";
        driver(&docker, spec(args)).start(&log).await.unwrap();
        let id = docker.container(NAME).unwrap().id;
        assert_eq!(
            docker.actions(),
            [
                format!("create {NAME}"),
                format!("network connect p_back {id}"),
                format!("start {id}"),
            ]
        );
        let created = docker
            .calls()
            .into_iter()
            .find_map(|c| match c {
                Call::Create { body, .. } => Some(body),
                _ => None,
            })
            .unwrap();
        let endpoints = created.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(endpoints.len(), 1, "one network at create (API 1.41)");
        assert_eq!(endpoints["p_front"].aliases, Some(vec!["web".to_string()]));
        let joined = docker.container(NAME).unwrap().networks;
        assert_eq!(joined[1].0, "p_back");
        assert_eq!(joined[1].1.aliases, Some(vec!["web".to_string()]));
        let text = service.resource_lines("container#1").join("\n");
        assert!(
            text.contains("network connect --alias web p_back c0ffee"),
            "{text}"
        );
        // A stop then a start: nothing to connect again.
        let d = driver(&docker, spec(args));
        d.stop(&log).await.unwrap();
        d.start(&log).await.unwrap();
        let connects = docker
            .actions()
            .iter()
            .filter(|a| a.starts_with("network connect"))
            .count();
        assert_eq!(connects, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn run_args_may_turn_off_the_tty_and_open_stdin() {
        let docker = daemon(&[]);
        let (_service, log) = logs();
        driver(&docker, spec("--tty=false --interactive=false"))
            .start(&log)
            .await
            .unwrap();
        let body = docker.container(NAME).unwrap().body.unwrap();
        assert_eq!((body.tty, body.open_stdin), (Some(false), Some(false)));
        let docker = daemon(&[]);
        driver(&docker, spec("")).start(&log).await.unwrap();
        let body = docker.container(NAME).unwrap().body.unwrap();
        assert_eq!(
            (body.tty, body.open_stdin),
            (Some(true), Some(true)),
            "the tutorial's -t -i stays the default"
        );
    }

    fn job() -> ContainerSpec {
        let mut s = spec("");
        s.oneshot = true;
        s
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_s_start_waits_for_its_exit_and_succeeds_on_zero() {
        let docker = daemon(&[]);
        let (service, log) = logs();
        docker.created_exit_after_start(Duration::from_secs(3), 0, "migrated\n");
        let d = driver(&docker, job());
        d.start(&log).await.unwrap();
        let text = service.resource_lines("container#1").join("\n");
        assert!(text.contains("wait for the job to exit"), "{text}");
        let state = d.status().await;
        assert_eq!(state.status, Status::NotApplicable, "{state:?}");
        assert!(state.messages.iter().any(|m| m.contains("exited 0")));
        // Its start runs it again.
        d.start(&log).await.unwrap();
        let starts = docker
            .actions()
            .iter()
            .filter(|a| a.starts_with("start "))
            .count();
        assert_eq!(starts, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_that_exits_non_zero_fails_its_start_with_its_output() {
        let docker = daemon(&[]);
        let (_service, log) = logs();
        docker.created_exit_after_start(Duration::from_secs(1), 3, "no database\n");
        let d = driver(&docker, job());
        let err = d.start(&log).await.unwrap_err();
        assert!(err.message().contains("exited with code 3"), "{err:?}");
        assert!(err.message().contains("no database"), "{err:?}");
        let state = d.status().await;
        assert_eq!(state.status, Status::Warn);
    }
}
