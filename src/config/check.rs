//! `svcfs check`: every problem of the service files it is given — by
//! service name in a config directory, or by path — located at their
//! lines, with the warnings only a look at this host can give (this node
//! missing from `nodes`, a kind's advice on settings that parse but will
//! not work as meant here), as text or JSON for CI pipelines.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::kinds::{Advice, Catalog};
use super::load::{load_dir, load_file, service_name};
use super::problem::{Problem, Severity};
use super::service::ServiceConfig;

/// What to check.
pub struct CheckOptions<'a> {
    /// The config directory, where service names are looked up.
    pub config_dir: &'a Path,
    /// Service names, and paths of service files (an argument with a `/`);
    /// none: every service of the config directory.
    pub targets: &'a [String],
    /// The var dir the daemon will use (its private daemons' sockets).
    pub var_dir: &'a Path,
    /// This node's name.
    pub nodename: &'a str,
}

/// What a check found.
#[derive(Debug, Serialize)]
pub struct Checked {
    /// How many services were checked.
    pub services: usize,
    /// How many problems are errors.
    pub errors: usize,
    /// How many are warnings.
    pub warnings: usize,
    /// Every problem, located, in order.
    pub problems: Vec<Problem>,
}

/// Check the service files `options` names. Err: a name with no service
/// file, or a path with no file (what to print, exit 3).
pub fn check(kinds: &dyn Catalog, options: &CheckOptions<'_>) -> Result<Checked, String> {
    let (paths, names): (Vec<&String>, Vec<&String>) =
        options.targets.iter().partition(|t| t.contains('/'));
    let mut problems = Vec::new();
    let mut services: Vec<ServiceConfig> = Vec::new();
    if !names.is_empty() || paths.is_empty() {
        let loaded = load_dir(kinds, options.config_dir);
        let names: Vec<String> = names.into_iter().cloned().collect();
        if let Some(missing) = names.iter().find(|n| !loaded.services.contains_key(*n)) {
            return Err(format!(
                "no service {missing} in {}",
                options.config_dir.display()
            ));
        }
        problems.extend(loaded.problems);
        services.extend(
            loaded
                .services
                .into_values()
                .filter(|s| names.is_empty() || names.contains(&s.name)),
        );
    }
    for path in paths {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(format!("{}: no such service file", path.display()));
        }
        // A Compose file is its directory's service, as in a config
        // directory.
        let compose_dir = super::load::is_compose_file(&path)
            .then(|| {
                path.canonicalize()
                    .ok()?
                    .parent()?
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .flatten();
        let name = compose_dir
            .or_else(|| service_name(&path))
            .unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        services.push(load_file(kinds, &name, &path));
    }
    for service in &services {
        problems.extend(service.problems.iter().map(|p| service.locate(p)));
        problems.extend(nodes_warning(service, options.nodename));
        problems.extend(advice(service, options.var_dir));
    }
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    Ok(Checked {
        services: services.len(),
        errors,
        warnings: problems.len() - errors,
        problems,
    })
}

/// A service whose `nodes` leave this node out is shown but never acted
/// on here.
fn nodes_warning(service: &ServiceConfig, nodename: &str) -> Option<Problem> {
    let nodes = &service.defaults.nodes;
    if nodes.is_empty() || nodes.iter().any(|n| n == nodename) {
        return None;
    }
    let problem = Problem {
        section: Some("DEFAULT".to_string()),
        keyword: Some("nodes".to_string()),
        ..Problem::file(
            Severity::Warning,
            &service.path,
            format!(
                "this node ({nodename}) is not in nodes ({}): the daemon shows the service here but refuses to act on it",
                nodes.join(" ")
            ),
        )
    };
    Some(service.locate(&problem))
}

/// Each kind's advice on its resources, as warnings at their keywords.
fn advice(service: &ServiceConfig, var_dir: &Path) -> Vec<Problem> {
    let provided: Vec<PathBuf> = service
        .resources
        .iter()
        .filter_map(|r| r.spec.as_ref().ok())
        .flat_map(|spec| spec.provides())
        .collect();
    let context = Advice {
        service: &service.name,
        var_dir,
        private_daemon: service.defaults.docker_data_dir.is_some(),
        provided: &provided,
    };
    let mut found = Vec::new();
    for resource in &service.resources {
        let (Some(advise), Ok(spec)) = (resource.kind.and_then(|k| k.advise), &resource.spec)
        else {
            continue;
        };
        for (keyword, message) in advise(spec.as_ref(), &context) {
            let problem = Problem {
                section: Some(resource.rid.to_string()),
                keyword: Some(keyword.to_string()),
                ..Problem::file(Severity::Warning, &service.path, message)
            };
            found.push(service.locate(&problem));
        }
    }
    found
}

/// The report as text: one problem a line, as compilers write them.
pub fn render_text(checked: &Checked) -> String {
    checked.problems.iter().map(|p| format!("{p}\n")).collect()
}

/// The report as JSON: `{"services", "errors", "warnings", "problems":
/// [{"severity", "file", "line", "section", "keyword", "message"}]}`.
pub fn render_json(checked: &Checked) -> String {
    let mut text =
        serde_json::to_string_pretty(checked).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::registry::KINDS;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("svcfs-check-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn file(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }

        fn check(&self, targets: &[&str], var_dir: &str) -> Result<Checked, String> {
            let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
            check(
                &KINDS,
                &CheckOptions {
                    config_dir: &self.0,
                    targets: &targets,
                    var_dir: Path::new(var_dir),
                    nodename: "n1",
                },
            )
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const SEVERAL: &str = "[container#1]\nrun_image = busybox\nstop_timeout = soon\n\
                           run_args = --memory 12zz --frobnicate 1\n";

    #[test]
    fn several_problems_of_one_resource_each_at_its_line() {
        let dir = Scratch::new("several");
        dir.file("web.env", SEVERAL);
        let checked = dir.check(&[], "/var/lib/svcfs").unwrap();
        assert_eq!(
            (checked.services, checked.errors, checked.warnings),
            (1, 3, 0)
        );
        let lines: Vec<(Option<usize>, Option<&str>)> = checked
            .problems
            .iter()
            .map(|p| (p.line, p.keyword.as_deref()))
            .collect();
        assert_eq!(
            lines,
            [
                (Some(3), Some("stop_timeout")),
                (Some(4), Some("run_args")),
                (Some(4), Some("run_args"))
            ]
        );
        let text = render_text(&checked);
        assert!(
            text.contains(
                "web.env:4: [container#1] run_args: unknown docker run option --frobnicate\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_json_report_has_every_field_of_every_problem() {
        let dir = Scratch::new("json");
        dir.file("web.env", SEVERAL);
        let checked = dir.check(&["web"], "/var/lib/svcfs").unwrap();
        let json: serde_json::Value = serde_json::from_str(&render_json(&checked)).unwrap();
        assert_eq!(json["services"], 1);
        assert_eq!(json["errors"], 3);
        assert_eq!(json["warnings"], 0);
        let first = &json["problems"][0];
        assert_eq!(first["severity"], "error");
        assert_eq!(first["line"], 3);
        assert_eq!(first["section"], "container#1");
        assert_eq!(first["keyword"], "stop_timeout");
        assert!(first["file"].as_str().unwrap().ends_with("/web.env"));
        assert!(first["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid duration"));
    }

    #[test]
    fn a_path_checks_that_file_and_a_missing_target_is_said() {
        let dir = Scratch::new("paths");
        dir.file("good.env", "[container#1]\nrun_image = busybox\n");
        let elsewhere = Scratch::new("paths-elsewhere");
        let bad = elsewhere.file("bad.conf", SEVERAL);
        let checked = dir
            .check(&[bad.to_str().unwrap()], "/var/lib/svcfs")
            .unwrap();
        assert_eq!((checked.services, checked.errors), (1, 3));
        assert!(checked.problems.iter().all(|p| p.file == bad));
        assert_eq!(
            dir.check(&["nope"], "/v").unwrap_err(),
            format!("no service nope in {}", dir.0.display())
        );
        assert!(dir
            .check(&["./missing.env"], "/v")
            .unwrap_err()
            .contains("no such service file"));
    }

    #[test]
    fn the_tutorial_s_docker_socket_bind_is_checked_against_the_var_dir() {
        let dir = Scratch::new("socket");
        let tutorial = include_str!("../../tests/data/app.opensvc.com.env");
        dir.file("app.opensvc.com.env", tutorial);
        let warnings = |var_dir: &str| -> Vec<String> {
            dir.check(&[], var_dir)
                .unwrap()
                .problems
                .iter()
                .filter(|p| p.message.contains("docker.sock"))
                .map(|p| format!("{}:{}", p.section.as_deref().unwrap_or(""), p.message))
                .collect()
        };
        let wrong = warnings("/var/lib/svcfs");
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert!(
            wrong[0].starts_with(
                "container#2:/opt/opensvc/var/app.opensvc.com/docker.sock is not where"
            ) && wrong[0].contains("/var/lib/svcfs/app.opensvc.com/docker.sock"),
            "{wrong:?}"
        );
        assert!(warnings("/opt/opensvc/var").is_empty());
    }

    #[test]
    fn a_bind_source_nothing_provides_is_warned_of() {
        let dir = Scratch::new("binds");
        dir.file(
            "web.env",
            "[fs#1]\ndev = /dev/sdz\nmnt = /srv/web\ntype = ext4\n\
             [container#1]\nrun_image = busybox\n\
             run_args = -v /srv/web/data:/data -v /nonexistent/svcfs-src:/src -v /etc/hosts:/h:ro\n",
        );
        let checked = dir.check(&[], "/var/lib/svcfs").unwrap();
        let binds: Vec<&str> = checked
            .problems
            .iter()
            .filter(|p| p.message.starts_with("bind source"))
            .map(|p| p.message.as_str())
            .collect();
        assert_eq!(binds.len(), 1, "{binds:?}");
        assert!(
            binds[0].starts_with("bind source /nonexistent/svcfs-src does not exist"),
            "{binds:?}"
        );
        assert_eq!(checked.errors, 0);
    }

    #[test]
    fn a_compose_file_by_path_is_its_directory_s_service_with_problems_at_its_lines() {
        let scratch = Scratch::new("compose-path");
        std::fs::create_dir(scratch.0.join("shop")).unwrap();
        let file = scratch.file(
            "shop/compose.yaml",
            "services:\n  web:\n    image: busybox\n    ports: ['99999:80']\n    pull_policy: always\n",
        );
        let target = file.display().to_string();
        let checked = scratch.check(&[&target], "/var/lib/svcfs").unwrap();
        assert_eq!(checked.services, 1);
        let shown: Vec<String> = checked.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with(&format!(
                "warning: {target}:5: services.web.pull_policy: ignored"
            )),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with(&format!(
                "error: {target}:2: services.web: [container#1] run_args: "
            )),
            "{shown:?}"
        );
        assert_eq!(checked.errors, 1);
    }
}
