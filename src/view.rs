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
