//! `svcfs status` without a service: every service of the mounted tree,
//! one line each (name, status, avail, frozen, and the owner in a
//! cluster), or a JSON array for scripts.

use std::path::Path;

use serde::Serialize;

use super::{not_mounted, ClientError};

/// One service as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceRow {
    /// The service's name (its directory).
    pub name: String,
    /// Its `status` word (overall).
    pub status: String,
    /// Its `avail` word.
    pub avail: String,
    /// Whether nothing acts on it automatically (its `frozen` file).
    pub frozen: bool,
    /// The node that runs it, in a cluster (its `owner` file); None
    /// outside a cluster or while no node owns it.
    pub owner: Option<String>,
}

/// Every service of the tree mounted at `mountpoint`, by name.
pub fn services(mountpoint: &Path) -> Result<Vec<ServiceRow>, ClientError> {
    if !crate::daemon::is_svcfs_mounted(mountpoint) {
        return Err(not_mounted(mountpoint));
    }
    let entries = std::fs::read_dir(mountpoint)
        .map_err(|e| ClientError::failed(format!("cannot list {}: {e}", mountpoint.display())))?;
    let mut rows: Vec<ServiceRow> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| row(&e.path()))
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// A service directory's row; None for what is not a service (the root's
/// files, `cluster/`) or a service that left the tree meanwhile.
fn row(dir: &Path) -> Option<ServiceRow> {
    if !dir.join("ctl").exists() {
        return None;
    }
    let first_line = |file: &str| -> Option<String> {
        let text = std::fs::read_to_string(dir.join(file)).ok()?;
        Some(text.lines().next().unwrap_or("").to_string())
    };
    Some(ServiceRow {
        name: dir.file_name()?.to_string_lossy().into_owned(),
        status: first_line("status")?,
        avail: first_line("avail")?,
        frozen: first_line("frozen")? == "yes",
        owner: first_line("owner").filter(|owner| !owner.is_empty()),
    })
}

/// Whether the tree at `mountpoint` is a cluster's (`mount --cluster`).
pub fn is_clustered(mountpoint: &Path) -> bool {
    mountpoint.join("cluster").is_dir()
}

/// The rows as a table with a header, columns aligned; the OWNER column
/// only in a cluster.
pub fn table(rows: &[ServiceRow], clustered: bool) -> String {
    let mut lines: Vec<Vec<String>> = vec![["NAME", "STATUS", "AVAIL", "FROZEN"]
        .iter()
        .map(|s| s.to_string())
        .collect()];
    if clustered {
        lines[0].push("OWNER".to_string());
    }
    for row in rows {
        let mut line = vec![
            row.name.clone(),
            row.status.clone(),
            row.avail.clone(),
            if row.frozen { "yes" } else { "no" }.to_string(),
        ];
        if clustered {
            line.push(row.owner.clone().unwrap_or_else(|| "-".to_string()));
        }
        lines.push(line);
    }
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for line in &lines {
        let mut out = String::new();
        for (c, cell) in line.iter().enumerate() {
            if c + 1 == columns {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        text.push_str(out.trim_end());
        text.push('\n');
    }
    text
}

/// The rows as a pretty-printed JSON array (with a trailing newline).
pub fn json(rows: &[ServiceRow]) -> String {
    let mut text = serde_json::to_string_pretty(rows).unwrap_or_else(|e| {
        // Plain strings and booleans always serialize; say so if not.
        format!("{{\"error\": \"cannot render the list: {e}\"}}")
    });
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, status: &str, frozen: bool, owner: Option<&str>) -> ServiceRow {
        ServiceRow {
            name: name.to_string(),
            status: status.to_string(),
            avail: status.to_string(),
            frozen,
            owner: owner.map(str::to_string),
        }
    }

    #[test]
    fn the_table_aligns_columns_under_a_header() {
        let rows = [
            row("app.opensvc.com", "up", false, None),
            row("db", "warn", true, None),
        ];
        assert_eq!(
            table(&rows, false),
            "NAME             STATUS  AVAIL  FROZEN\n\
             app.opensvc.com  up      up     no\n\
             db               warn    warn   yes\n"
        );
    }

    #[test]
    fn a_cluster_table_has_the_owner() {
        let rows = [
            row("a", "up", false, Some("node2")),
            row("b", "down", false, None),
        ];
        assert_eq!(
            table(&rows, true),
            "NAME  STATUS  AVAIL  FROZEN  OWNER\n\
             a     up      up     no      node2\n\
             b     down    down   no      -\n"
        );
    }

    #[test]
    fn no_service_is_a_header_alone_and_an_empty_array() {
        assert_eq!(table(&[], false), "NAME  STATUS  AVAIL  FROZEN\n");
        assert_eq!(json(&[]), "[]\n");
    }

    #[test]
    fn json_names_every_field() {
        let value: serde_json::Value =
            serde_json::from_str(&json(&[row("a", "up", true, Some("n1"))])).unwrap();
        assert_eq!(
            value,
            serde_json::json!([{"name": "a", "status": "up", "avail": "up", "frozen": true, "owner": "n1"}])
        );
        let value: serde_json::Value =
            serde_json::from_str(&json(&[row("a", "up", false, None)])).unwrap();
        assert_eq!(value[0]["owner"], serde_json::Value::Null);
    }

    #[test]
    fn rows_are_read_from_service_directories_only() {
        let dir = std::env::temp_dir().join(format!("svcfs-list-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let svc = dir.join("app");
        std::fs::create_dir_all(svc.join("container#1")).unwrap();
        for (file, text) in [
            ("ctl", ""),
            ("status", "warn\n"),
            ("avail", "up\n"),
            (
                "frozen",
                "yes\nfrozen through ctl at 2026-12-01T15:05:00Z\n",
            ),
        ] {
            std::fs::write(svc.join(file), text).unwrap();
        }
        std::fs::create_dir_all(dir.join("cluster")).unwrap();
        assert_eq!(
            super::row(&svc),
            Some(ServiceRow {
                name: "app".into(),
                status: "warn".into(),
                avail: "up".into(),
                frozen: true,
                owner: None,
            })
        );
        std::fs::write(svc.join("owner"), "node1\n").unwrap();
        assert_eq!(super::row(&svc).unwrap().owner.as_deref(), Some("node1"));
        std::fs::write(svc.join("owner"), "").unwrap();
        assert_eq!(super::row(&svc).unwrap().owner, None);
        assert_eq!(super::row(&dir.join("cluster")), None);
        assert!(is_clustered(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
