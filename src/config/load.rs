//! Finding and reading service files in the config directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// Service files of a directory: `<name>.env` or `<name>.conf`, by name.
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
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(name) = service_name(&path) else {
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
        if !is_valid_service_name(&name) {
            problems.push(Problem::file(
                Severity::Error,
                &path,
                format!("{name:?} is not a valid service name (letters, digits, '.', '_' and '-', starting with a letter or digit); file ignored"),
            ));
            continue;
        }
        if ROOT_FILES.contains(&name.as_str()) {
            problems.push(Problem::file(
                Severity::Error,
                &path,
                format!("{name:?} is the name of a file at the mount root, not available to a service; file ignored"),
            ));
            continue;
        }
        // Reserved without --cluster too: the same directory must mount
        // both ways, and a service would be hidden by the directory.
        if name == CLUSTER_DIR {
            problems.push(Problem::file(
                Severity::Error,
                &path,
                format!("{name:?} is the name of the mount root's cluster directory (svcfs mount --cluster), not available to a service; file ignored"),
            ));
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
    Ok((files, problems))
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

/// Service names become directory names and docker container names.
pub(crate) fn is_valid_service_name(name: &str) -> bool {
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
}
