//! The client commands (`status`, `start`, `freeze`, ...): they use the
//! mounted tree like any script would, print what the action logged, and
//! exit with a code from [`exit`]'s table.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub mod completion;
pub mod exit;
pub mod list;

pub use exit::Exit;

/// How a client command failed: its exit code and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    exit: Exit,
    message: String,
}

impl ClientError {
    /// A failure with that exit code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        ClientError {
            exit,
            message: message.into(),
        }
    }

    /// Anything else (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Exit::Failed, message)
    }

    /// Not mounted, or no such service (exit 3).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, message)
    }

    /// Which exit code.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.exit.code())
    }

    /// The message for stderr.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Why nothing is there: svcfs is not mounted at `mountpoint` (exit 3).
fn not_mounted(mountpoint: &Path) -> ClientError {
    ClientError::not_found(format!(
        "svcfs is not mounted at {} (start it with: svcfs mount {}; or set --mountpoint / SVCFS_MOUNT)",
        mountpoint.display(),
        mountpoint.display()
    ))
}

fn service_dir(mountpoint: &Path, service: &str) -> Result<PathBuf, ClientError> {
    let dir = mountpoint.join(service);
    // A name with a slash or a dot-dot would reach outside the services.
    let plain_name =
        !service.is_empty() && !service.contains('/') && service != "." && service != "..";
    if plain_name && dir.join("ctl").exists() {
        return Ok(dir);
    }
    if !crate::daemon::is_svcfs_mounted(mountpoint) {
        return Err(not_mounted(mountpoint));
    }
    Err(ClientError::not_found(format!(
        "no service {service} under {} (svcfs status lists them)",
        mountpoint.display()
    )))
}

/// The rids of a mounted service: its sub-directories that take commands.
pub fn rids(service_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(service_dir) else {
        return Vec::new();
    };
    let mut rids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("ctl").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    rids.sort();
    rids
}

/// Print a service file (`overview` or `status.json`).
pub fn print_file(mountpoint: &Path, service: &str, file: &str) -> Result<(), ClientError> {
    let dir = service_dir(mountpoint, service)?;
    let text = std::fs::read(dir.join(file)).map_err(|e| {
        ClientError::failed(format!("cannot read {}: {e}", dir.join(file).display()))
    })?;
    write_stdout(&text)
}

/// Write to stdout; a closed pipe (`svcfs status | head`) is no failure.
pub fn write_stdout(bytes: &[u8]) -> Result<(), ClientError> {
    match io::stdout().write_all(bytes) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(ClientError::failed(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
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

/// What a command acts on: the service's own `ctl`, or one resource's.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// `<svc>/ctl`: every verb of the service, `--rid` included.
    Service,
    /// `<svc>/<rid>/ctl`: the verbs of that resource (e.g. `rollback`).
    Resource(&'a str),
}

/// Write one command to a `ctl` file and print the log lines it produced.
/// Lines are printed as the action logs them, like the tutorial's
/// command line does, not all at the end.
pub fn act(
    mountpoint: &Path,
    service: &str,
    target: Target<'_>,
    command: &str,
) -> Result<(), ClientError> {
    let dir = service_dir(mountpoint, service)?;
    let ctl = match target {
        Target::Service => dir.join("ctl"),
        Target::Resource(rid) => resource_ctl(&dir, service, rid)?,
    };
    let log = dir.join("log");
    let mut seen = read_lines(&log);
    let mut printed = Vec::new();
    let text = format!("{command}\n");
    let writer = std::thread::spawn(move || {
        // No O_TRUNC: a truncate takes the inode's lock for itself, and
        // would wait behind a write still going on (`run` of the task
        // this `kill` is for).
        OpenOptions::new()
            .write(true)
            .open(ctl)
            .and_then(|mut ctl| ctl.write_all(text.as_bytes()))
    });
    let mut out = io::stdout().lock();
    let mut print_new = |seen: &mut Vec<String>, printed: &mut Vec<String>| {
        let now = read_lines(&log);
        for line in new_lines(seen, &now) {
            let _ = writeln!(out, "{line}");
            printed.push(line);
        }
        let _ = out.flush();
        *seen = now;
    };
    while !writer.is_finished() {
        std::thread::sleep(LOG_POLL_INTERVAL);
        print_new(&mut seen, &mut printed);
    }
    print_new(&mut seen, &mut printed);
    let result = writer
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
    result.map_err(|e| {
        let exit = Exit::of_failed_write(e.raw_os_error(), &printed);
        ClientError::new(exit, describe_failure(service, target, command, exit, &e))
    })
}

/// The `ctl` of one resource; a rid the service does not have is bad
/// usage (exit 2), like `--rid` with one on the service's `ctl`.
fn resource_ctl(dir: &Path, service: &str, rid: &str) -> Result<PathBuf, ClientError> {
    let ctl = dir.join(rid).join("ctl");
    if !rid.is_empty() && !rid.contains('/') && !rid.starts_with('.') && ctl.exists() {
        return Ok(ctl);
    }
    Err(ClientError::new(
        Exit::Usage,
        format!(
            "no resource {rid} in {service} (resources: {})",
            rids(dir).join(", ")
        ),
    ))
}

/// How often `act` looks for new log lines while the action runs.
const LOG_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

fn describe_failure(
    service: &str,
    target: Target<'_>,
    command: &str,
    exit: Exit,
    e: &io::Error,
) -> String {
    let meaning = match (exit, e.raw_os_error()) {
        (Exit::InvalidConfig, _) => {
            "the configuration is invalid (see the log above; svcfs check tells every problem)"
        }
        (_, Some(libc::EINVAL)) => "invalid command or rid (see the log above)",
        (_, Some(libc::EOPNOTSUPP)) => "the command does not apply here",
        (_, Some(libc::EBUSY)) => {
            "another action is running on the service, or something is busy (see the log above)"
        }
        (_, Some(libc::EAGAIN)) => "the cluster cannot answer now; try again (see the log above)",
        (_, Some(libc::ETIMEDOUT)) => "a bound was hit (see the log above)",
        (_, Some(libc::EIO)) => "a backend failed (see the log above)",
        (_, Some(libc::EACCES | libc::EPERM)) => {
            "refused (root or the ctl group may act, on a node listed in nodes; see the log above)"
        }
        (_, Some(libc::EHOSTDOWN)) => "that node is not alive in the cluster",
        (_, Some(libc::ENOENT)) => "the service or resource is gone",
        (_, Some(libc::ENOTCONN)) => "svcfs is no longer mounted",
        _ => "the action failed",
    };
    let on = match target {
        Target::Service => service.to_string(),
        Target::Resource(rid) => format!("{service} {rid}"),
    };
    format!("{command} {on}: {meaning}: {e}")
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
            .map_err(|e| ClientError::failed(format!("cannot read {}: {e}", file.display())))?;
        return Ok(text.trim().to_string());
    }
    docker_host_from_file(service, unmounted)
}

fn docker_host_from_file(service: &str, files: &ServiceFiles<'_>) -> Result<String, ClientError> {
    let (found, _) = crate::config::service_files(files.config_dir)
        .map_err(|p| ClientError::failed(p.to_string()))?;
    let path = found.get(service).ok_or_else(|| {
        ClientError::not_found(format!(
            "svcfs is not mounted and there is no service {service} in {}",
            files.config_dir.display()
        ))
    })?;
    let config = crate::config::load_file(&crate::drivers::registry::KINDS, service, path);
    // Not read: whether it has a private daemon is not known.
    if let (true, Some(error)) = (config.untrusted, &config.load_error) {
        return Err(ClientError::failed(error.clone()));
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
        .map_err(|e| ClientError::failed(format!("cannot run docker: {e}")))?;
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
            Err(e) => {
                assert_eq!(e.exit(), Exit::Failed);
                assert!(e.message().contains("can be written by everyone"), "{e:?}")
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
