//! The overview: OpenSVC's `print status` tree, column for column.

use crate::model::ServiceSnapshot;

/// Column (0-based) of the status word on `overall` / `avail` lines.
const STATUS_COLUMN: usize = 26;
/// Column (0-based) of the `#` of message lines.
const MESSAGE_COLUMN: usize = 35;

/// Render the tree.
pub fn overview(snapshot: &ServiceSnapshot) -> String {
    let mut out = String::new();
    out.push_str(&snapshot.name);
    out.push('\n');
    push_status_line(&mut out, "overall", snapshot.overall.as_str());
    if snapshot.frozen.is_frozen() {
        let why = snapshot.frozen.reasons().join("; ");
        push_message(
            &mut out,
            "|",
            &format!("frozen ({why}): nothing acts automatically"),
        );
    }
    if let Some(error) = snapshot
        .messages
        .first()
        .filter(|_| snapshot.resources.is_empty())
    {
        push_message(&mut out, "|", error);
    }
    push_status_line(&mut out, "|- avail", snapshot.avail.as_str());
    let count = snapshot.resources.len();
    for (i, resource) in snapshot.resources.iter().enumerate() {
        let last = i + 1 == count;
        let branch = if last { "|  '- " } else { "|  |- " };
        out.push_str(&format!(
            "{branch}{:<15}{} {:<9}{}",
            resource.rid.as_str(),
            resource.flags,
            resource.state.status.as_str(),
            resource.state.label
        ));
        trim_trailing_spaces(&mut out);
        out.push('\n');
        let stem = if last { "|     |" } else { "|  |  |" };
        for message in &resource.state.messages {
            push_message(&mut out, stem, message);
        }
    }
    push_status_line(&mut out, "|- sync", "n/a");
    let hb = snapshot.cluster.as_ref().map_or("n/a", |c| c.hb.as_str());
    push_status_line(&mut out, "'- hb", hb);
    out
}

fn push_status_line(out: &mut String, head: &str, status: &str) {
    out.push_str(&format!("{head:<STATUS_COLUMN$}{status}\n"));
}

/// A `# message` line; continuation lines of a multi-line message are
/// indented under the first.
fn push_message(out: &mut String, stem: &str, message: &str) {
    for (n, line) in message.lines().enumerate() {
        let marker = if n == 0 { "# " } else { "  " };
        out.push_str(&format!("{stem:<MESSAGE_COLUMN$}{marker}{line}"));
        trim_trailing_spaces(out);
        out.push('\n');
    }
}

fn trim_trailing_spaces(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_service;
    use crate::engine::snapshot::snapshot_with;
    use crate::model::{ResourceState, Status};
    use std::collections::HashMap;
    use std::path::Path;
    use std::time::SystemTime;

    const TUTORIAL: &str = include_str!("../../tests/data/app.opensvc.com.env");

    /// The tutorial's file without the private daemon (the tutorial's
    /// OpenSVC did not show it as a resource), so its trees compare 1:1.
    fn tutorial_without_dockerd() -> String {
        TUTORIAL
            .lines()
            .filter(|l| !l.starts_with("docker_"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn render(text: &str, states: &[(&str, Status, &str, &[&str])]) -> String {
        let config = parse_service(
            &crate::drivers::registry::KINDS,
            "app.opensvc.com",
            Path::new("/x.env"),
            text,
        );
        let states: HashMap<String, ResourceState> = states
            .iter()
            .map(|(rid, status, label, messages)| {
                let mut s = ResourceState::new(*status, *label);
                s.messages = messages.iter().map(|m| m.to_string()).collect();
                (rid.to_string(), s)
            })
            .collect();
        let snapshot = snapshot_with(&config, &states, &HashMap::new(), SystemTime::UNIX_EPOCH);
        overview(&snapshot)
    }

    const HOST: [(&str, Status, &str, &[&str]); 4] = [
        ("vg#1", Status::Up, "vgapp", &[]),
        (
            "fs#1",
            Status::Up,
            "/dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com",
            &[],
        ),
        (
            "fs#2",
            Status::Up,
            "/dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata",
            &[],
        ),
        ("ip#1", Status::Up, "app.opensvc.com@eth0", &[]),
    ];

    #[test]
    fn tree_before_start_matches_the_tutorial() {
        let mut states = vec![
            (
                "container#1",
                Status::Down,
                "busybox:latest",
                &["can not find container id"][..],
            ),
            (
                "container#2",
                Status::Down,
                "shipyard/shipyard:latest",
                &["can not find container id"][..],
            ),
            (
                "container#3",
                Status::Down,
                "dhrp/sshd:latest",
                &["can not find container id"][..],
            ),
        ];
        states.extend(HOST);
        let expected = "\
app.opensvc.com
overall                   warn
|- avail                  warn
|  |- container#1    .... down     busybox:latest
|  |  |                            # can not find container id
|  |- container#2    .... down     shipyard/shipyard:latest
|  |  |                            # can not find container id
|  |- container#3    .... down     dhrp/sshd:latest
|  |  |                            # can not find container id
|  |- vg#1           .... up       vgapp
|  |- fs#1           .... up       /dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com
|  |- fs#2           .... up       /dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata
|  '- ip#1           .... up       app.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
";
        assert_eq!(render(&tutorial_without_dockerd(), &states), expected);
    }

    #[test]
    fn tree_after_start_matches_the_tutorial() {
        let mut states = vec![
            (
                "container#1",
                Status::Up,
                "2d4b80bdec71@busybox:latest",
                &[][..],
            ),
            (
                "container#2",
                Status::Up,
                "cecf54c6c769@shipyard/shipyard:latest",
                &[][..],
            ),
            (
                "container#3",
                Status::Up,
                "c0a390acb80a@dhrp/sshd:latest",
                &[][..],
            ),
        ];
        states.extend(HOST);
        let expected = "\
app.opensvc.com
overall                   up
|- avail                  up
|  |- container#1    .... up       2d4b80bdec71@busybox:latest
|  |- container#2    .... up       cecf54c6c769@shipyard/shipyard:latest
|  |- container#3    .... up       c0a390acb80a@dhrp/sshd:latest
|  |- vg#1           .... up       vgapp
|  |- fs#1           .... up       /dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com
|  |- fs#2           .... up       /dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata
|  '- ip#1           .... up       app.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
";
        assert_eq!(render(&tutorial_without_dockerd(), &states), expected);
    }

    #[test]
    fn private_daemon_is_listed_after_the_containers() {
        let tree = render(
            TUTORIAL,
            &[(
                "dockerd",
                Status::Down,
                "/opt/app.opensvc.com/appdata",
                &["docker daemon is not running"],
            )],
        );
        let lines: Vec<&str> = tree.lines().collect();
        assert_eq!(
            lines[9],
            "|  |- dockerd        .... down     /opt/app.opensvc.com/appdata"
        );
        assert_eq!(
            lines[10],
            "|  |  |                            # docker daemon is not running"
        );
    }

    #[test]
    fn messages_of_the_last_resource_hang_under_it() {
        let tree = render(
            "[container#1]\nrun_image = a\n",
            &[("container#1", Status::Down, "a", &["first", "second\nmore"])],
        );
        assert_eq!(
            tree,
            "\
app.opensvc.com
overall                   down
|- avail                  down
|  '- container#1    .... down     a
|     |                            # first
|     |                            # second
|     |                              more
|- sync                   n/a
'- hb                     n/a
"
        );
    }

    #[test]
    fn unparsable_file_shows_its_error() {
        let tree = render("[container#1\n", &[]);
        assert!(tree.contains("overall                   warn"));
        assert!(
            tree.lines()
                .nth(2)
                .unwrap()
                .starts_with("|                                  # /x.env:1: section header"),
            "{tree}"
        );
    }
}
