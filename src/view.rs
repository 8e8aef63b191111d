//! The filesystem as a pure function of the engine's state: which
//! directories and files exist, their kinds and their contents. The FUSE
//! adapter only maps this onto inodes; everything here is testable without
//! a mount.

use std::sync::Arc;

use crate::engine::command::{resource_ctl_help, SERVICE_CTL_HELP};
use crate::engine::{Engine, ResourceSnapshot, ServiceRuntime};
use crate::render;

/// Files of a service directory, in listing order.
pub const SERVICE_FILES: [&str; 8] = [
    "status",
    "avail",
    "overview",
    "status.json",
    "ctl",
    "log",
    "messages",
    "config",
];

/// Standard files of a resource directory, in listing order.
pub const RESOURCE_FILES: [&str; 6] = ["status", "label", "messages", "ctl", "log", "type"];

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory (root, service, resource).
    Dir,
    /// A read-only file.
    File,
    /// A `ctl` file: write-only commands, readable help.
    Ctl,
}

/// A directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File name.
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
}

fn entry(name: &str) -> Entry {
    Entry {
        name: name.to_string(),
        kind: if name == "ctl" {
            NodeKind::Ctl
        } else {
            NodeKind::File
        },
    }
}

/// What `path` (components under the mountpoint) names, if anything.
pub fn kind(engine: &Engine, path: &[&str]) -> Option<NodeKind> {
    match path {
        [] => Some(NodeKind::Dir),
        [service] => engine.service(service).map(|_| NodeKind::Dir),
        [service, name] => {
            let runtime = engine.service(service)?;
            if SERVICE_FILES.contains(name) {
                return Some(entry(name).kind);
            }
            runtime.snapshot().resource(name).map(|_| NodeKind::Dir)
        }
        [service, rid, file] => {
            let snapshot = engine.service(service)?.snapshot();
            let resource = snapshot.resource(rid)?;
            resource_files(resource)
                .into_iter()
                .find(|e| e.name == *file)
                .map(|e| e.kind)
        }
        _ => None,
    }
}

/// The entries of a directory.
pub fn list(engine: &Engine, path: &[&str]) -> Option<Vec<Entry>> {
    match path {
        [] => Some(
            engine
                .services()
                .iter()
                .map(|s| Entry {
                    name: s.name().to_string(),
                    kind: NodeKind::Dir,
                })
                .collect(),
        ),
        [service] => {
            let snapshot = engine.service(service)?.snapshot();
            let mut entries: Vec<Entry> = SERVICE_FILES.iter().map(|f| entry(f)).collect();
            entries.extend(snapshot.resources.iter().map(|r| Entry {
                name: r.rid.to_string(),
                kind: NodeKind::Dir,
            }));
            Some(entries)
        }
        [service, rid] => {
            let snapshot = engine.service(service)?.snapshot();
            Some(resource_files(snapshot.resource(rid)?))
        }
        _ => None,
    }
}

/// Files of a resource directory: the standard ones, then one per
/// configured keyword.
fn resource_files(resource: &ResourceSnapshot) -> Vec<Entry> {
    let mut entries: Vec<Entry> = RESOURCE_FILES
        .iter()
        .filter(|f| **f != "type" || type_value(resource).is_some())
        .map(|f| entry(f))
        .collect();
    for (keyword, _) in &resource.keywords {
        if !entries.iter().any(|e| &e.name == keyword) {
            entries.push(entry(keyword));
        }
    }
    entries
}

/// The `type` file: the configured `type` keyword, else `docker` for
/// containers (the only container type).
fn type_value(resource: &ResourceSnapshot) -> Option<String> {
    resource
        .keywords
        .iter()
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.clone())
        .or_else(|| (resource.rid.type_name() == "container").then(|| "docker".to_string()))
}

fn lines(items: &[String], prefix: &str) -> Vec<u8> {
    let mut out = String::new();
    for item in items {
        out.push_str(prefix);
        out.push_str(item);
        out.push('\n');
    }
    out.into_bytes()
}

/// The content of a file, rendered now from the current snapshot.
pub fn content(engine: &Engine, path: &[&str]) -> Option<Vec<u8>> {
    match path {
        [service, file] => service_file(&engine.service(service)?, file),
        [service, rid, file] => {
            let runtime = engine.service(service)?;
            let snapshot = runtime.snapshot();
            let resource = snapshot.resource(rid)?;
            resource_file(&runtime, resource, file)
        }
        _ => None,
    }
}

fn service_file(runtime: &Arc<ServiceRuntime>, file: &str) -> Option<Vec<u8>> {
    let snapshot = runtime.snapshot();
    Some(match file {
        "status" => format!("{}\n", snapshot.overall).into_bytes(),
        "avail" => format!("{}\n", snapshot.avail).into_bytes(),
        "overview" => render::overview(&snapshot).into_bytes(),
        "status.json" => render::status_json(&snapshot, runtime.log()).into_bytes(),
        "ctl" => SERVICE_CTL_HELP.as_bytes().to_vec(),
        "log" => lines(&runtime.log().service_lines(), ""),
        "messages" => lines(&snapshot.messages, "# "),
        "config" => snapshot.config_text.as_bytes().to_vec(),
        _ => return None,
    })
}

fn resource_file(
    runtime: &ServiceRuntime,
    resource: &ResourceSnapshot,
    file: &str,
) -> Option<Vec<u8>> {
    Some(match file {
        "status" => format!("{}\n", resource.state.status).into_bytes(),
        "label" => format!("{}\n", resource.state.label).into_bytes(),
        "messages" => lines(&resource.state.messages, "# "),
        "ctl" => resource_ctl_help(&resource.extra_commands).into_bytes(),
        "log" => lines(&runtime.log().resource_lines(resource.rid.as_str()), ""),
        "type" => format!("{}\n", type_value(resource)?).into_bytes(),
        keyword => {
            let (_, value) = resource.keywords.iter().rev().find(|(k, _)| k == keyword)?;
            format!("{value}\n").into_bytes()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use std::path::PathBuf;
    use std::time::Duration;

    fn engine(tag: &str, files: &[(&str, &str)]) -> Arc<Engine> {
        let dir = std::env::temp_dir().join(format!("svcfs-view-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let engine = Engine::new(EngineOptions {
            config_dir: dir,
            var_dir: PathBuf::from("/nonexistent/var"),
            nodename: "n1".into(),
            docker_host: "unix:///nonexistent/docker.sock".into(),
            refresh_interval: Duration::from_secs(60),
            status_timeout: Duration::from_secs(1),
        });
        engine.reload(true);
        engine
    }

    fn names(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.name.as_str()).collect()
    }

    const FILE: &str =
        "[container#1]\nrun_image = busybox\n[fs#1]\ndev = /d\nmnt = /m\ntype = ext4\n";

    #[test]
    fn root_lists_services_and_service_lists_files_then_resources() {
        let e = engine("list", &[("a.env", FILE), ("b.conf", "")]);
        assert_eq!(names(&list(&e, &[]).unwrap()), ["a", "b"]);
        let entries = list(&e, &["a"]).unwrap();
        assert_eq!(
            names(&entries),
            [
                "status",
                "avail",
                "overview",
                "status.json",
                "ctl",
                "log",
                "messages",
                "config",
                "container#1",
                "fs#1"
            ]
        );
        assert_eq!(entries[4].kind, NodeKind::Ctl);
        assert_eq!(entries[8].kind, NodeKind::Dir);
    }

    #[test]
    fn resource_directories_have_one_file_per_keyword() {
        let e = engine("keywords", &[("a.env", FILE)]);
        assert_eq!(
            names(&list(&e, &["a", "container#1"]).unwrap()),
            [
                "status",
                "label",
                "messages",
                "ctl",
                "log",
                "type",
                "run_image"
            ]
        );
        assert_eq!(
            names(&list(&e, &["a", "fs#1"]).unwrap()),
            ["status", "label", "messages", "ctl", "log", "type", "dev", "mnt"]
        );
        assert_eq!(content(&e, &["a", "fs#1", "type"]).unwrap(), b"ext4\n");
        assert_eq!(
            content(&e, &["a", "container#1", "type"]).unwrap(),
            b"docker\n"
        );
        assert_eq!(
            content(&e, &["a", "container#1", "run_image"]).unwrap(),
            b"busybox\n"
        );
    }

    #[test]
    fn kinds_and_unknown_names() {
        let e = engine("kinds", &[("a.env", FILE)]);
        assert_eq!(kind(&e, &["a"]), Some(NodeKind::Dir));
        assert_eq!(kind(&e, &["a", "ctl"]), Some(NodeKind::Ctl));
        assert_eq!(kind(&e, &["a", "container#1", "ctl"]), Some(NodeKind::Ctl));
        assert_eq!(kind(&e, &["a", "overview"]), Some(NodeKind::File));
        assert_eq!(kind(&e, &["a", "container#2"]), None);
        assert_eq!(kind(&e, &["a", "container#1", "nope"]), None);
        assert_eq!(kind(&e, &["zz"]), None);
        assert_eq!(kind(&e, &["a", "container#1", "status", "x"]), None);
        assert!(list(&e, &["a", "status"]).is_none());
    }

    #[test]
    fn contents_come_from_the_snapshot() {
        let e = engine("content", &[("a.env", FILE)]);
        // Not refreshed yet: the state says so.
        assert_eq!(content(&e, &["a", "status"]).unwrap(), b"warn\n");
        assert_eq!(
            content(&e, &["a", "container#1", "messages"]).unwrap(),
            b"# status not checked yet\n"
        );
        assert_eq!(content(&e, &["a", "config"]).unwrap(), FILE.as_bytes());
        assert!(String::from_utf8(content(&e, &["a", "ctl"]).unwrap())
            .unwrap()
            .contains("startcontainer"));
        assert!(
            String::from_utf8(content(&e, &["a", "container#1", "ctl"]).unwrap())
                .unwrap()
                .contains("rollback")
        );
        assert!(content(&e, &["a"]).is_none());
    }

    #[tokio::test]
    async fn a_refresh_with_docker_down_says_so() {
        let e = engine(
            "refresh",
            &[("a.env", "[container#1]\nrun_image = busybox\n")],
        );
        e.refresh_all().await;
        assert_eq!(content(&e, &["a", "status"]).unwrap(), b"down\n");
        assert_eq!(
            content(&e, &["a", "container#1", "messages"]).unwrap(),
            b"# docker daemon is not running\n"
        );
        assert_eq!(
            content(&e, &["a", "container#1", "label"]).unwrap(),
            b"busybox\n"
        );
    }
}
