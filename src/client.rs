//! The client commands (`status`, `start`, `stop`, ...): they use the
//! mounted tree like any script would, and print what the action logged.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// How a client command ended, as an exit code scripts can rely on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The action or read failed (exit 1).
    Failed(String),
    /// No such service, or nothing mounted (exit 3).
    NotFound(String),
}

impl ClientError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Failed(_) => 1,
            ClientError::NotFound(_) => 3,
        }
    }

    /// The message for stderr.
    pub fn message(&self) -> &str {
        match self {
            ClientError::Failed(m) | ClientError::NotFound(m) => m,
        }
    }
}

fn service_dir(mountpoint: &Path, service: &str) -> Result<PathBuf, ClientError> {
    let dir = mountpoint.join(service);
    if dir.is_dir() {
        return Ok(dir);
    }
    if !crate::daemon::is_svcfs_mounted(mountpoint) {
        return Err(ClientError::NotFound(format!(
            "svcfs is not mounted at {} (start it with: svcfs mount {}; or set --mountpoint / SVCFS_MOUNT)",
            mountpoint.display(),
            mountpoint.display()
        )));
    }
    Err(ClientError::NotFound(format!(
        "no service {service} under {} (ls {} lists them)",
        mountpoint.display(),
        mountpoint.display()
    )))
}

/// Print a service file (`overview` or `status.json`).
pub fn print_file(mountpoint: &Path, service: &str, file: &str) -> Result<(), ClientError> {
    let dir = service_dir(mountpoint, service)?;
    let text = std::fs::read(dir.join(file)).map_err(|e| {
        ClientError::Failed(format!("cannot read {}: {e}", dir.join(file).display()))
    })?;
    io::stdout()
        .write_all(&text)
        .map_err(|e| ClientError::Failed(format!("cannot write to stdout: {e}")))
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The lines of `after` that were not in `before`: `before` is a prefix of
/// the log that the ring may have shifted, so find where its last lines
/// reappear in `after`.
pub fn new_lines(before: &[String], after: &[String]) -> Vec<String> {
    let Some(last) = before.last() else {
        return after.to_vec();
    };
    for end in (0..after.len()).rev() {
        if &after[end] != last {
            continue;
        }
        // Compare up to five lines of context, fewer where the ring shifted
        // the start of `before` out of `after`.
        let context = before.len().min(5).min(end + 1);
        if after[end + 1 - context..=end] == before[before.len() - context..] {
            return after[end + 1..].to_vec();
        }
    }
    after.to_vec()
}

/// Write one command to a `ctl` file and print the log lines it produced.
/// Lines are printed as the action logs them, like the tutorial's
/// command line does, not all at the end.
pub fn act(mountpoint: &Path, service: &str, command: &str) -> Result<(), ClientError> {
    let dir = service_dir(mountpoint, service)?;
    let log = dir.join("log");
    let mut seen = read_lines(&log);
    let ctl = dir.join("ctl");
    let text = format!("{command}\n");
    let writer = std::thread::spawn(move || {
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(ctl)
            .and_then(|mut ctl| ctl.write_all(text.as_bytes()))
    });
    let mut out = io::stdout().lock();
    let mut print_new = |seen: &mut Vec<String>| {
        let now = read_lines(&log);
        for line in new_lines(seen, &now) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
        *seen = now;
    };
    while !writer.is_finished() {
        std::thread::sleep(LOG_POLL_INTERVAL);
        print_new(&mut seen);
    }
    print_new(&mut seen);
    let result = writer
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
    result.map_err(|e| ClientError::Failed(describe_failure(service, command, &e)))
}

/// How often `act` looks for new log lines while the action runs.
const LOG_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

fn describe_failure(service: &str, command: &str, e: &io::Error) -> String {
    let meaning = match e.raw_os_error() {
        Some(libc::EBUSY) => {
            "another action is running on the service, or something is busy (see the log above)"
        }
        Some(libc::EINVAL) => "invalid command or configuration (see the log above)",
        Some(libc::EOPNOTSUPP) => "the command does not apply to this resource",
        Some(libc::ETIMEDOUT) => "a bound was hit (see the log above)",
        Some(libc::EIO) => "a backend failed (see the log above)",
        Some(libc::EACCES) => {
            "permission denied (root or the ctl group may act; or this node is not in nodes)"
        }
        _ => "the action failed",
    };
    format!("{command} {service}: {meaning}: {e}")
}

/// Where to find a service's docker host when svcfs is not mounted: its
/// file, and the options the daemon would be started with.
pub struct ServiceFiles<'a> {
    /// The config directory.
    pub config_dir: &'a Path,
    /// The daemon's state directory (private daemons' sockets).
    pub var_dir: &'a Path,
    /// The docker daemon of services without a private one.
    pub docker_host: &'a str,
}

/// The docker daemon that serves a service's containers: what the mounted
/// tree's `docker_host` file says, whatever options the daemon was started
/// with; from the service file when nothing is mounted at `mountpoint`, so
/// that an operator reaches the containers while svcfs is down too.
pub fn docker_host(
    mountpoint: &Path,
    service: &str,
    unmounted: &ServiceFiles<'_>,
) -> Result<String, ClientError> {
    if crate::daemon::is_svcfs_mounted(mountpoint) {
        let dir = service_dir(mountpoint, service)?;
        let file = dir.join("docker_host");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| ClientError::Failed(format!("cannot read {}: {e}", file.display())))?;
        return Ok(text.trim().to_string());
    }
    docker_host_from_file(service, unmounted)
}

fn docker_host_from_file(service: &str, files: &ServiceFiles<'_>) -> Result<String, ClientError> {
    let (found, _) = crate::config::service_files(files.config_dir)
        .map_err(|p| ClientError::Failed(p.to_string()))?;
    let path = found.get(service).ok_or_else(|| {
        ClientError::NotFound(format!(
            "svcfs is not mounted and there is no service {service} in {}",
            files.config_dir.display()
        ))
    })?;
    let config = crate::config::load_file(&crate::drivers::registry::KINDS, service, path);
    // Not read: whether it has a private daemon is not known.
    if let (true, Some(error)) = (config.untrusted, &config.load_error) {
        return Err(ClientError::Failed(error.clone()));
    }
    Ok(crate::docker::naming::service_docker_host(
        &config.name,
        config.defaults.docker_data_dir.is_some(),
        files.var_dir,
        files.docker_host,
    ))
}

/// `svcfs docker SVC ARGS...`: run the docker CLI against `host`, keeping
/// its exit code.
pub fn docker_passthrough(host: &str, args: &[String]) -> Result<i32, ClientError> {
    let status = std::process::Command::new("docker")
        .arg("-H")
        .arg(host)
        .args(args)
        .status()
        .map_err(|e| ClientError::Failed(format!("cannot run docker: {e}")))?;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn new_lines_after_an_append() {
        assert_eq!(
            new_lines(&v(&["a", "b"]), &v(&["a", "b", "c", "d"])),
            v(&["c", "d"])
        );
    }

    #[test]
    fn new_lines_when_the_ring_shifted() {
        assert_eq!(
            new_lines(&v(&["a", "b", "c"]), &v(&["b", "c", "d"])),
            v(&["d"])
        );
    }

    #[test]
    fn new_lines_with_repeated_lines_uses_context() {
        let before = v(&["x", "start", "ok"]);
        let after = v(&["x", "start", "ok", "y", "start", "ok"]);
        assert_eq!(new_lines(&before, &after), v(&["y", "start", "ok"]));
    }

    #[test]
    fn an_untrusted_file_names_no_docker_daemon() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("svcfs-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("a.env");
        std::fs::write(&file, "[DEFAULT]\ndocker_data_dir = /d\n").unwrap();
        let files = ServiceFiles {
            config_dir: &dir,
            var_dir: Path::new("/var/lib/svcfs"),
            docker_host: "unix:///var/run/docker.sock",
        };
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            docker_host_from_file("a", &files).unwrap(),
            "unix:///var/lib/svcfs/a/docker.sock"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o646)).unwrap();
        match docker_host_from_file("a", &files) {
            Err(ClientError::Failed(why)) => {
                assert!(why.contains("can be written by everyone"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn new_lines_from_an_empty_log() {
        assert_eq!(new_lines(&[], &v(&["a"])), v(&["a"]));
        assert!(new_lines(&v(&["a"]), &v(&["a"])).is_empty());
    }
}
