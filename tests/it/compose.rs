//! Compose projects for real: a three-service project on two networks,
//! imported with `svcfs import` and loaded from its sub-directory of the
//! config directory, started on the host's dockerd through the mount.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

/// A project whose database is healthy two seconds after it starts, whose
/// api (on both networks) waits for that, and whose web front reaches the
/// api only. Each serves its name over HTTP with busybox httpd.
fn compose_text(name: &str, db_image: &str) -> String {
    format!(
        r#"name: {name}
x-httpd: &httpd
  image: busybox:latest
  stop_grace_period: 2s

services:
  web:
    <<: *httpd
    command: ["sh", "-c", "mkdir -p /www && echo web-ok > /www/index.html && exec httpd -f -p 80 -h /www"]
    depends_on: [api]
    networks: [front]
  api:
    <<: *httpd
    command: ["sh", "-c", "mkdir -p /www && echo api-ok > /www/index.html && exec httpd -f -p 8081 -h /www"]
    depends_on:
      db:
        condition: service_healthy
    networks: [front, back]
  db:
    <<: *httpd
    image: {db_image}
    container_name: legacy-db
    command:
      - sh
      - -c
      - |
        mkdir -p /data/www
        echo db-ok > /data/www/index.html
        (sleep 2; touch /tmp/ready) &
        exec httpd -f -p 8080 -h /data/www
    volumes: [data:/data]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready && wget -qO- http://127.0.0.1:8080/ >/dev/null"]
      interval: 1s
      timeout: 2s
      retries: 30
    networks: [back]

volumes:
  data:

networks:
  front:
  back:
"#
    )
}

/// Remove what a project left on the host daemon.
fn remove_project(service: &str, project: &str) {
    remove_containers(service);
    for network in ["front", "back"] {
        let _ = docker(&["network", "rm", &format!("{project}_{network}")]);
    }
    let _ = docker(&["volume", "rm", "-f", &format!("{project}_data")]);
}

fn exec(container: &str, command: &[&str]) -> Result<String, String> {
    let mut args = vec!["exec", container];
    args.extend_from_slice(command);
    docker(&args).map(|out| out.trim().to_string())
}

fn network_id(name: &str) -> Option<String> {
    docker(&["network", "inspect", "-f", "{{.Id}}", name])
        .ok()
        .map(|id| id.trim().to_string())
}

/// The docker events of the service's containers since `since`, as
/// `<status> <name>` lines in the order dockerd saw them.
fn events_since(since: &str, service: &str) -> Vec<String> {
    let until = (now_unix().parse::<u64>().unwrap() + 1).to_string();
    let out = docker(&[
        "events",
        "--since",
        since,
        "--until",
        &until,
        "--filter",
        &format!("label=svcfs.service={service}"),
        "--format",
        "{{.Status}} {{.Actor.Attributes.name}}",
    ])
    .unwrap_or_default();
    out.lines().map(str::to_string).collect()
}

fn now_unix() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

/// What both ways of loading a project must show, once it is loaded as
/// `service` from Compose project `project`.
fn the_project_runs_as_compose_runs_it(d: &Daemon, service: &str, project: &str) {
    let [db, api, web] = [1, 2, 3].map(|n| format!("{service}.container.{n}"));
    let overview = d.read(&format!("{service}/overview"));
    for line in [
        format!("network#1      ...S down     {project}_front"),
        format!("network#2      ...S down     {project}_back"),
    ] {
        assert!(overview.contains(&line), "{line:?} in\n{overview}");
    }

    // In dependency order, the api only once the database is healthy.
    let since = now_unix();
    d.must(&format!("{service}/ctl"), "start");
    let events = events_since(&since, service);
    let position = |wanted: &str| {
        events
            .iter()
            .position(|e| e == wanted)
            .unwrap_or_else(|| panic!("no {wanted:?} in {events:#?}"))
    };
    assert!(position(&format!("start {db}")) < position(&format!("health_status: healthy {db}")));
    assert!(
        position(&format!("health_status: healthy {db}")) < position(&format!("start {api}")),
        "{events:#?}"
    );
    assert!(position(&format!("start {api}")) < position(&format!("start {web}")));
    assert_eq!(d.read(&format!("{service}/avail")), "up\n");

    // Each reaches the others by service name, on the networks they share.
    assert_eq!(
        exec(&web, &["wget", "-qO-", "http://api:8081/"]).unwrap(),
        "api-ok"
    );
    assert_eq!(
        exec(&api, &["wget", "-qO-", "http://db:8080/"]).unwrap(),
        "db-ok"
    );
    assert_eq!(
        exec(&api, &["wget", "-qO-", "http://web:80/"]).unwrap(),
        "web-ok"
    );
    assert_eq!(
        exec(&db, &["wget", "-qO-", "http://api:8081/"]).unwrap(),
        "api-ok"
    );
    // The container_name is an alias the others still reach.
    assert_eq!(
        exec(&api, &["wget", "-qO-", "http://legacy-db:8080/"]).unwrap(),
        "db-ok"
    );
    // The front does not see the back network.
    assert!(exec(&web, &["wget", "-qO-", "-T", "2", "http://db:8080/"]).is_err());

    // Data in the named volume, the networks, across a stop and a start.
    exec(&db, &["sh", "-c", "echo persisted > /data/state"]).unwrap();
    let networks = [
        network_id(&format!("{project}_front")).expect("front exists"),
        network_id(&format!("{project}_back")).expect("back exists"),
    ];
    d.must(&format!("{service}/ctl"), "stop");
    assert_eq!(d.read(&format!("{service}/avail")), "down\n");
    assert!(!container_running(&db));
    let kept = [
        network_id(&format!("{project}_front")),
        network_id(&format!("{project}_back")),
    ];
    assert_eq!(kept, networks.clone().map(Some), "stop keeps the networks");
    d.must(&format!("{service}/ctl"), "start");
    let reused = [
        network_id(&format!("{project}_front")),
        network_id(&format!("{project}_back")),
    ];
    assert_eq!(reused, networks.map(Some), "start reuses them");
    assert_eq!(exec(&db, &["cat", "/data/state"]).unwrap(), "persisted");
    assert_eq!(
        exec(&web, &["wget", "-qO-", "http://api:8081/"]).unwrap(),
        "api-ok"
    );
    assert_eq!(
        exec(&api, &["wget", "-qO-", "http://db:8080/"]).unwrap(),
        "db-ok"
    );
}

/// Wait until the tree shows `value` in `rel`.
fn wait_for_file(d: &Daemon, rel: &str, value: &str) {
    let shown = wait_until(Duration::from_secs(15), || {
        std::fs::read_to_string(d.path(rel)).is_ok_and(|v| v.trim() == value)
    });
    assert!(
        shown,
        "{rel} never read {value:?} (reads {:?})\n{}",
        std::fs::read_to_string(d.path(rel)),
        d.output()
    );
}

/// After an upgrade of the database's image: the same data.
fn the_upgrade_keeps_the_volume(d: &Daemon, service: &str) {
    let db = format!("{service}.container.1");
    d.must(&format!("{service}/ctl"), "start");
    let image = docker(&["inspect", "-f", "{{.Config.Image}}", &db]).unwrap();
    assert_eq!(image.trim(), "google/busybox:latest");
    assert!(
        container_id(&format!("{db}.prev")).is_some(),
        "the old one is kept for rollback"
    );
    assert_eq!(exec(&db, &["cat", "/data/state"]).unwrap(), "persisted");
    let api = format!("{service}.container.2");
    assert_eq!(
        exec(&api, &["wget", "-qO-", "http://db:8080/"]).unwrap(),
        "db-ok"
    );
}

#[test]
fn an_imported_project_starts_in_order_and_its_containers_reach_each_other_by_name() {
    if !prerequisites() {
        return;
    }
    let (service, project) = ("shop", "svcfsitshop");
    let sandbox = Sandbox::new("compose-import", &[service]);
    remove_project(service, project);
    let compose = sandbox.root.join("compose.yaml");
    std::fs::write(&compose, compose_text(project, "busybox:latest")).unwrap();
    let conf = sandbox.etc().join("shop.conf");
    let imported = Command::new(SVCFS)
        .args(["import", "--name", service, "--output"])
        .arg(&conf)
        .arg(&compose)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&imported.stderr);
    assert_eq!(imported.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:22: services.db.container_name: ",
            compose.display()
        )),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("# container#1: Compose service db (compose.yaml:19)"),
        "{text}"
    );
    let checked = Command::new(SVCFS)
        .args(["check", "--config-dir"])
        .arg(sandbox.etc())
        .output()
        .unwrap();
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");

    let d = sandbox.mount(&[]);
    the_project_runs_as_compose_runs_it(&d, service, project);

    // An upgrade: run_image edited in the service file, then start.
    std::fs::write(
        &conf,
        text.replacen(
            "run_image = busybox:latest",
            "run_image = google/busybox:latest",
            1,
        ),
    )
    .unwrap();
    wait_for_file(
        &d,
        &format!("{service}/container#1/run_image"),
        "google/busybox:latest",
    );
    the_upgrade_keeps_the_volume(&d, service);
    drop(d);
    remove_project(service, project);
}

#[test]
fn a_project_loaded_from_its_sub_directory_behaves_the_same_and_follows_its_files() {
    if !prerequisites() {
        return;
    }
    let (service, project) = ("shop2", "svcfsitshop2");
    let sandbox = Sandbox::new("compose-dir", &[service]);
    remove_project(service, project);
    let dir = sandbox.etc().join(service);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        compose_text(project, "${DB_IMAGE:-busybox:latest}"),
    )
    .unwrap();
    let mut d = sandbox.mount(&[]);
    // The converter's warning, at its Compose line, in the messages.
    let compose = dir.join("compose.yaml");
    let located = format!("{}:22: services.db.container_name:", compose.display());
    let messages = d.read(&format!("{service}/messages"));
    assert!(messages.contains(&located), "{messages}");
    let checked = Command::new(SVCFS)
        .args(["check", "--config-dir"])
        .arg(sandbox.etc())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&checked.stdout);
    assert_eq!(checked.status.code(), Some(0), "{report}");
    assert!(report.contains(&format!("warning: {located}")), "{report}");
    let config = d.read(&format!("{service}/config"));
    assert!(config.contains("# Made by svcfs from"), "{config}");
    the_project_runs_as_compose_runs_it(&d, service, project);

    // An edit of the project's .env is the service's edit.
    std::fs::write(dir.join(".env"), "DB_IMAGE=google/busybox:latest\n").unwrap();
    wait_for_file(
        &d,
        &format!("{service}/container#1/run_image"),
        "google/busybox:latest",
    );
    the_upgrade_keeps_the_volume(&d, service);

    // The project leaves: its networks stay while its containers exist,
    // and go once they are removed (at the next change of the config
    // directory, here a SIGHUP).
    d.must(&format!("{service}/ctl"), "stop");
    std::fs::remove_dir_all(&dir).unwrap();
    let left = wait_until(Duration::from_secs(15), || !d.path(service).exists());
    assert!(left, "{}", d.output());
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        network_id(&format!("{project}_back")).is_some(),
        "containers still use it"
    );
    remove_containers(service);
    unsafe { libc::kill(d.pid(), libc::SIGHUP) };
    let swept = wait_until(Duration::from_secs(15), || {
        network_id(&format!("{project}_back")).is_none()
            && network_id(&format!("{project}_front")).is_none()
    });
    assert!(swept, "{}", d.output());
    // Logged once the daemon's sweep of that docker daemon ends.
    let logged = wait_until(Duration::from_secs(5), || {
        d.output().contains(&format!(
            "network {project}_back (created for {service}) removed"
        ))
    });
    assert!(logged, "{}", d.output());
    d.signal_and_wait(libc::SIGTERM);
    remove_project(service, project);
}

#[test]
fn import_of_a_file_that_builds_exits_1_naming_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("svcfs-it-compose-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("docker-compose.yml");
    std::fs::write(
        &file,
        "services:\n  web:\n    build: ./web\n    image: web:dev\n    colour: blue\n  db:\n    image: busybox\n    restrat: always\n",
    )
    .unwrap();
    let output = dir.join("web.conf");
    let run = Command::new(SVCFS)
        .args(["import", "--output"])
        .arg(&output)
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let at = |line: usize, key: &str| format!("{}:{line}: {key}: ", file.display());
    assert!(
        lines[0].starts_with(&at(3, "services.web.build")),
        "{stderr}"
    );
    assert!(lines[0].contains("build the image first"), "{stderr}");
    assert!(
        lines[1].starts_with(&at(5, "services.web.colour")),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with(&at(8, "services.db.restrat")),
        "{stderr}"
    );
    assert!(lines[2].contains("did you mean restart?"), "{stderr}");
    assert!(!Path::new(&output).exists(), "nothing written");
    assert!(run.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
