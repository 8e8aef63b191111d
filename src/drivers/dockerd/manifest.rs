//! The `dockerd` kind: the service's private docker daemon, implicit from
//! `docker_data_dir` in `[DEFAULT]`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::DockerdDriver;
use crate::config::{Implicit, ImplicitResource, KindSchema, ServiceDefaults, Spec, Values};
use crate::drivers::manifest::{spec_of, spec_with_deadline, Manifest};

/// `dockerd`.
pub static MANIFEST: Manifest = Manifest {
    schema: KindSchema::new("dockerd", &[], refused)
        .ranks(40, 20)
        .labelled_by("docker_data_dir")
        .implicit(Implicit {
            refusal: "dockerd is implicit: set docker_data_dir in [DEFAULT] instead of a [dockerd] section",
            from_defaults,
        })
        .with_containers(),
    driver: |ctx, _rid, spec| Arc::new(DockerdDriver::new(ctx, spec_of::<DockerdSpec>(spec).clone())),
    sweep: None,
};

/// `start`, `stop` of a private docker daemon: 60 s to answer, or 30 s of
/// grace, 5 s after SIGKILL and 10 s for its containerd.
const DEADLINE: Duration = Duration::from_secs(60);

/// The implicit private docker daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerdSpec {
    /// `--data-root`.
    pub data_dir: PathBuf,
    /// Extra arguments.
    pub args: Vec<String>,
    /// Executable.
    pub exe: String,
}

spec_with_deadline!(DockerdSpec, DEADLINE);

/// Never called: a `[dockerd]` section is refused before (see
/// [`Implicit::refusal`]).
fn refused(_values: &Values<'_>) -> Result<Arc<dyn Spec>, String> {
    Err("dockerd is implicit".to_string())
}

fn from_defaults(defaults: &ServiceDefaults) -> Option<ImplicitResource> {
    let data_dir = defaults.docker_data_dir.as_ref()?;
    Some(ImplicitResource {
        keywords: vec![("docker_data_dir", data_dir.display().to_string())],
        // Unsplittable arguments were reported against their keyword; the
        // daemon is then invalid rather than started without them.
        spec: match &defaults.invalid_daemon_args {
            Some(reason) => Err(reason.clone()),
            None => Ok(Arc::new(DockerdSpec {
                data_dir: data_dir.clone(),
                args: defaults.docker_daemon_args.clone(),
                exe: defaults.docker_exe.clone(),
            })),
        },
    })
}
