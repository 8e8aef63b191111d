//! The converter against a corpus of Compose files written the way public
//! projects write them (tests/data/compose/<project>/), each checked
//! against the service file and the notes expected of it
//! (`expected.conf`, `expected.notes`; `SVCFS_BLESS=1` writes them anew
//! for review), then specific rules one by one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::parse_service;
use crate::drivers::registry::KINDS;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compose")
}

/// The environment of every conversion here: fixed, so results are too.
fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/root".into()),
        _ => None,
    }
}

/// Convert `text` as `/srv/<project>/compose.yaml`, its other files read
/// from `files`.
fn convert_text(project: &str, text: &str, files: &HashMap<PathBuf, String>) -> Converted {
    convert_named(project, "compose.yaml", text, files)
}

fn convert_named(
    project: &str,
    name: &str,
    text: &str,
    files: &HashMap<PathBuf, String>,
) -> Converted {
    let dir = PathBuf::from(format!("/srv/{project}"));
    let file = dir.join(name);
    let read = |path: &Path| {
        files.get(path).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
        })
    };
    convert(&Input {
        file: &file,
        text,
        project_dir: &dir,
        service: project,
        env: &env,
        read: &read,
        made_by: MadeBy::Import,
    })
}

fn simple(text: &str) -> Converted {
    convert_text("app", text, &HashMap::new())
}

fn notes(converted: &Converted) -> Vec<String> {
    converted.notes.iter().map(Note::located).collect()
}

/// The generated file loads without a problem, and says what it should.
fn loads_cleanly(converted: &Converted) -> crate::config::ServiceConfig {
    let service = parse_service(
        &KINDS,
        "app",
        Path::new("/srv/app/generated.env"),
        &converted.text,
    );
    let problems: Vec<String> = service
        .problems
        .iter()
        .map(|p| p.with_line(&converted.text))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}\n{}", converted.text);
    // Every value is read back whole (no `#` or `;` taken for a comment).
    for resource in &service.resources {
        for (keyword, value) in resource.keywords.iter() {
            let line = format!("\n{keyword} = {value}\n");
            assert!(
                converted.text.contains(&line),
                "{keyword} of {} reads {value:?}",
                resource.rid
            );
        }
    }
    service
}

#[test]
fn the_corpus_converts_to_the_expected_service_files() {
    let bless = std::env::var_os("SVCFS_BLESS").is_some();
    let mut checked = 0;
    let mut projects: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    projects.sort();
    for dir in projects {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let file = COMPOSE_FILES
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{name}: no compose file"));
        let text = std::fs::read_to_string(&file).unwrap();
        // Its files as the converter sees them, under /srv/<name>/.
        let mut files = HashMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let shown = PathBuf::from(format!("/srv/{name}")).join(path.file_name().unwrap());
            files.insert(shown, std::fs::read_to_string(&path).unwrap());
        }
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        let converted = convert_named(&name, &file_name, &text, &files);
        let got_notes: String = notes(&converted).iter().map(|n| format!("{n}\n")).collect();
        let expected_conf = dir.join("expected.conf");
        let expected_notes = dir.join("expected.notes");
        if bless {
            std::fs::write(&expected_conf, &converted.text).unwrap();
            std::fs::write(&expected_notes, &got_notes).unwrap();
        }
        let want = std::fs::read_to_string(&expected_conf)
            .unwrap_or_else(|_| panic!("{name}: no expected.conf (SVCFS_BLESS=1 writes it)"));
        assert_eq!(converted.text, want, "{name}: the service file differs");
        let want = std::fs::read_to_string(&expected_notes).unwrap_or_default();
        assert_eq!(got_notes, want, "{name}: the notes differ");
        if !converted.has_errors() {
            loads_cleanly(&converted);
        }
        checked += 1;
    }
    assert!(checked >= 4, "the corpus has {checked} projects");
}

#[test]
fn build_is_an_error_at_its_line_and_unknown_keys_are_named_each_at_theirs() {
    let converted = simple(
        "services:\n  web:\n    build: ./web\n    image: web:dev\n    colour: blue\n    networks: [front]\n  db:\n    image: postgres\n    volumes_from: [web]\nnetworks:\n  front:\n    drivr: bridge\nvolums:\n  data:\n",
    );
    assert!(converted.has_errors());
    let got = notes(&converted);
    let want = [
        "/srv/app/compose.yaml:3: services.web.build: svcfs runs images, it builds none: build the image first (docker build -t NAME DIR) and name it in image:",
        "/srv/app/compose.yaml:5: services.web.colour: not a key of the Compose specification: Compose refuses the file",
        "/srv/app/compose.yaml:9: services.db.volumes_from: volumes of another container are not carried: declare the volumes and mount them in both services",
        "/srv/app/compose.yaml:12: networks.front.drivr: not a key of the Compose specification here (did you mean driver?): Compose refuses the file",
        "/srv/app/compose.yaml:13: volums: not a key of the Compose specification (did you mean volumes?): Compose refuses the file",
    ];
    assert_eq!(got, want);
}

#[test]
fn what_is_safely_ignored_is_a_warning_and_the_file_still_loads() {
    let converted = simple(
        "version: '3.8'\nx-note: free\nservices:\n  web:\n    image: busybox\n    container_name: web1\n    pull_policy: always\n    x-extra: 1\n",
    );
    assert!(!converted.has_errors(), "{:?}", notes(&converted));
    let got = notes(&converted);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with(
        "/srv/app/compose.yaml:6: services.web.container_name: svcfs names its containers"
    ));
    assert!(got[1].starts_with("/srv/app/compose.yaml:7: services.web.pull_policy: ignored"));
    let text = &converted.text;
    assert!(
        text.contains("--network app_default --network-alias web --network-alias web1"),
        "{text}"
    );
    loads_cleanly(&converted);
}

#[test]
fn interpolation_reads_the_environment_then_dotenv_and_reports_what_is_missing() {
    let files = HashMap::from([(
        PathBuf::from("/srv/app/.env"),
        "TAG=1.36\nPORT=8080\nHOME=/not-this\n".to_string(),
    )]);
    let text = "services:\n  web:\n    image: busybox:${TAG}\n    ports: [\"${PORT}:80\"]\n    environment:\n      A: $${HOME} ${HOME}\n      B: ${UNSET}\n";
    let converted = convert_text("app", text, &files);
    assert!(converted.text.contains("run_image = busybox:1.36"));
    assert!(converted.text.contains("-p 8080:80"), "{}", converted.text);
    // The environment wins over .env, as for Compose; `$$` is a `$`.
    assert!(
        converted.text.contains("'A=${HOME} /root'"),
        "{}",
        converted.text
    );
    assert_eq!(
        notes(&converted),
        ["/srv/app/compose.yaml:7: services.web.environment.B: variable UNSET is not set: read as an empty string, as Compose does (set it in the environment or in .env)"]
    );
    let required = simple("services:\n  web:\n    image: ${IMAGE:?name the image}\n");
    assert_eq!(
        notes(&required),
        ["/srv/app/compose.yaml:3: services.web.image: required variable IMAGE is missing a value: name the image"]
    );
}

#[test]
fn the_project_name_is_compose_s() {
    let dir_named = |dir: &str, text: &str| {
        let dir = PathBuf::from(dir);
        let file = dir.join("compose.yaml");
        let read = |_: &Path| Err(std::io::Error::from(std::io::ErrorKind::NotFound));
        convert(&Input {
            file: &file,
            text,
            project_dir: &dir,
            service: "svc",
            env: &env,
            read: &read,
            made_by: MadeBy::ConfigDir,
        })
    };
    let body =
        "services:\n  a:\n    image: busybox\n    volumes: [data:/data]\nvolumes:\n  data:\n";
    let c = dir_named("/etc/svcfs/My.Blog", body);
    assert_eq!(c.project, "myblog");
    assert!(c.text.contains("-v myblog_data:/data"), "{}", c.text);
    assert!(c.text.contains("name = myblog_default"), "{}", c.text);
    let c = dir_named("/etc/svcfs/x", &format!("name: blog\n{body}"));
    assert_eq!(c.project, "blog");
    let c = dir_named("/etc/svcfs/x", &format!("name: Blog\n{body}"));
    assert!(
        notes(&c)[0].contains("name: \"Blog\" is not a valid project name"),
        "{:?}",
        notes(&c)
    );
}

#[test]
fn services_start_after_their_dependencies_otherwise_in_the_file_s_order() {
    let converted = simple(
        "services:\n  web:\n    image: busybox\n    depends_on: [api]\n  api:\n    image: busybox\n    depends_on:\n      db: {condition: service_healthy}\n  db:\n    image: busybox\n    healthcheck: {test: 'true'}\n  side:\n    image: busybox\n",
    );
    let order: Vec<&str> = converted
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# container#"))
        .map(|l| l.split(' ').nth(3).unwrap())
        .collect();
    assert_eq!(order, ["db", "api", "web", "side"]);
    let cycle = simple(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
    );
    assert!(
        notes(&cycle)[0].contains("dependency cycle: a → b → a"),
        "{:?}",
        notes(&cycle)
    );
}

#[test]
fn a_completed_dependency_is_a_job_and_a_healthy_one_needs_a_check() {
    let converted = simple(
        "services:\n  migrate:\n    image: busybox\n  db:\n    image: busybox\n  web:\n    image: busybox\n    depends_on:\n      migrate: {condition: service_completed_successfully}\n      db: {condition: service_healthy}\n",
    );
    let service = loads_cleanly(&converted);
    let migrate = service.resource("container#1").unwrap();
    let spec = migrate
        .spec_as::<crate::drivers::container::ContainerSpec>()
        .unwrap();
    assert!(spec.oneshot);
    assert_eq!(spec.start_timeout, std::time::Duration::from_secs(3600));
    assert_eq!(
        notes(&converted),
        ["/srv/app/compose.yaml:10: services.web.depends_on.db: service_healthy, and db sets no healthcheck: its image must define one (svcfs then waits for it; without one, only for the container to run)"]
    );
}

#[test]
fn a_script_on_several_lines_survives_in_a_json_array() {
    let converted = simple(
        "services:\n  job:\n    image: busybox\n    command:\n      - sh\n      - -c\n      - |\n        echo one\n        echo two\n",
    );
    let service = loads_cleanly(&converted);
    let spec = service
        .resource("container#1")
        .unwrap()
        .spec_as::<crate::drivers::container::ContainerSpec>()
        .unwrap()
        .clone();
    assert_eq!(spec.run_command, ["sh", "-c", "echo one\necho two\n"]);
}

#[test]
fn problems_of_the_generated_file_move_to_the_compose_line() {
    let converted = simple("services:\n  web:\n    image: busybox\n    ports: ['99999:80']\n");
    let service = parse_service(
        &KINDS,
        "app",
        Path::new("/srv/app/compose.yaml"),
        &converted.text,
    );
    let problem = service
        .problems
        .iter()
        .find(|p| p.severity == crate::config::Severity::Error)
        .expect("a bad port");
    let moved = converted.relocate(Path::new("/srv/app/compose.yaml"), problem);
    let shown = moved.to_string();
    assert!(
        shown.starts_with("error: /srv/app/compose.yaml:2: services.web: [container#1] run_args: "),
        "{shown}"
    );
    assert!(shown.contains("99999"), "{shown}");
}

#[test]
fn yaml_errors_name_their_line() {
    let converted = simple("services:\n  web:\n    image: [busybox\n");
    assert!(converted.has_errors());
    assert!(converted.text.is_empty());
    assert!(
        notes(&converted)[0].starts_with("/srv/app/compose.yaml:"),
        "{:?}",
        notes(&converted)
    );
}

#[test]
fn an_override_beside_the_file_is_refused_at_its_name() {
    let files = HashMap::from([(
        PathBuf::from("/srv/app/compose.override.yaml"),
        "services:\n  web:\n    ports: [\"80:80\"]\n".to_string(),
    )]);
    let converted = convert_text("app", "services:\n  web:\n    image: nginx\n", &files);
    let notes = notes(&converted);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("/srv/app/compose.override.yaml: override: docker compose up in /srv/app also applies this override"),
        "{notes:?}"
    );
    assert_eq!(converted.notes[0].severity, Severity::Error);
    // Followed like the other files it read: removing it reloads.
    assert!(converted
        .read
        .contains(&PathBuf::from("/srv/app/compose.override.yaml")));
    // Without one, nothing is said.
    assert!(simple("services:\n  web:\n    image: nginx\n")
        .notes
        .is_empty());
}
