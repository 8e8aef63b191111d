//! Finding and reading service files in the config directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::compose::{self, Converted, MadeBy, COMPOSE_FILES};
use super::kinds::Catalog;
use super::problem::{Problem, Severity};
use super::service::{parse_service, ServiceConfig};
use super::text::service_text;
use super::trust::{judge_dir, judge_file, DirTrust, Role, Trusted};
use crate::model::layout::{CLUSTER_DIR, ROOT_FILES};

/// What to do about a file that cannot be trusted, after its description.
const TRUST_FIX: &str = "whoever can change a service file can make root run any container: \
    make the file and its directories root's and writable by root alone \
    (chown root:root, chmod go-w)";

/// Everything found in a config directory.
#[derive(Debug, Clone, Default)]
pub struct LoadedDir {
    /// Services by name (including those whose file failed to parse).
    pub services: BTreeMap<String, ServiceConfig>,
    /// Problems not attached to one loaded service (unreadable directory,
    /// invalid file names, name clashes).
    pub problems: Vec<Problem>,
}

/// Service files of a directory: `<name>.env` or `<name>.conf`, and the
/// Compose file of each sub-directory `<name>/` that holds one
/// (`compose.yaml`, or the other names Compose looks for), by name.
/// Returns the files and problems about names.
pub fn service_files(dir: &Path) -> Result<(BTreeMap<String, PathBuf>, Vec<Problem>), Problem> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Problem::file(
            Severity::Error,
            dir,
            format!("cannot read the config directory: {e}"),
        )
    })?;
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut projects: Vec<(String, PathBuf)> = Vec::new();
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(name) = service_name(&path) else {
            if let Some((name, file, others)) = compose_project(&path) {
                if let Some(problem) = refused_name(&name, &path) {
                    problems.push(problem);
                    continue;
                }
                if !others.is_empty() {
                    problems.push(Problem::file(
                        Severity::Warning,
                        &path,
                        format!(
                            "holds {} besides {}: like Compose, svcfs reads {} only",
                            others.join(" and "),
                            file.file_name().unwrap_or_default().to_string_lossy(),
                            file.file_name().unwrap_or_default().to_string_lossy()
                        ),
                    ));
                }
                projects.push((name, file));
            }
            continue;
        };
        if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            problems.push(Problem::file(
                Severity::Warning,
                &path,
                "a directory, not a service file; ignored",
            ));
            continue;
        }
        if let Some(problem) = refused_name(&name, &path) {
            problems.push(problem);
            continue;
        }
        if let Some(previous) = files.get(&name) {
            // `.env` is OpenSVC's name: it wins over `.conf` whatever the
            // listing order.
            let (kept, ignored) = if previous.extension().is_some_and(|e| e == "env") {
                (previous.clone(), path)
            } else {
                (path, previous.clone())
            };
            problems.push(Problem::file(
                Severity::Error,
                &ignored,
                format!(
                    "service {name} is also defined by {}; this file is ignored",
                    kept.display()
                ),
            ));
            files.insert(name, kept);
            continue;
        }
        files.insert(name, path);
    }
    // A service file wins over a Compose project of the same name: it is
    // the operator's own word.
    for (name, file) in projects {
        if let Some(kept) = files.get(&name) {
            problems.push(Problem::file(
                Severity::Error,
                &file,
                format!(
                    "service {name} is also defined by {}; this Compose project is ignored",
                    kept.display()
                ),
            ));
            continue;
        }
        files.insert(name, file);
    }
    Ok((files, problems))
}

/// Why `name` cannot be a service's, if it cannot.
fn refused_name(name: &str, path: &Path) -> Option<Problem> {
    let why = if !is_valid_service_name(name) {
        format!("{name:?} is not a valid service name (letters, digits, '.', '_' and '-', starting with a letter or digit); ignored")
    } else if ROOT_FILES.contains(&name) {
        format!(
            "{name:?} is the name of a file at the mount root, not available to a service; ignored"
        )
    } else if name == CLUSTER_DIR {
        // Reserved without --cluster too: the same directory must mount
        // both ways, and a service would be hidden by the directory.
        format!("{name:?} is the name of the mount root's cluster directory (svcfs mount --cluster), not available to a service; ignored")
    } else {
        return None;
    };
    Some(Problem::file(Severity::Error, path, why))
}

/// A sub-directory of the config directory that holds a Compose file:
/// its name (the service's), the file Compose would read (its order of
/// preference), and the other Compose files it holds.
fn compose_project(dir: &Path) -> Option<(String, PathBuf, Vec<String>)> {
    if !std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    let name = dir.file_name()?.to_str()?.to_string();
    if name.starts_with('.') {
        return None;
    }
    let mut found = COMPOSE_FILES
        .iter()
        .filter(|f| dir.join(f).is_file())
        .map(|f| f.to_string());
    let first = found.next()?;
    Some((name, dir.join(&first), found.collect()))
}

/// Whether `path` is a Compose file (a project's, not a service file).
pub fn is_compose_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| COMPOSE_FILES.contains(&n))
}

/// The largest service file: far above any real one, and what a file may
/// cost the daemon (its text is kept, and served as `config`).
pub const MAX_FILE: usize = 1024 * 1024;

/// At most one byte more than [`MAX_FILE`] of a file: enough to refuse a
/// larger one without reading it all.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Read and parse one service file, judging its directory too (see
/// [`load_dir`]).
pub fn load_file(kinds: &dyn Catalog, name: &str, path: &Path) -> ServiceConfig {
    let trusted = Trusted::this_process();
    let dir = path
        .parent()
        .map(|dir| judge_dir(dir, Role::ConfigDir, trusted))
        .unwrap_or_default();
    load_judged(kinds, name, path, &dir, trusted)
}

/// Read and parse one service file of a directory judged `dir`. An
/// unreadable or untrusted file still yields a service, marked with its
/// load error, so the operator sees it; an untrusted one is not read.
fn load_judged(
    kinds: &dyn Catalog,
    name: &str,
    path: &Path,
    dir: &DirTrust,
    trusted: Trusted,
) -> ServiceConfig {
    let unusable = |message: String| {
        let mut service = parse_service(kinds, name, path, "");
        service
            .problems
            .push(Problem::file(Severity::Error, path, message.clone()));
        service.load_error = Some(format!("{}: {message}", path.display()));
        service
    };
    // Not read: nothing of it is known but why.
    let refused = |problem: Option<Problem>, load_error: String, others_read: bool| {
        let mut service = parse_service(kinds, name, path, "");
        service.problems = problem.into_iter().collect();
        service.load_error = Some(load_error);
        service.untrusted = true;
        service.others_read = others_read;
        service
    };
    if let Some(reason) = &dir.refusal {
        // Told once, as a problem of the directory.
        let error = format!(
            "{}: not loaded: the config directory cannot be trusted: {reason}",
            path.display()
        );
        return refused(None, error, false);
    }
    if is_compose_file(path) {
        return load_compose(kinds, name, path, dir, trusted);
    }
    let judged = judge_file(path, dir, trusted);
    if let Some(reason) = judged.refusal {
        let message = format!("not loaded: {reason}; {TRUST_FIX}");
        let error = format!("{}: {message}", path.display());
        let problem = Problem::file(Severity::Error, path, message);
        return refused(Some(problem), error, judged.others_read);
    }
    let mut service = match read_bounded(path) {
        Ok(bytes) if bytes.len() > MAX_FILE => unusable(format!(
            "the file is larger than the {MAX_FILE} bytes a service file may have; not loaded"
        )),
        Ok(bytes) => match service_text(&bytes) {
            Ok(text) => parse_service(kinds, name, path, text),
            // Never shown decoded with replacement characters: the tree
            // would serve bytes that are not in the file.
            Err(why) => unusable(why),
        },
        Err(e) => unusable(format!("cannot read the service file: {e}")),
    };
    service.others_read = judged.others_read;
    service
}

/// The environment a config directory's Compose projects are
/// interpolated from: the daemon's, but for the `COMPOSE_*` variables,
/// which would apply to every project alike (a project's `.env` sets its
/// own).
fn project_env(name: &str) -> Option<String> {
    if name.starts_with("COMPOSE_") {
        return None;
    }
    std::env::var(name).ok()
}

/// Load a Compose project of the config directory (judged `config_dir`):
/// its directory and every file the converter reads are judged as a
/// service file is, then the service file the converter makes is parsed,
/// its problems moved to the Compose lines they come from.
fn load_compose(
    kinds: &dyn Catalog,
    name: &str,
    path: &Path,
    config_dir: &DirTrust,
    trusted: Trusted,
) -> ServiceConfig {
    let project_dir = path.parent().unwrap_or(Path::new("/"));
    let dir = judge_dir(project_dir, Role::ConfigDir, trusted);
    let dir = DirTrust {
        refusal: config_dir.refusal.clone().or(dir.refusal),
        others_enter: dir.others_enter,
    };
    let refused = |message: String, others_read: bool| {
        let mut service = parse_service(kinds, name, path, "");
        service.problems = vec![Problem::file(Severity::Error, path, message.clone())];
        service.load_error = Some(format!("{}: {message}", path.display()));
        service.untrusted = true;
        service.others_read = others_read;
        service
    };
    if let Some(reason) = &dir.refusal {
        return refused(
            format!("not loaded: the project directory cannot be trusted: {reason}; {TRUST_FIX}"),
            false,
        );
    }
    let judged = judge_file(path, &dir, trusted);
    if let Some(reason) = judged.refusal {
        return refused(
            format!("not loaded: {reason}; {TRUST_FIX}"),
            judged.others_read,
        );
    }
    let text = match read_bounded(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            if bytes.len() > MAX_FILE {
                return Err(format!(
                    "the file is larger than the {MAX_FILE} bytes a Compose file may have"
                ));
            }
            String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
        }) {
        Ok(text) => text,
        Err(why) => {
            let mut service = parse_service(kinds, name, path, "");
            let message = format!("cannot read the Compose file: {why}; not loaded");
            service.problems = vec![Problem::file(Severity::Error, path, message.clone())];
            service.load_error = Some(format!("{}: {message}", path.display()));
            return service;
        }
    };
    let others_read = std::cell::Cell::new(judged.others_read);
    let read = |file: &Path| -> std::io::Result<String> {
        let judged = judge_file(file, &dir, trusted);
        if let Some(reason) = judged.refusal {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("not read: {reason}; {TRUST_FIX}"),
            ));
        }
        let bytes = read_bounded(file)?;
        if bytes.len() > MAX_FILE {
            return Err(std::io::Error::other(format!(
                "larger than the {MAX_FILE} bytes svcfs reads"
            )));
        }
        others_read.set(others_read.get() && judged.others_read);
        String::from_utf8(bytes)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
    };
    let converted = compose::convert(&compose::Input {
        file: path,
        text: &text,
        project_dir,
        service: name,
        env: &project_env,
        read: &read,
        made_by: MadeBy::ConfigDir,
    });
    from_converted(kinds, name, path, converted, others_read.get())
}

/// The service a conversion gives: unusable with its errors when it has
/// any (what runs would not be what the file says), else the service file
/// it made, with the notes and problems at their Compose lines.
pub fn from_converted(
    kinds: &dyn Catalog,
    name: &str,
    path: &Path,
    converted: Converted,
    others_read: bool,
) -> ServiceConfig {
    let notes: Vec<Problem> = converted.notes.iter().map(compose::Note::problem).collect();
    if converted.has_errors() || converted.text.is_empty() {
        let mut service = parse_service(kinds, name, path, "");
        let first = notes
            .iter()
            .find(|p| p.severity == Severity::Error)
            .map(Problem::location_and_message)
            .unwrap_or_else(|| format!("{}: nothing could be made of it", path.display()));
        service.problems = notes;
        service.load_error = Some(format!("not loaded: {first}"));
        service.others_read = others_read;
        return service;
    }
    let mut service = parse_service(kinds, name, path, &converted.text);
    let made = std::mem::take(&mut service.problems);
    service.problems = notes;
    service
        .problems
        .extend(made.iter().map(|p| converted.relocate(path, p)));
    service.others_read = others_read;
    service.compose = Some(std::sync::Arc::new(converted));
    service
}

/// Load every service of a config directory. The directory, those above
/// it and each file are judged first (see `trust`): a file that a user
/// other than root, or a group other than root's, could change is not
/// read, and no file of such a directory is.
pub fn load_dir(kinds: &dyn Catalog, dir: &Path) -> LoadedDir {
    let (files, mut problems) = match service_files(dir) {
        Ok(found) => found,
        Err(problem) => {
            return LoadedDir {
                services: BTreeMap::new(),
                problems: vec![problem],
            }
        }
    };
    let trusted = Trusted::this_process();
    let judged = judge_dir(dir, Role::ConfigDir, trusted);
    if let Some(reason) = &judged.refusal {
        problems.insert(0, Problem::file(
            Severity::Error,
            dir,
            format!("the config directory cannot be trusted, no service file is loaded from it: {reason}; {TRUST_FIX}"),
        ));
    }
    let services = files
        .into_iter()
        .map(|(name, path)| {
            let service = load_judged(kinds, &name, &path, &judged, trusted);
            (name, service)
        })
        .collect();
    LoadedDir { services, problems }
}

/// `app.opensvc.com.env` → `app.opensvc.com`; other files → None.
pub(crate) fn service_name(path: &Path) -> Option<String> {
    let file_name = path.file_name()?.to_str()?;
    let stem = file_name
        .strip_suffix(".env")
        .or_else(|| file_name.strip_suffix(".conf"))?;
    (!file_name.starts_with('.')).then(|| stem.to_string())
}

/// Whether `name` may be a service's: service names become directory
/// names and docker container names.
pub fn is_valid_service_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::registry::KINDS;

    fn scratch_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("svcfs-load-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn loads_env_and_conf_files_and_skips_others() {
        let dir = scratch_dir("kinds");
        std::fs::write(dir.join("a.env"), "[container#1]\nrun_image = busybox\n").unwrap();
        std::fs::write(dir.join("b.conf"), "[container#1]\nrun_image = busybox\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "hello").unwrap();
        std::fs::write(dir.join("a.env.cfgsave"), "old").unwrap();
        let loaded = load_dir(&KINDS, &dir);
        assert_eq!(loaded.services.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert!(loaded.problems.is_empty());
    }

    #[test]
    fn invalid_file_beside_valid_one_keeps_both() {
        let dir = scratch_dir("invalid");
        std::fs::write(dir.join("good.env"), "[container#1]\nrun_image = busybox\n").unwrap();
        std::fs::write(dir.join("bad.env"), "[container#1\nrun_image\n").unwrap();
        let loaded = load_dir(&KINDS, &dir);
        assert!(loaded.services["good"].problems.is_empty());
        assert!(loaded.services["bad"].load_error.is_some());
    }

    #[test]
    fn root_file_names_are_not_service_names() {
        let dir = scratch_dir("reserved");
        std::fs::write(dir.join("metrics.env"), "").unwrap();
        std::fs::write(dir.join("cluster.conf"), "").unwrap();
        let loaded = load_dir(&KINDS, &dir);
        assert!(loaded.services.is_empty());
        assert_eq!(loaded.problems.len(), 2, "{:?}", loaded.problems);
        assert!(loaded
            .problems
            .iter()
            .all(|p| p.message.contains("mount root")));
    }

    #[test]
    fn directories_are_ignored_and_oversized_files_refused_unread() {
        let dir = scratch_dir("shapes");
        std::fs::create_dir_all(dir.join("x.conf")).unwrap();
        let big = format!("[container#1]\nrun_image = a\n#{}\n", "x".repeat(MAX_FILE));
        std::fs::write(dir.join("big.env"), big).unwrap();
        let loaded = load_dir(&KINDS, &dir);
        assert!(!loaded.services.contains_key("x"));
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        assert_eq!(
            loaded.problems[0].to_string(),
            format!(
                "warning: {}: a directory, not a service file; ignored",
                dir.join("x.conf").display()
            )
        );
        let big = &loaded.services["big"];
        assert!(big.resources.is_empty());
        assert!(
            big.load_error
                .as_deref()
                .unwrap()
                .ends_with("larger than the 1048576 bytes a service file may have; not loaded"),
            "{:?}",
            big.load_error
        );
        assert!(big.text.is_empty(), "its text is not kept");
    }

    #[test]
    fn same_name_in_env_and_conf_is_reported() {
        let dir = scratch_dir("clash");
        std::fs::write(dir.join("x.env"), "").unwrap();
        std::fs::write(dir.join("x.conf"), "").unwrap();
        let loaded = load_dir(&KINDS, &dir);
        assert_eq!(loaded.services.len(), 1);
        assert_eq!(loaded.services["x"].path, dir.join("x.env"));
        assert!(loaded.problems[0].message.contains("also defined by"));
        assert_eq!(loaded.problems[0].file, dir.join("x.conf"));
    }

    #[test]
    fn missing_directory_is_one_problem() {
        let loaded = load_dir(&KINDS, Path::new("/nonexistent/svcfs"));
        assert!(loaded.services.is_empty());
        assert!(loaded.problems[0]
            .message
            .contains("cannot read the config directory"));
    }

    #[test]
    fn service_names_are_checked() {
        assert!(is_valid_service_name("app.opensvc.com"));
        assert!(is_valid_service_name("web_1-a"));
        assert!(!is_valid_service_name(".hidden"));
        assert!(!is_valid_service_name("a b"));
        assert!(!is_valid_service_name(""));
    }

    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_file_others_may_change_is_refused_unread_naming_owner_and_mode() {
        let dir = scratch_dir("untrusted");
        chmod(&dir, 0o755);
        let text = "[container#1]\nrun_image = busybox\n";
        for (file, mode) in [("open.env", 0o646), ("good.env", 0o644), ("own.env", 0o600)] {
            std::fs::write(dir.join(file), text).unwrap();
            chmod(&dir.join(file), mode);
        }
        let loaded = load_dir(&KINDS, &dir);
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        let open = &loaded.services["open"];
        assert!(open.untrusted);
        assert!(open.text.is_empty(), "an untrusted file is not read");
        assert!(open.resources.is_empty());
        let problem = open.problems[0].to_string();
        let path = dir.join("open.env").display().to_string();
        assert!(
            problem.starts_with(&format!("error: {path}: not loaded: {path} (owner "))
                && problem.contains(", mode 0646) can be written by everyone; "),
            "{problem}"
        );
        assert!(open.load_error.as_deref().unwrap().contains("mode 0646"));
        assert!(!loaded.services["good"].untrusted);
        assert!(loaded.services["good"].problems.is_empty());
        // Whether others may read the configuration follows the file.
        assert!(loaded.services["good"].others_read);
        assert!(!loaded.services["own"].others_read);
        assert!(!loaded.services["own"].untrusted);
        // A group other than root's, when a test may hand files to one.
        if nix::unistd::geteuid().is_root() {
            let path = dir.join("good.env");
            std::os::unix::fs::chown(&path, None, Some(4_000_123)).unwrap();
            chmod(&path, 0o664);
            let problem = load_file(&KINDS, "good", &path).load_error.unwrap();
            assert!(
                problem.contains("group 4000123, mode 0664) can be written by group 4000123"),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_config_dir_others_may_write_loads_no_file() {
        let dir = scratch_dir("opendir");
        std::fs::write(dir.join("a.env"), "[container#1]\nrun_image = busybox\n").unwrap();
        chmod(&dir.join("a.env"), 0o644);
        // Sticky or not: anyone may add a service file.
        chmod(&dir, 0o1777);
        let loaded = load_dir(&KINDS, &dir);
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        let problem = loaded.problems[0].to_string();
        assert!(
            problem.starts_with(&format!(
                "error: {}: the config directory cannot be trusted",
                dir.display()
            )) && problem.contains("mode 1777) can be written by everyone"),
            "{problem}"
        );
        let a = &loaded.services["a"];
        assert!(a.untrusted && a.text.is_empty());
        assert!(
            a.problems.is_empty(),
            "the directory's problem is told once"
        );
        assert!(a
            .load_error
            .as_deref()
            .unwrap()
            .contains("the config directory cannot be trusted"));
        chmod(&dir, 0o755);
    }

    #[test]
    fn a_service_cannot_take_the_name_of_a_root_file() {
        let dir = scratch_dir("rootname");
        std::fs::write(dir.join("events.env"), "").unwrap();
        let loaded = load_dir(&KINDS, &dir);
        assert!(loaded.services.is_empty());
        assert!(loaded.problems[0].message.contains("mount root"));
    }

    #[test]
    fn a_sub_directory_with_a_compose_file_is_a_service_named_after_it() {
        let dir = scratch_dir("compose");
        chmod(&dir, 0o755);
        let project = dir.join("shop");
        std::fs::create_dir(&project).unwrap();
        chmod(&project, 0o755);
        std::fs::write(
            project.join("compose.yaml"),
            "services:\n  web:\n    image: busybox:${TAG}\n    container_name: web1\n",
        )
        .unwrap();
        std::fs::write(project.join(".env"), "TAG=1.36\n").unwrap();
        std::fs::write(project.join("docker-compose.yml"), "services: {}\n").unwrap();
        std::fs::create_dir(dir.join("notes")).unwrap();
        let loaded = load_dir(&KINDS, &dir);
        assert_eq!(loaded.services.keys().collect::<Vec<_>>(), ["shop"]);
        let shop = &loaded.services["shop"];
        assert_eq!(shop.path, project.join("compose.yaml"));
        assert!(shop.load_error.is_none(), "{:?}", shop.load_error);
        assert!(
            shop.text.contains("run_image = busybox:1.36"),
            "{}",
            shop.text
        );
        assert_eq!(
            shop.resource("network#1").unwrap().rid.as_str(),
            "network#1"
        );
        // The converter's warning, at its line of the Compose file.
        let shown: Vec<String> = shop
            .problems
            .iter()
            .map(|p| shop.locate(p).to_string())
            .collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(shown[0].starts_with(&format!(
            "warning: {}:4: services.web.container_name: ",
            project.join("compose.yaml").display()
        )));
        let compose = shop.compose.as_ref().unwrap();
        assert_eq!(compose.read, [project.join(".env")]);
        // Both names, as Compose warns.
        assert!(loaded.problems[0]
            .message
            .contains("like Compose, svcfs reads compose.yaml only"));
    }

    #[test]
    fn a_compose_project_with_an_error_is_not_loaded_and_says_where() {
        let dir = scratch_dir("compose-error");
        let project = dir.join("app");
        std::fs::create_dir(&project).unwrap();
        std::fs::write(
            project.join("compose.yaml"),
            "services:\n  web:\n    build: .\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("other.env"),
            "[container#1]\nrun_image = busybox\n",
        )
        .unwrap();
        let loaded = load_dir(&KINDS, &dir);
        let app = &loaded.services["app"];
        let error = app.load_error.as_deref().unwrap();
        assert!(
            error.contains(&format!(
                "{}:3: services.web.build: ",
                project.join("compose.yaml").display()
            )),
            "{error}"
        );
        assert!(app.resources.is_empty());
        assert!(loaded.services["other"].load_error.is_none());
    }

    #[test]
    fn a_compose_project_s_files_follow_the_trust_rules_of_service_files() {
        let dir = scratch_dir("compose-trust");
        chmod(&dir, 0o755);
        let project = dir.join("app");
        std::fs::create_dir(&project).unwrap();
        chmod(&project, 0o755);
        std::fs::write(
            project.join("compose.yaml"),
            "services:\n  web:\n    image: busybox\n    env_file: app.env\n",
        )
        .unwrap();
        std::fs::write(project.join("app.env"), "A=1\n").unwrap();
        chmod(&project.join("app.env"), 0o666);
        let app = &load_dir(&KINDS, &dir).services["app"];
        let error = app.load_error.as_deref().unwrap();
        assert!(error.contains("can be written by everyone"), "{error}");
        chmod(&project.join("app.env"), 0o644);
        chmod(&project, 0o777);
        let app = &load_dir(&KINDS, &dir).services["app"];
        assert!(app.untrusted);
        assert!(app
            .load_error
            .as_deref()
            .unwrap()
            .contains("the project directory cannot be trusted"));
        chmod(&project, 0o755);
    }

    #[test]
    fn a_service_file_wins_over_a_compose_project_of_its_name() {
        let dir = scratch_dir("compose-clash");
        std::fs::create_dir(dir.join("app")).unwrap();
        std::fs::write(dir.join("app/compose.yaml"), "services: {}\n").unwrap();
        std::fs::write(dir.join("app.env"), "[container#1]\nrun_image = busybox\n").unwrap();
        let loaded = load_dir(&KINDS, &dir);
        assert_eq!(loaded.services["app"].path, dir.join("app.env"));
        assert!(loaded.problems[0]
            .message
            .contains("this Compose project is ignored"));
    }
}
