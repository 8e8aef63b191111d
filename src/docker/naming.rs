//! svcfs's conventions on a docker daemon, shared by whoever names or
//! recognises what svcfs created there: the labels of its containers,
//! their names, and where a service's private daemon listens. The drivers
//! create by these rules; the engine's event watchers and the client
//! recognise by them.

use std::path::{Path, PathBuf};

use crate::model::Rid;

/// Label naming the owning service.
pub const LABEL_SERVICE: &str = "svcfs.service";
/// Label naming the resource id.
pub const LABEL_RID: &str = "svcfs.rid";
/// Label naming the var dir of the daemon that created what lives on after
/// its service (a network): daemons that share a docker daemon (two
/// instances on one host, a test beside another) clean up their own only.
pub const LABEL_VAR_DIR: &str = "svcfs.var-dir";

/// The name of the container of `rid` in `service`: `<svc>.container.<N>`,
/// as the tutorial's agent names them.
pub fn container_name(service: &str, rid: &Rid) -> String {
    format!("{service}.container.{}", rid.index().unwrap_or(0))
}

/// The directory of `service`'s private daemon files under `var_dir`.
pub fn private_daemon_dir(var_dir: &Path, service: &str) -> PathBuf {
    var_dir.join(service)
}

/// The socket of `service`'s private daemon: the tutorial's
/// `/opt/opensvc/var/<svc>/docker.sock` with `--var-dir /opt/opensvc/var`.
pub fn private_socket(var_dir: &Path, service: &str) -> PathBuf {
    private_daemon_dir(var_dir, service).join("docker.sock")
}

/// The docker daemon that serves `service`'s containers, as `docker -H`
/// takes it: its private daemon's socket under `var_dir` when it has one
/// (`docker_data_dir`), else `shared_host` (the daemon's `--docker-host`).
/// The daemon and the client (with nothing mounted) both ask this.
pub fn service_docker_host(
    service: &str,
    has_private_daemon: bool,
    var_dir: &Path,
    shared_host: &str,
) -> String {
    if has_private_daemon {
        format!("unix://{}", private_socket(var_dir, service).display())
    } else {
        super::normalize_host(shared_host)
    }
}
