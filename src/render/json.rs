//! `status.json`: the snapshot as pretty-printed JSON with a stable key
//! order (resources in display order).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::clock;
use crate::model::{LogLines, ResourceSnapshot, ServiceSnapshot};

/// Lines of each resource's log included in `status.json`.
pub const JSON_LOG_LINES: usize = 20;

#[derive(Serialize)]
struct ServiceJson<'a> {
    name: &'a str,
    overall: &'a str,
    avail: &'a str,
    resources: ResourcesJson<'a>,
    messages: &'a [String],
    updated: String,
    /// Why nothing acts on it automatically; empty when not frozen.
    frozen: Vec<String>,
}

struct ResourcesJson<'a> {
    resources: &'a [ResourceSnapshot],
    log: &'a LogLines,
}

#[derive(Serialize)]
struct ResourceJson<'a> {
    #[serde(rename = "type")]
    type_name: &'a str,
    status: &'a str,
    label: &'a str,
    flags: String,
    messages: &'a [String],
    log: Vec<&'a str>,
    failures: u64,
    restarts: u64,
}

impl Serialize for ResourcesJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.resources.len()))?;
        for r in self.resources {
            let log = self.log.resource(r.rid.as_str());
            let log = log[log.len().saturating_sub(JSON_LOG_LINES)..]
                .iter()
                .map(|line| &**line)
                .collect();
            map.serialize_entry(
                r.rid.as_str(),
                &ResourceJson {
                    type_name: r.rid.type_name(),
                    status: r.state.status.as_str(),
                    label: &r.state.label,
                    flags: r.flags.to_string(),
                    messages: &r.state.messages,
                    log,
                    failures: r.failures.count,
                    restarts: r.restarts,
                },
            )?;
        }
        map.end()
    }
}

/// Render `status.json` (with a trailing newline).
pub fn status_json(snapshot: &ServiceSnapshot) -> String {
    let doc = ServiceJson {
        name: &snapshot.name,
        overall: snapshot.overall.as_str(),
        avail: snapshot.avail.as_str(),
        resources: ResourcesJson {
            resources: &snapshot.resources,
            log: &snapshot.log,
        },
        messages: &snapshot.messages,
        updated: clock::rfc3339_utc(snapshot.updated),
        frozen: snapshot.frozen.reasons(),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        // Serializing plain strings cannot fail; say so loudly if it does.
        format!("{{\"error\": \"cannot render status.json: {e}\"}}")
    });
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_service;
    use crate::engine::snapshot::snapshot_with;
    use crate::model::{ResourceState, Status};
    use std::collections::HashMap;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    #[test]
    fn json_has_the_documented_shape_and_order() {
        let config = parse_service(
            &crate::drivers::registry::KINDS,
            "svc",
            Path::new("/x.env"),
            "[container#10]\nrun_image = a\n[container#2]\nrun_image = b\noptional = true\n",
        );
        let states = HashMap::from([
            (
                "container#2".to_string(),
                ResourceState::new(Status::Up, "id@b").with_message("m"),
            ),
            (
                "container#10".to_string(),
                ResourceState::new(Status::Down, "a"),
            ),
        ]);
        let mut snapshot = snapshot_with(
            &config,
            &states,
            &HashMap::new(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(60),
        );
        let log = crate::actionlog::ServiceLog::new("svc");
        log.resource("container#2").info("started");
        snapshot.log = log.lines();
        let text = status_json(&snapshot);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["name"], "svc");
        assert_eq!(value["overall"], "down");
        assert_eq!(value["updated"], "1970-01-01T00:01:00Z");
        assert_eq!(value["resources"]["container#2"]["flags"], "..O.");
        assert_eq!(value["resources"]["container#2"]["type"], "container");
        assert_eq!(value["resources"]["container#2"]["messages"][0], "m");
        assert!(value["resources"]["container#2"]["log"][0]
            .as_str()
            .unwrap()
            .ends_with("started"));
        assert_eq!(value["frozen"], serde_json::json!([]));
        assert_eq!(value["resources"]["container#2"]["failures"], 0);
        snapshot.frozen.holders = vec![42];
        snapshot.resources[0].failures.count = 3;
        let value: serde_json::Value = serde_json::from_str(&status_json(&snapshot)).unwrap();
        assert_eq!(value["frozen"][0], "hold open by pid 42");
        assert_eq!(value["resources"]["container#2"]["failures"], 3);
        let c2 = text.find("\"container#2\"").unwrap();
        let c10 = text.find("\"container#10\"").unwrap();
        assert!(c2 < c10, "resources must be in display order");
        assert!(text.ends_with("}\n"));
    }
}
