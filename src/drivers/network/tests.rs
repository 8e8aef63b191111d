//! The network driver and its sweep against the fake docker daemon.

use std::sync::Arc;

use bollard::models::NetworkCreateRequest;

use super::*;
use crate::actionlog::ServiceLog;
use crate::docker::fake::{FakeContainer, FakeDocker};
use crate::docker::ErrorKind;

const HOST: &str = "unix:///run/fake-docker.sock";

fn spec(name: &str) -> NetworkSpec {
    NetworkSpec {
        name: name.into(),
        driver: "bridge".into(),
        pools: Vec::new(),
        internal: false,
        ipv6: false,
        options: Default::default(),
        labels: Default::default(),
        external: false,
    }
}

fn driver(docker: &Arc<FakeDocker>, spec: NetworkSpec) -> NetworkDriver {
    let ctx = DriverContext::for_tests(docker.clone());
    NetworkDriver::new(&ctx, Rid::parse("network#1").unwrap(), spec)
}

fn logs() -> (ServiceLog, ResourceLog) {
    let service = ServiceLog::new("app");
    let log = service.resource("network#1");
    (service, log)
}

#[tokio::test]
async fn start_creates_a_labelled_bridge_once_and_stop_keeps_it() {
    let docker = Arc::new(FakeDocker::new(HOST));
    let (service, log) = logs();
    let mut wanted = spec("app_back");
    wanted.pools = vec![Pool {
        subnet: "10.9.0.0/24".into(),
        gateway: Some("10.9.0.1".into()),
        ip_range: None,
    }];
    wanted.internal = true;
    let d = driver(&docker, wanted);
    assert_eq!(d.status().await.status, Status::Down);
    d.start(&log).await.unwrap();
    d.start(&log).await.unwrap();
    assert_eq!(docker.actions(), ["network create app_back"], "idempotent");
    let created = docker.network("app_back").unwrap().body;
    assert_eq!(created.driver.as_deref(), Some("bridge"));
    assert_eq!(created.internal, Some(true));
    let labels = created.labels.unwrap();
    assert_eq!(labels[LABEL_SERVICE], "app");
    assert_eq!(labels[LABEL_RID], "network#1");
    let pool = &created.ipam.unwrap().config.unwrap()[0];
    assert_eq!(pool.subnet.as_deref(), Some("10.9.0.0/24"));
    assert_eq!(pool.gateway.as_deref(), Some("10.9.0.1"));
    d.stop(&log).await.unwrap();
    assert!(docker.network("app_back").is_some(), "stop keeps it");
    assert_eq!(d.status().await.status, Status::Up);
    let text = service.resource_lines("network#1").join("\n");
    assert!(
        text.contains(
            "network create --driver=bridge --subnet=10.9.0.0/24 --gateway=10.9.0.1 --internal"
        ),
        "{text}"
    );
    assert!(text.contains("network app_back is already up"), "{text}");
    assert!(text.contains("is kept"), "{text}");
}

#[tokio::test]
async fn an_external_network_is_never_created() {
    let docker = Arc::new(FakeDocker::new(HOST));
    let (_service, log) = logs();
    let mut wanted = spec("shared");
    wanted.external = true;
    let d = driver(&docker, wanted);
    let state = d.status().await;
    assert_eq!(state.status, Status::Warn);
    assert!(state.messages[0].contains("docker network create shared"));
    let err = d.start(&log).await.unwrap_err();
    assert!(err.message().contains("does not exist"), "{err:?}");
    assert!(docker.actions().is_empty());
    docker.add_network(NetworkCreateRequest {
        name: "shared".into(),
        driver: Some("bridge".into()),
        ..Default::default()
    });
    d.start(&log).await.unwrap();
    assert_eq!(d.status().await.status, Status::Up);
}

#[tokio::test]
async fn a_network_with_other_settings_warns_and_is_not_used() {
    let docker = Arc::new(FakeDocker::new(HOST));
    let (_service, log) = logs();
    docker.add_network(NetworkCreateRequest {
        name: "app_back".into(),
        driver: Some("macvlan".into()),
        ..Default::default()
    });
    let d = driver(&docker, spec("app_back"));
    let state = d.status().await;
    assert_eq!(state.status, Status::Warn);
    assert!(
        state.messages[0].contains("driver macvlan instead of bridge"),
        "{state:?}"
    );
    assert!(d.start(&log).await.is_err());
}

#[tokio::test]
async fn the_sweep_removes_only_undeclared_unused_networks_of_svcfs() {
    let docker = Arc::new(FakeDocker::new(HOST));
    let created_by = |name: &str, var_dir: &str| NetworkCreateRequest {
        name: name.into(),
        labels: Some(
            [
                (LABEL_SERVICE.to_string(), "app".to_string()),
                (LABEL_VAR_DIR.to_string(), var_dir.to_string()),
            ]
            .into(),
        ),
        ..Default::default()
    };
    let ours = |name: &str| created_by(name, "/var/lib/svcfs");
    docker.add_network(ours("app_default"));
    docker.add_network(ours("app_old"));
    docker.add_network(ours("app_used"));
    // Another svcfs daemon's, on the same docker daemon: its own to sweep.
    docker.add_network(created_by("other_old", "/srv/other-svcfs"));
    docker.add_network(NetworkCreateRequest {
        name: "theirs".into(),
        ..Default::default()
    });
    let mut c = FakeContainer::new("app.container.9", "sha256:x", &[]).exited(0);
    c.networks = vec![("app_used".into(), Default::default())];
    docker.add_container(c);
    let declared: Vec<Arc<dyn Spec>> = vec![Arc::new(spec("app_default"))];
    let said = sweep(docker.clone(), declared, "/var/lib/svcfs".into()).await;
    assert!(docker.network("other_old").is_some(), "another daemon's");
    assert!(docker.network("app_default").is_some(), "declared");
    assert!(
        docker.network("app_used").is_some(),
        "a stopped container uses it"
    );
    assert!(docker.network("theirs").is_some(), "not svcfs's");
    assert!(docker.network("app_old").is_none());
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("network app_old (created for app) removed"));
    // A daemon that does not answer: nothing to say, nothing done.
    docker.fail("list networks", ErrorKind::Unreachable, "down");
    assert!(sweep(docker.clone(), Vec::new(), "/var/lib/svcfs".into())
        .await
        .is_empty());
}
